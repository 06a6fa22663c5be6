"""``swaplab capture``: run a scenario on a real kernel in QEMU and write the dataset."""

from __future__ import annotations

import argparse
import shlex
import sys

HELP = ("Run a scenario on a real Debian (or patched) kernel under QEMU (TCG) and write the "
        "captured traces as a netCDF dataset (repeat dim).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``swaplab capture``."""
    parser.add_argument("scenario", nargs="?",
                        help="scenario file or standard scenario name")
    parser.add_argument("--standard-set", action="store_true",
                        help="capture every standard scenario (data/scenarios) on every "
                             "--kernel (default: 6.1 6.12 7); -o is then a folder")
    parser.add_argument("--only", action="append", metavar="NAME", default=None,
                        help="with --standard-set: only these standard scenarios (repeatable)")
    parser.add_argument("--scenarios", metavar="DIR", default=None,
                        help="capture every scenario of a corpus folder (DIR/scenarios/*.toml "
                             "or DIR/*.toml) on every --kernel; -o is then the corpus folder, "
                             "its MANIFEST.json records each file's calibration/validation split")
    parser.add_argument("--kernel", action="append",
                        help="6.1 | 6.12 | 7 | <base>+<patch> (repeatable with --standard-set)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per capture (default 1)")
    parser.add_argument("--trace", choices=("none", "events", "kprobes"), default=None,
                        help="ftrace: none, vmscan+oom events, or events + kprobes "
                             "(per-slot orphans); default events, kprobes with --standard-set")
    parser.add_argument("--jobs", type=int, default=None,
                        help="QEMUs at once (default: one per CPU core)")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address: run repeats on that cluster")
    parser.add_argument("--sample-ms", type=int, default=100,
                        help="sampler interval in ms (default 100)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="wall-clock limit per run in seconds (default: from the scenario)")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore cached repeats and run them again")
    parser.add_argument("-o", "--output", required=True,
                        help="OUT.nc (entered in MANIFEST.json when its folder has one), or a "
                             "folder")


def run(args: argparse.Namespace) -> int:
    """Capture one scenario, or the standard set, and write the dataset(s)."""
    from pathlib import Path

    from tqdm import tqdm

    from swaplab.capture.kernels import CaptureError, resolve_kernel
    from swaplab.capture.run import capture, clear_cache_for
    from swaplab.capture.traces import MANIFEST_NAME, capture_standard_set, record_in_manifest
    from swaplab.scenario import load_scenario, standard_scenarios
    from swaplab.schema import write_netcdf

    command = "swaplab capture " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["capture"]
                                              else sys.argv[1:])
    if args.scenarios:
        from swaplab.capture.traces import capture_set
        from swaplab.corpus import corpus_scenarios, split_of

        if args.scenario or args.standard_set:
            raise CaptureError("give one of a scenario, --standard-set or --scenarios DIR")
        # the validation half first: a partly captured corpus can already be scored
        scns = sorted(corpus_scenarios(Path(args.scenarios)),
                      key=lambda s: (split_of(s) != "validation", s.name))
        return capture_set(Path(args.output), scns,
                           kernels=args.kernel, repeats=args.repeats,
                           trace=args.trace or "none", jobs=args.jobs,
                           scheduler=args.scheduler, sample_ms=args.sample_ms,
                           fresh=args.fresh, command=command,
                           manifest_extra=lambda scn: {"split": split_of(scn)})
    if args.standard_set:
        if args.scenario:
            raise CaptureError("give either a scenario or --standard-set, not both")
        unknown = sorted(set(args.only or []) - set(standard_scenarios()))
        if unknown:
            raise CaptureError(f"--only {unknown[0]!r}: not a standard scenario; allowed: "
                               + ", ".join(standard_scenarios()))
        return capture_standard_set(Path(args.output), kernels=args.kernel,
                                    scenarios=args.only,
                                    repeats=args.repeats, trace=args.trace or "kprobes",
                                    jobs=args.jobs,
                                    scheduler=args.scheduler, sample_ms=args.sample_ms,
                                    fresh=args.fresh, command=command)
    if not args.scenario:
        raise CaptureError("a scenario (file or standard name) or --standard-set is required")
    if not args.kernel or len(args.kernel) != 1:
        raise CaptureError("give exactly one --kernel (6.1, 6.12, 7 or <base>+<patch>)")
    scn = load_scenario(args.scenario)
    kernel = args.kernel[0]
    args.trace = args.trace or "events"
    resolve_kernel(kernel)  # fetch (or fail on an unknown name) before the progress bar
    if args.fresh:
        clear_cache_for(scn, kernel, args.trace, args.sample_ms)
    bar = tqdm(total=args.repeats, desc=f"{scn.name} on {kernel}", unit="run")

    def progress(res):  # one tick per finished repeat
        bar.update(1)
        if res.error:
            tqdm.write(f"repeat {res.repeat} FAILED: {res.error}")

    ds = capture(scn, kernel, repeats=args.repeats, trace=args.trace, jobs=args.jobs,
                 scheduler=args.scheduler, sample_ms=args.sample_ms, timeout=args.timeout,
                 progress=progress, command=command)
    bar.close()
    out = write_netcdf(ds, Path(args.output))
    if (out.parent / MANIFEST_NAME).exists():  # a traces folder: keep its manifest whole
        record_in_manifest(out, scn, kernel, ds.attrs["kernel_release"], ds, command=command,
                           repeats=args.repeats, trace=args.trace, sample_ms=args.sample_ms)
    failed = int(ds.attrs["failed_repeats"])
    print(f"wrote {out} ({ds.attrs['kernel_release']}, {args.repeats - failed}/{args.repeats} "
          "repeats ok)")
    return 1 if failed else 0
