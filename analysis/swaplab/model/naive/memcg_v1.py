"""cgroup v1 memory + memsw accounting rules (memcg_accounting = "v1_memsw"; 2.6.30 and
2.6.31 mm/memcontrol.c, mm/swap_state.c, mm/swapfile.c)."""

from __future__ import annotations

from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import Page
from swaplab.model.naive.memcg import MEMSW, RES, UNLIMITED, memsw_limit


def reclaim_may_swap(m: Machine, hit: str | None) -> bool:
    """Whether reclaim for limit ``hit`` may swap: not at the memsw limit (noswap, 2.6.30
    __mem_cgroup_try_charge), nor at res when the memsw limit equals it (2.6.31
    mem_cgroup_hierarchical_reclaim: memsw_is_minimum)."""
    if hit == MEMSW:
        return False
    cg = m.memcg
    if hit == RES and cg.v1 and m.knobs.era != "2.6.30":
        return not (cg.memsw_max == cg.memory_max and cg.memory_max < UNLIMITED)
    return True


def mem_cgroup_uncharge_swapcache(m: Machine, page: Page, off: int, swapout: bool) -> None:
    """mem_cgroup_uncharge_swapcache() after the page left the swap cache: a charged,
    unmapped page loses res; SWAPOUT records its memcg on the slot (swap_cgroup_record),
    so memsw stays charged; DROP uncharges memsw too (2.6.30; 2.6.31 swapcache_free)."""
    if not page.pcg_used or page.mapcount > 0:
        return
    page.pcg_used = False
    m.memcg.memory_current -= 1
    if swapout:
        m.swap.record[off] = True
    else:
        m.memcg.memsw_current -= 1


def mem_cgroup_uncharge_swap(m: Machine, off: int) -> None:
    """mem_cgroup_uncharge_swap(): the slot's swap_cgroup record goes, memsw -1 (2.6.30)."""
    if m.swap.record[off]:
        m.swap.record[off] = False
        m.memcg.memsw_current -= 1


def swapcache_free(m: Machine, page: Page, off: int) -> None:
    """Drop the swap cache's reference on ``off`` with memsw accounting, in the era's order.
    2.6.30 delete_from_swap_cache: mem_cgroup_uncharge_swapcache (SWAPOUT), then swap_free.
    2.6.31 swapcache_free: swap_entry_free(SWAP_CACHE) (uncharge_swap if no swap count is
    left), then mem_cgroup_uncharge_swapcache(swapout = swap count left)."""
    from swaplab.model.naive.swapslots import put_swap_folio

    if m.knobs.era == "2.6.30":
        mem_cgroup_uncharge_swapcache(m, page, off, True)
        put_swap_folio(m, off)
        return
    swapout = m.swap.count(off) != 0
    if not swapout:
        mem_cgroup_uncharge_swap(m, off)
    put_swap_folio(m, off)
    mem_cgroup_uncharge_swapcache(m, page, off, swapout)


def resize_memsw_limit(m: Machine) -> None:
    """mem_cgroup_resize_memsw_limit() to memory.max + swap.max; below the usage the write
    fails (-EBUSY) and the old limit stays (res_counter_set_limit, 2.6.30)."""
    cg = m.memcg
    new = memsw_limit(cg.memory_max, cg.swap_max)
    if new >= cg.memsw_current:
        cg.memsw_max = new
