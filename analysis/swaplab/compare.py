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
from swaplab.paths import TRACES
from swaplab.schema import VARIABLES, snapshot_name, write_netcdf

__all__ = [
    "CompareError",
    "align_phases",
    "compare",
    "find_traces",
    "load_dataset",
    "model_for_trace",
    "policy_for_kernel",
    "policy_outcomes",
    "policy_agreement",
    "describe_policy_outcomes",
    "format_table",
    "trace_dir",
]



class CompareError(SwaplabError, ValueError):
    """Two datasets cannot be compared; the message says why."""


def trace_dir() -> Path:
    """The folder of the shipped kernel traces (``data/traces``)."""
    return TRACES


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


def policy_for_kernel(release: str) -> str:
    """The model preset matching a kernel release or name (``6.1.0-28-amd64`` -> ``linux-6.1``,
    ``6.1+hugh-scan`` -> ``hugh-scan``): each preset module's ``KERNELS`` says which."""
    from swaplab.model.errors import ModelError
    from swaplab.model.policies import policy_for_kernel as preset_for

    try:
        return preset_for(release)
    except ModelError as exc:
        raise CompareError(str(exc)) from None


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
        write_netcdf(model, path)
    return model


PATCHED_SCENARIOS = ("full-swap-oom", "full-swap-oom-lowered", "full-device-oom",
                     "no-orphan-control", "plain-memcg-oom")
ORPHAN_SCENARIOS = ("full-swap-oom", "full-swap-oom-lowered", "full-device-oom")
PATCHED_KERNELS = ("6.1+none", "6.1+hugh-scan")  # trace labels; presets by KERNELS


def _kernel_label(trace: dict[str, Any]) -> str:
    """``6.1+hugh-scan`` from a patched trace's file name (``<scenario>__<kernel>.nc``)."""
    stem = Path(trace["path"]).stem
    return stem.split("__", 1)[1] if "__" in stem else str(trace["kernel"])


def _run_outcomes(ds: xr.Dataset, freed_var: str, slots_var: str) -> list[dict[str, float]]:
    """Per run (kernel repeat or model seed): OOM kill in the last process, orphans at the
    previous process's exit, and the scan's freed slots / slots scanned in the last process."""
    names = _phase_names(ds, "dataset")
    procs = [n.split(":")[0] for n in names]
    first_of_last = procs.index(procs[-1])
    before = first_of_last - 1 if first_of_last > 0 else None
    last = len(names) - 1
    runs = ds["repeat"].values if "repeat" in ds.dims else [None]
    out = []
    for r in runs:
        sel = ds.sel(repeat=r) if r is not None else ds

        def delta(var: str, sel: xr.Dataset = sel) -> float:
            name = f"{var}_end"
            if name not in sel:
                return float("nan")
            end = float(sel[name].isel(phase=last))
            return end - float(sel[name].isel(phase=before)) if before is not None else end

        orphans = (float(sel["swap_orphans_end"].isel(phase=before))
                   if before is not None and "swap_orphans_end" in sel else float("nan"))
        out.append({"oom_killed": bool(delta("memcg_oom_kill") > 0),
                    "orphans_before": orphans,
                    "freed": delta(freed_var), "slots_scanned": delta(slots_var)})
    return out


def policy_outcomes(traces: Sequence[dict[str, Any]] | None = None, seeds: int | None = None,
                    debug: bool = False, threads: int | None = None) -> Any:
    """Patched kernels vs the model's presets, side by side.

    For each patched-kernel trace (:data:`PATCHED_SCENARIOS` x ``6.1+none`` / ``6.1+hugh-scan``,
    plus ``6.1+hugh-scan+debug`` with ``debug=True``) one ``source="kernel"`` row, and one
    ``source="model"`` row: the preset modelling that kernel (:func:`policy_for_kernel`:
    ``linux-6.1`` / ``hugh-scan``, set to the patch's rule) over seeds 1..N, N = the trace's
    repeats (or ``seeds``).

    Columns: scenario, kernel, policy, source, runs, runs_oom_killed, oom_fraction,
    orphans_before (mean pages at the orphan maker's exit, NaN for one-process scenarios),
    freed (mean slots freed by the scan in the last process: kernel
    ``extra_swap_orphan_scan_freed``, model ``policy_freed``; NaN/0 without a scan),
    slots_scanned (mean, same sources).  Empty when no patched trace is shipped.
    """
    import pandas as pd

    from swaplab.model import simulate_batch
    from swaplab.scenario import scenario_from_text

    labels = [*PATCHED_KERNELS, "6.1+hugh-scan+debug"] if debug else list(PATCHED_KERNELS)
    kernels = {label: policy_for_kernel(label) for label in labels}
    if traces is None:
        traces = find_traces(trace_dir() / "patched")
    chosen = []
    for tr in traces:
        label = _kernel_label(tr)
        if tr["scenario"] in PATCHED_SCENARIOS and label in kernels:
            chosen.append((tr, label, kernels[label]))
    rows: list[dict[str, Any]] = []
    points, owners = [], []
    for tr, label, policy in chosen:
        kds = load_dataset(tr["path"])
        runs = _run_outcomes(kds, "extra_swap_orphan_scan_freed",
                             "extra_swap_orphan_scan_slots_scanned")
        rows.append({"scenario": tr["scenario"], "kernel": label, "policy": policy,
                     "source": "kernel", "runs": runs})
        scn = scenario_from_text(str(kds.attrs["scenario_toml"]), source=str(tr["path"]))
        n = int(seeds) if seeds else len(runs)
        for seed in range(1, n + 1):
            points.append((scn, policy, None, seed))
            owners.append(len(rows))
        rows.append({"scenario": tr["scenario"], "kernel": label, "policy": policy,
                     "source": "model", "runs": []})
    for i, mds in zip(owners, simulate_batch(points, threads=threads), strict=True):
        rows[i]["runs"] += _run_outcomes(mds, "policy_freed", "policy_scan_slots")
    table = []
    for row in rows:
        runs = pd.DataFrame(row.pop("runs"))
        n = len(runs)
        killed = int(runs["oom_killed"].sum()) if n else 0
        table.append({**row, "runs": n, "runs_oom_killed": killed,
                      "oom_fraction": killed / n if n else float("nan"),
                      "orphans_before": runs["orphans_before"].mean() if n else float("nan"),
                      "freed": runs["freed"].mean() if n else float("nan"),
                      "slots_scanned": runs["slots_scanned"].mean() if n else float("nan")})
    cols = ["scenario", "kernel", "policy", "source", "runs", "runs_oom_killed", "oom_fraction",
            "orphans_before", "freed", "slots_scanned"]
    df = pd.DataFrame(table, columns=cols)
    order = {s: i for i, s in enumerate(PATCHED_SCENARIOS)}
    korder = {k: i for i, k in enumerate(kernels)}
    df = df.sort_values(["scenario", "kernel", "source"],
                        key=lambda c: c.map(order) if c.name == "scenario"
                        else c.map(korder) if c.name == "kernel" else c)
    return df.reset_index(drop=True)


def policy_agreement(outcomes: Any) -> Any:
    """Per (scenario, kernel): kernel and model OOM-killed runs and whether the majority
    outcome (OOM-killed in more than half the runs, yes/no) is the same in both."""
    import pandas as pd

    rows = []
    for (scn, kernel), g in outcomes.groupby(["scenario", "kernel"], sort=False):
        by = g.set_index("source")
        if not {"kernel", "model"} <= set(by.index):
            continue
        k, m = by.loc["kernel"], by.loc["model"]
        k_oom = 2 * int(k["runs_oom_killed"]) > int(k["runs"])
        m_oom = 2 * int(m["runs_oom_killed"]) > int(m["runs"])
        rows.append({"scenario": scn, "kernel": kernel, "policy": k["policy"],
                     "kernel_oom": f"{int(k['runs_oom_killed'])}/{int(k['runs'])}",
                     "model_oom": f"{int(m['runs_oom_killed'])}/{int(m['runs'])}",
                     "kernel_majority_oom": k_oom, "model_majority_oom": m_oom,
                     "agree": k_oom == m_oom})
    return pd.DataFrame(rows, columns=["scenario", "kernel", "policy", "kernel_oom",
                                       "model_oom", "kernel_majority_oom",
                                       "model_majority_oom", "agree"])


def describe_policy_outcomes(outcomes: Any) -> str:
    """A Markdown paragraph on :func:`policy_outcomes`, every number computed from it."""
    ag = policy_agreement(outcomes)
    if ag.empty:
        return ("**No patched-kernel traces** in `data/traces/patched/`: nothing to compare "
                "(capture them as in `kernels/README.md`, \"Patched kernels\").")

    from swaplab.stats import fisher_test, format_rate

    def counts(src: str, kernel: str, orphan: bool) -> tuple[int, int]:
        sel = outcomes[(outcomes["source"] == src) & (outcomes["kernel"] == kernel)
                       & (outcomes["scenario"].isin(ORPHAN_SCENARIOS) == orphan)]
        return int(sel["runs_oom_killed"].sum()), int(sel["runs"].sum())

    def runs(src: str, kernel: str, orphan: bool) -> str:
        return format_rate(*counts(src, kernel, orphan))

    parts = []
    for kernel in dict.fromkeys(ag["kernel"]):
        parts.append(f"**{kernel}**: orphan scenarios OOM-killed in {runs('kernel', kernel, True)}"
                     f" kernel runs vs {runs('model', kernel, True)} model runs; controls "
                     f"{runs('kernel', kernel, False)} vs {runs('model', kernel, False)}")
    kernels = list(dict.fromkeys(ag["kernel"]))
    if len(kernels) == 2:  # unpatched vs patched on the orphan scenarios: Fisher's exact test
        p = fisher_test(*counts("kernel", kernels[0], True), *counts("kernel", kernels[1], True))
        parts.append(f"{kernels[0]} vs {kernels[1]} on the orphan scenarios: Fisher's exact "
                     f"p = {p:.2g}")
    n_agree = int(ag["agree"].sum())
    text = ("OOM-killed runs in the last process, kernel vs model. " + "; ".join(parts) + ". "
            f"The model's majority outcome (OOM or not) matches the kernel's in {n_agree} of "
            f"{len(ag)} (scenario, kernel) cases")
    bad = ag[~ag["agree"]]
    if bad.empty:
        text += ": the `hugh-scan` preset set to the patch's rule predicts where the patch " \
                "removes the OOM and where it must not."
    else:
        text += "; it disagrees on " + ", ".join(
            f"{r.scenario} on {r.kernel} (kernel {r.kernel_oom}, model {r.model_oom})"
            for r in bad.itertuples()) + "."
    scanned = outcomes[(outcomes["policy"] == "hugh-scan")
                       & outcomes["scenario"].isin(ORPHAN_SCENARIOS)]
    freed = scanned.groupby("source")["freed"].mean()
    if {"kernel", "model"} <= set(freed.index):
        text += (f" Orphans freed by the scan (mean pages per run over the orphan scenarios): "
                 f"kernel {freed['kernel']:.0f}, model {freed['model']:.0f}")
        if freed["model"] > 1.5 * freed["kernel"]:
            text += (": the model frees more because its charge path waits for pending "
                     "writeback before it scans, while on the kernel many orphans are still "
                     "under writeback when the scan runs (and are skipped).")
        else:
            text += "."
    return text


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
