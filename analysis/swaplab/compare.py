"""Model vs kernel: align on the end-of-phase snapshots, error metrics per variable.

Both sources snapshot at the same phase boundaries (:meth:`Scenario.phase_labels`), so the
comparison is exact in structure: for each variable present in both datasets and each phase,
the model's value against the kernel's repeats (mean, min, max).  Metrics per variable:

- ``mae``: mean over phases of |model - kernel mean| (the variable's units);
- ``max_abs``: the largest of those;
- ``rel``: ``mae`` / mean |kernel mean| over phases (NaN when the kernel is all zero);
- ``in_range``: fraction of phases where the model lies within the kernel repeats' [min, max].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from swaplab.errors import SwaplabError
from swaplab.schema import VARIABLES, snapshot_name

__all__ = [
    "CompareError",
    "align_phases",
    "compare",
    "find_traces",
    "load_dataset",
    "model_for_trace",
    "policy_for_kernel",
    "format_table",
    "trace_dir",
]

ROOT = Path(__file__).resolve().parents[2]


class CompareError(SwaplabError, ValueError):
    """Two datasets cannot be compared; the message says why."""


def trace_dir() -> Path:
    """The folder of the shipped kernel traces (``data/traces``)."""
    return ROOT / "data" / "traces"


def load_dataset(path: str | Path) -> xr.Dataset:
    """Open a model or kernel dataset (netCDF) fully into memory."""
    p = Path(path)
    if not p.exists():
        raise CompareError(f"{path}: no such file")
    try:
        with xr.open_dataset(p) as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise CompareError(f"{path}: not a readable netCDF dataset ({exc})") from None


def find_traces(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """Shipped kernel traces: one record per file (scenario, kernel release, repeats, path).

    Empty when none are shipped yet.
    """
    d = Path(directory) if directory else trace_dir()
    out = []
    for p in sorted(d.rglob("*.nc")) if d.is_dir() else []:
        try:
            with xr.open_dataset(p) as ds:
                attrs = dict(ds.attrs)
                repeats = int(ds.sizes.get("repeat", 1))
        except (OSError, ValueError):
            continue
        if attrs.get("source") != "kernel":
            continue
        out.append({"scenario": attrs.get("scenario_name", p.stem),
                    "kernel": str(attrs.get("kernel_release", "?")),
                    "repeats": repeats, "path": p,
                    "scenario_sha256": attrs.get("scenario_sha256", "")})
    return out


# Kernel release prefix -> the model preset that follows that kernel's rules.
KERNEL_POLICIES = (("2.6.30", "linux-2.6.30"), ("2.6.31", "linux-2.6.31"), ("6.1.", "linux-6.1"),
                   ("6.12", "linux-6.12"), ("7.", "linux-7"))


def policy_for_kernel(release: str) -> str:
    """The model preset matching a kernel release (``6.1.0-28-amd64`` -> ``linux-6.1``).

    A patched kernel with ``hugh`` in its release maps to ``hugh-scan``.
    """
    if "hugh" in release:
        return "hugh-scan"
    for prefix, policy in KERNEL_POLICIES:
        if release.startswith(prefix) or release == prefix.rstrip("."):
            return policy
    raise CompareError(f"no model policy for kernel release {release!r}; known: "
                       + ", ".join(p for p, _ in KERNEL_POLICIES))


def model_for_trace(trace: dict[str, Any], cache_dir: str | Path | None = None) -> xr.Dataset:
    """The model run matching a kernel trace (same scenario text, matching policy).

    With ``cache_dir`` the run is kept there as netCDF and reused while the scenario, policy
    and swaplab commit are the same (notebooks 03 and 04 share it).
    """
    from swaplab.model import simulate
    from swaplab.scenario import scenario_from_text
    from swaplab.schema import git_commit

    policy = policy_for_kernel(trace["kernel"])
    with xr.open_dataset(trace["path"]) as k:
        text = str(k.attrs["scenario_toml"])
    scn = scenario_from_text(text, source=str(trace["path"]))
    path = None
    if cache_dir:
        path = Path(cache_dir) / f"{scn.name}__{policy}__{scn.sha256[:12]}.nc"
        if path.exists():
            with xr.open_dataset(path) as ds:
                if ds.attrs.get("git_commit") == git_commit():
                    return ds.load()
    model = simulate(scn, policy)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        model.to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)
    return model


def _phase_names(ds: xr.Dataset, what: str) -> list[str]:
    if "phase_name" not in ds.coords and "phase_name" not in ds:
        raise CompareError(f"{what}: no 'phase_name' coordinate (not a swaplab dataset?)")
    names = np.asarray(ds["phase_name"].values)
    if names.ndim > 1:  # kernel captures may carry it per repeat
        names = names.reshape(-1, names.shape[-1])[0]
    return [str(n) for n in names]


def align_phases(model: xr.Dataset, kernel: xr.Dataset,
                 variables: Sequence[str] | None = None) -> xr.Dataset:
    """Snapshots of both on the common phases: dims (source?, phase); kernel stats added.

    Returns a Dataset with, per variable ``v``: ``v_model(phase)``, ``v_kernel(phase)``
    (mean over repeats), ``v_kernel_min``, ``v_kernel_max``; coord ``phase_name``.
    """
    mnames, knames = _phase_names(model, "MODEL"), _phase_names(kernel, "KERNEL")
    if mnames != knames:
        common = [n for n in mnames if n in knames]
        if not common:
            raise CompareError("MODEL and KERNEL have no phase in common (different "
                               f"scenarios? {model.attrs.get('scenario_name')!r} vs "
                               f"{kernel.attrs.get('scenario_name')!r})")
    else:
        common = mnames
    names = list(variables) if variables else [
        v for v, meta in VARIABLES.items() if meta.source == "both"]
    out = xr.Dataset(coords={"phase": np.arange(len(common)),
                             "phase_name": ("phase", np.asarray(common, dtype=object))})
    mi = [mnames.index(n) for n in common]
    ki = [knames.index(n) for n in common]
    for v in names:
        snap = snapshot_name(v)
        if snap not in model or snap not in kernel:
            if variables:
                raise CompareError(f"variable {v!r} is not in both datasets")
            continue
        m = model[snap].isel(phase=mi)
        k = kernel[snap].isel(phase=ki)
        extra = [d for d in m.dims if d != "phase"]
        if extra:
            raise CompareError(f"MODEL {snap} has extra dims {extra}; pick one run first")
        kdims = [d for d in k.dims if d != "phase"]
        if kdims:  # repeats (and anything else) flattened in front of phase
            kv = k.transpose(*kdims, "phase").values.astype(float).reshape(-1, len(common))
        else:
            kv = k.values.astype(float)[None, :]
        out[f"{v}_model"] = ("phase", m.values.astype(float))
        out[f"{v}_kernel"] = ("phase", np.nanmean(kv, axis=0))
        out[f"{v}_kernel_min"] = ("phase", np.nanmin(kv, axis=0))
        out[f"{v}_kernel_max"] = ("phase", np.nanmax(kv, axis=0))
        out[f"{v}_model"].attrs["units"] = VARIABLES[v].units
    out.attrs.update(scenario_name=str(model.attrs.get("scenario_name", "")),
                     policy=str(model.attrs.get("policy", "")),
                     kernel_release=str(kernel.attrs.get("kernel_release", "")),
                     repeats=int(kernel.sizes.get("repeat", 1)))
    return out


def compare(model: xr.Dataset, kernel: xr.Dataset,
            variables: Sequence[str] | None = None) -> Any:
    """Error metrics per variable (a pandas DataFrame indexed by variable)."""
    import pandas as pd

    al = align_phases(model, kernel, variables)
    rows = []
    for name in al.data_vars:
        if not str(name).endswith("_model"):
            continue
        v = str(name).removesuffix("_model")
        m = al[f"{v}_model"].values
        k = al[f"{v}_kernel"].values
        lo, hi = al[f"{v}_kernel_min"].values, al[f"{v}_kernel_max"].values
        err = np.abs(m - k)
        scale = float(np.nanmean(np.abs(k))) if k.size else float("nan")
        mae = float(np.nanmean(err)) if err.size else float("nan")
        rows.append({
            "variable": v, "units": VARIABLES[v].units,
            "model_last": float(m[-1]) if m.size else float("nan"),
            "kernel_last": float(k[-1]) if k.size else float("nan"),
            "mae": mae, "max_abs": float(np.nanmax(err)) if err.size else float("nan"),
            "rel": mae / scale if scale > 0 else float("nan"),
            "in_range": float(np.mean((m >= lo) & (m <= hi))) if m.size else float("nan"),
        })
    if not rows:
        raise CompareError("no schema variable is present in both datasets")
    return pd.DataFrame(rows).set_index("variable")


def format_table(table: Any) -> str:
    """The metrics table as aligned text."""
    return table.to_string(float_format=lambda x: f"{x:.4g}")
