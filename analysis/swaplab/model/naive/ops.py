"""The workload's ops (alloc, touch/readback, pageout, munmap, race_unmap, fork_touch,
set), one function each, on the machine's clock."""

from __future__ import annotations

from swaplab.model.engine import (  # codes of the shared workload rows (data only)
    SET_MEMORY_MAX,
    SET_SWAP_HIGH,
    SET_SWAP_MAX,
)
from swaplab.model.naive import clock, memcg_v1, mm, reclaim, scan, swapslots, zap
from swaplab.model.naive.fault import handle_mm_fault
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import INACTIVE


def page_order(m: Machine, lo: int, hi: int, random: bool) -> list[int]:
    """Pages lo..hi-1 in sequence, or shuffled (Fisher-Yates from the end, model RNG)."""
    order = list(range(lo, hi))
    if random:
        for i in range(len(order) - 1, 0, -1):
            j = m.rng.below(i + 1)
            order[i], order[j] = order[j], order[i]
    return order


def op_alloc(m: Machine, lo: int, hi: int, t: int) -> int:
    """mmap + write every page: do_anonymous_page, charged; new anon folios start on the
    inactive list (5.9+)."""
    for v in range(lo, hi):
        clock.advance_to(m, t)
        page, t = reclaim.try_charge(m, t, True)
        if page is None:
            return t
        page.dirty = True
        mm.page_add_anon_rmap(m, page, v)
        m.lru.add(page, INACTIVE)
        t += m.cost(m.knobs.cpu_fault_ns)
        m.counters.events += 1
        scan.maybe_schedule_worker(m, t)
    return t


def op_access(m: Machine, lo: int, hi: int, write: bool, random: bool, t: int) -> int:
    """touch (write) / readback (read): fault every page of the range in order."""
    for v in page_order(m, lo, hi, random):
        clock.advance_to(m, t)
        t = handle_mm_fault(m, v, write, t)
        if m.task.killed:
            break
    return t


def op_pageout(m: Machine, lo: int, hi: int, t: int) -> int:
    """madvise(MADV_PAGEOUT): reclaim_pages() on mapped pages not shared (6.1)."""
    for v in range(lo, hi):
        clock.advance_to(m, t)
        page = m.pte[v]
        if page is None or isinstance(page, int) or page.mapcount != 1:
            continue  # madvise_cold_or_pageout_pte_range skips shared folios
        t += m.cost(m.knobs.cpu_pageout_ns)
        pswpout = m.counters.pswpout
        reclaim.shrink_folio(m, page, False, t)
        t += clock.sync_write_time(m, pswpout)
        m.counters.events += 1
        scan.maybe_schedule_worker(m, t)
    return t


def zap_range(m: Machine, lo: int, hi: int, t: int) -> int:
    """Zap every pte of the range (exit_mmap, or the body of a munmap)."""
    for v in range(lo, hi):
        clock.advance_to(m, t)
        t = zap.zap_pte(m, v, t)
    return t


def op_munmap(m: Machine, lo: int, hi: int, t: int) -> int:
    """munmap(): one call (VMA split, TLB flush: cpu_munmap_ns), then every pte zapped."""
    return zap_range(m, lo, hi, t + m.cost(m.knobs.cpu_munmap_ns))


def op_race(m: Machine, lo: int, hi: int, chunk: int, keep: bool, sequential: bool,
            t: int) -> int:
    """race_unmap: a munmap thread zaps the even chunks while a reader thread on another
    CPU reads the odd chunks; each runs on its own clock, the earlier one steps next (on
    one CPU each thread's time also delays the other).  Then the odd chunks, unless kept.

    Reader "probe": the middle page of each odd chunk, while the munmap thread still has
    chunks to zap.  Reader "sequential": every page of each odd chunk in order; even chunk
    c is zapped only once chunk c - 1 has been read.  Each munmap call and each read
    starts late by U(0, sched_jitter_us) (scheduling noise)."""
    nchunks = (hi - lo + chunk - 1) // chunk
    t_zap = t_read = t
    even, odd, within = 0, 1, 0  # next even chunk, next odd chunk, page within it
    one_cpu = m.vcpus <= 1
    while True:
        zap_ready = even < nchunks and (not sequential or even == 0 or odd >= even + 1
                                        or odd >= nchunks)
        can_read = odd < nchunks and (sequential or even < nchunks or t_read < t_zap)
        if not zap_ready and not can_read:
            break
        if zap_ready and (not can_read or t_zap <= t_read):
            t_zap += m.sched_delay()  # scheduling noise of the munmap thread
            start = t_zap
            a = lo + even * chunk
            t_zap = op_munmap(m, a, min(hi, a + chunk), t_zap)
            if one_cpu:
                t_read += t_zap - start
            even += 2
            continue
        if sequential:
            v = lo + odd * chunk + within
            within += 1
            if within >= chunk or v + 1 >= hi:
                within = 0
                odd += 2
        else:
            v = lo + odd * chunk + chunk // 2
            odd += 2
        if v >= hi:
            continue
        t_read += m.sched_delay()  # scheduling noise of the reader
        clock.advance_to(m, t_read)
        start = t_read
        t_read = handle_mm_fault(m, v, False, t_read)
        if m.task.killed:
            return max(t_read, t_zap)
        if one_cpu:
            t_zap += t_read - start
        if sequential and within == 0 and odd == even + 1:
            t_zap = max(t_zap, t_read)  # the munmap thread waited for this chunk
    t = max(t_zap, t_read)
    if not keep:
        for ci in range(1, nchunks, 2):
            a = lo + ci * chunk
            t = op_munmap(m, a, min(hi, a + chunk), t)  # each odd chunk is a VMA now
    return t


def op_fork(m: Machine, lo: int, hi: int, hi_read: int, children: int, child_base: int,
            t: int) -> int:
    """fork_touch: children one after another copy the region's ptes (copy_pte_range:
    swap_duplicate or page_dup_rmap), read a part of it, then exit; each fork and each exit
    starts late by U(0, sched_jitter_us)."""
    task = m.task
    delta = child_base - lo
    size = hi - lo
    for _ in range(children):
        t += m.sched_delay()  # the fork starts late
        task.child_lo, task.child_hi, task.child_delta = child_base, child_base + size, delta
        for v in range(lo, hi):
            entry = m.pte[v]
            if entry is None:
                continue
            t += m.cost(m.knobs.cpu_zap_ns)
            if isinstance(entry, int):
                swapslots.swap_duplicate(m, entry)
                m.pte[v + delta] = entry
            else:
                mm.page_add_anon_rmap(m, entry, v + delta)
        saved = task.vma_lo, task.vma_hi
        task.vma_lo, task.vma_hi = child_base, child_base + size
        for v in range(lo, hi_read):
            clock.advance_to(m, t)
            t = handle_mm_fault(m, v + delta, False, t)
            if task.killed:
                break
        task.vma_lo, task.vma_hi = saved
        t += m.sched_delay()  # the exit starts late
        t = zap_range(m, child_base, child_base + size, t)
        task.child_hi = task.child_lo
        if task.killed:
            break
    return t


def op_set(m: Machine, which: int, value_pages: int, t: int) -> int:
    """Write memory.max / memory.swap.max / memory.swap.high."""
    if m.memcg.v1:
        return op_set_v1(m, which, value_pages, t)
    if which == SET_SWAP_MAX:
        m.memcg.swap_max = value_pages
    elif which == SET_SWAP_HIGH:
        m.memcg.swap_high = value_pages
    elif which == SET_MEMORY_MAX:
        t = reclaim.memory_max_write(m, value_pages, t)
    return t


def op_set_v1(m: Machine, which: int, value_pages: int, t: int) -> int:
    """The scenario's limits in v1 terms: memory.max is memory.limit_in_bytes, swap.max the
    memsw headroom above it (memsw limit = memory.max + swap.max); swap.high has no v1
    counterpart."""
    if which == SET_SWAP_HIGH:
        m.memcg.swap_high = value_pages
        return t
    if which == SET_SWAP_MAX:
        m.memcg.swap_max = value_pages
    elif which == SET_MEMORY_MAX:
        t = reclaim.mem_cgroup_resize_limit(m, value_pages, t)
    memcg_v1.resize_memsw_limit(m)
    return t
