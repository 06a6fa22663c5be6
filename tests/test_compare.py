"""Model vs kernel comparison on the end-of-phase snapshots."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from swaplab.compare import CompareError, align_phases, compare, find_traces
from swaplab.schema import VARIABLES, annotate

ROOT = Path(__file__).resolve().parents[1]
PHASES = ["p:0:alloc", "p:1:pageout", "p:exit"]


def dataset(source: str, base: float, repeats: int = 0, phases=PHASES) -> xr.Dataset:
    """A minimal schema-shaped dataset: every variable = base + phase index (+ repeat)."""
    n = len(phases)
    data = {}
    for v, meta in VARIABLES.items():
        if meta.source not in ("both", source):
            continue
        snap = base + np.arange(n, dtype=float)
        if repeats:
            data[f"{v}_end"] = (("repeat", "phase"),
                                snap[None, :] + np.arange(repeats)[:, None] - (repeats - 1) / 2)
        else:
            data[f"{v}_end"] = ("phase", snap)
    ds = xr.Dataset(data, coords={"phase": np.arange(n), "phase_name": ("phase", phases)})
    ds.attrs.update(source=source, scenario_name="s", policy="linux-6.1",
                    kernel_release="6.1.0-test")
    return annotate(ds)


def test_identical_values_give_zero_error_and_full_range():
    t = compare(dataset("model", 10), dataset("kernel", 10, repeats=3))
    assert (t["mae"] == 0).all() and (t["in_range"] == 1).all()
    assert set(t.index) == {v for v, m in VARIABLES.items() if m.source == "both"}


def test_an_offset_shows_as_mae_and_out_of_range():
    t = compare(dataset("model", 15), dataset("kernel", 10, repeats=3))
    assert t.loc["swap_used", "mae"] == pytest.approx(5.0)
    assert t.loc["swap_used", "max_abs"] == pytest.approx(5.0)
    assert t.loc["swap_used", "in_range"] == 0.0
    assert t.loc["swap_used", "rel"] == pytest.approx(5.0 / 11.0)


def test_kernel_repeats_are_summarised_by_mean_min_max():
    al = align_phases(dataset("model", 10), dataset("kernel", 10, repeats=3))
    assert list(al["swap_used_kernel_min"].values) == [9.0, 10.0, 11.0]
    assert list(al["swap_used_kernel_max"].values) == [11.0, 12.0, 13.0]


def test_different_scenarios_are_refused():
    with pytest.raises(CompareError, match="no phase in common"):
        compare(dataset("model", 1), dataset("kernel", 1, phases=["q:0:alloc", "q:exit"]))


def test_cli_prints_a_table(tmp_path):
    m, k = tmp_path / "m.nc", tmp_path / "k.nc"
    dataset("model", 12).to_netcdf(m, engine="h5netcdf")
    dataset("kernel", 10, repeats=3).to_netcdf(k, engine="h5netcdf")
    out = subprocess.run([str(ROOT / ".venv/bin/swaplab"), "compare", str(m), str(k),
                          "--phases"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "swap_orphans" in out.stdout and "mae" in out.stdout and "p:exit" in out.stdout
    bad = subprocess.run([str(ROOT / ".venv/bin/swaplab"), "compare", str(m),
                          str(tmp_path / "none.nc")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_find_traces_lists_kernel_datasets_only(tmp_path):
    dataset("kernel", 1, repeats=2).to_netcdf(tmp_path / "k.nc", engine="h5netcdf")
    dataset("model", 1).to_netcdf(tmp_path / "m.nc", engine="h5netcdf")
    found = find_traces(tmp_path)
    assert [(f["kernel"], f["repeats"]) for f in found] == [("6.1.0-test", 2)]
    assert find_traces(tmp_path / "missing") == []
