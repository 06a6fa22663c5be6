"""TEMPORARY test stand-in for swaplab.model until the real model lands (never shipped).

Loaded only when tests put this folder on PYTHONPATH (papermill kernels and Dask workers
inherit it).
"""
import hashlib
import json
import sys
import time
import types

import numpy as np


def _install():
    import xarray as xr

    from swaplab.schema import VARIABLES, annotate, provenance_attrs

    presets = ["linux-2.6.30", "linux-2.6.31", "kamezawa-sync", "hugh-scan", "linux-6.1",
               "linux-6.12", "linux-7", "liu-swapcache-only"]
    knobs = {"scan_batch": 32, "scan_threshold_pages": 32, "scan_lock": "trylock",
             "scan_when": "sync", "trylock_fail_p": 0.0001, "io_latency_us": 100.0,
             "reclaim_batch": 32}

    class Knob(types.SimpleNamespace):
        pass

    knob_specs = {k: Knob(kind="int" if isinstance(v, int) else "float"
                          if isinstance(v, float) else "choice", default=v)
                  for k, v in knobs.items()}

    def resolve_knobs(policy, overrides=None):
        if policy not in presets:
            raise ValueError(f"unknown policy {policy!r}")
        out = dict(knobs)
        for k, v in (overrides or {}).items():
            if k not in knobs:
                raise ValueError(f"unknown knob {k!r}")
            if k == "scan_batch" and (not isinstance(v, int) or v < 1):
                raise ValueError(f"knob scan_batch must be an integer >= 1, got {v!r}")
            out[k] = v
        return out

    def simulate(scenario, policy="linux-6.1", knobs=None, seed=None):
        k = resolve_knobs(policy, knobs)
        seed = scenario.seed if seed is None else seed
        h = hashlib.sha256(json.dumps([scenario.sha256, policy, k, seed], sort_keys=True)
                           .encode()).digest()
        rng = np.random.default_rng(int.from_bytes(h[:8], "little"))
        time.sleep(0.02)
        labels = scenario.phase_labels()
        nt = 5 + int(rng.integers(0, 5))
        t = np.cumsum(rng.random(nt))
        data = {}
        for name in VARIABLES:
            ts = np.cumsum(rng.integers(0, 10, nt)).astype(np.int64)
            data[name] = ("time", ts)
            data[name + "_end"] = ("phase", np.sort(rng.integers(0, 100, len(labels))))
        ds = xr.Dataset(data, coords={"time": t, "phase": np.arange(len(labels)),
                                      "phase_name": ("phase", labels)})
        ds["phase_end_time"] = ("phase", np.linspace(0, t[-1], len(labels)))
        ds.attrs = provenance_attrs(scenario, "model", policy=policy, knobs_json=k,
                                    numba_version="standin", seed=seed)
        return annotate(ds)

    def simulate_batch(points, threads=None):
        return [simulate(*p) for p in points]

    pol = types.ModuleType("swaplab.model.policies")
    pol.PRESETS = {p: {} for p in presets}
    pol.KNOBS = knob_specs
    pol.resolve_knobs = resolve_knobs
    mod = types.ModuleType("swaplab.model")
    mod.simulate, mod.simulate_batch, mod.policies = simulate, simulate_batch, pol
    mod.__path__ = []
    sys.modules["swaplab.model"] = mod
    sys.modules["swaplab.model.policies"] = pol
    import swaplab

    swaplab.model = mod


_install()
