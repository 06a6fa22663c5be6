"""The naive pure-Python model (swaplab.model.naive) against the Numba engine.

Two independent implementations of the same rules must give identical datasets
(``xr.testing.assert_identical``, attrs included) over random small scenarios x every
preset x random knob overrides, and on the standard scenarios.  Unit tests check the
naive model's own rules (swap_map values per era decoded by hand, splitmix64, knobs it
does not implement).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import covered, phases  # tests/ is on sys.path (rootdir import)
from swaplab.model import KNOBS, PRESETS, resolve_knobs, simulate
from swaplab.model.naive import simulate_naive
from swaplab.model.naive import swapslots as S
from swaplab.model.naive.knobs import Knobs, NaiveModelError
from swaplab.model.naive.rng import SplitMix64
from swaplab.model.naive.run import build_machine
from swaplab.scenario import scenario_from_text

STANDARD = sorted(p.stem for p in (Path(__file__).parents[1] / "data" / "scenarios")
                  .glob("*.toml"))


@pytest.fixture(autouse=True)
def _pinned_git_commit(monkeypatch):
    """Both datasets read the checkout's commit at call time; other work committing in
    between would make them differ, so pin it (and skip the git subprocess)."""
    monkeypatch.setattr("swaplab.schema.git_commit", lambda: "pinned")


def _choice(name: str):
    return st.sampled_from(KNOBS[name].choices)


# every behavioural knob, with values that small scenarios reach
KNOB_STRATEGIES = {
    "era": _choice("era"),
    "slots_cache": st.booleans(),
    "slots_cache_free": st.booleans(),
    "alloc_reclaim": st.booleans(),
    "alloc_full_cluster_reclaim": st.booleans(),
    "swap_full_memcg": st.booleans(),
    "zap_lock": _choice("zap_lock"),
    "zap_wait_writeback": st.booleans(),
    "trylock_fail_p": st.sampled_from([0.0, 0.05, 0.5, 1.0]),
    "readahead": st.booleans(),
    "swapin_free": _choice("swapin_free"),
    "anon_scan_when_full": _choice("anon_scan_when_full"),
    "reclaim_batch": st.sampled_from([1, 4, 32]),
    "reclaim_retries": st.sampled_from([1, 3, 16]),
    "scan_trigger": _choice("scan_trigger"),
    "scan_threshold_pages": st.sampled_from([0, 32, 1024]),
    "scan_memcg_headroom": st.booleans(),
    "scan_when": _choice("scan_when"),
    "scan_async_delay_s": st.sampled_from([0.0, 0.001, 0.05]),
    "scan_what": _choice("scan_what"),
    "scan_batch": st.sampled_from([0, 16, 300]),
    "scan_lock": _choice("scan_lock"),
    "scan_wait_writeback": _choice("scan_wait_writeback"),
    "alloc_reclaim_direct": st.booleans(),
    "wp_free_swap": st.booleans(),
    "scan_slot_ns": st.sampled_from([0.0, 20.0]),
    "cpu_scan_ns": st.sampled_from([0.0, 500.0]),
    "io_latency_us": st.sampled_from([0.0, 100.0, 5000.0]),
    "io_burst_s": st.sampled_from([0.0, 0.001, 0.1]),
    "fast_write_mib_s": st.sampled_from([1.0, 1000.0]),
    "fast_read_mib_s": st.sampled_from([1.0, 1000.0]),
    "jitter": st.sampled_from([0.0, 0.1, 1.0]),
    "sample_interval_s": st.sampled_from([0.001, 0.01, 0.1]),
    "max_sim_s": st.sampled_from([1.0, 3600.0]),
    "phase_pause_s": st.sampled_from([0.0, 0.094]),
    "cpu_munmap_ns": st.sampled_from([0.0, 50000.0]),
    "proc_charge_pages": st.sampled_from([0, 64, 300]),
    "kernel_reserved_mib": st.sampled_from([48, 61]),  # 61: global reclaim (3 MiB of RAM)
    "memcg_accounting": _choice("memcg_accounting"),
    "io_jitter": st.sampled_from([0.0, 0.3, 1.0]),
    "io_reorder": st.sampled_from([0, 1, 8]),
    "sched_jitter_us": st.sampled_from([0.0, 50.0, 5000.0]),
    "phase_speed_jitter": st.sampled_from([0.0, 0.5, 0.95]),
}


@st.composite
def knob_overrides(draw):
    """A random subset of knobs with random values, over the preset's."""
    names = draw(st.lists(st.sampled_from(sorted(KNOB_STRATEGIES)), unique=True,
                          max_size=len(KNOB_STRATEGIES)))
    return {n: draw(KNOB_STRATEGIES[n]) for n in names}


@st.composite
def more_phases(draw):
    """test_model_invariants.phases, plus what it leaves out: the race_unmap reader and
    memory.max / swap.high writes."""
    out = draw(phases())
    for ph in out:
        if ph["op"] == "race_unmap":
            ph["reader"] = draw(st.sampled_from(["probe", "sequential"]))
    for _ in range(draw(st.integers(0, 2))):
        key, value = draw(st.sampled_from([("memcg.memory_max_mib", 1),
                                           ("memcg.memory_max_mib", 3),
                                           ("memcg.memory_max_mib", "max"),
                                           ("memcg.swap_high_mib", 1),
                                           ("memcg.swap_high_mib", "max")]))
        out.insert(draw(st.integers(1, len(out))), {"op": "set", key: value})
    return out


@st.composite
def scenarios(draw):
    """Small random scenarios (as test_model_invariants.scenarios), on a disk or zram
    (cluster vs VMA readahead), with an optional swap.high."""
    raw = {
        "scenario": {"name": "random", "seed": draw(st.integers(0, 1000))},
        "machine": {"ram_mib": 64, "vcpus": draw(st.integers(1, 2)),
                    "page_cluster": draw(st.integers(0, 3)),
                    "vma_readahead": draw(st.booleans())},
        "swap": {"device": draw(st.sampled_from(["disk", "zram"])),
                 "size_mib": draw(st.integers(1, 6)),
                 "write_mib_s": draw(st.sampled_from([0.0, 2.0, 16.0])),
                 "read_mib_s": draw(st.sampled_from([0.0, 4.0]))},
        "memcg": {"memory_max_mib": draw(st.sampled_from([2, 3, 4, "max"])),
                  "swap_max_mib": draw(st.sampled_from([1, 2, "max"])),
                  "swap_high_mib": draw(st.sampled_from([1, "max"]))},
        "process": [{"name": f"p{i}", "phase": draw(more_phases())}
                    for i in range(draw(st.integers(1, 2)))],
    }
    return scenario_from_text(tomli_w.dumps(raw))


# Nothing is left out of the comparison any more: era "2.6.30" with the slots cache on was,
# until the engine kept SL_CACHEREF on slots pinned in a slots cache
# (test_engine_2630_slots_cache_pin_is_not_a_swap_pte below).


@st.composite
def pressure_scenarios(draw):
    """Small scenarios built to reach the rare paths: an orphan maker (pageout, then munmap
    racing slow writeback) and a second process allocating into a tight memcg and swap,
    so reclaim, throttling, OOM kills and the scan policies run."""
    size = st.sampled_from([0.5, 1.0, 2.0, 3.0])
    maker = [{"op": "alloc", "mib": draw(size)}, {"op": "pageout"},
             {"op": "race_unmap", "chunk_kib": draw(st.sampled_from([4, 16])),
              "rest": draw(st.sampled_from(["unmap", "keep"])),
              "reader": draw(st.sampled_from(["probe", "sequential"]))}]
    if draw(st.booleans()):
        maker.append({"op": "fork_touch", "children": draw(st.integers(1, 2))})
    second = [{"op": "alloc", "mib": draw(size)},
              {"op": draw(st.sampled_from(["touch", "readback"])),
               "pattern": draw(st.sampled_from(["seq", "random"]))}]
    raw = {
        "scenario": {"name": "pressure", "seed": draw(st.integers(0, 1000))},
        "machine": {"ram_mib": 64,
                    "vcpus": draw(st.integers(1, 2)), "page_cluster": draw(st.integers(0, 3))},
        "swap": {"device": draw(st.sampled_from(["disk", "zram"])),
                 "size_mib": draw(st.integers(1, 3)),
                 "write_mib_s": draw(st.sampled_from([1.0, 4.0, 0.0])),
                 "read_mib_s": draw(st.sampled_from([0.0, 4.0]))},
        "memcg": {"memory_max_mib": draw(st.sampled_from([1, 2, "max"])),
                  "swap_max_mib": draw(st.sampled_from([1, 2, "max"]))},
        "process": [{"name": "maker", "phase": maker}, {"name": "next", "phase": second}],
    }
    return scenario_from_text(tomli_w.dumps(raw))


SCAN_KNOBS = st.fixed_dictionaries({
    "scan_trigger": st.sampled_from(["really_full", "half_full", "device_full"]),
    "scan_when": _choice("scan_when"), "scan_what": _choice("scan_what"),
}, optional={n: KNOB_STRATEGIES[n] for n in sorted(KNOB_STRATEGIES)
             if n not in ("scan_trigger", "scan_when", "scan_what")})


def assert_same(scn, policy, knobs=None, seed=None):
    knobs = covered(policy, knobs)
    xr.testing.assert_identical(simulate(scn, policy, knobs, seed),
                                simulate_naive(scn, policy, knobs, seed))


# ---- differential tests ----


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scn=scenarios(), policy=st.sampled_from(sorted(PRESETS)), knobs=knob_overrides())
def test_random_scenarios_policies_knobs_identical(scn, policy, knobs):
    assert_same(scn, policy, knobs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scn=pressure_scenarios(), policy=st.sampled_from(sorted(PRESETS)),
       knobs=st.one_of(knob_overrides(), SCAN_KNOBS))
def test_pressure_scenarios_policies_knobs_identical(scn, policy, knobs):
    assert_same(scn, policy, knobs)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scn=scenarios(), policy=st.sampled_from(sorted(PRESETS)),
       seed=st.integers(0, 2**32))
def test_random_scenarios_presets_and_seeds_identical(scn, policy, seed):
    assert_same(scn, policy, None, seed)


# none takes more than ~4 s in the naive model (all 90: ~60 s), so none is marked slow
@pytest.mark.parametrize("policy", sorted(PRESETS))
@pytest.mark.parametrize("name", STANDARD)
def test_standard_scenarios_identical(name, policy):
    assert_same(name, policy)


PINNED_READAHEAD = """
[scenario]
name = "pinned-readahead"
[machine]
ram_mib = 64
vcpus = 1
page_cluster = 1
[swap]
size_mib = 2
[memcg]
memory_max_mib = 2
swap_max_mib = 1
[[process]]
name = "p"
phase = [
    { op = "alloc", mib = 0.25 },
    { op = "set", "memcg.memory_max_mib" = 1 },
    { op = "alloc", mib = 1.0 },
    { op = "touch", region = "last", fraction = 0.25 },
]
"""


def test_engine_2630_slots_cache_pin_is_not_a_swap_pte():
    # found by this differential test: get_swap_page/free_swap_slot cleared SL_CACHEREF on
    # slots pinned in the slots cache, so era 2.6.30 decoded a free pinned slot as one swap
    # pte and swap-in readahead read it into the swap cache (fixed in the engine)
    scn = scenario_from_text(PINNED_READAHEAD)
    knobs = {"era": "2.6.30", "slots_cache": True, "jitter": 0.0}
    xr.testing.assert_identical(simulate(scn, "linux-6.1", knobs),
                                simulate_naive(scn, "linux-6.1", knobs))


# ---- the naive model's own rules ----


def _machine(era: str, slots_cache: bool = False):
    scn = scenario_from_text('[scenario]\nname = "unit"\n[swap]\nsize_mib = 4\n'
                             '[[process]]\nname = "p"\n[[process.phase]]\nop = "alloc"\n'
                             'mib = 1\n')
    knobs = resolve_knobs("linux-6.1", {"era": era, "slots_cache": slots_cache,
                                        "trylock_fail_p": 0.0, "jitter": 0.0})
    return build_machine(scn, Knobs.from_mapping(knobs), 0, 16)


@pytest.mark.parametrize("era,expected", [
    # add_to_swap, try_to_unmap (1 pte), fork (2 ptes), reclaimed out of the cache,
    # swap-in by the parent (cache again, then swap_free), the child exits
    ("2.6.30", [1, 2, 3, 2, 3, 2, 1]),
    ("2.6.31", [0x8000, 0x8001, 0x8002, 0x0002, 0x8002, 0x8001, 0x8000]),
    ("2.6.33", [0x40, 0x41, 0x42, 0x02, 0x42, 0x41, 0x40]),
])
def test_swap_map_values_per_era_by_hand(era, expected):
    m = _machine(era)
    off = S.get_swap_page(m)
    seen = [m.swap.swap_map[off]]  # folio_alloc_swap: SWAP_HAS_CACHE only
    S.swap_duplicate(m, off)  # try_to_unmap_one
    seen.append(m.swap.swap_map[off])
    S.swap_duplicate(m, off)  # fork: copy_pte_range
    seen.append(m.swap.swap_map[off])
    S.put_swap_folio(m, off)  # __remove_mapping after writeback
    seen.append(m.swap.swap_map[off])
    m.swap.store(off, m.swap.count(off), True)  # do_swap_page: swapcache_prepare
    seen.append(m.swap.swap_map[off])
    S.swap_free(m, off)  # do_swap_page: swap_free after mapping the page
    seen.append(m.swap.swap_map[off])
    S.swap_free(m, off)  # the child exits: free_swap_and_cache
    seen.append(m.swap.swap_map[off])
    assert seen == expected
    assert m.swap.count(off) == 0 and m.swap.cache_only(off)
    S.put_swap_folio(m, off)  # the cache lets go: the slot is free
    assert m.swap.swap_map[off] == 0 and m.swap.nr_free == m.swap.pages


def test_count_continuation_past_swap_map_max():
    m = _machine("2.6.33")
    off = S.get_swap_page(m)
    for _ in range(0x3E + 5):
        S.swap_duplicate(m, off)
    # __swap_duplicate wraps the low digit into the continuation page at SWAP_MAP_MAX:
    # 67 = 1 * (SWAP_MAP_MAX + 1) + 4 -> 4 | COUNT_CONTINUED | SWAP_HAS_CACHE, digit 1
    assert m.swap.swap_map[off] == 0xC4 and m.swap.continuation[off] == 1
    assert m.swap.count(off) == 0x3E + 5
    for _ in range(6):
        S.swap_free(m, off)
    assert m.swap.swap_map[off] == 0x40 | (0x3E - 1) and off not in m.swap.continuation


def test_slots_cache_pins_freed_slots_until_a_batch_of_64():
    m = _machine("2.6.33", slots_cache=True)
    offs = [S.get_swap_page(m) for _ in range(70)]
    assert m.swap.slots_cache.active and offs == list(range(1, 71))  # slot 0: header
    for off in offs[:63]:
        S.put_swap_folio(m, off)  # free_swap_slot: SWAP_HAS_CACHE, no folio
    assert all(m.swap.swap_map[o] == 0x40 and m.swap.pinned[o] for o in offs[:63])
    S.put_swap_folio(m, offs[63])  # the 64th fills the batch
    assert m.swap.swap_map[offs[63]] == 0x40 and len(m.swap.slots_cache.slots_ret) == 64
    # the 65th flushes the 64 first, then waits in the batch (6.1.192 mm/swap_slots.c:284)
    S.put_swap_folio(m, offs[64])
    assert all(m.swap.swap_map[o] == 0 for o in offs[:64])
    assert m.swap.swap_map[offs[64]] == 0x40 and m.swap.slots_cache.slots_ret == [offs[64]]
    assert m.swap.swap_map[offs[65]] == 0x40  # still allocated (in the slots cache)


def test_splitmix64_reference_vector():
    rng = SplitMix64(0)
    rng.state = 0  # the published splitmix64 sequence from state 0
    assert [rng.next_u64() for _ in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert 0.0 <= SplitMix64(7).uniform() < 1.0


def test_unimplemented_knobs_fail_loudly():
    knobs = resolve_knobs("linux-6.1")
    with pytest.raises(NaiveModelError, match="knob 'new_rule' is not implemented"):
        Knobs.from_mapping({**knobs, "new_rule": 1})
    with pytest.raises(NaiveModelError, match="memcg_accounting='v1_memsw_v3'"):
        Knobs.from_mapping({**knobs, "memcg_accounting": "v1_memsw_v3"})
    with pytest.raises(NaiveModelError, match="era='2.6.40' is not implemented"):
        Knobs.from_mapping({**knobs, "era": "2.6.40"})
    assert Knobs.from_mapping(knobs).memcg_accounting == "v2"


@pytest.mark.parametrize("era", ["2.6.30", "2.6.31"])
def test_v1_memsw_stays_on_a_swapped_out_slot(era):
    from swaplab.model.naive import reclaim, swapcache, zap

    scn = scenario_from_text('[scenario]\nname = "unit"\n[swap]\nsize_mib = 4\n'
                             '[memcg]\nmemory_max_mib = 8\nswap_max_mib = 8\n'
                             '[[process]]\nname = "p"\n[[process.phase]]\nop = "alloc"\n'
                             'mib = 1\n')
    knobs = resolve_knobs("linux-2.6.30", {"era": era, "trylock_fail_p": 0.0, "jitter": 0.0})
    m = build_machine(scn, Knobs.from_mapping(knobs), 0, 16)
    page, _ = reclaim.try_charge(m, 0, True)
    m.pte[3] = page
    page.mapcount, page.mappers = 1, [3]
    cg = m.memcg
    assert (cg.memory_current, cg.memsw_current, page.pcg_used) == (1, 1, True)
    assert swapcache.add_to_swap(m, page)  # v1 charges no swap at allocation
    zap.try_to_unmap(m, page)
    swapcache.delete_from_swap_cache(m, page)  # swapped out: res goes, memsw stays
    off = m.pte[3]
    assert (cg.memory_current, cg.memsw_current, m.swap.record[off]) == (0, 1, True)
    assert cg.swap_usage() == 1
    zap.zap_pte(m, 3, 0)  # munmap: the slot is freed and its record with it
    assert (cg.memsw_current, m.swap.record[off], m.swap.swap_map[off]) == (0, False, 0)
