"""Many seeds of one scenario, cheaply: per-seed outcome summaries without the full datasets.

:func:`simulate_seeds` runs the engine once per seed (in a thread pool: the engine releases
the GIL) and keeps only what a distribution over seeds needs: which processes were
OOM-killed, orphans at the last phase, end-of-phase swap_used / swap_cached / swap_orphans
/ pswpout and the phase end times.  Each seed's numbers are those of
``simulate(scenario, policy, knobs, seed)`` (tested).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

from swaplab.model import engine as E
from swaplab.model.errors import ModelError

__all__ = ["SUMMARY_VARS", "simulate_seeds", "summarize_run"]

PAGES_PER_MIB = 256
# end-of-phase variables kept per seed (pages)
SUMMARY_VARS = ("swap_used", "swap_cached", "swap_orphans", "pswpout", "memcg_oom_kill",
                "oom_kill")


def _kills_per_process(kills: np.ndarray, labels: Sequence[str], procs: Sequence[str]
                       ) -> np.ndarray:
    """Whether each process was OOM-killed: the kill counters (memcg + global) rose between
    the previous process's exit snapshot and its own (the model kills the running task)."""
    out = np.zeros(len(procs), dtype=bool)
    before = 0
    for j, name in enumerate(procs):
        i = labels.index(f"{name}:exit")
        out[j] = kills[i] > before
        before = kills[i]
    return out


def summarize_run(run: Any) -> dict[str, Any]:
    """The outcome summary of one engine run (a :class:`swaplab.model.run.ModelRun`)."""
    n = len(run.workload.labels)
    snaps = run.state.snaps[:n].astype(np.int64)
    ends = {v: snaps[:, E.VAR_ORDER.index(v)] for v in SUMMARY_VARS}
    kills = ends["memcg_oom_kill"] + ends["oom_kill"]
    procs = [p.name for p in run.scenario.processes]
    killed = _kills_per_process(kills, run.workload.labels, procs)
    return {
        "ends": ends,
        "phase_end_time": run.state.snap_t[:n].copy(),
        "oom_killed": killed,
        "t_end": float(run.t_end_ns) / 1e9,
    }


def simulate_seeds(scenario: Any, policy: str = "linux-6.1",
                   knobs: Mapping[str, Any] | None = None, seeds: Sequence[int] = range(20),
                   threads: int | None = None) -> xr.Dataset:
    """Run ``scenario`` under ``policy`` once per seed; per-seed outcome summaries.

    Returns an ``xr.Dataset`` with dims ``seed``, ``phase`` (coord ``phase_name``) and
    ``process`` (coord ``process_name``):

    - ``oom_killed(seed, process)``: the process was OOM-killed (memcg or global);
    - ``oom_kills(seed)``: processes OOM-killed; ``oom_any(seed)``: at least one;
    - ``orphans_mib(seed)``: orphaned swap cache at the last phase (MiB);
    - ``<var>_end(seed, phase)`` for ``swap_used``, ``swap_cached``, ``swap_orphans``,
      ``pswpout`` (pages), ``phase_end_time(seed, phase)`` (s), ``t_end(seed)`` (s).
    """
    from swaplab.model import _scenario, run_model

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ModelError("seeds: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ModelError(f"seeds must be distinct, got {seeds!r}")
    scn = _scenario(scenario)
    if threads is None:
        threads = int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))
    threads = max(1, int(threads))

    def one(seed: int) -> dict[str, Any]:
        return summarize_run(run_model(scn, policy, knobs, seed))

    first = one(seeds[0])  # compiles / loads the cache once, before the pool
    if threads == 1 or len(seeds) == 1:
        rest = [one(s) for s in seeds[1:]]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            rest = list(pool.map(one, seeds[1:]))
    runs = [first, *rest]
    labels = scn.phase_labels()
    procs = [p.name for p in scn.processes]
    killed = np.array([r["oom_killed"] for r in runs])
    data: dict[str, Any] = {
        "oom_killed": (("seed", "process"), killed),
        "oom_kills": (("seed",), killed.sum(axis=1).astype(np.int64)),
        "oom_any": (("seed",), killed.any(axis=1)),
        "orphans_mib": (("seed",), np.array([r["ends"]["swap_orphans"][-1] for r in runs],
                                            dtype=np.float64) / PAGES_PER_MIB),
        "phase_end_time": (("seed", "phase"), np.array([r["phase_end_time"] for r in runs])),
        "t_end": (("seed",), np.array([r["t_end"] for r in runs])),
    }
    for v in ("swap_used", "swap_cached", "swap_orphans", "pswpout"):
        data[f"{v}_end"] = (("seed", "phase"), np.array([r["ends"][v] for r in runs]))
    ds = xr.Dataset(data, coords={
        "seed": np.array(seeds, dtype=np.int64),
        "phase": np.arange(len(labels), dtype=np.int64),
        "phase_name": (("phase",), np.array(labels, dtype=object).astype(str)),
        "process": np.arange(len(procs), dtype=np.int64),
        "process_name": (("process",), np.array(procs, dtype=object).astype(str)),
    })
    ds.attrs = {"scenario_name": scn.name, "scenario_sha256": scn.sha256,
                "policy": str(policy)}
    return ds
