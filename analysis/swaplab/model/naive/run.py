"""Build the machine for a scenario + policy and run the workload on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from swaplab.model.errors import ModelError
from swaplab.model.naive.knobs import Knobs
from swaplab.model.naive.loop import run_workload
from swaplab.model.naive.machine import IoQueue, Machine
from swaplab.model.naive.mem import Lru, Ram
from swaplab.model.naive.memcg import Memcg, MemcgV1
from swaplab.model.naive.observe import VAR_NAMES
from swaplab.model.naive.rng import SplitMix64
from swaplab.model.naive.swapdev import SwapDevice
from swaplab.model.policies import resolve_knobs
from swaplab.model.workload import (
    UNLIMITED,
    Workload,
    compile_workload,
    limit_pages,
    machine_rules,
    swap_device_rules,
)
from swaplab.scenario import Scenario


class NaiveRun(NamedTuple):
    """Everything one naive run produced."""

    scenario: Scenario
    knobs: dict[str, Any]
    seed: int
    workload: Workload
    machine: Machine
    snaps: list[list[int]]  # per phase label: the variables at its end
    snap_t: list[float]  # per phase label: its end time (s)
    t_end_ns: int


def page_ns(mib_s: float) -> int:
    """Transfer time of one 4 KiB page at ``mib_s`` (ns, at least 1)."""
    return max(1, int(round(4096 / (mib_s * 1048576.0) * 1e9)))


def disk_queue(mib_s: float, fast_mib_s: float, burst_s: float) -> IoQueue:
    """One direction of the swap disk: throttled to ``mib_s`` (QEMU's leaky bucket with
    ``burst_s`` of burst, admitted pages at ``fast_mib_s``), or unthrottled (0: a FIFO at
    ``fast_mib_s``)."""
    if mib_s <= 0:
        ns = page_ns(fast_mib_s)
        return IoQueue(page_ns=ns, burst_ns=0, fast_ns=ns)
    burst = int(round(burst_s * 1e9))
    ns = page_ns(mib_s)
    return IoQueue(page_ns=ns, burst_ns=burst, fast_ns=page_ns(fast_mib_s) if burst else ns)


def build_machine(scn: Scenario, knobs: Knobs, seed: int, nvpages: int) -> Machine:
    """The machine of a scenario: RAM less the kernel's share, swap device, memcg limits."""
    mach = scn.settings["machine"]
    sw = scn.settings["swap"]
    mc = scn.settings["memcg"]
    nframes = max(64, (mach["ram_mib"] - knobs.kernel_reserved_mib) * 256)
    nslots = sw["size_mib"] * 256
    high = mc["swap_high_mib"]
    device = swap_device_rules(scn)
    return Machine(
        knobs=knobs,
        rng=SplitMix64(seed),
        ram=Ram(nframes),
        lru=Lru(),
        memcg=(MemcgV1 if knobs.memcg_accounting == "v1_memsw" else Memcg)(
                     memory_max=limit_pages(mc["memory_max_mib"]),
                     swap_max=limit_pages(mc["swap_max_mib"]),
                     swap_high=limit_pages(high) if high != "max" else UNLIMITED),
        swap=SwapDevice(nslots, knobs.era),
        write_q=disk_queue(sw["write_mib_s"], knobs.fast_write_mib_s, knobs.io_burst_s),
        read_q=disk_queue(sw["read_mib_s"], knobs.fast_read_mib_s, knobs.io_burst_s),
        pte=[None] * nvpages,
        vcpus=int(mach["vcpus"]),
        page_cluster=int(mach["page_cluster"]),
        vma_readahead=device.vma_readahead,
        sync_io=device.synchronous_io,
        sample_ns=max(1, int(round(knobs.sample_interval_s * 1e9))),
    )


def run(scn: Scenario, policy: str, overrides: Mapping[str, Any] | None,
        seed: int | None) -> NaiveRun:
    """Resolve knobs, compile the workload, run it on a fresh machine."""
    knobs = resolve_knobs(policy, overrides)
    typed = Knobs.from_mapping(knobs)
    if seed is None:
        seed = scn.seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ModelError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    wl = compile_workload(scn)
    swappiness_zero = machine_rules(scn, typed.memcg_accounting)
    m = build_machine(scn, typed, seed, wl.nvpages)
    m.swappiness_zero = swappiness_zero
    n = len(wl.labels)
    snaps: list[list[int]] = [[0] * len(VAR_NAMES) for _ in range(n)]
    snap_t = [0.0] * n
    t_end = run_workload(m, wl.ops, wl.fops, wl.procs.tolist(), int(wl.child_base), snaps,
                         snap_t)
    return NaiveRun(scn, knobs, seed, wl, m, snaps, snap_t, t_end)
