"""Stacking repeats: a failed repeat stays a NaN row with its reason, never a silent gap."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from swaplab.capture.parse import parse_run
from swaplab.capture.run import RepeatResult, _stack
from swaplab.scenario import load_scenario

RAW = Path(__file__).parent / "data" / "raw"


def test_failed_repeat_is_a_nan_row_with_its_reason(tmp_path):
    shutil.copytree(RAW / "smoke-6.1", tmp_path / "raw")
    ds = parse_run(tmp_path / "raw", load_scenario(RAW / "smoke.toml"))
    ds.attrs["qemu_cmdline"] = "qemu-system-x86_64 ..."
    results = [RepeatResult(0, ds, None), RepeatResult(1, None, "kernel panic: IO-APIC"),
               RepeatResult(2, ds.isel(time=slice(0, 10)), None)]
    st = _stack(results)
    assert list(st.repeat.values) == [0, 1, 2]
    assert list(st.repeat_status.values) == ["ok", "failed: kernel panic: IO-APIC", "ok"]
    assert np.isnan(st["pswpout_end"].sel(repeat=1).values).all()
    assert not np.isnan(st["pswpout_end"].sel(repeat=0).values).any()
    # the shorter repeat is padded with NaN on the common time grid
    assert st.sizes["time"] == ds.sizes["time"]
    assert np.isnan(st["pswpout"].sel(repeat=2).values[10:]).all()
    assert st.attrs["qemu_cmdline"] == "qemu-system-x86_64 ..."
