"""Page faults: present pages, swap-in (do_swap_page) and swap readahead (mm/memory.c,
mm/swap_state.c; 6.1)."""

from __future__ import annotations

from swaplab.model.naive import clock, memcg_v1, mm, reclaim, swapcache, swapslots
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import INACTIVE


def swapin_nr_pages(m: Machine, offset: int, vma: bool) -> int:
    """__swapin_nr_pages(): the readahead window from the hits since the last one; 1 (or 2
    next to the previous fault) without hits, else a power of two >= 4, capped at
    1 << page_cluster and never below half the last window (mm/swap_state.c, 6.1)."""
    ra = m.ra
    max_pages = 1 << m.page_cluster
    if max_pages <= 1:
        return 1
    hits, ra.hits = ra.hits, 0
    pages = hits + 2
    if pages == 2:
        if offset != ra.prev_offset + 1 and offset != ra.prev_offset - 1:
            pages = 1
    else:
        roundup = 4
        while roundup < pages:
            roundup <<= 1
        pages = roundup
    pages = max(min(pages, max_pages), ra.prev_win // 2)
    ra.prev_win = pages
    if vma or not hits:
        # swapin_nr_pages(): "if (!hits) WRITE_ONCE(prev_offset, offset)" (6.1.192
        # mm/swap_state.c:585); swap_ra_info keeps the VMA's last fault address always
        ra.prev_offset = offset
    return pages


def read_swap_cache_async(m: Machine, off: int, t: int) -> int:
    """__read_swap_cache_async() for a readahead slot: skipped if cached already or no
    swap pte references it; the page is charged as the target is (try_charge: reclaim,
    then an OOM kill from the charge; 6.1.192 mm/swap_state.c:486, mm/memcontrol.c:1901),
    added to the swap cache (swapcache_prepare: SWAP_HAS_CACHE) and its read started.
    Returns the time."""
    si = m.swap
    if off in si.swap_cache or si.swap_map[off] == 0 or si.count(off) == 0:
        return t
    if m.memcg.v1:
        # 2.6.30 read_swap_cache_async: no memcg charge; the page is charged when a fault
        # maps it (mem_cgroup_try_charge_swapin)
        page = mm.alloc_page(m)
    else:
        page, t = reclaim.try_charge(m, t, True)
    if page is None:
        return t
    if off in si.swap_cache or si.count(off) == 0:
        mm.free_page(m, page)  # read or freed while the charge reclaimed
        return t
    si.store(off, si.count(off), True)
    swapcache.add_to_swap_cache(m, page, off)
    page.readahead = True
    m.lru.add(page, INACTIVE)
    clock.swap_readpage(m, page, t)
    m.counters.swap_ra += 1
    return t


def swapin_window(m: Machine, off: int, v: int) -> tuple[range, bool]:
    """The readahead window around a fault: virtual pages of the VMA (swap_vma_readahead,
    swap_ra_info) or the aligned block of slots (swap_cluster_readahead), mm/swap_state.c
    6.1.  Returns (window, whether it is over virtual pages); empty without readahead."""
    if not m.knobs.readahead or m.page_cluster == 0:
        return range(0), False
    if m.vma_readahead:
        win = swapin_nr_pages(m, v, True)
        if win <= 1:
            return range(0), True
        prev = m.ra.prev_fault
        if prev == v - 1:
            lo = v
        elif prev == v + 1:
            lo = v - win + 1
        else:
            lo = v - (win - 1) // 2
        return range(max(lo, m.task.vma_lo), min(lo + win, m.task.vma_hi)), True
    win = swapin_nr_pages(m, off, False)
    if win <= 1:
        return range(0), False
    mask = win - 1
    # the aligned block, less slot 0: "First page is swap header." (6.1.192
    # mm/swap_state.c:633)
    return range(max(1, off & ~mask), min(off | mask, m.swap.max - 1) + 1), False


def swapin_readahead(m: Machine, off: int, v: int, window: range, vma: bool,
                     t: int) -> int:
    """Start the readahead reads of ``window`` other than the target, in address order as
    the readahead loops submit them (mm/swap_state.c, 6.1); stops if a charge OOM-killed
    the task.  Returns the time."""
    for w in window:
        if m.task.killed:
            break
        if vma:
            entry = m.pte[w]
            if w != v and isinstance(entry, int):
                t = read_swap_cache_async(m, entry, t)
        elif w != off:
            t = read_swap_cache_async(m, w, t)
    return t


def skip_swapcache_fault(m: Machine, v: int, off: int, write: bool, t: int) -> int:
    """do_swap_page() for a slot with one swap pte on a SWP_SYNCHRONOUS_IO device (4.15 ..
    6.x): swapcache_prepare holds SWAP_HAS_CACHE, a fresh page is charged (may reclaim),
    read synchronously and mapped outside the swap cache; swap_free and swapcache_clear
    leave the slot free (6.1.192 mm/memory.c:3842, :4038, :4110; mm/swapfile.c:3400)."""
    si = m.swap
    m.counters.pgmajfault += 1
    si.store(off, si.count(off), True)  # swapcache_prepare
    page, t = reclaim.try_charge(m, t, True)
    if page is None or m.pte[v] != off:
        if page is not None:
            mm.free_page(m, page)  # the pte changed while we slept
        swapslots.put_swap_folio(m, off)  # swapcache_clear
        return t
    m.lru.add(page, INACTIVE)  # folio_add_lru
    t = clock.swap_readpage(m, page, t)
    mm.page_add_anon_rmap(m, page, v)
    if m.memcg.v1:
        memcg_v1.mem_cgroup_uncharge_swap(m, off)  # mem_cgroup_swapin_uncharge_swap
    swapslots.swap_free(m, off)
    swapslots.put_swap_folio(m, off)  # swapcache_clear
    if write:
        page.dirty = True
    return t


def do_swap_page(m: Machine, v: int, write: bool, t: int) -> int:
    """do_swap_page(): swap-in fault on pte ``v`` (mm/memory.c, 6.1).  Returns the time;
    the task may have been OOM-killed while charging the page.  On zram (SWP_SYNCHRONOUS_IO)
    ``sync_io_swapin`` picks the era's path: skip the swap cache at one swap pte (4.15 ..
    6.x), or swapin_sync -- the swap cache without readahead, freed after mapping whenever
    it can be (7.2.13 mm/memory.c:4832, :4527)."""
    si = m.swap
    off = m.pte[v]
    page = si.swap_cache.get(off)
    t += m.cost(m.knobs.cpu_swapfault_ns)
    m.counters.events += 1
    mode = m.knobs.sync_io_swapin if m.sync_io else "none"
    if page is None and mode == "skip_swapcache" and si.count(off) == 1:
        return skip_swapcache_fault(m, v, off, write, t)
    if page is not None:
        if page.readahead:
            page.readahead = False
            m.counters.swap_ra_hit += 1
            m.ra.hits += 1
        if page.locked:
            t = clock.folio_lock(m, page, t)
        if m.memcg.v1:
            charged, t = reclaim.mem_cgroup_try_charge_swapin(m, page, t)
            if not charged:
                return t
    else:
        m.counters.pgmajfault += 1
        # the window's reads go out in address order with the target's among them
        window, vma = (range(0), False) if mode == "swapin_sync" else swapin_window(m, off, v)
        pivot = v if vma else off
        t = swapin_readahead(m, off, v, range(window.start, min(pivot, window.stop)), vma, t)
        if m.task.killed:
            return t
        page, t = reclaim.try_charge(m, t, True)
        if page is None:
            return t
        if m.pte[v] != off:
            mm.free_page(m, page)  # the pte changed while we slept
            return t
        done = None
        cached = si.swap_cache.get(off)
        if cached is not None:
            mm.free_page(m, page)
            page = cached
            if m.memcg.v1:
                charged, t = reclaim.mem_cgroup_try_charge_swapin(m, page, t)
                if not charged:
                    return t
        else:
            si.store(off, si.count(off), True)  # swapcache_prepare
            swapcache.add_to_swap_cache(m, page, off)
            m.lru.add(page, INACTIVE)
            done = clock.swap_readpage(m, page, t)
        t = swapin_readahead(m, off, v, range(max(pivot + 1, window.start), window.stop), vma,
                             t)
        if m.task.killed:
            return t  # the exit zapped pte v; the target's page stays in the swap cache
        if done is not None:  # the fault waits for the target's read only
            clock.advance_to(m, t)
            t = max(clock.folio_lock(m, page, t), done)
    m.ra.prev_fault = v
    mm.page_add_anon_rmap(m, page, v)
    if m.memcg.v1:
        # mem_cgroup_commit_charge_swapin: the page carries memsw now; the record goes
        memcg_v1.mem_cgroup_uncharge_swap(m, off)
    swapslots.swap_free(m, off)
    if write:
        page.dirty = True
    exclusive = page.mapcount == 1 and si.count(off) == 0
    should_free = (m.knobs.swapin_free == "always" or swapslots.mem_cgroup_swap_full(m)
                   or (write and exclusive) or mode == "swapin_sync")
    # do_swap_page holds the folio lock (folio_lock_or_retry, mm/memory.c 6.1.192:3918)
    if should_free and not page.writeback:
        swapcache.folio_free_swap(m, page, False)
    return t


def wp_fault(m: Machine, page) -> None:
    """do_wp_page on a page mapped read-only after a read swap-in: reuse it.  Before 5.19
    reuse_swap_page() also freed its swap (wp_free_swap); 6.1 keeps the swap cache of a
    PageAnonExclusive page (do_wp_page, 6.1.192 mm/memory.c:3461)."""
    if (m.knobs.wp_free_swap and page.swapcache and not page.writeback
            and swapcache.trylock_page(m, page)):
        swapcache.folio_free_swap(m, page, False)
    page.dirty = True


def handle_mm_fault(m: Machine, v: int, write: bool, t: int) -> int:
    """One access by the running task to virtual page ``v``.  Returns the time.  A write is
    the guest's ``q[1] = q[1] + 1``: a load (a read fault on a swap pte), then the store."""
    entry = m.pte[v]
    if entry is None:
        return t
    if isinstance(entry, int):
        t = do_swap_page(m, v, False, t)
        page = m.pte[v]
        if write and not m.task.killed and page is not None and not isinstance(page, int):
            wp_fault(m, page)
        return t
    page = entry
    m.counters.events += 1
    t += m.cost(m.knobs.cpu_write_ns)
    if write:
        wp_fault(m, page)
    return t
