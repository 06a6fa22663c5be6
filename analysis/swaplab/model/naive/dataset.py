"""The schema Dataset of a naive run, made the same way as the engine's."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np
import xarray as xr

from swaplab import schema
from swaplab.model.naive.observe import VAR_NAMES
from swaplab.model.policies import knobs_json


def to_dataset(run: Any, policy: str) -> xr.Dataset:
    """Time series, end-of-phase snapshots and provenance attrs of a NaiveRun."""
    m = run.machine
    nlab = len(run.workload.labels)
    samples = np.array(m.samples, dtype=np.int64).reshape(-1, len(VAR_NAMES))
    snaps = np.array(run.snaps, dtype=np.int64).reshape(nlab, len(VAR_NAMES))
    time = np.arange(len(m.samples), dtype=np.int64) * (float(m.sample_ns) / 1e9)
    data: dict[str, Any] = {}
    for i, name in enumerate(VAR_NAMES):
        data[name] = (("time",), samples[:, i])
        data[schema.snapshot_name(name)] = (("phase",), snaps[:, i])
    data["phase_end_time"] = (("phase",), np.array(run.snap_t, dtype=np.float64))
    ds = xr.Dataset(
        data,
        coords={
            "time": time,
            "phase": np.arange(nlab, dtype=np.int64),
            "phase_name": (("phase",), np.array(run.workload.labels, dtype=object).astype(str)),
        },
    )
    ds.attrs = schema.provenance_attrs(
        run.scenario, "model", policy=policy, knobs_json=knobs_json(run.knobs),
        seed=int(run.seed), numba_version=version("numba"), t_end_s=float(run.t_end_ns) / 1e9,
        model_events=int(m.counters.events))
    return schema.annotate(ds)
