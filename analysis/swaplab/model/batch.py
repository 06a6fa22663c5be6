"""The sweep's batch path: many runs into preallocated arrays, no Dataset per point.

A sweep store keeps, per point, the end-of-phase snapshots ``<var>_end(phase)``,
``phase_end_time(phase)``, the peaks ``<var>_peak`` of :data:`PEAK_VARS` over the sampled
series and ``time_end`` (the last sample's time), all float64.  :func:`run_batch` runs the
points (in a thread pool: the engine releases the GIL) and writes each run's values into
row ``j`` of :class:`BatchArrays` with the readers of :mod:`swaplab.model.run`, the ones
:func:`swaplab.model.simulate` builds its Dataset from, so both paths give the same numbers.
Nothing here imports xarray.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from swaplab.model import engine as E
from swaplab.model import run as R
from swaplab.model.errors import ModelError

__all__ = ["PEAK_VARS", "BatchArrays", "BatchResult", "run_batch", "store_variables"]

# time-series variables whose maximum over the run a sweep store keeps as <var>_peak
PEAK_VARS = ("swap_used", "swap_cached", "swap_orphans", "memcg_current", "memcg_swap_current")
_PEAK_COLS = np.array([E.VAR_ORDER.index(v) for v in PEAK_VARS], dtype=np.intp)


def store_variables() -> dict[str, tuple[bool, str]]:
    """Every per-point variable a sweep store holds: name -> (has a phase dim, units)."""
    from swaplab.schema import VARIABLES

    out: dict[str, tuple[bool, str]] = {}
    for name in E.VAR_ORDER:
        out[f"{name}_end"] = (True, VARIABLES[name].units)
    out["phase_end_time"] = (True, "s")
    for name in PEAK_VARS:
        out[f"{name}_peak"] = (False, VARIABLES[name].units)
    out["time_end"] = (False, "s")
    return dict(sorted(out.items()))


@dataclass
class BatchArrays:
    """Preallocated float64 arrays for ``n`` points of ``nphase`` phases (NaN = not run)."""

    ends: np.ndarray  # [n, phase, var] in engine.VAR_ORDER
    phase_end_time: np.ndarray  # [n, phase]
    peaks: np.ndarray  # [n, len(PEAK_VARS)]
    time_end: np.ndarray  # [n]

    @classmethod
    def empty(cls, n: int, nphase: int) -> BatchArrays:
        """NaN-filled arrays."""
        return cls(np.full((n, nphase, len(E.VAR_ORDER)), np.nan),
                   np.full((n, nphase), np.nan), np.full((n, len(PEAK_VARS)), np.nan),
                   np.full(n, np.nan))

    def put(self, j: int, run: R.ModelRun) -> None:
        """Row ``j`` := what the store keeps of ``run``."""
        st = run.state
        nl = len(run.workload.labels)
        if nl != self.ends.shape[1]:
            raise ModelError(f"point {j} has {nl} phases, the batch {self.ends.shape[1]}: "
                             "every point of a sweep must have the scenario's phases")
        self.ends[j] = R.snapshots(st, nl)
        self.phase_end_time[j] = st.snap_t[:nl]
        if R.n_samples(st):
            self.peaks[j] = R.samples(st, _PEAK_COLS).max(axis=0)
        self.time_end[j] = R.time_end(st)

    def variables(self) -> dict[str, np.ndarray]:
        """Each store variable's values, first dim the points (views; names as the store's)."""
        out: dict[str, np.ndarray] = {}
        for i, name in enumerate(E.VAR_ORDER):
            out[f"{name}_end"] = self.ends[:, :, i]
        out["phase_end_time"] = self.phase_end_time
        for i, name in enumerate(PEAK_VARS):
            out[f"{name}_peak"] = self.peaks[:, i]
        out["time_end"] = self.time_end
        return dict(sorted(out.items()))


@dataclass
class BatchResult:
    """A batch's values, its phase labels and where its time went."""

    arrays: BatchArrays
    labels: list[str]
    seconds: float  # the whole batch (wall)
    sim_seconds: float  # inside the engine (new_state + run_ops), summed over threads


Point = tuple[Any, str, Mapping[str, Any] | None, int | None]


def run_batch(points: Sequence[Point], threads: int | None = None) -> BatchResult:
    """Run ``(scenario, policy, knobs, seed)`` points into preallocated arrays.

    The values equal :func:`swaplab.model.simulate`'s (same readers, same engine); with
    ``threads`` > 1 the points run in a thread pool.
    """
    from swaplab.model import _scenario

    points = list(points)
    if not points:
        raise ModelError("run_batch needs at least one point")
    if threads is None:
        threads = int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))
    threads = max(1, int(threads))
    t0 = time.perf_counter()
    scns: dict[int, Any] = {}

    def scenario(s: Any) -> Any:
        key = id(s)
        if key not in scns:
            scns[key] = (_scenario(s), s)  # keep s alive: its id stays unique
        return scns[key][0]

    clocks = [0.0] * len(points)

    def sim(j: int) -> R.ModelRun:
        scn, policy, knobs, seed = points[j]
        clock: list[float] = []
        run = R.run(scenario(scn), policy, knobs, seed, clock=clock)
        clocks[j] = sum(clock)
        return run

    def one(j: int) -> None:
        arrays.put(j, sim(j))

    first = sim(0)  # compiles / loads the engine once, before any pool
    labels = list(first.workload.labels)
    arrays = BatchArrays.empty(len(points), len(labels))
    arrays.put(0, first)
    if threads == 1 or len(points) == 1:
        for j in range(1, len(points)):
            one(j)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, range(1, len(points))))
    return BatchResult(arrays, labels, time.perf_counter() - t0, sum(clocks))
