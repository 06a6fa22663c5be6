"""Differential: the Numba engine, the reference model (the independent naive model) and
the engine with the JIT switched off give identical datasets.

The naive model's own, wider differential tests are in tests/test_naive_model.py; here the
public names (``simulate_reference``, ``simulate_jitoff``) are checked on a tiny scenario
and on random small ones.
"""

from __future__ import annotations

import pytest
import tomli_w
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import covered, phases  # tests/ is on sys.path (rootdir import)
from swaplab.model import PRESETS, simulate
from swaplab.model.jitoff import simulate_jitoff
from swaplab.model.reference import simulate_reference
from swaplab.scenario import scenario_from_text

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


@pytest.fixture(autouse=True)
def _pinned_git_commit(monkeypatch):
    """Datasets read the checkout's commit at call time; pin it so that a commit landing
    between the two runs cannot make them differ."""
    monkeypatch.setattr("swaplab.schema.git_commit", lambda: "pinned")


OTHER = {"reference": simulate_reference, "jitoff": simulate_jitoff}


@pytest.mark.parametrize("other", sorted(OTHER))
@pytest.mark.parametrize("policy", sorted(PRESETS))
def test_tiny_scenario_identical_under_every_policy(policy, other):
    scn = scenario_from_text(TINY)
    knobs = {"jitter": 0.2, "trylock_fail_p": 0.1, "sample_interval_s": 0.01}
    if other == "reference":
        knobs = covered(policy, knobs)
    xr.testing.assert_identical(simulate(scn, policy, knobs),
                                OTHER[other](scn, policy, knobs))


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
@given(scn=small_scenarios(), policy=st.sampled_from(sorted(PRESETS)),
       other=st.sampled_from(sorted(OTHER)))
def test_random_small_scenarios_identical(scn, policy, other):
    knobs = {"jitter": 0.1, "trylock_fail_p": 0.02}
    if other == "reference":
        knobs = covered(policy, knobs)
    xr.testing.assert_identical(simulate(scn, policy, knobs),
                                OTHER[other](scn, policy, knobs))
