"""The scanning policies: Hugh Dickins' scan before OOM (2009, unmerged) and 6.12's
swap_reclaim_work, as knobs: trigger, sync/async, what is visited, batch, lock mode."""

from __future__ import annotations

from swaplab.model.naive import clock, swapcache, swapslots
from swaplab.model.naive.machine import NEVER, Machine
from swaplab.model.naive.mem import ACTIVE, INACTIVE


def scan_triggered(m: Machine) -> bool:
    """Whether the policy's trigger holds now."""
    k = m.knobs
    if k.scan_trigger == "off":
        return False
    if k.scan_trigger == "device_full":
        return m.swap.nr_free <= 0  # si->inuse_pages == si->pages (6.12)
    if k.scan_trigger == "half_full":
        if k.scan_memcg_headroom:
            return swapslots.mem_cgroup_swap_full(m)
        return swapslots.vm_swap_full(m)
    # really_full: "full in a real sense, not vm_swap_full's 50% sense" (Hugh, 2009)
    free = (swapslots.mem_cgroup_get_nr_swap_pages(m) if k.scan_memcg_headroom
            else m.swap.nr_free)
    return free < k.scan_threshold_pages


def scan_candidates(m: Machine) -> tuple[list[int], int]:
    """Visit what the policy scans; return (cache-only slots found, places visited)."""
    k = m.knobs
    si = m.swap
    batch = k.scan_batch
    if batch <= 0:
        batch = len(m.ram.pages) if k.scan_what == "lru_swapcache" else si.max
    found: list[int] = []
    visited = 0
    if k.scan_what == "lru_swapcache":
        # swap cache folios on the LRUs, inactive then active, each from its tail
        for which in (INACTIVE, ACTIVE):
            for page in m.lru.lists[which]:
                if visited >= batch:
                    break
                visited += 1
                if page.swapcache and page.mapcount == 0 and si.cache_only(page.private):
                    found.append(page.private)
    else:
        off = si.scan_next
        while visited < batch and visited < si.max:
            here = off
            off = (off + 1) % si.max
            visited += 1
            if k.scan_what == "full_clusters" and si.cluster_free[si.cluster_of(here)] != 0:
                continue
            if si.cache_only(here) and here in si.swap_cache:
                found.append(here)
        si.scan_next = off
    m.counters.policy_scan_slots += visited
    m.counters.events += visited
    return found, visited


def scan_free_slot(m: Machine, off: int) -> int:
    """Free one candidate if it is still cache-only: __try_to_reclaim_swap(TTRS_ANYWAY)."""
    if not m.swap.cache_only(off) or off not in m.swap.swap_cache:
        return 0
    if swapcache.try_to_reclaim_swap(m, off):
        m.counters.policy_freed += 1
        return 1
    return 0


def policy_scan(m: Machine, t: int) -> tuple[int, bool, int]:
    """The synchronous scan before OOM; with scan_lock='lock' each candidate waits for its
    page lock and writeback (lock_page + folio_wait_writeback).  Candidates under writeback
    otherwise follow scan_wait_writeback, the 6.1 patch's wait_writeback
    (kernels/patches/6.1/hugh-scan.patch swap_orphan_scan): 'each' waits on each,
    'if_none_freed' waits on the first one met if nothing was freed.
    Returns (freed, whether it waited that way, time)."""
    k = m.knobs
    found, visited = scan_candidates(m)
    t += int(visited * k.scan_slot_ns)
    freed = 0
    first_wb = None
    for off in found:
        page = m.swap.swap_cache.get(off)
        if page is not None and k.scan_lock == "lock":
            t = clock.folio_lock(m, page, t)
            t = clock.folio_wait_writeback(m, page, t)
        elif page is not None and page.writeback:
            if k.scan_wait_writeback == "each":
                t = clock.folio_wait_writeback(m, page, t)
            elif first_wb is None:
                first_wb = page
        freed += scan_free_slot(m, off)
    waited = k.scan_wait_writeback == "if_none_freed" and not freed and first_wb is not None
    if waited:
        t = clock.folio_wait_writeback(m, first_wb, t)
    return freed, waited, t


def swap_reclaim_work(m: Machine) -> int:
    """The asynchronous worker (6.12 swap_reclaim_work): trylock only, no sleeping."""
    found, _ = scan_candidates(m)
    return sum(scan_free_slot(m, off) for off in found)


def maybe_schedule_worker(m: Machine, t: int) -> None:
    """Async mode: schedule the worker.  device_full: once per fill, armed by the
    allocation that filled the device (7.2.13 swap_range_alloc, mm/swapfile.c:1300-1305);
    other triggers: whenever the trigger holds now."""
    k = m.knobs
    if k.scan_trigger == "device_full":
        fire, m.worker_armed = m.worker_armed, False
    else:
        fire = scan_triggered(m)
    if k.scan_when == "async" and m.worker_at >= NEVER and fire:
        m.worker_at = t + int(k.scan_async_delay_s * 1e9)
