"""The reference model: the independent pure-Python implementation (:mod:`swaplab.model.naive`).

It re-expresses every rule of the engine in its own structure (page objects, a swap
device with its own swap_map encodings, OrderedDict LRUs, deque I/O queues) and shares
only the inputs (scenario, workload rows, resolved knobs).  Differential tests compare
its datasets with the Numba engine's (``xr.testing.assert_identical``), so a rule
misread by one implementation shows up.  It is the speed baseline of
``reference_speedup`` in ``swaplab bench``.  The engine run with the JIT switched off
(which checks compilation, not rules) lives in :mod:`swaplab.model.jitoff`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["run_reference", "simulate_reference"]


def run_reference(scenario: Any, policy: str = "linux-6.1",
                  knobs: Mapping[str, Any] | None = None, seed: int | None = None) -> Any:
    """Run the reference (naive) model; a :class:`swaplab.model.naive.run.NaiveRun`."""
    from swaplab.model.naive import run_naive

    return run_naive(scenario, policy, knobs, seed)


def simulate_reference(scenario: Any, policy: str = "linux-6.1",
                       knobs: Mapping[str, Any] | None = None, seed: int | None = None
                       ) -> Any:
    """Like :func:`swaplab.model.simulate`, by the reference (naive) model."""
    from swaplab.model.naive import simulate_naive

    return simulate_naive(scenario, policy, knobs, seed)
