"""Model speed figures: ``python bench/model_speed.py [--quick]`` -> bench/out/model_speed.json.

The same measurements as ``swaplab bench`` (see swaplab/benchmark.py for definitions),
kept as a file with the machine's description for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from swaplab.benchmark import run_benchmarks


def main() -> None:
    """Run the benchmarks and write bench/out/model_speed.json."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    res = run_benchmarks(quick=args.quick)
    res["host"] = platform.node()
    res["loadavg_1m"] = os.getloadavg()[0]
    out = Path(__file__).resolve().parent / "out" / "model_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(out)


if __name__ == "__main__":
    main()
