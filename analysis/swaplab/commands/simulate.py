"""``swaplab simulate``: run a scenario in the Numba model and write a netCDF dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "simulate a scenario in the Numba model under a policy; write compressed netCDF"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the verb."""
    parser.add_argument("scenario", nargs="?",
                        help="scenario TOML file or standard scenario name")
    parser.add_argument("--policy", default="linux-6.1",
                        help="policy preset (default linux-6.1); see --list-policies")
    parser.add_argument("--set", dest="knobs", action="append", default=[],
                        metavar="KNOB=VALUE", help="override one knob (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: scenario's)")
    parser.add_argument("-o", "--output", type=Path, help="output .nc file")
    parser.add_argument("--list-policies", action="store_true",
                        help="print the presets and knobs, then exit")


def _parse_knobs(items: list[str]) -> dict[str, str]:
    from swaplab.model.errors import ModelError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ModelError(f"--set {item!r}: expected KNOB=VALUE")
        out[key.strip()] = value.strip()
    return out


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from swaplab.model import KNOBS, PRESETS, simulate
    from swaplab.model.errors import ModelError
    from swaplab.schema import write_netcdf

    if args.list_policies:
        for name, pol in PRESETS.items():
            print(f"{name}: {', '.join(f'{k}={v}' for k, v in pol.knobs.items()) or 'defaults'}")
        print()
        for name, k in KNOBS.items():
            print(f"{name} = {k.default!r}  ({k.allowed()}): {k.doc}")
        return 0
    if args.scenario is None:
        raise ModelError("a SCENARIO (file or standard name) is required")
    if args.output is None:
        raise ModelError("-o OUT.nc is required")
    ds = simulate(args.scenario, policy=args.policy, knobs=_parse_knobs(args.knobs),
                  seed=args.seed)
    write_netcdf(ds, args.output)
    last = ds.isel(phase=-1)
    print(f"{args.output}: {ds.attrs['scenario_name']} under {args.policy}: "
          f"{ds.sizes['time']} samples, t_end {ds.attrs['t_end_s']:.2f} s, "
          f"orphans at end {int(last.swap_orphans_end)} pages, "
          f"oom_kill {int(last.oom_kill_end)}")
    return 0
