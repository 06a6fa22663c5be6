"""Run-to-run variability: the jitter knobs, seeds, and many seeds of one scenario.

Each jitter knob draws from the run's splitmix64 stream only when it is non-zero: the same
seed gives an identical dataset, two seeds differ where jitter is on and are identical where
every jitter knob (and every other random input) is off.  ``simulate_seeds`` returns what
``simulate`` would, summarised per seed.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swaplab.model import ModelError, simulate, simulate_seeds
from swaplab.model.naive import simulate_naive
from swaplab.model.policies import KNOBS
from swaplab.scenario import scenario_from_text

JITTER_KNOBS = ("jitter", "io_jitter", "io_reorder", "sched_jitter_us", "phase_speed_jitter")
# every random input off: the jitter knobs, trylock contention (and no random page order)
OFF = {"jitter": 0.0, "io_jitter": 0.0, "io_reorder": 0, "sched_jitter_us": 0.0,
       "phase_speed_jitter": 0.0, "trylock_fail_p": 0.0}
ON = {"jitter": 0.1, "io_jitter": 0.3, "io_reorder": 8, "sched_jitter_us": 100.0,
      "phase_speed_jitter": 0.3}

RACE = """
[scenario]
name = "race-small"
seed = 1
[machine]
ram_mib = 64
vcpus = 2
[swap]
device = "disk"
size_mib = 8
write_mib_s = {bw}
read_mib_s = {bw}
[memcg]
memory_max_mib = 6
swap_max_mib = "max"
[[process]]
name = "maker"
phase = [
  {{ op = "alloc", mib = 2 }},
  {{ op = "pageout" }},
  {{ op = "race_unmap", chunk_kib = 16, rest = "keep", reader = "sequential" }},
  {{ op = "fork_touch", children = 2, fraction = 0.5 }},
  {{ op = "alloc", mib = 2 }},
  {{ op = "pageout" }},
  {{ op = "race_unmap", chunk_kib = 16, rest = "unmap" }},
]
[[process]]
name = "next"
phase = [
  {{ op = "alloc", mib = 3 }},
  {{ op = "pageout" }},
  {{ op = "set", "memcg.memory_max_mib" = 1 }},
  {{ op = "set", "memcg.memory_max_mib" = 6 }},
  {{ op = "readback" }},
  {{ op = "alloc", mib = 4 }},
]
"""
THROTTLED = scenario_from_text(RACE.format(bw=4))
# unthrottled disk at 8 MiB/s: requests queue up behind each other, so io_reorder can act
# (a saturated throttle admits one request at a time and keeps them in order)
UNTHROTTLED = scenario_from_text(RACE.format(bw=0))
SLOW_DISK = {"fast_write_mib_s": 8.0, "fast_read_mib_s": 8.0}
SEEDS = st.integers(0, 2**32)


@pytest.fixture
def monkeypatch_git(monkeypatch):
    """Both datasets read the checkout's commit (the same for every example): pin it."""
    monkeypatch.setattr("swaplab.schema.git_commit", lambda: "pinned")


def _data(ds: xr.Dataset, ignore: tuple[str, ...]) -> xr.Dataset:
    """The dataset without the ``ignore`` attrs (by default ``seed``)."""
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k not in ignore}
    return out


def _same(a: xr.Dataset, b: xr.Dataset, ignore: tuple[str, ...] = ("seed",)) -> bool:
    try:
        xr.testing.assert_identical(_data(a, ignore), _data(b, ignore))
    except AssertionError:
        return False
    return True


def test_jitter_knobs_are_documented_with_ranges_and_default_off():
    for name in ("io_jitter", "io_reorder", "sched_jitter_us", "phase_speed_jitter"):
        k = KNOBS[name]
        assert k.default == 0 and k.lo == 0 and k.hi > 0 and len(k.doc) > 60, name


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS)
def test_same_seed_same_dataset_with_jitter_on(seed):
    xr.testing.assert_identical(simulate(THROTTLED, "linux-6.1", ON, seed),
                                simulate(THROTTLED, "linux-6.1", ON, seed))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=SEEDS, b=SEEDS, scn=st.sampled_from([THROTTLED, UNTHROTTLED]),
       policy=st.sampled_from(["linux-6.1", "linux-7", "kamezawa-sync"]))
def test_seeds_identical_when_every_jitter_knob_is_off(a, b, scn, policy):
    knobs = {**OFF, **SLOW_DISK}
    assert _same(simulate(scn, policy, knobs, a), simulate(scn, policy, knobs, b))


@pytest.mark.parametrize("knob", ["jitter", "io_jitter", "sched_jitter_us",
                                  "phase_speed_jitter"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=SEEDS, b=SEEDS)
def test_two_seeds_differ_with_one_jitter_knob_on(knob, a, b):
    if a == b:
        return
    knobs = {**OFF, **SLOW_DISK, knob: ON[knob]}
    da = simulate(UNTHROTTLED, "linux-6.1", knobs, a)
    db = simulate(UNTHROTTLED, "linux-6.1", knobs, b)
    # the process waits for its swap-in reads: every phase end moves with the jitter
    assert not np.array_equal(da["phase_end_time"].values, db["phase_end_time"].values)


def test_io_reorder_changes_outcomes_on_a_queueing_disk_only():
    knobs = {**OFF, **SLOW_DISK, "io_reorder": 8}
    runs = [simulate(UNTHROTTLED, "linux-6.1", knobs, s) for s in range(8)]
    # which read completes first moves when the readback's faults end
    assert len({float(r["phase_end_time"][-1]) for r in runs}) > 1
    # a saturated throttle admits requests one at a time: nothing to reorder
    knobs = {**OFF, "io_reorder": 8}
    base = simulate(THROTTLED, "linux-6.1", {**OFF}, 0)
    assert all(_same(base, simulate(THROTTLED, "linux-6.1", knobs, s), ("seed", "knobs_json"))
               for s in range(4))


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=SEEDS, scn=st.sampled_from([THROTTLED, UNTHROTTLED]),
       policy=st.sampled_from(["linux-6.1", "linux-7"]))
def test_naive_model_agrees_with_jitter_on(seed, scn, policy, monkeypatch_git):
    knobs = {**ON, **SLOW_DISK}
    xr.testing.assert_identical(simulate(scn, policy, knobs, seed),
                                simulate_naive(scn, policy, knobs, seed))


# ---- many seeds of one scenario ----


def test_simulate_seeds_matches_simulate_per_seed():
    seeds = [3, 1, 4]
    out = simulate_seeds(THROTTLED, "linux-6.1", ON, seeds, threads=2)
    assert out["seed"].values.tolist() == seeds
    assert out["process_name"].values.tolist() == ["maker", "next"]
    for s in seeds:
        ds = simulate(THROTTLED, "linux-6.1", ON, s)
        row = out.sel(seed=s)
        for v in ("swap_used", "swap_cached", "swap_orphans", "pswpout"):
            np.testing.assert_array_equal(row[f"{v}_end"].values, ds[f"{v}_end"].values)
        np.testing.assert_array_equal(row["phase_end_time"].values, ds["phase_end_time"].values)
        assert float(row["orphans_mib"]) == float(ds["swap_orphans_end"][-1]) / 256
        kills = int(ds["memcg_oom_kill_end"][-1] + ds["oom_kill_end"][-1])
        assert int(row["oom_kills"]) == kills and bool(row["oom_any"]) == (kills > 0)
        assert float(row["t_end"]) == ds.attrs["t_end_s"]


def test_simulate_seeds_names_the_killed_process():
    # full-swap-oom on linux-6.1: the orphan maker and the next allocation are both killed
    out = simulate_seeds("full-swap-oom", "linux-6.1", None, [1, 2], threads=1)
    assert out["process_name"].values.tolist() == ["orphan-maker", "next-allocation"]
    assert out["oom_killed"].values.tolist() == [[True, True], [True, True]]
    assert out["oom_kills"].values.tolist() == [2, 2]
    # plain-memcg-oom: one process, genuinely OOM-killed, no orphans to speak of (the
    # kernels: 0; the fitted 6.1 preset leaves 7 pages under writeback at the kill, below
    # the 1 MiB that counts as orphans everywhere in the project)
    plain = simulate_seeds("plain-memcg-oom", "linux-6.1", None, [1], threads=1)
    assert plain["oom_any"].values.tolist() == [True]
    assert 0.0 <= plain["orphans_mib"].values[0] < 1.0


def test_simulate_seeds_bad_seeds():
    with pytest.raises(ModelError, match="at least one seed"):
        simulate_seeds(THROTTLED, "linux-6.1", None, [])
    with pytest.raises(ModelError, match="distinct"):
        simulate_seeds(THROTTLED, "linux-6.1", None, [1, 1])
