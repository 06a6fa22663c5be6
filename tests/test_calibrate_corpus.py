"""swaplab calibrate --corpus: only the calibration half, discrete targets, convergence flag,
provenance, the dirty-tree guard, and presets taking their defaults from their own file."""

from __future__ import annotations

import json
import math
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from swaplab import calibrate as C
from swaplab.cli import main
from swaplab.corpus import split_of
from swaplab.model.policies import PRESETS, ModelError, calibrated_knobs, resolve_knobs

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "data" / "traces"
CAL_FILE = "no-orphan-control__6.1.nc"  # its scenario hash puts it in the calibration half
VAL_FILES = ("writeback-orphans__6.1.nc", "plain-memcg-oom__6.1.nc")  # validation half


def _entry(path: Path) -> dict:
    with xr.open_dataset(path) as ds:
        sha = ds.attrs["scenario_sha256"]
        return {"kernel": "6.1", "scenario": ds.attrs["scenario_name"],
                "scenario_sha256": sha, "split": split_of(sha)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A tiny corpus: shipped 6.1 traces, each marked with the split its hash gives."""
    d = tmp_path_factory.mktemp("corpus")
    files = {}
    for name in (CAL_FILE, *VAL_FILES):
        shutil.copy(TRACES / name, d / name)
        files[name] = _entry(d / name)
    assert files[CAL_FILE]["split"] == "calibration"
    assert all(files[n]["split"] == "validation" for n in VAL_FILES)
    (d / "MANIFEST.json").write_text(json.dumps({"files": files}, indent=1))
    return d


def test_only_the_calibration_half_is_read(corpus):
    cases = C.calibration_cases(corpus, "6.1")
    assert [c.file for c in cases] == [CAL_FILE]
    assert [c.file for c in C.calibration_cases(corpus, "6.1", [CAL_FILE])] == [CAL_FILE]
    for name in VAL_FILES:
        with pytest.raises(C.CalibrationError, match="calibration half"):
            C.calibration_cases(corpus, "6.1", [name])
        with pytest.raises(C.CalibrationError, match="calibration half"):
            C.calibration_cases(corpus, "6.1", [corpus / name])
    with pytest.raises(C.CalibrationError, match="no calibration captures"):
        C.calibration_cases(corpus, "7")


def test_a_validation_capture_marked_calibration_is_refused(corpus, tmp_path):
    d = tmp_path / "edited"
    shutil.copytree(corpus, d)
    man = json.loads((d / "MANIFEST.json").read_text())
    man["files"][VAL_FILES[0]]["split"] = "calibration"  # edited by hand
    (d / "MANIFEST.json").write_text(json.dumps(man))
    with pytest.raises(C.CalibrationError, match="disagrees with the hash rule"):
        C.calibration_cases(d, "6.1")


def test_targets_include_outcomes_and_spreads(corpus):
    targets = C.corpus_targets(C.calibration_cases(corpus, "6.1"))
    kinds = {t.kind for t in targets}
    assert {"phase", "orphans", "orphans>1MiB", "oom", "spread:phase"} <= kinds
    oom = [t for t in targets if t.kind == "oom"]
    assert len(oom) == 2 and all(t.kernel == 0.0 for t in oom)  # no-orphan-control: no kill


def test_a_wrong_outcome_costs_more_than_a_duration_off_by_7x():
    wrong = C.CorpusTarget("x:p:oom-killed", "oom", 0, 0, kernel=1.0)
    assert wrong.residual(0.0) ** 2 == pytest.approx(C.DISCRETE_WEIGHT)
    assert wrong.residual(1.0) == 0.0
    assert C.CorpusTarget("o", "orphans>1MiB", 0, -1, 2 / 3).residual(2 / 3) == 0.0
    slow = C.CorpusTarget("x:phase", "phase", 0, 0, kernel=1.0)
    assert slow.residual(7.0) ** 2 < wrong.residual(0.0) ** 2
    spread = C.CorpusTarget("s", "spread:phase", 0, 0, kernel=0.0)
    assert spread.residual(0.0) == 0.0 and spread.residual(0.1) > 0


def test_one_knob_fit_runs_to_convergence(corpus):
    res = C.calibrate_corpus("6.1", corpus, quick=True, time_knobs=("phase_pause_s",),
                             jitter_knobs=(), max_evals=300, progress=False, threads=1)
    assert res.converged and res.nfev < 300, res.message
    assert res.objective_after <= res.objective_before
    assert set(res.fitted) == {"phase_pause_s"}


def test_budget_stop_is_reported_as_not_converged(corpus, tmp_path):
    out = tmp_path / "6.1.toml"
    argv = ["calibrate", "--kernel", "6.1", "--corpus", str(corpus), "--quick",
            "--max-evals", "8", "--allow-dirty", "--no-progress", "-o", str(out)]
    assert main(argv) == 0
    doc = tomllib.loads(out.read_text())
    cal = doc["calibration"]
    assert cal["converged"] is False and cal["nfev"] >= 8
    assert cal["split"] == "calibration" and cal["data"] == "corpus"
    assert set(doc["fitted"]) == set(C.CORPUS_TIME_KNOBS) | set(C.CORPUS_FIT_JITTER)
    assert "cpu_munmap_ns" in doc["fitted"]  # OOM outcomes are targets: no reason to hold it
    assert set(doc["fixed_why"]) == set(doc["fixed"]) - {"note"} == {"cpu_write_ns",
                                                                     "cpu_scan_ns"}
    assert isinstance(doc["fitted"]["io_reorder"], int)
    assert list(doc["provenance"]["files_sha256"]) == [CAL_FILE]
    assert doc["provenance"]["git_commit"]
    assert "--allow-dirty" in doc["provenance"]["command"]
    total = sum(t["residual_after"] ** 2 for t in doc["targets"].values())
    assert math.isclose(total, cal["objective_after"], rel_tol=1e-2)
    # a preset reads such a file: every fitted and fixed knob lands in the resolved knobs
    got = calibrated_knobs("6.1", tmp_path)
    assert got == {**{k: v for k, v in doc["fixed"].items() if k != "note"}, **doc["fitted"]}


def test_stages_fit_time_then_jitter_and_hold_the_rest_at_the_preset(corpus, tmp_path):
    out = tmp_path / "6.1.toml"
    base = ["calibrate", "--kernel", "6.1", "--corpus", str(corpus), "--quick", "--max-evals",
            "3", "--allow-dirty", "--no-progress", "-o", str(out)]
    assert main([*base, "--stage", "time"]) == 0
    doc = tomllib.loads(out.read_text())
    assert set(doc["fitted"]) == set(C.CORPUS_TIME_KNOBS)
    assert "--stage time" in doc["provenance"]["command"]
    assert doc["calibration"]["seeds"] == [1]  # one seed: no spread terms
    assert not [t for t in doc["targets"].values() if t["kind"].startswith("spread:")]
    assert main([*base, "--stage", "jitter"]) == 0
    doc = tomllib.loads(out.read_text())
    assert set(doc["fitted"]) == set(C.CORPUS_FIT_JITTER)
    preset = resolve_knobs("linux-6.1")
    assert {k: v for k, v in doc["fixed"].items() if k != "note"} == {
        k: float(preset[k]) for k in C.CORPUS_PRIOR}


def test_dirty_tree_is_refused_without_allow_dirty(monkeypatch, corpus, tmp_path, capsys):
    monkeypatch.setattr("swaplab.schema.git_commit", lambda: "abc1234-dirty")
    out = tmp_path / "x.toml"
    assert main(["calibrate", "--kernel", "6.1", "--corpus", str(corpus), "--quick",
                 "--no-progress", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "uncommitted changes" in err and "--allow-dirty" in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("argv,needle", [
    (["--files", "x.nc"], "--files needs --corpus"),
    (["--corpus", "/nonexistent/corpus"], "no MANIFEST.json"),
    (["--corpus", str(TRACES), "--optimizer", "bfgs"], "optimizer 'bfgs'; allowed"),
    (["--corpus", str(TRACES), "--stage", "warp"], "--stage 'warp': allowed all, time, jitter"),
])
def test_bad_corpus_input_is_a_one_line_error(argv, needle, capsys):
    assert main(["calibrate", "--allow-dirty", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


@pytest.mark.parametrize("name", ["linux-6.1", "linux-6.12", "linux-7"])
def test_kernel_presets_take_defaults_from_their_own_calibration_file(name):
    pol = PRESETS[name]
    assert pol.calibration in ("6.1", "6.12", "7")
    path = ROOT / "data" / "calibration" / f"{pol.calibration}.toml"
    if not path.is_file():
        assert pol.calibrated == {}
        return
    doc = tomllib.loads(path.read_text())
    want = {k: v for t in ("fixed", "fitted") for k, v in doc.get(t, {}).items() if k != "note"}
    assert want and dict(pol.calibrated) == want
    knobs = resolve_knobs(name)
    assert {k: knobs[k] for k in want} == want


def test_calibration_file_with_an_unknown_knob_is_refused(tmp_path):
    (tmp_path / "6.1.toml").write_text("[fitted]\ncpu_warp_ns = 3.0\n")
    with pytest.raises(ModelError, match="unknown knob 'cpu_warp_ns'"):
        calibrated_knobs("6.1", tmp_path)
    assert calibrated_knobs("9.9", tmp_path) == {}
    assert np.isfinite(resolve_knobs("linux-6.1")["cpu_fault_ns"])
