"""The run loop: the compiled op rows of every process in order, phase-end snapshots and
pauses, then the drain of pending I/O."""

from __future__ import annotations

from swaplab.model.engine import (  # op codes of the shared workload rows (data only)
    OP_ALLOC,
    OP_EXIT,
    OP_FORK,
    OP_PAGEOUT,
    OP_RACE,
    OP_READBACK,
    OP_SET,
    OP_SLEEP,
    OP_TOUCH,
    OP_UNMAP,
)
from swaplab.model.naive import clock, reclaim
from swaplab.model.naive.machine import NEVER, Machine
from swaplab.model.naive.observe import observe
from swaplab.model.naive.ops import (
    op_access,
    op_alloc,
    op_fork,
    op_munmap,
    op_pageout,
    op_race,
    op_set,
    zap_range,
)


def snapshot(m: Machine, label: int, t: int, snaps: list, snap_t: list) -> None:
    """End-of-phase snapshot of the variables, for op rows that end a phase."""
    if label >= 0:
        snaps[label] = observe(m)
        snap_t[label] = t / 1e9


def phase_pause(m: Machine, t: int) -> int:
    """The guest harness stops the workload at each phase end while it snapshots; time
    and I/O go on.  Returns the time after the pause."""
    t += int(m.knobs.phase_pause_s * 1e9 * m.speed)
    clock.advance_to(m, t)
    return t


def run_workload(m: Machine, ops, fops, procs, child_base: int, snaps: list,
                 snap_t: list) -> int:
    """Run every op row (``code, proc, label, lo, hi, a, b, c``), then let I/O and a
    pending worker finish (up to max_sim_s); fill ``snaps``/``snap_t`` at labelled rows.
    Returns the end time (ns)."""
    max_t = int(m.knobs.max_sim_s * 1e9)
    task = m.task
    cur_proc = -1
    t = 0
    for i, row in enumerate(ops.tolist()):
        code, proc, label, lo, hi, a, b, c = row
        if proc != cur_proc:
            cur_proc = proc
            task.killed = False
            task.lo, task.hi = int(procs[proc][0]), int(procs[proc][1])
            reclaim.process_charge(m)
        if t > max_t:
            m.stopped = True
        if task.killed or m.stopped:
            snapshot(m, label, t, snaps, snap_t)
            if code == OP_EXIT and not m.stopped:
                t = phase_pause(m, t)
            continue
        if m.knobs.phase_speed_jitter > 0.0:  # this op row's speed: U(1 - j, 1 + j)
            m.speed = 1.0 + m.knobs.phase_speed_jitter * (2.0 * m.rng.uniform() - 1.0)
        clock.advance_to(m, t)
        task.vma_lo, task.vma_hi = lo, c
        t = _dispatch(m, code, lo, hi, a, b, float(fops[i]), child_base, t)
        clock.advance_to(m, t)
        if label >= 0:
            snapshot(m, label, t, snaps, snap_t)
            t = phase_pause(m, t)
    while True:  # drain
        te = m.next_event_time()
        if te >= NEVER or te > max_t:
            break
        t = max(t, te)
        clock.advance_to(m, t)
    clock.advance_to(m, t)
    return t


def _dispatch(m: Machine, code: int, lo: int, hi: int, a: int, b: int, seconds: float,
              child_base: int, t: int) -> int:
    if code == OP_ALLOC:
        return op_alloc(m, lo, hi, t)
    if code in (OP_TOUCH, OP_READBACK):
        return op_access(m, lo, hi, code == OP_TOUCH, a != 0, t)
    if code == OP_PAGEOUT:
        return op_pageout(m, lo, hi, t)
    if code == OP_UNMAP:
        return op_munmap(m, lo, hi, t)
    if code == OP_EXIT:
        t = zap_range(m, lo, hi, t)
        reclaim.process_uncharge(m)
        return t
    if code == OP_RACE:
        return op_race(m, lo, hi, a, bool(b & 1), bool(b & 2), t)  # rest=keep, sequential
    if code == OP_FORK:
        return op_fork(m, lo, b, hi, a, child_base, t)
    if code == OP_SLEEP:
        return t + int(seconds * 1e9)
    if code == OP_SET:
        return op_set(m, a, b, t)
    raise ValueError(f"unknown op code {code}")
