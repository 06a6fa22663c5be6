"""The one memory cgroup every process runs in: cgroup v2 memory + swap counters
(:class:`Memcg`), or cgroup v1 res + memsw counters (:class:`MemcgV1`, the 2009 presets).

Both have the same methods; the rules that differ beyond counting are in
:mod:`swaplab.model.naive.memcg_v1`.
"""

from __future__ import annotations

from dataclasses import dataclass

from swaplab.model.naive.mem import Page

UNLIMITED = 1 << 40  # a "max" limit in pages (swaplab.model.workload.UNLIMITED)
RES = "res"  # which counter a new page would push over its limit
MEMSW = "memsw"


@dataclass
class Memcg:
    """cgroup v2: memory.current / memory.max, memory.swap.current / swap.max / swap.high."""

    memory_max: int
    swap_max: int
    swap_high: int
    memory_current: int = 0
    swap_current: int = 0
    v1 = False

    def limit_hit(self) -> str | None:
        """The counter one more page would overflow (page_counter_try_charge, 6.1)."""
        return RES if self.memory_current + 1 > self.memory_max else None

    def charge_page(self, page: Page) -> None:
        """One page charged (mem_cgroup_charge)."""
        self.memory_current += 1

    def uncharge_page(self, page: Page) -> None:
        """A page freed (mem_cgroup_uncharge)."""
        self.memory_current -= 1

    def charge_fixed(self, nr_pages: int) -> None:
        """Pages charged outside the LRU (__GFP_ACCOUNT: page tables, stack, slab)."""
        self.memory_current += nr_pages

    def uncharge_fixed(self, nr_pages: int) -> None:
        self.memory_current -= nr_pages

    def try_charge_swap(self) -> bool:
        """__mem_cgroup_try_charge_swap(): one slot against swap.max (6.1)."""
        if self.swap_current + 1 > self.swap_max:
            return False
        self.swap_current += 1
        return True

    def uncharge_swap(self) -> None:
        """mem_cgroup_uncharge_swap(): one slot freed."""
        self.swap_current -= 1

    def swap_headroom(self) -> int:
        """swap.max - swap.current, not below 0."""
        return max(0, self.swap_max - self.swap_current)

    def swap_over_half_or_high(self) -> bool:
        """The cgroup v2 part of mem_cgroup_swap_full(): usage*2 >= max or >= high (6.1)."""
        return self.swap_current * 2 >= self.swap_max or self.swap_current * 2 >= self.swap_high

    def swap_usage(self) -> int:
        """What the memcg_swap_current variable reports."""
        return self.swap_current


def memsw_limit(memory_max: int, swap_max: int) -> int:
    """v1 memory.memsw.limit_in_bytes for the scenario's limits: memory.max plus the swap.max
    headroom; unlimited if either is "max"."""
    if memory_max >= UNLIMITED or swap_max >= UNLIMITED:
        return UNLIMITED
    return memory_max + swap_max


@dataclass
class MemcgV1(Memcg):
    """cgroup v1 (2.6.30 memcontrol.c): ``memory_current`` is res; memsw counts pages plus
    swapped-out slots that keep a swap_cgroup record.  Pages carry PageCgroupUsed."""

    memsw_current: int = 0
    memsw_max: int = UNLIMITED
    v1 = True

    def __post_init__(self) -> None:
        self.memsw_max = memsw_limit(self.memory_max, self.swap_max)

    def limit_hit(self) -> str | None:
        """res first, then memsw (__mem_cgroup_try_charge, 2.6.30)."""
        if self.memory_current + 1 > self.memory_max:
            return RES
        if self.memsw_current + 1 > self.memsw_max:
            return MEMSW
        return None

    def charge_page(self, page: Page) -> None:
        """res_counter_charge of res and memsw, committed: PageCgroupUsed (2.6.30)."""
        self.memory_current += 1
        self.memsw_current += 1
        page.pcg_used = True

    def uncharge_page(self, page: Page) -> None:
        """__mem_cgroup_uncharge_common(MAPPED) of a freed page: res and memsw -1 if it was
        charged (2.6.30)."""
        if page.pcg_used:
            page.pcg_used = False
            self.memory_current -= 1
            self.memsw_current -= 1

    def charge_fixed(self, nr_pages: int) -> None:
        self.memory_current += nr_pages
        self.memsw_current += nr_pages

    def uncharge_fixed(self, nr_pages: int) -> None:
        self.memory_current -= nr_pages
        self.memsw_current -= nr_pages

    def swap_headroom(self) -> int:
        """v1 has no swap limit (2.6.30 get_scan_ratio tests nr_swap_pages only)."""
        return UNLIMITED

    def swap_over_half_or_high(self) -> bool:
        return False  # mem_cgroup_swap_full is the v2 rule

    def swap_usage(self) -> int:
        """memsw - res: what a v1 user reads as the group's swap."""
        return self.memsw_current - self.memory_current
