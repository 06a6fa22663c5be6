"""Linux 7.x (Debian sid 7.2): as 6.12 without the slots cache.

- The per-cpu swap slots cache is gone (4f79384a25d5 in 6.14 removed the free path; gone
  entirely by 6.18): slots are allocated and freed one by one.
- Full-cluster reclaim on allocation and the ``reclaim_work`` worker as in 6.12.
- Swap table phase II (d3852f9692b8 drops SWAP_HAS_CACHE; 270f095179ff adds folios to the
  swap cache on allocation; 4b34f1d82c65 frees the swap cache after mapping): *unverified*
  which of these Debian's 7.2 carries; not modelled (the swap_map encoding stays 2.6.33's).
  The measured 7.2 runs (qemu-capture.md) still leave 50-65 MB of orphans after the
  writeback race and OOM in full-swap-oom, which this preset reproduces.
"""

from swaplab.model.policies import linux_6_12

NAME = "linux-7"
# 6.12's rules, less the per-cpu slots cache (allocation and free path)
KNOBS = {**linux_6_12.KNOBS, "slots_cache": False, "slots_cache_free": False}
