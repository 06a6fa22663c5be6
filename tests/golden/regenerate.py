"""Regenerate the model's golden end-of-phase numbers (tests/golden/model-end-of-phase.json).

Run after a rule or default changes on purpose:

    .venv/bin/python tests/golden/regenerate.py          # show what changed, write nothing
    .venv/bin/python tests/golden/regenerate.py --write  # rewrite the file

Every standard scenario (data/scenarios) under every preset, default seed and knobs: the
end-of-phase snapshot of every schema variable and the phase end times (integer ns).  The
diff it prints (scenario, policy, phase, variable: old -> new) belongs in the commit message.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "model-end-of-phase.json"


def end_of_phase(path: Path, policy: str) -> dict:
    """The golden record of one (scenario, preset) run."""
    from swaplab.model import simulate
    from swaplab.schema import VARIABLES

    ds = simulate(path, policy)
    rec = {"phase_name": [str(p) for p in ds["phase_name"].values],
           "phase_end_ns": [int(round(float(t) * 1e9)) for t in ds["phase_end_time"].values]}
    for var in VARIABLES:
        rec[var] = [int(x) for x in ds[f"{var}_end"].values]
    return rec


def compute() -> dict:
    """Golden records for all shipped scenarios x presets, keyed ``scenario|policy``."""
    from tqdm import tqdm

    from swaplab.model import PRESETS

    runs = [(p, pol) for p in sorted((ROOT / "data" / "scenarios").glob("*.toml"))
            for pol in sorted(PRESETS)]
    return {f"{p.stem}|{pol}": end_of_phase(p, pol)
            for p, pol in tqdm(runs, desc="golden runs", file=sys.stderr)}


def diff(old: dict, new: dict) -> list[str]:
    """Human-readable differences, one line each."""
    lines = [f"removed {k}" for k in sorted(set(old) - set(new))]
    lines += [f"added {k}" for k in sorted(set(new) - set(old))]
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        if a["phase_name"] != b["phase_name"]:
            lines.append(f"{key}: phases {a['phase_name']} -> {b['phase_name']}")
            continue
        for var in sorted(set(a) | set(b)):
            if var == "phase_name" or a.get(var) == b.get(var):
                continue
            va, vb = a.get(var), b.get(var)
            if va is None or vb is None:
                lines.append(f"{key}: {var} {'added' if va is None else 'removed'}")
                continue
            for name, x, y in zip(a["phase_name"], va, vb, strict=True):
                if x != y:
                    lines.append(f"{key} [{name}] {var}: {x} -> {y}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the golden file")
    args = ap.parse_args()
    new = compute()
    old = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    changes = diff(old, new)
    print("\n".join(changes) if changes else "no change")
    if args.write:
        lines = [f"{json.dumps(k)}: {json.dumps(new[k], separators=(',', ':'))}"
                 for k in sorted(new)]  # one run per line: reviewable git diffs
        GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n")
        print(f"wrote {GOLDEN.relative_to(ROOT)} ({len(new)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
