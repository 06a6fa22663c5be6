"""hugh-scan: Hugh Dickins' 2009 proposal as a member of the scanning family, over 6.1.

Reply to Message-ID 20090521164100.5f6a0b75: "a global scan to target swapcache pages
whenever swap is approaching full (full in a real sense, not vm_swap_full's 50% sense)
... before OOMing, memcg or not".  As the patch kernels/patches/6.1/hugh-scan.patch does it:
in ``try_charge_memcg()`` after reclaim retries and before ``mem_cgroup_oom()`` (and in the
page allocator before ``__alloc_pages_may_oom()``), when ``mem_cgroup_get_nr_swap_pages() <
32`` (module parameter ``threshold``, SWAP_CLUSTER_MAX), walk swap_map for entries ``==
SWAP_HAS_CACHE``, ``folio_trylock`` + ``folio_free_swap``, retry the charge if anything was
freed.  Trigger, timing, target, batch and lock mode are knobs (``scan_*``); these are the
patch's module defaults, so this preset is what ``swaplab compare`` runs for the patched
kernels (``KERNELS``).  ``scan_when="sync"`` scans before the OOM in the model's one charge
path, i.e. before a memcg OOM and before a global OOM, like the patch's two hooks.  The model
has no ``memcg_filter`` knob: it always walks the whole swap_map (the filter only narrows the
candidates to the limiting memcg's subtree; the patched-kernel scenarios have one memcg).
The patch's ``wait_writeback=2`` ("skip folios under writeback, and wait for one when a scan
freed nothing") has no exact knob either: the closest is ``scan_lock="trylock"`` (mode 0,
skip them), since the model's charge path already throttles on pending writeback
(reclaim_throttle) before it reaches the scan, which is what mode 2's single wait buys the
kernel; ``"lock"`` (mode 1, wait on each) would overstate the wait.
Hugh wrote against v1-era (memsw) kernels, but this preset is "6.1 + Hugh's scan", compared
with the patched Debian 6.1 kernel, so its memcg accounting stays cgroup v2
(``memcg_accounting = "v2"``, the default).
"""

NAME = "hugh-scan"
# the kernels this preset models (traces data/traces/<scenario>__<kernel>.nc)
KERNELS = ("6.1+hugh-scan", "6.1+hugh-scan+debug")
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
