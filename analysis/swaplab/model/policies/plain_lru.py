"""plain-lru: the model as a plain LRU page cache (the libCacheSim comparison mode).

No readahead, the swap cache is dropped on every swap-in, no lock contention or jitter,
no slot caches: every access to a swapped page is one miss (``pgmajfault``) and eviction
takes the inactive list's tail.  Not a kernel; a baseline for speed and miss ratios.
"""

NAME = "plain-lru"
KNOBS = {
    "readahead": False,
    "swapin_free": "always",
    "trylock_fail_p": 0.0,
    "jitter": 0.0,
    "slots_cache": False,
    "slots_cache_free": False,
    "alloc_reclaim": False,
}
