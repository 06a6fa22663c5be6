"""Differential: the Numba engine and the pure-Python reference give identical datasets."""

from __future__ import annotations

import pytest
import tomli_w
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swaplab.model import PRESETS, simulate
from swaplab.model.reference import simulate_reference
from swaplab.scenario import scenario_from_text
from test_model_invariants import phases  # tests/ is on sys.path (rootdir import)

TINY = """
[scenario]
name = "tiny"
seed = 3
[machine]
ram_mib = 64
page_cluster = 2
[swap]
size_mib = 2
write_mib_s = 4
read_mib_s = 8
[memcg]
memory_max_mib = 1
swap_max_mib = 1
[[process]]
name = "a"
[[process.phase]]
op = "alloc"
mib = 1.5
[[process.phase]]
op = "pageout"
[[process.phase]]
op = "race_unmap"
chunk_kib = 8
rest = "keep"
[[process.phase]]
op = "fork_touch"
children = 2
[[process]]
name = "b"
[[process.phase]]
op = "alloc"
mib = 1.5
[[process.phase]]
op = "readback"
pattern = "random"
"""


@pytest.mark.parametrize("policy", sorted(PRESETS))
def test_tiny_scenario_identical_under_every_policy(policy):
    scn = scenario_from_text(TINY)
    knobs = {"jitter": 0.2, "trylock_fail_p": 0.1, "sample_interval_s": 0.01}
    xr.testing.assert_identical(simulate(scn, policy, knobs),
                                simulate_reference(scn, policy, knobs))


@st.composite
def small_scenarios(draw):
    raw = {
        "scenario": {"name": "diff", "seed": draw(st.integers(0, 99))},
        "machine": {"ram_mib": 64, "vcpus": draw(st.integers(1, 2)),
                    "page_cluster": draw(st.integers(0, 3))},
        "swap": {"size_mib": draw(st.integers(1, 3)),
                 "write_mib_s": draw(st.sampled_from([0.0, 4.0]))},
        "memcg": {"memory_max_mib": draw(st.sampled_from([1, 2, "max"])),
                  "swap_max_mib": draw(st.sampled_from([1, "max"]))},
        "process": [{"name": "p", "phase": draw(phases())}],
    }
    text = tomli_w.dumps(raw).replace("mib = 3.0", "mib = 1.0").replace("mib = 2.0",
                                                                          "mib = 0.5")
    return scenario_from_text(text)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scn=small_scenarios(), policy=st.sampled_from(sorted(PRESETS)))
def test_random_small_scenarios_identical(scn, policy):
    knobs = {"jitter": 0.1, "trylock_fail_p": 0.02}
    xr.testing.assert_identical(simulate(scn, policy, knobs),
                                simulate_reference(scn, policy, knobs))
