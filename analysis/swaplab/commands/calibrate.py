"""``swaplab calibrate``: fit the model's time-cost knobs to one kernel's traces."""

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
                        help="one seed and a few iterations (~1 min; for tests)")
    parser.add_argument("--traces", type=Path, default=None,
                        help="traces directory (default: data/traces)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output TOML (default: data/calibration/<kernel>.toml)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def command_line(args: argparse.Namespace) -> str:
    """The command, as given (reconstructed from the parsed arguments)."""
    words = ["swaplab", "calibrate", "--kernel", args.kernel]
    if args.quick:
        words.append("--quick")
    if args.traces is not None:
        words += ["--traces", str(args.traces)]
    if args.output is not None:
        words += ["-o", str(args.output)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.calibrate import calibrate, write_toml
    from swaplab.paths import DATA

    res = calibrate(args.kernel, quick=args.quick, traces=args.traces,
                    progress=not args.no_progress)
    out = args.output or DATA / "calibration" / f"{args.kernel}.toml"
    write_toml(res, out, command_line(args))
    print(f"kernel {res.kernel} ({res.policy}): objective {res.objective_before:.2f} -> "
          f"{res.objective_after:.2f} over {len(res.targets)} targets, {res.nfev} fits")
    for name, value in res.fitted.items():
        print(f"  {name} = {value:g}")
    print(f"wrote {out}")
    return 0
