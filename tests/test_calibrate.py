"""swaplab calibrate: the fit, its output file, the committed defaults, CLI errors."""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from swaplab import calibrate as C
from swaplab.cli import main
from swaplab.model.policies import KNOBS

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "data" / "traces"
COMMITTED = ROOT / "data" / "calibration" / "standard-6.1.toml"
# every time cost 20x too small or too large: far from what the traces say
BAD_START = {"cpu_fault_ns": 200.0, "cpu_pageout_ns": 250.0, "cpu_zap_ns": 8000.0,
             "fast_read_mib_s": 20000.0}


@pytest.fixture(scope="module")
def cli_file(tmp_path_factory):
    """``swaplab calibrate --quick -o FILE`` on the shipped traces, loaded."""
    out = tmp_path_factory.mktemp("cal") / "6.1.toml"
    assert main(["calibrate", "--quick", "--no-progress", "--allow-dirty", "-o", str(out)]) == 0
    return tomllib.loads(out.read_text())


def test_quick_fit_lowers_the_objective_from_a_bad_start():
    res = C.calibrate("6.1", quick=True, start=BAD_START, progress=False)
    # three least-squares iterations over eight knobs: from 20x off, the objective falls by
    # 45% (398 -> 220 on the 6.1 traces, 2026-11-26); the full fit gets 285 -> 9.4
    assert res.objective_after < 0.75 * res.objective_before, (res.objective_before,
                                                               res.objective_after)
    assert res.start["cpu_fault_ns"] == 200.0
    assert set(res.fitted) == set(C.FIT_KNOBS)
    for name in C.FIT_KNOBS:
        KNOBS[name].check(name, res.fitted[name], "fitted")  # within the knob's range


def test_cli_writes_the_documented_keys_and_provenance(cli_file):
    cal = cli_file["calibration"]
    assert cal["kernel"] == "6.1" and cal["policy"] == "linux-6.1" and cal["quick"] is True
    assert cal["objective_after"] < cal["objective_before"]
    assert cal["n_targets"] == len(cli_file["targets"]) > 20
    assert set(cli_file["fitted"]) == set(C.FIT_KNOBS)
    assert set(cli_file["fixed"]) == set(C.FIXED_KNOBS) | {"note"}
    assert set(cli_file["sensitivity"]) == set(C.PRIOR) | {"note"}
    assert cli_file.get("nuisance", {}) == {}
    assert cli_file["excluded"] == C.EXCLUDED
    targets = cli_file["targets"]
    assert {t["kind"] for t in targets.values()} == {"phase", "pswpout", "swapfull", "orphans"}
    assert "writeback-orphans:orphans@orphan-maker:exit" in targets
    for t in targets.values():
        assert set(t) == {"kind", "kernel", "model_before", "model_after",
                          "residual_before", "residual_after"}
    total = sum(t["residual_after"] ** 2 for t in targets.values())
    assert math.isclose(total, cal["objective_after"], rel_tol=1e-2)
    prov = cli_file["provenance"]
    assert prov["command"].startswith("swaplab calibrate --kernel 6.1 --quick --allow-dirty")
    for key in ("git_commit", "swaplab_version", "scipy_version", "created_utc"):
        assert prov[key], key
    manifest = json.loads((TRACES / "MANIFEST.json").read_text())["files"]
    assert len(prov["traces_sha256"]) == len(list(TRACES.glob("*__6.1.nc")))
    for name, sha in prov["traces_sha256"].items():
        assert name.endswith("__6.1.nc")
        assert sha == hashlib.sha256((TRACES / name).read_bytes()).hexdigest()
        assert (sha == manifest[name]["file_sha256"]) == (
            name not in prov["traces_not_as_in_manifest"])


def test_committed_defaults_are_the_fitted_6_1_values():
    committed = tomllib.loads(COMMITTED.read_text())
    assert committed["calibration"]["kernel"] == "6.1"
    assert committed["calibration"]["quick"] is False
    assert committed["calibration"]["objective_after"] < committed["calibration"][
        "objective_before"]
    fixed = {k: v for k, v in committed["fixed"].items() if k != "note"}
    assert set(committed["fitted"]) | set(fixed) == set(C.PRIOR)
    for name, value in {**committed["fitted"], **fixed}.items():
        assert KNOBS[name].default == value, name
        assert "data/calibration/standard-6.1.toml" in KNOBS[name].doc, name


def test_crossing_interpolates_and_intervals_skip_unreached_phases():
    t = np.array([0.0, 0.1, 0.2, 0.3])
    y = np.array([0.0, 10.0, 30.0, 30.0])
    assert C._crossing(t, y, 20.0) == pytest.approx(0.15)
    assert math.isnan(C._crossing(t, y, 31.0))
    pet = np.array([[1.0, np.nan, 3.0], [2.0, np.nan, 2.5]])
    assert C._intervals(pet, [0, 2]).tolist() == [[1.0, 2.0], [2.0, 0.5]]


@pytest.mark.parametrize(("argv", "needle"), [
    (["--kernel", "5.10"], "unknown kernel '5.10'; allowed: 6.1, 6.12, 7"),
    (["--traces", "/nonexistent/traces"], "traces directory /nonexistent/traces does not"),
])
def test_bad_cli_input_is_a_one_line_error(argv, needle, capsys):
    assert main(["calibrate", "--no-progress", "--allow-dirty", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
