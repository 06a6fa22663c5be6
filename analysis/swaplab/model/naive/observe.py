"""The output variables of one sample or snapshot, read off the machine."""

from __future__ import annotations

from swaplab import schema
from swaplab.model.naive.machine import Machine

VAR_NAMES = tuple(schema.VARIABLES)


def count_orphans(m: Machine) -> int:
    """swap_orphans: swap cache pages that no pte maps and no swap pte references."""
    si = m.swap
    return sum(1 for off, page in si.swap_cache.items()
               if page.mapcount == 0 and si.count(off) == 0)


def observe(m: Machine) -> list[int]:
    """One row of the schema's variables, in schema order."""
    c = m.counters
    si = m.swap
    values = {
        "swap_total": si.pages,
        "swap_used": si.pages - si.nr_free,
        "swap_cached": len(si.swap_cache),
        "swap_orphans": count_orphans(m),
        "memcg_current": m.memcg.memory_current,
        "memcg_swap_current": m.memcg.swap_usage(),
        "memcg_anon": m.nr_mapped,
        "memcg_swapcached": len(si.swap_cache),
        "lock_wait_us": c.lock_wait_ns // 1000,
    }
    return [values[n] if n in values else getattr(c, n) for n in VAR_NAMES]
