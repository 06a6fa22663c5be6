"""Slot reference counting, freeing through the per-cpu slots cache, and allocation.

Rules of mm/swapfile.c and mm/swap_slots.c (6.1 unless noted), on the naive SwapDevice.
"""

from __future__ import annotations

from swaplab.model.naive import clusters, memcg_v1, swapcache
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.swapdev import SWAP_SLOTS_CACHE_SIZE


def vm_swap_full(m: Machine) -> bool:
    """vm_swap_full(): nr_swap_pages * 2 < total_swap_pages (include/linux/swap.h:491,
    6.1.192); nr_swap_pages is low by what a running get_swap_pages reserved."""
    return m.swap.nr_swap_pages() * 2 < m.swap.pages


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
    if m.knobs.swap_allocator == "cluster":
        clusters.freed_slot(si, si.cluster_of(off))
    # swap_range_free(): widen [lowest_bit, highest_bit] (6.1.192 mm/swapfile.c:730-738)
    si.lowest_bit = min(si.lowest_bit, off)
    si.highest_bit = max(si.highest_bit, off)


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
    if k.slots_cache and k.slots_cache_free and si.slots_cache.active and not si.free_direct:
        si.store(off, 0, True)
        si.pinned[off] = True
        if len(si.slots_cache.slots_ret) >= SWAP_SLOTS_CACHE_SIZE:
            # a full batch goes back before this one is added (6.1.192 swap_slots.c:284)
            swapcache_free_entries(m)
        si.slots_cache.slots_ret.append(off)
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
    """scan_swap_map_slots stores usage SWAP_HAS_CACHE in a free slot, then
    swap_range_alloc() narrows [lowest_bit, highest_bit] (6.1.192 mm/swapfile.c:917,
    :694-709)."""
    si = m.swap
    si.store(off, 0, True)
    si.nr_free -= 1
    if si.reserved:
        si.reserved -= 1
    si.cluster_free[si.cluster_of(off)] -= 1
    if off == si.lowest_bit:
        si.lowest_bit += 1
    if off == si.highest_bit:
        si.highest_bit -= 1
    if si.nr_free == 0:
        si.lowest_bit, si.highest_bit = si.max, 0
        # swap_range_alloc -> schedule_work(&si->reclaim_work) on the fill (7.2.13
        # mm/swapfile.c:1300-1305)
        if m.knobs.scan_trigger == "device_full":
            m.worker_armed = True


LATENCY_LIMIT = 256  # mm/swapfile.c:283 (6.1.192)


class _Scan:
    """The locals of one scan_swap_map_slots() call."""

    def __init__(self, si, want: int) -> None:
        self.want = want
        self.got: list[int] = []
        self.latency = LATENCY_LIMIT
        self.scanned_many = False
        self.base = si.cluster_next
        self.off = si.cluster_next


def reclaims(m: Machine) -> bool:
    """Whether the era's allocator reuses cache-only slots (2.6.31+, knob alloc_reclaim)."""
    return m.knobs.alloc_reclaim and m.knobs.era != "2.6.30"


def _first_empty_cluster(m: Machine, sc: _Scan) -> None:
    """Every SWAPFILE_CLUSTER allocations (cluster_nr ran out) on a rotational device:
    restart from lowest_bit, at the first run of SWAPFILE_CLUSTER free slots if there is
    one (6.1.192 mm/swapfile.c:839-876)."""
    si = m.swap
    si.cluster_nr = si.cluster - 1
    if si.nr_free < si.cluster:
        return
    sc.base = sc.off = si.lowest_bit
    off = si.lowest_bit
    last_in_cluster = off + si.cluster - 1
    while last_in_cluster <= si.highest_bit:
        m.counters.events += 1
        if si.swap_map[off]:
            last_in_cluster = off + si.cluster
        elif off == last_in_cluster:
            sc.off = off - (si.cluster - 1)
            return
        off += 1


def _checks(m: Machine, sc: _Scan) -> str:
    """The ``checks:`` label: reclaim a cache-only slot, take a free one, or say where the
    walk goes next ("checks", "scan", "done", "no_page")."""
    si = m.swap
    if si.highest_bit == 0:
        return "no_page"
    if sc.off > si.highest_bit:
        sc.base = sc.off = si.lowest_bit
    off = sc.off
    if reclaims(m) and vm_swap_full(m) and si.cache_only(off):
        # "reuse swap entry of cache-only swap if not busy": a freed slot is checked
        # again; one gone to the per-cpu free batch is still SWAP_HAS_CACHE (no folio)
        # 6.12: TTRS_DIRECT frees the slot itself (no free batch), so the retry takes it
        si.free_direct = m.knobs.alloc_reclaim_direct
        freed = off in si.swap_cache and swapcache.try_to_reclaim_swap(m, off)
        si.free_direct = False
        return "checks" if freed else "scan"
    if si.swap_map[off] != 0:
        return "done" if sc.got else "scan"
    take_slot(m, off)
    sc.got.append(off)
    if len(sc.got) == sc.want or off >= si.highest_bit:
        return "done"
    sc.latency -= 1
    if sc.latency < 0:
        return "done"
    if si.cluster_nr:
        sc.off += 1
        if si.swap_map[sc.off] == 0:
            si.cluster_nr -= 1
            return "checks"
    if not sc.scanned_many:
        limit = sc.base if sc.off < sc.base else si.highest_bit
        while sc.off <= limit:
            sc.latency -= 1
            if sc.latency <= 0:
                break
            m.counters.events += 1
            if si.swap_map[sc.off] == 0:
                return "checks"
            sc.off += 1
    return "done"


def _available(m: Machine, off: int) -> bool:
    """swap_offset_available_and_locked(): free, or cache-only while swap is half full."""
    si = m.swap
    return si.swap_map[off] == 0 or (reclaims(m) and vm_swap_full(m) and si.cache_only(off))


def _scan(m: Machine, sc: _Scan) -> str:
    """The ``scan:`` label: the first usable slot above, then below, the scan base."""
    si = m.swap

    def tick() -> None:
        m.counters.events += 1
        sc.latency -= 1
        if sc.latency < 0:
            sc.latency = LATENCY_LIMIT
            sc.scanned_many = True

    while sc.off + 1 <= si.highest_bit:
        sc.off += 1
        tick()
        if _available(m, sc.off):
            return "checks"
    for off in range(si.lowest_bit, max(si.lowest_bit, sc.base)):
        sc.off = off
        tick()
        if _available(m, off):
            return "checks"
    return "no_page"


def scan_swap_map_slots(m: Machine, want: int) -> list[int]:
    """scan_swap_map_slots() without si->cluster_info (a rotational device), 6.1.192
    mm/swapfile.c:800-1001 (2.6.31's scan_swap_map walks the same way): reclaim only while
    no slot is taken yet; then take the next free slots and stop at a used one."""
    si = m.swap
    sc = _Scan(si, want)
    if si.cluster_nr == 0:
        _first_empty_cluster(m, sc)
    else:
        si.cluster_nr -= 1
    where = "checks"
    while where in ("checks", "scan"):
        m.counters.events += 1
        where = _checks(m, sc) if where == "checks" else _scan(m, sc)
    m.counters.events += 1  # model events: one per step of the walk, as the engine counts
    if where == "done":
        si.cluster_next = sc.off + 1  # set_cluster_next
    return sc.got


def get_swap_pages(m: Machine, want: int) -> list[int]:
    """get_swap_pages(): none when nr_swap_pages <= 0 (the 100%-full blind spot); the goal
    is held off nr_swap_pages while scan_swap_map_slots runs (6.1.192 mm/swapfile.c:1061-1069,
    :1127)."""
    si = m.swap
    avail = si.nr_swap_pages()
    if avail <= 0:
        return []
    si.reserved = min(want, SWAP_SLOTS_CACHE_SIZE, avail)
    got = scan_swap_map_slots(m, si.reserved)
    si.reserved = 0
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
    if k.swap_allocator == "cluster":
        # 7.2: no slots cache; a full device is off the avail list (swap_alloc_slow)
        return clusters.cluster_alloc_swap_entry(m) if si.nr_swap_pages() > 0 else -1
    if k.slots_cache and check_cache_active(m):
        if not cache.slots and si.nr_free > 0:
            if k.alloc_full_cluster_reclaim and vm_swap_full(m):
                swap_reclaim_full_clusters(m)
            for off in get_swap_pages(m, SWAP_SLOTS_CACHE_SIZE):
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
    got = get_swap_pages(m, 1)
    return got[0] if got else -1
