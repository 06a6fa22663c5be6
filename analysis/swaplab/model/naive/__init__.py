"""A second, independent implementation of the model in plain Python (no Numba, no NumPy
in the rules): objects for pages, the swap device and the memcg, lists and OrderedDicts
for the LRUs, deques for the I/O queues.  It reads the engine's spec (the same rules,
cited by kernel function and version) but none of its code, and must produce identical
datasets; tests/test_naive_model.py checks that differentially.

Modules, one job each: ``rng`` (splitmix64), ``swapmap`` (swap_map encodings per era),
``mem`` (pages, free list, LRUs), ``memcg``, ``swapdev`` (swap device, clusters, slots
cache), ``machine`` (all state, I/O queues, counters), ``knobs``; the rules: ``mm``
(frames, rmap), ``swapslots`` (slot counts, allocation), ``swapcache``, ``clock`` (I/O,
sleeping, the event order), ``zap``, ``reclaim`` (LRU reclaim, charging, OOM), ``scan``
(the scan policies), ``fault`` (swap-in, readahead); ``ops`` (workload ops), ``loop``
(the run loop), ``run`` (building a machine), ``observe`` and ``dataset`` (output).

>>> from swaplab.model.naive import simulate_naive
>>> ds = simulate_naive("liu-repro", policy="linux-6.1")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["run_naive", "simulate_naive"]


def run_naive(scenario: Any, policy: str = "linux-6.1",
              knobs: Mapping[str, Any] | None = None, seed: int | None = None) -> Any:
    """Run the naive model; a :class:`~swaplab.model.naive.run.NaiveRun`."""
    from swaplab.model import _scenario
    from swaplab.model.naive.run import run

    return run(_scenario(scenario), policy, knobs, seed)


def simulate_naive(scenario: Any, policy: str = "linux-6.1",
                   knobs: Mapping[str, Any] | None = None, seed: int | None = None) -> Any:
    """Like :func:`swaplab.model.simulate`, by the naive model: an ``xr.Dataset``."""
    from swaplab.model.naive.dataset import to_dataset

    return to_dataset(run_naive(scenario, policy, knobs, seed), policy=str(policy))
