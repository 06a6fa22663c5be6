"""Benchmarks of the model (``swaplab bench``): speed figures, never timed tests.

Each figure is measured on this machine and reported with its definition:

- ``model_events_per_s``: engine events (page faults, zaps, LRU pages scanned, slot visits,
  I/O completions) per second of ``run_ops``, one thread, on a large generated scenario.
- ``reference_speedup``: the same small scenario run by the independent pure-Python
  reference model (:mod:`swaplab.model.reference`, i.e. :mod:`swaplab.model.naive`) vs.
  Numba, model run time only (no dataset building).
- ``jitoff_speedup``: the same, with the engine's own code run with the JIT switched off
  (:mod:`swaplab.model.jitoff`) vs. Numba.
- ``lru_events_per_s`` / ``libcachesim_lru_events_per_s``: requests per second of the model's
  plain-LRU mode and of libCacheSim's LRU driven from Python (``cache.get``) on the same
  Zipf trace; ``lru_miss_ratio_equal`` compares their miss ratios.
- ``compile_cold_s``: a fresh process with an empty Numba cache dir, first simulate;
  ``first_call_cached_s``: a fresh process with a warm cache, first simulate (in-process).
- ``bytes_per_page``: model state bytes / (frames + swap slots + virtual pages).
- ``sweep_points_per_s``: points per second of a whole ``run_sweep`` (spec to zarr store:
  plan, LocalCluster of 2 workers, one papermill kernel per chunk, region writes) of
  full-swap-oom x 2 policies x 5 memory.max x 7 swap.max x seeds (200 seeds, 30 s chunks;
  ``--quick``: 8 seeds in 2 chunks, where the fixed costs weigh more);
  ``sweep_sim_fraction``: seconds inside the engine (``new_state`` + ``run_ops``) over the
  seconds the workers spent on chunks (papermill wall, kernel start to notebook written);
  ``sweep_overhead_share``: the part of the chunks' wall time not spent on the points
  (kernel start, imports, engine load, zarr writes, notebook writes).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

__all__ = ["run_benchmarks", "large_scenario_text"]

SMALL = "liu-repro"


def large_scenario_text(rounds: int = 4, mib: int = 192) -> str:
    """A large scenario: rounds of alloc, pageout, touch, readback, race, unmap."""
    return f"""
[scenario]
name = "bench-large"
[machine]
ram_mib = 1024
[swap]
size_mib = 2048
write_mib_s = 200
read_mib_s = 200
[memcg]
memory_max_mib = 256
[[phase]]
op = "repeat"
times = {rounds}
phases = [
  {{ op = "alloc", mib = {mib} }},
  {{ op = "pageout" }},
  {{ op = "touch", fraction = 0.5 }},
  {{ op = "readback", pattern = "random" }},
  {{ op = "race_unmap", chunk_kib = 64, rest = "keep" }},
  {{ op = "unmap" }},
]
"""


def _engine_time(scn: Any, policy: str = "linux-6.1", repeat: int = 3) -> tuple[float, int, Any]:
    """Best engine wall time over ``repeat`` runs, events, and the last run."""
    from swaplab.model import engine as E
    from swaplab.model import run_model

    best = float("inf")
    run = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = run_model(scn, policy)
        best = min(best, time.perf_counter() - t0)
    return best, int(run.state.c[E.C_EVENTS]), run


def _subprocess_seconds(code: str, env: dict[str, str] | None = None, timeout: int = 1800
                        ) -> float:
    """Run ``code`` in a fresh interpreter; it prints a number of seconds."""
    full = dict(os.environ)
    full.update(env or {})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=full, timeout=timeout, check=True)
    return float(out.stdout.strip().splitlines()[-1])


_FIRST_CALL = ("import time; t=time.perf_counter(); import swaplab.model as m; "
               "m.run_model('liu-repro'); print(time.perf_counter()-t)")
# both timed like the engine: a first call loads the modules, then the best of three runs
_REFERENCE = ("import time; from swaplab.model.reference import run_reference as r; "
              "r('{name}', 'linux-6.1'); b=[]\n"
              "for _ in range(3): t=time.perf_counter(); r('{name}', 'linux-6.1'); "
              "b.append(time.perf_counter()-t)\nprint(min(b))")
_JITOFF = ("import time; from swaplab.model.jitoff import run_jitoff as r; "
           "r('{name}', 'linux-6.1'); b=[]\n"
           "for _ in range(3): t=time.perf_counter(); r('{name}', 'linux-6.1'); "
           "b.append(time.perf_counter()-t)\nprint(min(b))")


def _lru_bench(n_req: int, n_obj: int, capacity: int) -> dict[str, Any]:
    import libcachesim as lcs

    from swaplab.model.lru import lru_misses

    rng = np.random.default_rng(42)
    trace = (rng.zipf(1.2, size=n_req) % n_obj).astype(np.int64)
    lru_misses(trace[:100], 10)  # compile/load
    best = float("inf")
    misses = 0
    for _ in range(3):
        t0 = time.perf_counter()
        misses = lru_misses(trace, capacity)
        best = min(best, time.perf_counter() - t0)
    cache = lcs.LRU(cache_size=capacity)
    req = lcs.Request(obj_size=1)
    t0 = time.perf_counter()
    hits = 0
    get = cache.get
    for obj in trace.tolist():
        req.obj_id = obj
        hits += bool(get(req))
    lcs_s = time.perf_counter() - t0
    lcs_misses = n_req - hits
    return {
        "lru_trace_requests": n_req,
        "lru_capacity": capacity,
        "lru_events_per_s": n_req / best,
        "libcachesim_lru_events_per_s": n_req / lcs_s,
        "lru_speedup_vs_libcachesim": lcs_s / best,
        "lru_miss_ratio": misses / n_req,
        "libcachesim_lru_miss_ratio": lcs_misses / n_req,
        "lru_miss_ratio_equal": misses == lcs_misses,
    }


def sweep_spec_text(seeds: int, points_per_chunk: int | None = None) -> str:
    """The bench sweep: full-swap-oom over policy, memcg limits and ``seeds`` seeds."""
    chunking = (f"points_per_chunk = {points_per_chunk}" if points_per_chunk
                else "chunk_seconds = 30")
    return f"""
[sweep]
name = "bench"
scenario = "full-swap-oom"
{chunking}

[grid]
policy = ["linux-6.1", "hugh-scan"]
"memcg.memory_max_mib" = [32, 48, 64, 96, 128]
"memcg.swap_max_mib" = [8, 16, 24, 32, 48, 64, 96]
seed = {list(range(1, seeds + 1))}
"""


def _sweep_bench(quick: bool) -> dict[str, Any]:
    """A whole sweep on a LocalCluster of 2 workers (see the module docstring)."""
    from swaplab.sweep import run_sweep

    seeds = 8 if quick else 200
    ppc = 35 * seeds if quick else None  # quick: 2 chunks, one per worker
    with tempfile.TemporaryDirectory(prefix="swaplab-bench-") as d:
        spec = os.path.join(d, "bench.toml")
        with open(spec, "w") as f:
            f.write(sweep_spec_text(seeds, ppc))
        t0 = time.perf_counter()
        res = run_sweep(spec, os.path.join(d, "bench.zarr"), workers=2, threads=1,
                        progress=False)
        wall = time.perf_counter() - t0
    if res.failed:
        raise RuntimeError(res.summary())
    chunk_wall = sum(r.wall_s * r.threads for r in res.ran)
    return {
        "sweep_points": res.plan.n_points,
        "sweep_chunks": res.n_chunks,
        "sweep_points_per_chunk": res.plan.points_per_chunk,
        "sweep_wall_s": wall,
        "sweep_points_per_s": res.plan.n_points / wall,
        "sweep_sim_fraction": sum(r.sim_s for r in res.ran) / chunk_wall,
        "sweep_overhead_share": (sum(r.wall_s - r.compute_s for r in res.ran)
                                 / sum(r.wall_s for r in res.ran)),
    }


def run_benchmarks(quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Measure every figure; ``quick`` uses smaller inputs and skips the cold compile."""
    from tqdm.auto import tqdm

    from swaplab.model import engine as E
    from swaplab.scenario import scenario_from_text

    steps = ["warm", "large", "reference", "jit off", "lru", "first call", "sweep",
             "cold compile"]
    bar = tqdm(steps, desc="bench", disable=not progress)
    res: dict[str, Any] = {"quick": quick, "machine": platform.machine(),
                           "cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_avg_1min_at_start": os.getloadavg()[0]}
    bar.set_postfix_str("warm")
    bar.update()
    _engine_time(SMALL, repeat=1)
    bar.set_postfix_str("large")
    scn = scenario_from_text(large_scenario_text(rounds=2 if quick else 4,
                                                 mib=96 if quick else 192))
    secs, events, run = _engine_time(scn, repeat=1 if quick else 3)
    st = run.state
    res["model_events"] = events
    res["model_seconds"] = secs
    res["model_events_per_s"] = events / secs
    pages = int(st.g[E.G_NFRAMES] + st.g[E.G_NSLOTS] + run.workload.nvpages)
    res["bytes_per_page"] = E.state_nbytes(st) / pages
    bar.update()
    bar.set_postfix_str("reference")
    ref_s = _subprocess_seconds(_REFERENCE.format(name=SMALL))
    small_s, _, _ = _engine_time(SMALL, repeat=5)
    res["reference_seconds"] = ref_s
    res["numba_seconds_small"] = small_s
    res["reference_speedup"] = ref_s / small_s
    bar.update()
    bar.set_postfix_str("jit off")
    jitoff_s = _subprocess_seconds(_JITOFF.format(name=SMALL))
    res["jitoff_seconds"] = jitoff_s
    res["jitoff_speedup"] = jitoff_s / small_s
    bar.update()
    bar.set_postfix_str("lru")
    res.update(_lru_bench(200_000 if quick else 2_000_000, 100_000, 10_000))
    bar.update()
    bar.set_postfix_str("first call")
    res["first_call_cached_s"] = _subprocess_seconds(_FIRST_CALL)
    bar.update()
    bar.set_postfix_str("sweep")
    res.update(_sweep_bench(quick))
    bar.update()
    if quick:
        res["compile_cold_s"] = None
    else:
        bar.set_postfix_str("cold compile")
        with tempfile.TemporaryDirectory() as d:
            res["compile_cold_s"] = _subprocess_seconds(_FIRST_CALL,
                                                        env={"NUMBA_CACHE_DIR": d})
    bar.update()
    bar.close()
    res["load_avg_1min_at_end"] = os.getloadavg()[0]
    return res


def format_json(res: dict[str, Any]) -> str:
    """One JSON object, sorted keys."""
    return json.dumps(res, sort_keys=True)
