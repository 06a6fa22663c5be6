"""7.2's cluster allocator on a rotational device: cluster_alloc_swap_entry (order 0).

The slot comes from the current cluster (global_cluster->next), else from the nonfull
clusters, a free cluster, one full cluster reclaimed under vm_swap_full(), a frag cluster
(7.2.13 mm/swapfile.c:1092-1183).  Cache-only slots are reclaimed on the way only while
vm_swap_full() holds (cluster_scan_range :884-901).
"""

from __future__ import annotations

from swaplab.model.naive import swapcache, swapslots
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.swapdev import FRAG, FREE, FULL, NONE, NONFULL, SwapDevice


def count(si: SwapDevice, ci: int) -> int:
    """ci->count: slots in use, bad slots included."""
    return si.cluster - si.cluster_free[ci]


def move_cluster(si: SwapDevice, ci: int, flag: str) -> None:
    """move_cluster(): to the tail of the list of ``flag`` (7.2.13 mm/swapfile.c:579)."""
    if si.cluster_flag[ci] != NONE:
        si.cluster_lists[si.cluster_flag[ci]].remove(ci)
    si.cluster_lists[flag].append(ci)
    si.cluster_flag[ci] = flag


def isolate_lock_cluster(si: SwapDevice, flag: str) -> int | None:
    """isolate_lock_cluster(): the first cluster of a list, taken off it (:623)."""
    lst = si.cluster_lists[flag]
    if not lst:
        return None
    ci = lst.pop(0)
    si.cluster_flag[ci] = NONE
    return ci


def relocate_cluster(si: SwapDevice, ci: int) -> None:
    """relocate_cluster(): to the free, frag or full list by its count (:759-779)."""
    n = count(si, ci)
    want = FREE if n == 0 else FULL if n == si.cluster else FRAG
    if si.cluster_flag[ci] != want:
        move_cluster(si, ci, want)


def freed_slot(si: SwapDevice, ci: int) -> None:
    """free_cluster() when empty, else partial_free_cluster() (:1954-1957, :719, :743)."""
    want = FREE if count(si, ci) == 0 else NONFULL
    if si.cluster_flag[ci] != want:
        move_cluster(si, ci, want)


def alloc_swap_scan_cluster(m: Machine, ci: int, offset: int) -> int:
    """alloc_swap_scan_cluster(): the first free slot from ``offset``, or a cache-only one
    reclaimed while vm_swap_full(); then relocate_cluster and global_cluster->next
    (:964-1012, cluster_reclaim_range :838-882).  Returns the slot or -1."""
    si = m.swap
    end = min((ci + 1) * si.cluster, si.max)
    found, nxt = -1, 0
    if count(si, ci) < si.cluster:
        for off in range(offset, end):
            m.counters.events += 1
            if si.swap_map[off] != 0:
                if not (si.cache_only(off) and off in si.swap_cache):
                    continue
                if not swapslots.reclaims(m) or not swapslots.vm_swap_full(m):
                    continue
                swapcache.try_to_reclaim_swap(m, off)
                if si.cluster_flag[ci] == FREE:
                    break  # the reclaim emptied the cluster: not usable any more
                if si.swap_map[off] != 0:
                    continue
            swapslots.take_slot(m, off)
            found = off
            if count(si, ci) < si.cluster and off + 1 < end:
                nxt = off + 1
            break
    relocate_cluster(si, ci)
    si.global_next = nxt
    return found


def swap_reclaim_full_clusters(m: Machine, to_scan: int) -> None:
    """swap_reclaim_full_clusters() of 7.2: clusters off the full list, each cache-only slot
    __try_to_reclaim_swap(TTRS_ANYWAY); one nothing was freed in goes back (:1037-1077)."""
    si = m.swap
    while to_scan > 0:
        ci = isolate_lock_cluster(si, FULL)
        if ci is None:
            break
        to_scan -= 1
        for off in si.cluster_range(ci):
            m.counters.events += 1
            if si.cache_only(off) and off in si.swap_cache:
                swapcache.try_to_reclaim_swap(m, off)
        if si.cluster_flag[ci] == NONE:
            relocate_cluster(si, ci)


def cluster_alloc_swap_entry(m: Machine) -> int:
    """cluster_alloc_swap_entry(), rotational device, order 0 (:1092-1183).  A slot or -1."""
    si = m.swap
    off = si.global_next
    if off > 0:
        ci = si.cluster_of(off)
        if si.cluster_flag[ci] != FREE:  # cluster_is_usable: no table on the free list
            got = alloc_swap_scan_cluster(m, ci, off)
            if got >= 0:
                return got
    while (ci := isolate_lock_cluster(si, NONFULL)) is not None:
        got = alloc_swap_scan_cluster(m, ci, ci * si.cluster)
        if got >= 0:
            return got
    ci = isolate_lock_cluster(si, FREE)
    if ci is not None:
        got = alloc_swap_scan_cluster(m, ci, ci * si.cluster)
        if got >= 0:
            return got
    if m.knobs.alloc_full_cluster_reclaim and swapslots.vm_swap_full(m):
        swap_reclaim_full_clusters(m, 1)
    ci = isolate_lock_cluster(si, FRAG)
    if ci is not None:
        got = alloc_swap_scan_cluster(m, ci, ci * si.cluster)
        if got >= 0:
            return got
    return -1
