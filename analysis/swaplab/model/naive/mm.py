"""Page frames and reverse mapping: allocate, free, map and unmap one pte."""

from __future__ import annotations

from swaplab.model.naive.machine import Machine
from swaplab.model.naive.mem import Page


def alloc_page(m: Machine) -> Page | None:
    """Take a free frame (the buddy allocator; the caller charges it)."""
    if not m.ram.free:
        return None
    page = m.ram.free.pop()
    page.reset()
    page.used = True
    return page


def free_page(m: Machine, page: Page) -> None:
    """Free a frame: off the LRU, mem_cgroup_uncharge, back to the buddy free list."""
    m.lru.delete(page)
    m.memcg.uncharge_page(page)
    page.reset()
    m.ram.free.append(page)


def page_add_anon_rmap(m: Machine, page: Page, v: int) -> None:
    """page_add_anon_rmap(): pte ``v`` maps ``page``."""
    if page.mapcount == 0:
        m.nr_mapped += 1
    page.mapcount += 1
    page.mappers.append(v)
    m.pte[v] = page


def page_remove_rmap(m: Machine, page: Page, v: int) -> None:
    """page_remove_rmap(): pte ``v`` no longer maps ``page``."""
    page.mapcount -= 1
    page.mappers.remove(v)
    if page.mapcount == 0:
        m.nr_mapped -= 1
