"""The capture parser on a real raw capture (tests/data/raw/smoke-6.1), and on broken inputs.

The raw capture is the smoke scenario (tests/data/raw/smoke.toml) run once on Debian's
6.1.0-56-cloud-amd64 with ``--trace kprobes``; regenerate it with
``python tests/data/raw/regenerate.py`` (then update the exact values below).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from swaplab.capture.guest import check_runnable, encode_workload
from swaplab.capture.kernels import CaptureError, resolve_kernel
from swaplab.capture.parse import parse_run, parse_sample_line
from swaplab.capture.qemu import check_raw
from swaplab.scenario import Phase, Process, load_scenario

RAW = Path(__file__).parent / "data" / "raw"
SMOKE = RAW / "smoke.toml"


@pytest.fixture
def raw(tmp_path) -> Path:
    """A writable copy of the golden raw capture."""
    dst = tmp_path / "raw"
    shutil.copytree(RAW / "smoke-6.1", dst)
    return dst


@pytest.fixture
def scn():
    return load_scenario(SMOKE)


# ------------------------------------------------------------------------------ golden


def test_golden_raw_is_a_complete_run(raw):
    meta = check_raw(raw)
    assert meta["kernel_release"] == "6.1.0-56-cloud-amd64"
    assert meta["trace"] == "kprobes"


def test_golden_phase_snapshots_exact(raw, scn):
    # end-of-phase snapshots follow Scenario.phase_labels exactly
    ds = parse_run(raw, scn)
    assert list(ds.phase_name.values) == scn.phase_labels()
    golden = json.loads((RAW / "smoke-6.1.golden.json").read_text())
    for var, values in golden["snapshots"].items():
        np.testing.assert_array_equal(ds[f"{var}_end"].values, np.array(values, dtype=float),
                                      err_msg=var)


def test_golden_time_series_exact(raw, scn):
    ds = parse_run(raw, scn)
    golden = json.loads((RAW / "smoke-6.1.golden.json").read_text())
    assert ds.sizes["time"] == golden["n_time"]
    np.testing.assert_allclose(ds["time"].values[:3], [0.0, 0.1, 0.2])
    for var, values in golden["series_last"].items():
        assert float(ds[var].values[-1]) == values, var
    # counters are relative to workload start and never decrease
    assert ds["pswpout"].values[0] == 0
    assert np.all(np.diff(ds["pswpout"].values) >= 0)


def test_golden_swapout_and_swap_cache_hits(raw, scn):
    # MADV_PAGEOUT of 8 MiB writes 2048 pages; they stay in the swap cache (reclaim frees them
    # only on a later pass), so reading half back maps ~1024 swap-cache pages without pswpin
    ds = parse_run(raw, scn)
    labels = list(ds.phase_name.values)
    assert ds["pswpout_end"].values[labels.index("smoker:1:pageout")] >= 2048
    assert ds["swapcache_mapped_end"].values[labels.index("smoker:2:readback")] >= 1024
    assert list(ds["process_oom_killed"].values) == [0, 0]


def test_golden_trace_counts_and_kprobes(raw, scn):
    ds = parse_run(raw, scn)
    golden = json.loads((RAW / "smoke-6.1.golden.json").read_text())
    assert json.loads(ds.attrs["trace_event_counts"]) == golden["trace_event_counts"]
    assert "fscn@free_swap_and_cache_nr" in ds.attrs["kprobes_missing"]  # a 6.12 name
    assert "fsc@free_swap_and_cache" in ds.attrs["kprobes_ok"]
    assert ds.attrs["swap_orphans_kprobe"] == "reconstructed"


def test_golden_no_orphans_after_exit(raw, scn):
    # an unthrottled disk leaves no orphans: both estimates agree at the exit snapshot
    ds = parse_run(raw, scn)
    exit_i = list(ds.phase_name.values).index("smoker:exit")
    assert ds["swap_orphans_end"].values[exit_i] <= 64
    assert ds["swap_orphans_kprobe_end"].values[exit_i] == 0


# ------------------------------------------------------------------------------ bad inputs


def test_unknown_kernel_is_one_line_error_listing_allowed():
    with pytest.raises(CaptureError) as err:
        resolve_kernel("5.10")
    msg = str(err.value)
    assert "\n" not in msg and "5.10" in msg
    for name in ("6.1", "6.12", "7"):
        assert name in msg


def test_truncated_samples_rejected(raw, scn):
    p = raw / "out" / "samples.txt"
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:5]) + "\n" + lines[5][: len(lines[5]) // 2] + "\n")
    with pytest.raises(CaptureError, match="samples.txt:6: malformed or truncated"):
        parse_run(raw, scn)


def test_samples_without_end_line_rejected(raw, scn):
    p = raw / "out" / "samples.txt"
    lines = [ln for ln in p.read_text().splitlines() if not ln.startswith("END")]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(CaptureError, match="truncated"):
        parse_run(raw, scn)


def test_corrupted_samples_rejected(raw, scn):
    p = raw / "out" / "samples.txt"
    data = bytearray(p.read_bytes())
    data[100:104] = b"\0\0\0\0"
    p.write_bytes(bytes(data))
    with pytest.raises(CaptureError, match="NUL"):
        parse_run(raw, scn)


def test_out_of_bounds_value_rejected():
    with pytest.raises(CaptureError, match="out of bounds"):
        parse_sample_line("S 1.0 vm.pswpout=99999999999999999999 #", "x:1")
    with pytest.raises(CaptureError, match="malformed field"):
        parse_sample_line("S 1.0 vm.pswpout=12;rm #", "x:1")


def test_truncated_trace_rejected(raw, scn):
    p = raw / "trace.txt.gz"
    lines = gzip.decompress(p.read_bytes()).splitlines(keepends=True)
    p.write_bytes(gzip.compress(b"".join(lines[: len(lines) // 2])))
    with pytest.raises(CaptureError, match="truncated trace"):
        parse_run(raw, scn)


def test_corrupted_trace_rejected(raw, scn):
    p = raw / "trace.txt.gz"
    lines = gzip.decompress(p.read_bytes()).splitlines(keepends=True)
    lines[len(lines) // 3] = b"\x13garbage that is not an ftrace line\n"
    p.write_bytes(gzip.compress(b"".join(lines)))
    with pytest.raises(CaptureError, match="malformed trace line"):
        parse_run(raw, scn)


def test_snapshot_index_out_of_range_rejected(raw, scn):
    p = raw / "out" / "snapshots.txt"
    text = p.read_text().replace("P3 ", "P42 ", 1)
    p.write_text(text)
    with pytest.raises(CaptureError, match="snapshot index 42 outside"):
        parse_run(raw, scn)


def test_kernel_panic_reported(raw):
    con = raw / "console.log"
    con.write_text(con.read_text() + "[ 3.1] Kernel panic - not syncing: VFS: Unable to mount\n")
    with pytest.raises(CaptureError, match="kernel panic: VFS: Unable to mount"):
        check_raw(raw)


def test_hung_guest_reported(raw):
    meta = json.loads((raw / "run.json").read_text())
    meta["timed_out"] = True
    (raw / "run.json").write_text(json.dumps(meta))
    con = raw / "console.log"
    con.write_text(con.read_text().split("SWAPLAB-WORKLOAD-END")[0])
    with pytest.raises(CaptureError, match="guest hung in the workload"):
        check_raw(raw)


def test_missing_module_reported(raw):
    con = raw / "console.log"
    con.write_text("SWAPLAB-BOOTED 6.1\nSWAPLAB-FAIL insmod virtio_blk failed\nSWAPLAB-END\n")
    with pytest.raises(CaptureError, match="guest setup failed: insmod virtio_blk failed"):
        check_raw(raw)


def test_crashed_interpreter_reported(raw):
    con = raw / "console.log"
    con.write_text(con.read_text().replace("SWAPLAB-WORKLOAD-END rc=0",
                                           "SWAPLAB-WORKLOAD-END rc=139"))
    with pytest.raises(CaptureError, match=r"interpreter failed \(rc 139, signal 11\)"):
        check_raw(raw)


def test_zram_larger_than_guest_ram_is_refused(scn):
    big = scn.with_overrides({"swap.device": "zram", "swap.size_mib": 512})
    with pytest.raises(CaptureError, match="zram cannot hold|cannot hold the workload"):
        check_runnable(big)


def test_throttled_zram_is_refused(scn):
    bad = scn.with_overrides({"swap.device": "zram", "swap.size_mib": 32,
                              "swap.write_mib_s": 8.0})
    with pytest.raises(CaptureError, match="zram cannot be throttled"):
        check_runnable(bad)


def test_op_without_guest_encoding_is_refused(scn):
    from dataclasses import replace

    weird = replace(scn, processes=(Process("p", (Phase("frobnicate", {}),)),))
    with pytest.raises(CaptureError, match="op 'frobnicate' has no guest encoding"):
        encode_workload(weird)


# ------------------------------------------------------------------------------ encoding


def test_encoding_snapshot_indexes_follow_phase_labels():
    # every B/X index appears once, in phase_labels order, for every standard scenario
    from swaplab.scenario import standard_scenarios

    for name in standard_scenarios():
        s = load_scenario(name)
        lines = encode_workload(s).splitlines()
        idx = [int(ln.split()[1]) for ln in lines if ln[:2] in ("B ", "X ")]
        assert idx == list(range(len(s.phase_labels()))), name
        assert sum(ln.startswith("P ") for ln in lines) == len(s.processes)
        assert sum(ln.startswith("repeat") for ln in lines) == sum(ln == "end" for ln in lines)


def test_golden_paged_out_cache_is_not_orphaned(raw, scn):
    # after MADV_PAGEOUT the 2048 pages sit in the swap cache unmapped but still referenced by
    # swap ptes: the upper bound counts them, the snapshot's swap-pte check does not
    ds = parse_run(raw, scn)
    i = list(ds.phase_name.values).index("smoker:1:pageout")
    assert ds["memcg_swapcached_end"].values[i] == 2048
    assert ds["swap_orphans_upper_end"].values[i] == 2048
    assert ds["swap_orphans_end"].values[i] == 0
