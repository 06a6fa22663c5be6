"""The scenario generator: deterministic, valid for model and guest, covering every op."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from swaplab.capture.guest import check_runnable, encode_workload
from swaplab.model.workload import compile_workload
from swaplab.scenario import OPS, scenario_from_text
from swaplab.scenario_gen import (
    FAMILIES,
    FOCUS_OPS,
    GUEST_BUDGET_S,
    OOM_FACTORS,
    generate,
    generate_one,
    guest_seconds_bound,
    write_scenarios,
)


def _leaf_ops(scn):
    for proc in scn.processes:
        for ph in proc.phases:
            yield ph
            yield from ph.phases


def test_same_seed_same_files(tmp_path):
    a = write_scenarios(generate(6, 7), tmp_path / "a")
    b = write_scenarios(generate(6, 7), tmp_path / "b")
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    other = generate(6, 8)
    assert [s.toml_text for s in other] != [s.toml_text for s in generate(6, 7)]


def test_scenario_i_does_not_depend_on_n():
    assert [s.toml_text for s in generate(3, 11)] == [s.toml_text for s in generate(5, 11)[:3]]


def test_one_cycle_of_focus_ops_covers_every_op_and_variant():
    scns = generate(len(FOCUS_OPS), 3)
    ops = {ph.op for s in scns for ph in _leaf_ops(s)}
    assert ops == set(OPS)
    readers = {ph.params["reader"] for s in scns for ph in _leaf_ops(s) if ph.op == "race_unmap"}
    assert readers == {"probe", "sequential"}
    patterns = {ph.params["pattern"] for s in scns for ph in _leaf_ops(s)
                if ph.op in ("touch", "readback")}
    assert patterns == {"seq", "random"}
    assert {s.swap["device"] for s in scns} == {"disk", "zram"}
    assert any(s.memcg["memory_max_mib"] == "max" for s in generate(24, 3))
    assert any(s.memcg["memory_max_mib"] != "max" for s in scns)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), index=st.integers(0, 30), family=st.sampled_from(FAMILIES))
def test_generated_scenarios_run_in_model_and_guest(seed, index, family):
    scn = generate_one(seed, index, family)
    assert scn.name == f"{family}{seed}-{index:03d}"
    again = scenario_from_text(scn.toml_text, source="again")  # the file text round-trips
    assert again.sha256 == scn.sha256
    compile_workload(scn)  # the model's compiler accepts it
    check_runnable(scn)  # the guest can run it (zram fits, no throttle on zram)
    text = encode_workload(scn)
    assert text.count("\nB ") + text.count("\nX ") == len(scn.phase_labels())
    assert guest_seconds_bound(scn) <= GUEST_BUDGET_S


def test_cli_generate_and_bad_n(tmp_path):
    cli = [sys.executable, "-m", "swaplab.cli", "scenarios", "generate"]
    ok = subprocess.run([*cli, "--n", "2", "--seed", "5", "-o", str(tmp_path)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in tmp_path.glob("*.toml")) == ["gen5-000.toml",
                                                               "gen5-001.toml"]
    bad = subprocess.run([*cli, "--n", "0", "--seed", "5", "-o", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    err = bad.stderr.strip().splitlines()
    assert len(err) == 1 and "--n 0" in err[0] and "1..10000" in err[0]


def test_oom_family_fills_the_memcg_past_what_it_holds_and_leaves_gen_alone():
    scns = generate(24, 1, "oom")
    assert [s.toml_text for s in generate(4, 1, "oom")] == [s.toml_text for s in scns[:4]]
    factors = set()
    for scn in scns:
        mc, sw = scn.memcg, scn.swap
        assert mc["memory_max_mib"] != "max"
        swap = sw["size_mib"] if mc["swap_max_mib"] == "max" else min(mc["swap_max_mib"],
                                                                        sw["size_mib"])
        factor = float(scn.description.rsplit("x", 1)[1])
        factors.add(factor)
        # the last alloc brings w0's live pages to factor x (memory.max + usable swap)
        allocs = [ph for ph in scn.processes[0].phases if ph.op == "alloc"]
        assert allocs[-1].params["mib"] >= 4
        assert factor * (mc["memory_max_mib"] + swap) <= sum(
            ph.params["mib"] for ph in allocs) + 4 + 1e-9
    assert factors <= set(OOM_FACTORS) and max(factors) > 1.0 and min(factors) < 1.0
    assert {s.swap["device"] for s in scns} == {"disk", "zram"}
    # the gen family is not changed by the oom family's existence
    assert generate_one(1, 0).name == "gen1-000"


def test_cli_refuses_an_unknown_family(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "swaplab.cli", "scenarios", "generate", "--n",
                          "1", "--seed", "1", "--family", "big", "-o", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    err = bad.stderr.strip().splitlines()
    assert len(err) == 1 and "'big'" in err[0] and "gen, oom" in err[0]
