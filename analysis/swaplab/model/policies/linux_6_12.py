"""Linux 6.12 (Debian trixie) on a rotational swap disk: 6.1's rules.

Verified against Debian's linux-source-6.12 6.12.117-1 (the source of the captured
6.12.117+deb13-cloud-amd64 kernel); line numbers and quotes in docs/kernel-rules.md.

6.12 has the per-order cluster allocator with full-cluster reclaim (``cluster_alloc_swap_entry``
calls ``swap_reclaim_full_clusters(si, false)`` when ``vm_swap_full()``, mm/swapfile.c:826;
``swap_range_alloc`` schedules ``reclaim_work`` when ``inuse_pages == pages``, :940-946), but
only for a swap device with ``si->cluster_info``: ``scan_swap_map_slots`` goes to
``cluster_alloc_swap`` only ``if (si->cluster_info)`` (:1114), the worker only
``if (si->cluster_info && vm_swap_full())`` (:945), and swapon allocates ``cluster_info`` only
``if (si->bdev && bdev_nonrot(si->bdev))`` (:3508-3511).  virtio-blk, the captures' swap disk,
declares ``.features = BLK_FEAT_ROTATIONAL`` (drivers/block/virtio_blk.c:1436, 6.12.117-1).  So
on every shipped scenario (``swap.device = "disk"``) Debian 6.12 runs the HDD path of
``scan_swap_map_slots``: 6.1's rules.  The traces agree: ``swap_reclaim_full_clusters`` was
probed on 6.12 (kprobes_ok) and hit 0 times in all 30 runs (data/traces/*__6.12.nc,
trace_event_counts ``srfc``).

- era 2.6.33: ``SWAP_HAS_CACHE 0x40`` -- include/linux/swap.h:229 (6.12.117-1).
- slots_cache, slots_cache_free: mm/swap_slots.c present; folio_alloc_swap through
  check_cache_active, free_swap_slot batches 64 (mm/swap_slots.c:305, :329, :272, 6.12.117-1).
- alloc_reclaim: scan_swap_map_slots ``vm_swap_full() && swap_map[offset] == SWAP_HAS_CACHE``
  -> ``__try_to_reclaim_swap(TTRS_ANYWAY | TTRS_DIRECT)`` (mm/swapfile.c:1169, 6.12.117-1);
  get_swap_pages bails at ``avail_pgs <= 0`` (:1280): the 100%-full blind spot.
- alloc_full_cluster_reclaim false, scan_trigger off: the cluster rules above are dead code on
  a rotational device (corrected from true / device_full, which came from kallsyms).
- zap_lock trylock, zap_wait_writeback false: free_swap_and_cache_nr ->
  ``__try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)``, folio_trylock,
  folio_swapcache_freeable refuses writeback (mm/swapfile.c:1892, :183, :1831, 6.12.117-1).
- swap_full_memcg: mem_cgroup_swap_full (mm/memcontrol.c:5140, 6.12.117-1).
- swapin_free swap_full: should_try_to_free_swap (mm/memory.c:3922, 6.12.117-1).
- sync_io_swapin skip_swapcache: zram swap-in at __swap_count == 1 skips the swap cache
  (mm/memory.c:4280, 6.12.117-1).
- anon_scan_when_full never: get_scan_count / can_reclaim_anon_pages (mm/vmscan.c:2405, :338).
- reclaim_retries 16: MAX_RECLAIM_RETRIES (mm/internal.h:464), try_charge_memcg (memcontrol.c:2269).

- alloc_reclaim_direct: the allocator's reclaim is TTRS_DIRECT: the freed slot bypasses the
  slots cache (swap_entry_range_free, mm/swapfile.c:231-249) and ``goto checks`` takes it at
  once (:1172-1175, 6.12.117-1).

Differences from 6.1 the knobs cannot express (docs/kernel-rules.md): on a non-rotational
device (zram) the cluster rules do apply.
"""

NAME = "linux-6.12"
# the kernels this preset models (traces data/traces/<scenario>__<kernel>.nc)
KERNELS = ("6.12",)
KNOBS = {
    "alloc_reclaim_direct": True,
    "alloc_full_cluster_reclaim": False,
    "scan_trigger": "off",
}
