"""``swaplab sweep SPEC -o STORE.zarr``: run (or resume) a sweep through papermill on Dask."""

from __future__ import annotations

import argparse
import os
import sys

HELP = "run a sweep spec (grid of scenario keys, knobs, policies, seeds) into a zarr store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the verb."""
    parser.add_argument("spec", help="sweep spec TOML (or a standard sweep name in data/sweeps)")
    parser.add_argument("-o", "--output", metavar="STORE.zarr",
                        help="the zarr store (rerun the same command to resume)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (points, chunks, estimated time) and stop")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="an existing Dask scheduler (tcp://host:8786), or 'synchronous' to "
                             "run the chunks one by one in this process; default: a LocalCluster")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"LocalCluster worker processes (default: CPUs = {os.cpu_count()})")
    parser.add_argument("--threads", type=int, default=None,
                        help="Numba threads per chunk (NUMBA_NUM_THREADS; default CPUs/workers)")
    parser.add_argument("--points-per-chunk", type=int, default=None,
                        help="override the spec's chunking (a new store only)")
    parser.add_argument("--quick", action="store_true",
                        help="use the spec's [quick] axes (a smaller grid)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.sweep import (
        SweepError,
        chunks_dir,
        describe_plan,
        load_sweep,
        make_plan,
        run_sweep,
    )

    if args.points_per_chunk is not None and args.points_per_chunk < 1:
        raise SweepError(f"--points-per-chunk must be >= 1, got {args.points_per_chunk}")
    if args.threads is not None and args.threads < 1:
        raise SweepError(f"--threads must be >= 1, got {args.threads}")
    if args.dry_run:
        spec = load_sweep(args.spec, quick=args.quick)
        plan = make_plan(spec, args.points_per_chunk)
        done = 0
        if args.output:
            parts = chunks_dir(args.output)
            done = len(list(parts.glob("chunk-*.json"))) if parts.is_dir() else 0
        print(describe_plan(spec, plan, args.workers or os.cpu_count() or 1, done))
        return 0
    if not args.output:
        raise SweepError("give the store with -o STORE.zarr (or --dry-run)")
    result = run_sweep(args.spec, args.output, workers=args.workers, scheduler=args.scheduler,
                       points_per_chunk=args.points_per_chunk, threads=args.threads,
                       progress=not args.no_progress, quick=args.quick)
    print(result.summary(), file=sys.stderr if result.failed else sys.stdout)
    return 1 if result.failed else 0
