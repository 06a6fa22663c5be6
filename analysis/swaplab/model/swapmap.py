"""swap_map encodings of each kernel era, in one module (no other module knows the bits).

- 2.6.30 (``unsigned short``): value = swap ptes + 1 while the page is in the swap cache;
  the cache's reference is not flagged (mm/swapfile.c ``scan_swap_map``, 2.6.30).
- 2.6.31 (``unsigned short``): ``SWAP_HAS_CACHE 0x8000``, ``SWAP_MAP_MAX 0x7ffe``
  (include/linux/swap.h, 2.6.31; commit 355cfa73ddff).
- 2.6.33+ (``unsigned char``): ``SWAP_HAS_CACHE 0x40``, ``SWAP_MAP_MAX 0x3e``,
  ``COUNT_CONTINUED 0x80`` with continuation pages (commits 253d553ba75a, 570a335b8e22);
  unchanged through 6.12 (include/linux/swap.h).  Past ``SWAP_MAP_MAX`` the low digit
  wraps as the kernel's does: a count c is stored as ``c % 63 | COUNT_CONTINUED`` with the
  continuation digits worth ``c // 63``.

The model keeps ``swap_map`` as uint16 for every era; the counts beyond ``SWAP_MAP_MAX`` of
the 2.6.33 era live in a continuation array (one ``uint16`` per slot: the value of the
continuation pages' digits, in units of ``SWAP_MAP_MAX + 1``).  The 2.6.30 era needs to
know whether the cache holds a reference; the model records that in the slot flags
(``SL_CACHEREF``) since the value cannot say.
"""

from __future__ import annotations

from swaplab.model.jit import jit

ERA_2630 = 0
ERA_2631 = 1
ERA_2633 = 2

# include/linux/swap.h, 2.6.31
SWAP_HAS_CACHE_2631 = 0x8000
SWAP_MAP_MAX_2631 = 0x7FFE
# include/linux/swap.h, 2.6.33 .. 6.12
SWAP_HAS_CACHE_2633 = 0x40
SWAP_MAP_MAX_2633 = 0x3E
COUNT_CONTINUED = 0x80
# include/linux/swap.h, 2.6.30
SWAP_MAP_MAX_2630 = 0x7FFF
# SWAP_MAP_BAD, the value of the header slot 0: 0x8000 (2.6.30), 0x7fff (2.6.31), 0x3f
# (2.6.33 .. 6.12: include/linux/swap.h:227, 6.1.192)
SWAP_MAP_BAD_2630 = 0x8000
SWAP_MAP_BAD_2631 = 0x7FFF
SWAP_MAP_BAD_2633 = 0x3F


@jit
def swap_map_bad(era: int) -> int:
    """The era's SWAP_MAP_BAD (what swapon stores in the header slot 0)."""
    if era == ERA_2630:
        return SWAP_MAP_BAD_2630
    if era == ERA_2631:
        return SWAP_MAP_BAD_2631
    return SWAP_MAP_BAD_2633


@jit
def encode(count: int, cache: bool, era: int) -> tuple:
    """swap_map value and continuation count for ``count`` swap ptes and the cache flag."""
    if era == ERA_2630:
        return count + (1 if cache else 0), 0
    if era == ERA_2631:
        return count | (SWAP_HAS_CACHE_2631 if cache else 0), 0
    cont = 0
    v = count
    if count > SWAP_MAP_MAX_2633:
        # __swap_duplicate: at SWAP_MAP_MAX the next reference carries into the
        # continuation page and the low digit wraps, count = COUNT_CONTINUED (6.1.192
        # mm/swapfile.c:3343-3348); swp_swapcount reads it back in base SWAP_MAP_MAX + 1
        # (:1522).  ``cont`` is the continuation digits' value.
        cont = count // (SWAP_MAP_MAX_2633 + 1)
        v = (count % (SWAP_MAP_MAX_2633 + 1)) | COUNT_CONTINUED
    return v | (SWAP_HAS_CACHE_2633 if cache else 0), cont


@jit
def swap_count(v: int, cont: int, cacheref: bool, era: int) -> int:
    """Number of swap ptes (``swap_count()``; 2.6.30: value minus the cache's reference)."""
    if era == ERA_2630:
        return v - (1 if cacheref else 0)
    if era == ERA_2631:
        return v & ~SWAP_HAS_CACHE_2631
    c = v & ~(SWAP_HAS_CACHE_2633 | COUNT_CONTINUED)
    if v & COUNT_CONTINUED:
        c += cont * (SWAP_MAP_MAX_2633 + 1)  # swp_swapcount (6.1.192 mm/swapfile.c:1522)
    return c


@jit
def has_cache(v: int, cacheref: bool, era: int) -> bool:
    """Whether the value carries the swap cache's reference."""
    if era == ERA_2630:
        return cacheref
    if era == ERA_2631:
        return (v & SWAP_HAS_CACHE_2631) != 0
    return (v & SWAP_HAS_CACHE_2633) != 0


@jit
def cache_only(v: int, era: int) -> bool:
    """The kernel's test for a cache-only slot as written in each era.

    2.6.30 ``free_swap_and_cache``: ``swap_entry_free(...) == 1`` (ambiguous: one pte or
    the cache); 2.6.31+: ``== SWAP_HAS_CACHE``.
    """
    if era == ERA_2630:
        return v == 1
    if era == ERA_2631:
        return v == SWAP_HAS_CACHE_2631
    return v == SWAP_HAS_CACHE_2633
