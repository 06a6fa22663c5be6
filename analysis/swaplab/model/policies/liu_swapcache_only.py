"""liu-swapcache-only: Liu Shixin's unmerged 2023 patch over 6.1.

"mm: vmscan: try to reclaim swapcache pages if no swap space" (v7/v8, Nov 2023,
Message-ID 20231104140313.3418001-1-liushixin2@huawei.com): when
``can_reclaim_anon_pages()`` is false, reclaim still scans the anon LRU but isolates only
swap-cache folios.  Scanning many ordinary pages for rare swap-cache ones is its cost
(v6 caused hung tasks): see ``reclaim_scanned``.
"""

NAME = "liu-swapcache-only"
KNOBS = {"anon_scan_when_full": "swapcache_only"}
