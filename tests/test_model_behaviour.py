"""Behaviour the model must show: each test names the kernel fact it checks.

Numbers come from the shipped captures of Debian 6.1, 6.12 and 7.2 under QEMU
(data/traces/) and the kernel selftest test_memcg_swap_max_peak
(tools/testing/selftests/cgroup/test_memcontrol.c).
"""

from __future__ import annotations

import pytest

from support import at, sim  # tests/ is on sys.path (rootdir import)
from swaplab.model import simulate
from swaplab.scenario import MIB_PAGES, scenario_from_text


def test_writeback_orphans_persist_after_exit_on_6_1():
    # munmap racing 16 MiB/s writeback: free_swap_and_cache finds PG_writeback and gives up;
    # measured 50-65 MB of orphans after exit on 6.1, 6.12 and 7.2
    ds = sim("writeback-orphans", "linux-6.1")
    orphans_mib = at(ds, "observer:exit", "swap_orphans") / MIB_PAGES
    assert 45 <= orphans_mib <= 68, f"orphans after exit {orphans_mib:.1f} MiB, want 45-68"
    assert at(ds, "observer:exit", "memcg_anon") == 0
    assert at(ds, "observer:exit", "writeback_skip") > 0


# linux-2.6.31 with v2 accounting: its swap_map rules under a swap.max (v1: test_memcg_v1.py)
@pytest.mark.parametrize("policy, knobs", [("linux-2.6.31", {"memcg_accounting": "v2"}),
                                           ("linux-6.1", {}), ("linux-6.12", {}),
                                           ("linux-7", {})])
def test_full_swap_oom_kills_the_next_allocation(policy, knobs):
    # orphans fill memory.swap.max (48M); no anon scan, no free slot: the 40 MB allocation
    # OOMs (measured 3/3 on 6.1, 2/3 on 6.12: swapcached 48.0M = swap.current, anon 0).
    # The orphan maker's last round (48M of orphans + 16M + its own page tables and stack
    # at memory.max 64M) is OOM-killed first, as on the kernels (proc_charge_pages)
    ds = sim("full-swap-oom", policy, **knobs)
    assert at(ds, "orphan-maker:exit", "oom_kill") == 1
    assert at(ds, "orphan-maker:exit", "memcg_swap_current") >= 47 * MIB_PAGES
    assert at(ds, "next-allocation:exit", "memcg_oom_kill") == 2
    assert at(ds, "next-allocation:exit", "memcg_oom") == 2


def test_full_swap_oom_does_not_oom_under_hugh_scan():
    # the scan for cache-only slots before OOM frees the orphans (probe patch: 3/3 no OOM)
    ds = sim("full-swap-oom", "hugh-scan")
    assert at(ds, "next-allocation:exit", "oom_kill") == 0
    assert at(ds, "next-allocation:exit", "policy_freed") > 10 * MIB_PAGES
    assert at(ds, "next-allocation:exit", "policy_scan_slots") > 0


def test_no_orphan_control_never_ooms():
    for policy in ("linux-6.1", "linux-6.12", "hugh-scan"):
        ds = sim("no-orphan-control", policy)
        assert at(ds, "next-allocation:exit", "oom_kill") == 0, policy


def test_selftest_swap_max_peak_exactly_one_oom_and_kill():
    # test_memcg_swap_max_peak: 100M into memory.max = swap.max = 30M gives exactly one
    # memory.events oom and one oom_kill
    ds = sim("selftest-swap-max-peak", "linux-6.1")
    assert at(ds, "alloc-100m:exit", "memcg_oom") == 1
    assert at(ds, "alloc-100m:exit", "memcg_oom_kill") == 1
    assert at(ds, "alloc-50m:exit", "memcg_oom") == 1, "the 50M allocation must not OOM"


def test_selftest_50m_within_3_percent():
    # the 50M case: memory.current within 3% of memory.max (30M) and
    # memory.current + memory.swap.current within 3% of 50M
    ds = sim("selftest-swap-max-peak", "linux-6.1")
    cur = at(ds, "alloc-50m:0:alloc", "memcg_current") / MIB_PAGES
    swp = at(ds, "alloc-50m:0:alloc", "memcg_swap_current") / MIB_PAGES
    assert abs(cur - 30) <= 0.03 * 30, f"memory.current {cur:.2f} MiB, want 30 +- 3%"
    assert abs(cur + swp - 50) <= 0.03 * 50, f"current + swap {cur + swp:.2f} MiB, want 50"


def _device_filled_with_orphans(free_slots: int) -> str:
    # a 4 MiB device filled with orphans made by unmapping during slow writeback (16 ms a
    # page); then MADV_PAGEOUT of 1 MiB needs 256 slots.  No memory limit: LRU reclaim never
    # runs, so only the slot allocator can free orphans.
    # The free slot is the last one.  Run with STRICT_IO (no burst):
    # every page is still under writeback at the unmap.
    return f"""
[scenario]
name = "alloc-reclaim-{free_slots}"
[machine]
ram_mib = 256
[swap]
size_mib = 4
write_mib_s = 0.25
[[process]]
name = "orphans"
[[process.phase]]
op = "alloc"
mib = {1023 / 256}
[[process.phase]]
op = "pageout"
[[process.phase]]
op = "unmap"
fraction = {(1023 - free_slots) / 1023}
[[process.phase]]
op = "sleep"
seconds = 18
[[process.phase]]
op = "unmap"
[[process]]
name = "next"
[[process.phase]]
op = "alloc"
mib = 1
[[process.phase]]
op = "pageout"
"""


# a FIFO disk at write_mib_s (no QEMU throttle burst), fast pageout, no harness pause:
# every page is still under writeback when the unmap comes
STRICT_IO = {"io_burst_s": 0.0, "cpu_pageout_ns": 5000.0, "phase_pause_s": 0.0}


def test_2_6_31_allocator_wraps_to_lowest_bit_past_the_orphans():
    # scan_swap_map (2.6.31; 6.1.192 mm/swapfile.c:893-894): past highest_bit the walk
    # restarts at lowest_bit, which swap_range_free set to the one free slot: it is taken
    # without visiting an orphan, then nr_swap_pages is 0 and get_swap_pages gives up.
    # (The model before this walk scanned through the orphans from slot 0 and reclaimed
    # one per allocation.)  Reclaim mid-device: tests/test_kernel_rules.py.
    ds = simulate(scenario_from_text(_device_filled_with_orphans(1)), policy="linux-2.6.31",
                  knobs=STRICT_IO)
    before = at(ds, "orphans:exit", "swap_orphans")
    assert before == 1022  # 1023 slots: slot 0 is the swap header
    assert at(ds, "next:1:pageout", "swap_orphans") == before
    assert at(ds, "next:1:pageout", "pswpout") - at(ds, "orphans:exit", "pswpout") == 1
    assert at(ds, "next:exit", "reclaim_scanned") == 0, "LRU reclaim must not run here"


def test_2_6_31_allocator_blind_at_100_percent():
    # get_swap_page bails out at nr_swap_pages <= 0: at 100% nothing visits the orphans
    ds = simulate(scenario_from_text(_device_filled_with_orphans(0)), policy="linux-2.6.31",
                  knobs=STRICT_IO)
    assert at(ds, "orphans:exit", "swap_orphans") == 1023  # every slot but the header
    assert at(ds, "next:1:pageout", "swap_orphans") == 1023
    assert at(ds, "next:1:pageout", "pswpout") == at(ds, "orphans:exit", "pswpout")


def test_plain_memcg_oom_counts_one_oom():
    # genuine OOM (128M into 64M + 32M): memory.events oom 1, oom_kill 1 as measured on 6.1
    ds = sim("plain-memcg-oom", "linux-6.1")
    assert at(ds, "alloc-128m:exit", "memcg_oom") == 1
    assert at(ds, "alloc-128m:exit", "memcg_oom_kill") == 1
    assert at(ds, "alloc-128m:exit", "memcg_max_events") > 0


def test_fast_device_leaves_no_orphans():
    # unthrottled swap disk: every __try_to_reclaim_swap succeeded on 6.1
    ds = sim("no-orphan-control", "linux-6.1")
    assert at(ds, "clean-exit:exit", "swap_orphans") <= 64


def test_kamezawa_sync_frees_at_zap_and_waits():
    ds = sim("writeback-orphans", "kamezawa-sync")
    assert at(ds, "observer:exit", "swap_orphans") < 64
    assert at(ds, "observer:exit", "lock_wait_us") > 0


def test_readahead_zap_race_reads_ahead_from_disk():
    # the scenario drops the clean swap cache before the race, so the reader's faults go to
    # disk with cluster readahead (measured on 6.1: swap_ra 26755, pswpin 33338)
    ds = sim("readahead-zap-race", "linux-6.1")
    assert at(ds, "racer:exit", "swap_ra") > 5000
    assert at(ds, "racer:exit", "swap_ra_hit") > 5000
    assert at(ds, "racer:exit", "pswpin") > at(ds, "racer:exit", "swap_ra")


def _unmap_during_writeback() -> str:
    # 512 pages paged out to a 1 MiB/s disk and unmapped at once: whatever is still under
    # writeback at the unmap is an orphan
    return """
[scenario]
name = "burst"
[swap]
size_mib = 8
write_mib_s = 1
[[process]]
name = "p"
[[process.phase]]
op = "alloc"
mib = 2
[[process.phase]]
op = "pageout"
[[process.phase]]
op = "unmap"
"""


def test_throttled_disk_admits_a_tenth_of_a_second_burst():
    # QEMU's throttle (util/throttle.c throttle_compute_wait) lets avg/10 bytes through at
    # once: 0.1 MiB = 25.6 pages at 1 MiB/s finish writeback before the unmap reaches them
    scn = scenario_from_text(_unmap_during_writeback())
    burst = at(simulate(scn, "linux-6.1"), "p:2:unmap", "swap_orphans")
    strict = at(simulate(scn, "linux-6.1", knobs={"io_burst_s": 0.0}), "p:2:unmap",
                "swap_orphans")
    assert 20 <= strict - burst <= 30
