"""The jitted discrete-event engine: state arrays, kernel rules, one event loop.

State is structure-of-arrays (see :class:`State`): frames (``fr[FIELD, frame]``, int32),
swap slots (``swap_map`` uint16 with the era's encoding, the swap cache index ``sframe``,
slot flags), ptes of every virtual page of every process (int32: -1 none, a frame number,
or ``SWP_BIT | slot``), per-cpu slot caches, the writeback and read I/O queues (FIFO rings
with completion times), globals ``g`` (int64) and counters ``c`` (int64).

Each kernel rule is a named function with the kernel function and version it follows.
Time is int64 nanoseconds.  One loop (:func:`advance_to`) always processes the earliest of
(writeback completion, read completion, async worker, sampler) before the workload (one or
two actors: the process, and the toucher thread of ``race_unmap``) takes its next step.
"""

# Nested ifs and explicit returns mirror the kernel code they cite:
# ruff: noqa: SIM102, SIM103, SIM109

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from swaplab.model import swapmap as sm
from swaplab.model.jit import jit

# ---- knob vector indices (order of swaplab.model.policies.KNOBS; a test checks) ----
K_ERA = 0
K_SLOTS_CACHE = 1
K_SLOTS_CACHE_FREE = 2
K_ALLOC_RECLAIM = 3
K_ALLOC_FULL_CLUSTER = 4
K_SWAP_FULL_MEMCG = 5
K_ZAP_LOCK = 6
K_ZAP_WAIT_WB = 7
K_TRYLOCK_FAIL_P = 8
K_READAHEAD = 9
K_SWAPIN_FREE = 10
K_ANON_WHEN_FULL = 11
K_RECLAIM_BATCH = 12
K_RECLAIM_RETRIES = 13
K_SCAN_TRIGGER = 14
K_SCAN_THRESHOLD = 15
K_SCAN_MEMCG = 16
K_SCAN_WHEN = 17
K_SCAN_DELAY = 18
K_SCAN_WHAT = 19
K_SCAN_BATCH = 20
K_SCAN_LOCK = 21
K_SCAN_SLOT_NS = 22
K_CPU_FAULT = 23
K_CPU_WRITE = 24
K_CPU_SWAPFAULT = 25
K_CPU_PAGEOUT = 26
K_CPU_SCAN = 27
K_CPU_ZAP = 28
K_IO_LAT_US = 29
K_FAST_WRITE = 30
K_FAST_READ = 31
K_JITTER = 32
K_RESERVED_MIB = 33
K_SAMPLE_S = 34
K_CHECK = 35
K_MAX_SIM_S = 36
K_IO_BURST_S = 37
K_MEMCG_ACCOUNTING = 38
K_PHASE_PAUSE_S = 39
K_CPU_MUNMAP = 40
K_PROC_CHARGE = 41
K_IO_JITTER = 42
K_IO_REORDER = 43
K_SCHED_JITTER_US = 44
K_PHASE_SPEED_JITTER = 45
K_SCAN_WAIT_WB = 46
K_ALLOC_RECLAIM_DIRECT = 47
K_WP_FREE_SWAP = 48
K_SYNC_IO_SWAPIN = 49
K_ZRAM_NS = 50
K_SWAP_ALLOCATOR = 51
N_KNOBS = 52
K_SPEED = N_KNOBS  # not a knob: the current op row's speed factor (phase_speed_jitter)
KNOB_ORDER = (
    "era", "slots_cache", "slots_cache_free", "alloc_reclaim", "alloc_full_cluster_reclaim",
    "swap_full_memcg", "zap_lock", "zap_wait_writeback", "trylock_fail_p", "readahead",
    "swapin_free", "anon_scan_when_full", "reclaim_batch", "reclaim_retries", "scan_trigger",
    "scan_threshold_pages", "scan_memcg_headroom", "scan_when", "scan_async_delay_s",
    "scan_what", "scan_batch", "scan_lock", "scan_slot_ns", "cpu_fault_ns", "cpu_write_ns",
    "cpu_swapfault_ns", "cpu_pageout_ns", "cpu_scan_ns", "cpu_zap_ns", "io_latency_us",
    "fast_write_mib_s", "fast_read_mib_s", "jitter", "kernel_reserved_mib",
    "sample_interval_s", "check_invariants", "max_sim_s", "io_burst_s", "memcg_accounting",
    "phase_pause_s", "cpu_munmap_ns", "proc_charge_pages", "io_jitter", "io_reorder",
    "sched_jitter_us", "phase_speed_jitter", "scan_wait_writeback", "alloc_reclaim_direct",
    "wp_free_swap", "sync_io_swapin", "zram_page_ns", "swap_allocator",
)  # the K_* indices above, by name
VAR_ORDER = (
    "swap_total", "swap_used", "swap_cached", "swap_orphans", "memcg_current",
    "memcg_swap_current", "memcg_anon", "memcg_swapcached", "pswpin", "pswpout", "swap_ra",
    "swap_ra_hit", "pgmajfault", "memcg_max_events", "memcg_oom", "memcg_oom_kill",
    "oom_kill", "trylock_fail", "writeback_skip", "reclaim_scanned", "policy_scan_slots",
    "policy_freed", "lock_wait_us",
)  # the V_* indices below, by name

# choice codes: a choice knob's value is its index in the knob's choices= tuple
# (swaplab.model.policies.Knob.encode); CHOICE_CODES ties each code to its choice (a test checks)
LOCK_TRYLOCK, LOCK_SLEEP = 0, 1  # zap_lock, scan_lock: trylock_page / lock_page
SWAPIN_FREE_SWAP_FULL, SWAPIN_FREE_ALWAYS = 0, 1
ANON_FULL_NEVER, ANON_FULL_SWAPCACHE_ONLY = 0, 1
TRIG_OFF, TRIG_REALLY_FULL, TRIG_HALF, TRIG_DEVICE_FULL = 0, 1, 2, 3
WHEN_SYNC, WHEN_ASYNC = 0, 1
WHAT_SWAP_MAP, WHAT_FULL_CLUSTERS, WHAT_LRU = 0, 1, 2
ACCT_V2, ACCT_V1_MEMSW = 0, 1
SWB_NEVER, SWB_EACH, SWB_IF_NONE = 0, 1, 2  # scan_wait_writeback
SYNC_SWAPIN_NONE, SYNC_SWAPIN_SKIP_CACHE, SYNC_SWAPIN_SYNC = 0, 1, 2  # sync_io_swapin
ALLOC_SCAN_SWAP_MAP, ALLOC_CLUSTER = 0, 1  # swap_allocator
CHOICE_CODES = {
    "era": {"2.6.30": sm.ERA_2630, "2.6.31": sm.ERA_2631, "2.6.33": sm.ERA_2633},
    "zap_lock": {"trylock": LOCK_TRYLOCK, "lock": LOCK_SLEEP},
    "swapin_free": {"swap_full": SWAPIN_FREE_SWAP_FULL, "always": SWAPIN_FREE_ALWAYS},
    "anon_scan_when_full": {"never": ANON_FULL_NEVER,
                            "swapcache_only": ANON_FULL_SWAPCACHE_ONLY},
    "scan_trigger": {"off": TRIG_OFF, "really_full": TRIG_REALLY_FULL, "half_full": TRIG_HALF,
                     "device_full": TRIG_DEVICE_FULL},
    "scan_when": {"sync": WHEN_SYNC, "async": WHEN_ASYNC},
    "scan_what": {"swap_map": WHAT_SWAP_MAP, "full_clusters": WHAT_FULL_CLUSTERS,
                  "lru_swapcache": WHAT_LRU},
    "scan_lock": {"trylock": LOCK_TRYLOCK, "lock": LOCK_SLEEP},
    "memcg_accounting": {"v2": ACCT_V2, "v1_memsw": ACCT_V1_MEMSW},
    "scan_wait_writeback": {"never": SWB_NEVER, "each": SWB_EACH, "if_none_freed": SWB_IF_NONE},
    "sync_io_swapin": {"none": SYNC_SWAPIN_NONE, "skip_swapcache": SYNC_SWAPIN_SKIP_CACHE,
                       "swapin_sync": SYNC_SWAPIN_SYNC},
    "swap_allocator": {"scan_swap_map": ALLOC_SCAN_SWAP_MAP, "cluster": ALLOC_CLUSTER},
}  # knob -> {choice: code}
# which memcg counter a new page would push over its limit (res_counter_charge fail_res)
LIM_NONE, LIM_RES, LIM_MEMSW = 0, 1, 2

# ---- output variables (order of swaplab.schema.VARIABLES; a test checks) ----
V_SWAP_TOTAL = 0
V_SWAP_USED = 1
V_SWAP_CACHED = 2
V_SWAP_ORPHANS = 3
V_MEMCG_CURRENT = 4
V_MEMCG_SWAP_CURRENT = 5
V_MEMCG_ANON = 6
V_MEMCG_SWAPCACHED = 7
V_PSWPIN = 8
V_PSWPOUT = 9
V_SWAP_RA = 10
V_SWAP_RA_HIT = 11
V_PGMAJFAULT = 12
V_MEMCG_MAX_EVENTS = 13
V_MEMCG_OOM = 14
V_MEMCG_OOM_KILL = 15
V_OOM_KILL = 16
V_TRYLOCK_FAIL = 17
V_WRITEBACK_SKIP = 18
V_RECLAIM_SCANNED = 19
V_POLICY_SCAN_SLOTS = 20
V_POLICY_FREED = 21
V_LOCK_WAIT_US = 22
N_VARS = 23
# extra counters (not output variables)
C_EVENTS = 23
C_LOCK_WAIT_NS = 24
C_MEMSW_OOM = 25  # v1: OOMs at the memsw limit (mem_over_limit from the memsw res_counter)
N_COUNTERS = 26

# ---- frame fields ----
FR_FLAGS = 0
FR_SLOT = 1
FR_VPAGE = 2
FR_MAPCOUNT = 3
FR_PREV = 4
FR_NEXT = 5
FR_LIST = 6  # -1 none, 0 inactive anon LRU, 1 active anon LRU, 2 free list
FR_IOSEQ = 7  # sequence number of its pending I/O in the writeback or read ring
N_FR = 8

# page flags (names as the kernel's PG_* bits)
PG_USED = 1
PG_SWAPCACHE = 2
PG_WRITEBACK = 4
PG_DIRTY = 8
PG_LOCKED = 16  # locked for read I/O (swap-in/readahead in flight)
PG_RECLAIM = 32
PG_READAHEAD = 64
PCG_USED = 128  # v1: PageCgroupUsed, the page is charged to res+memsw (page_cgroup.h, 2.6.30)

# slot flags
SL_CHARGED = 1  # memory.swap charged (__mem_cgroup_try_charge_swap)
SL_CACHEREF = 2  # the swap cache holds a reference (needed to decode the 2.6.30 value)
SL_PINNED = 4  # in a per-cpu slots cache: SWAP_HAS_CACHE with no folio (6.1)
SL_RECORD = 8  # v1: swap_cgroup_record() holds the memcg: memsw charged to the slot (2.6.30)
SLM_CACHEREF = 0xFF ^ SL_CACHEREF  # masks to clear a flag (uint8-safe)
SLM_PINNED = 0xFF ^ SL_PINNED
SLM_RECORD = 0xFF ^ SL_RECORD

SWP_BIT = 1 << 30
PTE_NONE = -1
LRU_INACTIVE = 0
LRU_ACTIVE = 1
LIST_FREE = 2
# SWAPFILE_CLUSTER: HPAGE_PMD_NR (512) with CONFIG_THP_SWAP=y, as Debian builds 6.1, 6.12 and
# 7.2 (6.1.192 mm/swapfile.c:270-271); 256 without it (:275) and before THP swap (2.6.30/31)
SWAPFILE_CLUSTER_THP = 512
SWAPFILE_CLUSTER_OLD = 256
LATENCY_LIMIT = 256  # scan_swap_map_slots' slot budget between breaks (mm/swapfile.c:283)
SWAP_SLOTS_CACHE_SIZE = 64  # include/linux/swap_slots.h, 6.1 (SWAP_BATCH)
INF = np.int64(1) << np.int64(62)
UNLIMITED_PAGES = 1 << 40  # a "max" memcg limit in pages (swaplab.model.workload.UNLIMITED)

# ---- globals g[] ----
G_T = 0  # clock of the main actor (ns)
G_NFRAMES = 1
G_NSLOTS = 2
G_NVPAGES = 3
G_FREE_HEAD = 4
G_NR_FREE_FRAMES = 5
G_LRU_HEAD0 = 6
G_LRU_TAIL0 = 7
G_LRU_HEAD1 = 8
G_LRU_TAIL1 = 9
G_LRU_N0 = 10
G_LRU_N1 = 11
G_MEM_CUR = 12
G_MEM_MAX = 13
G_SWAP_CUR = 14
G_SWAP_MAX = 15
G_SWAP_HIGH = 16
G_NR_SWAP_FREE = 17  # nr_swap_pages: swap_map == 0
G_CURSOR = 18  # si->cluster_next
G_WB_HEAD = 19
G_WB_TAIL = 20
G_RD_HEAD = 21
G_RD_TAIL = 22
G_WDEV_T = 23
G_RDEV_T = 24
G_WPAGE_NS = 25
G_RPAGE_NS = 26
G_ACACHE_N = 27
G_FCACHE_N = 28
G_CACHE_ACTIVE = 29
G_VCPUS = 30
G_NR_SWAPCACHE = 31
G_NR_MAPPED = 32
G_KILLED = 33
G_PROC_LO = 34
G_PROC_HI = 35
G_CHILD_LO = 36
G_CHILD_HI = 37
G_CHILD_DELTA = 38
G_RA_HITS = 39
G_RA_PREV_WIN = 40
G_RA_PREV_V = 41
G_RA_PREV_OFF = 42
G_PAGE_CLUSTER = 43
G_VMA_RA = 44
G_WORKER_T = 45  # time of the pending async scan worker, INF if none
G_NSAMPLES = 46
G_SAMPLE_CAP = 47
G_SAMPLE_OVERFLOW = 48
G_DT_NS = 49
G_INV_FAIL = 50
G_NCLUSTERS = 51
G_STOPPED = 52
G_SCAN_CURSOR = 53
G_REGION_LO = 54  # the VMA of the current fault (for VMA readahead)
G_REGION_HI = 55
G_FULLCL_CURSOR = 56
G_WBURST_NS = 57  # throttled disk: leaky-bucket burst (0 when unthrottled)
G_RBURST_NS = 58
G_WFAST_NS = 59  # time of one admitted page on the disk behind the throttle
G_RFAST_NS = 60
G_MEMSW_CUR = 61  # v1: memory.memsw.usage_in_bytes (pages); G_MEM_CUR is res then
G_MEMSW_MAX = 62  # v1: memory.memsw.limit_in_bytes = memory_max + swap_max
G_WB_SEEN = 63  # pages under writeback the last shrink_lruvec met (sc->nr.writeback)
G_PROC_CHARGED = 64  # the running process's unreclaimable charge (proc_charge_pages)
G_LOWEST_BIT = 65  # si->lowest_bit: no free slot below it
G_HIGHEST_BIT = 66  # si->highest_bit: no free slot above it; 0 when the device is full
G_CLUSTER_NR = 67  # si->cluster_nr: slots left to allocate sequentially (HDD path)
G_CLUSTER = 68  # SWAPFILE_CLUSTER of the era
G_SWAP_RESERVED = 69  # slots get_swap_pages took off nr_swap_pages but has not allocated yet
G_SWAPPINESS0 = 70  # vm.swappiness == 0: cgroup reclaim scans no anon (get_scan_count)
G_SCAN_WAITED = 71  # the last sync scan freed nothing and waited for a writeback
G_FREE_DIRECT = 72  # frees bypass the per-cpu free batch (TTRS_DIRECT in progress)
G_SYNC_IO = 73  # the swap device is SWP_SYNCHRONOUS_IO (zram: BLK_FEAT_SYNCHRONOUS)
G_WORKER_ARMED = 74  # an allocation filled the device: schedule_work(&si->reclaim_work) due
G_CLL_HEAD = 75  # cluster lists (7.2 allocator): heads of free, nonfull, frag, full (75-78)
G_CLL_TAIL = 79  # and their tails (79-82)
G_GLOBAL_NEXT = 83  # si->global_cluster->next[0]: next slot of the HDD allocator, 0 = none
N_G = 84

# cluster lists of the 7.2 allocator: swap_cluster_info.flags (CLUSTER_FLAG_*, 7.2.13
# include/linux/swap.h); list i holds the clusters with flag i + 1
CL_NONE, CL_FREE, CL_NONFULL, CL_FRAG, CL_FULL = 0, 1, 2, 3, 4
CLL_NEXT, CLL_PREV, CLL_FLAG = 0, 1, 2

# results of shrink_folio
KEPT = 0
FREED = 1


class State(NamedTuple):
    """All model state, as arrays with fixed dtypes."""

    fr: np.ndarray  # int32 [N_FR, nframes]
    swap_map: np.ndarray  # uint16 [nslots]
    scont: np.ndarray  # uint16 [nslots] continuation counts (2.6.33+)
    sframe: np.ndarray  # int32 [nslots] swap cache: frame holding the slot, -1 none
    sflags: np.ndarray  # uint8 [nslots]
    clfree: np.ndarray  # int32 [nclusters] free slots per cluster
    cll: np.ndarray  # int32 [3, nclusters] cluster list links and flag (7.2 allocator)
    pte: np.ndarray  # int32 [nvpages]
    g: np.ndarray  # int64 [N_G]
    c: np.ndarray  # int64 [N_COUNTERS]
    k: np.ndarray  # float64 [N_KNOBS]
    wbq_f: np.ndarray  # int32 ring of frames under writeback
    wbq_t: np.ndarray  # int64 ring of completion times
    rdq_f: np.ndarray  # int32 ring of frames being read
    rdq_t: np.ndarray  # int64
    acache: np.ndarray  # int32 [64] per-cpu slots cache, allocation side
    fcache: np.ndarray  # int32 [64] per-cpu slots cache, free side
    rng: np.ndarray  # uint64 [1] splitmix64 state
    perm: np.ndarray  # int32 scratch for random page orders
    samples: np.ndarray  # float64 [cap, N_VARS]
    snaps: np.ndarray  # float64 [nlabels, N_VARS]
    snap_t: np.ndarray  # float64 [nlabels]


def state_nbytes(st: State) -> int:
    """Bytes of model state (excluding output buffers and scratch)."""
    skip = {"samples", "snaps", "snap_t", "perm"}
    return int(sum(a.nbytes for name, a in zip(st._fields, st, strict=True) if name not in skip))


# =============================================================================================
# random stream (splitmix64; identical on every platform)
# =============================================================================================


@jit
def rng_next(rng):
    """Next 64 random bits (splitmix64)."""
    rng[0] += np.uint64(0x9E3779B97F4A7C15)
    z = rng[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def rng_uniform(rng):
    """Uniform float in [0, 1) from 53 random bits."""
    return float(rng_next(rng) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def cost(st, base_ns):
    """A CPU cost at the current op row's speed, with the jitter knob applied (ns)."""
    j = st.k[K_JITTER]
    b = base_ns * st.k[K_SPEED]
    if j > 0.0 and b > 0.0:
        return np.int64(b * (1.0 + j * (2.0 * rng_uniform(st.rng) - 1.0)))
    return np.int64(b)


@jit
def sched_delay(st):
    """A racing thread's random wait before its next step: U(0, sched_jitter_us) (ns).
    No draw when the knob is 0."""
    j = st.k[K_SCHED_JITTER_US]
    if j > 0.0:
        return np.int64(j * 1000.0 * rng_uniform(st.rng))
    return np.int64(0)


# =============================================================================================
# LRU lists and frames
# =============================================================================================


@jit
def lru_del(st, f):
    """Take a frame off its LRU list (list_del)."""
    fr = st.fr
    g = st.g
    lst = fr[FR_LIST, f]
    if lst != LRU_INACTIVE and lst != LRU_ACTIVE:
        return
    hi = G_LRU_HEAD0 + 2 * lst
    ti = hi + 1
    p = fr[FR_PREV, f]
    n = fr[FR_NEXT, f]
    if p >= 0:
        fr[FR_NEXT, p] = n
    else:
        g[hi] = n
    if n >= 0:
        fr[FR_PREV, n] = p
    else:
        g[ti] = p
    fr[FR_LIST, f] = -1
    fr[FR_PREV, f] = -1
    fr[FR_NEXT, f] = -1
    g[G_LRU_N0 + lst] -= 1


@jit
def lru_link(st, f, lst, tail):
    """Link a frame in at one end of an LRU list: the head (most recent) or the tail
    (reclaimed next).  The list is g[head], g[head + 1] = its two ends; FR_PREV points
    towards the head, FR_NEXT towards the tail."""
    lru_del(st, f)
    fr = st.fr
    g = st.g
    hi = G_LRU_HEAD0 + 2 * lst
    end, other = (hi + 1, hi) if tail else (hi, hi + 1)
    inward, outward = (FR_PREV, FR_NEXT) if tail else (FR_NEXT, FR_PREV)
    n = g[end]
    fr[outward, f] = -1
    fr[inward, f] = n
    if n >= 0:
        fr[outward, n] = f
    else:
        g[other] = f
    g[end] = f
    fr[FR_LIST, f] = lst
    g[G_LRU_N0 + lst] += 1


@jit
def lru_add_head(st, f, lst):
    """Add a frame at the head (most recent end) of an LRU list (lruvec_add_folio)."""
    lru_link(st, f, lst, False)


@jit
def lru_add_tail(st, f, lst):
    """Add a frame at the tail (reclaimed next) of an LRU list (lruvec_add_folio_tail)."""
    lru_link(st, f, lst, True)


@jit
def frame_get(st):
    """Pop a free frame, or -1 (the buddy allocator; no watermarks)."""
    g = st.g
    f = g[G_FREE_HEAD]
    if f < 0:
        return -1
    g[G_FREE_HEAD] = st.fr[FR_NEXT, f]
    g[G_NR_FREE_FRAMES] -= 1
    fr = st.fr
    fr[FR_NEXT, f] = -1
    fr[FR_LIST, f] = -1
    fr[FR_FLAGS, f] = PG_USED
    fr[FR_SLOT, f] = -1
    fr[FR_VPAGE, f] = -1
    fr[FR_MAPCOUNT, f] = 0
    if not memcg_v1(st):
        st.g[G_MEM_CUR] += 1  # charged to the memcg (every process runs in it)
    return f


@jit
def frame_free(st, f):
    """Free a frame: off the LRU, uncharge memory.current (mem_cgroup_uncharge), buddy."""
    lru_del(st, f)
    fr = st.fr
    g = st.g
    if memcg_v1(st):
        mem_cgroup_uncharge_page(st, f)
    else:
        g[G_MEM_CUR] -= 1
    fr[FR_FLAGS, f] = 0
    fr[FR_SLOT, f] = -1
    fr[FR_VPAGE, f] = -1
    fr[FR_MAPCOUNT, f] = 0
    fr[FR_LIST, f] = LIST_FREE
    fr[FR_NEXT, f] = g[G_FREE_HEAD]
    g[G_FREE_HEAD] = f
    g[G_NR_FREE_FRAMES] += 1


# =============================================================================================
# cgroup v1 memory + memsw accounting (memcg_accounting = "v1_memsw"; 2.6.30 memcontrol.c)
# =============================================================================================


@jit
def memcg_v1(st):
    """Whether the memcg counts cgroup v1 res + memsw (else v2 memory + swap)."""
    return st.k[K_MEMCG_ACCOUNTING] == ACCT_V1_MEMSW


@jit
def memsw_limit(mem_max, swap_max):
    """v1 memory.memsw.limit_in_bytes for the scenario's limits (pages): memory.max plus the
    swap.max headroom; unlimited if either is "max"."""
    if mem_max >= UNLIMITED_PAGES or swap_max >= UNLIMITED_PAGES:
        return UNLIMITED_PAGES
    return mem_max + swap_max


@jit
def memcg_limit_hit(st):
    """Which counter one more page would overflow: LIM_RES (v2 memory.max, v1 res), LIM_MEMSW
    (v1 memsw, tried after res: __mem_cgroup_try_charge, 2.6.30) or LIM_NONE."""
    g = st.g
    if g[G_MEM_CUR] + 1 > g[G_MEM_MAX]:
        return LIM_RES
    if memcg_v1(st) and g[G_MEMSW_CUR] + 1 > g[G_MEMSW_MAX]:
        return LIM_MEMSW
    return LIM_NONE


@jit
def memcg_reclaim_may_swap(st, hit):
    """Whether reclaim for limit ``hit`` may swap: not at the v1 memsw limit (noswap, 2.6.30
    __mem_cgroup_try_charge), nor at res when the memsw limit equals it (2.6.31
    mem_cgroup_hierarchical_reclaim: memsw_is_minimum, "swap-out is of-no-use")."""
    if hit == LIM_MEMSW:
        return False
    if hit == LIM_RES and memcg_v1(st) and np.int64(st.k[K_ERA]) != sm.ERA_2630:
        g = st.g
        return not (g[G_MEMSW_MAX] == g[G_MEM_MAX] and g[G_MEM_MAX] < UNLIMITED_PAGES)
    return True


@jit
def mem_cgroup_charge(st, f):
    """v1 res_counter_charge of res and memsw, committed to page f: PageCgroupUsed
    (__mem_cgroup_try_charge + __mem_cgroup_commit_charge, 2.6.30)."""
    st.g[G_MEM_CUR] += 1
    st.g[G_MEMSW_CUR] += 1
    st.fr[FR_FLAGS, f] |= PCG_USED


@jit
def mem_cgroup_uncharge_page(st, f):
    """v1 __mem_cgroup_uncharge_common(MAPPED): a charged page that is not in the swap cache
    is freed: res and memsw -1 (page_remove_rmap -> mem_cgroup_uncharge_page, 2.6.30)."""
    if st.fr[FR_FLAGS, f] & PCG_USED:
        st.fr[FR_FLAGS, f] &= ~PCG_USED
        st.g[G_MEM_CUR] -= 1
        st.g[G_MEMSW_CUR] -= 1


@jit
def mem_cgroup_uncharge_swapcache(st, f, s, swapout):
    """v1 mem_cgroup_uncharge_swapcache() after the page left the swap cache: a charged,
    unmapped page loses res; SWAPOUT records its memcg on the slot (swap_cgroup_record), so
    memsw stays charged; DROP (2.6.31, no swap count left) uncharges memsw too (2.6.30
    __mem_cgroup_uncharge_common; 2.6.31 swapcache_free)."""
    fr = st.fr
    if not (fr[FR_FLAGS, f] & PCG_USED) or fr[FR_MAPCOUNT, f] > 0:
        return
    fr[FR_FLAGS, f] &= ~PCG_USED
    st.g[G_MEM_CUR] -= 1
    if swapout:
        st.sflags[s] |= SL_RECORD
    else:
        st.g[G_MEMSW_CUR] -= 1


@jit
def mem_cgroup_uncharge_swap(st, s):
    """v1 mem_cgroup_uncharge_swap(): clear the slot's swap_cgroup record, memsw -1 (2.6.30
    memcontrol.c; also the record drop of __mem_cgroup_commit_charge_swapin)."""
    if st.sflags[s] & SL_RECORD:
        st.sflags[s] &= SLM_RECORD
        st.g[G_MEMSW_CUR] -= 1


# =============================================================================================
# swap_map: counts and flags through the era's encoding
# =============================================================================================


@jit
def slot_count(st, s):
    """swap_count() of a slot (number of swap ptes)."""
    return sm.swap_count(np.int64(st.swap_map[s]), np.int64(st.scont[s]),
                         (st.sflags[s] & SL_CACHEREF) != 0, np.int64(st.k[K_ERA]))


@jit
def slot_has_cache(st, s):
    """Whether the slot's value carries the swap cache reference."""
    return sm.has_cache(np.int64(st.swap_map[s]), (st.sflags[s] & SL_CACHEREF) != 0,
                        np.int64(st.k[K_ERA]))


@jit
def slot_set(st, s, count, cache):
    """Store count and cache flag in the era's encoding."""
    v, cont = sm.encode(count, cache, np.int64(st.k[K_ERA]))
    st.swap_map[s] = v
    st.scont[s] = cont
    if cache:
        st.sflags[s] |= SL_CACHEREF
    else:
        st.sflags[s] &= SLM_CACHEREF


@jit
def swap_pages(st):
    """si->pages = total_swap_pages: every slot but the header, slot 0 (SWAP_MAP_BAD,
    6.1.192 mm/swapfile.c:2953)."""
    return st.g[G_NSLOTS] - 1


@jit
def nr_swap_pages(st):
    """nr_swap_pages: free slots, less those get_swap_pages reserved for the scan it runs
    (atomic_long_sub before scan_swap_map_slots, 6.1.192 mm/swapfile.c:1069)."""
    return st.g[G_NR_SWAP_FREE] - st.g[G_SWAP_RESERVED]


@jit
def vm_swap_full(st):
    """vm_swap_full(): nr_swap_pages * 2 < total_swap_pages (include/linux/swap.h:491,
    6.1.192; 2.6.30 .. 7.2)."""
    return nr_swap_pages(st) * 2 < swap_pages(st)


@jit
def memcg_nr_swap_pages(st):
    """mem_cgroup_get_nr_swap_pages(): min(free swap, swap.max - swap.current) (6.1).
    v1 has no swap limit: free swap (2.6.30 get_scan_ratio tests nr_swap_pages)."""
    g = st.g
    if memcg_v1(st):
        return g[G_NR_SWAP_FREE]
    room = g[G_SWAP_MAX] - g[G_SWAP_CUR]
    if room < 0:
        room = 0
    free = g[G_NR_SWAP_FREE]
    return room if room < free else free


@jit
def mem_cgroup_swap_full(st):
    """mem_cgroup_swap_full(): vm_swap_full() or swap.current*2 >= swap.max or >= swap.high
    (mm/memcontrol.c, 6.1.192 :7540: ``usage * 2`` against both limits)."""
    if vm_swap_full(st):
        return True
    if st.k[K_SWAP_FULL_MEMCG] == 0.0 or memcg_v1(st):
        return False
    g = st.g
    return g[G_SWAP_CUR] * 2 >= g[G_SWAP_MAX] or g[G_SWAP_CUR] * 2 >= g[G_SWAP_HIGH]


@jit
def swap_entry_free(st, s):
    """swap_entry_free(): the slot becomes free; mem_cgroup_uncharge_swap (6.1 swapfile.c)."""
    g = st.g
    st.swap_map[s] = 0
    st.scont[s] = 0
    if st.sflags[s] & SL_CHARGED:
        g[G_SWAP_CUR] -= 1
    mem_cgroup_uncharge_swap(st, s)  # v1: the slot's record (2.6.30 swap_entry_free)
    st.sflags[s] = 0
    g[G_NR_SWAP_FREE] += 1
    st.clfree[s // g[G_CLUSTER]] += 1
    if st.k[K_SWAP_ALLOCATOR] == ALLOC_CLUSTER:
        cluster_freed_slot(st, s // g[G_CLUSTER])
    # swap_range_free (6.1.192 mm/swapfile.c:730-738)
    if s < g[G_LOWEST_BIT]:
        g[G_LOWEST_BIT] = s
    if s > g[G_HIGHEST_BIT]:
        g[G_HIGHEST_BIT] = s


@jit
def swapcache_free_entries(st):
    """swapcache_free_entries(): flush the per-cpu free cache (mm/swapfile.c, 6.1)."""
    n = st.g[G_FCACHE_N]
    for i in range(n):
        swap_entry_free(st, st.fcache[i])
    st.g[G_FCACHE_N] = 0


@jit
def free_swap_slot(st, s):
    """free_swap_slot(): batch frees of 64 per cpu while the cache is active (6.1.192
    mm/swap_slots.c:272-300; the batch is flushed when a 65th free arrives).

    The slot keeps SWAP_HAS_CACHE with no folio until the batch is flushed.
    """
    g = st.g
    if st.k[K_SLOTS_CACHE] != 0.0 and st.k[K_SLOTS_CACHE_FREE] != 0.0 and \
            g[G_CACHE_ACTIVE] and not g[G_FREE_DIRECT]:
        slot_set(st, s, 0, True)
        st.sflags[s] |= SL_PINNED  # keeps SL_CACHEREF: 2.6.30 decodes it as count 0
        if g[G_FCACHE_N] >= SWAP_SLOTS_CACHE_SIZE:
            swapcache_free_entries(st)  # a full batch is flushed before adding (:284)
        st.fcache[g[G_FCACHE_N]] = s
        g[G_FCACHE_N] += 1
    else:
        swap_entry_free(st, s)


@jit
def swap_drop_cache_ref(st, s):
    """put_swap_folio()/swapcache_free(): drop the swap cache's reference on a slot."""
    count = slot_count(st, s)
    if count == 0:
        free_swap_slot(st, s)
    else:
        slot_set(st, s, count, False)


@jit
def swap_free(st, s):
    """swap_free() / __swap_entry_free(): drop one swap pte reference (6.1 swapfile.c)."""
    count = slot_count(st, s) - 1
    cache = slot_has_cache(st, s)
    if count == 0 and not cache:
        free_swap_slot(st, s)
    else:
        slot_set(st, s, count, cache)
        if count == 0 and memcg_v1(st) and np.int64(st.k[K_ERA]) != sm.ERA_2630:
            # 2.6.31 swap_entry_free: !swap_count(count) -> mem_cgroup_uncharge_swap,
            # even with SWAP_HAS_CACHE still set
            mem_cgroup_uncharge_swap(st, s)


@jit
def swap_duplicate(st, s):
    """swap_duplicate(): one more swap pte (fork, try_to_unmap_one); continuation past MAX."""
    slot_set(st, s, slot_count(st, s) + 1, slot_has_cache(st, s))


# =============================================================================================
# swap cache
# =============================================================================================


@jit
def add_to_swap_cache(st, f, s):
    """add_to_swap_cache(): the frame becomes the swap cache page of slot s."""
    st.sframe[s] = f
    st.fr[FR_SLOT, f] = s
    st.fr[FR_FLAGS, f] |= PG_SWAPCACHE
    st.g[G_NR_SWAPCACHE] += 1


@jit
def delete_from_swap_cache(st, f):
    """delete_from_swap_cache(): unlink frame and slot, then put_swap_folio (6.1 swap_state.c)."""
    s = st.fr[FR_SLOT, f]
    st.sframe[s] = -1
    st.fr[FR_SLOT, f] = -1
    st.fr[FR_FLAGS, f] &= ~PG_SWAPCACHE
    st.g[G_NR_SWAPCACHE] -= 1
    if memcg_v1(st):
        swapcache_free_memsw(st, f, s)
    else:
        swap_drop_cache_ref(st, s)


@jit
def swapcache_free_memsw(st, f, s):
    """v1: drop the swap cache's reference on slot s with memsw accounting, in the era's
    order.  2.6.30 delete_from_swap_cache / __remove_mapping: mem_cgroup_uncharge_swapcache
    (SWAPOUT: record), then swap_free (the record goes with the slot).  2.6.31
    swapcache_free: swap_entry_free(SWAP_CACHE) (mem_cgroup_uncharge_swap if no swap count
    is left), then mem_cgroup_uncharge_swapcache(swapout = swap count left)."""
    if np.int64(st.k[K_ERA]) == sm.ERA_2630:
        mem_cgroup_uncharge_swapcache(st, f, s, True)
        swap_drop_cache_ref(st, s)
        return
    swapout = slot_count(st, s) != 0
    if not swapout:
        mem_cgroup_uncharge_swap(st, s)
    swap_drop_cache_ref(st, s)
    mem_cgroup_uncharge_swapcache(st, f, s, swapout)


@jit
def trylock_page(st, f):
    """trylock_page()/folio_trylock(): fails while read I/O holds the lock, or by contention."""
    if st.fr[FR_FLAGS, f] & PG_LOCKED:
        return False
    p = st.k[K_TRYLOCK_FAIL_P]
    if p > 0.0 and rng_uniform(st.rng) < p:
        return False
    return True


@jit
def folio_free_swap(st, f, put):
    """folio_free_swap() (try_to_free_swap before 6.1): in swap cache, not under writeback,
    swap count 0 -> delete from the swap cache.  With ``put`` and no mapping left, the last
    reference goes and the frame is freed.  Returns True if freed from the cache.
    """
    flags = st.fr[FR_FLAGS, f]
    if not (flags & PG_SWAPCACHE):
        return False
    if flags & PG_WRITEBACK:
        return False
    s = st.fr[FR_SLOT, f]
    if slot_count(st, s) != 0:
        return False
    delete_from_swap_cache(st, f)
    st.fr[FR_FLAGS, f] |= PG_DIRTY  # folio_set_dirty: the swap copy is gone
    if put and st.fr[FR_MAPCOUNT, f] == 0:
        frame_free(st, f)
    return True


@jit
def try_to_reclaim_swap(st, s, anyway, unmapped, full):
    """__try_to_reclaim_swap(si, offset, TTRS_*) (mm/swapfile.c, 6.1): 1 if the slot's
    cache page was freed, 0 otherwise."""
    f = st.sframe[s]
    if f < 0:
        return 0
    if not trylock_page(st, f):
        st.c[V_TRYLOCK_FAIL] += 1
        return 0
    ok = anyway or (unmapped and st.fr[FR_MAPCOUNT, f] == 0) or (full and
                                                                 mem_cgroup_swap_full(st))
    if not ok:
        return 0
    if st.fr[FR_FLAGS, f] & PG_WRITEBACK:
        st.c[V_WRITEBACK_SKIP] += 1
        return 0
    return 1 if folio_free_swap(st, f, True) else 0


# =============================================================================================
# slot allocation
# =============================================================================================


@jit
def take_slot(st, s):
    """Mark slot s allocated with the cache reference: scan_swap_map_slots stores usage
    (SWAP_HAS_CACHE), then swap_range_alloc (6.1.192 mm/swapfile.c:917, :694-709)."""
    g = st.g
    slot_set(st, s, 0, True)
    g[G_NR_SWAP_FREE] -= 1
    if g[G_SWAP_RESERVED] > 0:
        g[G_SWAP_RESERVED] -= 1  # was already off nr_swap_pages (get_swap_pages)
    st.clfree[s // g[G_CLUSTER]] -= 1
    if s == g[G_LOWEST_BIT]:
        g[G_LOWEST_BIT] += 1
    if s == g[G_HIGHEST_BIT]:
        g[G_HIGHEST_BIT] -= 1
    if g[G_NR_SWAP_FREE] == 0:  # inuse_pages == pages: del_from_avail_list
        g[G_LOWEST_BIT] = g[G_NSLOTS]
        g[G_HIGHEST_BIT] = 0
        # swap_range_alloc: swap_usage_add() is true only on this transition, and then
        # vm_swap_full() holds: schedule_work(&si->reclaim_work) (7.2.13 mm/swapfile.c:1300)
        if np.int64(st.k[K_SCAN_TRIGGER]) == TRIG_DEVICE_FULL:
            g[G_WORKER_ARMED] = 1


@jit
def swap_offset_available(st, off, reclaim):
    """swap_offset_available_and_locked(): free, or cache-only while vm_swap_full()
    (6.1.192 mm/swapfile.c:784-798; the cache-only case only where the era reclaims)."""
    v = st.swap_map[off]
    if v == 0:
        return True
    return reclaim and vm_swap_full(st) and sm.cache_only(np.int64(v), np.int64(st.k[K_ERA]))


# the labels of scan_swap_map_slots
SC_CHECKS, SC_SCAN, SC_DONE, SC_NO_PAGE = 0, 1, 2, 3


@jit
def scan_swap_map_slots(st, want, out):
    """scan_swap_map_slots() on a rotational device (no si->cluster_info), 6.1.192
    mm/swapfile.c:800-1001, label by label (2.6.31 scan_swap_map is the same walk).

    From si->cluster_next; every SWAPFILE_CLUSTER allocations (cluster_nr) it first looks
    for a run of SWAPFILE_CLUSTER free slots from lowest_bit.  At ``checks`` a cache-only
    slot is reclaimed (__try_to_reclaim_swap TTRS_ANYWAY) while vm_swap_full(); a slot freed
    into the per-cpu free batch keeps SWAP_HAS_CACHE, fails the retry and the walk goes on.
    Once a slot is taken only free slots are taken: the next one in sequence while
    cluster_nr lasts, else the first free one within the LATENCY_LIMIT budget; a used slot
    ends the call.  Fills ``out``, returns the number of slots taken."""
    g = st.g
    era = np.int64(st.k[K_ERA])
    reclaim = st.k[K_ALLOC_RECLAIM] != 0.0 and era != sm.ERA_2630
    cl = g[G_CLUSTER]
    latency = LATENCY_LIMIT
    n_ret = 0
    scanned_many = False
    events = 0
    scan_base = g[G_CURSOR]
    off = scan_base
    state = SC_CHECKS
    if g[G_CLUSTER_NR] == 0:
        g[G_CLUSTER_NR] = cl - 1
        if g[G_NR_SWAP_FREE] >= cl:  # si->pages - si->inuse_pages (:840)
            # "Locate the first empty (unaligned) cluster" from lowest_bit; none found:
            # start from lowest_bit all the same (:853-875)
            scan_base = g[G_LOWEST_BIT]
            off = scan_base
            o = scan_base
            last = o + cl - 1
            while last <= g[G_HIGHEST_BIT]:
                events += 1
                if st.swap_map[o] != 0:
                    last = o + cl
                elif o == last:
                    off = o - (cl - 1)
                    break
                o += 1
    else:
        g[G_CLUSTER_NR] -= 1
    while True:
        events += 1
        if state == SC_CHECKS:
            if g[G_HIGHEST_BIT] == 0:
                state = SC_NO_PAGE
                continue
            if off > g[G_HIGHEST_BIT]:
                scan_base = g[G_LOWEST_BIT]
                off = scan_base
            v = np.int64(st.swap_map[off])
            if reclaim and vm_swap_full(st) and sm.cache_only(v, era):
                # "reuse swap entry of cache-only swap if not busy" (:897-908); 6.12
                # TTRS_DIRECT frees the slot itself, so the retry takes it (:1172)
                g[G_FREE_DIRECT] = 1 if st.k[K_ALLOC_RECLAIM_DIRECT] != 0.0 else 0
                freed = st.sframe[off] >= 0 and try_to_reclaim_swap(st, off, True, False,
                                                                     False) == 1
                g[G_FREE_DIRECT] = 0
                if freed:
                    continue  # freed: check this slot again
                state = SC_SCAN
                continue
            if v != 0:
                state = SC_SCAN if n_ret == 0 else SC_DONE
                continue
            take_slot(st, off)
            out[n_ret] = off
            n_ret += 1
            if n_ret == want or off >= g[G_HIGHEST_BIT]:
                state = SC_DONE
                continue
            latency -= 1
            if latency < 0:
                state = SC_DONE  # "time to take a break?" with slots taken (:931-933)
                continue
            if g[G_CLUSTER_NR] > 0:
                off += 1
                if st.swap_map[off] == 0:
                    g[G_CLUSTER_NR] -= 1  # more slots in this cluster (:944-947)
                    continue
            if not scanned_many:
                # scan a little more for a free slot, within the budget (:955-967)
                limit = scan_base if off < scan_base else g[G_HIGHEST_BIT]
                again = False
                while off <= limit:
                    latency -= 1
                    if latency <= 0:
                        break
                    events += 1
                    if st.swap_map[off] == 0:
                        again = True
                        break
                    off += 1
                if again:
                    continue
            state = SC_DONE
        elif state == SC_SCAN:
            # the lockless walk for a first slot, up to highest_bit then from lowest_bit
            # (:974-996)
            found = False
            while off + 1 <= g[G_HIGHEST_BIT]:
                off += 1
                events += 1
                latency -= 1
                if latency < 0:
                    latency = LATENCY_LIMIT
                    scanned_many = True
                if swap_offset_available(st, off, reclaim):
                    found = True
                    break
            if not found:
                off = g[G_LOWEST_BIT]
                while off < scan_base:
                    events += 1
                    latency -= 1
                    if latency < 0:
                        latency = LATENCY_LIMIT
                        scanned_many = True
                    if swap_offset_available(st, off, reclaim):
                        found = True
                        break
                    off += 1
            state = SC_CHECKS if found else SC_NO_PAGE
        elif state == SC_DONE:
            g[G_CURSOR] = off + 1  # set_cluster_next (:970)
            break
        else:
            break  # no_page: cluster_next stays
    st.c[C_EVENTS] += events
    return n_ret


@jit
def check_cache_active(st):
    """check_cache_active(): slots cache on above ncpus*5*64 free, off below ncpus*2*64."""
    g = st.g
    ncpu = g[G_VCPUS]
    if g[G_CACHE_ACTIVE]:
        if g[G_NR_SWAP_FREE] < ncpu * 2 * SWAP_SLOTS_CACHE_SIZE:
            g[G_CACHE_ACTIVE] = 0
            # drain_swap_slots_cache: return both caches' slots
            for i in range(g[G_ACACHE_N]):
                swap_entry_free(st, st.acache[i])
            g[G_ACACHE_N] = 0
            swapcache_free_entries(st)
    elif g[G_NR_SWAP_FREE] > ncpu * 5 * SWAP_SLOTS_CACHE_SIZE:
        g[G_CACHE_ACTIVE] = 1
    return g[G_CACHE_ACTIVE] != 0


@jit
def swap_reclaim_full_clusters(st):
    """swap_reclaim_full_clusters(si, force=false) on allocation (6.12 swapfile.c): take
    the next full cluster (to_scan = 1 when not forced) and reclaim its cache-only slots.
    Returns slots freed.  (Recalled from 6.12's source, not re-read: see linux_6_12.py.)"""
    g = st.g
    ncl = g[G_NCLUSTERS]
    n = g[G_NSLOTS]
    era = np.int64(st.k[K_ERA])
    freed = 0
    for i in range(ncl):
        ci = (g[G_FULLCL_CURSOR] + i) % ncl
        if st.clfree[ci] != 0:
            continue
        g[G_FULLCL_CURSOR] = (ci + 1) % ncl  # the cluster goes to the tail of the list
        cl = g[G_CLUSTER]
        for s in range(ci * cl, min(n, (ci + 1) * cl)):
            st.c[C_EVENTS] += 1
            if sm.cache_only(np.int64(st.swap_map[s]), era) and st.sframe[s] >= 0:
                freed += try_to_reclaim_swap(st, s, True, False, False)
        break
    return freed


@jit
def get_swap_pages(st, want, out):
    """get_swap_pages(): nothing when nr_swap_pages <= 0 (the 100%-full blind spot, :1062);
    else n_goal = min(want, SWAP_BATCH, nr_swap_pages) is taken off nr_swap_pages during
    the scan (:1067-1069) and what it did not get is given back (:1127).  Fills ``out``,
    returns the number of slots."""
    g = st.g
    avail = nr_swap_pages(st)
    if avail <= 0:
        return 0
    n_goal = min(want, SWAP_SLOTS_CACHE_SIZE, avail)
    g[G_SWAP_RESERVED] = n_goal
    n = scan_swap_map_slots(st, n_goal, out)
    g[G_SWAP_RESERVED] = 0
    return n


# ---- the cluster allocator of 7.2 (cluster_alloc_swap_entry, HDD branch, order 0) ----


@jit
def cluster_list_del(st, ci):
    """Take cluster ci off its list (list_del; its flag becomes CLUSTER_FLAG_NONE)."""
    g = st.g
    flag = st.cll[CLL_FLAG, ci]
    if flag == CL_NONE:
        return
    li = flag - 1
    nx = st.cll[CLL_NEXT, ci]
    pv = st.cll[CLL_PREV, ci]
    if pv >= 0:
        st.cll[CLL_NEXT, pv] = nx
    else:
        g[G_CLL_HEAD + li] = nx
    if nx >= 0:
        st.cll[CLL_PREV, nx] = pv
    else:
        g[G_CLL_TAIL + li] = pv
    st.cll[CLL_NEXT, ci] = -1
    st.cll[CLL_PREV, ci] = -1
    st.cll[CLL_FLAG, ci] = CL_NONE


@jit
def move_cluster(st, ci, flag):
    """move_cluster(): to the tail of the list of ``flag`` (7.2.13 mm/swapfile.c:579)."""
    g = st.g
    cluster_list_del(st, ci)
    li = flag - 1
    tail = g[G_CLL_TAIL + li]
    st.cll[CLL_PREV, ci] = tail
    st.cll[CLL_NEXT, ci] = -1
    if tail >= 0:
        st.cll[CLL_NEXT, tail] = ci
    else:
        g[G_CLL_HEAD + li] = ci
    g[G_CLL_TAIL + li] = ci
    st.cll[CLL_FLAG, ci] = flag


@jit
def isolate_lock_cluster(st, flag):
    """isolate_lock_cluster(): the first cluster of a list, taken off it; -1 if empty
    (7.2.13 mm/swapfile.c:623)."""
    ci = st.g[G_CLL_HEAD + flag - 1]
    if ci >= 0:
        cluster_list_del(st, ci)
    return ci


@jit
def cluster_count(st, ci):
    """ci->count: slots in use, bad slots included."""
    return st.g[G_CLUSTER] - st.clfree[ci]


@jit
def relocate_cluster(st, ci):
    """relocate_cluster(): after an allocation, to the free, frag or full list by its count
    (7.2.13 mm/swapfile.c:759-779)."""
    n = cluster_count(st, ci)
    flag = st.cll[CLL_FLAG, ci]
    if n == 0:
        if flag != CL_FREE:
            move_cluster(st, ci, CL_FREE)
    elif n != st.g[G_CLUSTER]:
        if flag != CL_FRAG:
            move_cluster(st, ci, CL_FRAG)
    elif flag != CL_FULL:
        move_cluster(st, ci, CL_FULL)


@jit
def cluster_freed_slot(st, ci):
    """After a slot of ci is freed: free_cluster() when it is empty, else
    partial_free_cluster() to the nonfull list (__swap_cluster_free_entries, 7.2.13
    mm/swapfile.c:1954-1957, :719, :743)."""
    if cluster_count(st, ci) == 0:
        if st.cll[CLL_FLAG, ci] != CL_FREE:
            move_cluster(st, ci, CL_FREE)
    elif st.cll[CLL_FLAG, ci] != CL_NONFULL:
        move_cluster(st, ci, CL_NONFULL)


@jit
def alloc_swap_scan_cluster(st, ci, offset):
    """alloc_swap_scan_cluster(): the first slot from ``offset`` to the cluster's end that is
    free, or cache-only while vm_swap_full() and reclaimed (cluster_scan_range,
    cluster_reclaim_range: __try_to_reclaim_swap(TTRS_ANYWAY)); then relocate_cluster and
    global_cluster->next (7.2.13 mm/swapfile.c:964-1012, :884-901, :838-882).
    Returns the slot or -1."""
    g = st.g
    cl = g[G_CLUSTER]
    end = min((ci + 1) * cl, g[G_NSLOTS])
    era = np.int64(st.k[K_ERA])
    reclaim = st.k[K_ALLOC_RECLAIM] != 0.0 and era != sm.ERA_2630
    found = -1
    nxt = 0
    if cluster_count(st, ci) < cl:
        off = offset
        while off < end:
            st.c[C_EVENTS] += 1
            v = np.int64(st.swap_map[off])
            if v != 0:
                if not (sm.cache_only(v, era) and st.sframe[off] >= 0):
                    off += 1
                    continue  # a slot with a count (or a cache flag without folio)
                if not reclaim or not vm_swap_full(st):
                    off += 1
                    continue
                try_to_reclaim_swap(st, off, True, False, False)
                if st.cll[CLL_FLAG, ci] == CL_FREE:
                    break  # the reclaim emptied the cluster: not usable any more
                if st.swap_map[off] != 0:
                    off += 1
                    continue
            take_slot(st, off)
            found = off
            if cluster_count(st, ci) < cl and off + 1 < end:
                nxt = off + 1
            break
    relocate_cluster(st, ci)
    g[G_GLOBAL_NEXT] = nxt
    return found


@jit
def swap_reclaim_full_clusters_list(st, to_scan):
    """swap_reclaim_full_clusters() of 7.2: up to ``to_scan`` clusters off the full list,
    each count-0 cached slot __try_to_reclaim_swap(TTRS_ANYWAY); a cluster nothing was
    freed in goes back to the full list (7.2.13 mm/swapfile.c:1037-1077)."""
    g = st.g
    cl = g[G_CLUSTER]
    era = np.int64(st.k[K_ERA])
    while to_scan > 0:
        ci = isolate_lock_cluster(st, CL_FULL)
        if ci < 0:
            break
        to_scan -= 1
        for s in range(ci * cl, min(g[G_NSLOTS], (ci + 1) * cl)):
            st.c[C_EVENTS] += 1
            if sm.cache_only(np.int64(st.swap_map[s]), era) and st.sframe[s] >= 0:
                try_to_reclaim_swap(st, s, True, False, False)
        if st.cll[CLL_FLAG, ci] == CL_NONE:
            relocate_cluster(st, ci)


@jit
def cluster_alloc_swap_entry(st):
    """cluster_alloc_swap_entry(), rotational device, order 0 (7.2.13 mm/swapfile.c:1092-1183):
    global_cluster->next; else the nonfull clusters (all), one free cluster, one full cluster
    reclaimed under vm_swap_full(), one frag cluster.  Returns a slot or -1."""
    g = st.g
    cl = g[G_CLUSTER]
    off = g[G_GLOBAL_NEXT]
    if off > 0:
        ci = off // cl
        if st.cll[CLL_FLAG, ci] != CL_FREE:  # cluster_is_usable: no table on the free list
            s = alloc_swap_scan_cluster(st, ci, off)
            if s >= 0:
                return s
    while True:  # alloc_swap_scan_list(nonfull, scan_all)
        ci = isolate_lock_cluster(st, CL_NONFULL)
        if ci < 0:
            break
        s = alloc_swap_scan_cluster(st, ci, ci * cl)
        if s >= 0:
            return s
    ci = isolate_lock_cluster(st, CL_FREE)
    if ci >= 0:
        s = alloc_swap_scan_cluster(st, ci, ci * cl)
        if s >= 0:
            return s
    if st.k[K_ALLOC_FULL_CLUSTER] != 0.0 and vm_swap_full(st):
        swap_reclaim_full_clusters_list(st, 1)
    ci = isolate_lock_cluster(st, CL_FRAG)
    if ci >= 0:
        s = alloc_swap_scan_cluster(st, ci, ci * cl)
        if s >= 0:
            return s
    return -1


@jit
def get_swap_page(st):
    """folio_alloc_swap(): a slot holding the cache reference, or -1 (6.1.192
    mm/swap_slots.c:302-350): from the per-cpu slots cache while it is active, refilled by
    get_swap_pages(SWAP_SLOTS_CACHE_SIZE); else get_swap_pages(1).
    """
    g = st.g
    out = st.acache
    if st.k[K_SWAP_ALLOCATOR] == ALLOC_CLUSTER:
        # 7.2: no slots cache; a full device is off the avail list (swap_alloc_slow)
        if nr_swap_pages(st) <= 0:
            return -1
        return cluster_alloc_swap_entry(st)
    if st.k[K_SLOTS_CACHE] != 0.0 and check_cache_active(st):
        if g[G_ACACHE_N] == 0 and nr_swap_pages(st) > 0:
            if st.k[K_ALLOC_FULL_CLUSTER] != 0.0 and vm_swap_full(st):
                swap_reclaim_full_clusters(st)
            g[G_ACACHE_N] = get_swap_pages(st, SWAP_SLOTS_CACHE_SIZE, out)
            for i in range(g[G_ACACHE_N]):
                st.sflags[out[i]] |= SL_PINNED
        if g[G_ACACHE_N] > 0:
            # hand out from the low end so allocation order follows the scan
            s = out[0]
            for i in range(1, g[G_ACACHE_N]):
                out[i - 1] = out[i]
            g[G_ACACHE_N] -= 1
            st.sflags[s] &= SLM_PINNED
            st.sflags[s] |= SL_CACHEREF
            return s
    if nr_swap_pages(st) <= 0:
        return -1
    if st.k[K_ALLOC_FULL_CLUSTER] != 0.0 and vm_swap_full(st):
        swap_reclaim_full_clusters(st)
    # the per-cpu cache is empty here (drained, or unused), so its first entry serves as
    # the one-slot buffer: no allocation, hence no NRT reference counting on every call
    if get_swap_pages(st, 1, out) == 1:
        return out[0]
    return -1


@jit
def add_to_swap(st, f):
    """add_to_swap(): allocate a slot, charge memory.swap (__mem_cgroup_try_charge_swap),
    put the frame in the swap cache, mark it dirty (6.1 swap_state.c)."""
    s = get_swap_page(st)
    if s < 0:
        return False
    g = st.g
    if not memcg_v1(st):  # v1 charges no swap here: memsw stays on the page (2.6.30)
        if g[G_SWAP_CUR] + 1 > g[G_SWAP_MAX]:
            # memory.swap.events max/fail; put_swap_folio -> free_swap_slot
            swap_drop_cache_ref(st, s)
            return False
        g[G_SWAP_CUR] += 1
        st.sflags[s] |= SL_CHARGED
    add_to_swap_cache(st, f, s)
    st.fr[FR_FLAGS, f] |= PG_DIRTY
    return True


# =============================================================================================
# I/O queues
# =============================================================================================


@jit
def submit_io(st, f, t, ring_f, ring_t, head, tail, dev, burst, page, fast):
    """Queue one page of I/O on the swap disk; returns its completion time.

    A throttled disk is QEMU's leaky bucket (util/throttle.c throttle_compute_wait): I/O is
    admitted at once while the bucket holds under ``burst`` ns of bandwidth, else when it
    has drained that far; ``g[dev]`` is the time the bucket would be empty.  Admitted I/O
    takes ``fast`` ns.  Unthrottled (burst 0, fast == page): a FIFO at the disk's bandwidth.
    Completions stay in submission order (the ring is FIFO) unless ``io_reorder`` > 0;
    ``io_jitter`` scales this I/O's latency, what it adds to the bucket and its service
    time by one U(1 - j, 1 + j) draw; a new request only trades places with one that
    completes after it was admitted (on a saturated throttle: none)."""
    g = st.g
    lat = st.k[K_IO_LAT_US] * 1000.0
    fill = g[page]
    service = g[fast]
    j = st.k[K_IO_JITTER]
    if j > 0.0:  # io_jitter: latency, bandwidth share and service time of this I/O
        u = 1.0 + j * (2.0 * rng_uniform(st.rng) - 1.0)
        lat = lat * u
        fill = np.int64(fill * u)
        service = np.int64(service * u)
    admit = t + np.int64(lat)
    if g[dev] - g[burst] > admit:
        admit = g[dev] - g[burst]
    empty = admit if admit > g[dev] else g[dev]
    g[dev] = empty + fill
    done = admit + service
    cap = ring_f.shape[0]
    if g[tail] > g[head]:
        last = ring_t[(g[tail] - 1) % cap]
        if last > done:
            done = last
    i = g[tail] % cap
    ring_f[i] = f
    ring_t[i] = done
    st.fr[FR_IOSEQ, f] = g[tail]
    g[tail] += 1
    # io_reorder: the new request may complete in the place of one of the last io_reorder
    # requests still queued (uniform over them and itself); times stay in order, pages swap
    w = np.int64(st.k[K_IO_REORDER])
    if w > 0:
        pending = g[tail] - 1 - g[head]
        m = w if w < pending else pending
        if m > 0:
            back = np.int64(rng_next(st.rng) % np.uint64(m + 1))
            if back > 0:
                p = (g[tail] - 1 - back) % cap
                if ring_t[p] >= admit:  # not before the disk admitted it
                    other = ring_f[p]
                    ring_f[p] = f
                    ring_f[i] = other
                    st.fr[FR_IOSEQ, f] = g[tail] - 1 - back
                    st.fr[FR_IOSEQ, other] = g[tail] - 1
                    done = ring_t[p]
    return done


@jit
def submit_write(st, f, t):
    """swap_writepage(): PG_writeback, queued on the swap disk; pswpout++.  On a
    SWP_SYNCHRONOUS_IO device (zram) the write is over before pageout() returns (6.1.192
    mm/page_io.c:351 bdev_write_page -> zram_rw_page; 6.12.117 :470 and 7.2.13 :484
    swap_writepage_bdev_sync): clean, no writeback, nothing queued."""
    if st.g[G_SYNC_IO]:
        st.fr[FR_FLAGS, f] &= ~PG_DIRTY
        st.c[V_PSWPOUT] += 1
        return
    submit_io(st, f, t, st.wbq_f, st.wbq_t, G_WB_HEAD, G_WB_TAIL, G_WDEV_T, G_WBURST_NS,
              G_WPAGE_NS, G_WFAST_NS)
    fl = st.fr[FR_FLAGS, f]
    st.fr[FR_FLAGS, f] = (fl | PG_WRITEBACK | PG_RECLAIM) & ~PG_DIRTY
    st.c[V_PSWPOUT] += 1


@jit
def submit_read(st, f, t):
    """swap_readpage(): PG_locked until the read completes; pswpin++.  Returns done time.
    On a SWP_SYNCHRONOUS_IO device the read is over on return (6.1.192 mm/page_io.c:484
    bdev_read_page; 7.2.13 :664): done after one zram_page_ns, the page never locked."""
    if st.g[G_SYNC_IO]:
        st.c[V_PSWPIN] += 1
        return t + cost(st, st.k[K_ZRAM_NS])
    done = submit_io(st, f, t, st.rdq_f, st.rdq_t, G_RD_HEAD, G_RD_TAIL, G_RDEV_T,
                     G_RBURST_NS, G_RPAGE_NS, G_RFAST_NS)
    st.fr[FR_FLAGS, f] |= PG_LOCKED
    st.c[V_PSWPIN] += 1
    return done


@jit
def end_page_writeback(st, f):
    """folio_end_writeback(): clear PG_writeback; folio_rotate_reclaimable moves a PG_reclaim
    folio on the inactive list to its tail (mm/swap.c, 6.1)."""
    fl = st.fr[FR_FLAGS, f]
    st.fr[FR_FLAGS, f] = fl & ~PG_WRITEBACK
    if fl & PG_RECLAIM:
        st.fr[FR_FLAGS, f] &= ~PG_RECLAIM
        if st.fr[FR_LIST, f] == LRU_INACTIVE and not (fl & PG_DIRTY):
            lru_add_tail(st, f, LRU_INACTIVE)


@jit
def io_next_time(st):
    """Earliest pending I/O completion or worker time."""
    g = st.g
    t = INF
    if g[G_WB_HEAD] < g[G_WB_TAIL]:
        t = st.wbq_t[g[G_WB_HEAD] % st.wbq_t.shape[0]]
    if g[G_RD_HEAD] < g[G_RD_TAIL]:
        tr = st.rdq_t[g[G_RD_HEAD] % st.rdq_t.shape[0]]
        if tr < t:
            t = tr
    if g[G_WORKER_T] < t:
        t = g[G_WORKER_T]
    return t


@jit
def io_pending(st):
    """Whether any I/O is in flight."""
    g = st.g
    return g[G_WB_HEAD] < g[G_WB_TAIL] or g[G_RD_HEAD] < g[G_RD_TAIL]


# =============================================================================================
# sampling
# =============================================================================================


@jit
def count_orphans(st):
    """swap_orphans: swap cache pages with no pte and swap count 0.

    Stops after the last swap cache frame: only add_to_swap_cache sets PG_SWAPCACHE, and
    it counts it in G_NR_SWAPCACHE, so the count never misses a flagged frame."""
    n = 0
    seen = 0
    total = st.g[G_NR_SWAPCACHE]
    fr = st.fr
    for f in range(st.g[G_NFRAMES]):
        if seen >= total:
            break
        if fr[FR_FLAGS, f] & PG_SWAPCACHE:
            seen += 1
            if fr[FR_MAPCOUNT, f] == 0 and slot_count(st, fr[FR_SLOT, f]) == 0:
                n += 1
    return n


@jit
def observe(st, row):
    """Fill one row of output variables from the state and counters."""
    g = st.g
    c = st.c
    row[V_SWAP_TOTAL] = swap_pages(st)  # SwapTotal: the header is not swap
    row[V_SWAP_USED] = swap_pages(st) - g[G_NR_SWAP_FREE]
    row[V_SWAP_CACHED] = g[G_NR_SWAPCACHE]
    row[V_SWAP_ORPHANS] = count_orphans(st)
    row[V_MEMCG_CURRENT] = g[G_MEM_CUR]
    if memcg_v1(st):
        row[V_MEMCG_SWAP_CURRENT] = g[G_MEMSW_CUR] - g[G_MEM_CUR]  # what v1 users read as swap
    else:
        row[V_MEMCG_SWAP_CURRENT] = g[G_SWAP_CUR]
    row[V_MEMCG_ANON] = g[G_NR_MAPPED]
    row[V_MEMCG_SWAPCACHED] = g[G_NR_SWAPCACHE]
    for v in range(V_PSWPIN, N_VARS):
        row[v] = c[v]
    row[V_LOCK_WAIT_US] = c[C_LOCK_WAIT_NS] // 1000


@jit
def take_sample(st):
    """Record the next grid sample (the state as of its time)."""
    g = st.g
    n = g[G_NSAMPLES]
    if n >= g[G_SAMPLE_CAP]:
        g[G_SAMPLE_OVERFLOW] = 1
    else:
        observe(st, st.samples[n])
    g[G_NSAMPLES] = n + 1


# =============================================================================================
# the event loop
# =============================================================================================


@jit
def advance_to(st, t):
    """Process every event (I/O completion, worker, sample) up to time t, earliest first."""
    g = st.g
    while True:
        te = io_next_time(st)
        ts = g[G_NSAMPLES] * g[G_DT_NS]
        if te <= t and te <= ts:
            st.c[C_EVENTS] += 1
            if g[G_WB_HEAD] < g[G_WB_TAIL] and \
                    st.wbq_t[g[G_WB_HEAD] % st.wbq_t.shape[0]] == te:
                f = st.wbq_f[g[G_WB_HEAD] % st.wbq_f.shape[0]]
                g[G_WB_HEAD] += 1
                end_page_writeback(st, f)
            elif g[G_RD_HEAD] < g[G_RD_TAIL] and \
                    st.rdq_t[g[G_RD_HEAD] % st.rdq_t.shape[0]] == te:
                f = st.rdq_f[g[G_RD_HEAD] % st.rdq_f.shape[0]]
                g[G_RD_HEAD] += 1
                st.fr[FR_FLAGS, f] &= ~PG_LOCKED  # folio_unlock after swap_readpage
            else:
                g[G_WORKER_T] = INF
                policy_scan_worker(st)
        elif ts <= t:
            take_sample(st)
        else:
            break


@jit
def wait_io(st, t):
    """Sleep until the next I/O completion after t (reclaim_throttle / folio_wait_*).
    Returns the new time."""
    te = io_next_time(st)
    if te >= INF:
        return t
    if te < t:
        te = t
    advance_to(st, te)
    return te


# =============================================================================================
# rmap, zap
# =============================================================================================


@jit
def partner_vpage(st, v):
    """The other pte that may map a frame shared with a forked child (parent <-> child)."""
    g = st.g
    d = g[G_CHILD_DELTA]
    if g[G_CHILD_HI] <= g[G_CHILD_LO]:
        return -1
    if g[G_CHILD_LO] <= v < g[G_CHILD_HI]:
        return v - d
    w = v + d
    if g[G_CHILD_LO] <= w < g[G_CHILD_HI]:
        return w
    return -1


@jit
def page_remove_rmap(st, f, v):
    """page_remove_rmap(): one pte less maps frame f."""
    fr = st.fr
    fr[FR_MAPCOUNT, f] -= 1
    if fr[FR_MAPCOUNT, f] == 0:
        st.g[G_NR_MAPPED] -= 1
        fr[FR_VPAGE, f] = -1
    elif fr[FR_VPAGE, f] == v:
        fr[FR_VPAGE, f] = partner_vpage(st, v)


@jit
def page_add_rmap(st, f, v):
    """page_add_anon_rmap(): pte v maps frame f."""
    fr = st.fr
    if fr[FR_MAPCOUNT, f] == 0:
        st.g[G_NR_MAPPED] += 1
        fr[FR_VPAGE, f] = v
    fr[FR_MAPCOUNT, f] += 1
    st.pte[v] = f


@jit
def sleep_on_page_flag(st, f, flag, t):
    """Sleep (I/O goes on) until ``flag`` clears on frame f; the time slept counts in
    lock_wait_us.  Returns the new time."""
    t0 = t
    while st.fr[FR_FLAGS, f] & flag:
        t2 = wait_io(st, t)
        if t2 == t and not io_pending(st):
            break
        t = t2
    st.c[C_LOCK_WAIT_NS] += t - t0
    return t


@jit
def lock_wait(st, f, t):
    """lock_page(): wait until the read I/O holding the page lock ends.  Returns new time."""
    return sleep_on_page_flag(st, f, PG_LOCKED, t)


@jit
def writeback_wait(st, f, t):
    """folio_wait_writeback(): wait until PG_writeback clears.  Returns new time."""
    return sleep_on_page_flag(st, f, PG_WRITEBACK, t)


@jit
def zap_lock_for_free(st, f, t):
    """The page lock and writeback test of both zap paths (free_swap_cache,
    free_swap_and_cache): zap_lock 'trylock' (mainline trylock_page: a lost trylock leaves the
    page, the orphan) or 'lock' (kamezawa-sync: lock_page waits); a page under PG_writeback
    is left, or waited for with zap_wait_writeback.  Returns (go on and free, time)."""
    if st.k[K_ZAP_LOCK] == LOCK_SLEEP:
        t = lock_wait(st, f, t)
    elif not trylock_page(st, f):
        st.c[V_TRYLOCK_FAIL] += 1
        return False, t
    if st.fr[FR_FLAGS, f] & PG_WRITEBACK:
        if st.k[K_ZAP_WAIT_WB] != 0.0:
            t = writeback_wait(st, f, t)
        else:
            st.c[V_WRITEBACK_SKIP] += 1
            return False, t
    return True, t


@jit
def free_swap_cache(st, f, t):
    """free_swap_cache() from tlb batching: trylock_page, then try_to_free_swap if the page
    is unmapped (mm/swap_state.c, 2.6.30 .. 6.1).  Returns the time (lock mode may wait)."""
    ok, t = zap_lock_for_free(st, f, t)
    if ok:
        folio_free_swap(st, f, True)
    return t


@jit
def free_swap_and_cache(st, s, t):
    """free_swap_and_cache(): drop a swap pte's reference; if only the cache is left, try to
    free it with trylock (mm/swapfile.c; 2.6.30: value == 1, 2.6.31+: == SWAP_HAS_CACHE;
    6.1: __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)).  Returns the time."""
    era = np.int64(st.k[K_ERA])
    swap_free(st, s)
    v = np.int64(st.swap_map[s])
    if not sm.cache_only(v, era):
        return t
    f = st.sframe[s]
    if f < 0:
        return t
    ok, t = zap_lock_for_free(st, f, t)
    # 2.6.30: (!page_mapped || vm_swap_full); 6.1: TTRS_UNMAPPED && !mapped || TTRS_FULL
    if ok and (st.fr[FR_MAPCOUNT, f] == 0 or mem_cgroup_swap_full(st)):
        folio_free_swap(st, f, True)
    return t


@jit
def zap_pte(st, v, t):
    """zap_pte_range() for one pte.  Returns the time after it."""
    p = st.pte[v]
    if p == PTE_NONE:
        return t
    st.pte[v] = PTE_NONE
    st.c[C_EVENTS] += 1
    t += cost(st, st.k[K_CPU_ZAP])
    if p & SWP_BIT:
        return free_swap_and_cache(st, p & ~SWP_BIT, t)
    f = p
    page_remove_rmap(st, f, v)
    if st.fr[FR_MAPCOUNT, f] == 0:
        if st.fr[FR_FLAGS, f] & PG_SWAPCACHE:
            t = free_swap_cache(st, f, t)
        else:
            frame_free(st, f)
    return t


@jit
def try_to_unmap(st, f):
    """try_to_unmap(): every pte mapping f becomes a swap pte (swap_duplicate each)."""
    s = st.fr[FR_SLOT, f]
    for _ in range(2):
        v = st.fr[FR_VPAGE, f]
        if v < 0:
            break
        if st.pte[v] == f:
            page_remove_rmap(st, f, v)
            st.pte[v] = SWP_BIT | s
            swap_duplicate(st, s)
        w = partner_vpage(st, v)
        if w >= 0 and st.pte[w] == f:
            page_remove_rmap(st, f, w)
            st.pte[w] = SWP_BIT | s
            swap_duplicate(st, s)
        if st.fr[FR_MAPCOUNT, f] == 0:
            break


# =============================================================================================
# reclaim
# =============================================================================================


@jit
def can_reclaim_anon_pages(st):
    """can_reclaim_anon_pages(memcg): mem_cgroup_get_nr_swap_pages(memcg) > 0 (6.1.192
    mm/vmscan.c:552-567).  Global reclaim asks it too: shrink_node_memcgs walks the memcgs
    (:6105) into shrink_lruvec -> get_scan_count, memcg = lruvec_memcg(lruvec) (:2923,
    :2935), so the memcg's swap.max headroom stops its anon scan there as well; v1 (no swap
    limit): free swap."""
    return memcg_nr_swap_pages(st) > 0


@jit
def activate_locked(st, f):
    """activate_locked: folio_free_swap if mem_cgroup_swap_full(), then to the active list."""
    if (st.fr[FR_FLAGS, f] & PG_SWAPCACHE) and mem_cgroup_swap_full(st):
        folio_free_swap(st, f, False)
    lru_add_head(st, f, LRU_ACTIVE)


@jit
def sync_write_time(st, pswpout_before):
    """CPU time of the synchronous write a shrink_folio call made on a SWP_SYNCHRONOUS_IO
    device: zram compresses the page in the reclaiming task (zram_write_page)."""
    if st.g[G_SYNC_IO] and st.c[V_PSWPOUT] != pswpout_before:
        return cost(st, st.k[K_ZRAM_NS])
    return np.int64(0)


@jit
def shrink_folio(st, f, liu_only, t):
    """shrink_folio_list() for one folio (mm/vmscan.c, 6.1).  Returns FREED or KEPT."""
    fr = st.fr
    fl = fr[FR_FLAGS, f]
    if fl & PG_LOCKED:
        lru_add_head(st, f, LRU_INACTIVE)  # keep_locked
        return KEPT
    if liu_only and not (fl & PG_SWAPCACHE):
        lru_add_head(st, f, LRU_ACTIVE)  # Liu 2023: only swap-cache folios are isolated
        return KEPT
    if fl & PG_WRITEBACK:
        # case 2: folio_set_reclaim, activate_locked
        fr[FR_FLAGS, f] |= PG_RECLAIM
        activate_locked(st, f)
        return KEPT
    if fr[FR_MAPCOUNT, f] > 0:
        if not (fl & PG_SWAPCACHE):
            if liu_only or not add_to_swap(st, f):
                activate_locked(st, f)
                return KEPT
        try_to_unmap(st, f)
        if fr[FR_MAPCOUNT, f] > 0:
            activate_locked(st, f)
            return KEPT
    if fr[FR_FLAGS, f] & PG_DIRTY:
        if not (fr[FR_FLAGS, f] & PG_SWAPCACHE):
            lru_add_head(st, f, LRU_ACTIVE)
            return KEPT
        submit_write(st, f, t)  # pageout()
        if not st.g[G_SYNC_IO]:
            lru_add_head(st, f, LRU_INACTIVE)  # keep: rotated back when writeback ends
            return KEPT
        # PAGE_SUCCESS, neither writeback nor dirty: "A synchronous write - probably a
        # ramdisk.  Go ahead and try to reclaim the folio." (6.1.192 mm/vmscan.c:1964)
        if not trylock_page(st, f):
            lru_add_head(st, f, LRU_INACTIVE)  # keep
            return KEPT
    if fr[FR_FLAGS, f] & PG_SWAPCACHE:
        # __remove_mapping -> __delete_from_swap_cache + put_swap_folio
        delete_from_swap_cache(st, f)
    frame_free(st, f)
    return FREED


@jit
def shrink_lruvec(st, memcg, nr_to_reclaim, t, may_swap):
    """Reclaim from the anon LRUs (shrink_lruvec/shrink_list, get_scan_count, 6.1).
    ``may_swap`` False: v1 reclaim at the memsw limit (try_to_free_mem_cgroup_pages(noswap),
    2.6.30 get_scan_ratio: no anon scan), so nothing is reclaimable here.

    Returns (pages freed, time after)."""
    g = st.g
    g[G_WB_SEEN] = 0
    if not may_swap:
        return 0, t
    if memcg and g[G_SWAPPINESS0]:
        return 0, t  # cgroup reclaim, swappiness 0: SCAN_FILE (6.1.192 mm/vmscan.c:2947)
    can_anon = can_reclaim_anon_pages(st)
    liu = (not can_anon) and st.k[K_ANON_WHEN_FULL] == ANON_FULL_SWAPCACHE_ONLY
    if not can_anon and not liu:
        return 0, t  # SCAN_FILE: no file pages here, nothing reclaimable
    v1_lru = memcg and memcg_v1(st)
    freed = 0
    submitted = 0
    # do_try_to_free_pages: priority DEF_PRIORITY (12) down to 0, scanning lru >> priority
    for prio in range(12, -1, -1):
        nscan = (g[G_LRU_N0] + g[G_LRU_N1]) >> prio
        busy = 0
        done = 0
        for _ in range(nscan):
            # shrink_active_list when inactive_is_low (inactive_ratio 1 below 1 GiB)
            while g[G_LRU_N0] <= g[G_LRU_N1] and g[G_LRU_N1] > 0:
                lru_add_head(st, g[G_LRU_TAIL1], LRU_INACTIVE)
            f = g[G_LRU_TAIL0]
            if f < 0:
                break
            if v1_lru and not (st.fr[FR_FLAGS, f] & PCG_USED):
                # not on the memcg's LRU: mem_cgroup_add_lru_list skips !PageCgroupUsed
                lru_add_head(st, f, LRU_INACTIVE)
                continue
            st.c[V_RECLAIM_SCANNED] += 1
            st.c[C_EVENTS] += 1
            done += 1
            was_wb = st.fr[FR_FLAGS, f] & PG_WRITEBACK
            pswpout = st.c[V_PSWPOUT]
            outcome = shrink_folio(st, f, liu, t)
            t += sync_write_time(st, pswpout)
            if g[G_WORKER_ARMED]:
                maybe_schedule_worker(st, t)  # this folio's slot filled the device
            if outcome == FREED:
                freed += 1
                t += cost(st, st.k[K_CPU_PAGEOUT])
            else:
                if st.fr[FR_FLAGS, f] & PG_WRITEBACK:
                    busy += 1
                    g[G_WB_SEEN] += 1
                    if not was_wb:
                        submitted += 1
                t += cost(st, st.k[K_CPU_SCAN])
            advance_to(st, t)
            # pages just submitted count toward this round (sc->nr.writeback); the caller
            # throttles on them instead of writing out the whole LRU
            if freed + submitted >= nr_to_reclaim:
                break
        if freed + submitted >= nr_to_reclaim:
            break
        if freed == 0 and done > 0 and busy == done:
            break  # nr.writeback == nr.taken: the caller throttles on writeback (6.1)
        if not memcg and not liu and not can_reclaim_anon_pages(st):
            break
    return freed, t


# =============================================================================================
# the global scanning policy family (hugh-scan; 6.12 reclaim_work)
# =============================================================================================


@jit
def scan_triggered(st):
    """Whether the scan policy's trigger holds now."""
    trig = np.int64(st.k[K_SCAN_TRIGGER])
    if trig == TRIG_OFF:
        return False
    if trig == TRIG_DEVICE_FULL:
        return st.g[G_NR_SWAP_FREE] <= 0  # si->inuse_pages == si->pages
    if trig == TRIG_HALF:
        return mem_cgroup_swap_full(st) if st.k[K_SCAN_MEMCG] != 0.0 else vm_swap_full(st)
    free = memcg_nr_swap_pages(st) if st.k[K_SCAN_MEMCG] != 0.0 else st.g[G_NR_SWAP_FREE]
    return free < np.int64(st.k[K_SCAN_THRESHOLD])


@jit
def scan_candidates(st, out):
    """Walk what the scan policy visits (swap_map range from its cursor, full clusters, or
    swap cache pages on the LRU) and collect cache-only slots into ``out``.
    Returns (candidates, slots visited)."""
    g = st.g
    era = np.int64(st.k[K_ERA])
    what = np.int64(st.k[K_SCAN_WHAT])
    batch = np.int64(st.k[K_SCAN_BATCH])
    n = g[G_NSLOTS]
    if batch <= 0:
        batch = n if what != WHAT_LRU else g[G_NFRAMES]
    got = 0
    visited = 0
    if what == WHAT_LRU:
        for lst in range(2):
            f = g[G_LRU_TAIL0 + 2 * lst]
            while f >= 0 and visited < batch:
                visited += 1
                if (st.fr[FR_FLAGS, f] & PG_SWAPCACHE) and st.fr[FR_MAPCOUNT, f] == 0:
                    s = st.fr[FR_SLOT, f]
                    if sm.cache_only(np.int64(st.swap_map[s]), era):
                        out[got] = s
                        got += 1
                f = st.fr[FR_PREV, f]
    else:
        cur = g[G_SCAN_CURSOR]
        while visited < batch and visited < n:
            s = cur
            cur += 1
            if cur >= n:
                cur = 0
            visited += 1
            if what == WHAT_FULL_CLUSTERS and st.clfree[s // g[G_CLUSTER]] != 0:
                continue
            if sm.cache_only(np.int64(st.swap_map[s]), era) and st.sframe[s] >= 0:
                out[got] = s
                got += 1
        g[G_SCAN_CURSOR] = cur
    st.c[V_POLICY_SCAN_SLOTS] += visited
    st.c[C_EVENTS] += visited
    return got, visited


@jit
def scan_free_slot(st, s):
    """Free one candidate if it is still cache-only: __try_to_reclaim_swap(TTRS_ANYWAY)."""
    if not sm.cache_only(np.int64(st.swap_map[s]), np.int64(st.k[K_ERA])):
        return 0
    if st.sframe[s] < 0:
        return 0
    if try_to_reclaim_swap(st, s, True, False, False):
        st.c[V_POLICY_FREED] += 1
        return 1
    return 0


@jit(nrt=True)
def policy_scan(st, t):
    """The synchronous scan (before OOM).  In 'lock' mode each candidate waits for its page
    lock and writeback (lock_page + folio_wait_writeback).  scan_wait_writeback as the 6.1
    patch's wait_writeback (swap_orphan_scan, kernels/patches/6.1/hugh-scan.patch): 'each'
    waits on every candidate under writeback; 'if_none_freed' remembers the first one and,
    if nothing was freed, waits for it (G_SCAN_WAITED: the caller retries and may scan
    again).  Returns (freed, time after)."""
    out = np.empty(max(st.g[G_NSLOTS], st.g[G_NFRAMES]), dtype=np.int32)
    n, visited = scan_candidates(st, out)
    t += np.int64(visited * st.k[K_SCAN_SLOT_NS])
    mode = np.int64(st.k[K_SCAN_WAIT_WB])
    freed = 0
    wb_f = -1
    for i in range(n):
        s = out[i]
        f = st.sframe[s]
        if f >= 0 and st.k[K_SCAN_LOCK] == LOCK_SLEEP:
            t = lock_wait(st, f, t)
            t = writeback_wait(st, f, t)
        elif f >= 0 and (st.fr[FR_FLAGS, f] & PG_WRITEBACK):
            if mode == SWB_EACH:
                t = writeback_wait(st, f, t)
            elif wb_f < 0:
                wb_f = f  # sc->wb_folio, held by a reference
        freed += scan_free_slot(st, s)
    st.g[G_SCAN_WAITED] = 0
    if mode == SWB_IF_NONE and freed == 0 and wb_f >= 0:
        st.g[G_SCAN_WAITED] = 1
        t = writeback_wait(st, wb_f, t)
    return freed, t


@jit(nrt=True)
def policy_scan_worker(st):
    """The asynchronous worker (6.12 swap_reclaim_work): trylock only, never sleeps here."""
    out = np.empty(max(st.g[G_NSLOTS], st.g[G_NFRAMES]), dtype=np.int32)
    n, visited = scan_candidates(st, out)
    freed = 0
    for i in range(n):
        freed += scan_free_slot(st, out[i])
    return freed


@jit
def maybe_schedule_worker(st, t):
    """Async scan: schedule the worker.  Trigger device_full: once per fill, from the
    allocation that made the device full (take_slot arms it; 7.2.13 swap_range_alloc,
    mm/swapfile.c:1300-1305), a no-op while the work is pending; other triggers: whenever
    the trigger holds at the caller."""
    g = st.g
    if np.int64(st.k[K_SCAN_TRIGGER]) == TRIG_DEVICE_FULL:
        fire = g[G_WORKER_ARMED] != 0
        g[G_WORKER_ARMED] = 0
    else:
        fire = scan_triggered(st)
    if st.k[K_SCAN_WHEN] == WHEN_ASYNC and g[G_WORKER_T] >= INF and fire:
        g[G_WORKER_T] = t + np.int64(st.k[K_SCAN_DELAY] * 1e9)


# =============================================================================================
# charging, OOM
# =============================================================================================


@jit
def proc_charge(st):
    """A process starts: its page tables, stack and kernel objects are charged to the memcg
    (__GFP_ACCOUNT; measured ~64 pages per guest process), not reclaimable."""
    proc_uncharge(st)  # a process stopped by max_sim_s before its exit row left its charge
    n = np.int64(st.k[K_PROC_CHARGE])
    st.g[G_PROC_CHARGED] = n
    st.g[G_MEM_CUR] += n
    if memcg_v1(st):
        st.g[G_MEMSW_CUR] += n  # v1: res and memsw alike


@jit
def proc_uncharge(st):
    """The process exits (exit_mmap, free_pgtables): its fixed charge goes."""
    st.g[G_MEM_CUR] -= st.g[G_PROC_CHARGED]
    if memcg_v1(st):
        st.g[G_MEMSW_CUR] -= st.g[G_PROC_CHARGED]
    st.g[G_PROC_CHARGED] = 0


@jit
def kill_current(st, t):
    """oom_kill_process() on the running process: zap all it maps.  Returns the time."""
    g = st.g
    g[G_KILLED] = 1
    proc_uncharge(st)
    for v in range(g[G_CHILD_LO], g[G_CHILD_HI]):
        t = zap_pte(st, v, t)
    g[G_CHILD_HI] = g[G_CHILD_LO]
    for v in range(g[G_PROC_LO], g[G_PROC_HI]):
        t = zap_pte(st, v, t)
    return t


@jit
def reclaim_throttle(st, t, batch):
    """reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK): sleep until about SWAP_CLUSTER_MAX
    pages finished I/O or HZ/10 passed (mm/vmscan.c, 6.1).  Returns the new time."""
    g = st.g
    target = g[G_WB_HEAD] + g[G_RD_HEAD] + batch
    t_end = t + np.int64(100_000_000)
    while io_pending(st) and g[G_WB_HEAD] + g[G_RD_HEAD] < target:
        te = io_next_time(st)
        if te > t_end:
            t = t_end
            advance_to(st, t)
            break
        t = wait_io(st, t)
    return t


@jit
def try_charge(st, t, may_reclaim, lockf):
    """try_charge_memcg() + the page allocator for one new page (memcontrol.c 6.1): reclaim
    up to MAX_RECLAIM_RETRIES times without progress, then mem_cgroup_out_of_memory (memcg)
    or out_of_memory (global) kills the running process.  v1: res and memsw are both
    charged; at the memsw limit reclaim may not swap (2.6.30 __mem_cgroup_try_charge).
    ``lockf`` >= 0 (v1 swap-in): charge the existing, locked frame ``lockf`` instead of a new
    one; its lock is released before an OOM kill zaps the process.

    Returns (frame or -1, time).  -1 with G_KILLED set means the process was killed.
    """
    g = st.g
    retries = np.int64(st.k[K_RECLAIM_RETRIES])
    batch = np.int64(st.k[K_RECLAIM_BATCH])
    scanned_once = False
    while True:
        hit = memcg_limit_hit(st)
        memcg_full = hit != LIM_NONE
        if not memcg_full and (lockf >= 0 or g[G_NR_FREE_FRAMES] > 0):
            f = lockf if lockf >= 0 else frame_get(st)
            if memcg_v1(st):
                mem_cgroup_charge(st, f)
            return f, t
        if not may_reclaim:
            return -1, t
        if memcg_full:
            st.c[V_MEMCG_MAX_EVENTS] += 1  # memcg_memory_event(MEMCG_MAX); v1 failcnt
        freed, t = shrink_lruvec(st, memcg_full, batch, t, memcg_reclaim_may_swap(st, hit))
        advance_to(st, t)
        if freed > 0:
            continue
        # reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK) only when this pass met folios under
        # writeback (sc->nr.writeback/immediate, shrink_inactive_list 6.1); with nothing
        # scannable (SCAN_FILE) try_charge_memcg just counts a retry
        if g[G_WB_SEEN] > 0 and io_pending(st):
            t = reclaim_throttle(st, t, batch)
            continue
        if retries > 0:
            retries -= 1
            continue
        if (not scanned_once) and st.k[K_SCAN_WHEN] == WHEN_SYNC and scan_triggered(st):
            freed, t = policy_scan(st, t)
            advance_to(st, t)
            # Hugh: a scan for cache-only slots before any OOM; once per charge, again only
            # after it waited for a writeback (the patch's *again)
            scanned_once = st.g[G_SCAN_WAITED] == 0
            if freed > 0 or not scanned_once:
                retries = np.int64(st.k[K_RECLAIM_RETRIES])
                continue
        maybe_schedule_worker(st, t)
        if memcg_full:
            st.c[V_MEMCG_OOM] += 1  # mem_cgroup_oom: memory.events oom (memcg OOMs only)
        # __oom_kill_process: MEMCG_OOM_KILL in the victim's memcg, global OOMs included
        # (6.1.192 mm/oom_kill.c:950); every task here runs in the memcg
        st.c[V_MEMCG_OOM_KILL] += 1
        if hit == LIM_MEMSW:
            st.c[C_MEMSW_OOM] += 1
        st.c[V_OOM_KILL] += 1
        if lockf >= 0:
            st.fr[FR_FLAGS, lockf] &= ~PG_LOCKED  # do_swap_page unlocks before the exit
        t = kill_current(st, t)
        return -1, t


@jit
def mem_cgroup_try_charge_swapin(st, f, t):
    """v1 swap-in charge of swap cache page f, locked (do_swap_page, 2.6.30): res and memsw
    +1 with reclaim or OOM (mem_cgroup_try_charge_swapin), then __mem_cgroup_commit_charge:
    a page already PageCgroupUsed cancels the new charge.  The caller drops the slot's
    record after mapping (mem_cgroup_commit_charge_swapin).  Returns (charged, time)."""
    was_charged = (st.fr[FR_FLAGS, f] & PCG_USED) != 0
    st.fr[FR_FLAGS, f] |= PG_LOCKED
    r, t = try_charge(st, t, True, f)
    st.fr[FR_FLAGS, f] &= ~PG_LOCKED
    if r < 0:
        return False, t
    if was_charged:
        # __mem_cgroup_commit_charge on a PageCgroupUsed page: res and memsw -1 again
        st.g[G_MEM_CUR] -= 1
        st.g[G_MEMSW_CUR] -= 1
    return True, t


# =============================================================================================
# faults
# =============================================================================================


@jit
def swapin_nr_pages(st, offset, vma):
    """__swapin_nr_pages(): readahead window from hits (mm/swap_state.c, 6.1).  The cluster
    path's swapin_nr_pages() moves prev_offset only when there were no hits (6.1.192
    mm/swap_state.c:585); the VMA path's swap_ra_info stores the fault address always."""
    g = st.g
    max_pages = np.int64(1) << g[G_PAGE_CLUSTER]
    if max_pages <= 1:
        return 1
    hits = g[G_RA_HITS]
    g[G_RA_HITS] = 0
    pages = hits + 2
    if pages == 2:
        if offset != g[G_RA_PREV_OFF] + 1 and offset != g[G_RA_PREV_OFF] - 1:
            pages = 1
    else:
        roundup = 4
        while roundup < pages:
            roundup <<= 1
        pages = roundup
    if pages > max_pages:
        pages = max_pages
    last_ra = g[G_RA_PREV_WIN] // 2
    if pages < last_ra:
        pages = last_ra
    g[G_RA_PREV_WIN] = pages
    if vma or hits == 0:
        g[G_RA_PREV_OFF] = offset
    return pages


@jit
def read_swap_cache_async(st, s, t, is_target):
    """__read_swap_cache_async(): allocate a page for slot s, add it to the swap cache and
    start the read; skipped if cached already or the swap count is 0 (6.1).  A readahead
    page is charged as the target is: mem_cgroup_swapin_charge_folio -> try_charge, which
    reclaims and, that failing, OOM-kills from the charge (6.1.192 mm/swap_state.c:486,
    mm/memcontrol.c:6968, mem_cgroup_oom :1901-1935).  Returns (frame or -1, time)."""
    if st.sframe[s] >= 0 or st.swap_map[s] == 0 or slot_count(st, s) == 0:
        return -1, t
    if is_target:
        return -1, t  # the target is read by the caller
    if memcg_v1(st):
        # 2.6.30 read_swap_cache_async: alloc_page_vma + add_to_swap_cache, no memcg charge;
        # the page is charged when a fault maps it (mem_cgroup_try_charge_swapin)
        f = frame_get(st)
    else:
        f, t = try_charge(st, t, True, -1)
    if f < 0:
        return -1, t
    if st.sframe[s] >= 0 or slot_count(st, s) == 0:
        frame_free(st, f)  # the slot was read or freed while the charge reclaimed
        return -1, t
    slot_set(st, s, slot_count(st, s), True)  # swapcache_prepare: SWAP_HAS_CACHE
    add_to_swap_cache(st, f, s)
    st.fr[FR_FLAGS, f] |= PG_READAHEAD
    lru_add_head(st, f, LRU_INACTIVE)
    submit_read(st, f, t)
    st.c[V_SWAP_RA] += 1
    return f, t


@jit
def swapin_window(st, s, v):
    """The window of swapin_readahead(): VMA window (swap_vma_readahead, swap_ra_info) over
    virtual pages, or the aligned cluster over slots (swap_cluster_readahead) around the
    fault (mm/swap_state.c, 6.1).  Returns (lo, hi, vma); lo == hi when there is none."""
    g = st.g
    if st.k[K_READAHEAD] == 0.0 or g[G_PAGE_CLUSTER] == 0:
        return np.int64(0), np.int64(0), False
    if g[G_VMA_RA]:
        win = swapin_nr_pages(st, v, True)
        if win <= 1:
            return np.int64(0), np.int64(0), True
        prev = g[G_RA_PREV_V]
        if prev == v - 1:
            lo = v
        elif prev == v + 1:
            lo = v - win + 1
        else:
            lo = v - (win - 1) // 2
        hi = lo + win
        if lo < g[G_REGION_LO]:
            lo = g[G_REGION_LO]
        if hi > g[G_REGION_HI]:
            hi = g[G_REGION_HI]
        return np.int64(lo), np.int64(hi), True
    win = swapin_nr_pages(st, s, False)
    if win <= 1:
        return np.int64(0), np.int64(0), False
    mask = win - 1
    start = s & ~mask
    if start == 0:
        start = 1  # "First page is swap header." (6.1.192 mm/swap_state.c:633)
    end = s | mask
    if end >= g[G_NSLOTS]:
        end = g[G_NSLOTS] - 1
    return np.int64(start), np.int64(end + 1), False


@jit
def swapin_readahead(st, s, v, lo, hi, vma, t):
    """Start the reads of the window entries in [lo, hi) other than the target, in address
    order as the readahead loops submit them (mm/swap_state.c, 6.1); stops if a charge
    OOM-killed the task.  Returns the time."""
    for w in range(lo, hi):
        if st.g[G_KILLED]:
            break
        if vma:
            if w == v:
                continue
            p = st.pte[w]
            if p != PTE_NONE and (p & SWP_BIT):
                _, t = read_swap_cache_async(st, p & ~SWP_BIT, t, False)
        elif w != s:
            _, t = read_swap_cache_async(st, w, t, False)
    return t


@jit
def swapcache_clear(st, s):
    """swapcache_clear(): drop the SWAP_HAS_CACHE that swapcache_prepare took for a fault
    skipping the swap cache; free the slot if nothing else holds it (6.1.192
    mm/swapfile.c:3400)."""
    swap_drop_cache_ref(st, s)


@jit
def do_swap_page_skip_swapcache(st, v, s, write, t):
    """do_swap_page() on a SWP_SYNCHRONOUS_IO device (zram) with __swap_count == 1: no
    readahead and no swap cache.  swapcache_prepare pins the slot (SWAP_HAS_CACHE), a page
    is charged (mem_cgroup_swapin_charge_folio, may reclaim), read synchronously and mapped;
    swap_free then swapcache_clear free the slot (6.1.192 mm/memory.c:3842-3880, :4038,
    :4110; 6.12.117 :4280).  Returns time; sets G_KILLED if the charge OOM-killed."""
    st.c[V_PGMAJFAULT] += 1
    slot_set(st, s, slot_count(st, s), True)  # swapcache_prepare
    f, t = try_charge(st, t, True, -1)
    if f < 0:
        swapcache_clear(st, s)
        return t
    if st.pte[v] != (SWP_BIT | s):
        frame_free(st, f)  # the pte changed while we slept
        swapcache_clear(st, s)
        return t
    lru_add_head(st, f, LRU_INACTIVE)  # folio_add_lru
    t = submit_read(st, f, t)  # swap_readpage(synchronous)
    page_add_rmap(st, f, v)
    if memcg_v1(st):
        mem_cgroup_uncharge_swap(st, s)  # mem_cgroup_swapin_uncharge_swap: memsw moves
    swap_free(st, s)
    swapcache_clear(st, s)
    if write:
        st.fr[FR_FLAGS, f] |= PG_DIRTY
    return t


@jit
def do_swap_page(st, v, write, t):
    """do_swap_page(): swap-in fault on pte v (mm/memory.c, 6.1).  Returns time; sets
    G_KILLED if charging the page OOM-killed the process.

    On a SWP_SYNCHRONOUS_IO device (zram) ``sync_io_swapin`` says what the kernel does: 4.15
    .. 6.x skip the swap cache for a slot with one swap pte (:func:`do_swap_page_skip_swapcache`);
    7.2 reads every slot through the swap cache without readahead (swapin_sync, 7.2.13
    mm/memory.c:4832) and always tries to free it after mapping (should_try_to_free_swap,
    :4527)."""
    g = st.g
    s = st.pte[v] & ~SWP_BIT
    f = st.sframe[s]
    t += cost(st, st.k[K_CPU_SWAPFAULT])
    st.c[C_EVENTS] += 1
    sync_mode = np.int64(st.k[K_SYNC_IO_SWAPIN]) if g[G_SYNC_IO] else SYNC_SWAPIN_NONE
    if f < 0 and sync_mode == SYNC_SWAPIN_SKIP_CACHE and slot_count(st, s) == 1:
        return do_swap_page_skip_swapcache(st, v, s, write, t)
    if f >= 0:
        if st.fr[FR_FLAGS, f] & PG_READAHEAD:
            st.fr[FR_FLAGS, f] &= ~PG_READAHEAD
            st.c[V_SWAP_RA_HIT] += 1
            g[G_RA_HITS] += 1
        if st.fr[FR_FLAGS, f] & PG_LOCKED:
            t = lock_wait(st, f, t)
        if memcg_v1(st):
            ok, t = mem_cgroup_try_charge_swapin(st, f, t)
            if not ok:
                return t
    else:
        st.c[V_PGMAJFAULT] += 1
        # the window's reads go out in address order, the target's among them: entries
        # before it, the target, entries after it (the fault then waits for the target only)
        if sync_mode == SYNC_SWAPIN_SYNC:
            lo, hi, vma = np.int64(0), np.int64(0), False  # swapin_sync: no readahead
        else:
            lo, hi, vma = swapin_window(st, s, v)
        pivot = v if vma else s
        t = swapin_readahead(st, s, v, lo, min(pivot, hi), vma, t)
        if g[G_KILLED]:
            return t
        f, t = try_charge(st, t, True, -1)
        if f < 0:
            return t
        if st.pte[v] != (SWP_BIT | s):
            frame_free(st, f)  # the pte changed while we slept
            return t
        done = np.int64(-1)
        if st.sframe[s] >= 0:
            frame_free(st, f)
            f = st.sframe[s]
            if memcg_v1(st):
                ok, t = mem_cgroup_try_charge_swapin(st, f, t)
                if not ok:
                    return t
        else:
            slot_set(st, s, slot_count(st, s), True)
            add_to_swap_cache(st, f, s)
            lru_add_head(st, f, LRU_INACTIVE)
            done = submit_read(st, f, t)
        t = swapin_readahead(st, s, v, max(pivot + 1, lo), hi, vma, t)
        if g[G_KILLED]:
            return t  # the exit zapped pte v; the target's page stays in the swap cache
        if done >= 0:
            advance_to(st, t)
            t = lock_wait(st, f, t)
            if t < done:
                t = done
    g[G_RA_PREV_V] = v
    page_add_rmap(st, f, v)
    if memcg_v1(st):
        # mem_cgroup_commit_charge_swapin: the page now carries memsw; drop the slot's record
        mem_cgroup_uncharge_swap(st, s)
    swap_free(st, s)
    if write:
        st.fr[FR_FLAGS, f] |= PG_DIRTY
    exclusive = st.fr[FR_MAPCOUNT, f] == 1 and slot_count(st, s) == 0
    # the fault holds the folio lock here (folio_lock_or_retry, mm/memory.c 6.1.192:3918):
    # no trylock to lose before folio_free_swap (:4040)
    if (st.k[K_SWAPIN_FREE] == SWAPIN_FREE_ALWAYS or mem_cgroup_swap_full(st)
            or (write and exclusive) or sync_mode == SYNC_SWAPIN_SYNC):
        if not (st.fr[FR_FLAGS, f] & PG_WRITEBACK):
            folio_free_swap(st, f, False)
    return t


@jit
def do_wp_page(st, f):
    """The write-protect fault on a page mapped read-only after a read swap-in: reused.
    2.6.x .. 5.18 reuse_swap_page() frees its swap (knob wp_free_swap); 5.19+ do_wp_page
    reuses a PageAnonExclusive page and keeps the swap cache (6.1.192 mm/memory.c:3461)."""
    if st.k[K_WP_FREE_SWAP] != 0.0 and (st.fr[FR_FLAGS, f] & PG_SWAPCACHE):
        if not (st.fr[FR_FLAGS, f] & PG_WRITEBACK) and trylock_page(st, f):
            folio_free_swap(st, f, False)
    st.fr[FR_FLAGS, f] |= PG_DIRTY


@jit
def fault_page(st, v, write, t):
    """One access by the running task to virtual page v.  Returns time.

    The guest writes a page as ``q[1] = q[1] + 1`` (kernels/guest/swapwl.c op_fault): a
    load, then a store.  On a swap pte the load faults first (do_swap_page, no
    FAULT_FLAG_WRITE), the store then takes the write-protect fault on the mapped page."""
    p = st.pte[v]
    if p == PTE_NONE:
        return t
    if p & SWP_BIT:
        t = do_swap_page(st, v, False, t)
        p = st.pte[v]
        if write and not st.g[G_KILLED] and p != PTE_NONE and not (p & SWP_BIT):
            do_wp_page(st, p)
        return t
    f = p
    st.c[C_EVENTS] += 1
    t += cost(st, st.k[K_CPU_WRITE])
    if write:
        do_wp_page(st, f)
    return t


# =============================================================================================
# ops
# =============================================================================================

OP_ALLOC = 0
OP_TOUCH = 1
OP_READBACK = 2
OP_PAGEOUT = 3
OP_UNMAP = 4
OP_RACE = 5
OP_FORK = 6
OP_SLEEP = 7
OP_SET = 8
OP_EXIT = 9
OP_START = 10

SET_MEMORY_MAX = 0
SET_SWAP_MAX = 1
SET_SWAP_HIGH = 2

# op row columns
O_CODE, O_PROC, O_LABEL, O_LO, O_HI, O_A, O_B, O_C = 0, 1, 2, 3, 4, 5, 6, 7


@jit
def page_order(st, lo, hi, random):
    """Pages lo..hi-1 in sequence, or in a random order (Fisher-Yates in the model's RNG),
    in ``st.perm[:n]``; returns n."""
    n = hi - lo
    perm = st.perm
    for i in range(n):
        perm[i] = lo + i
    if random:
        for i in range(n - 1, 0, -1):
            j = np.int64(rng_next(st.rng) % np.uint64(i + 1))
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
    return n


@jit
def op_alloc(st, lo, hi, t):
    """mmap + write every page: anonymous faults (do_anonymous_page), each charged."""
    for v in range(lo, hi):
        advance_to(st, t)
        f, t = try_charge(st, t, True, -1)
        if f < 0:
            return t
        st.fr[FR_FLAGS, f] |= PG_DIRTY
        page_add_rmap(st, f, v)
        lru_add_head(st, f, LRU_INACTIVE)  # new anon folios start inactive (5.9+)
        t += cost(st, st.k[K_CPU_FAULT])
        st.c[C_EVENTS] += 1
        maybe_schedule_worker(st, t)
    return t


@jit
def op_access(st, lo, hi, write, random, t):
    """touch/readback: fault every page in order."""
    n = page_order(st, lo, hi, random)
    for i in range(n):
        advance_to(st, t)
        t = fault_page(st, st.perm[i], write, t)
        if st.g[G_KILLED]:
            return t
    return t


@jit
def op_pageout(st, lo, hi, t):
    """madvise(MADV_PAGEOUT): reclaim_pages() on the mapped, unshared pages (6.1)."""
    for v in range(lo, hi):
        advance_to(st, t)
        p = st.pte[v]
        if p == PTE_NONE or (p & SWP_BIT):
            continue
        f = p
        if st.fr[FR_MAPCOUNT, f] != 1:
            continue  # madvise_cold_or_pageout_pte_range skips shared folios
        t += cost(st, st.k[K_CPU_PAGEOUT])
        pswpout = st.c[V_PSWPOUT]
        shrink_folio(st, f, False, t)
        t += sync_write_time(st, pswpout)
        st.c[C_EVENTS] += 1
        maybe_schedule_worker(st, t)
    return t


@jit
def munmap_range(st, a, b, t):
    """One munmap call (or one VMA it tears down: split, TLB flush), then zap_pte_range over
    ptes a..b-1, the clock advancing before each.  Returns the time after it."""
    t += cost(st, st.k[K_CPU_MUNMAP])
    for v in range(a, b):
        advance_to(st, t)
        t = zap_pte(st, v, t)
    return t


@jit
def op_unmap(st, lo, hi, t):
    """munmap: one call, zap every pte."""
    return munmap_range(st, lo, hi, t)


@jit
def op_race(st, lo, hi, chunk, keep, sequential, t):
    """race_unmap: a munmap thread zaps the even chunks while a reader thread on another CPU
    reads the odd chunks; both advance by simulated time, earliest first.  Then the rest.

    Reader ``probe`` (as the guest's toucher): the middle page of each odd chunk, until the
    munmap thread is done.  Reader ``sequential``: every page of each odd chunk in order, so
    readahead windows grow and reach the next (even) chunk; the munmap thread zaps even chunk
    c only once the reader has finished chunk c - 1, while that readahead may be in flight.
    Scheduling noise (``sched_jitter_us``): each munmap call and each read starts late by
    U(0, sched_jitter_us)."""
    nchunks = (hi - lo + chunk - 1) // chunk
    tz = t  # munmap thread
    tr = t  # reader thread
    ze = 0  # next even chunk index
    ro = 1  # next odd chunk index
    ri = 0  # sequential: next page within the odd chunk
    one_cpu = st.g[G_VCPUS] <= 1
    while True:
        zap_ready = ze < nchunks and (not sequential or ze == 0 or ro >= ze + 1
                                      or ro >= nchunks)
        can_read = ro < nchunks and (sequential or ze < nchunks or tr < tz)
        if not zap_ready and not can_read:
            break
        if zap_ready and (not can_read or tz <= tr):
            a = lo + ze * chunk
            b = min(hi, a + chunk)
            tz += sched_delay(st)  # the munmap thread is scheduled a little late
            start = tz
            tz = munmap_range(st, a, b, tz)  # one munmap call per even chunk
            if one_cpu:
                tr += tz - start
            ze += 2
            continue
        if sequential:
            v = lo + ro * chunk + ri
            ri += 1
            if ri >= chunk or v + 1 >= hi:
                ri = 0
                ro += 2
        else:
            v = lo + ro * chunk + chunk // 2
            ro += 2
        if v >= hi:
            continue
        tr += sched_delay(st)  # the reader is scheduled a little late
        advance_to(st, tr)
        start = tr
        tr = fault_page(st, v, False, tr)
        if st.g[G_KILLED]:
            return max(tr, tz)
        if one_cpu:
            tz += tr - start
        if sequential and ri == 0 and ro == ze + 1:
            tz = max(tz, tr)  # the munmap thread waited for this chunk to be read
    t = max(tz, tr)
    if not keep:
        for ci in range(1, nchunks, 2):
            a = lo + ci * chunk
            b = min(hi, a + chunk)
            t = munmap_range(st, a, b, t)  # each odd chunk is a VMA of its own now
    return t


@jit
def op_fork(st, lo, hi, hi_read, children, child_base, t):
    """fork_touch: each child (one after another) copies the region's ptes (copy_pte_range:
    swap_duplicate / page_dup_rmap), reads a fraction of it, then exits; ``sched_jitter_us``
    delays each fork and each exit by U(0, sched_jitter_us)."""
    g = st.g
    d = child_base - lo
    for _ in range(children):
        t += sched_delay(st)  # the child is forked a little late
        g[G_CHILD_LO] = child_base
        g[G_CHILD_HI] = child_base + (hi - lo)
        g[G_CHILD_DELTA] = d
        for v in range(lo, hi):
            p = st.pte[v]
            w = v + d
            if p == PTE_NONE:
                continue
            t += cost(st, st.k[K_CPU_ZAP])
            if p & SWP_BIT:
                swap_duplicate(st, p & ~SWP_BIT)
                st.pte[w] = p
            else:
                page_add_rmap(st, p, w)
        old_lo = g[G_REGION_LO]
        old_hi = g[G_REGION_HI]
        g[G_REGION_LO] = child_base
        g[G_REGION_HI] = child_base + (hi - lo)
        for v in range(lo, hi_read):
            advance_to(st, t)
            t = fault_page(st, v + d, False, t)
            if g[G_KILLED]:
                break
        g[G_REGION_LO] = old_lo
        g[G_REGION_HI] = old_hi
        t += sched_delay(st)  # the child exits a little late (its reads may end meanwhile)
        for v in range(child_base, child_base + (hi - lo)):
            advance_to(st, t)
            t = zap_pte(st, v, t)
        g[G_CHILD_HI] = g[G_CHILD_LO]
        if g[G_KILLED]:
            break
    return t


@jit
def op_set(st, which, value_pages, t):
    """Write memory.max / memory.swap.max / memory.swap.high (memory_max_write reclaims
    down to the new limit, then OOM-kills, memcontrol.c 6.1)."""
    g = st.g
    if memcg_v1(st):
        return op_set_v1(st, which, value_pages, t)
    if which == SET_SWAP_MAX:
        g[G_SWAP_MAX] = value_pages
    elif which == SET_SWAP_HIGH:
        g[G_SWAP_HIGH] = value_pages
    else:
        g[G_MEM_MAX] = value_pages
        retries = np.int64(st.k[K_RECLAIM_RETRIES])
        while g[G_MEM_CUR] > g[G_MEM_MAX]:
            freed, t = shrink_lruvec(st, True, g[G_MEM_CUR] - g[G_MEM_MAX], t, True)
            advance_to(st, t)
            if freed > 0:
                continue
            if g[G_WB_SEEN] > 0 and io_pending(st):
                t = wait_io(st, t)
                continue
            if retries > 0:
                retries -= 1
                continue
            st.c[V_MEMCG_OOM] += 1
            st.c[V_MEMCG_OOM_KILL] += 1
            st.c[V_OOM_KILL] += 1
            t = kill_current(st, t)
            break
    return t


@jit
def resize_memsw_limit(st):
    """v1 mem_cgroup_resize_memsw_limit() to memory.max + swap.max: reclaim is noswap, so
    anon usage never shrinks; below the usage the write fails (-EBUSY) and the old limit
    stays (res_counter_set_limit, 2.6.30)."""
    g = st.g
    new = memsw_limit(g[G_MEM_MAX], g[G_SWAP_MAX])
    if new >= g[G_MEMSW_CUR]:
        g[G_MEMSW_MAX] = new


@jit
def resize_limit(st, value_pages, t):
    """v1 mem_cgroup_resize_limit(): reclaim (swap allowed) down to the new res limit; with
    no progress after the retries the write fails (-EBUSY) and the old limit stays: no OOM
    kill (2.6.30).  Returns the time."""
    g = st.g
    old = g[G_MEM_MAX]
    g[G_MEM_MAX] = value_pages
    retries = np.int64(st.k[K_RECLAIM_RETRIES])
    while g[G_MEM_CUR] > g[G_MEM_MAX]:
        freed, t = shrink_lruvec(st, True, g[G_MEM_CUR] - g[G_MEM_MAX], t,
                                 memcg_reclaim_may_swap(st, LIM_RES))
        advance_to(st, t)
        if freed > 0:
            continue
        if io_pending(st):
            t = wait_io(st, t)
            continue
        if retries > 0:
            retries -= 1
            continue
        g[G_MEM_MAX] = old
        break
    return t


@jit
def op_set_v1(st, which, value_pages, t):
    """The scenario's limits in v1 terms: memory.max is memory.limit_in_bytes, swap.max the
    memsw headroom above it (memory.memsw.limit_in_bytes = memory.max + swap.max);
    swap.high has no v1 counterpart.  Returns the time."""
    g = st.g
    if which == SET_SWAP_HIGH:
        g[G_SWAP_HIGH] = value_pages
        return t
    if which == SET_SWAP_MAX:
        g[G_SWAP_MAX] = value_pages
    else:
        t = resize_limit(st, value_pages, t)
    resize_memsw_limit(st)
    return t


# =============================================================================================
# invariants
# =============================================================================================

INV_OK = 0
INV_SLOT_COUNT = 1
INV_FREE_REFERENCED = 2
INV_CACHE_LINK = 3
INV_MEM_CUR = 4
INV_SWAP_CUR = 5
INV_NR_FREE = 6
INV_MAPCOUNT = 7
INV_LRU = 8
INV_CACHE_FLAG = 9
INV_CLUSTER = 10
INV_MEMSW = 11


@jit
def check_invariants(st, refs, maps):
    """Recompute the state from scratch and compare.  Returns INV_OK or the first failure
    code; ``refs``/``maps`` are int64 scratch arrays of nslots and nframes."""
    g = st.g
    ns = g[G_NSLOTS]
    nf = g[G_NFRAMES]
    refs[:] = 0
    maps[:] = 0
    for v in range(st.pte.shape[0]):
        p = st.pte[v]
        if p == PTE_NONE:
            continue
        if p & SWP_BIT:
            refs[p & ~SWP_BIT] += 1
        else:
            maps[p] += 1
    nfree = 0
    charged = 0
    records = 0
    if refs[0] != 0 or st.sframe[0] >= 0:
        return INV_FREE_REFERENCED  # the header slot is never allocated
    for s in range(1, ns):
        if st.swap_map[s] == 0:
            nfree += 1
            if refs[s] != 0 or st.sframe[s] >= 0:
                return INV_FREE_REFERENCED
            continue
        if st.sflags[s] & SL_CHARGED:
            charged += 1
        if st.sflags[s] & SL_RECORD:
            records += 1
        if slot_count(st, s) != refs[s]:
            return INV_SLOT_COUNT
        f = st.sframe[s]
        incache = slot_has_cache(st, s)
        if f >= 0:
            if not incache:
                return INV_CACHE_FLAG
            if st.fr[FR_SLOT, f] != s or not (st.fr[FR_FLAGS, f] & PG_SWAPCACHE):
                return INV_CACHE_LINK
        elif incache and not (st.sflags[s] & SL_PINNED):
            return INV_CACHE_FLAG
    if nfree != g[G_NR_SWAP_FREE]:
        return INV_NR_FREE
    if charged != g[G_SWAP_CUR]:
        return INV_SWAP_CUR
    for ci in range(g[G_NCLUSTERS]):
        n = 0
        for s in range(max(1, ci * g[G_CLUSTER]), min(ns, (ci + 1) * g[G_CLUSTER])):
            if st.swap_map[s] == 0:
                n += 1
        if n != st.clfree[ci]:
            return INV_CLUSTER
        if st.k[K_SWAP_ALLOCATOR] == ALLOC_CLUSTER:
            # between allocations every cluster is on the list its count says (7.2)
            flag = st.cll[CLL_FLAG, ci]
            if flag == CL_NONE or (flag == CL_FREE) != (st.clfree[ci] == g[G_CLUSTER]) or \
                    (flag == CL_FULL and st.clfree[ci] != 0):
                return INV_CLUSTER
    used = 0
    pcg = 0
    nlru = 0
    for f in range(nf):
        fl = st.fr[FR_FLAGS, f]
        if fl & PCG_USED:
            pcg += 1
        if fl & PG_USED:
            used += 1
            if st.fr[FR_MAPCOUNT, f] != maps[f]:
                return INV_MAPCOUNT
            if st.fr[FR_LIST, f] == LRU_INACTIVE or st.fr[FR_LIST, f] == LRU_ACTIVE:
                nlru += 1
            if fl & PG_SWAPCACHE:
                if st.sframe[st.fr[FR_SLOT, f]] != f:
                    return INV_CACHE_LINK
        elif maps[f] != 0:
            return INV_MAPCOUNT
    proc = g[G_PROC_CHARGED]
    if memcg_v1(st):
        if pcg + proc != g[G_MEM_CUR]:
            return INV_MEM_CUR  # res == pages charged (+ the process's fixed charge)
        if g[G_MEMSW_CUR] != pcg + records + proc:
            return INV_MEMSW  # memsw == pages charged + slots holding a record
    elif used + proc != g[G_MEM_CUR]:
        return INV_MEM_CUR
    if nlru != g[G_LRU_N0] + g[G_LRU_N1] or nlru != used:
        return INV_LRU
    return INV_OK


# =============================================================================================
# the run
# =============================================================================================


@jit
def phase_pause(st, t):
    """The guest harness stops the workload at each phase end while it snapshots; time (and
    I/O) goes on.  Returns the time after the pause."""
    t += np.int64(st.k[K_PHASE_PAUSE_S] * 1e9 * st.k[K_SPEED])
    advance_to(st, t)
    return t


@jit
def snapshot(st, label, t):
    """End-of-phase snapshot."""
    if label >= 0:
        observe(st, st.snaps[label])
        st.snap_t[label] = t / 1e9


@jit(nrt=True)
def run_ops(st, ops, fops, procs, child_base):
    """Run every op of every process, then drain I/O; returns the end time (ns)."""
    g = st.g
    t = np.int64(0)
    max_t = np.int64(st.k[K_MAX_SIM_S] * 1e9)
    check = st.k[K_CHECK] != 0.0
    refs = np.zeros(g[G_NSLOTS] if check else 1, dtype=np.int64)
    maps = np.zeros(g[G_NFRAMES] if check else 1, dtype=np.int64)
    cur_proc = -1
    for i in range(ops.shape[0]):
        code = ops[i, O_CODE]
        proc = ops[i, O_PROC]
        label = ops[i, O_LABEL]
        lo = ops[i, O_LO]
        hi = ops[i, O_HI]
        if proc != cur_proc:
            cur_proc = proc
            g[G_KILLED] = 0
            g[G_PROC_LO] = procs[proc, 0]
            g[G_PROC_HI] = procs[proc, 1]
            proc_charge(st)
        if t > max_t:
            g[G_STOPPED] = 1
        if g[G_KILLED] or g[G_STOPPED]:
            snapshot(st, label, t)
            if code == OP_EXIT and not g[G_STOPPED]:
                t = phase_pause(st, t)
            continue
        pj = st.k[K_PHASE_SPEED_JITTER]
        if pj > 0.0:  # the guest's speed for this op row: one draw U(1 - pj, 1 + pj)
            st.k[K_SPEED] = 1.0 + pj * (2.0 * rng_uniform(st.rng) - 1.0)
        advance_to(st, t)
        g[G_REGION_LO] = lo
        g[G_REGION_HI] = ops[i, O_C]
        if code == OP_ALLOC:
            t = op_alloc(st, lo, hi, t)
        elif code == OP_TOUCH or code == OP_READBACK:
            t = op_access(st, lo, hi, code == OP_TOUCH, ops[i, O_A] != 0, t)
        elif code == OP_PAGEOUT:
            t = op_pageout(st, lo, hi, t)
        elif code == OP_UNMAP:
            t = op_unmap(st, lo, hi, t)
        elif code == OP_RACE:
            t = op_race(st, lo, hi, ops[i, O_A], (ops[i, O_B] & 1) != 0, (ops[i, O_B] & 2) != 0, t)
        elif code == OP_FORK:
            t = op_fork(st, lo, ops[i, O_B], hi, ops[i, O_A], child_base, t)
        elif code == OP_SLEEP:
            t += np.int64(fops[i] * 1e9)
        elif code == OP_SET:
            vp = ops[i, O_B]
            t = op_set(st, ops[i, O_A], vp, t)
        elif code == OP_EXIT:
            for v in range(lo, hi):
                advance_to(st, t)
                t = zap_pte(st, v, t)
            proc_uncharge(st)
        advance_to(st, t)
        if check and g[G_INV_FAIL] == 0:
            r = check_invariants(st, refs, maps)
            if r != INV_OK:
                g[G_INV_FAIL] = r * 1000000 + i
        snapshot(st, label, t)
        if label >= 0:
            t = phase_pause(st, t)
    # drain: writeback, reads and a pending worker finish
    while True:
        te = io_next_time(st)
        if te >= INF or te > max_t:
            break
        if te > t:
            t = te
        advance_to(st, t)
    advance_to(st, t)
    if check and g[G_INV_FAIL] == 0:
        r = check_invariants(st, refs, maps)
        if r != INV_OK:
            g[G_INV_FAIL] = r * 1000000 + ops.shape[0]
    return t


def new_state(nframes: int, nslots: int, nvpages: int, knobs: np.ndarray, seed: int,
              nlabels: int, sample_cap: int, vcpus: int, page_cluster: int, vma_ra: bool,
              mem_max: int, swap_max: int, swap_high: int, write_mib_s: float,
              read_mib_s: float) -> State:
    """Allocate and initialise the state arrays."""
    fr = np.full((N_FR, nframes), -1, dtype=np.int32)
    fr[FR_FLAGS] = 0
    fr[FR_MAPCOUNT] = 0
    fr[FR_LIST] = LIST_FREE
    fr[FR_NEXT, :-1] = np.arange(1, nframes, dtype=np.int32)
    fr[FR_NEXT, -1] = -1
    era = int(knobs[K_ERA])
    cl = SWAPFILE_CLUSTER_THP if era == sm.ERA_2633 else SWAPFILE_CLUSTER_OLD
    nclusters = (nslots + cl - 1) // cl
    clfree = np.full(nclusters, cl, dtype=np.int32)
    if nslots % cl:
        clfree[-1] = nslots % cl
    clfree[0] -= 1  # slot 0: the swap header, SWAP_MAP_BAD (6.1.192 mm/swapfile.c:2953)
    swap_map = np.zeros(nslots, dtype=np.uint16)
    swap_map[0] = sm.swap_map_bad(era)
    g = np.zeros(N_G, dtype=np.int64)
    g[G_NFRAMES] = nframes
    g[G_NSLOTS] = nslots
    g[G_CLUSTER] = cl
    # swapon: lowest_bit 1, highest_bit maxpages - 1, cluster_next 1, cluster_nr 0
    # (6.1.192 mm/swapfile.c:2870-2890)
    g[G_LOWEST_BIT] = 1
    g[G_HIGHEST_BIT] = nslots - 1
    g[G_CURSOR] = 1
    g[G_CLUSTER_NR] = 0
    g[G_NVPAGES] = nvpages
    g[G_FREE_HEAD] = 0
    g[G_NR_FREE_FRAMES] = nframes
    for i in (G_LRU_HEAD0, G_LRU_TAIL0, G_LRU_HEAD1, G_LRU_TAIL1):
        g[i] = -1
    g[G_MEM_MAX] = mem_max
    g[G_SWAP_MAX] = swap_max
    g[G_MEMSW_MAX] = memsw_limit(mem_max, swap_max)
    g[G_SWAP_HIGH] = swap_high
    g[G_NR_SWAP_FREE] = nslots - 1
    wbw = write_mib_s if write_mib_s > 0 else knobs[K_FAST_WRITE]
    rdw = read_mib_s if read_mib_s > 0 else knobs[K_FAST_READ]
    g[G_WPAGE_NS] = max(1, int(round(4096 / (wbw * 1048576.0) * 1e9)))
    g[G_RPAGE_NS] = max(1, int(round(4096 / (rdw * 1048576.0) * 1e9)))
    burst = int(round(knobs[K_IO_BURST_S] * 1e9))
    g[G_WBURST_NS] = burst if write_mib_s > 0 else 0
    g[G_RBURST_NS] = burst if read_mib_s > 0 else 0
    # admitted I/O runs at the unthrottled disk's speed; no burst: a FIFO at the throttle
    g[G_WFAST_NS] = (max(1, int(round(4096 / (knobs[K_FAST_WRITE] * 1048576.0) * 1e9)))
                     if g[G_WBURST_NS] > 0 else g[G_WPAGE_NS])
    g[G_RFAST_NS] = (max(1, int(round(4096 / (knobs[K_FAST_READ] * 1048576.0) * 1e9)))
                     if g[G_RBURST_NS] > 0 else g[G_RPAGE_NS])
    g[G_VCPUS] = vcpus
    g[G_PAGE_CLUSTER] = page_cluster
    g[G_VMA_RA] = 1 if vma_ra else 0
    g[G_RA_PREV_V] = -10
    g[G_RA_PREV_OFF] = -10
    g[G_WORKER_T] = INF
    g[G_SAMPLE_CAP] = sample_cap
    g[G_DT_NS] = max(1, int(round(knobs[K_SAMPLE_S] * 1e9)))
    g[G_NCLUSTERS] = nclusters
    # setup_swap_clusters_info: a cluster holding bad slots (the header; the tail past the
    # device) goes on the nonfull list, every other on the free list, in order (7.2.13
    # mm/swapfile.c:3580-3590); global_cluster->next = SWAP_ENTRY_INVALID (:3541)
    cll = np.full((3, nclusters), -1, dtype=np.int32)
    cll[CLL_FLAG] = CL_NONE
    for i in range(4):
        g[G_CLL_HEAD + i] = -1
        g[G_CLL_TAIL + i] = -1
    for ci in range(nclusters):
        flag = CL_NONFULL if (ci == 0 or ci == nclusters - 1 and nslots % cl) else CL_FREE
        li = flag - 1
        cll[CLL_FLAG, ci] = flag
        cll[CLL_PREV, ci] = g[G_CLL_TAIL + li]
        if g[G_CLL_TAIL + li] >= 0:
            cll[CLL_NEXT, g[G_CLL_TAIL + li]] = ci
        else:
            g[G_CLL_HEAD + li] = ci
        g[G_CLL_TAIL + li] = ci
    rng = np.zeros(1, dtype=np.uint64)
    rng[0] = np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64))
    return State(
        fr=fr,
        swap_map=swap_map,
        scont=np.zeros(nslots, dtype=np.uint16),
        sframe=np.full(nslots, -1, dtype=np.int32),
        sflags=np.zeros(nslots, dtype=np.uint8),
        clfree=clfree,
        cll=cll,
        pte=np.full(nvpages, PTE_NONE, dtype=np.int32),
        g=g,
        c=np.zeros(N_COUNTERS, dtype=np.int64),
        k=np.append(knobs.astype(np.float64), 1.0),  # + K_SPEED
        wbq_f=np.zeros(nframes + 1, dtype=np.int32),
        wbq_t=np.zeros(nframes + 1, dtype=np.int64),
        rdq_f=np.zeros(nframes + 1, dtype=np.int32),
        rdq_t=np.zeros(nframes + 1, dtype=np.int64),
        acache=np.zeros(SWAP_SLOTS_CACHE_SIZE, dtype=np.int32),
        fcache=np.zeros(SWAP_SLOTS_CACHE_SIZE, dtype=np.int32),
        rng=rng,
        perm=np.zeros(max(1, nvpages), dtype=np.int32),
        samples=np.zeros((sample_cap, N_VARS), dtype=np.float64),
        snaps=np.zeros((max(1, nlabels), N_VARS), dtype=np.float64),
        snap_t=np.zeros(max(1, nlabels), dtype=np.float64),
    )
