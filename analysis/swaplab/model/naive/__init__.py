"""A second, independent implementation of the model in plain Python (no Numba, no NumPy
in the rules): objects for pages, the swap device and the memcg, lists and OrderedDicts
for the LRUs, deques for the I/O queues.  It reads the engine's spec (the same rules,
cited by kernel function and version) but none of its code, and must produce identical
datasets; tests/test_naive_model.py checks that differentially.

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
