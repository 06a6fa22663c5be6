"""Turn an engine run into a schema Dataset (time series, end-of-phase snapshots, attrs)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import xarray as xr

from swaplab import schema
from swaplab.model import engine as E
from swaplab.model import run as R
from swaplab.model.policies import knobs_json

VAR_NAMES = list(schema.VARIABLES)


def to_dataset(scn: Any, knobs: dict, seed: int, wl: Any, st: E.State, t_end_ns: int,
               policy: str) -> xr.Dataset:
    """The schema dataset of one run (``created_utc`` stays empty: bitwise reproducible)."""
    nl = len(wl.labels)
    samples = R.samples(st)
    snaps = R.snapshots(st, nl)
    data: dict[str, Any] = {}
    for i, name in enumerate(VAR_NAMES):
        data[name] = (("time",), samples[:, i])
        data[schema.snapshot_name(name)] = (("phase",), snaps[:, i])
    data["phase_end_time"] = (("phase",), R.phase_end_times(st, nl))
    ds = xr.Dataset(
        data,
        coords={
            "time": R.sample_times(st),
            "phase": np.arange(nl, dtype=np.int64),
            "phase_name": (("phase",), np.array(wl.labels, dtype=object).astype(str)),
        },
    )
    ds.attrs = schema.provenance_attrs(
        scn, "model", policy=policy, knobs_json=knobs_json(knobs), seed=int(seed),
        numba_version=numba.__version__, t_end_s=float(t_end_ns) / 1e9,
        model_events=int(st.c[E.C_EVENTS]))
    return schema.annotate(ds)
