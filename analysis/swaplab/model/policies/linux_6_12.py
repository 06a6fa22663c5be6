"""Linux 6.12 (Debian trixie): cluster allocator with full-cluster reclaim.

- Chris Li / Kairui Song cluster allocator with per-order nonfull/frag/full lists;
  2cacbdfdee65 "mm: swap: add a adaptive full cluster cache reclaim":
  ``swap_reclaim_full_clusters()`` on allocation when ``vm_swap_full()``, and
  ``swap_reclaim_work`` scheduled from ``swap_range_alloc`` when ``si->inuse_pages ==
  si->pages``, scanning full clusters with ``__try_to_reclaim_swap(TTRS_ANYWAY)``
  (trylock): asynchronous, cluster-based, blind to memcg swap.max.
- The per-cpu slots cache is still present (removed on the free path in 6.14, 4f79384a25d5).

Source check: not re-read here (the search tools found no 6.12 swapfile.c in time), so the
details are *unverified*: the probe's kallsyms of Debian 6.12.117 list
``swap_reclaim_full_clusters``, ``swap_reclaim_work`` and ``alloc_swap_scan_cluster``
(qemu-capture.md), so both the allocation-time reclaim (one full cluster per call, as
``force=false`` is recalled to do) and the worker (all full clusters) are modelled.  The
model's allocator is a next-fit scan, not the per-order cluster lists.

Known mismatch: Debian 6.12 OOM-killed 3/3 runs of full-device-oom (qemu-capture.md); here
the allocation-time reclaim and the worker free 1-1.3k orphans before the device is
full and the next allocation survives (with ``alloc_full_cluster_reclaim=false`` too).  A
likely reason is that 6.12 only scans clusters on its ``full_clusters`` list, while
orphan slots sit in fragmented clusters (slot-cache holes); the model has no frag list.
full-swap-oom (memcg swap.max, device not full) OOMs as measured.
"""

NAME = "linux-6.12"
KNOBS = {
    "alloc_full_cluster_reclaim": True,
    "scan_trigger": "device_full",
    "scan_memcg_headroom": False,
    "scan_when": "async",
    "scan_what": "full_clusters",
    "scan_lock": "trylock",
    "scan_batch": 0,
}
