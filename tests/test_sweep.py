"""Sweep specs, chunking and the engine end to end (real papermill, real Dask LocalCluster)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from swaplab import sweep as sw

ROOT = Path(__file__).resolve().parents[1]

TINY = """\
[sweep]
name = "tiny"
scenario = "liu-repro"
points_per_chunk = 3

[grid]
policy = ["linux-6.1", "hugh-scan"]
"swap.size_mib" = [8, 16]
seed = [1, 2]
"""


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def spec_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(sw.SweepSpecError) as info:
        sw.load_sweep(write_spec(tmp_path, text))
    msg = str(info.value)
    assert "\n" not in msg, f"error must be one line: {msg!r}"
    return msg


# ---------------------------------------------------------------------------------------------
# Spec parsing and validation (nothing runs)
# ---------------------------------------------------------------------------------------------


def test_grid_expands_in_c_order_with_dims_named_from_keys(tmp_path):
    spec = sw.load_sweep(write_spec(tmp_path, TINY))
    assert spec.dims == ("policy", "swap_size_mib", "seed")
    assert spec.shape == (2, 2, 2) and spec.n_points == 8
    p = spec.point(5)  # (1, 0, 1): hugh-scan, 8 MiB, seed 2
    assert (p.policy, p.scenario.swap["size_mib"], p.seed) == ("hugh-scan", 8, 2)
    assert spec.point(0).scenario.swap["size_mib"] == 8


def test_zipped_axes_vary_together_and_fixed_applies_everywhere(tmp_path):
    text = TINY.replace('"swap.size_mib" = [8, 16]\n', "") + """
[[zip]]
dim = "limits"
"memcg.memory_max_mib" = [10, 20, 30]
"memcg.swap_max_mib" = [5, 10, 15]

[fixed]
"swap.write_mib_s" = 16
"""
    spec = sw.load_sweep(write_spec(tmp_path, text))
    assert spec.dims == ("policy", "seed", "limits") and spec.shape == (2, 2, 3)
    m = spec.point(2).scenario.memcg
    assert (m["memory_max_mib"], m["swap_max_mib"]) == (30, 15)
    assert spec.point(7).scenario.swap["write_mib_s"] == 16.0


def test_chunks_cover_every_point_once(tmp_path):
    spec = sw.load_sweep(write_spec(tmp_path, TINY))
    idx = [i for c in range(3) for i in spec.chunk_points(c, 3)]
    assert idx == list(range(8))
    with pytest.raises(sw.SweepError, match="out of range"):
        spec.chunk_points(3, 3)


@pytest.mark.parametrize("edit, needle", [
    (('seed = [1, 2]', 'bogus_key = [1, 2]'), "unknown key 'bogus_key'"),
    (('seed = [1, 2]', '"swap.nope" = [1]'), "unknown key 'swap.nope'"),
    (('seed = [1, 2]', 'seed = []'), "empty axis"),
    (('seed = [1, 2]', 'seed = 3'), "must be a list"),
    (('seed = [1, 2]', 'seed = [1, "two"]'), "one type"),
    (('seed = [1, 2]', 'seed = [1, 1]'), "duplicate"),
    (('seed = [1, 2]', 'seed = [-1]'), "'seed' must be integers >= 0"),
    (('[8, 16]', '[8, 0]'), "swap.size_mib=0 rejected by the scenario"),
    (('[8, 16]', '["big"]'), "rejected by the scenario"),
    (('"hugh-scan"', '"linux-9"'), "unknown preset 'linux-9'"),
    (('points_per_chunk = 3', 'chunk_seconds = 5'), "must be >= 30"),
    (('points_per_chunk = 3', 'points_per_chunk = "3"'), "must be an integer"),
    (('scenario = "liu-repro"', 'scenario = "no-such"'), "no such scenario"),
    (('name = "tiny"', 'nme = "tiny"'), "unknown key 'sweep.nme'"),
    (('[grid]', '[gird]'), "unknown section 'gird'"),
])
def test_bad_specs_fail_before_running_with_one_line(tmp_path, edit, needle):
    old, new = edit
    assert old in TINY
    assert needle in spec_error(tmp_path, TINY.replace(old, new, 1))


def test_zip_lists_of_different_lengths_are_rejected(tmp_path):
    msg = spec_error(tmp_path, TINY + '[[zip]]\ndim = "l"\n"memcg.memory_max_mib" = [10, 20]\n'
                                      '"memcg.swap_max_mib" = [5]\n')
    assert "one length" in msg


def test_a_key_set_twice_is_rejected(tmp_path):
    assert "set twice" in spec_error(tmp_path, TINY + '[fixed]\nseed = 4\n')


def test_standard_sweeps_are_valid():
    names = sw.standard_sweeps()
    assert names, "data/sweeps ships no sweep"
    for name in names:
        spec = sw.load_sweep(name)
        assert spec.n_points >= 1


# ---------------------------------------------------------------------------------------------
# End to end: real papermill, real LocalCluster
# ---------------------------------------------------------------------------------------------


def direct_values(spec: sw.SweepSpec) -> dict[str, np.ndarray]:
    """Every point computed here, one by one, without papermill or Dask."""
    import swaplab.model as model

    out: dict[str, list] = {}
    for i in range(spec.n_points):
        for k, v in sw.reduce_point(model.simulate(*spec.point(i).args())).items():
            out.setdefault(k, []).append(v)
    return {k: np.stack(v).reshape(spec.shape + np.shape(v[0])) for k, v in out.items()}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    spec = write_spec(d, TINY)
    res = sw.run_sweep(spec, d / "out.zarr", workers=2, threads=1, progress=False)
    return spec, d / "out.zarr", res


def test_sweep_on_localcluster_fills_the_store(tiny_store):
    spec_path, store, res = tiny_store
    assert not res.failed and len(res.ran) == 3 and res.skipped == 0
    ds = sw.open_store(store)
    hs = ds.sel(policy="hugh-scan")
    assert hs["swap_orphans_peak"].dims == ("swap_size_mib", "seed")
    assert bool(ds["chunk_done"].all())
    assert list(ds["swap_size_mib"].values) == [8, 16]
    assert ds.attrs["source"] == "model" and ds.attrs["sweep_name"] == "tiny"
    for c in range(3):  # executed notebooks kept next to the store as provenance
        assert (sw.chunks_dir(store) / f"chunk-{c:05d}.ipynb").exists()


def test_store_equals_points_computed_directly(tiny_store):
    spec_path, store, _ = tiny_store
    spec = sw.load_sweep(spec_path)
    ds = sw.open_store(store).load()
    for name, expected in direct_values(spec).items():
        got = ds[name].transpose(*spec.dims, ...).values
        assert got.tobytes() == expected.astype(np.float64).tobytes(), name


def test_store_is_bitwise_identical_across_chunking_and_executor(tiny_store, tmp_path):
    spec_path, store, _ = tiny_store
    other = tmp_path / "sync.zarr"
    res = sw.run_sweep(spec_path, other, scheduler="synchronous", points_per_chunk=5,
                       threads=2, progress=False)
    assert not res.failed and res.plan.points_per_chunk == 5
    diffs = sw.compare_stores(store, other, ignore_attrs=("git_commit",))
    assert diffs == [] or diffs == ["variable chunk_done differs"], diffs


def test_rerun_of_a_finished_sweep_runs_nothing(tiny_store):
    spec_path, store, _ = tiny_store
    res = sw.run_sweep(spec_path, store, scheduler="synchronous", progress=False)
    assert res.ran == [] and res.skipped == 3


def test_a_store_from_another_spec_is_refused(tiny_store):
    spec_path, store, _ = tiny_store
    changed = spec_path.with_name("changed.toml")
    changed.write_text(spec_path.read_text().replace("[8, 16]", "[8, 12]"))
    with pytest.raises(sw.SweepError, match="another version"):
        sw.run_sweep(changed, store, scheduler="synchronous", progress=False)


def test_kill_9_then_resume_equals_uninterrupted(tiny_store, tmp_path):
    spec_path, ref_store, _ = tiny_store
    store = tmp_path / "killed.zarr"
    cmd = [str(ROOT / ".venv" / "bin" / "swaplab"), "sweep", str(spec_path), "-o", str(store),
           "--workers", "1", "--threads", "1", "--points-per-chunk", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    parts = sw.chunks_dir(store)
    deadline = time.monotonic() + 240
    try:
        while len(list(parts.glob("chunk-*.json"))) < 1:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no chunk finished in 240 s"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(list(parts.glob("chunk-*.json")))
    assert done_before < 4, "the sweep finished before the kill"
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert f"{done_before} already done" in out.stdout or "already done" in out.stdout
    res_skipped = int(out.stdout.split(" already done")[0].rsplit(" ", 1)[1])
    assert res_skipped >= done_before
    diffs = sw.compare_stores(ref_store, store, ignore_attrs=("git_commit",))
    assert diffs == [] or diffs == ["variable chunk_done differs"], diffs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_on_a_cluster_of_dask_processes_equals_localcluster(tiny_store, tmp_path):
    """`dask scheduler` + 2 `dask worker` processes on loopback, the sweep sent with
    --scheduler: the same store as on a LocalCluster."""
    spec_path, ref_store, _ = tiny_store
    dask = str(ROOT / ".venv" / "bin" / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = (tmp_path / "cluster.log").open("w")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=logs, stderr=logs,
                              start_new_session=True)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--name", f"w{i}", "--local-directory",
                 str(tmp_path / f"w{i}")], stdout=logs, stderr=logs, start_new_session=True))
        from distributed import Client

        with Client(address, timeout="120s") as client:
            client.wait_for_workers(2, timeout=240)
            assert len(client.scheduler_info()["workers"]) == 2
        store = tmp_path / "cluster.zarr"
        out = subprocess.run([str(ROOT / ".venv" / "bin" / "swaplab"), "sweep", str(spec_path),
                              "-o", str(store), "--scheduler", address, "--threads", "1",
                              "--no-progress"], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        assert "3 chunk(s) run" in out.stdout
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        logs.close()
    diffs = sw.compare_stores(ref_store, store, ignore_attrs=("git_commit",))
    assert diffs == [], diffs


def failing_notebook(path: Path) -> Path:
    """A chunk notebook that fails on chunk 1 only."""
    nb = nbformat.read(ROOT / "notebooks" / "02-policy-sweep.ipynb", as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        'if chunk == 1:\n    raise RuntimeError("chunk 1 breaks on purpose")'))
    nb.cells[2]["id"] = "fail-on-purpose"
    nbformat.write(nb, path)
    return path


def test_a_failing_chunk_is_reported_and_the_others_finish(tmp_path):
    nb = failing_notebook(tmp_path / "failing.ipynb")
    spec = write_spec(tmp_path, TINY.replace('scenario = "liu-repro"',
                                             f'scenario = "liu-repro"\nnotebook = "{nb.name}"'))
    store = tmp_path / "f.zarr"
    res = sw.run_sweep(spec, store, workers=2, threads=1, progress=False)
    assert [r.chunk for r in res.failed] == [1]
    assert "chunk 1 breaks on purpose" in res.failed[0].error
    assert Path(res.failed[0].notebook).exists()
    assert "chunk 1 failed" in res.summary() and res.failed[0].notebook in res.summary()
    ds = sw.open_store(store)
    assert list(ds["chunk_done"].values) == [True, False, True]
    flat = ds["time_end"].values.reshape(-1)
    assert np.isnan(flat[3:6]).all() and not np.isnan(flat[:3]).any()


def test_cli_dry_run_prints_the_plan(tmp_path):
    spec = write_spec(tmp_path, TINY)
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "swaplab"), "sweep", str(spec),
                          "--dry-run"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "= 8 points" in out.stdout and "chunks: 3 of up to 3 points" in out.stdout
    assert "estimated" in out.stdout


def test_cli_bad_spec_exits_2_with_one_line(tmp_path):
    spec = write_spec(tmp_path, TINY.replace("seed = [1, 2]", "seed = []"))
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "swaplab"), "sweep", str(spec), "-o",
                          str(tmp_path / "x.zarr")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "empty axis" in out.stderr
