"""One swap device: swap_map in the era's encoding, its swap cache, clusters, slot caches."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from swaplab.model.naive.mem import Page
from swaplab.model.naive.swapmap import ERAS

# SWAPFILE_CLUSTER = HPAGE_PMD_NR with CONFIG_THP_SWAP=y (Debian 6.1/6.12/7.2 configs;
# 6.1.192 mm/swapfile.c:270); 256 without it, as in 2.6.30/2.6.31
CLUSTER_BY_ERA = {"2.6.30": 256, "2.6.31": 256, "2.6.33": 512}
# SWAP_MAP_BAD: swapon marks the header page, slot 0, with it (6.1.192 mm/swapfile.c:2953)
SWAP_MAP_BAD = {"2.6.30": 0x8000, "2.6.31": 0x7FFF, "2.6.33": 0x3F}
SWAP_SLOTS_CACHE_SIZE = 64  # include/linux/swap_slots.h, 6.1 (SWAP_BATCH)
# CLUSTER_FLAG_* of 7.2 (include/linux/swap.h): the list a cluster is on; NONE: isolated
NONE, FREE, NONFULL, FRAG, FULL = "none", "free", "nonfull", "frag", "full"


@dataclass
class SlotsCache:
    """struct swap_slots_cache of the one cpu the model runs on (mm/swap_slots.c, 6.1)."""

    active: bool = False  # swap_slot_cache_active
    slots: deque[int] = field(default_factory=deque)  # allocation side, handed out in order
    slots_ret: list[int] = field(default_factory=list)  # free side, flushed at 64


class SwapDevice:
    """struct swap_info_struct: swap_map plus what the model tracks per slot."""

    def __init__(self, nslots: int, era: str) -> None:
        self.max = nslots  # si->max: slots including the header
        self.pages = nslots - 1  # si->pages = total_swap_pages: the header is not swap
        self.era = ERAS[era]
        self.swap_map = [0] * nslots
        self.swap_map[0] = SWAP_MAP_BAD[era]
        self.continuation: dict[int, int] = {}  # counts held by COUNT_CONTINUED pages
        self.cache_ref = [False] * nslots  # the swap cache's reference is in the value
        self.charged = [False] * nslots  # memory.swap charged for the slot
        self.pinned = [False] * nslots  # held by a per-cpu slots cache, no folio
        self.record = [False] * nslots  # cgroup v1 swap_cgroup record: memsw charged
        self.swap_cache: dict[int, Page] = {}  # swapper_spaces: slot -> folio
        self.nr_free = nslots - 1  # free slots: swap_map == 0
        self.reserved = 0  # taken off nr_swap_pages by get_swap_pages, not allocated yet
        self.free_direct = False  # a TTRS_DIRECT reclaim is freeing: skip the free batch
        self.cluster = CLUSTER_BY_ERA[era]
        self.cluster_free = [min(self.cluster, nslots - lo)
                             for lo in range(0, nslots, self.cluster)]  # free per cluster
        self.cluster_free[0] -= 1  # the header
        self.cluster_next = 1  # si->cluster_next (swapon: 1)
        self.cluster_nr = 0  # si->cluster_nr
        self.lowest_bit = 1  # si->lowest_bit
        self.highest_bit = nslots - 1  # si->highest_bit (0: full)
        self.full_cluster_next = 0  # rotation of the full cluster list (6.12)
        # the cluster lists of 7.2's allocator (swap_cluster_info.flags): setup_swap_clusters_info
        # puts a cluster holding bad slots (the header, the tail past the device) on the
        # nonfull list, every other on the free list (7.2.13 mm/swapfile.c:3580-3590)
        ncl = len(self.cluster_free)
        self.cluster_flag = [FREE] * ncl
        self.cluster_lists: dict[str, list[int]] = {FREE: [], NONFULL: [], FRAG: [], FULL: []}
        for ci in range(ncl):
            bad = ci == 0 or (ci == ncl - 1 and nslots % self.cluster != 0)
            self.cluster_flag[ci] = NONFULL if bad else FREE
            self.cluster_lists[self.cluster_flag[ci]].append(ci)
        self.global_next = 0  # si->global_cluster->next[0]; 0: SWAP_ENTRY_INVALID
        self.scan_next = 0  # cursor of the policy scan
        self.slots_cache = SlotsCache()

    # -- the encoding --
    def count(self, off: int) -> int:
        """swap_count(): swap ptes referencing the slot."""
        return self.era.swap_count(self.swap_map[off], self.continuation.get(off, 0),
                                   self.cache_ref[off])

    def has_cache(self, off: int) -> bool:
        """Whether the slot's value carries the swap cache reference."""
        return self.era.has_cache(self.swap_map[off], self.cache_ref[off])

    def cache_only(self, off: int) -> bool:
        """The era's test for a slot left only to the swap cache."""
        return self.era.cache_only(self.swap_map[off])

    def store(self, off: int, count: int, cache: bool) -> None:
        """Write count and cache reference in the era's encoding."""
        value, cont = self.era.encode(count, cache)
        self.swap_map[off] = value
        if cont:
            self.continuation[off] = cont
        else:
            self.continuation.pop(off, None)
        self.cache_ref[off] = cache

    def nr_swap_pages(self) -> int:
        """nr_swap_pages: free slots less a running get_swap_pages' reservation."""
        return self.nr_free - self.reserved

    def cluster_of(self, off: int) -> int:
        return off // self.cluster

    def cluster_range(self, ci: int) -> range:
        return range(ci * self.cluster, min(self.max, (ci + 1) * self.cluster))
