"""The one dataset schema shared by the model and the kernel captures.

Units are 4 KiB pages unless a name says otherwise; counters are cumulative since workload
start.  A dataset has

- dim ``time`` (seconds since workload start): the sampled time series ``<var>(time)``;
- dim ``phase`` (coord ``phase_name``, see :meth:`Scenario.phase_labels`): end-of-phase
  snapshots ``<var>_end(phase)`` of the same variables, plus ``phase_end_time(phase)``;
- optionally ``repeat`` (kernel captures) and sweep dims, in front of ``time``/``phase``.

Provenance lives in attrs (strings or numbers only; dicts as JSON strings).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # xarray is imported by whoever has a Dataset (keeps `import swaplab` light)
    import xarray as xr

from swaplab.errors import SwaplabError

__all__ = [
    "VARIABLES",
    "REQUIRED_ATTRS",
    "SchemaError",
    "Variable",
    "provenance_attrs",
    "validate",
    "write_netcdf",
]

SCHEMA_VERSION = 1


class SchemaError(SwaplabError, ValueError):
    """A dataset does not follow the swaplab schema; the message names what is wrong."""


@dataclass(frozen=True)
class Variable:
    """One schema variable: its unit, whether it is a cumulative counter, who provides it."""

    units: str
    doc: str
    counter: bool = False
    source: str = "both"  # "both" | "model" | "kernel"


VARIABLES: dict[str, Variable] = {
    # --- swap device (/proc/meminfo, /proc/swaps; model: swap_map) ---
    "swap_total": Variable("pages", "swap device size (SwapTotal)"),
    "swap_used": Variable("pages", "slots in use: swap_map != 0 (SwapTotal - SwapFree)"),
    "swap_cached": Variable("pages", "pages in the swap cache, mapped or not (SwapCached)"),
    "swap_orphans": Variable(
        "pages", "cache-only slots: swap count 0, page in swap cache, no pte maps it"),
    # --- the memcg (cgroup v2 files) ---
    "memcg_current": Variable("pages", "memory.current (cgroup v1 model, memcg_accounting="
                              "'v1_memsw': memory.usage_in_bytes, res)"),
    "memcg_swap_current": Variable("pages", "memory.swap.current (v1 model: memsw - res, "
                                   "the memsw that swap_cgroup records hold on slots)"),
    "memcg_anon": Variable("pages", "memory.stat anon (mapped anon only, orphans excluded)"),
    "memcg_swapcached": Variable("pages", "memory.stat swapcached (mapped + orphaned)"),
    # --- /proc/vmstat counters ---
    "pswpin": Variable("pages", "pages read from swap (vmstat pswpin)", counter=True),
    "pswpout": Variable("pages", "pages written to swap (vmstat pswpout)", counter=True),
    "swap_ra": Variable("pages", "readahead pages read (vmstat swap_ra)", counter=True),
    "swap_ra_hit": Variable("pages", "readahead pages later used (vmstat swap_ra_hit)",
                            counter=True),
    "pgmajfault": Variable("count", "major faults (vmstat pgmajfault)", counter=True),
    # --- events ---
    "memcg_max_events": Variable("count", "memory.events max", counter=True),
    "memcg_oom": Variable("count", "memory.events oom", counter=True),
    "memcg_oom_kill": Variable("count", "memory.events oom_kill", counter=True),
    "oom_kill": Variable("count", "OOM kills machine-wide (vmstat oom_kill)", counter=True),
    # --- model-only diagnostics ---
    "trylock_fail": Variable("count", "trylock_page lost: zap (free_swap_and_cache, "
                             "free_swap_cache), allocator reclaim and policy scans",
                             counter=True, source="model"),
    "writeback_skip": Variable("count", "frees skipped because the page was under writeback",
                               counter=True, source="model"),
    "reclaim_scanned": Variable("pages", "LRU pages scanned by reclaim (global + memcg)",
                                counter=True, source="model"),
    "policy_scan_slots": Variable("pages", "swap_map slots visited by the policy's scan",
                                  counter=True, source="model"),
    "policy_freed": Variable("pages", "orphans freed by the policy's scan", counter=True,
                             source="model"),
    "lock_wait_us": Variable("us", "time the policy's scan waited on page locks/writeback",
                             counter=True, source="model"),
}

# Attrs every dataset carries; source-specific ones are checked too.
REQUIRED_ATTRS = (
    "swaplab_version", "git_commit", "scenario_name", "scenario_toml", "scenario_sha256",
    "source", "created_utc", "schema_version",
)
SOURCE_ATTRS = {
    "model": ("policy", "knobs_json", "numba_version", "seed"),
    "kernel": ("kernel_release", "kernel_package", "kernel_package_sha256", "qemu_version",
               "qemu_cmdline"),
}


def snapshot_name(var: str) -> str:
    """Name of the end-of-phase snapshot of a time-series variable."""
    return f"{var}_end"


def git_commit() -> str:
    """The commit of the swaplab checkout (with ``-dirty``), or ``unknown``."""
    from swaplab.paths import ROOT as root

    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty",
                              "--abbrev=40"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def provenance_attrs(scenario: Any, source: str, **extra: Any) -> dict[str, Any]:
    """Common provenance attrs for a dataset made from ``scenario``; ``extra`` adds more.

    ``created_utc`` is left out on purpose for the model (datasets must be bitwise
    reproducible); captures pass it in ``extra``.
    """
    from swaplab import __version__

    attrs: dict[str, Any] = {
        "swaplab_version": __version__,
        "git_commit": git_commit(),
        "scenario_name": scenario.name,
        "scenario_toml": scenario.toml_text,
        "scenario_sha256": scenario.sha256,
        "source": source,
        "schema_version": SCHEMA_VERSION,
        "created_utc": "",
    }
    for key, value in extra.items():
        attrs[key] = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
    return attrs


def utc_now() -> str:
    """Current UTC time, ISO 8601, seconds precision."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def validate(ds: xr.Dataset) -> xr.Dataset:
    """Check ``ds`` against the schema; return it unchanged or raise :class:`SchemaError`."""
    source = ds.attrs.get("source")
    if source not in SOURCE_ATTRS:
        raise SchemaError(f"attr 'source' must be 'model' or 'kernel', got {source!r}")
    missing = [a for a in REQUIRED_ATTRS + SOURCE_ATTRS[source] if a not in ds.attrs]
    if missing:
        raise SchemaError(f"missing provenance attrs: {', '.join(missing)}")
    for key, value in ds.attrs.items():
        if not isinstance(value, str | int | float | np.integer | np.floating):
            raise SchemaError(f"attr {key!r} must be a string or number, got "
                              f"{type(value).__name__}")
    for dim in ("time", "phase"):
        if dim not in ds.dims:
            raise SchemaError(f"dataset has no {dim!r} dimension")
    if "phase_name" not in ds.coords:
        raise SchemaError("coordinate 'phase_name' (phase labels) is missing")
    t = ds["time"].values
    if t.size and np.any(np.diff(t) < 0):
        raise SchemaError("coordinate 'time' is not non-decreasing")
    if "phase_end_time" not in ds:
        raise SchemaError("variable 'phase_end_time' is missing")
    for name, var in VARIABLES.items():
        if var.source not in ("both", source):
            continue
        for vname, dim in ((name, "time"), (snapshot_name(name), "phase")):
            if vname not in ds:
                raise SchemaError(f"variable {vname!r} is missing")
            da = ds[vname]
            if dim not in da.dims:
                raise SchemaError(f"variable {vname!r} has dims {da.dims}, needs {dim!r}")
            if not np.issubdtype(da.dtype, np.number):
                raise SchemaError(f"variable {vname!r} must be numeric, got {da.dtype}")
            if da.attrs.get("units") != var.units:
                raise SchemaError(f"variable {vname!r}: units attr must be {var.units!r}")
        if var.counter and name in ds:
            values = ds[name].transpose(..., "time").values.astype(float)
            if values.shape[-1] > 1:
                steps = np.diff(values, axis=-1)
                if np.nanmin(steps) < 0:
                    raise SchemaError(f"counter {name!r} decreases over time")
    return ds


def annotate(ds: xr.Dataset) -> xr.Dataset:
    """Set ``units`` and ``long_name`` attrs on every schema variable present in ``ds``."""
    for name, var in VARIABLES.items():
        for vname in (name, snapshot_name(name)):
            if vname in ds:
                ds[vname].attrs.update(units=var.units, long_name=var.doc)
    if "time" in ds.coords:
        ds["time"].attrs.update(units="s", long_name="seconds since workload start")
    if "phase_end_time" in ds:
        ds["phase_end_time"].attrs.update(units="s", long_name="time of the phase's end")
    return ds


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as netCDF (h5netcdf) atomically: to a temporary name in the same folder,
    then renamed, so a reader never sees half a file.  One encoding for every dataset of the
    schema: numeric arrays (not dimension coordinates) gzip level 6 with byte shuffle."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    enc: dict[str, Any] = {}
    for name, var in ds.variables.items():
        if var.dtype.kind in "fiu" and var.ndim >= 1 and var.size > 0 and name not in ds.dims:
            enc[name] = {"compression": "gzip", "compression_opts": 6, "shuffle": True}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
