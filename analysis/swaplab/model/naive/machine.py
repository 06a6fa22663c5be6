"""The whole simulated machine: memory, swap device, memcg, I/O queues, task, counters."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from swaplab.model.naive.knobs import Knobs
from swaplab.model.naive.mem import Lru, Page, Ram
from swaplab.model.naive.memcg import Memcg
from swaplab.model.naive.rng import SplitMix64
from swaplab.model.naive.swapdev import SwapDevice

NEVER = 1 << 62  # "no event pending" (ns)


@dataclass
class IoQueue:
    """One direction of the swap disk: QEMU's leaky-bucket throttle in front of a disk,
    and the FIFO of requests in flight as (completion time, page)."""

    page_ns: int  # one page at the throttled bandwidth: what it adds to the bucket
    burst_ns: int = 0  # the bucket admits I/O at once while it holds less than this
    fast_ns: int = 0  # one admitted page on the disk behind the throttle
    bucket_empty_at: int = 0  # when the bucket would have drained
    queue: deque[tuple[int, Page]] = field(default_factory=deque)
    completed: int = 0  # requests finished so far

    def next_time(self) -> int:
        return self.queue[0][0] if self.queue else NEVER

    def submit(self, page: Page, t: int, scale: float | None) -> tuple[int, int]:
        """Queue one page issued at ``t`` (latency included); returns (its completion, its
        admission).  ``scale`` (io_jitter's draw, or None) scales what it adds to the
        bucket and its time on the disk.

        throttle_compute_wait (QEMU util/throttle.c): admitted once the bucket is under
        ``burst_ns``; each page fills it by ``page_ns``.  Completions keep issue order."""
        fill, service_ns = self.page_ns, self.fast_ns
        if scale is not None:
            fill, service_ns = int(fill * scale), int(service_ns * scale)
        admit = max(t, self.bucket_empty_at - self.burst_ns)
        self.bucket_empty_at = max(admit, self.bucket_empty_at) + fill
        done = admit + service_ns
        if self.queue:
            done = max(done, self.queue[-1][0])
        self.queue.append((done, page))
        return done, admit

    def trade_places(self, back: int) -> int:
        """The newest request completes in the place of the one ``back`` places before it,
        which completes last instead; returns the newest request's completion."""
        t_old, old = self.queue[-1 - back]
        t_new, new = self.queue[-1]
        self.queue[-1 - back] = (t_old, new)
        self.queue[-1] = (t_new, old)
        return t_old


@dataclass
class Counters:
    """Cumulative vmstat / memory.events counters and model diagnostics."""

    pswpin: int = 0
    pswpout: int = 0
    swap_ra: int = 0
    swap_ra_hit: int = 0
    pgmajfault: int = 0
    memcg_max_events: int = 0
    memcg_oom: int = 0
    memcg_oom_kill: int = 0
    oom_kill: int = 0
    trylock_fail: int = 0
    writeback_skip: int = 0
    reclaim_scanned: int = 0
    policy_scan_slots: int = 0
    policy_freed: int = 0
    lock_wait_ns: int = 0
    events: int = 0  # model events: faults, zaps, pages scanned, slots visited, I/O ends


@dataclass
class Readahead:
    """Swap readahead history (swap_ra_info / the static prev_offset, last_readahead_pages)."""

    hits: int = 0  # swapin_readahead_hits
    prev_win: int = 0  # last_readahead_pages
    prev_offset: int = -10  # prev_offset of __swapin_nr_pages
    prev_fault: int = -10  # virtual page of the previous swap fault


@dataclass
class Task:
    """The running process (and its forked child while one runs)."""

    lo: int = 0  # its virtual pages
    hi: int = 0
    child_lo: int = 0
    child_hi: int = 0  # == child_lo when no child
    child_delta: int = 0  # child page = parent page + delta
    killed: bool = False
    fixed_charge: int = 0  # pages it charged besides its anon pages (proc_charge_pages)
    vma_lo: int = 0  # the VMA of the current fault (VMA readahead bounds)
    vma_hi: int = 0


@dataclass
class Machine:
    """All state of one run."""

    knobs: Knobs
    rng: SplitMix64
    ram: Ram
    lru: Lru
    memcg: Memcg
    swap: SwapDevice
    write_q: IoQueue
    read_q: IoQueue
    pte: list  # per virtual page: None, a Page (present) or an int slot (swap pte)
    vcpus: int
    page_cluster: int
    vma_readahead: bool
    sample_ns: int
    swappiness_zero: bool = False  # vm.swappiness 0: cgroup reclaim scans no anon
    sync_io: bool = False  # SWP_SYNCHRONOUS_IO swap device (zram)
    counters: Counters = field(default_factory=Counters)
    ra: Readahead = field(default_factory=Readahead)
    task: Task = field(default_factory=Task)
    nr_mapped: int = 0  # pages with mapcount > 0 (memory.stat anon)
    worker_at: int = NEVER  # pending async scan worker
    worker_armed: bool = False  # an allocation filled the device (swap_range_alloc)
    nr_writeback_seen: int = 0  # sc->nr.writeback of the last shrink_lruvec
    stopped: bool = False  # max_sim_s passed
    speed: float = 1.0  # the current op row's speed factor (phase_speed_jitter)
    samples: list[list[int]] = field(default_factory=list)

    # -- small helpers used by every rule --
    def cost(self, base_ns: float) -> int:
        """A CPU cost at the op row's speed with the jitter knob applied:
        base * speed * (1 + jitter * U(-1, 1)) (ns)."""
        j = self.knobs.jitter
        b = base_ns * self.speed
        if j > 0.0 and b > 0.0:
            return int(b * (1.0 + j * (2.0 * self.rng.uniform() - 1.0)))
        return int(b)

    def sched_delay(self) -> int:
        """A racing thread starts its next step late by U(0, sched_jitter_us) (ns); no
        draw when the knob is 0."""
        j = self.knobs.sched_jitter_us
        if j > 0.0:
            return int(j * 1000.0 * self.rng.uniform())
        return 0

    def io_pending(self) -> bool:
        return bool(self.write_q.queue or self.read_q.queue)

    def next_event_time(self) -> int:
        """Earliest I/O completion or worker run."""
        return min(self.write_q.next_time(), self.read_q.next_time(), self.worker_at)
