"""The shipped traces: the standard scenario set on each kernel, plus ``MANIFEST.json``.

One file per (scenario, kernel): ``<out>/<scenario>__<kernel>.nc``.  The manifest records, per
file, the scenario hash, kernel release and package sha256, capture date, command, repeats and
the file's own sha256.  A file whose scenario hash and kernel release match is kept (resume).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from swaplab.capture.kernels import (
    CaptureError,
    _locked,
    cache_dir,
    debian_kernel_names,
    resolve_kernel,
    sha256_file,
)
from swaplab.capture.run import capture, clear_cache_for
from swaplab.scenario import load_scenario, standard_scenarios
from swaplab.schema import write_netcdf

__all__ = ["capture_standard_set", "read_manifest", "summarize", "MANIFEST_NAME"]

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
    out.mkdir(parents=True, exist_ok=True)
    kernels = kernels or debian_kernel_names()
    names = scenarios or standard_scenarios()
    manifest = read_manifest(out)
    todo = [(k, n) for k in kernels for n in names]
    bad = 0
    bar = tqdm(todo, desc="standard set", unit="capture")
    for kname, sname in bar:
        bar.set_postfix_str(f"{sname} on {kname}")
        scn = load_scenario(sname)
        kernel = resolve_kernel(kname)
        fname = f"{sname}__{kname}.nc"
        entry = manifest["files"].get(fname)
        if (not fresh and entry and (out / fname).exists()
                and entry["scenario_sha256"] == scn.sha256
                and entry["kernel_release"] == kernel.release
                and entry["repeats"] >= repeats and entry.get("trace") == trace
                and entry.get("failed_repeats", 0) == 0):
            continue
        if fresh:
            clear_cache_for(scn, kname, trace, sample_ms)
        try:
            ds = capture(scn, kname, repeats=repeats, trace=trace, jobs=jobs,
                         scheduler=scheduler, sample_ms=sample_ms, command=command)
        except CaptureError as exc:
            tqdm.write(f"{sname} on {kname}: FAILED: {exc}")
            bad += 1
            continue
        path = write_netcdf(ds, out / fname)
        failed = int(ds.attrs["failed_repeats"])
        bad += failed > 0
        entry = {
            "scenario": sname,
            "scenario_sha256": scn.sha256,
            "kernel": kname,
            "kernel_release": kernel.release,
            "kernel_package": ds.attrs["kernel_package"],
            "kernel_package_sha256": ds.attrs["kernel_package_sha256"],
            "qemu_version": ds.attrs["qemu_version"],
            "created_utc": ds.attrs["created_utc"],
            "command": command,
            "repeats": repeats,
            "failed_repeats": failed,
            "trace": trace,
            "sample_ms": sample_ms,
            "file_sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
        with _locked(_lock_path(out)):  # batches for other kernels may share the folder
            manifest = read_manifest(out)
            manifest["files"][fname] = entry
            _write_manifest(out, manifest)
    releases = {}
    for e in manifest["files"].values():
        releases.setdefault(e["kernel"], set()).add(e["kernel_release"])
    mixed = {k: sorted(v) for k, v in releases.items() if len(v) > 1}
    if mixed:
        tqdm.write(f"WARNING: the folder mixes kernel releases: {mixed}")
    return 1 if bad else 0


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
