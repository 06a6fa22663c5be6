"""QEMU smoke test: boot Debian's 6.1 kernel (fetched into the cache if needed) under TCG and
capture a short scenario for real.  Needs qemu-system-x86_64 (``make sysdeps`` installs it as
root) and network access the first time (apt fetch of the kernel package, ~27 MB).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from swaplab.schema import validate

SMOKE = Path(__file__).parent / "data" / "raw" / "smoke.toml"


def _need_qemu() -> None:
    missing = [c for c in ("qemu-system-x86_64", "gcc", "apt-get", "dpkg-deb", "depmod")
               if shutil.which(c) is None]
    if missing:
        pytest.skip(f"QEMU capture needs {', '.join(missing)}: run `make sysdeps` as root")


@pytest.mark.qemu
def test_capture_smoke_on_6_1(tmp_path, monkeypatch):
    # a fresh per-test run cache (the kernel cache is shared: fetched once)
    _need_qemu()
    from swaplab.capture.kernels import cache_dir

    monkeypatch.setattr("swaplab.capture.run.runs_dir", lambda: tmp_path / "runs")
    from swaplab.capture.run import capture
    from swaplab.scenario import load_scenario

    assert cache_dir()  # SWAPLAB_CACHE or ~/.cache/swaplab
    ds = capture(load_scenario(SMOKE), "6.1", repeats=1, trace="none", jobs=1)
    validate(ds)
    assert ds.attrs["source"] == "kernel"
    assert ds.attrs["kernel_release"].startswith("6.1.0-")
    assert ds.attrs["failed_repeats"] == 0
    labels = list(ds.phase_name.values)
    pswpout = ds["pswpout_end"].sel(repeat=0).values
    assert pswpout[labels.index("smoker:1:pageout")] > 0, "MADV_PAGEOUT swapped nothing out"
    assert ds["swap_total_end"].sel(repeat=0).values[0] == 64 * 256 - 1  # 64 MiB less header
    assert list(ds["process_oom_killed"].sel(repeat=0).values) == [0, 0]


def test_cli_rejects_unknown_kernel_in_one_line(tmp_path):
    swaplab = [sys.executable, "-m", "swaplab.cli", "capture"]
    bad = subprocess.run([*swaplab, str(SMOKE), "--kernel", "4.19", "-o",
                          str(tmp_path / "x.nc")], capture_output=True, text=True)
    assert bad.returncode == 2
    err = bad.stderr.strip().splitlines()
    assert len(err) == 1 and "unknown kernel '4.19'" in err[0] and "6.12" in err[0]


@pytest.mark.qemu
def test_capture_on_dask_cluster_then_resumes_from_cache(tmp_path, monkeypatch):
    # repeats run on a real Dask LocalCluster; a second capture reuses the cached repeats
    _need_qemu()
    from dask.distributed import LocalCluster

    from swaplab.capture import run as run_mod
    from swaplab.scenario import load_scenario

    monkeypatch.setattr(run_mod, "runs_dir", lambda: tmp_path / "runs")
    scn = load_scenario(SMOKE).with_overrides({"machine.vcpus": 1})
    seen = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        ds = run_mod.capture(scn, "6.1", repeats=2, trace="none",
                             scheduler=cluster.scheduler_address, progress=seen.append)
    assert sorted(r.repeat for r in seen) == [0, 1] and not any(r.cached for r in seen)
    assert list(ds.repeat.values) == [0, 1]
    assert list(ds.repeat_status.values) == ["ok", "ok"]
    again = []
    ds2 = run_mod.capture(scn, "6.1", repeats=2, trace="none", jobs=2, progress=again.append)
    assert all(r.cached for r in again)
    assert float(ds2["pswpout_end"].sum()) == float(ds["pswpout_end"].sum())


@pytest.mark.qemu
def test_broken_module_is_a_one_line_setup_failure(tmp_path):
    # a real boot whose module list holds a file that is not a module: insmod fails in /init
    _need_qemu()
    from dataclasses import replace

    from swaplab.capture.kernels import CaptureError, resolve_kernel
    from swaplab.capture.qemu import run_guest
    from swaplab.scenario import load_scenario

    bogus = tmp_path / "bogus.ko"
    bogus.write_bytes(b"not an ELF module\n")
    kernel = resolve_kernel("6.1")
    broken = replace(kernel, modules=(*kernel.modules, bogus))
    with pytest.raises(CaptureError) as err:
        run_guest(broken, load_scenario(SMOKE), tmp_path / "run", trace="none")
    assert "\n" not in str(err.value)
    assert "guest setup failed: insmod bogus failed" in str(err.value)


@pytest.mark.qemu
def test_hung_guest_is_killed_and_reported(tmp_path):
    # a wall-clock limit far below the boot time: QEMU is killed, the error says where it was
    _need_qemu()
    from swaplab.capture.kernels import CaptureError, resolve_kernel
    from swaplab.capture.qemu import run_guest
    from swaplab.scenario import load_scenario

    with pytest.raises(CaptureError, match=r"guest hung .*killed after 2 s"):
        run_guest(resolve_kernel("6.1"), load_scenario(SMOKE), tmp_path / "run", trace="none",
                  timeout=2)


@pytest.mark.qemu
def test_generated_zram_scenario_captures_into_a_corpus_on_6_1(tmp_path, monkeypatch):
    # a small generated zram scenario of the shipped corpus' seed (memory.max 32M, 2 vCPUs),
    # through the corpus path (capture_set + manifest with its split); 6.1 needs lzo-rle for
    # zram's default compressor
    _need_qemu()
    from swaplab.capture import run as run_mod
    from swaplab.capture.traces import capture_set, read_manifest
    from swaplab.corpus import split_of
    from swaplab.scenario_gen import generate_one

    monkeypatch.setattr(run_mod, "runs_dir", lambda: tmp_path / "runs")
    scn = generate_one(1, 15)
    assert scn.swap["device"] == "zram"
    rc = capture_set(tmp_path / "corpus", [scn], kernels=["6.1"], repeats=1, trace="none",
                     jobs=1, manifest_extra=lambda s: {"split": split_of(s)})
    assert rc == 0
    entry = read_manifest(tmp_path / "corpus")["files"][f"{scn.name}__6.1.nc"]
    assert entry["split"] == split_of(scn) and entry["failed_repeats"] == 0
    ds = xr.open_dataset(tmp_path / "corpus" / f"{scn.name}__6.1.nc")
    validate(ds)
    assert list(ds.phase_name.values) == scn.phase_labels()
    assert float(ds["swap_total_end"].isel(repeat=0, phase=0)) == scn.swap["size_mib"] * 256 - 1
    assert np.isfinite(ds["host_load_end"].values).all()
