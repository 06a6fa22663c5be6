"""Out-of-sample fidelity: the model against the validation half of the corpus, per kernel.

For every captured validation scenario on kernel K, the model runs under K's preset with
``seeds`` seeds and is scored against the kernel's repeats:

- ``cells_within_10pct``: fraction of (scenario, phase) cells where the model's mean
  ``swap_used`` and ``swap_cached`` at the end of the phase are both within 10 % of the
  effective swap (min(swap size, swap.max)) of the kernel's mean over its repeats;
- ``orphan_agreement``: fraction of scenarios where "orphans > 1 MiB at the last phase" has
  the same majority answer over the model's seeds and over the kernel's repeats;
- ``oom_rate_agreement``: fraction of scenarios where the model's OOM-kill rate over its seeds
  and the kernel's over its repeats have overlapping Wilson 95 % intervals;

and the worst cells, each with the rule or knob most likely behind it.  Nothing here fits
anything: the calibration half is never read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from swaplab.corpus import CorpusError, corpus_files, corpus_scenarios, split_of
from swaplab.scenario import MIB_PAGES, Scenario, scenario_from_text
from swaplab.stats import intervals_overlap, wilson_interval

__all__ = ["TOLERANCE", "ORPHAN_PAGES", "Cell", "validate", "validate_kernel"]

TOLERANCE = 0.10  # of effective swap
ORPHAN_PAGES = MIB_PAGES  # "orphans > 1 MiB"
DEFAULT_SEEDS = 20


@dataclass(frozen=True)
class Cell:
    """One (scenario, phase) comparison, in pages and as a fraction of effective swap."""

    scenario: str
    phase: str
    effective_swap_pages: int
    kernel_swap_used: float
    model_swap_used: float
    kernel_swap_cached: float
    model_swap_cached: float
    error: float  # max of the two |model - kernel| / effective swap
    within: bool
    likely_cause: str


def effective_swap_pages(scn: Scenario) -> int:
    """min(swap device size, memory.swap.max) in pages, as the scenario starts."""
    size = scn.swap["size_mib"]
    smax = scn.memcg["swap_max_mib"]
    mib = size if smax == "max" else min(size, smax)
    return max(1, int(mib * MIB_PAGES))


def _last(ds: Any, var: str) -> np.ndarray:
    return np.asarray(ds[var].isel(phase=-1).values, dtype=float)


def _majority(flags: np.ndarray) -> bool:
    return bool(flags.sum() * 2 > flags.size)


def likely_cause(scn: Scenario, phase: str, d_used: float, d_cached: float) -> str:
    """The rule or knob most likely behind a cell's error (model minus kernel, in pages).

    A reading of which mechanism decides that quantity after that op, not a proof: the rule
    probes on the kernels are where a rule is shown right or wrong.
    """
    op = phase.rsplit(":", 1)[-1]
    cached_dominates = abs(d_cached) >= abs(d_used)
    if scn.swap["device"] == "zram" and op in ("touch", "readback", "fork_touch", "exit"):
        return ("zram: the non-rotational allocator and 6.12's cluster rules on it (not "
                "modelled), zram's store in guest RAM (not modelled), sync_io_swapin, "
                "zram_page_ns")
    if op in ("exit", "unmap", "race_unmap", "repeat"):
        if d_cached < 0:
            return ("orphans the kernel keeps: free_swap_and_cache trylock/writeback race "
                    "(trylock_fail_p, write_mib_s, cpu_zap_ns) or readahead landing after "
                    "the zap")
        return ("orphans the kernel frees: allocator reclaim (scan_swap_map_slots "
                "__try_to_reclaim_swap), reclaim of unmapped swap cache, 7.2 reclaim worker")
    if op in ("touch", "readback", "fork_touch"):
        if cached_dominates and d_cached < 0:
            return ("swap cache kept after swap-in: do_swap_page free test "
                    "(folio_ref_count == 2, mem_cgroup_swap_full), readahead window")
        if cached_dominates:
            return ("swap cache freed by the kernel after swap-in: do_swap_page "
                    "folio_free_swap under mem_cgroup_swap_full / exclusive write fault")
        return "swap slots kept or freed at swap-in (swap_free, swapin_free knob)"
    if op in ("pageout", "alloc", "set"):
        if cached_dominates:
            return ("writeback completion and reclaim of clean swap cache "
                    "(io_latency_us, write_mib_s, shrink_folio_list)")
        return ("slot allocation: slots cache pins (SWAP_BATCH), cluster allocator, "
                "swap.max charge (__mem_cgroup_try_charge_swap)")
    return "time costs (phase ends at a different point of the kernel's progress)"


def _score_scenario(scn: Scenario, kds: Any, model: list[Any]) -> dict[str, Any]:
    ok = np.asarray(kds["repeat_status"].values).astype(str) == "ok"
    k = kds.isel(repeat=np.flatnonzero(ok))
    eff = effective_swap_pages(scn)
    labels = [str(x) for x in kds["phase_name"].values]
    m_used = np.stack([np.asarray(d["swap_used_end"].values, float) for d in model])
    m_cached = np.stack([np.asarray(d["swap_cached_end"].values, float) for d in model])
    k_used = np.asarray(k["swap_used_end"].values, float)
    k_cached = np.asarray(k["swap_cached_end"].values, float)
    cells = []
    for p, label in enumerate(labels):
        ku, mu = float(np.nanmean(k_used[:, p])), float(m_used[:, p].mean())
        kc, mc = float(np.nanmean(k_cached[:, p])), float(m_cached[:, p].mean())
        err = max(abs(mu - ku), abs(mc - kc)) / eff
        cells.append(Cell(scn.name, label, eff, ku, mu, kc, mc, err,
                          bool(err <= TOLERANCE),
                          likely_cause(scn, label, mu - ku, mc - kc)))
    k_oom = _last(k, "oom_kill_end") > 0
    m_oom = np.array([float(d["oom_kill_end"].values[-1]) > 0 for d in model])
    k_orph = _last(k, "swap_orphans_end") > ORPHAN_PAGES
    m_orph = np.array([float(d["swap_orphans_end"].values[-1]) > ORPHAN_PAGES for d in model])
    k_int = wilson_interval(int(k_oom.sum()), int(k_oom.size))
    m_int = wilson_interval(int(m_oom.sum()), int(m_oom.size))
    return {
        "scenario": scn.name, "repeats": int(ok.sum()), "seeds": len(model),
        "cells": cells,
        "kernel_oom": [int(k_oom.sum()), int(k_oom.size)],
        "model_oom": [int(m_oom.sum()), int(m_oom.size)],
        "oom_agree": intervals_overlap(k_int, m_int),
        "kernel_orphans_mib": (_last(k, "swap_orphans_end") / MIB_PAGES).tolist(),
        "model_orphans_mib": [float(d["swap_orphans_end"].values[-1]) / MIB_PAGES
                              for d in model],
        "orphan_agree": _majority(k_orph) == _majority(m_orph),
    }


def validate_kernel(folder: Path, kernel: str, *, seeds: int = DEFAULT_SEEDS,
                    split: str = "validation", policy: str | None = None,
                    worst: int = 10, progress: bool = False) -> dict[str, Any]:
    """Score the model on one kernel's captures of one split (see the module docstring)."""
    import xarray as xr

    from swaplab.compare import policy_for_kernel
    from swaplab.model import simulate_batch

    if seeds < 1:
        raise CorpusError(f"--seeds {seeds}: must be >= 1")
    policy = policy or policy_for_kernel(kernel)
    entries = corpus_files(folder, split, kernel)
    wanted = {s.name for s in corpus_scenarios(folder) if split_of(s) == split}
    rows = []
    it: Any = entries
    if progress:
        from tqdm import tqdm

        it = tqdm(entries, desc=f"validate {kernel}", unit="scenario")
    for entry in it:
        with xr.open_dataset(entry["path"]) as kds:
            kds = kds.load()
        scn = scenario_from_text(kds.attrs["scenario_toml"], source=entry["path"].name)
        model = simulate_batch([(scn, policy, None, s) for s in range(1, seeds + 1)],
                               threads=1)
        rows.append(_score_scenario(scn, kds, model))
    cells = [c for r in rows for c in r["cells"]]
    n = len(rows)

    def frac(values: list[bool]) -> float | None:
        return round(float(np.mean(values)), 4) if values else None

    return {
        "policy": policy,
        "split": split,
        "seeds": seeds,
        "scenarios": n,
        "scenarios_not_captured": sorted(wanted - {r["scenario"] for r in rows}),
        "cells": len(cells),
        "cells_within_10pct": frac([c.within for c in cells]),
        "orphan_agreement": frac([r["orphan_agree"] for r in rows]),
        "oom_rate_agreement": frac([r["oom_agree"] for r in rows]),
        "worst_cells": [asdict(c) for c in sorted(cells, key=lambda c: -c.error)[:worst]],
        "per_scenario": [{k: v for k, v in r.items() if k != "cells"} for r in rows],
    }


def corpus_kernels(folder: Path) -> list[str]:
    """The stock kernels (no built patch) that a preset models, in the corpus' manifest."""
    from swaplab.capture.traces import read_manifest
    from swaplab.model.policies import kernel_presets

    held = {e["kernel"] for e in read_manifest(Path(folder))["files"].values()}
    return [k for k in kernel_presets() if "+" not in k and k in held]


def validate(folder: Path, kernels: list[str], **kw: Any) -> dict[str, Any]:
    """``{"kernels": {K: validate_kernel(...)}}`` for each kernel; an unknown kernel is a
    one-line error naming the allowed ones."""
    allowed = corpus_kernels(folder)
    for k in kernels:
        if k not in allowed:
            raise CorpusError(f"--kernel {k!r}: not in {folder}; allowed: " + ", ".join(allowed))
    return {"kernels": {k: validate_kernel(folder, k, **kw) for k in kernels}}
