"""Zapping ptes (munmap, exit, OOM kill) and unmapping for reclaim."""

from __future__ import annotations

from swaplab.model.naive import clock, mm, swapcache, swapslots
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import Page


def _lock_for_free(m: Machine, page: Page, t: int) -> tuple[bool, int]:
    """The page lock and writeback test shared by both zap paths: zap_lock 'trylock'
    (mainline) or 'lock' (kamezawa-sync); PG_writeback skips, or waits with
    zap_wait_writeback.  Returns (go on, time)."""
    k = m.knobs
    if k.zap_lock == "lock":
        t = clock.folio_lock(m, page, t)
    elif not swapcache.trylock_page(m, page):
        m.counters.trylock_fail += 1
        return False, t
    if page.writeback:
        if not k.zap_wait_writeback:
            m.counters.writeback_skip += 1
            return False, t
        t = clock.folio_wait_writeback(m, page, t)
    return True, t


def free_swap_cache(m: Machine, page: Page, t: int) -> int:
    """free_swap_cache() from tlb batching: trylock_page, then try_to_free_swap if the page
    is unmapped (mm/swap_state.c, 2.6.30 .. 6.1).  Returns the time."""
    ok, t = _lock_for_free(m, page, t)
    if ok:
        swapcache.folio_free_swap(m, page, True)
    return t


def free_swap_and_cache(m: Machine, off: int, t: int) -> int:
    """free_swap_and_cache(): drop a swap pte's reference; if only the cache is left, try
    to free it (mm/swapfile.c; 2.6.30: value == 1 and !page_mapped || vm_swap_full;
    6.1: == SWAP_HAS_CACHE, __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL))."""
    swapslots.swap_free(m, off)
    if not m.swap.cache_only(off):
        return t
    page = m.swap.swap_cache.get(off)
    if page is None:
        return t
    ok, t = _lock_for_free(m, page, t)
    if ok and (page.mapcount == 0 or swapslots.mem_cgroup_swap_full(m)):
        swapcache.folio_free_swap(m, page, True)
    return t


def zap_pte(m: Machine, v: int, t: int) -> int:
    """zap_pte_range() for one pte.  Returns the time after it."""
    entry = m.pte[v]
    if entry is None:
        return t
    m.pte[v] = None
    m.counters.events += 1
    t += m.cost(m.knobs.cpu_zap_ns)
    if isinstance(entry, int):
        return free_swap_and_cache(m, entry, t)
    page = entry
    mm.page_remove_rmap(m, page, v)
    if page.mapcount == 0:
        if page.swapcache:
            t = free_swap_cache(m, page, t)
        else:
            mm.free_page(m, page)
    return t


def try_to_unmap(m: Machine, page: Page) -> None:
    """try_to_unmap(): every pte mapping the page becomes a swap pte (try_to_unmap_one:
    swap_duplicate each)."""
    off = page.private
    for v in list(page.mappers):
        mm.page_remove_rmap(m, page, v)
        m.pte[v] = off
        swapslots.swap_duplicate(m, off)
