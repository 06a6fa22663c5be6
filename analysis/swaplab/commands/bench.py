"""``swaplab bench``: model speed figures (events/s, reference speed-up, LRU vs libCacheSim)."""

from __future__ import annotations

import argparse

HELP = "benchmark the model (events/s, reference speed-up, plain LRU vs libCacheSim)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the verb."""
    parser.add_argument("--quick", action="store_true",
                        help="smaller inputs, no cold-compile measurement (< 60 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.benchmark import format_json, run_benchmarks

    res = run_benchmarks(quick=args.quick, progress=not args.json)
    if args.json:
        print(format_json(res))
    else:
        for key in sorted(res):
            print(f"{key:32s} {res[key]}")
    return 0
