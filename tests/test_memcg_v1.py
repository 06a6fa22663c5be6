"""cgroup v1 res + memsw accounting (memcg_accounting = "v1_memsw"), the 2009 eras.

Rules from mm/memcontrol.c, mm/swapfile.c, mm/swap_state.c, mm/memory.c of 2.6.30 and
2.6.31: a page keeps res + memsw while it is in the swap cache (orphans too); leaving the
swap cache it gives up res and leaves memsw on the slot (swap_cgroup_record); a swap-in
charges the page and drops the slot's record; at the memsw limit reclaim may not swap, so
it scans no anon page.  In v1 the scenario's swap_max is the memsw headroom above memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import at, scenarios, sim  # tests/ is on sys.path (rootdir import)
from swaplab.model import PRESETS, resolve_knobs, run_model, simulate
from swaplab.model import engine as E
from swaplab.scenario import MIB_PAGES, scenario_from_text

V1 = ("linux-2.6.30", "linux-2.6.31")
SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def memsw(ds, label: str) -> int:
    """memsw usage at ``label``: res + (memsw - res)."""
    return at(ds, label, "memcg_current") + at(ds, label, "memcg_swap_current")


MEMSW_OOM = """
[scenario]
name = "memsw-orphan-oom"
seed = 1
[machine]
ram_mib = 256
vcpus = 2
[swap]
device = "disk"
size_mib = 256
write_mib_s = 16
[memcg]
memory_max_mib = 64
swap_max_mib = 12
[[process]]
name = "p"
[[process.phase]]
op = "alloc"
mib = 32
[[process.phase]]
op = "pageout"
[[process.phase]]
op = "sleep"
seconds = 3
[[process.phase]]
op = "set"
"memcg.memory_max_mib" = 1
[[process.phase]]
op = "set"
"memcg.memory_max_mib" = 64
[[process.phase]]
op = "repeat"
times = 2
phases = [
  { op = "alloc", mib = 16 },
  { op = "pageout" },
  { op = "unmap" },
]
[[process.phase]]
op = "alloc"
mib = 40
"""  # 32M swapped out (memsw on the slots), then orphans, then 40M: needs 32 + 40 <= 76


def test_2009_presets_account_memsw_and_hugh_scan_stays_v2():
    # the 2009 kernels had only v1 memsw; hugh-scan is "6.1 + Hugh's scan" (v2)
    for policy in (*V1, "kamezawa-sync"):
        assert resolve_knobs(policy)["memcg_accounting"] == "v1_memsw", policy
    for policy in ("hugh-scan", "linux-6.1", "linux-6.12", "linux-7"):
        assert resolve_knobs(policy)["memcg_accounting"] == "v2", policy


@pytest.mark.parametrize("scenario", ["full-swap-oom", "full-swap-oom-lowered"])
@pytest.mark.parametrize("policy", V1)
def test_orphans_within_res_are_reclaimed_before_memsw_fills(scenario, policy):
    # orphans stay charged to res (PageSwapCache pages are not uncharged at unmap), so they
    # count against memory.limit_in_bytes (64M) long before memsw (64M + 48M) fills; the
    # next allocation hits res, reclaim may swap and __remove_mapping frees the clean
    # orphans: no OOM (v2 OOMs here: the orphans hold swap.max)
    ds = sim(scenario, policy)
    orphans = at(ds, "orphan-maker:exit", "swap_orphans")
    assert orphans >= 32 * MIB_PAGES
    assert at(ds, "orphan-maker:exit", "memcg_current") >= orphans - MIB_PAGES
    assert memsw(ds, "orphan-maker:exit") < (64 + 48) * MIB_PAGES
    assert at(ds, "next-allocation:exit", "memcg_oom") == 0
    assert at(ds, "next-allocation:exit", "oom_kill") == 0


@pytest.mark.parametrize("policy", V1)
def test_orphans_oom_the_next_allocation_at_the_memsw_limit(policy):
    # 32M of swapped-out pages keep memsw on their slots; writeback orphans add res + memsw.
    # The 40M allocation fills memsw (64M + 12M) before res; reclaim is then noswap
    # (try_to_free_mem_cgroup_pages(noswap), get_scan_ratio: no anon scan), so the clean
    # orphans it could drop stay: OOM at the memsw limit, orphans holding memsw after it
    scn = scenario_from_text(MEMSW_OOM)
    ds = simulate(scn, policy=policy, knobs={"check_invariants": True})
    orphans = at(ds, "p:5:repeat", "swap_orphans")
    assert orphans > 4 * MIB_PAGES
    assert at(ds, "p:5:repeat", "memcg_oom") == 0
    assert at(ds, "p:6:alloc", "memcg_max_events") > 0
    assert at(ds, "p:6:alloc", "memcg_oom") == 1
    assert at(ds, "p:6:alloc", "swap_orphans") == orphans
    assert memsw(ds, "p:6:alloc") >= orphans
    assert run_model(scn, policy).state.c[E.C_MEMSW_OOM] == 1, "the OOM must be at memsw"


def test_kamezawa_sync_makes_no_orphans_so_the_allocation_fits_memsw():
    # lock_page + wait for writeback at zap: no orphans, 32M + 40M fit in 76M of memsw
    ds = simulate(scenario_from_text(MEMSW_OOM), policy="kamezawa-sync")
    assert at(ds, "p:5:repeat", "swap_orphans") == 0
    assert at(ds, "p:6:alloc", "oom_kill") == 0


def test_kamezawa_sync_leaves_no_orphans_after_exit():
    # the same preset on the standard scenarios: no orphans, no OOM
    ds = sim("writeback-orphans", "kamezawa-sync")
    assert at(ds, "observer:exit", "swap_orphans") == 0
    assert memsw(ds, "observer:exit") == 0
    assert at(ds, "observer:exit", "oom_kill") == 0
    assert at(sim("full-swap-oom", "kamezawa-sync"), "next-allocation:exit", "oom_kill") == 0


@pytest.mark.parametrize("policy", (*V1, "kamezawa-sync"))
def test_no_orphan_control_never_ooms(policy):
    # a fast device leaves no orphans: the 40 MB allocation fits under v1 limits too
    assert at(sim("no-orphan-control", policy), "next-allocation:exit", "oom_kill") == 0


@pytest.mark.parametrize("policy", (*V1, "kamezawa-sync"))
def test_plain_memcg_oom_is_one_oom(policy):
    # genuine OOM: 128M into res 64M + memsw headroom 32M
    ds = sim("plain-memcg-oom", policy)
    assert at(ds, "alloc-128m:exit", "memcg_oom") == 1
    assert at(ds, "alloc-128m:exit", "memcg_max_events") > 0


SWAPIN = """
[scenario]
name = "swapin-memsw"
[machine]
ram_mib = 64
vcpus = 1
page_cluster = 0
[swap]
size_mib = 8
[memcg]
memory_max_mib = 8
swap_max_mib = "max"
[[process]]
name = "p"
[[process.phase]]
op = "alloc"
mib = 4
[[process.phase]]
op = "pageout"
[[process.phase]]
op = "sleep"
seconds = 0.5
[[process.phase]]
op = "set"
"memcg.memory_max_mib" = 1
[[process.phase]]
op = "set"
"memcg.memory_max_mib" = 8
[[process.phase]]
op = "readback"
"""


@pytest.mark.parametrize("policy", V1)
def test_swapin_moves_memsw_from_the_slot_to_the_page(policy):
    # shrinking res to 1M drops clean swap cache pages: res goes, memsw stays on the
    # slots (swap_cgroup_record); reading them back charges res + memsw and
    # mem_cgroup_commit_charge_swapin drops each slot's record: memsw unchanged
    ds = simulate(scenario_from_text(SWAPIN), policy=policy,
                  knobs={"check_invariants": True, "readahead": False,
                         "proc_charge_pages": 0})
    before, after = "p:4:set", "p:5:readback"
    assert at(ds, before, "memcg_current") <= MIB_PAGES
    assert memsw(ds, before) == 4 * MIB_PAGES
    read = at(ds, after, "pswpin") - at(ds, before, "pswpin")
    assert read >= 3 * MIB_PAGES
    assert memsw(ds, after) == 4 * MIB_PAGES
    assert at(ds, after, "memcg_current") - at(ds, before, "memcg_current") == read
    assert at(ds, after, "memcg_swap_current") == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scn=scenarios(), policy=st.sampled_from(sorted(PRESETS)))
def test_v1_invariants_hold_after_every_op(scn, policy):
    # engine check: res == pages charged, memsw == pages charged + slots holding a record
    ds = simulate(scn, policy=policy, knobs={"memcg_accounting": "v1_memsw",
                                             "check_invariants": True, "jitter": 0.3,
                                             "trylock_fail_p": 0.05})
    assert (ds.memcg_current_end.values >= 0).all()
    assert (ds.memcg_swap_current_end.values >= 0).all()


def test_2_6_31_never_swaps_when_memsw_limit_equals_res():
    # memsw_is_minimum (2.6.31 mem_cgroup_hierarchical_reclaim): "swap-out is of-no-use",
    # reclaim is noswap even at the res limit; 2.6.30 still swaps, then OOMs at memsw
    text = (SCENARIOS / "plain-memcg-oom.toml").read_text()
    scn = scenario_from_text(text.replace("swap_max_mib = 32", "swap_max_mib = 0"))
    new = simulate(scn, policy="linux-2.6.31")
    old = simulate(scn, policy="linux-2.6.30")
    assert at(new, "alloc-128m:exit", "memcg_oom") == 1
    assert at(new, "alloc-128m:exit", "pswpout") == 0
    assert at(old, "alloc-128m:exit", "memcg_oom") == 1
    assert at(old, "alloc-128m:exit", "pswpout") > 0


# 9 MiB of swap: with 4 MiB swapped out of 8 MiB, 2047 usable slots (slot 0 is the header)
# make vm_swap_full() true and the first read fault would free its slot
READAHEAD = SWAPIN.replace('name = "swapin-memsw"', 'name = "readahead-memsw"').replace(
    "page_cluster = 0", "page_cluster = 3").replace("size_mib = 8", "size_mib = 9").replace(
    '[[process.phase]]\nop = "readback"\n',
    '[[process.phase]]\nop = "readback"\nfraction = 0.49\n[[process.phase]]\nop = "unmap"\n')


def test_readahead_orphans_hold_memsw_on_2_6_30_only():
    # reading back 49% leaves the last readahead window partly unmapped.
    # readahead pages are not charged until mapped (read_swap_cache_async has no memcg
    # call); unmapped, with every trylock failing, they are orphans charged to nothing but
    # their slot's record.  2.6.30 drops the record only when the slot is freed;
    # 2.6.31 swap_entry_free drops it when the swap count reaches 0 (SWAP_HAS_CACHE left)
    scn = scenario_from_text(READAHEAD)
    knobs = {"check_invariants": True, "trylock_fail_p": 1.0}
    old = simulate(scn, policy="linux-2.6.30", knobs=knobs)
    new = simulate(scn, policy="linux-2.6.31", knobs=knobs)
    unused = at(old, "p:5:readback", "swap_ra") - at(old, "p:5:readback", "swap_ra_hit")
    assert unused > 0
    for ds in (old, new):
        assert at(ds, "p:6:unmap", "memcg_current") == at(ds, "p:5:readback", "memcg_current")
        assert at(ds, "p:6:unmap", "swap_orphans") >= unused
    assert at(old, "p:6:unmap", "memcg_swap_current") == unused
    assert at(new, "p:6:unmap", "memcg_swap_current") == 0
