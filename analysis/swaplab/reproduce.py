"""``swaplab reproduce``: the standard sweeps, notebooks 01, 03 and 04, and the report.

Everything goes to ``results/`` (git-ignored)::

    results/sweeps/<name>.zarr (+ <name>.chunks/)   the standard sweeps (data/sweeps/*.toml)
    results/notebooks/0[134]-*.ipynb               executed notebooks (papermill)
    results/figures/*.png                          every figure of the report
    results/report.html                            notebook 04 rendered without code

``quick`` uses each spec's ``[quick]`` axes and smaller notebook parameters, into
``results/quick/``.  Kernel traces come from ``data/traces`` (shipped); nothing boots QEMU.
Reruns resume: finished sweep chunks are not computed again.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swaplab import paths
from swaplab.errors import SwaplabError

__all__ = ["ReproduceError", "ReproduceResult", "reproduce"]

NOTEBOOKS = ("01-model-tour", "03-kernel-validation", "04-paper")


class ReproduceError(SwaplabError, RuntimeError):
    """A step of the reproduction failed; the message names it."""


@dataclass
class ReproduceResult:
    """What a reproduction made, and what failed."""

    out: Path
    sweeps: list[Any] = field(default_factory=list)
    notebooks: dict[str, Path] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    report: Path | None = None
    figures: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"results in {self.out}:"]
        for s in self.sweeps:
            lines.append(f"  sweep {s.store.name}: {s.n_chunks - len(s.failed)}/{s.n_chunks} "
                         f"chunks ({s.wall_s:.0f} s)")
        for name, p in self.notebooks.items():
            lines.append(f"  notebook {name}: {p}")
        if self.report:
            lines.append(f"  report: {self.report} ({len(self.figures)} figures in "
                         f"{self.out / 'figures'})")
        lines.append("  timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in
                                               self.timings.items()))
        for f in self.failures:
            lines.append(f"  FAILED: {f}")
        return "\n".join(lines)


def notebook_parameters(name: str, out: Path, quick: bool) -> dict[str, Any]:
    """The papermill parameters of each report notebook."""
    figures = str(out / "figures")
    if name == "01-model-tour":
        return {"scenario": "writeback-orphans", "figures_dir": figures}
    cache = str(out / "model-runs")
    # quick: the traces of the scenarios the model runs fast
    fast = ["full-swap-oom", "liu-repro", "plain-memcg-oom", "selftest-swap-max-peak"]
    if name == "03-kernel-validation":
        return {"figures_dir": figures, "model_cache": cache, "scenarios": fast if quick else []}
    return {"sweeps_dir": str(out / "sweeps"), "figures_dir": figures, "model_cache": cache,
            "trace_scenarios": fast if quick else [], "validation_seeds": 5 if quick else 20}


def execute_notebook(name: str, out_dir: str, parameters: dict[str, Any],
                     kernel_name: str = "swaplab") -> tuple[str, str, float]:
    """Run one notebook through papermill; returns (name, error or "", seconds)."""
    import papermill as pm

    t0 = time.perf_counter()
    src = paths.NOTEBOOKS / f"{name}.ipynb"
    dst = Path(out_dir) / f"{name}.ipynb"
    try:
        pm.execute_notebook(str(src), str(dst), parameters=parameters, kernel_name=kernel_name,
                            progress_bar=False, cwd=str(src.parent),
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except Exception as exc:  # report every notebook's failure, run the others
        first = str(exc).strip().splitlines()
        return name, f"{type(exc).__name__}: {first[-1] if first else ''} (see {dst})", \
            time.perf_counter() - t0
    return name, "", time.perf_counter() - t0


def reproduce(out: str | Path | None = None, quick: bool = False, workers: int | None = None,
              progress: bool = True, specs: Sequence[str | Path] | None = None,
              notebook_overrides: Mapping[str, Mapping[str, Any]] | None = None
              ) -> ReproduceResult:
    """Run the standard sweeps, the report notebooks and render the report (see module doc).

    One Dask LocalCluster runs everything: notebooks 01 and 03 start at once, the sweeps run
    side by side (their chunks share the workers), then notebook 04 reads the stores.
    ``specs`` replaces the standard sweeps; ``notebook_overrides`` adds notebook parameters.
    """
    from concurrent.futures import ThreadPoolExecutor

    from swaplab.report import render_report
    from swaplab.sweep import dask_client, run_sweep, standard_sweeps

    t_all = time.perf_counter()
    out = Path(out) if out else paths.RESULTS / ("quick" if quick else "")
    out = out.resolve()
    res = ReproduceResult(out)
    nb_dir = out / "notebooks"
    nb_dir.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    ncpu = os.cpu_count() or 1
    workers = workers or ncpu
    threads = max(1, ncpu // workers)
    spec_paths = [Path(s) for s in specs] if specs is not None else [
        paths.SWEEPS / f"{n}.toml" for n in standard_sweeps()]
    overrides = notebook_overrides or {}

    def params(name: str) -> dict[str, Any]:
        return {**notebook_parameters(name, out, quick), **overrides.get(name, {})}

    def note(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr, flush=True)

    def collect_notebook(fut: Any) -> None:
        name, err, secs = fut.result()
        res.timings[f"notebook {name}"] = secs
        if err:
            res.failures.append(f"notebook {name}: {err}")
        else:
            res.notebooks[name] = nb_dir / f"{name}.ipynb"
        note(f"notebook {name}: {'FAILED' if err else 'done'} ({secs:.0f} s)")

    def one_sweep(spec: Path) -> Any:
        t0 = time.perf_counter()
        r = run_sweep(spec, out / "sweeps" / f"{spec.stem}.zarr", client=client,
                      workers=workers, threads=threads, progress=False, quick=quick)
        res.timings[f"sweep {spec.stem}"] = time.perf_counter() - t0
        note(f"sweep {spec.stem}: {r.n_chunks - len(r.failed)}/{r.n_chunks} chunks "
             f"({r.skipped} already done), {time.perf_counter() - t0:.0f} s")
        return r

    with dask_client(None, workers, threads) as client:
        early = [client.submit(execute_notebook, name, str(nb_dir), params(name), pure=False)
                 for name in NOTEBOOKS if name != "04-paper"]
        note(f"running {len(spec_paths)} sweep(s) and notebooks 01, 03 on {workers} worker(s)")
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, len(spec_paths))) as pool:
            for r in pool.map(one_sweep, spec_paths):
                res.sweeps.append(r)
                res.failures += [f"sweep {r.store.stem} chunk {c.chunk}: {c.error} "
                                 f"({c.notebook})" for c in r.failed]
        res.timings["sweeps (side by side)"] = time.perf_counter() - t0
        paper = client.submit(execute_notebook, "04-paper", str(nb_dir), params("04-paper"),
                              pure=False)
        for fut in [*early, paper]:
            collect_notebook(fut)
    if "04-paper" in res.notebooks:
        res.report = render_report(res.notebooks["04-paper"], out / "report.html",
                                   title="swaplab: orphaned swap cache and the full-swap OOM")
    res.figures = sorted((out / "figures").glob("*.png"))
    res.timings["total"] = time.perf_counter() - t_all
    return res
