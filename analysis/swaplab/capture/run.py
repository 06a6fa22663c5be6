"""Captures: repeats of one scenario on one kernel -> one Dataset with a ``repeat`` dim.

Each repeat is cached on disk under ``<cache>/runs/<key>/r<N>/`` (key = scenario hash, kernel
name and release, trace mode, sample interval): its raw output and ``repeat.nc`` once parsed.
A killed batch resumes from what is there.  Repeats run in parallel (one QEMU per job) in
threads here, or on a Dask cluster with ``scheduler=ADDRESS``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from swaplab.capture.guest import check_runnable, guest_hash
from swaplab.capture.kernels import CaptureError, KernelImage, cache_dir, resolve_kernel
from swaplab.capture.parse import KERNEL_EXTRA, ORPHANS_METHOD, TIME_GRID, parse_run
from swaplab.capture.qemu import qemu_version, run_guest
from swaplab.scenario import Scenario, scenario_from_text
from swaplab.schema import annotate, provenance_attrs, utc_now, validate, write_netcdf

__all__ = ["assemble", "capture", "capture_dmesgs", "capture_repeat", "RepeatResult", "runs_dir"]


def runs_dir() -> Path:
    """Where raw runs and parsed repeats are cached."""
    return cache_dir() / "runs"


@dataclass
class RepeatResult:
    """One repeat: its dataset, or the one-line reason it failed."""

    repeat: int
    ds: xr.Dataset | None
    error: str | None
    cached: bool = False


def _key_prefix(scn: Scenario, kernel_name: str) -> str:
    """The start of a capture's run-directory name: scenario, its hash, the kernel name."""
    return f"{scn.name}-{scn.sha256[:12]}-{kernel_name.replace('+', '_')}-"


def _key(scn: Scenario, kernel: KernelImage, trace: str, sample_ms: int) -> str:
    safe_release = kernel.release.replace("+", "_")
    return _key_prefix(scn, kernel.name) + \
        f"{safe_release}-{trace}-{sample_ms}ms-g{guest_hash()}"


def capture_dmesgs(scenario_name: str, kernel_name: str) -> list[Path]:
    """The guest dmesg files of every cached repeat of a capture (``swaplab capture``), for
    :func:`swaplab.capture.kbuild.dmesg_splats`."""
    from swaplab.scenario import load_scenario

    prefix = _key_prefix(load_scenario(scenario_name), kernel_name)
    return sorted(p for d in runs_dir().glob(prefix + "*") for p in d.glob("r*/raw/**/dmesg.txt"))


def capture_repeat(scenario_text: str, kernel_name: str, repeat: int, trace: str,
                   sample_ms: int, keep_raw: bool = True,
                   timeout: float | None = None) -> RepeatResult:
    """Run (or load from the cache) one repeat.  Safe to call in a Dask worker."""
    scn = scenario_from_text(scenario_text, source="<capture>")
    kernel = resolve_kernel(kernel_name)
    rdir = runs_dir() / _key(scn, kernel, trace, sample_ms) / f"r{repeat}"
    parsed = rdir / "repeat.nc"
    if parsed.exists():
        with xr.open_dataset(parsed) as ds:
            return RepeatResult(repeat, ds.load(), None, cached=True)
    try:
        run_guest(kernel, scn, rdir / "raw", trace=trace, sample_ms=sample_ms, timeout=timeout)
        ds = parse_run(rdir / "raw", scn)
    except CaptureError as exc:
        (rdir / "failed.txt").write_text(str(exc) + "\n")
        return RepeatResult(repeat, None, str(exc))
    meta = json.loads((rdir / "raw" / "run.json").read_text())
    ds.attrs["qemu_cmdline"] = meta["qemu_cmdline"].replace(str(rdir / "raw"), "<run>")
    ds.attrs["qemu_version"] = meta["qemu_version"]
    write_netcdf(ds, parsed)
    (rdir / "failed.txt").unlink(missing_ok=True)
    if not keep_raw and (rdir / "raw" / "trace.txt").exists():
        (rdir / "raw" / "trace.txt").unlink()
    return RepeatResult(repeat, ds, None)


def run_repeats(tasks: list[tuple[Any, str, str, int]], *, trace: str, sample_ms: int,
                jobs: int, scheduler: str | None = None, keep_raw: bool = True,
                timeout: float | None = None) -> Iterator[tuple[Any, RepeatResult]]:
    """Run ``(tag, scenario_text, kernel_name, repeat)`` tasks in ``jobs`` threads (one QEMU
    each) or on the Dask cluster at ``scheduler``; yield ``(tag, result)`` as each finishes."""
    if scheduler:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futs = {client.submit(capture_repeat, text, kname, r, trace, sample_ms, keep_raw,
                                  timeout, pure=False, key=f"capture-{tag}-{r}"): tag
                    for tag, text, kname, r in tasks}
            for fut in dask_completed(list(futs)):
                yield futs[fut], fut.result()
        return
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futs = {pool.submit(capture_repeat, text, kname, r, trace, sample_ms, keep_raw,
                            timeout): tag for tag, text, kname, r in tasks}
        for fut in as_completed(futs):
            yield futs[fut], fut.result()


def _run_all(scn: Scenario, kernel: KernelImage, repeats: int, trace: str, sample_ms: int,
             jobs: int, scheduler: str | None, progress: Callable[[RepeatResult], None],
             keep_raw: bool, timeout: float | None) -> list[RepeatResult]:
    tag = f"{scn.name}-{kernel.name}"
    tasks = [(tag, scn.toml_text, kernel.name, r) for r in range(repeats)]
    results: list[RepeatResult] = []
    for _, res in run_repeats(tasks, trace=trace, sample_ms=sample_ms, jobs=jobs,
                              scheduler=scheduler, keep_raw=keep_raw, timeout=timeout):
        progress(res)
        results.append(res)
    return sorted(results, key=lambda r: r.repeat)


def _stack(results: list[RepeatResult]) -> xr.Dataset:
    """Stack repeats along ``repeat`` (outer join on the time grid: shorter runs pad NaN)."""
    ok = [r for r in results if r.ds is not None]
    per_repeat_attrs = ("qemu_cmdline", "guest_knobs_json",
                        "trace_event_counts", "trace_dropped_events", "kprobes_ok",
                        "kprobes_missing", "swap_orphans_kprobe", "extra_files")
    parts = []
    for r in ok:
        ds = r.ds.copy()
        ds.attrs = {}
        parts.append(ds.expand_dims(repeat=[r.repeat]))
    stacked = xr.concat(parts, dim="repeat", join="outer", combine_attrs="drop",
                        data_vars="all", coords="different", compat="equals")
    failed = [r for r in results if r.ds is None]
    if failed:  # failed repeats stay in the dataset as NaN rows with their reason
        stacked = stacked.reindex(repeat=[r.repeat for r in results])
    status = ["ok" if r.ds is not None else f"failed: {r.error}" for r in results]
    stacked["repeat_status"] = ("repeat", np.array(status, dtype=object).astype(str))
    for name in ("wall_s", "workload_s", "host_load_start", "host_load_end"):
        stacked[name] = ("repeat", [r.ds.attrs.get(name, np.nan) if r.ds is not None
                                    else np.nan for r in results])
    first = ok[0].ds.attrs
    attrs = {k: first[k] for k in per_repeat_attrs if k in first}
    if "trace_event_counts" in first:
        attrs["trace_event_counts"] = json.dumps(
            {str(r.repeat): json.loads(r.ds.attrs["trace_event_counts"]) for r in ok})
    cmdlines = sorted({r.ds.attrs["qemu_cmdline"] for r in ok})
    attrs["qemu_cmdline"] = " || ".join(cmdlines)  # more than one only if the harness changed
    knobs = {r.ds.attrs["guest_knobs_json"] for r in ok}
    attrs["guest_knobs_json"] = sorted(knobs)[0]
    if len(knobs) > 1:
        attrs["guest_knobs_differ"] = json.dumps(sorted(knobs))
    stacked.attrs = attrs
    return stacked


def capture(scn: Scenario, kernel_name: str, *, repeats: int = 1, trace: str = "events",
            sample_ms: int = 100, jobs: int | None = None, scheduler: str | None = None,
            progress: Callable[[RepeatResult], None] | None = None, keep_raw: bool = True,
            timeout: float | None = None, command: str = "") -> xr.Dataset:
    """Capture ``repeats`` runs of ``scn`` on ``kernel_name``; the stacked, validated Dataset.

    Failed repeats appear as NaN rows with ``repeat_status`` "failed: <reason>" and attr
    ``failed_repeats``; if every repeat fails, :class:`CaptureError` is raised instead.
    """
    if repeats < 1:
        raise CaptureError(f"--repeats {repeats}: must be >= 1")
    if not 10 <= sample_ms <= 10000:
        raise CaptureError(f"sample interval {sample_ms} ms: allowed 10..10000")
    check_runnable(scn)
    kernel = resolve_kernel(kernel_name)  # once: every repeat uses this exact release
    jobs = jobs or max(1, (os.cpu_count() or 1))
    results = _run_all(scn, kernel, repeats, trace, sample_ms, jobs, scheduler,
                       progress or (lambda r: None), keep_raw, timeout)
    return assemble(scn, kernel, results, trace=trace, sample_ms=sample_ms, command=command)


def assemble(scn: Scenario, kernel: KernelImage, results: list[RepeatResult], *, trace: str,
             sample_ms: int, command: str = "") -> xr.Dataset:
    """The validated capture Dataset from one (scenario, kernel)'s repeat results."""
    results = sorted(results, key=lambda r: r.repeat)
    repeats = len(results)
    failed = [r for r in results if r.ds is None]
    if len(failed) == len(results):
        raise CaptureError(f"{scn.name} on {kernel.release}: all {repeats} repeats failed; "
                           f"first: {failed[0].error}")
    ds = _stack(results)
    for name, (units, doc) in KERNEL_EXTRA.items():
        for v in (name, f"{name}_end"):
            if v in ds:
                ds[v].attrs.update(units=units, long_name=doc)
    annotate(ds)
    ds.attrs.update(provenance_attrs(
        scn, "kernel",
        kernel=kernel.name,
        kernel_release=kernel.release,
        kernel_package=kernel.package_attr(),
        kernel_package_sha256=kernel.sha256_attr(),
        kernel_provenance_json=kernel.provenance,
        qemu_version=qemu_version(),
        trace=trace,
        sample_ms=sample_ms,
        repeats=repeats,
        failed_repeats=len(failed),
        swap_orphans_method=ORPHANS_METHOD,
        time_grid=TIME_GRID,
        capture_command=command,
        **ds.attrs,
    ))
    ds.attrs["created_utc"] = utc_now()
    return validate(ds)


def clear_cache_for(scn: Scenario, kernel_name: str, trace: str, sample_ms: int) -> None:
    """Forget cached repeats of one capture (``--fresh``)."""
    kernel = resolve_kernel(kernel_name)
    shutil.rmtree(runs_dir() / _key(scn, kernel, trace, sample_ms), ignore_errors=True)
