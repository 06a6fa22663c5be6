"""``swaplab kernel build|list``: patched kernels built from Debian source."""

from __future__ import annotations

import argparse

HELP = "build patched kernels from Debian source (build, list)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``kernel build --base B [--patch P] [--debug] [-j N]`` and ``kernel list``."""
    sub = parser.add_subparsers(dest="kernel_verb", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build (or find cached) bzImage for base [+patch] [+debug]",
                       description="Fetch the pinned linux-source package, apply the patch, "
                       "configure (tinyconfig + kernels/configs fragments) and make bzImage "
                       "with ccache; cached by (source version, config hash, patch hash).")
    b.add_argument("--base", required=True, help="source base, e.g. 6.1 "
                   "(kernels/configs/sources.toml)")
    b.add_argument("--patch", default=None,
                   help="kernels/patches/<base>/<PATCH>.patch, e.g. hugh-scan (default: none)")
    b.add_argument("--debug", action="store_true",
                   help="add kernels/configs/debug.config (lockdep, DEBUG_VM)")
    b.add_argument("-j", "--jobs", type=int, default=None, help="make -j (default: all CPUs)")
    b.add_argument("--force", action="store_true", help="rebuild even if cached")
    b.add_argument("--check", action="store_true",
                   help="only check that the patch applies (patch --dry-run); no build")
    sub.add_parser("list", help="list built kernels in the build cache")
    c = sub.add_parser("clean", help="delete stale builds (inputs changed since); "
                       "--trees also drops the source/object trees of current builds")
    c.add_argument("--trees", action="store_true",
                   help="keep bzImage/System.map/config of current builds, drop their trees")
    r = sub.add_parser("results", help="table of OOMs, orphans and scan cost from captures",
                       description="Summarise kernel captures (swaplab capture -o FILE.nc): "
                       "per scenario and kernel, OOM kills, orphans before/after the last "
                       "process, and the swap_orphan_scan counters of patched kernels.")
    r.add_argument("files", nargs="+", help="capture datasets (.nc)")
    r.add_argument("--per-repeat", action="store_true", help="one row per repeat")


def run(args: argparse.Namespace) -> int:
    """Dispatch ``build`` or ``list``."""
    from swaplab.capture import kbuild

    if args.kernel_verb == "list":
        return _list(kbuild)
    if args.kernel_verb == "clean":
        return _clean(kbuild, args.trees)
    if args.kernel_verb == "results":
        return _results(kbuild, args.files, args.per_repeat)
    spec = kbuild.make_spec(args.base, args.patch, args.debug)
    if args.jobs is not None and args.jobs < 1:
        raise kbuild.KbuildError(f"-j must be >= 1, got {args.jobs}")
    if args.check:
        progress = kbuild.Progress(spec.name)
        tree = kbuild.pristine_tree(spec.base, progress)
        patch = kbuild.patch_path(spec)
        if patch:
            kbuild.check_patch_applies(patch, tree)
        print(f"{spec.name}: patch applies to {tree.name}" if patch else
              f"{spec.name}: no patch")
        return 0
    built = kbuild.build_kernel(spec, jobs=args.jobs, force=args.force)
    print(f"{built.name}\t{built.release}\t{built.bzimage}")
    return 0


def _list(kbuild) -> int:  # noqa: ANN001
    current = {}
    for built in kbuild.list_built_kernels():
        try:
            spec = kbuild.parse_kernel_name(built.name)
            current[built.directory] = kbuild.build_dir(spec) == built.directory
        except kbuild.KbuildError:
            current[built.directory] = False
    rows = kbuild.list_built_kernels()
    if not rows:
        print(f"no built kernels in {kbuild.cache_root() / 'builds'}; "
              "run `swaplab kernel build --base 6.1 --patch hugh-scan`")
        return 0
    print(f"{'name':24} {'release':34} {'status':8} {'built (UTC)':21} {'s':>6}  key")
    for b in rows:
        status = "current" if current[b.directory] else "stale"
        print(f"{b.name:24} {b.release:34} {status:8} {b.info.get('built_utc', '?'):21} "
              f"{b.info.get('build_seconds', 0):6.0f}  {b.info.get('key', '?')}")
    return 0


def _results(kbuild, files: list[str], per_repeat: bool) -> int:  # noqa: ANN001
    from pathlib import Path

    import pandas as pd
    import xarray as xr

    frames = []
    for f in files:
        if not Path(f).exists():
            raise kbuild.KbuildError(f"no such capture file: {f}")
        with xr.open_dataset(f) as ds:
            if ds.attrs.get("source") != "kernel":
                raise kbuild.KbuildError(f"{f}: not a kernel capture (source="
                                         f"{ds.attrs.get('source')!r})")
            frames.append(kbuild.policy_summary(ds.load()))
    df = pd.concat(frames, ignore_index=True)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    if per_repeat:
        print(df.to_string(index=False))
        return 0
    cols = {"repeat": "count", "memcg_oom_kill": "sum", "oom_kill": "sum",
            "orphans_before": "mean", "orphans_after": "mean", "last_scans": "mean",
            "last_slots_scanned": "mean", "last_freed": "mean", "last_writeback": "mean",
            "last_lock_fail": "mean", "last_writeback_waits": "mean", "last_time_ns": "mean"}
    table = df.groupby(["scenario", "kernel"], sort=True).agg(cols)
    table = table.rename(columns={"repeat": "runs", "memcg_oom_kill": "oom_kills"})
    table["runs_oom_killed"] = df.assign(k=df["memcg_oom_kill"] > 0).groupby(
        ["scenario", "kernel"])["k"].sum()
    table["runs_scan_freed"] = df.assign(k=df["last_freed"] > 0).groupby(
        ["scenario", "kernel"])["k"].sum()
    table["last_time_ms"] = table.pop("last_time_ns") / 1e6
    from swaplab.stats import format_rate

    # the OOM rate with its Wilson 95 % interval (a handful of repeats is not a rate)
    table["oom_rate"] = [format_rate(int(k), int(n)) for k, n in
                         zip(table["runs_oom_killed"], table["runs"], strict=True)]
    print(table.round(1).to_string())
    return 0


def _clean(kbuild, trees: bool) -> int:  # noqa: ANN001
    import shutil

    for b in kbuild.list_built_kernels():
        try:
            current = kbuild.build_dir(kbuild.parse_kernel_name(b.name)) == b.directory
        except kbuild.KbuildError:
            current = False
        if not current:
            shutil.rmtree(b.directory)
            print(f"removed stale {b.name} {b.release}")
        elif trees and (b.directory / "linux").exists():
            kbuild.remove_tree(b)
            print(f"removed the tree of {b.name} {b.release} (kept bzImage, System.map, config)")
    return 0
