"""Regenerate the golden raw capture (smoke-6.1/) and its exact values (smoke-6.1.golden.json).

Run from the repo root: ``.venv/bin/python tests/data/raw/regenerate.py`` (boots 6.1 in QEMU).
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

from swaplab.capture.kernels import resolve_kernel
from swaplab.capture.parse import parse_run
from swaplab.capture.qemu import run_guest
from swaplab.scenario import load_scenario

HERE = Path(__file__).parent
SERIES = ["pswpout", "pswpin", "swap_used", "memcg_current", "memcg_swapcached", "swap_orphans"]
SNAPS = ["pswpout", "pswpin", "swap_used", "swap_cached", "memcg_current", "memcg_swap_current",
         "memcg_anon", "memcg_swapcached", "swap_orphans", "swapcache_mapped", "pgmajfault"]


def main() -> None:
    scn = load_scenario(HERE / "smoke.toml")
    with tempfile.TemporaryDirectory() as tmp:
        run = run_guest(resolve_kernel("6.1"), scn, Path(tmp) / "run", trace="kprobes")
        dst = HERE / "smoke-6.1"
        shutil.rmtree(dst, ignore_errors=True)
        dst.mkdir()
        for name in ("console.log", "run.json", "run.conf", "workload.txt"):
            shutil.copy(run / name, dst / name)
        meta = json.loads((dst / "run.json").read_text())
        meta["qemu_cmdline"] = meta["qemu_cmdline"].replace(str(run), "<run>")
        (dst / "run.json").write_text(json.dumps(meta, indent=1) + "\n")
        shutil.copytree(run / "out", dst / "out",
                        ignore=shutil.ignore_patterns("dmesg.txt", "vmstat.final"))
        (dst / "trace.txt.gz").write_bytes(gzip.compress((run / "trace.txt").read_bytes(), 9))
    ds = parse_run(dst, scn)
    golden = {
        "n_time": ds.sizes["time"],
        "snapshots": {v: [None if x != x else float(x) for x in ds[f"{v}_end"].values]
                      for v in SNAPS},
        "series_last": {v: float(ds[v].values[-1]) for v in SERIES},
        "trace_event_counts": json.loads(ds.attrs["trace_event_counts"]),
    }
    (HERE / "smoke-6.1.golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(json.dumps(golden, indent=1))


if __name__ == "__main__":
    main()
