"""The benchmark's correctness parts (never its timings): plain-LRU vs libCacheSim."""

from __future__ import annotations

import json

import numpy as np
import pytest

from swaplab.benchmark import large_scenario_text
from swaplab.model.lru import lru_misses
from swaplab.scenario import scenario_from_text


def _lcs_misses(trace: np.ndarray, capacity: int) -> int:
    import libcachesim as lcs

    cache = lcs.LRU(cache_size=capacity)
    req = lcs.Request(obj_size=1)
    misses = 0
    for obj in trace.tolist():
        req.obj_id = obj
        misses += not cache.get(req)
    return misses


@pytest.mark.parametrize("capacity", [1, 7, 100])
def test_plain_lru_misses_equal_libcachesim(capacity):
    rng = np.random.default_rng(capacity)
    trace = (rng.zipf(1.3, size=5000) % 500).astype(np.int64)
    assert lru_misses(trace, capacity) == _lcs_misses(trace, capacity)


def test_plain_lru_known_sequence():
    # capacity 3: 1 2 3 1 4 2 5 1 -> hits only on the second 1
    assert lru_misses(np.array([1, 2, 3, 1, 4, 2, 5, 1]), 3) == 7


def test_large_bench_scenario_is_valid():
    scn = scenario_from_text(large_scenario_text(rounds=2, mib=8))
    assert scn.n_ops() == 12


@pytest.mark.slow
def test_bench_quick_json_has_the_issue_keys(capsys):
    from swaplab.cli import main

    assert main(["bench", "--quick", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("model_events_per_s", "reference_speedup", "jitoff_speedup", "lru_events_per_s",
                "libcachesim_lru_events_per_s", "lru_miss_ratio_equal", "compile_cold_s",
                "first_call_cached_s", "bytes_per_page", "sweep_points_per_s",
                "sweep_sim_fraction"):
        assert key in res
    assert res["lru_miss_ratio_equal"] is True
    assert 0 < res["sweep_sim_fraction"] <= 1 and res["sweep_points"] == 560
