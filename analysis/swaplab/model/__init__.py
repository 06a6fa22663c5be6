"""The Numba model of swap_map, swap cache and memcg: ``simulate`` a scenario under a policy.

>>> import swaplab.model as m
>>> ds = m.simulate("writeback-orphans", policy="linux-6.1")          # doctest: +SKIP
>>> float(ds.swap_orphans_end.sel(phase=ds.phase_name == "observer:exit"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from swaplab.model.errors import ModelError
from swaplab.model.policies import KNOBS, PRESETS, resolve_knobs

__all__ = ["KNOBS", "PRESETS", "ModelError", "resolve_knobs", "simulate", "simulate_batch",
           "simulate_seeds", "run_model"]


def _scenario(scenario: Any) -> Any:
    from swaplab.scenario import Scenario, load_scenario

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | Path):
        return load_scenario(scenario)
    raise ModelError(f"scenario must be a Scenario, a path or a standard name, got "
                     f"{type(scenario).__name__}")


def run_model(scenario: Any, policy: str = "linux-6.1", knobs: Mapping[str, Any] | None = None,
              seed: int | None = None) -> Any:
    """Run the engine; return ``(scenario, resolved knobs, seed, workload, state, t_end_ns)``.

    The lower-level entry point used by :func:`simulate`, the invariant tests and the bench.
    """
    from swaplab.model.run import run

    return run(_scenario(scenario), policy, knobs, seed)


def simulate(scenario: Any, policy: str = "linux-6.1", knobs: Mapping[str, Any] | None = None,
             seed: int | None = None) -> Any:
    """Simulate ``scenario`` under ``policy`` with knob overrides; an ``xr.Dataset``.

    Parameters
    ----------
    scenario : Scenario, path, or standard scenario name
    policy : a name in :data:`PRESETS`
    knobs : knob overrides merged over the preset (unknown knob -> :class:`ModelError`)
    seed : the RNG seed; None uses the scenario's seed

    Returns
    -------
    xarray.Dataset in the swaplab schema (``source="model"``), bitwise reproducible.
    """
    from swaplab.model.dataset import to_dataset

    return to_dataset(*run_model(scenario, policy, knobs, seed), policy=str(policy))


def simulate_batch(points: Sequence[tuple[Any, str, Mapping[str, Any] | None, int | None]],
                   threads: int | None = None) -> list[Any]:
    """Simulate many ``(scenario, policy, knobs, seed)`` points in a thread pool.

    The engine releases the GIL (``nogil=True``), so points run in parallel; results are
    identical to calling :func:`simulate` one by one, in the order of ``points``.
    """
    points = list(points)
    if not points:
        return []
    if threads is None:
        threads = int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))
    threads = max(1, int(threads))
    first = simulate(*points[0])  # compiles / loads the cache once, before the pool
    if threads == 1 or len(points) == 1:
        return [first] + [simulate(*p) for p in points[1:]]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        rest = list(pool.map(lambda p: simulate(*p), points[1:]))
    return [first] + rest


def simulate_seeds(scenario: Any, policy: str = "linux-6.1",
                   knobs: Mapping[str, Any] | None = None, seeds: Sequence[int] = range(20),
                   threads: int | None = None) -> Any:
    """Run ``scenario`` once per seed and return per-seed outcome summaries (OOM kills per
    process, orphans at the last phase, end-of-phase swap_used / swap_cached): an
    ``xr.Dataset`` over ``seed``; see :func:`swaplab.model.seeds.simulate_seeds`."""
    from swaplab.model.seeds import simulate_seeds as _simulate_seeds

    return _simulate_seeds(scenario, policy, knobs, seeds, threads)
