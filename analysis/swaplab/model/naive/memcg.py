"""The one memory cgroup every process runs in: cgroup v2 memory and swap counters.

Kept as a small class so other accounting modes (cgroup v1 res + memsw) can be added as
subclasses with the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Memcg:
    """memory.current / memory.max and memory.swap.current / swap.max / swap.high (pages)."""

    memory_max: int
    swap_max: int
    swap_high: int
    memory_current: int = 0
    swap_current: int = 0

    def would_exceed_memory(self, nr_pages: int = 1) -> bool:
        """page_counter_try_charge() of memory would fail (try_charge_memcg, 6.1)."""
        return self.memory_current + nr_pages > self.memory_max

    def charge(self) -> None:
        """One page charged to memory (mem_cgroup_charge)."""
        self.memory_current += 1

    def uncharge(self) -> None:
        """One page uncharged (mem_cgroup_uncharge)."""
        self.memory_current -= 1

    def try_charge_swap(self) -> bool:
        """__mem_cgroup_try_charge_swap(): one slot against swap.max (6.1)."""
        if self.swap_current + 1 > self.swap_max:
            return False
        self.swap_current += 1
        return True

    def uncharge_swap(self) -> None:
        """mem_cgroup_uncharge_swap(): one slot freed."""
        self.swap_current -= 1

    def charge_fixed(self, nr_pages: int) -> None:
        """Pages charged outside the LRU (__GFP_ACCOUNT: page tables, stack, slab)."""
        self.memory_current += nr_pages

    def uncharge_fixed(self, nr_pages: int) -> None:
        self.memory_current -= nr_pages

    def swap_headroom(self) -> int:
        """swap.max - swap.current, not below 0."""
        return max(0, self.swap_max - self.swap_current)

    def swap_over_half_or_high(self) -> bool:
        """The cgroup v2 part of mem_cgroup_swap_full(): usage*2 >= max or >= high (6.1)."""
        return self.swap_current * 2 >= self.swap_max or self.swap_current * 2 >= self.swap_high
