"""Linux 7.2 (Debian sid): swap table, cluster allocator on every device, no slots cache.

Verified against Debian's linux-source-7.2 7.2.13-1 (the source of the captured
7.2.13+deb14-cloud-amd64 kernel); line numbers and quotes in docs/kernel-rules.md.

- Swap table (mm/swap_table.h): no ``swap_map`` and no ``SWAP_HAS_CACHE``; each slot is an
  atomic long: NULL (free), shadow + count (swapped out), PFN + count (in the swap cache).  The
  orphan is still there: a PFN entry with count 0 (``swap_only_has_cache``, mm/swapfile.c:176).
  Folios enter the swap cache on allocation (``__swap_cluster_alloc_entries`` ->
  ``__swap_cache_add_folio``, :937) with count 0; unmapping raises the count
  (``folio_dup_swap``).  The model keeps era 2.6.33's encoding, whose cache-only state
  (count 0 + SWAP_HAS_CACHE) is the same state.
- slots_cache, slots_cache_free false: no mm/swap_slots.c; a slot is freed at once when its
  count and cache are gone (``__swap_cache_do_del_folio`` -> ``__swap_cluster_free_entries``,
  mm/swap_state.c:287; ``swap_put_entries_cluster`` batches only within one call).
- alloc_reclaim: ``cluster_scan_range`` reclaims count-0 cached slots with
  ``__try_to_reclaim_swap(TTRS_ANYWAY)`` only while ``vm_swap_full()`` (mm/swapfile.c:898, :852).
- alloc_full_cluster_reclaim: ``cluster_alloc_swap_entry`` calls
  ``swap_reclaim_full_clusters(si, false)`` (one full cluster) ``if (vm_swap_full())`` once the
  free and nonfull lists gave nothing (:1150).  Unlike 6.12 the cluster allocator serves
  rotational devices too (``si->global_cluster``, :1106), so this applies to the virtio disk.
- scan_trigger device_full, scan_when async, scan_what full_clusters, scan_batch 0,
  scan_lock trylock, scan_memcg_headroom false: ``swap_range_alloc`` schedules
  ``reclaim_work`` when ``swap_usage_add`` sees ``inuse == pages`` and ``vm_swap_full()``
  (:1303-1305); ``swap_reclaim_work`` -> ``swap_reclaim_full_clusters(si, true)``, to_scan =
  inuse/SWAPFILE_CLUSTER full clusters, ``__try_to_reclaim_swap(TTRS_ANYWAY)`` = folio_trylock
  (:1079, :1046, :198).  Nothing looks at memcg swap.max.
- zap_lock trylock, zap_wait_writeback false: zap_pte_range -> swap_put_entries_direct ->
  swap_put_entries_cluster -> ``__try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)`` when a
  cached slot's count drops to 0 (mm/memory.c:1769, mm/swapfile.c:1631);
  folio_swapcache_freeable refuses writeback (:2052).
- swap_full_memcg: mem_cgroup_swap_full (mm/memcontrol.c:5756).
- swapin_free swap_full: should_try_to_free_swap (mm/memory.c:4513) -- for a disk; on a
  SWP_SYNCHRONOUS_IO device (zram) it returns true always (:4527).
- sync_io_swapin swapin_sync: on a SWP_SYNCHRONOUS_IO device (zram) do_swap_page reads
  through the swap cache without readahead (``swapin_sync``, mm/memory.c:4832,
  mm/swap_state.c:677) and always tries to free the cache after mapping (:4527); 6.1's
  skip-the-swap-cache path is gone.
- anon_scan_when_full never: get_scan_count / can_reclaim_anon_pages (mm/vmscan.c:2499, :337).
- reclaim_retries 16: MAX_RECLAIM_RETRIES (mm/internal.h:617), try_charge_memcg (:2695).

- swap_allocator cluster: cluster_alloc_swap_entry, the HDD branch through
  global_cluster->next (mm/swapfile.c:1092-1183): nonfull clusters before free ones, their
  cache-only slots reclaimed once vm_swap_full() (cluster_scan_range :896-901); the
  full-cluster reclaim only after the nonfull and free lists gave nothing (:1149-1151).

Not rules of the source: scan_async_delay_s (when the kworker runs), trylock_fail_p, time
costs.  What the model leaves out (per-cpu clusters of a non-rotational device, discard,
large folios): docs/kernel-rules.md.
"""

NAME = "linux-7"
# the kernels this preset models (traces data/traces/<scenario>__<kernel>.nc)
KERNELS = ("7",)
KNOBS = {
    "slots_cache": False,
    "slots_cache_free": False,
    "alloc_full_cluster_reclaim": True,
    "scan_trigger": "device_full",
    "scan_memcg_headroom": False,
    "scan_when": "async",
    "scan_what": "full_clusters",
    "scan_lock": "trylock",
    "scan_batch": 0,
    "sync_io_swapin": "swapin_sync",
    "swap_allocator": "cluster",
}
