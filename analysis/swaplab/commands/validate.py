"""``swaplab validate``: the model against the validation half of the corpus, per kernel."""

from __future__ import annotations

import argparse

HELP = ("score the model on the corpus' validation half (never used for fitting): phase "
        "cells within 10%% of effective swap, orphan and OOM-rate agreement, worst cells")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``validate [--kernel K ...] [--corpus DIR] [--seeds N] [--json]``."""
    parser.add_argument("--kernel", action="append",
                        help="kernel to score: 6.1, 6.12 or 7 (repeatable; default: every "
                             "kernel a preset models and the corpus holds)")
    parser.add_argument("--corpus", default=None,
                        help="corpus folder (default: the shipped data/validation)")
    parser.add_argument("--seeds", type=int, default=20,
                        help="model seeds per scenario (default 20)")
    parser.add_argument("--split", default="validation", choices=("validation", "calibration"),
                        help="which half to score (default validation; calibration shows the "
                             "in-sample figures)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object {"kernels": {"6.1": {...}, ...}}')


def run(args: argparse.Namespace) -> int:
    """Score each kernel and print a scorecard (or JSON)."""
    import json
    import sys
    from pathlib import Path

    from swaplab.paths import repo_root
    from swaplab.validate import corpus_kernels, validate

    folder = Path(args.corpus) if args.corpus else repo_root() / "data" / "validation"
    kernels = args.kernel or corpus_kernels(folder)
    result = validate(folder, kernels, seeds=args.seeds, split=args.split,
                      progress=not args.json and sys.stderr.isatty())
    for k in result["kernels"].values():
        if not args.json:
            k.pop("per_scenario")
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    for name, k in result["kernels"].items():
        print(f"kernel {name} ({k['policy']}, {k['split']} half, {k['seeds']} seeds): "
              f"{k['scenarios']} scenarios, {k['cells']} cells")
        print(f"  cells_within_10pct {k['cells_within_10pct']}  orphan_agreement "
              f"{k['orphan_agreement']}  oom_rate_agreement {k['oom_rate_agreement']}")
        if k["scenarios_not_captured"]:
            print(f"  not captured yet: {len(k['scenarios_not_captured'])} scenarios")
        for c in k["worst_cells"]:
            print(f"  {c['error']:.2f}  {c['scenario']} {c['phase']}: used k/m "
                  f"{c['kernel_swap_used']:.0f}/{c['model_swap_used']:.0f}, cached k/m "
                  f"{c['kernel_swap_cached']:.0f}/{c['model_swap_cached']:.0f} pages -> "
                  f"{c['likely_cause']}")
    return 0
