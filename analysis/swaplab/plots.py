"""Seaborn figures for the notebooks and the report.

Every figure labels its axes with units; page counts are shown in MiB (4 KiB pages).
Spreads over seeds or kernel repeats are drawn as standard deviations or min-max ranges,
never bootstrap intervals (figures must be deterministic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from swaplab.schema import VARIABLES

__all__ = [
    "TOUR_VARS",
    "knob_explorer",
    "model_vs_kernel",
    "oom_heatmap",
    "orphans_by_policy",
    "patched_oom",
    "policy_cost",
    "runs_frame",
    "error_heatmap",
    "save_figure",
    "sweep_lines",
    "set_style",
    "store_frame",
    "timeseries",
    "validation_distributions",
    "validation_scorecard",
]

TOUR_VARS = ("swap_used", "swap_cached", "swap_orphans")
PAGES_PER_MIB = 256  # 4 KiB pages
POLICY_ORDER = ("linux-2.6.30", "linux-2.6.31", "kamezawa-sync", "hugh-scan", "linux-6.1",
                "linux-6.12", "linux-7", "liu-swapcache-only")


def set_style() -> None:
    """The seaborn theme every swaplab figure uses."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def _scale(var: str) -> tuple[float, str]:
    """Factor and unit to display ``var`` (pages -> MiB, us -> ms)."""
    base = var.removesuffix("_end").removesuffix("_peak")
    units = VARIABLES[base].units if base in VARIABLES else ""
    if units == "pages":
        return 1.0 / PAGES_PER_MIB, "MiB"
    if units == "us":
        return 1e-3, "ms"
    return 1.0, units or "count"


def label(var: str) -> str:
    """Axis label of a variable with its display unit: ``swap_orphans (MiB)``."""
    return f"{var} ({_scale(var)[1]})"


def _order(policies: Sequence[str]) -> list[str]:
    known = [p for p in POLICY_ORDER if p in policies]
    return known + sorted(p for p in policies if p not in POLICY_ORDER)


def runs_frame(runs: Mapping[str, xr.Dataset], variables: Sequence[str] = TOUR_VARS,
               key: str = "policy") -> pd.DataFrame:
    """Long table (time, variable, value in display units, ``key``) of several runs."""
    frames = []
    for name, ds in runs.items():
        for var in variables:
            if var not in ds:
                continue
            f, _ = _scale(var)
            frames.append(pd.DataFrame({"time_s": ds["time"].values,
                                        "value": ds[var].values.astype(float) * f,
                                        "variable": var, key: name}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def timeseries(runs: Mapping[str, xr.Dataset], variables: Sequence[str] = TOUR_VARS,
               key: str = "policy", axes: Sequence[Any] | None = None) -> Any:
    """One panel per variable over time, one line per run (e.g. per policy)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = runs_frame(runs, variables, key)
    if axes is None:
        fig, axes = plt.subplots(1, len(variables), figsize=(4.6 * len(variables), 3.6),
                                 sharex=True, squeeze=False)
        axes = axes[0]
    else:
        fig = axes[0].figure
    order = list(runs)
    for ax, var in zip(axes, variables, strict=True):
        ax.clear()
        sub = df[df["variable"] == var] if len(df) else df
        if len(sub):
            sns.lineplot(data=sub, x="time_s", y="value", hue=key, hue_order=order, ax=ax,
                         drawstyle="steps-post", linewidth=1.4, legend=ax is axes[-1])
        ax.set_xlabel("time since workload start (s)")
        ax.set_ylabel(label(var))
        ax.set_title(var)
    if len(df) and axes[-1].get_legend() is not None:
        sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.tight_layout()
    return fig


def store_frame(store: xr.Dataset, var: str, phase: int | str | None = -1) -> pd.DataFrame:
    """A store variable as a long table over the sweep dims (one phase, or the peak/scalar)."""
    da = store[var]
    if "phase" in da.dims:
        if isinstance(phase, str):
            names = [str(n) for n in store["phase_name"].values]
            da = da.isel(phase=names.index(phase))
        else:
            da = da.isel(phase=phase if phase is not None else -1)
    f, _ = _scale(var)
    df = (da.load() * f).to_dataframe(name=var).reset_index()
    keep = [c for c in df.columns if c in da.dims or c == var or c in store.coords]
    return df[[c for c in keep if c not in ("phase", "phase_name", "point_index")]]


def orphans_by_policy(store: xr.Dataset, phase: str | int = -1, var: str = "swap_orphans_end",
                      ax: Any = None) -> Any:
    """Orphans (cache-only swap slots) at a phase boundary per policy; bars = mean, sd over
    seeds."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = store_frame(store, var, phase)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
    order = _order(list(df["policy"].unique()))
    sns.barplot(data=df, x="policy", y=var, order=order, errorbar="sd", ax=ax,
                hue="policy", hue_order=order, legend=False)
    pname = phase if isinstance(phase, str) else str(store["phase_name"].values[phase])
    ax.set_ylabel(label(var))
    ax.set_xlabel("policy")
    ax.set_title(f"{var} at '{pname}' ({store.attrs.get('scenario_name', '')})")
    ax.tick_params(axis="x", rotation=30)
    ax.figure.tight_layout()
    return ax.figure


def oom_heatmap(store: xr.Dataset, x: str, y: str, var: str = "memcg_oom_kill_end",
                col: str = "policy") -> Any:
    """Mean OOM kills (last phase) over seeds, as heatmaps of ``y`` vs ``x``, one per policy."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = store_frame(store, var)
    groups = _order(list(df[col].unique())) if col in df else [None]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    vmax = max(1.0, float(df[var].max()))
    for ax, g in zip(axes[0], groups, strict=True):
        sub = df[df[col] == g] if g is not None else df
        table = sub.groupby([y, x])[var].mean().unstack(x).sort_index(ascending=False)
        sns.heatmap(table, ax=ax, vmin=0, vmax=vmax, cmap="rocket_r", annot=True, fmt=".2g",
                    cbar=ax is axes[0][-1], cbar_kws={"label": label(var)})
        ax.set_title(str(g) if g is not None else var)
        ax.set_xlabel(_coord_label(store, x))
        ax.set_ylabel(_coord_label(store, y))
    fig.tight_layout()
    return fig


DIM_LABELS = {
    "memcg_memory_max_mib": "memory.max (MiB)",
    "memcg_swap_max_mib": "memory.swap.max (MiB)",
    "memcg_swap_high_mib": "memory.swap.high (MiB)",
    "swap_size_mib": "swap device size (MiB)",
    "swap_write_mib_s": "swap write bandwidth (MiB/s)",
    "swap_read_mib_s": "swap read bandwidth (MiB/s)",
    "scan_threshold_pages": "scan threshold (free swap, pages)",
}


def _coord_label(store: xr.Dataset, dim: str) -> str:
    if dim in DIM_LABELS:
        return DIM_LABELS[dim]
    if dim.endswith("_mib"):
        return f"{dim.removesuffix('_mib')} (MiB)"
    if dim.endswith("_s"):
        return f"{dim} (MiB/s)" if "mib_s" in dim else f"{dim} (s)"
    return dim


def policy_cost(store: xr.Dataset, variables: Sequence[str] = (
        "policy_scan_slots_end", "lock_wait_us_end", "policy_freed_end", "trylock_fail_end")
        ) -> Any:
    """The cost of each policy at the end of the run: one panel per counter, mean and sd over
    seeds."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    variables = [v for v in variables if v in store]
    fig, axes = plt.subplots(1, len(variables), figsize=(4.2 * len(variables), 3.8),
                             squeeze=False)
    for ax, var in zip(axes[0], variables, strict=True):
        df = store_frame(store, var)
        order = _order(list(df["policy"].unique()))
        sns.barplot(data=df, y="policy", x=var, order=order, errorbar="sd", ax=ax,
                    hue="policy", hue_order=order, legend=False)
        ax.set_xlabel(label(var))
        ax.set_ylabel("policy" if ax is axes[0][0] else "")
        if ax is not axes[0][0]:
            ax.set_yticklabels([])
        ax.set_title(var.removesuffix("_end"))
    fig.tight_layout()
    return fig


def sweep_lines(store: xr.Dataset, x: str, var: str, phase: str | int = -1,
                hue: str = "policy", ax: Any = None) -> Any:
    """``var`` at a phase boundary against sweep dim ``x``, one line per ``hue`` (mean, sd
    over the other dims)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = store_frame(store, var, phase)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
    order = _order(list(df[hue].unique())) if hue == "policy" else None
    sns.lineplot(data=df, x=x, y=var, hue=hue, hue_order=order, errorbar="sd", marker="o",
                 ax=ax)
    pname = phase if isinstance(phase, str) else str(store["phase_name"].values[phase])
    ax.set_xlabel(_coord_label(store, x))
    ax.set_ylabel(label(var))
    ax.set_title(f"{var} at '{pname}' ({store.attrs.get('scenario_name', '')})")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    ax.figure.tight_layout()
    return ax.figure


ERROR_VARS = ("swap_used", "swap_cached", "swap_orphans", "memcg_current",
              "memcg_swap_current", "pswpout", "pswpin", "memcg_oom_kill")


def error_heatmap(tables: pd.DataFrame, value: str = "rel",
                  variables: Sequence[str] = ERROR_VARS) -> Any:
    """Model-vs-kernel error (``rel`` by default) per scenario/kernel and variable (blank:
    the kernel's value is 0 throughout, so a relative error is undefined)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    tables = tables[tables["variable"].isin(variables)]
    pivot = tables.pivot_table(index=["scenario", "kernel"], columns="variable", values=value,
                               dropna=False)
    pivot = pivot[[v for v in variables if v in pivot.columns]]
    fig, ax = plt.subplots(figsize=(3.0 + 1.0 * pivot.shape[1], 1.5 + 0.42 * pivot.shape[0]))
    sns.heatmap(pivot, ax=ax, vmin=0, vmax=1, cmap="mako_r", annot=True, fmt=".2f",
                annot_kws={"size": 8},
                cbar_kws={"label": f"{value} error (|model - kernel| / |kernel|)"})
    ax.set_xlabel("variable")
    ax.set_ylabel("scenario, kernel")
    ax.set_title("model vs kernel: error over end-of-phase snapshots")
    fig.tight_layout()
    return fig


def model_vs_kernel(model: xr.Dataset, kernel: xr.Dataset,
                    variables: Sequence[str] = TOUR_VARS) -> Any:
    """Side by side over time: each kernel repeat (thin) and the model (thick)."""
    import matplotlib.pyplot as plt

    variables = [v for v in variables if v in model and v in kernel]
    fig, axes = plt.subplots(1, len(variables), figsize=(4.6 * len(variables), 3.6),
                             squeeze=False)
    for ax, var in zip(axes[0], variables, strict=True):
        f, _ = _scale(var)
        k = kernel[var]
        reps = k.sizes.get("repeat", 1)
        for r in range(reps):
            kr = k.isel(repeat=r) if "repeat" in k.dims else k
            t = kr["time"].values if "time" in kr.coords else kernel["time"].values
            ok = ~np.isnan(kr.values.astype(float))
            ax.step(t[ok], kr.values[ok].astype(float) * f, where="post", color="0.5",
                    linewidth=0.9, alpha=0.8, label="kernel repeats" if r == 0 else None)
        ax.step(model["time"].values, model[var].values.astype(float) * f, where="post",
                color="C3", linewidth=2.0, label=f"model ({model.attrs.get('policy', '')})")
        ax.set_xlabel("time since workload start (s)")
        ax.set_ylabel(label(var))
        ax.set_title(var)
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle(f"{model.attrs.get('scenario_name', '')}: model vs kernel "
                 f"{kernel.attrs.get('kernel_release', '')}")
    fig.tight_layout()
    return fig


def patched_oom(outcomes: pd.DataFrame) -> Any:
    """OOM-killed runs (fraction) per scenario: kernel vs model, unpatched 6.1 vs hugh-scan.

    ``outcomes`` is :func:`swaplab.compare.policy_outcomes`; bars are labelled with the
    ``killed/runs`` counts and carry their Wilson 95 % intervals.
    """
    import seaborn as sns

    from swaplab.stats import wilson_interval

    df = outcomes.copy()
    df["kernel (model preset)"] = df["kernel"] + " (" + df["policy"] + ")"
    scenarios = list(dict.fromkeys(df["scenario"]))
    g = sns.catplot(data=df, kind="bar", x="scenario", y="oom_fraction", hue="source",
                    hue_order=["kernel", "model"], col="kernel (model preset)",
                    order=scenarios, errorbar=None, height=3.8, aspect=1.3, legend_out=True)
    for ax in g.axes.flat:
        col = ax.get_title().split(" = ", 1)[-1]
        sub = df[df["kernel (model preset)"] == col]
        for container, src in zip(ax.containers, ["kernel", "model"], strict=False):
            part = sub[sub["source"] == src].set_index("scenario")
            labels = [f"{int(part.at[s, 'runs_oom_killed'])}/{int(part.at[s, 'runs'])}"
                      if s in part.index else "" for s in scenarios]
            ax.bar_label(container, labels=labels, fontsize=8, padding=1)
            for bar, s in zip(container, scenarios, strict=False):
                if s not in part.index:
                    continue
                k, n = int(part.at[s, "runs_oom_killed"]), int(part.at[s, "runs"])
                lo, hi = wilson_interval(k, n)
                x, y = bar.get_x() + bar.get_width() / 2, k / n if n else 0.0
                ax.errorbar(x, y, yerr=[[y - lo], [hi - y]], color="black", capsize=2,
                            linewidth=0.8)
        ax.set_ylim(0, 1.15)
        ax.tick_params(axis="x", rotation=30)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
    g.set_axis_labels("scenario", "OOM-killed runs (fraction of runs)")
    g.set_titles(col_template="{col_name}")
    g.figure.suptitle("OOM kill in the last process: patched kernels vs model presets", y=1.03)
    return g.figure


def validation_scorecard(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per kernel of :func:`swaplab.validate.validate`'s result: the three figures."""
    rows = []
    for kernel, k in result["kernels"].items():
        rows.append({"kernel": kernel, "preset": k["policy"], "scenarios": k["scenarios"],
                     "not captured": len(k["scenarios_not_captured"]), "cells": k["cells"],
                     "cells_within_10pct": k["cells_within_10pct"],
                     "orphan_agreement": k["orphan_agreement"],
                     "oom_rate_agreement": k["oom_rate_agreement"]})
    return pd.DataFrame(rows).set_index("kernel")


def validation_distributions(result: Mapping[str, Any]) -> Any:
    """Per kernel and validation scenario: orphans at the last phase over the model's seeds
    (box) and the kernel's repeats (dots), and OOM-kill rates with Wilson 95 % intervals."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from swaplab.stats import wilson_interval

    kernels = list(result["kernels"])
    fig, axes = plt.subplots(2, len(kernels), figsize=(5.2 * len(kernels), 9), squeeze=False,
                             sharey="row")
    for col, kernel in enumerate(kernels):
        rows = result["kernels"][kernel]["per_scenario"]
        orph = pd.DataFrame(
            [{"scenario": r["scenario"], "source": "model", "orphans": v}
             for r in rows for v in r["model_orphans_mib"]]
            + [{"scenario": r["scenario"], "source": "kernel", "orphans": v}
               for r in rows for v in r["kernel_orphans_mib"]])
        ax = axes[0, col]
        if not orph.empty:
            order = [r["scenario"] for r in rows]
            sns.boxplot(data=orph[orph.source == "model"], y="scenario", x="orphans",
                        order=order, ax=ax, color="0.85", fliersize=2)
            sns.stripplot(data=orph[orph.source == "kernel"], y="scenario", x="orphans",
                          order=order, ax=ax, color="tab:red", size=4)
        ax.set_title(f"{kernel}: orphans at the last phase\n(box: model seeds, dots: kernel "
                     "repeats)", fontsize=10)
        ax.set_xlabel("orphaned swap cache (MiB)")
        ax = axes[1, col]
        for y, r in enumerate(rows):
            for dy, src, color in ((-0.15, "kernel_oom", "tab:red"), (0.15, "model_oom", "0.3")):
                k, n = r[src]
                lo, hi = wilson_interval(k, n)
                ax.errorbar(k / n if n else np.nan, y + dy, xerr=[[k / n - lo], [hi - k / n]]
                            if n else None, fmt="o", color=color, ms=4, capsize=2)
        ax.set_yticks(range(len(rows)), [r["scenario"] for r in rows])
        ax.set_xlim(-0.05, 1.05)
        ax.set_xlabel("OOM-kill rate (Wilson 95 %)")
        ax.set_title(f"{kernel}: OOM-kill rate per scenario\n(red: kernel repeats, grey: model "
                     "seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def save_figure(fig: Any, directory: str | Path, name: str, dpi: int = 110) -> Path:
    """Save ``fig`` as ``directory/name.png`` (deterministic metadata) and return the path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def knob_explorer(scenario: Any, policy: str = "linux-6.1", knobs: Sequence[str] = (
        "scan_threshold_pages", "trylock_fail_p", "io_latency_us", "reclaim_batch"),
        variables: Sequence[str] = TOUR_VARS,
        simulate: Callable[..., xr.Dataset] | None = None) -> Any:
    """ipywidgets controls (policy, knob, value) that re-run the model and re-plot.

    Returns the widget box; ``box.last_update_s`` holds the time of the last update.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from swaplab.model import policies as pol

    if simulate is None:
        from swaplab.model import simulate
    numeric = [k for k in knobs if pol.KNOBS[k].kind in ("int", "float")]
    policy_w = w.Dropdown(options=list(pol.PRESETS), value=policy, description="policy")
    knob_w = w.Dropdown(options=numeric, value=numeric[0], description="knob")
    value_w = w.FloatText(value=float(pol.KNOBS[numeric[0]].default), description="value")
    status = w.HTML()
    out = w.Output()
    with plt.ioff():
        fig, axes = plt.subplots(1, len(variables), figsize=(4.6 * len(variables), 3.4),
                                 squeeze=False)

    baselines: dict[str, xr.Dataset] = {}

    def update(*_: Any) -> None:
        t0 = time.perf_counter()
        k = knob_w.value
        spec = pol.KNOBS[k]
        value: Any = int(value_w.value) if spec.kind == "int" else float(value_w.value)
        if policy_w.value not in baselines:
            baselines[policy_w.value] = simulate(scenario, policy_w.value)
        base = baselines[policy_w.value]
        try:
            run = simulate(scenario, policy_w.value, {k: value})
        except Exception as exc:  # a bad value: say so, keep the last plot
            status.value = f"<b>{type(exc).__name__}</b>: {exc}"
            return
        timeseries({f"{policy_w.value}": base, f"{k}={value:g}": run}, variables,
                   key="run", axes=list(axes[0]))
        box.last_update_s = time.perf_counter() - t0
        status.value = f"updated in {box.last_update_s:.2f} s"
        out.clear_output(wait=True)
        with out:
            from IPython.display import display

            display(fig)

    def on_knob(_: Any) -> None:
        new = float(pol.resolve_knobs(policy_w.value)[knob_w.value])
        if new == value_w.value:
            update()
        value_w.value = new  # triggers update

    knob_w.observe(on_knob, names="value")
    for wid in (policy_w, value_w):
        wid.observe(update, names="value")
    box = w.VBox([w.HBox([policy_w, knob_w, value_w]), status, out])
    box.last_update_s = float("nan")
    box.update = update
    value_w.value = float(pol.resolve_knobs(policy)[numeric[0]])
    update()
    return box
