"""The dataset schema: a well-formed dataset passes; each kind of defect is named."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from swaplab.scenario import load_scenario
from swaplab.schema import (
    VARIABLES,
    SchemaError,
    annotate,
    provenance_attrs,
    snapshot_name,
    validate,
)


def minimal_dataset(source: str = "model") -> xr.Dataset:
    """A schema-valid dataset with counters rising by one page per sample."""
    scn = load_scenario("plain-memcg-oom")
    labels = scn.phase_labels()
    time = np.arange(5) * 0.1
    data = {}
    for name, var in VARIABLES.items():
        if var.source not in ("both", source):
            continue
        data[name] = ("time", np.arange(5, dtype=np.int64))
        data[snapshot_name(name)] = ("phase", np.arange(len(labels), dtype=np.int64))
    data["phase_end_time"] = ("phase", np.linspace(0.1, 0.4, len(labels)))
    ds = xr.Dataset(data, coords={"time": time, "phase": np.arange(len(labels)),
                                  "phase_name": ("phase", labels)})
    extra = ({"policy": "linux-6.1", "knobs_json": {"a": 1}, "numba_version": "x", "seed": 1}
             if source == "model" else
             {"kernel_release": "6.1.0", "kernel_package": "p", "kernel_package_sha256": "0",
              "qemu_version": "7.2", "qemu_cmdline": "qemu"})
    ds.attrs.update(provenance_attrs(scn, source, **extra))
    return annotate(ds)


@pytest.mark.parametrize("source", ["model", "kernel"])
def test_minimal_dataset_validates(source):
    ds = minimal_dataset(source)
    assert validate(ds) is ds
    assert ds.attrs["scenario_sha256"] == load_scenario("plain-memcg-oom").sha256
    assert ds.attrs["knobs_json" if source == "model" else "qemu_cmdline"]


def test_kernel_datasets_need_not_carry_model_diagnostics():
    ds = minimal_dataset("kernel")
    assert "trylock_fail" not in ds
    validate(ds)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda ds: ds.attrs.pop("scenario_sha256"), "missing provenance attrs: scenario_sha256"),
        (lambda ds: ds.attrs.update(source="sim"), "'model' or 'kernel'"),
        (lambda ds: ds.attrs.update(knobs_json={"a": 1}), "string or number"),
        (lambda ds: ds.__delitem__("swap_orphans"), "'swap_orphans' is missing"),
        (lambda ds: ds.__delitem__("swap_used_end"), "'swap_used_end' is missing"),
        (lambda ds: ds["pswpout"].attrs.update(units="bytes"), "units attr must be 'pages'"),
        (lambda ds: ds["pswpout"].values.__setitem__(3, 0), "counter 'pswpout' decreases"),
    ],
)
def test_defects_are_named(mutate, needle):
    ds = minimal_dataset()
    mutate(ds)
    with pytest.raises(SchemaError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        validate(ds)


def test_schema_names_are_the_documented_ones():
    # these names are stable: users' notebooks and the shipped traces depend on them.
    stable = {"swap_total", "swap_used", "swap_cached", "swap_orphans", "memcg_current",
              "memcg_swap_current", "memcg_anon", "memcg_swapcached", "pswpin", "pswpout",
              "swap_ra", "swap_ra_hit", "pgmajfault", "memcg_max_events", "memcg_oom",
              "memcg_oom_kill", "oom_kill", "trylock_fail", "writeback_skip", "reclaim_scanned",
              "policy_scan_slots", "lock_wait_us"}
    assert stable <= set(VARIABLES)
