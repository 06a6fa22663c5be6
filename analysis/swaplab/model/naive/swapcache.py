"""The swap cache: adding and deleting folios, freeing cache-only slots (mm/swap_state.c,
mm/swapfile.c, 6.1)."""

from __future__ import annotations

from swaplab.model.naive import memcg_v1, mm, swapslots
from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import Page


def add_to_swap_cache(m: Machine, page: Page, off: int) -> None:
    """add_to_swap_cache(): the page becomes the swap cache page of slot ``off``."""
    m.swap.swap_cache[off] = page
    page.private = off
    page.swapcache = True


def delete_from_swap_cache(m: Machine, page: Page) -> None:
    """delete_from_swap_cache(): unlink page and slot, then put_swap_folio (6.1)."""
    off = page.private
    del m.swap.swap_cache[off]
    page.private = -1
    page.swapcache = False
    if m.memcg.v1:
        memcg_v1.swapcache_free(m, page, off)
    else:
        swapslots.put_swap_folio(m, off)


def trylock_page(m: Machine, page: Page) -> bool:
    """folio_trylock(): fails while read I/O holds the lock, or to a random other holder
    with probability trylock_fail_p."""
    if page.locked:
        return False
    p = m.knobs.trylock_fail_p
    return not (p > 0.0 and m.rng.uniform() < p)


def folio_free_swap(m: Machine, page: Page, put: bool) -> bool:
    """folio_free_swap() (try_to_free_swap before 6.1): a swap cache page not under
    writeback whose slot has no swap pte leaves the swap cache; with ``put`` and no
    mapping left its last reference goes and the page is freed."""
    if not page.swapcache or page.writeback:
        return False
    if m.swap.count(page.private) != 0:
        return False
    delete_from_swap_cache(m, page)
    page.dirty = True  # folio_set_dirty: the swap copy is gone
    if put and page.mapcount == 0:
        mm.free_page(m, page)
    return True


def try_to_reclaim_swap(m: Machine, off: int) -> int:
    """__try_to_reclaim_swap(si, offset, TTRS_ANYWAY) (mm/swapfile.c, 6.1): 1 if the
    slot's cache page was freed."""
    page = m.swap.swap_cache.get(off)
    if page is None:
        return 0
    if not trylock_page(m, page):
        m.counters.trylock_fail += 1
        return 0
    if page.writeback:
        m.counters.writeback_skip += 1
        return 0
    return 1 if folio_free_swap(m, page, True) else 0


def add_to_swap(m: Machine, page: Page) -> bool:
    """add_to_swap(): a slot (folio_alloc_swap), memory.swap charged
    (__mem_cgroup_try_charge_swap), page into the swap cache and dirty (6.1)."""
    off = swapslots.get_swap_page(m)
    if off < 0:
        return False
    if not m.memcg.v1:  # v1 charges no swap here: memsw stays on the page (2.6.30)
        if not m.memcg.try_charge_swap():
            # memory.swap.events max/fail; put_swap_folio -> free_swap_slot
            swapslots.put_swap_folio(m, off)
            return False
        m.swap.charged[off] = True
    add_to_swap_cache(m, page, off)
    page.dirty = True
    return True
