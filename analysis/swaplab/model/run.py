"""Set up the state for a scenario + policy, run the engine, and read what it recorded.

The readers (:func:`sample_times`, :func:`samples`, :func:`snapshots`, ...) are the one
place that turns the engine's output buffers into values: the schema Dataset
(:mod:`swaplab.model.dataset`) and the sweep's batch path (:mod:`swaplab.model.batch`)
both use them, so a sweep store holds exactly what ``simulate`` would give.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from swaplab.model import engine as E
from swaplab.model.errors import ModelError
from swaplab.model.policies import knob_vector, resolve_knobs
from swaplab.model.workload import (
    UNLIMITED,
    Workload,
    compile_workload,
    limit_pages,
    machine_rules,
    swap_device_rules,
)
from swaplab.scenario import Scenario

INVARIANT_NAMES = {
    E.INV_SLOT_COUNT: "swap_map count != swap ptes referencing the slot",
    E.INV_FREE_REFERENCED: "a free slot is referenced by a pte or the swap cache",
    E.INV_CACHE_LINK: "swap cache frame and slot do not point at each other",
    E.INV_MEM_CUR: "memory.current (v1: res usage) != pages charged",
    E.INV_SWAP_CUR: "memory.swap.current != slots charged",
    E.INV_NR_FREE: "nr_swap_pages != free slots",
    E.INV_MAPCOUNT: "mapcount != ptes mapping the frame",
    E.INV_LRU: "LRU sizes != pages in use",
    E.INV_CACHE_FLAG: "swap_map cache flag disagrees with the swap cache",
    E.INV_CLUSTER: "cluster free counts disagree with swap_map",
    E.INV_MEMSW: "memsw usage != pages charged + slots holding a swap_cgroup record (v1)",
}


class ModelRun(NamedTuple):
    """Everything one engine run produced."""

    scenario: Scenario
    knobs: dict[str, Any]
    seed: int
    workload: Workload
    state: E.State
    t_end_ns: int


def run(scn: Scenario, policy: str, overrides: Mapping[str, Any] | None,
        seed: int | None, engine: Any = E, clock: list[float] | None = None) -> ModelRun:
    """Resolve knobs, compile the workload, run; re-run with a larger sample buffer if the
    first was too small (same inputs, same result).  ``engine``: the module to run
    (the jitted engine, or the reference's plain-Python copy).  ``clock``: a list that
    gets the seconds spent inside the engine (``new_state`` + ``run_ops``) appended."""
    knobs = resolve_knobs(policy, overrides)
    if seed is None:
        seed = scn.seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ModelError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    wl = compile_workload(scn)
    swappiness0 = machine_rules(scn, knobs["memcg_accounting"])
    kv = knob_vector(knobs)
    m = scn.settings["machine"]
    sw = scn.settings["swap"]
    mc = scn.settings["memcg"]
    nframes = max(64, (m["ram_mib"] - knobs["kernel_reserved_mib"]) * 256)
    nslots = sw["size_mib"] * 256
    device = swap_device_rules(scn)
    cap = 4096
    while True:
        t0 = time.perf_counter()
        st = engine.new_state(nframes, nslots, wl.nvpages, kv, seed, len(wl.labels), cap,
                         m["vcpus"], m["page_cluster"], device.vma_readahead,
                         limit_pages(mc["memory_max_mib"]), limit_pages(mc["swap_max_mib"]),
                         limit_pages(mc["swap_high_mib"]) if mc["swap_high_mib"] != "max"
                         else UNLIMITED, sw["write_mib_s"], sw["read_mib_s"])
        st.g[engine.G_SWAPPINESS0] = int(swappiness0)
        st.g[engine.G_SYNC_IO] = int(device.synchronous_io)
        t_end = int(engine.run_ops(st, wl.ops, wl.fops, wl.procs, wl.child_base))
        if clock is not None:
            clock.append(time.perf_counter() - t0)
        if not st.g[E.G_SAMPLE_OVERFLOW]:
            break
        cap = int(st.g[E.G_NSAMPLES]) + 16
    fail = int(st.g[E.G_INV_FAIL])
    if fail:
        code, op = divmod(fail, 1000000)
        raise ModelError(f"invariant broken after op row {op}: {INVARIANT_NAMES[code]} "
                         f"(scenario {scn.name}, policy {policy})")
    return ModelRun(scn, knobs, seed, wl, st, t_end)


# --------------------------------------------------------------------------------------------
# Reading a run's output buffers (shared by the Dataset and the batch path)
# --------------------------------------------------------------------------------------------


def n_samples(st: E.State) -> int:
    """Samples recorded on the ``sample_interval_s`` grid."""
    return int(st.g[E.G_NSAMPLES])


def sample_dt(st: E.State) -> float:
    """Seconds between two samples."""
    return float(st.g[E.G_DT_NS]) / 1e9


def sample_times(st: E.State) -> np.ndarray:
    """Time of each sample (s), float64 [n]."""
    return np.arange(n_samples(st), dtype=np.float64) * sample_dt(st)


def time_end(st: E.State) -> float:
    """Time of the last sample (s), NaN without samples; equals ``sample_times(st)[-1]``."""
    n = n_samples(st)
    return float(np.float64(n - 1) * sample_dt(st)) if n else float("nan")


def samples(st: E.State, columns: Any = slice(None)) -> np.ndarray:
    """Sampled values, int64 [n, var] (columns in :data:`engine.VAR_ORDER`)."""
    return st.samples[: n_samples(st), columns].astype(np.int64)


def snapshots(st: E.State, nlabels: int) -> np.ndarray:
    """End-of-phase snapshots, int64 [phase, var] (columns in :data:`engine.VAR_ORDER`)."""
    return st.snaps[:nlabels].astype(np.int64)


def phase_end_times(st: E.State, nlabels: int) -> np.ndarray:
    """Time of each phase's end (s), float64 [phase] (a copy)."""
    return st.snap_t[:nlabels].copy()
