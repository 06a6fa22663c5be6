"""LRU reclaim, charging a new page, and the OOM killer (mm/vmscan.c, mm/memcontrol.c,
mm/oom_kill.c; 6.1)."""

from __future__ import annotations

from swaplab.model.naive import clock, memcg_v1, mm, scan, swapcache, swapslots, zap
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import ACTIVE, INACTIVE, Page
from swaplab.model.naive.memcg import RES

DEF_PRIORITY = 12  # mm/vmscan.c
HZ_10_NS = 100_000_000


def can_reclaim_anon_pages(m: Machine) -> bool:
    """can_reclaim_anon_pages(memcg): mem_cgroup_get_nr_swap_pages(memcg) > 0, asked per
    memcg lruvec in global reclaim too (6.1.192 mm/vmscan.c:552-567, :2923, :6105); v1: free
    swap."""
    return swapslots.mem_cgroup_get_nr_swap_pages(m) > 0


def activate_locked(m: Machine, page: Page) -> None:
    """activate_locked: folio_free_swap if mem_cgroup_swap_full(), then the active list."""
    if page.swapcache and swapslots.mem_cgroup_swap_full(m):
        swapcache.folio_free_swap(m, page, False)
    m.lru.add(page, ACTIVE)


def shrink_folio(m: Machine, page: Page, swapcache_only: bool, t: int) -> bool:
    """shrink_folio_list() for one folio (mm/vmscan.c, 6.1).  True if it was freed."""
    if page.locked:
        m.lru.add(page, INACTIVE)  # keep_locked
        return False
    if swapcache_only and not page.swapcache:
        m.lru.add(page, ACTIVE)  # Liu Shixin 2023: only swap cache folios are isolated
        return False
    if page.writeback:
        page.reclaim = True  # case 2: folio_set_reclaim, activate_locked
        activate_locked(m, page)
        return False
    if page.mapcount > 0:
        if not page.swapcache and (swapcache_only or not swapcache.add_to_swap(m, page)):
            activate_locked(m, page)
            return False
        zap.try_to_unmap(m, page)
        if page.mapcount > 0:
            activate_locked(m, page)
            return False
    if page.dirty:
        if not page.swapcache:
            m.lru.add(page, ACTIVE)
            return False
        clock.swap_writepage(m, page, t)  # pageout()
        if not m.sync_io:
            m.lru.add(page, INACTIVE)  # kept; rotated to the tail when writeback ends
            return False
        # written synchronously (zram): "A synchronous write - probably a ramdisk.  Go
        # ahead and try to reclaim the folio." (6.1.192 mm/vmscan.c:1964)
        if not swapcache.trylock_page(m, page):
            m.lru.add(page, INACTIVE)
            return False
    if page.swapcache:
        swapcache.delete_from_swap_cache(m, page)  # __remove_mapping
    mm.free_page(m, page)
    return True


def shrink_lruvec(m: Machine, memcg: bool, nr_to_reclaim: int, t: int,
                  may_swap: bool = True) -> tuple[int, int]:
    """Reclaim from the anon LRUs: priorities DEF_PRIORITY..0 scanning lru_size >> prio
    (do_try_to_free_pages, shrink_lruvec, get_scan_count; 6.1).  ``may_swap`` False: v1
    reclaim at the memsw limit (noswap; 2.6.30 get_scan_ratio), nothing to reclaim here.
    Returns (freed, time)."""
    lru = m.lru
    m.nr_writeback_seen = 0
    if not may_swap:
        return 0, t
    if memcg and m.swappiness_zero:
        return 0, t  # get_scan_count: cgroup reclaim with swappiness 0 -> SCAN_FILE (6.1)
    v1_lru = memcg and m.memcg.v1  # the memcg's own LRU holds only charged pages
    can_anon = can_reclaim_anon_pages(m)
    liu = not can_anon and m.knobs.anon_scan_when_full == "swapcache_only"
    if not can_anon and not liu:
        return 0, t  # SCAN_FILE, and there are no file pages here
    freed = 0
    submitted = 0
    for prio in range(DEF_PRIORITY, -1, -1):
        nr_scan = (lru.size(INACTIVE) + lru.size(ACTIVE)) >> prio
        busy = 0
        taken = 0
        for _ in range(nr_scan):
            # shrink_active_list while inactive_is_low (inactive_ratio 1 below 1 GiB)
            while lru.size(INACTIVE) <= lru.size(ACTIVE) and lru.size(ACTIVE) > 0:
                lru.add(lru.tail(ACTIVE), INACTIVE)
            page = lru.tail(INACTIVE)
            if page is None:
                break
            if v1_lru and not page.pcg_used:
                # not on the memcg's LRU: mem_cgroup_add_lru_list skips !PageCgroupUsed
                lru.add(page, INACTIVE)
                continue
            m.counters.reclaim_scanned += 1
            m.counters.events += 1
            taken += 1
            was_writeback = page.writeback
            pswpout = m.counters.pswpout
            freed_it = shrink_folio(m, page, liu, t)
            t += clock.sync_write_time(m, pswpout)
            if m.worker_armed:
                scan.maybe_schedule_worker(m, t)  # this folio's slot filled the device
            if freed_it:
                freed += 1
                t += m.cost(m.knobs.cpu_pageout_ns)
            else:
                if page.writeback:
                    busy += 1
                    m.nr_writeback_seen += 1
                    if not was_writeback:
                        submitted += 1
                t += m.cost(m.knobs.cpu_scan_ns)
            clock.advance_to(m, t)
            # pages just submitted count toward this round (sc->nr.writeback)
            if freed + submitted >= nr_to_reclaim:
                break
        if freed + submitted >= nr_to_reclaim:
            break
        if freed == 0 and taken > 0 and busy == taken:
            break  # nr.writeback == nr.taken: the caller throttles on writeback
        if not memcg and not liu and not can_reclaim_anon_pages(m):
            break
    return freed, t


def process_charge(m: Machine) -> None:
    """A process starts: its page tables, stack and kernel objects are charged to the memcg
    (__GFP_ACCOUNT), proc_charge_pages of them, not reclaimable."""
    process_uncharge(m)  # what a process stopped before its exit (max_sim_s) still holds
    m.task.fixed_charge = m.knobs.proc_charge_pages
    m.memcg.charge_fixed(m.task.fixed_charge)


def process_uncharge(m: Machine) -> None:
    """The process exits (exit_mmap, free_pgtables): its fixed charge goes."""
    m.memcg.uncharge_fixed(m.task.fixed_charge)
    m.task.fixed_charge = 0


def oom_kill_current(m: Machine, t: int) -> int:
    """oom_kill_process() on the running task: its child's ptes, then its own, are zapped.
    Returns the time."""
    task = m.task
    task.killed = True
    process_uncharge(m)
    for v in range(task.child_lo, task.child_hi):
        t = zap.zap_pte(m, v, t)
    task.child_hi = task.child_lo
    for v in range(task.lo, task.hi):
        t = zap.zap_pte(m, v, t)
    return t


def count_oom(m: Machine, memcg: bool) -> None:
    """memory.events oom only for a memcg OOM (mem_cgroup_oom raises MEMCG_OOM); oom_kill
    for every kill, global ones included: __oom_kill_process raises MEMCG_OOM_KILL in the
    victim's memcg, where every task here runs (6.1.192 mm/oom_kill.c:950); vmstat
    oom_kill always."""
    if memcg:
        m.counters.memcg_oom += 1
    m.counters.memcg_oom_kill += 1
    m.counters.oom_kill += 1


def try_charge(m: Machine, t: int, may_reclaim: bool,
               locked: Page | None = None) -> tuple[Page | None, int]:
    """try_charge_memcg() and the page allocator for one new page (memcontrol.c, 6.1):
    reclaim, throttle on writeback, MAX_RECLAIM_RETRIES without progress, the sync scan
    policy, then mem_cgroup_out_of_memory / out_of_memory kills the running task.  v1:
    res and memsw both charged; at the memsw limit reclaim may not swap.  ``locked`` (v1
    swap-in): charge that locked swap cache page instead of a new one.
    Returns (page or None, time); None with task.killed means it was killed."""
    k = m.knobs
    retries = k.reclaim_retries
    scanned = False
    while True:
        hit = m.memcg.limit_hit()
        memcg_full = hit is not None
        if not memcg_full and (locked is not None or m.ram.nr_free > 0):
            page = locked if locked is not None else mm.alloc_page(m)
            m.memcg.charge_page(page)
            return page, t
        if not may_reclaim:
            return None, t
        if memcg_full:
            m.counters.memcg_max_events += 1  # memcg_memory_event(MEMCG_MAX); v1 failcnt
        freed, t = shrink_lruvec(m, memcg_full, k.reclaim_batch, t,
                                 memcg_v1.reclaim_may_swap(m, hit))
        clock.advance_to(m, t)
        if freed > 0:
            continue
        # reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK) only when this pass met folios under
        # writeback (sc->nr.writeback, shrink_inactive_list 6.1); else a retry is counted
        if m.nr_writeback_seen > 0 and m.io_pending():
            t = clock.reclaim_throttle(m, t, k.reclaim_batch)
            continue
        if retries > 0:
            retries -= 1
            continue
        if not scanned and k.scan_when == "sync" and scan.scan_triggered(m):
            # Hugh: scan for cache-only slots before any OOM, once per charge unless the
            # scan waited for a writeback (the patch retries and may scan again)
            freed, waited, t = scan.policy_scan(m, t)
            clock.advance_to(m, t)
            scanned = not waited
            if freed > 0 or waited:
                retries = k.reclaim_retries
                continue
        scan.maybe_schedule_worker(m, t)
        count_oom(m, memcg_full)
        if locked is not None:
            locked.locked = False  # do_swap_page unlocks before the task exits
        return None, oom_kill_current(m, t)


def mem_cgroup_try_charge_swapin(m: Machine, page: Page, t: int) -> tuple[bool, int]:
    """v1 charge of a swap cache page at swap-in, the page locked (do_swap_page, 2.6.30):
    res and memsw +1 with reclaim or OOM, then __mem_cgroup_commit_charge cancels the new
    charge if the page was charged already.  Returns (charged, time)."""
    was_charged = page.pcg_used
    page.locked = True
    got, t = try_charge(m, t, True, page)
    page.locked = False
    if got is None:
        return False, t
    if was_charged:
        m.memcg.memory_current -= 1
        m.memcg.memsw_current -= 1
    return True, t


def mem_cgroup_resize_limit(m: Machine, limit: int, t: int) -> int:
    """v1 mem_cgroup_resize_limit(): reclaim down to the new res limit; with no progress
    after the retries the write fails (-EBUSY) and the old limit stays, no OOM kill
    (2.6.30).  Returns the time."""
    cg = m.memcg
    old = cg.memory_max
    cg.memory_max = limit
    retries = m.knobs.reclaim_retries
    while cg.memory_current > cg.memory_max:
        freed, t = shrink_lruvec(m, True, cg.memory_current - cg.memory_max, t,
                                 memcg_v1.reclaim_may_swap(m, RES))
        clock.advance_to(m, t)
        if freed > 0:
            continue
        if m.io_pending():
            t = clock.wait_io(m, t)
            continue
        if retries > 0:
            retries -= 1
            continue
        cg.memory_max = old
        break
    return t


def memory_max_write(m: Machine, limit: int, t: int) -> int:
    """memory_max_write(): set memory.max, reclaim down to it, else OOM-kill (6.1)."""
    m.memcg.memory_max = limit
    retries = m.knobs.reclaim_retries
    while m.memcg.memory_current > m.memcg.memory_max:
        freed, t = shrink_lruvec(m, True, m.memcg.memory_current - m.memcg.memory_max, t)
        clock.advance_to(m, t)
        if freed > 0:
            continue
        if m.nr_writeback_seen > 0 and m.io_pending():
            t = clock.wait_io(m, t)
            continue
        if retries > 0:
            retries -= 1
            continue
        count_oom(m, True)
        return oom_kill_current(m, t)
    return t
