"""The patched 6.1 kernels (unpatched vs hugh-scan) against the model's presets."""

from __future__ import annotations

import pytest

from swaplab.compare import (
    ORPHAN_SCENARIOS,
    PATCHED_SCENARIOS,
    describe_policy_outcomes,
    find_traces,
    policy_agreement,
    policy_outcomes,
    trace_dir,
)
from swaplab.model import simulate

TRACES = find_traces(trace_dir() / "patched")
pytestmark = pytest.mark.skipif(not TRACES, reason="no patched-kernel traces shipped")
SEEDS = 3  # model seeds per (scenario, policy): enough for a majority, keeps this fast


@pytest.fixture(scope="module")
def outcomes():
    return policy_outcomes(TRACES, seeds=SEEDS)


def rows(df, source, kernel):
    return df[(df["source"] == source) & (df["kernel"] == kernel)].set_index("scenario")


def test_table_is_tidy_one_row_per_scenario_kernel_and_source(outcomes):
    assert set(outcomes["source"]) == {"kernel", "model"}
    assert set(outcomes["kernel"]) == {"6.1+none", "6.1+hugh-scan"}  # +debug left out
    assert set(outcomes["scenario"]) == set(PATCHED_SCENARIOS)
    assert not outcomes.duplicated(["scenario", "kernel", "source"]).any()
    assert len(outcomes) == 2 * 2 * len(PATCHED_SCENARIOS)
    assert (rows(outcomes, "kernel", "6.1+none")["runs"] == 5).all()
    assert (rows(outcomes, "model", "6.1+none")["runs"] == SEEDS).all()
    assert dict(zip(outcomes["kernel"], outcomes["policy"], strict=False)) == {
        "6.1+none": "linux-6.1", "6.1+hugh-scan": "hugh-scan"}


def test_kernel_rows_patch_removes_orphan_ooms_and_keeps_the_genuine_one(outcomes):
    none, hugh = rows(outcomes, "kernel", "6.1+none"), rows(outcomes, "kernel", "6.1+hugh-scan")
    for scn in ORPHAN_SCENARIOS:
        assert hugh.at[scn, "runs_oom_killed"] == 0, scn
        assert none.at[scn, "runs_oom_killed"] >= 3, scn  # 4/5, 5/5, 4/5 in kernels/README.md
        assert none.at[scn, "orphans_before"] > 10_000, scn  # pages, at the maker's exit
    assert hugh.loc[list(ORPHAN_SCENARIOS), "freed"].sum() > 0
    assert none.loc[list(ORPHAN_SCENARIOS), "freed"].isna().all()  # no counters unpatched
    for k in (none, hugh):
        assert k.at["no-orphan-control", "runs_oom_killed"] == 0
        assert k.at["plain-memcg-oom", "runs_oom_killed"] == 5
    assert hugh.at["plain-memcg-oom", "slots_scanned"] > 0  # scanned, found ~nothing to free


def test_model_scan_runs_only_under_hugh_scan(outcomes):
    none = rows(outcomes, "model", "6.1+none")
    assert (none["slots_scanned"].fillna(0) == 0).all()
    assert (none["freed"].fillna(0) == 0).all()
    # wherever linux-6.1 OOMs on orphans, hugh-scan's scan frees some; the model's scan may
    # run already in the orphan maker (its last round hits memory.max), so count the run
    for name in ORPHAN_SCENARIOS:
        if int(simulate(name, "linux-6.1")["oom_kill_end"].values[-1]) == 0:
            continue
        assert int(simulate(name, "hugh-scan")["policy_freed_end"].values[-1]) > 0, name


# Debian's 6.1 (0/3 OOM-killed) and the self-built tinyconfig 6.1 (4/5) disagree with each
# other on full-device-oom; the model (no OOM) sides with Debian's kernel there.
KNOWN_DISAGREEMENTS = {("full-device-oom", "6.1+none")}


def test_model_agrees_with_kernel_on_oom_majority(outcomes):
    ag = policy_agreement(outcomes)
    assert len(ag) == 2 * len(PATCHED_SCENARIOS)
    known = ag.apply(lambda r: (r["scenario"], r["kernel"]) in KNOWN_DISAGREEMENTS, axis=1)
    assert ag[~known]["agree"].all(), ag[~known & ~ag["agree"]].to_string()
    text = describe_policy_outcomes(outcomes)
    n_agree = int(ag["agree"].sum())
    assert f"{n_agree} of {len(ag)}" in text


def test_no_patched_traces_gives_an_empty_table_and_says_so():
    df = policy_outcomes([])
    assert df.empty and "No patched-kernel traces" in describe_policy_outcomes(df)
