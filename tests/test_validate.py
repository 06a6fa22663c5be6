"""The corpus split and ``swaplab validate``'s scoring, on hand-built datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from swaplab.corpus import CorpusError, corpus_files, corpus_scenarios, split_of
from swaplab.paths import data_dir
from swaplab.scenario import scenario_from_text
from swaplab.validate import _score_scenario, effective_swap_pages

# The validation half of the shipped corpus (gen seed 1, 48 scenarios), fixed by the hash rule.
VALIDATION_HALF = [
    "gen1-004", "gen1-005", "gen1-009", "gen1-011", "gen1-015", "gen1-018", "gen1-023",
    "gen1-025", "gen1-027", "gen1-029", "gen1-032", "gen1-033", "gen1-034", "gen1-036",
    "gen1-038", "gen1-039", "gen1-041", "gen1-042", "gen1-043", "gen1-044", "gen1-045",
    "gen1-046", "oom1-002", "oom1-005", "oom1-010", "oom1-012", "oom1-016", "oom1-021",
    "oom1-022",
]

TINY = """
[scenario]
name = "tiny"
[swap]
size_mib = 64
[memcg]
swap_max_mib = 32
[[phase]]
op = "alloc"
mib = 8
[[phase]]
op = "pageout"
"""


def test_split_rule_is_the_hash_parity():
    assert split_of("0" * 64) == "calibration"
    assert split_of("00000001" + "0" * 56) == "validation"
    scns = corpus_scenarios(data_dir() / "validation")
    assert len(scns) == 48 + 24  # gen1 and oom1
    assert sorted(s.name for s in scns if split_of(s) == "validation") == VALIDATION_HALF


def test_manifest_split_must_follow_the_rule(tmp_path):
    sha = "00000001" + "0" * 56  # validation by the rule
    entry = {"scenario": "x", "scenario_sha256": sha, "kernel": "6.1"}
    (tmp_path / "MANIFEST.json").write_text(json.dumps(
        {"files": {"x__6.1.nc": {**entry, "split": "validation"}}}))
    assert [e["scenario"] for e in corpus_files(tmp_path, "validation")] == ["x"]
    assert corpus_files(tmp_path, "calibration") == []
    (tmp_path / "MANIFEST.json").write_text(json.dumps(
        {"files": {"x__6.1.nc": {**entry, "split": "calibration"}}}))
    with pytest.raises(CorpusError, match="disagrees with the hash rule"):
        corpus_files(tmp_path, "calibration")
    with pytest.raises(CorpusError, match="allowed: calibration, validation"):
        corpus_files(tmp_path, "both")


def _kernel(used, cached, oom, orphans, status):
    phases = len(used[0])
    ds = xr.Dataset({
        "swap_used_end": (("repeat", "phase"), np.array(used, float)),
        "swap_cached_end": (("repeat", "phase"), np.array(cached, float)),
        "oom_kill_end": (("repeat", "phase"), np.array([[0] * (phases - 1) + [o] for o in oom],
                                                        float)),
        "swap_orphans_end": (("repeat", "phase"),
                             np.array([[0] * (phases - 1) + [o] for o in orphans], float)),
        "repeat_status": (("repeat",), np.array(status)),
    }, coords={"phase_name": (("phase",), ["tiny:0:alloc", "tiny:1:pageout", "tiny:exit"])})
    return ds


def _model(used, cached, oom, orphans):
    return _kernel([used], [cached], [oom], [orphans], ["ok"]).isel(repeat=0)


def test_score_scenario_exact_figures():
    scn = scenario_from_text(TINY)
    assert effective_swap_pages(scn) == 32 * 256  # min(64 MiB device, 32 MiB swap.max)
    kds = _kernel(used=[[0, 1000, 100], [0, 1200, 100], [np.nan] * 3],
                  cached=[[0, 500, 100], [0, 500, 100], [np.nan] * 3],
                  oom=[1, 0, np.nan], orphans=[300, 100, np.nan],
                  status=["ok", "ok", "failed: hang"])
    # model: used off by 800 pages at pageout (0.098 of 8192: within), cached off by 901
    # at exit (0.11: not within); OOM 0/4 vs 1/2 (Wilson intervals overlap); orphans > 1 MiB
    # in 3 of 4 seeds (majority yes) vs 1 of 2 repeats (no majority)
    model = [_model([0, 1900, 100], [0, 500, 1001], 0, orph) for orph in (300, 300, 300, 0)]
    row = _score_scenario(scn, kds, model)
    assert [c.within for c in row["cells"]] == [True, True, False]
    assert row["cells"][1].error == pytest.approx(800 / 8192)
    assert row["cells"][2].error == pytest.approx(901 / 8192)
    assert row["kernel_oom"] == [1, 2] and row["model_oom"] == [0, 4]
    assert row["oom_agree"] is True
    assert row["orphan_agree"] is False
    assert row["repeats"] == 2 and row["seeds"] == 4
    assert "orphans the kernel" in row["cells"][2].likely_cause
    # every seed OOM-killed vs never on the kernel: intervals (0.51-1) and (0-0.66) overlap,
    # 20 seeds vs 5 repeats do not
    many = [_model([0, 1100, 100], [0, 500, 100], 1, 0)] * 20
    kds5 = _kernel([[0, 1100, 100]] * 5, [[0, 500, 100]] * 5, [0] * 5, [0] * 5, ["ok"] * 5)
    assert _score_scenario(scn, kds5, many)["oom_agree"] is False
