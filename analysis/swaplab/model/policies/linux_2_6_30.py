"""Linux 2.6.30: counted swap cache reference, no allocator reclaim, memsw era.

- swap_map ``unsigned short``; value = swap ptes + 1 while in the swap cache
  (mm/swapfile.c ``scan_swap_map`` sets 1, ``page_swapcount`` subtracts it; 2.6.30).
- ``free_swap_and_cache`` (2.6.30) acts only when ``swap_entry_free() == 1``, probes
  ``find_get_page`` + ``trylock_page`` and deletes from the swap cache if
  ``!PageWriteback && (!page_mapped || vm_swap_full())``.
- ``scan_swap_map`` (2.6.30) has no reclaim of cache-only slots.
- Swap-full tests are ``vm_swap_full()`` only (50%); no per-cpu slot caches.
- memcg is cgroup v1 ``res`` + ``memsw`` (mm/memcontrol.c, 2.6.30): ``__mem_cgroup_try_charge``
  charges both; at the memsw limit reclaim runs with ``noswap`` (``get_scan_ratio`` scans no
  anon).  A page leaving the swap cache gives up ``res`` and records its memcg on the slot
  (``mem_cgroup_uncharge_swapcache`` + ``swap_cgroup_record``); ``memsw`` goes only when the
  swap_map value reaches 0 (``swap_entry_free`` -> ``mem_cgroup_uncharge_swap``).  Readahead
  pages are not charged until a fault maps them (``read_swap_cache_async``).

Approximations: readahead follows the scenario's ``vma_readahead`` (2.6.30 only had cluster
readahead: set ``machine.vma_readahead = false`` to match); memcg reclaim retries are the
``reclaim_retries`` knob (2.6.30 ``MEM_CGROUP_RECLAIM_RETRIES`` is 5).
"""

NAME = "linux-2.6.30"
# the kernels this preset models (traces data/traces/<scenario>__<kernel>.nc)
KERNELS = ("2.6.30",)
KNOBS = {
    "era": "2.6.30",
    "wp_free_swap": True,  # do_wp_page: reuse_swap_page frees the swap (mm/memory.c)
    # no SWP_SYNCHRONOUS_IO swap-in path before 4.15 (0bcac06f27d7); zram came in 2.6.33
    "sync_io_swapin": "none",
    "slots_cache": False,
    "slots_cache_free": False,
    "alloc_reclaim": False,
    "swap_full_memcg": False,
    "memcg_accounting": "v1_memsw",
}
