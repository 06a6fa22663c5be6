"""Physical memory: struct page with its flags as booleans, the free list, the anon LRUs."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

INACTIVE = "inactive_anon"  # enum lru_list LRU_INACTIVE_ANON
ACTIVE = "active_anon"  # LRU_ACTIVE_ANON


@dataclass(eq=False, slots=True)
class Page:
    """One page frame (a small folio) and the PG_* flags the model needs."""

    pfn: int
    used: bool = False
    swapcache: bool = False  # PG_swapcache; ``private`` holds the slot
    writeback: bool = False  # PG_writeback
    dirty: bool = False  # PG_dirty
    locked: bool = False  # PG_locked, held by read I/O in flight
    reclaim: bool = False  # PG_reclaim
    readahead: bool = False  # PG_readahead (swap readahead page not yet used)
    private: int = -1  # swp_entry_t offset while in the swap cache
    mapcount: int = 0  # folio_mapcount
    mappers: list[int] = field(default_factory=list)  # rmap: virtual pages mapping it
    lru: str | None = None  # which anon LRU list holds it
    pcg_used: bool = False  # cgroup v1 PageCgroupUsed: charged to res + memsw

    def reset(self) -> None:
        """Back to a free frame."""
        self.used = self.swapcache = self.writeback = self.dirty = False
        self.locked = self.reclaim = self.readahead = self.pcg_used = False
        self.private = -1
        self.mapcount = 0
        self.mappers.clear()


class Ram:
    """The page frames and the buddy allocator's free list (LIFO; no watermarks)."""

    def __init__(self, nframes: int) -> None:
        self.pages = [Page(pfn) for pfn in range(nframes)]
        self.free = list(reversed(self.pages))  # pop() hands out pfn 0 first

    @property
    def nr_free(self) -> int:
        return len(self.free)


class Lru:
    """The anon LRU lists of the one lruvec: OrderedDicts from tail (oldest) to head."""

    def __init__(self) -> None:
        self.lists: dict[str, OrderedDict[Page, None]] = {INACTIVE: OrderedDict(),
                                                           ACTIVE: OrderedDict()}

    def size(self, which: str) -> int:
        return len(self.lists[which])

    def tail(self, which: str) -> Page | None:
        """The page reclaim takes next from ``which``."""
        lst = self.lists[which]
        return next(iter(lst)) if lst else None

    def delete(self, page: Page) -> None:
        """lruvec_del_folio()."""
        if page.lru is not None:
            del self.lists[page.lru][page]
            page.lru = None

    def add(self, page: Page, which: str) -> None:
        """lruvec_add_folio(): at the head (most recent end)."""
        self.delete(page)
        self.lists[which][page] = None
        page.lru = which

    def add_tail(self, page: Page, which: str) -> None:
        """lruvec_add_folio_tail(): at the tail (reclaimed next)."""
        self.add(page, which)
        self.lists[which].move_to_end(page, last=False)
