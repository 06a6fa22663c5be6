"""Sweep engine benchmark: papermill overhead share, 2-worker vs 1-worker speed-up, points/s.

    .venv/bin/python bench/sweep_bench.py [--spec bench|NAME|PATH] [--quick] [--json]

The default spec ("bench") is oom-limits with 120 seeds (8400 points: four 60 s chunks with
the model as fast as it now is, so that 2 workers have work to share).

Runs the same sweep twice into fresh stores (1 worker, then 2 workers; one Numba thread per
chunk each time) on a Dask LocalCluster.  Overhead = chunk wall time (papermill: kernel start,
imports, notebook, writing the chunk) minus the time spent computing points, as a share of
the chunk wall time; sim fraction = time inside the engine over the chunk wall time.
Targets: overhead <= 5 %, speed-up >= 1.6x, sim fraction >= 0.8.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def one_run(spec: str, store: Path, workers: int, quick: bool, ppc: int | None) -> dict:
    """Run the sweep once; timings of the whole run and of its chunks."""
    from swaplab.sweep import run_sweep

    t0 = time.perf_counter()
    res = run_sweep(spec, store, workers=workers, threads=1, progress=False, quick=quick,
                    points_per_chunk=ppc)
    wall = time.perf_counter() - t0
    if res.failed:
        raise SystemExit(res.summary())
    chunk_wall = sum(r.wall_s for r in res.ran)
    compute = sum(r.compute_s for r in res.ran)
    sim = sum(r.sim_s for r in res.ran)
    return {"sim_fraction": sim / chunk_wall, "workers": workers,
            "wall_s": wall, "chunks": res.n_chunks,
            "points_per_chunk": res.plan.points_per_chunk, "chunk_wall_s": chunk_wall,
            "compute_s": compute, "overhead_share": (chunk_wall - compute) / chunk_wall,
            "points_per_s": res.plan.n_points / wall, "n_points": res.plan.n_points}


BENCH_SPEC = f"""\
[sweep]
name = "bench"
scenario = "full-swap-oom"
chunk_seconds = 60

[grid]
policy = ["linux-6.1", "hugh-scan"]
"memcg.memory_max_mib" = [32, 48, 64, 96, 128]
"memcg.swap_max_mib" = [8, 16, 24, 32, 48, 64, 96]
seed = {list(range(1, 121))}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="bench", help="sweep spec: 'bench', a standard name or a "
                    "path")
    ap.add_argument("--quick", action="store_true", help="the spec's [quick] axes")
    ap.add_argument("--points-per-chunk", type=int, default=None,
                    help="fix the chunking (default: the spec's, >= 30 s per chunk)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="swaplab-bench-") as d:
        if args.spec == "bench":
            args.spec = str(Path(d) / "bench.toml")
            Path(args.spec).write_text(BENCH_SPEC)
        one = one_run(args.spec, Path(d) / "w1.zarr", 1, args.quick, args.points_per_chunk)
        ppc = one["points_per_chunk"]  # same chunks for the 2-worker run
        two = one_run(args.spec, Path(d) / "w2.zarr", 2, args.quick, ppc)
    out = {
        "spec": Path(args.spec).stem, "quick": args.quick, "n_points": one["n_points"],
        "chunks": one["chunks"], "points_per_chunk": ppc,
        "wall_1_worker_s": round(one["wall_s"], 1), "wall_2_workers_s": round(two["wall_s"], 1),
        "speedup_2_vs_1": round(one["wall_s"] / two["wall_s"], 2),
        "papermill_overhead_share": round(one["overhead_share"], 3),
        "papermill_overhead_share_2_workers": round(two["overhead_share"], 3),
        "sim_fraction_1_worker": round(one["sim_fraction"], 3),
        "sim_fraction_2_workers": round(two["sim_fraction"], 3),
        "points_per_s_1_worker": round(one["points_per_s"], 2),
        "points_per_s_2_workers": round(two["points_per_s"], 2),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_avg_1min_at_start": round(load0, 1),
        "load_avg_1min_at_end": round(os.getloadavg()[0], 1),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:36s} {v}")


if __name__ == "__main__":
    main()
