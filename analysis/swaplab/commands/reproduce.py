"""``swaplab reproduce [--quick]``: standard sweeps, notebooks 01/03/04, results/report.html."""

from __future__ import annotations

import argparse

HELP = "run the standard sweeps and notebooks and render results/report.html (no QEMU)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the verb."""
    parser.add_argument("--quick", action="store_true",
                        help="the sweeps' [quick] grids, into results/quick (< 3 min target)")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="results folder (default results/, or results/quick with --quick)")
    parser.add_argument("--workers", type=int, default=None,
                        help="Dask LocalCluster workers (default: CPUs)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.reproduce import reproduce

    res = reproduce(args.output, quick=args.quick, workers=args.workers,
                    progress=not args.no_progress)
    print(res.summary())
    return 1 if res.failures else 0
