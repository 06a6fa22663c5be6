"""``swaplab compare MODEL.nc KERNEL.nc``: model vs kernel on the end-of-phase snapshots."""

from __future__ import annotations

import argparse

HELP = "compare a model run with a kernel capture (per-variable error metrics over phases)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the verb."""
    parser.add_argument("model", help="model dataset (swaplab simulate -o OUT.nc)")
    parser.add_argument("kernel", help="kernel capture (data/traces/*.nc or swaplab capture)")
    parser.add_argument("--var", action="append", dest="variables", metavar="NAME",
                        help="only these variables (repeatable); default: all shared ones")
    parser.add_argument("--phases", action="store_true",
                        help="also print the per-phase values (model, kernel mean/min/max)")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.compare import align_phases, compare, format_table, load_dataset

    model, kernel = load_dataset(args.model), load_dataset(args.kernel)
    table = compare(model, kernel, args.variables)
    print(f"model: {model.attrs.get('scenario_name', '?')} under "
          f"{model.attrs.get('policy', '?')}   kernel: {kernel.attrs.get('kernel_release', '?')}"
          f" ({int(kernel.sizes.get('repeat', 1))} repeat(s)); mae/max_abs in the units shown")
    print(format_table(table))
    if args.phases:
        al = align_phases(model, kernel, args.variables)
        print()
        print(format_table(al.to_dataframe().set_index("phase_name")))
    return 0
