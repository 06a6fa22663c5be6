"""hugh-scan: Hugh Dickins' 2009 proposal as a member of the scanning family, over 6.1.

Reply to Message-ID 20090521164100.5f6a0b75: "a global scan to target swapcache pages
whenever swap is approaching full (full in a real sense, not vm_swap_full's 50% sense)
... before OOMing, memcg or not".  As the probe patch in qemu-capture.md: in
``try_charge_memcg()`` after reclaim retries and before ``mem_cgroup_oom()``, when
``mem_cgroup_get_nr_swap_pages() < 32``, walk swap_map for entries ``== SWAP_HAS_CACHE``,
``folio_trylock`` + ``folio_free_swap``, retry the charge if anything was freed.
Trigger, timing, target, batch and lock mode are knobs (``scan_*``).
Hugh wrote against v1-era (memsw) kernels, but this preset is "6.1 + Hugh's scan", compared
with the patched Debian 6.1 kernel (kernels/patches/6.1/hugh-scan.patch), so its memcg
accounting stays cgroup v2 (``memcg_accounting = "v2"``, the default).
"""

NAME = "hugh-scan"
KNOBS = {
    "scan_trigger": "really_full",
    "scan_threshold_pages": 32,
    "scan_memcg_headroom": True,
    "scan_when": "sync",
    "scan_what": "swap_map",
    "scan_batch": 0,
    "scan_lock": "trylock",
    # the patch's default wait_writeback 2 (kernels/patches/6.1/hugh-scan.patch)
    "scan_wait_writeback": "if_none_freed",
}
