"""Slot reference counting, freeing through the per-cpu slots cache, and allocation.

Rules of mm/swapfile.c and mm/swap_slots.c (6.1 unless noted), on the naive SwapDevice.
"""

from __future__ import annotations

from swaplab.model.naive import memcg_v1, swapcache
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.swapdev import SWAP_SLOTS_CACHE_SIZE


def vm_swap_full(m: Machine) -> bool:
    """vm_swap_full(): more than half of swap in use (include/linux/swap.h, 2.6.30 .. 6.12)."""
    return m.swap.nr_free * 2 < m.swap.pages


def mem_cgroup_get_nr_swap_pages(m: Machine) -> int:
    """mem_cgroup_get_nr_swap_pages(): min(free swap, swap.max - swap.current) (6.1)."""
    return min(m.memcg.swap_headroom(), m.swap.nr_free)


def mem_cgroup_swap_full(m: Machine) -> bool:
    """mem_cgroup_swap_full(): vm_swap_full() or, in cgroup v2, usage*2 >= max or >= high."""
    if vm_swap_full(m):
        return True
    return m.knobs.swap_full_memcg and m.memcg.swap_over_half_or_high()


def swap_entry_free(m: Machine, off: int) -> None:
    """swap_entry_free(): the slot becomes free; mem_cgroup_uncharge_swap (6.1)."""
    si = m.swap
    si.store(off, 0, False)
    if si.charged[off]:
        m.memcg.uncharge_swap()
    memcg_v1.mem_cgroup_uncharge_swap(m, off)  # v1: the slot's record (2.6.30)
    si.charged[off] = False
    si.pinned[off] = False
    si.nr_free += 1
    si.cluster_free[si.cluster_of(off)] += 1


def swapcache_free_entries(m: Machine) -> None:
    """swapcache_free_entries(): flush the per-cpu free batch (6.1)."""
    cache = m.swap.slots_cache
    for off in cache.slots_ret:
        swap_entry_free(m, off)
    cache.slots_ret.clear()


def free_swap_slot(m: Machine, off: int) -> None:
    """free_swap_slot(): batch of 64 per cpu while the slots cache is active (swap_slots.c,
    6.1; free side removed in 6.14 by 4f79384a25d5).  The slot keeps SWAP_HAS_CACHE, with
    no folio, until the batch is flushed."""
    si = m.swap
    k = m.knobs
    if k.slots_cache and k.slots_cache_free and si.slots_cache.active:
        si.store(off, 0, True)
        si.pinned[off] = True
        si.slots_cache.slots_ret.append(off)
        if len(si.slots_cache.slots_ret) >= SWAP_SLOTS_CACHE_SIZE:
            swapcache_free_entries(m)
    else:
        swap_entry_free(m, off)


def put_swap_folio(m: Machine, off: int) -> None:
    """put_swap_folio() / swapcache_free(): drop the swap cache's reference (6.1)."""
    count = m.swap.count(off)
    if count == 0:
        free_swap_slot(m, off)
    else:
        m.swap.store(off, count, False)


def swap_free(m: Machine, off: int) -> None:
    """swap_free() -> __swap_entry_free(): one swap pte less (6.1)."""
    si = m.swap
    count = si.count(off) - 1
    cache = si.has_cache(off)
    if count == 0 and not cache:
        free_swap_slot(m, off)
    else:
        si.store(off, count, cache)
        if count == 0 and m.memcg.v1 and m.knobs.era != "2.6.30":
            # 2.6.31 swap_entry_free: !swap_count -> mem_cgroup_uncharge_swap, even with
            # SWAP_HAS_CACHE still set
            memcg_v1.mem_cgroup_uncharge_swap(m, off)


def swap_duplicate(m: Machine, off: int) -> None:
    """swap_duplicate(): one more swap pte (fork, try_to_unmap_one); continues past MAX."""
    si = m.swap
    si.store(off, si.count(off) + 1, si.has_cache(off))


def take_slot(m: Machine, off: int) -> None:
    """scan_swap_map_slots stores usage SWAP_HAS_CACHE in a free slot (6.1)."""
    si = m.swap
    si.store(off, 0, True)
    si.nr_free -= 1
    si.cluster_free[si.cluster_of(off)] -= 1


def scan_swap_map_slots(m: Machine, want: int) -> list[int]:
    """scan_swap_map_slots(): next-fit from si->cluster_next; while vm_swap_full(), reuse
    cache-only slots through __try_to_reclaim_swap(TTRS_ANYWAY) (2.6.31 scan_swap_map,
    6.1).  2.6.30's scan_swap_map has no such reclaim."""
    si = m.swap
    k = m.knobs
    reclaim = k.alloc_reclaim and k.era != "2.6.30"
    got: list[int] = []
    off = si.cluster_next
    visited = 0
    while visited < si.pages and len(got) < want:
        if si.nr_free <= 0 and not reclaim:
            break
        if si.swap_map[off] == 0:
            take_slot(m, off)
            got.append(off)
        elif (reclaim and vm_swap_full(m) and si.cache_only(off) and off in si.swap_cache
              and swapcache.try_to_reclaim_swap(m, off) and si.swap_map[off] == 0):
            # "reuse swap entry of cache-only swap if not busy": freed, so take it
            take_slot(m, off)
            got.append(off)
        off = (off + 1) % si.pages
        visited += 1
    m.counters.events += visited
    si.cluster_next = off
    return got


def check_cache_active(m: Machine) -> bool:
    """check_cache_active(): on above ncpus*5*SWAP_BATCH free slots, off (and drained)
    below ncpus*2*SWAP_BATCH (mm/swap_slots.c, 6.1)."""
    si = m.swap
    cache = si.slots_cache
    if cache.active:
        if si.nr_free < m.vcpus * 2 * SWAP_SLOTS_CACHE_SIZE:
            cache.active = False
            # drain_swap_slots_cache(): both sides go back to the device
            while cache.slots:
                swap_entry_free(m, cache.slots.popleft())
            swapcache_free_entries(m)
    elif si.nr_free > m.vcpus * 5 * SWAP_SLOTS_CACHE_SIZE:
        cache.active = True
    return cache.active


def swap_reclaim_full_clusters(m: Machine) -> int:
    """swap_reclaim_full_clusters(si, force=false) on allocation (6.12): the next full
    cluster goes to the tail and its cache-only slots are reclaimed.  Returns slots freed."""
    si = m.swap
    ncl = len(si.cluster_free)
    freed = 0
    for i in range(ncl):
        ci = (si.full_cluster_next + i) % ncl
        if si.cluster_free[ci] != 0:
            continue
        si.full_cluster_next = (ci + 1) % ncl
        for off in si.cluster_range(ci):
            m.counters.events += 1
            if si.cache_only(off) and off in si.swap_cache:
                freed += swapcache.try_to_reclaim_swap(m, off)
        break
    return freed


def get_swap_page(m: Machine) -> int:
    """folio_alloc_swap() / get_swap_page(): a slot holding the cache reference, or -1.

    Through the per-cpu slots cache while it is active (swap_slots.c, 6.1);
    get_swap_pages() gives up at once when nr_swap_pages <= 0 (the 100%-full blind spot).
    """
    si = m.swap
    k = m.knobs
    cache = si.slots_cache
    if k.slots_cache and check_cache_active(m):
        if not cache.slots and si.nr_free > 0:
            if k.alloc_full_cluster_reclaim and vm_swap_full(m):
                swap_reclaim_full_clusters(m)
            for off in scan_swap_map_slots(m, SWAP_SLOTS_CACHE_SIZE):
                cache.slots.append(off)
                si.pinned[off] = True
        if cache.slots:
            off = cache.slots.popleft()
            si.pinned[off] = False
            return off
    if si.nr_free <= 0:
        return -1
    if k.alloc_full_cluster_reclaim and vm_swap_full(m):
        swap_reclaim_full_clusters(m)
    got = scan_swap_map_slots(m, 1)
    return got[0] if got else -1
