"""The workload compiler: a :class:`~swaplab.scenario.Scenario` as flat op arrays.

Repeats are unrolled; every process gets its own range of virtual page numbers (each alloc
a fresh contiguous range), so ptes are one flat int32 array.  Each op row holds
``code, proc, label, lo, hi, a, b, c`` (see :mod:`swaplab.model.engine`); ``label`` is the
index in :meth:`Scenario.phase_labels` of the snapshot taken when the row ends, or -1.
"""

# region() and frac() read the current allocation cursor on purpose:
# ruff: noqa: B023

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swaplab.model import engine as E
from swaplab.model.errors import ModelError
from swaplab.scenario import SETTABLE_KEYS, Phase, Scenario, mib_to_pages

__all__ = ["SwapDeviceRules", "Workload", "compile_workload", "limit_pages", "machine_rules",
           "swap_device_rules"]

MAX_VPAGES = 1 << 29  # bound on virtual pages of one run (pte numbers stay below SWP_BIT)
UNLIMITED = 1 << 40


@dataclass(frozen=True)
class Workload:
    """Flat arrays for the engine."""

    ops: np.ndarray  # int64 [n, 8]
    fops: np.ndarray  # float64 [n]
    procs: np.ndarray  # int64 [nproc, 2] vpage range of each process
    child_base: int  # first vpage of the forked child's scratch range
    nvpages: int
    labels: list[str]


def limit_pages(value: object) -> int:
    """A memcg limit ("max" or MiB) in pages."""
    if value == "max":
        return UNLIMITED
    return int(float(value) * 256)


@dataclass(frozen=True)
class SwapDeviceRules:
    """What the scenario's swap device decides in the kernel's swap-in and write paths."""

    vma_readahead: bool  # swap_use_vma_readahead()
    synchronous_io: bool  # SWP_SYNCHRONOUS_IO


def swap_device_rules(scn: Scenario) -> SwapDeviceRules:
    """The swap device's rules for both models.

    swap_use_vma_readahead() (mm/swap_state.c, 6.1-7.2): VMA readahead only while no rotational
    swap device is on; virtio-blk disks are rotational (drivers/block/virtio_blk.c), so a
    "disk" swaps in with cluster readahead whatever vma_ra_enabled says.  zram sets
    SWP_SYNCHRONOUS_IO (BLK_FEAT_SYNCHRONOUS; swapon in mm/swapfile.c).
    """
    device = scn.settings["swap"]["device"]
    return SwapDeviceRules(
        vma_readahead=bool(scn.settings["machine"]["vma_readahead"]) and device != "disk",
        synchronous_io=device == "zram")


def machine_rules(scn: Scenario, memcg_accounting: str) -> bool:
    """The [machine] keys the model runs with, checked: returns whether vm.swappiness is 0.

    MGLRU and THP are not modelled, so ``mglru = true`` / ``thp = true`` are refused.  Of
    swappiness the model follows 60 (the default: one anon LRU, no file pages, so the
    SCAN_FRACT balance has nothing to weigh) and 0: cgroup reclaim then scans no anon at
    all (get_scan_count: ``cgroup_reclaim(sc) && !swappiness`` -> SCAN_FILE, 6.1.192
    mm/vmscan.c:2947; cgroup v2 reads vm.swappiness); global reclaim still swaps.
    """
    m = scn.settings["machine"]
    where = scn.source
    if m["mglru"]:
        raise ModelError(f"{where}: machine.mglru = true is not modelled (the model's LRU is "
                         "the classic active/inactive one); allowed: false")
    if m["thp"]:
        raise ModelError(f"{where}: machine.thp = true is not modelled (base pages only); "
                         "allowed: false")
    sw = m["swappiness"]
    if sw == 0 and memcg_accounting != "v2":
        raise ModelError(f"{where}: machine.swappiness = 0 is modelled for cgroup v2 only "
                         f"(memcg_accounting = 'v2'), not {memcg_accounting!r}")
    if sw not in (0, 60):
        raise ModelError(f"{where}: machine.swappiness = {sw} is not modelled (no file "
                         "pages to balance against); allowed: 60 or 0")
    return sw == 0


# scenario.SETTABLE_KEYS -> engine.SET_* code (memcg.swap_max_mib -> SET_SWAP_MAX)
_SET_KEYS = {key: getattr(E, "SET_" + key.split(".", 1)[1].removesuffix("_mib").upper())
             for key in SETTABLE_KEYS}


def compile_workload(scn: Scenario) -> Workload:
    """Compile a scenario into op rows (repeats unrolled)."""
    labels = scn.phase_labels()
    rows: list[list[int]] = []
    frows: list[float] = []
    procs = []
    bump = 0
    max_fork = 0
    label_i = 0
    for pi, proc in enumerate(scn.processes):
        proc_lo = bump
        allocs: list[tuple[str, int, int]] = []

        def region(name: str) -> tuple[int, int]:
            if name == "last":
                return (allocs[-1][1], allocs[-1][2]) if allocs else (bump, bump)
            if name == "all":
                return (allocs[0][1], bump) if allocs else (bump, bump)
            for n, lo, hi in reversed(allocs):
                if n == name:
                    return lo, hi
            raise ModelError(f"{scn.source}: region {name!r} not allocated before use")

        def frac(lo: int, hi: int, fraction: float) -> int:
            n = hi - lo
            return lo + (max(1, int(fraction * n)) if n > 0 else 0)

        for top in proc.phases:
            first = len(rows)
            for ph in top.expand():
                bump, max_fork = _emit(ph, pi, rows, frows, region, frac, allocs, bump,
                                       max_fork)
                if bump > MAX_VPAGES:
                    raise ModelError(f"{scn.source}: more than {MAX_VPAGES} pages allocated "
                                     "in total; the model keeps every allocation's ptes")
            if len(rows) > first:
                rows[-1][E.O_LABEL] = label_i
            label_i += 1
        rows.append([E.OP_EXIT, pi, label_i, proc_lo, bump, 0, 0, bump])
        frows.append(0.0)
        label_i += 1
        procs.append((proc_lo, bump))
    assert label_i == len(labels)
    ops = np.array(rows, dtype=np.int64).reshape(-1, 8)
    return Workload(ops, np.array(frows, dtype=np.float64),
                    np.array(procs, dtype=np.int64).reshape(-1, 2), bump, bump + max_fork,
                    labels)


def _emit(ph: Phase, pi: int, rows: list, frows: list, region, frac, allocs: list,
          bump: int, max_fork: int) -> tuple[int, int]:
    p = ph.params
    if ph.op == "alloc":
        n = mib_to_pages(p["mib"])
        allocs.append((p["name"], bump, bump + n))
        rows.append([E.OP_ALLOC, pi, -1, bump, bump + n, 0, 0, bump + n])
        frows.append(0.0)
        return bump + n, max_fork
    if ph.op in ("touch", "readback"):
        lo, hi = region(p["region"])
        code = E.OP_TOUCH if ph.op == "touch" else E.OP_READBACK
        rows.append([code, pi, -1, lo, frac(lo, hi, p["fraction"]),
                     1 if p["pattern"] == "random" else 0, 0, hi])
    elif ph.op in ("pageout", "unmap"):
        lo, hi = region(p["region"])
        code = E.OP_PAGEOUT if ph.op == "pageout" else E.OP_UNMAP
        rows.append([code, pi, -1, lo, frac(lo, hi, p["fraction"]), 0, 0, hi])
    elif ph.op == "race_unmap":
        lo, hi = region(p["region"])
        chunk = max(1, p["chunk_kib"] // 4)
        mode = (1 if p["rest"] == "keep" else 0) | (2 if p["reader"] == "sequential" else 0)
        rows.append([E.OP_RACE, pi, -1, lo, hi, chunk, mode, hi])
    elif ph.op == "fork_touch":
        lo, hi = region(p["region"])
        rows.append([E.OP_FORK, pi, -1, lo, frac(lo, hi, p["fraction"]), p["children"], hi,
                     hi])
        max_fork = max(max_fork, hi - lo)
    elif ph.op == "sleep":
        rows.append([E.OP_SLEEP, pi, -1, 0, 0, 0, 0, 0])
        frows.append(float(p["seconds"]))
        return bump, max_fork
    elif ph.op == "set":
        for key, value in p.items():
            rows.append([E.OP_SET, pi, -1, 0, 0, _SET_KEYS[key], limit_pages(value), 0])
            frows.append(0.0)
        return bump, max_fork
    else:  # pragma: no cover - the scenario module rejects unknown ops
        raise ModelError(f"op {ph.op!r} has no model implementation")
    frows.append(0.0)
    return bump, max_fork
