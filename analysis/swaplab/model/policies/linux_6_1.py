"""Linux 6.1 (Debian bookworm): slot caches, TTRS reclaim, the 100%-full blind spot.

- swap_map ``unsigned char`` with ``SWAP_HAS_CACHE 0x40`` (include/linux/swap.h, 6.1).
- ``folio_alloc_swap`` through the per-cpu ``swap_slots_cache`` (64; active above
  ncpus*5*64 free, off below ncpus*2*64); ``free_swap_slot`` batches frees (swap_slots.c).
- ``scan_swap_map_slots``: ``__try_to_reclaim_swap(TTRS_ANYWAY)`` on cache-only slots
  while ``vm_swap_full()``; ``get_swap_pages`` returns at once with no free slot.
- ``free_swap_and_cache``: ``__try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)`` when the
  value is ``SWAP_HAS_CACHE``; ``mem_cgroup_swap_full`` includes swap.max/swap.high.
- Reclaim: ``get_scan_count`` SCAN_FILE when ``!can_reclaim_anon_pages()``
  (``mem_cgroup_get_nr_swap_pages() == 0`` in a memcg): orphans are never visited then.
These are the model defaults.
"""

NAME = "linux-6.1"
KNOBS: dict = {}
