"""The shipped traces: the standard scenario set on each kernel, plus ``MANIFEST.json``.

One file per (scenario, kernel): ``<out>/<scenario>__<kernel>.nc``.  The manifest records, per
file, the scenario hash, kernel release and package sha256, capture date, command, repeats and
the file's own sha256.  A file whose scenario hash and kernel release match is kept (resume).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from swaplab.capture.guest import check_runnable
from swaplab.capture.kernels import (
    CaptureError,
    _locked,
    cache_dir,
    debian_kernel_names,
    resolve_kernel,
    sha256_file,
)
from swaplab.capture.run import (
    RepeatResult,
    assemble,
    clear_cache_for,
    run_repeats,
)
from swaplab.scenario import Scenario, load_scenario, standard_scenarios
from swaplab.schema import write_netcdf

__all__ = ["capture_set", "capture_standard_set", "read_manifest", "record_in_manifest",
           "summarize", "MANIFEST_NAME"]

MANIFEST_NAME = "MANIFEST.json"


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a traces folder (empty if there is none yet)."""
    p = Path(folder) / MANIFEST_NAME
    return json.loads(p.read_text()) if p.exists() else {"files": {}}


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    tmp = folder / (MANIFEST_NAME + ".part")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    tmp.rename(folder / MANIFEST_NAME)


def _lock_path(out: Path) -> Path:
    """A lock file for a traces folder, kept in the cache (not in the folder itself)."""
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    path = cache_dir() / "locks" / f"manifest-{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def capture_standard_set(out: Path, *, kernels: list[str] | None = None, repeats: int = 3,
                         trace: str = "events", jobs: int | None = None,
                         scheduler: str | None = None, sample_ms: int = 100,
                         fresh: bool = False, command: str = "",
                         scenarios: list[str] | None = None) -> int:
    """Capture every standard scenario on every kernel into ``out``; 0 if all repeats ran."""
    scns = [load_scenario(name) for name in (scenarios or standard_scenarios())]
    return capture_set(out, scns, kernels=kernels, repeats=repeats, trace=trace, jobs=jobs,
                       scheduler=scheduler, sample_ms=sample_ms, fresh=fresh, command=command)


def _is_current(entry: dict[str, Any] | None, path: Path, scn: Scenario, release: str,
                repeats: int, trace: str) -> bool:
    """Whether a manifest entry already holds this capture (same scenario, kernel, mode)."""
    return bool(entry and path.exists() and entry["scenario_sha256"] == scn.sha256
                and entry["kernel_release"] == release and entry["repeats"] >= repeats
                and entry.get("trace") == trace and entry.get("failed_repeats", 0) == 0)


def capture_set(out: Path, scns: list[Scenario], *, kernels: list[str] | None = None,
                repeats: int = 3, trace: str = "events", jobs: int | None = None,
                scheduler: str | None = None, sample_ms: int = 100, fresh: bool = False,
                command: str = "",
                manifest_extra: Callable[[Scenario], dict[str, Any]] | None = None) -> int:
    """Capture scenarios x kernels into ``out/<scenario>__<kernel>.nc`` + the manifest.

    Every repeat of every capture is one task in one pool of ``jobs`` QEMUs (or on a Dask
    cluster), scenario-major so finished (scenario, kernel) files land early; each file is
    written, and the manifest updated, as soon as its last repeat is in.  Files already
    current in the manifest are skipped, repeats already run come from the run cache, so a
    killed batch resumes.  0 if every repeat ran.
    """
    out.mkdir(parents=True, exist_ok=True)
    kernels = kernels or debian_kernel_names()
    images = {k: resolve_kernel(k) for k in kernels}
    for scn in scns:
        check_runnable(scn)
    manifest = read_manifest(out)
    groups = []
    for scn in scns:
        for kname, kernel in images.items():
            fname = f"{scn.name}__{kname}.nc"
            if not fresh and _is_current(manifest["files"].get(fname), out / fname, scn,
                                         kernel.release, repeats, trace):
                continue
            if fresh:
                clear_cache_for(scn, kname, trace, sample_ms)
            groups.append((scn, kname, fname))
    bad = 0
    tasks = [(g, r) for g in groups for r in range(repeats)]
    bar = tqdm(total=len(tasks), desc="captures", unit="run")
    done: dict[str, list[RepeatResult]] = {}

    def finished(group: tuple[Scenario, str, str], res: RepeatResult) -> None:
        nonlocal bad
        scn, kname, fname = group
        bar.update(1)
        bar.set_postfix_str(f"{scn.name} on {kname}")
        if res.error:
            tqdm.write(f"{scn.name} on {kname} repeat {res.repeat}: FAILED: {res.error}")
        results = done.setdefault(fname, [])
        results.append(res)
        if len(results) < repeats:
            return
        try:
            ds = assemble(scn, images[kname], results, trace=trace, sample_ms=sample_ms,
                          command=command)
        except CaptureError as exc:
            tqdm.write(f"{scn.name} on {kname}: FAILED: {exc}")
            bad += 1
            return
        bad += int(ds.attrs["failed_repeats"]) > 0
        _record(out, fname, scn, kname, images[kname].release, ds, command, repeats, trace,
                sample_ms, (manifest_extra or (lambda s: {}))(scn))

    by_file = {g[2]: g for g in groups}
    for fname, res in run_repeats([(g[2], g[0].toml_text, g[1], r) for g, r in tasks],
                                  trace=trace, sample_ms=sample_ms,
                                  jobs=jobs or os.cpu_count() or 1, scheduler=scheduler):
        finished(by_file[fname], res)
    bar.close()
    releases: dict[str, set[str]] = {}
    for e in read_manifest(out)["files"].values():
        releases.setdefault(e["kernel"], set()).add(e["kernel_release"])
    mixed = {k: sorted(v) for k, v in releases.items() if len(v) > 1}
    if mixed:
        tqdm.write(f"WARNING: the folder mixes kernel releases: {mixed}")
    return 1 if bad else 0


def _record(out: Path, fname: str, scn: Scenario, kname: str, release: str, ds: Any,
            command: str, repeats: int, trace: str, sample_ms: int,
            extra: dict[str, Any]) -> None:
    """Write one capture file and its manifest entry (under the folder's lock)."""
    write_netcdf(ds, out / fname)
    record_in_manifest(out / fname, scn, kname, release, ds, command=command, repeats=repeats,
                       trace=trace, sample_ms=sample_ms, extra=extra)


def record_in_manifest(path: Path, scn: Scenario, kname: str, release: str, ds: Any, *,
                       command: str, repeats: int, trace: str, sample_ms: int,
                       extra: dict[str, Any] | None = None) -> None:
    """Enter the written capture ``path`` in its folder's MANIFEST.json (under the lock)."""
    out, fname = path.parent, path.name
    entry = {
        "scenario": scn.name,
        "scenario_sha256": scn.sha256,
        "kernel": kname,
        "kernel_release": release,
        "kernel_package": ds.attrs["kernel_package"],
        "kernel_package_sha256": ds.attrs["kernel_package_sha256"],
        "qemu_version": ds.attrs["qemu_version"],
        "created_utc": ds.attrs["created_utc"],
        "command": command,
        "repeats": repeats,
        "failed_repeats": int(ds.attrs["failed_repeats"]),
        "trace": trace,
        "sample_ms": sample_ms,
        "host_load_max": float(np.nanmax(ds["host_load_end"].values)),
        "file_sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        **(extra or {}),
    }
    with _locked(_lock_path(out)):  # batches for other kernels may share the folder
        manifest = read_manifest(out)
        manifest["files"][fname] = entry
        _write_manifest(out, manifest)


def summarize(folder: Path) -> Any:
    """One row per (scenario, kernel) of a traces folder: orphans, OOM kills, spreads.

    Columns: ``orphans_exit_*`` (pages, at the first process's exit snapshot: min/median/max
    over repeats), ``oom_killed`` (processes OOM-killed, per repeat), ``memcg_oom_kill``
    (memory.events oom_kill at the end, per repeat), ``wall_s`` (median).
    """
    import numpy as np
    import pandas as pd
    import xarray as xr

    rows = []
    for name, entry in sorted(read_manifest(folder)["files"].items()):
        with xr.open_dataset(Path(folder) / name) as ds:
            labels = list(ds.phase_name.values)
            first_exit = next(i for i, lab in enumerate(labels) if lab.endswith(":exit"))
            orph = ds["swap_orphans_end"].isel(phase=first_exit).values
            kills = ds["process_oom_killed"].sum("process", min_count=1).values
            rows.append({
                "scenario": entry["scenario"], "kernel": entry["kernel"],
                "release": entry["kernel_release"], "repeats": int(ds.sizes["repeat"]),
                "failed": int(ds.attrs.get("failed_repeats", 0)),
                "orphans_exit_min": float(np.nanmin(orph)),
                "orphans_exit_median": float(np.nanmedian(orph)),
                "orphans_exit_max": float(np.nanmax(orph)),
                "oom_killed": " ".join("nan" if k != k else str(int(k)) for k in kills),
                "memcg_oom_kill": " ".join(
                    "nan" if v != v else str(int(v))
                    for v in ds["memcg_oom_kill_end"].isel(phase=-1).values),
                "wall_s": float(np.nanmedian(ds["wall_s"].values)),
            })
    return pd.DataFrame(rows)
