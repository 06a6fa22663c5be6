"""Scenario language: the standard set loads, and every kind of bad input is one clear line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swaplab.scenario import (
    OPS,
    ScenarioError,
    load_scenario,
    overridable_keys,
    scenario_from_text,
    standard_scenarios,
)

HEADER = '[scenario]\nname = "t"\n'
ALLOC = '[[phase]]\nop = "alloc"\nmib = 4\n'

STANDARD = {
    "writeback-orphans", "readahead-zap-race", "full-swap-oom", "full-device-oom",
    "fork-exit-churn", "selftest-swap-max-peak", "liu-repro", "plain-memcg-oom",
    "full-swap-oom-lowered", "no-orphan-control",
}


def parse(body: str, header: str = HEADER):
    return scenario_from_text(header + body, source="t.toml")


def error_of(body: str, header: str = HEADER) -> str:
    with pytest.raises(ScenarioError) as exc:
        parse(body, header)
    msg = str(exc.value)
    assert "\n" not in msg, "errors are one line"
    assert msg.startswith("t.toml"), f"error names the file: {msg}"
    return msg


def test_standard_set_is_complete_and_loads():
    assert set(standard_scenarios()) >= STANDARD
    for name in standard_scenarios():
        scn = load_scenario(name)
        assert scn.name == name, "file name and scenario.name agree"
        assert scn.phase_labels()[-1].endswith(":exit")


def test_full_swap_oom_matches_the_measured_case():
    # as captured on Debian 6.1/6.12/7.2 (data/traces/full-swap-oom__*.nc): memory.max 64M,
    # swap.max 48M, a 40 MB second allocation.
    scn = load_scenario("full-swap-oom")
    assert scn.memcg["memory_max_mib"] == 64 and scn.memcg["swap_max_mib"] == 48
    assert scn.swap["write_mib_s"] == 16
    second = scn.processes[1].phases[0]
    assert (second.op, second.params["mib"]) == ("alloc", 40)


def test_defaults_are_filled_in():
    scn = parse(ALLOC)
    assert scn.machine["page_cluster"] == 3 and scn.machine["vma_readahead"] is True
    assert scn.swap["device"] == "disk" and scn.memcg["swap_max_mib"] == "max"
    assert scn.processes[0].name == "t"


def test_repeat_expands_in_order_and_labels_top_level_phases():
    scn = parse('[[phase]]\nop = "repeat"\ntimes = 3\n'
                'phases = [{op = "alloc", mib = 1}, {op = "pageout"}]\n')
    ops = [ph.op for ph in scn.processes[0].phases[0].expand()]
    assert ops == ["alloc", "pageout"] * 3
    assert scn.n_ops() == 6
    assert scn.phase_labels() == ["t:0:repeat", "t:exit"]


@pytest.mark.parametrize(
    ("body", "header", "needle"),
    [
        (ALLOC, HEADER + "[swap]\nsize = 3\n", "unknown key 'swap.size'; allowed: device"),
        (ALLOC, HEADER + "[disk]\n", "unknown section 'disk'"),
        (ALLOC, HEADER + '[swap]\ndevice = "nvme"\n', "one of 'disk', 'zram'"),
        (ALLOC, HEADER + "[machine]\npage_cluster = 9\n", "integer in [0, 5], got 9"),
        (ALLOC, HEADER + '[machine]\npage_cluster = "3"\n', "got '3'"),
        (ALLOC, HEADER + "[machine]\nvma_readahead = 1\n", "true or false"),
        (ALLOC, HEADER + "[memcg]\nswap_max_mib = -1\n", "'max' or a number of MiB"),
        (ALLOC, "[scenario]\nseed = 1\n", "missing required key 'scenario.name'"),
        ('[[phase]]\nop = "zap"\n', HEADER, "unknown op 'zap'; allowed: alloc"),
        ('[[phase]]\nop = "alloc"\n', HEADER, "op 'alloc' needs 'mib'"),
        ('[[phase]]\nop = "alloc"\nmib = 0\n', HEADER, "number in (0, 4096], got 0"),
        (ALLOC + '[[phase]]\nop = "pageout"\nhow = 1\n', HEADER, "unknown key 'how' for op"),
        (ALLOC + '[[phase]]\nop = "touch"\nfraction = 1.5\n', HEADER, "(0, 1], got 1.5"),
        (ALLOC + '[[phase]]\nop = "unmap"\nregion = "heap"\n', HEADER, "no earlier alloc named"),
        (ALLOC + '[[phase]]\nop = "race_unmap"\nreader = "random"\n', HEADER,
         "one of 'probe', 'sequential'"),
        ('[[phase]]\nop = "pageout"\n', HEADER, "before any alloc"),
        (ALLOC + '[[phase]]\nop = "set"\n"swap.size_mib" = 3\n', HEADER, "cannot change"),
        (ALLOC + '[[phase]]\nop = "set"\n', HEADER, "needs at least one of"),
        ('[[phase]]\nop = "repeat"\ntimes = 2\n', HEADER, "non-empty list of phase tables"),
        ('[[phase]]\nop = "repeat"\ntimes = 0\nphases = [{op = "sleep", seconds = 1}]\n',
         HEADER, "times"),
        ("", HEADER, "nothing to run"),
        ("[[process]]\nname = \"a:b\"\n" + ALLOC.replace("[[phase]]", "[[process.phase]]"),
         HEADER, "without ':'"),
        ("oops = [", HEADER, "not valid TOML"),
    ],
)
def test_bad_input_is_one_clear_line(body, header, needle):
    assert needle in error_of(body, header)


def test_duplicate_process_names_are_rejected():
    proc = '[[process]]\nname = "p"\n[[process.phase]]\nop = "sleep"\nseconds = 1\n'
    assert "duplicate process name" in error_of(proc + proc)


def test_too_many_expanded_ops_is_rejected():
    body = ('[[phase]]\nop = "repeat"\ntimes = 100000\nphases = [{op = "repeat", times = 100, '
            'phases = [{op = "sleep", seconds = 0}]}]\n')
    assert "ops after expanding repeats" in error_of(body)


def test_missing_file_lists_the_standard_scenarios():
    with pytest.raises(ScenarioError, match="standard scenarios: .*full-swap-oom"):
        load_scenario("no-such-scenario")


def test_every_op_has_a_documented_parameter_table():
    assert set(OPS) == {"alloc", "touch", "readback", "pageout", "unmap", "race_unmap",
                        "fork_touch", "sleep", "set", "repeat"}


@settings(deadline=None)  # no timing in tests: a loaded host took 0.5 s for one example
@given(size=st.integers(1, 4096), cluster=st.integers(0, 5), seed=st.integers(0, 2**31 - 1))
def test_overrides_revalidate_and_change_only_their_key(size, cluster, seed):
    base = load_scenario("full-swap-oom")
    new = base.with_overrides({"swap.size_mib": size, "machine.page_cluster": cluster,
                               "scenario.seed": seed})
    assert new.swap["size_mib"] == size and new.machine["page_cluster"] == cluster
    assert new.seed == seed
    assert new.memcg == base.memcg and new.processes == base.processes
    assert (new.sha256 == base.sha256) == (new.toml_text == base.toml_text)


def test_override_of_unknown_or_invalid_key_fails():
    base = load_scenario("full-swap-oom")
    with pytest.raises(ScenarioError, match="unknown scenario key; allowed: machine.ram_mib"):
        base.with_overrides({"swap.sise_mib": 3})
    with pytest.raises(ScenarioError, match="swap.size_mib"):
        base.with_overrides({"swap.size_mib": 0})
    assert "swap.size_mib" in overridable_keys()


def test_race_unmap_reader_reaches_the_guest_line():
    from swaplab.capture.guest import encode_workload

    text = ALLOC + '[[phase]]\nop = "race_unmap"\nchunk_kib = 32\nreader = "sequential"\n'
    lines = encode_workload(parse(text)).splitlines()
    assert "race_unmap last 8 unmap sequential" in lines
    probe = encode_workload(parse(ALLOC + '[[phase]]\nop = "race_unmap"\n')).splitlines()
    assert "race_unmap last 4 unmap" in probe
