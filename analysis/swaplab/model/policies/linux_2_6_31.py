"""Linux 2.6.31: the SWAP_HAS_CACHE series and allocator reclaim.

- ``SWAP_HAS_CACHE 0x8000`` (355cfa73ddff), swapcache_prepare/swapcache_free
  (cb4b86ba47bb); ``free_swap_and_cache`` acts when the value is ``== SWAP_HAS_CACHE``.
- "reuse unused swap entry if necessary" (c9e444103b5e): ``scan_swap_map`` calls
  ``__try_to_reclaim_swap`` on cache-only slots while ``vm_swap_full()``; but
  ``get_swap_page`` bails out at ``nr_swap_pages <= 0``, so it never runs at 100% use.
- memcg v1 ``res`` + ``memsw`` as 2.6.30, but ``swap_entry_free`` calls
  ``mem_cgroup_uncharge_swap`` as soon as the swap count is 0, even with
  ``SWAP_HAS_CACHE`` set, and ``swapcache_free`` passes ``swapout`` (a swap count is left) to
  ``mem_cgroup_uncharge_swapcache`` (DROP uncharges memsw too; mm/swapfile.c, 2.6.31).

Approximations as for linux-2.6.30 (readahead per scenario; ``reclaim_retries`` knob).
"""

from swaplab.model.policies import linux_2_6_30

NAME = "linux-2.6.31"
# the kernels this preset models (traces data/traces/<scenario>__<kernel>.nc)
KERNELS = ("2.6.31",)
# 2.6.30's rules with the SWAP_HAS_CACHE encoding and the allocator's reclaim
KNOBS = {**linux_2_6_30.KNOBS, "era": "2.6.31", "alloc_reclaim": True}
