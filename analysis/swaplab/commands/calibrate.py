"""``swaplab calibrate``: fit the model's time-cost knobs to one kernel's traces, or its time
and jitter knobs to the calibration half of a corpus (``--corpus``)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

HELP = "fit the model's time-cost knobs to the real-kernel traces of one kernel (TOML out)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the verb."""
    parser.add_argument("--kernel", default="6.1",
                        help="kernel whose traces to fit: 6.1 (default), 6.12 or 7")
    parser.add_argument("--quick", action="store_true",
                        help="few seeds and a small budget (for tests)")
    parser.add_argument("--traces", type=Path, default=None,
                        help="traces directory (default: data/traces; least squares on "
                             "time costs)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus folder (e.g. data/validation): fit time and jitter knobs "
                             "to its calibration half only, with OOM/orphan outcomes in the "
                             "objective")
    parser.add_argument("--files", nargs="+", type=Path, default=None,
                        help="with --corpus: only these captures (each must be a calibration "
                             "entry of the corpus manifest)")
    parser.add_argument("--optimizer", default="Nelder-Mead",
                        help="with --corpus: Nelder-Mead (default) or Powell")
    parser.add_argument("--stage", default="all", metavar="STAGE",
                        help="with --corpus: 'all' (time and jitter knobs together, 8 seeds), "
                             "'time' (time knobs, jitter at the preset's values, 1 seed) or "
                             "'jitter' (jitter sizes, time knobs at the preset's values, 8 "
                             "seeds): fit time first, commit, then jitter")
    parser.add_argument("--max-evals", type=int, default=None,
                        help="with --corpus: evaluation budget (default 3000; --quick 60)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="write even when the checkout has uncommitted changes")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output TOML (default: data/calibration/<kernel>.toml with "
                             "--corpus, the preset's file; standard-<kernel>.toml without: the "
                             "standard-trace fit the knob defaults come from)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def command_line(args: argparse.Namespace) -> str:
    """The command, as given (reconstructed from the parsed arguments)."""
    words = ["swaplab", "calibrate", "--kernel", args.kernel]
    if args.quick:
        words.append("--quick")
    if args.traces is not None:
        words += ["--traces", str(args.traces)]
    if getattr(args, "corpus", None) is not None:
        words += ["--corpus", str(args.corpus)]
        if args.files:
            words += ["--files", *map(str, args.files)]
        if getattr(args, "stage", "all") != "all":
            words += ["--stage", args.stage]
        if args.optimizer != "Nelder-Mead":
            words += ["--optimizer", args.optimizer]
        if args.max_evals is not None:
            words += ["--max-evals", str(args.max_evals)]
    if getattr(args, "allow_dirty", False):
        words.append("--allow-dirty")
    if args.output is not None:
        words += ["-o", str(args.output)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.calibrate import (
        CalibrationError,
        calibrate,
        calibrate_corpus,
        require_clean_tree,
        write_corpus_toml,
        write_toml,
    )
    from swaplab.paths import DATA

    require_clean_tree(args.allow_dirty)
    name = args.kernel if args.corpus is not None else f"standard-{args.kernel}"
    out = args.output or DATA / "calibration" / f"{name}.toml"
    if args.corpus is None:
        if args.files:
            raise CalibrationError("--files needs --corpus (the folder whose manifest "
                                   "marks them calibration)")
        res = calibrate(args.kernel, quick=args.quick, traces=args.traces,
                        progress=not args.no_progress)
        write_toml(res, out, command_line(args))
        print(f"kernel {res.kernel} ({res.policy}): objective {res.objective_before:.2f} -> "
              f"{res.objective_after:.2f} over {len(res.targets)} targets, {res.nfev} fits")
    else:
        if args.max_evals is not None and args.max_evals < 1:
            raise CalibrationError(f"--max-evals {args.max_evals}: must be >= 1")
        from swaplab.calibrate import CORPUS_FIT_JITTER, CORPUS_SEEDS_TIME, CORPUS_TIME_KNOBS

        stages = {"all": (CORPUS_TIME_KNOBS, tuple(CORPUS_FIT_JITTER), None),
                  "time": (CORPUS_TIME_KNOBS, (), CORPUS_SEEDS_TIME),
                  "jitter": ((), tuple(CORPUS_FIT_JITTER), None)}
        if args.stage not in stages:
            raise CalibrationError(f"--stage {args.stage!r}: allowed " + ", ".join(stages))
        time_knobs, jitter_knobs, seeds = stages[args.stage]
        res = calibrate_corpus(args.kernel, args.corpus, args.files, quick=args.quick,
                               method=args.optimizer, max_evals=args.max_evals,
                               seeds=seeds, time_knobs=time_knobs, jitter_knobs=jitter_knobs,
                               progress=not args.no_progress)
        write_corpus_toml(res, out, command_line(args))
        print(f"kernel {res.kernel} ({res.policy}), calibration half of {res.corpus}: "
              f"objective {res.objective_before:.2f} -> {res.objective_after:.2f} over "
              f"{len(res.targets)} targets, {res.nfev} evaluations, "
              f"{'converged' if res.converged else 'NOT converged'} ({res.message})")
    for name, value in res.fitted.items():
        print(f"  {name} = {value:g}")
    print(f"wrote {out}")
    return 0
