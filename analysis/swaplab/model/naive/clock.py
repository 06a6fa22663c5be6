"""Simulated time: I/O submission and completion, sleeping on it, the sampler.

One rule orders everything (:func:`advance_to`): before the workload moves on to time t,
every pending event up to t runs, earliest first; at equal times writeback completion,
then read completion, then the async scan worker, and all of them before a sample.
"""

from __future__ import annotations

from collections.abc import Callable

from swaplab.model.naive import scan
from swaplab.model.naive.machine import NEVER, IoQueue, Machine
from swaplab.model.naive.mem import INACTIVE, Page
from swaplab.model.naive.observe import observe


def submit_io(m: Machine, q: IoQueue, page: Page, t: int) -> int:
    """Issue one page of I/O at ``t`` on queue ``q``; returns when it completes.

    Run-to-run variability: ``io_jitter`` scales its latency, its share of a throttled
    bandwidth and its time on the disk by one U(1 - j, 1 + j) draw; ``io_reorder`` lets it
    trade places with one of the last io_reorder requests still queued (one draw over them
    and itself), unless that one completes before this one was admitted."""
    lat = m.knobs.io_latency_us * 1000.0
    scale = None
    j = m.knobs.io_jitter
    if j > 0.0:
        scale = 1.0 + j * (2.0 * m.rng.uniform() - 1.0)
        lat = lat * scale
    done, admit = q.submit(page, t + int(lat), scale)
    window = min(m.knobs.io_reorder, len(q.queue) - 1)
    if window > 0:
        back = m.rng.below(window + 1)
        if back > 0 and q.queue[-1 - back][0] >= admit:
            done = q.trade_places(back)
    return done


def swap_writepage(m: Machine, page: Page, t: int) -> None:
    """swap_writepage(): PG_writeback (+ PG_reclaim from pageout), queued on the swap
    disk; pswpout++.  A SWP_SYNCHRONOUS_IO device (zram) has written the page when this
    returns (6.1.192 mm/page_io.c:351 bdev_write_page; 7.2.13 :484): clean, no writeback."""
    if m.sync_io:
        page.dirty = False
        m.counters.pswpout += 1
        return
    submit_io(m, m.write_q, page, t)
    page.writeback = True
    page.reclaim = True
    page.dirty = False
    m.counters.pswpout += 1


def swap_readpage(m: Machine, page: Page, t: int) -> int:
    """swap_readpage(): PG_locked until the read completes; pswpin++.  Returns its end.
    On a SWP_SYNCHRONOUS_IO device the read is done on return, after zram_page_ns
    (6.1.192 mm/page_io.c:484 bdev_read_page)."""
    if m.sync_io:
        m.counters.pswpin += 1
        return t + m.cost(m.knobs.zram_page_ns)
    done = submit_io(m, m.read_q, page, t)
    page.locked = True
    m.counters.pswpin += 1
    return done


def sync_write_time(m: Machine, pswpout_before: int) -> int:
    """Time zram spent compressing the page a shrink_folio call wrote synchronously."""
    if m.sync_io and m.counters.pswpout != pswpout_before:
        return m.cost(m.knobs.zram_page_ns)
    return 0


def folio_end_writeback(m: Machine, page: Page) -> None:
    """folio_end_writeback(): clear PG_writeback; folio_rotate_reclaimable moves a clean
    PG_reclaim folio on the inactive list to its tail (mm/swap.c, 6.1)."""
    page.writeback = False
    if page.reclaim:
        page.reclaim = False
        if page.lru == INACTIVE and not page.dirty:
            m.lru.add_tail(page, INACTIVE)


def advance_to(m: Machine, t: int) -> None:
    """Run every event up to time ``t``, earliest first."""
    while True:
        te = m.next_event_time()
        ts = len(m.samples) * m.sample_ns
        if te <= t and te <= ts:
            m.counters.events += 1
            if m.write_q.queue and m.write_q.queue[0][0] == te:
                _, page = m.write_q.queue.popleft()
                m.write_q.completed += 1
                folio_end_writeback(m, page)
            elif m.read_q.queue and m.read_q.queue[0][0] == te:
                _, page = m.read_q.queue.popleft()
                m.read_q.completed += 1
                page.locked = False  # folio_unlock when the read ends
            else:
                m.worker_at = NEVER
                scan.swap_reclaim_work(m)
        elif ts <= t:
            m.samples.append(observe(m))
        else:
            return


def wait_io(m: Machine, t: int) -> int:
    """Sleep until the next event after ``t`` (io_schedule); returns the new time."""
    te = m.next_event_time()
    if te >= NEVER:
        return t
    te = max(te, t)
    advance_to(m, te)
    return te


def _sleep_while(m: Machine, t: int, busy: Callable[[], bool]) -> int:
    """Sleep (I/O goes on) while ``busy()``; the time slept counts as lock wait."""
    t0 = t
    while busy():
        t2 = wait_io(m, t)
        if t2 == t and not m.io_pending():
            break
        t = t2
    m.counters.lock_wait_ns += t - t0
    return t


def folio_lock(m: Machine, page: Page, t: int) -> int:
    """folio_lock(): sleep until the read holding the page lock ends.  Returns the time."""
    return _sleep_while(m, t, lambda: page.locked)


def folio_wait_writeback(m: Machine, page: Page, t: int) -> int:
    """folio_wait_writeback(): sleep until PG_writeback clears.  Returns the time."""
    return _sleep_while(m, t, lambda: page.writeback)


def reclaim_throttle(m: Machine, t: int, batch: int) -> int:
    """reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK): sleep until about ``batch`` more I/Os
    completed, or HZ/10 passed (mm/vmscan.c, 6.1).  Returns the time."""
    def done() -> int:
        return m.write_q.completed + m.read_q.completed

    target = done() + batch
    t_end = t + 100_000_000
    while m.io_pending() and done() < target:
        if m.next_event_time() > t_end:
            t = t_end
            advance_to(m, t)
            break
        t = wait_io(m, t)
    return t
