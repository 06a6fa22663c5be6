"""Turn an engine run into a schema Dataset (time series, end-of-phase snapshots, attrs)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import xarray as xr

from swaplab import schema
from swaplab.model import engine as E
from swaplab.model.policies import knobs_json

VAR_NAMES = list(schema.VARIABLES)


def to_dataset(scn: Any, knobs: dict, seed: int, wl: Any, st: E.State, t_end_ns: int,
               policy: str) -> xr.Dataset:
    """The schema dataset of one run (``created_utc`` stays empty: bitwise reproducible)."""
    g = st.g
    n = int(g[E.G_NSAMPLES])
    dt = float(g[E.G_DT_NS]) / 1e9
    time = np.arange(n, dtype=np.float64) * dt
    samples = st.samples[:n].astype(np.int64)
    snaps = st.snaps[: len(wl.labels)].astype(np.int64)
    data: dict[str, Any] = {}
    for i, name in enumerate(VAR_NAMES):
        data[name] = (("time",), samples[:, i])
        data[schema.snapshot_name(name)] = (("phase",), snaps[:, i])
    data["phase_end_time"] = (("phase",), st.snap_t[: len(wl.labels)].copy())
    ds = xr.Dataset(
        data,
        coords={
            "time": time,
            "phase": np.arange(len(wl.labels), dtype=np.int64),
            "phase_name": (("phase",), np.array(wl.labels, dtype=object).astype(str)),
        },
    )
    ds.attrs = schema.provenance_attrs(
        scn, "model", policy=policy, knobs_json=knobs_json(knobs), seed=int(seed),
        numba_version=numba.__version__, t_end_s=float(t_end_ns) / 1e9,
        model_events=int(st.c[E.C_EVENTS]))
    return schema.annotate(ds)
