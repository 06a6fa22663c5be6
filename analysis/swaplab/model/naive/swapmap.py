"""swap_map value encodings of each kernel era (the naive model's own copy).

Each era is one small class: ``encode`` a count of swap ptes plus the swap cache's
reference into the stored value (and a continuation count), and decode it back.
"""

from __future__ import annotations

from dataclasses import dataclass

# include/linux/swap.h, 2.6.30: no cache flag; the cache holds one counted reference
SWAP_MAP_MAX_2630 = 0x7FFF
# include/linux/swap.h, 2.6.31 (355cfa73ddff): unsigned short with a cache flag
SWAP_HAS_CACHE_2631 = 0x8000
SWAP_MAP_MAX_2631 = 0x7FFE
# include/linux/swap.h, 2.6.33 .. 6.12 (253d553ba75a, 570a335b8e22): unsigned char
SWAP_HAS_CACHE = 0x40
SWAP_MAP_MAX = 0x3E
COUNT_CONTINUED = 0x80


@dataclass(frozen=True)
class Era2630:
    """2.6.30: value = swap ptes + 1 while the page is in the swap cache."""

    name: str = "2.6.30"

    def encode(self, count: int, cache: bool) -> tuple[int, int]:
        """scan_swap_map stores 1 for the cache; swap_duplicate adds 1 (mm/swapfile.c 2.6.30)."""
        return count + (1 if cache else 0), 0

    def swap_count(self, value: int, cont: int, cache_ref: bool) -> int:
        """page_swapcount(): the value less the cache's reference (2.6.30)."""
        return value - (1 if cache_ref else 0)

    def has_cache(self, value: int, cache_ref: bool) -> bool:
        """The value cannot say; the kernel learns it from the swap cache itself."""
        return cache_ref

    def cache_only(self, value: int) -> bool:
        """free_swap_and_cache(): swap_entry_free() == 1 (one pte or the cache, 2.6.30)."""
        return value == 1


@dataclass(frozen=True)
class Era2631:
    """2.6.31: SWAP_HAS_CACHE 0x8000 flag over the count (cb4b86ba47bb, 355cfa73ddff)."""

    name: str = "2.6.31"

    def encode(self, count: int, cache: bool) -> tuple[int, int]:
        return count | (SWAP_HAS_CACHE_2631 if cache else 0), 0

    def swap_count(self, value: int, cont: int, cache_ref: bool) -> int:
        """swap_count(): value & ~SWAP_HAS_CACHE (mm/swapfile.c 2.6.31)."""
        return value & ~SWAP_HAS_CACHE_2631

    def has_cache(self, value: int, cache_ref: bool) -> bool:
        return bool(value & SWAP_HAS_CACHE_2631)

    def cache_only(self, value: int) -> bool:
        """free_swap_and_cache(): the remaining value == SWAP_HAS_CACHE (2.6.31)."""
        return value == SWAP_HAS_CACHE_2631


@dataclass(frozen=True)
class Era2633:
    """2.6.33+: unsigned char, SWAP_HAS_CACHE 0x40, counts past SWAP_MAP_MAX continue in
    continuation pages flagged by COUNT_CONTINUED (add_swap_count_continuation)."""

    name: str = "2.6.33"

    def encode(self, count: int, cache: bool) -> tuple[int, int]:
        low, cont = count, 0
        if count > SWAP_MAP_MAX:
            # __swap_duplicate past SWAP_MAP_MAX: carry into the continuation page, the
            # low digit wraps to COUNT_CONTINUED (6.1.192 mm/swapfile.c:3347-3348)
            cont, digit = divmod(count, SWAP_MAP_MAX + 1)
            low = digit | COUNT_CONTINUED
        return low | (SWAP_HAS_CACHE if cache else 0), cont

    def swap_count(self, value: int, cont: int, cache_ref: bool) -> int:
        """swap_count() plus the continuation pages (swp_swapcount, 6.1)."""
        count = value & ~(SWAP_HAS_CACHE | COUNT_CONTINUED)
        # swp_swapcount: continuation digits count in units of SWAP_MAP_MAX + 1 (:1522)
        return count + cont * (SWAP_MAP_MAX + 1) if value & COUNT_CONTINUED else count

    def has_cache(self, value: int, cache_ref: bool) -> bool:
        return bool(value & SWAP_HAS_CACHE)

    def cache_only(self, value: int) -> bool:
        """free_swap_and_cache() / scan_swap_map_slots: map == SWAP_HAS_CACHE (6.1)."""
        return value == SWAP_HAS_CACHE


ERAS = {e.name: e for e in (Era2630(), Era2631(), Era2633())}
