"""The ``swaplab`` command: one verb per module in :mod:`swaplab.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys

from swaplab.errors import SwaplabError

# Stable verbs (scripts and the Makefile depend on them); each is swaplab.commands.<module>.
VERBS = {
    "simulate": "simulate",
    "capture": "capture",
    "kernel": "kernel",
    "sweep": "sweep",
    "compare": "compare",
    "bench": "bench",
    "reproduce": "reproduce",
    "calibrate": "calibrate",
    "scenarios": "scenarios",
    "validate": "validate",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb that is installed."""
    parser = argparse.ArgumentParser(
        prog="swaplab",
        description="Orphaned swap cache: Numba model, real kernels in QEMU, sweeps, report.",
    )
    from swaplab import __version__

    parser.add_argument("--version", action="version", version=f"swaplab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, module_name in VERBS.items():
        try:
            module = importlib.import_module(f"swaplab.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"swaplab.commands.{module_name}":
                continue  # verb not built yet
            raise
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run the verb, turn SwaplabError into one line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except SwaplabError as exc:
        print(f"swaplab {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"swaplab {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
