"""``swaplab scenarios``: generate random validation scenarios, list a corpus and its split."""

from __future__ import annotations

import argparse

HELP = "generate random scenarios (every op, both devices, limits none to tight); list splits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``scenarios generate --n N --seed S -o DIR`` and ``scenarios list DIR``."""
    sub = parser.add_subparsers(dest="scenarios_verb", metavar="ACTION", required=True)
    g = sub.add_parser("generate", help="write N random valid scenarios (same seed, same files)")
    g.add_argument("--n", type=int, required=True, help="how many scenarios")
    g.add_argument("--seed", type=int, required=True, help="generator seed (>= 0)")
    g.add_argument("--family", default="gen", metavar="NAME",
                   help="'gen' (every op around a focus op, the default) or 'oom' (a memcg "
                        "filled 0.75-1.5x past memory.max + swap after an orphan-making op)")
    g.add_argument("-o", "--output", required=True, help="folder for <name>.toml files")
    lst = sub.add_parser("list", help="scenarios of a folder with guest-time bound and split")
    lst.add_argument("folder", help="a corpus folder (or its scenarios/ folder)")


def run(args: argparse.Namespace) -> int:
    """Dispatch ``generate`` or ``list``."""
    from pathlib import Path

    from swaplab.corpus import CorpusError, corpus_scenarios, split_of
    from swaplab.scenario_gen import generate, guest_seconds_bound, write_scenarios

    if args.scenarios_verb == "generate":
        if args.n < 1 or args.n > 10000:
            raise CorpusError(f"--n {args.n}: allowed 1..10000")
        if args.seed < 0:
            raise CorpusError(f"--seed {args.seed}: must be >= 0")
        from swaplab.scenario_gen import FAMILIES

        if args.family not in FAMILIES:
            raise CorpusError(f"--family {args.family!r}: allowed {', '.join(FAMILIES)}")
        paths = write_scenarios(generate(args.n, args.seed, args.family), Path(args.output))
        print(f"wrote {len(paths)} scenarios to {args.output}")
        return 0
    for scn in corpus_scenarios(Path(args.folder)):
        print(f"{scn.name}\t{split_of(scn)}\t{guest_seconds_bound(scn):5.1f} s\t"
              f"{scn.swap['device']}\t{scn.description}")
    return 0
