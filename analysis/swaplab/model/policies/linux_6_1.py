"""Linux 6.1 (Debian bookworm): slot caches, TTRS reclaim, the 100%-full blind spot.

Verified against Debian's linux-source-6.1 6.1.192-2 (the source of the captured
6.1.0-56-cloud-amd64 kernel); line numbers and quotes in docs/kernel-rules.md.

- swap_map ``unsigned char``, ``SWAP_HAS_CACHE 0x40`` (era 2.6.33) -- include/linux/swap.h:222.
- ``folio_alloc_swap`` through the per-cpu slots cache (``SWAP_BATCH`` 64, on above
  ncpus*5*64 free, off and drained below ncpus*2*64): slots_cache -- folio_alloc_swap,
  check_cache_active (mm/swap_slots.c:302, :91, 6.1.192-2).
- ``free_swap_slot`` batches 64 frees per cpu: slots_cache_free -- free_swap_slot
  (mm/swap_slots.c:272, 6.1.192-2).
- ``scan_swap_map_slots``: ``__try_to_reclaim_swap(TTRS_ANYWAY)`` on a ``SWAP_HAS_CACHE`` slot
  while ``vm_swap_full()``: alloc_reclaim -- scan_swap_map_slots (mm/swapfile.c:897, 6.1.192-2);
  but ``get_swap_pages`` returns at once when ``nr_swap_pages <= 0`` (mm/swapfile.c:1062) and
  the scan stops at ``!si->highest_bit`` (:891): never at 100% use.
- No full-cluster reclaim, no reclaim worker (swapfile.c has neither): alloc_full_cluster_reclaim
  false, scan_trigger off.
- ``free_swap_and_cache``: ``__try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)`` when the value
  is ``SWAP_HAS_CACHE``; ``folio_trylock``, no wait for writeback: zap_lock trylock,
  zap_wait_writeback false -- free_swap_and_cache, __try_to_reclaim_swap, folio_free_swap
  (mm/swapfile.c:1630, :131, :1592, 6.1.192-2).
- ``mem_cgroup_swap_full`` also counts v2 swap.max/swap.high: swap_full_memcg --
  mem_cgroup_swap_full (mm/memcontrol.c:7522, 6.1.192-2).
- ``do_swap_page`` frees the swap cache when ``should_try_to_free_swap``: swap full, mlocked, or
  an exclusive write fault: swapin_free swap_full -- should_try_to_free_swap (mm/memory.c:3695,
  6.1.192-2).
- zram (SWP_SYNCHRONOUS_IO): a swap-in of a slot with one swap pte skips the swap cache
  (swapcache_prepare, a fresh folio read synchronously, swap_free + swapcache_clear):
  sync_io_swapin skip_swapcache -- do_swap_page (mm/memory.c:3842, :4038, :4110,
  6.1.192-2); writes finish in pageout() and reclaim frees the folio at once (mm/vmscan.c:1964).
- Reclaim: ``get_scan_count`` SCAN_FILE when ``!can_reclaim_anon_pages()``: anon_scan_when_full
  never -- get_scan_count, can_reclaim_anon_pages (mm/vmscan.c:2934, :552, 6.1.192-2);
  ``SWAP_CLUSTER_MAX`` 32 (include/linux/swap.h:218); ``MAX_RECLAIM_RETRIES`` 16 in
  try_charge_memcg (mm/internal.h:202, mm/memcontrol.c:2717).

These are the model defaults.  Not rules of the source: trylock_fail_p (measured), the time
costs.  The captures' swap disk is virtio-blk, rotational on 6.1 (virtio_blk sets no
QUEUE_FLAG_NONROT), so 6.1 uses the HDD allocator path and *cluster* readahead there
(swap_use_vma_readahead needs ``!nr_rotate_swap``, mm/swap_state.c:317): see
docs/kernel-rules.md for what the engine cannot express.
"""

NAME = "linux-6.1"
# the kernels this preset models (traces data/traces/<scenario>__<kernel>.nc)
KERNELS = ("6.1", "6.1+none", "6.1+none+debug")
KNOBS: dict = {}
