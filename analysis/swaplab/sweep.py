"""Sweeps: a grid of scenario keys, policy knobs, policies and seeds, run in chunks.

A sweep spec (TOML, ``data/sweeps/*.toml``)::

    [sweep]
    name = "orphans-vs-swap"
    scenario = "full-swap-oom"     # a standard scenario name, or a path relative to this file
    chunk_seconds = 30             # target work per chunk (>= 30 s), or points_per_chunk = N
    # notebook = "my-chunk.ipynb"  # default: notebooks/02-policy-sweep.ipynb

    [grid]                         # Cartesian product; the store's dims, in this order
    policy = ["linux-6.1", "hugh-scan"]
    "swap.size_mib" = [32, 48, 64] # scenario keys are dotted; dim name "swap_size_mib"
    seed = [1, 2]

    [[zip]]                        # keys varied together along one dim (after the grid dims)
    dim = "limits"
    "memcg.memory_max_mib" = [32, 64]
    "memcg.swap_max_mib" = [24, 48]

    [fixed]                        # the same for every point
    "swap.write_mib_s" = 16
    some_knob = 4                  # any policy knob (swaplab.model.policies.KNOBS)

    [quick]                        # optional: smaller grid axes for `--quick` runs
    seed = [1]

Keys: ``policy`` (a preset), ``seed`` (the model's seed; without it every point uses the
scenario's seed, so points that differ only in policy share their random stream), a dotted
scenario key (:func:`swaplab.scenario.overridable_keys`) or a policy knob name.

Running: :func:`run_sweep` cuts the points (C order over the dims) into chunks, writes the
store's template once (coords, attrs, every variable declared, nothing computed), then executes
the chunk notebook once per chunk through papermill on Dask (a LocalCluster by default, or a
cluster of ``dask scheduler`` + ``dask worker`` processes).  A chunk simulates its points into
preallocated arrays (:mod:`swaplab.model.batch`, no Dataset per point) and writes them into its
own region of the store: the zarr chunks tile the sweep chunks (:func:`zarr_block`), so no two
chunks write one zarr chunk.  Then it writes ``<store stem>.chunks/chunk-NNNNN.json`` (an
atomic rename: the record that the chunk is done) next to its executed notebook
``chunk-NNNNN.ipynb``; a killed sweep rerun with the same command computes only the chunks
without a record and ends with the same store.

The store: dims are the sweep axes plus ``phase``.  Time series are ragged across points (each
run has its own sample times), so the store holds the end-of-phase snapshots
``<var>_end(axes..., phase)``, ``phase_end_time``, per-point peaks ``<var>_peak(axes...)`` and
``time_end(axes...)``; every value is float64, NaN where a chunk is not done yet; the
variable ``chunk_done(chunk)`` records the finished chunks.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import sys
import threading
import time
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from swaplab.checks import BadValue, check_value, describe
from swaplab.errors import SwaplabError
from swaplab.paths import NOTEBOOKS, SWEEPS
from swaplab.scenario import Scenario, ScenarioError, load_scenario, overridable_keys

if TYPE_CHECKING:  # imported where used: a chunk's kernel never needs xarray
    import xarray as xr

__all__ = [
    "Axis",
    "ChunkResult",
    "ChunkOutput",
    "Point",
    "SweepError",
    "SweepPlan",
    "SweepResult",
    "SweepSpec",
    "SweepSpecError",
    "chunk_summary",
    "chunk_table",
    "compare_stores",
    "estimate_point_seconds",
    "load_sweep",
    "make_plan",
    "open_store",
    "reduce_point",
    "run_chunk",
    "run_sweep",
    "standard_sweeps",
    "zarr_block",
]

MIN_CHUNK_SECONDS = 30.0  # a papermill run costs ~1.3 s of kernel start: carry real work
DEFAULT_CHUNK_SECONDS = 30.0
KERNEL_NAME = "swaplab"  # the Jupyter kernel registered by `make venv`
DEFAULT_NOTEBOOK = NOTEBOOKS / "02-policy-sweep.ipynb"
RESERVED_DIMS = ("phase", "chunk")
PLAN_FILE = "plan.json"
# netCDF (HDF5) and zarr writes from several sweeps driven by threads of one process (as
# `swaplab reproduce` does) deadlock without this; store I/O is small, so serialise it.
_STORE_IO = threading.RLock()

_SWEEP_KEYS: dict[str, str] = {  # [sweep] key -> its kind (swaplab.checks)
    "name": "text",
    "description": "text",
    "scenario": "text",
    "notebook": "text",
    "points_per_chunk": "int",
    "chunk_seconds": "number",
}


def _ok(kind: str, value: Any, **limits: Any) -> bool:
    """Whether ``value`` passes :func:`swaplab.checks.check_value`."""
    try:
        check_value(kind, value, **limits)
    except BadValue:
        return False
    return True


class SweepSpecError(SwaplabError, ValueError):
    """A sweep spec is invalid; the message is one line naming the key and what is allowed."""


class SweepError(SwaplabError, RuntimeError):
    """A sweep could not run (missing kernel, store made from another spec, ...)."""


# --------------------------------------------------------------------------------------------
# The model, imported late (papermill kernels and Dask workers import it themselves)
# --------------------------------------------------------------------------------------------


def _model() -> Any:
    try:
        import swaplab.model as model
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SweepError(f"the swap model is not importable ({exc}); run `make venv`") from None
    return model


def _policies() -> Any:
    try:
        from swaplab.model import policies
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SweepError(f"the policy presets are not importable ({exc})") from None
    return policies


# --------------------------------------------------------------------------------------------
# Spec
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One dim of the sweep: one key (grid) or several keys varied together (zip)."""

    dim: str
    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]  # values[k][i]: value of keys[k] at position i
    zipped: bool = False

    def __len__(self) -> int:
        return len(self.values[0])

    def at(self, i: int) -> dict[str, Any]:
        """The key -> value mapping at position ``i`` along this axis."""
        return {k: vals[i] for k, vals in zip(self.keys, self.values, strict=True)}


@dataclass(frozen=True)
class Point:
    """One model run of the sweep: what :func:`swaplab.model.simulate` needs."""

    index: int
    scenario: Scenario
    policy: str
    knobs: Mapping[str, Any]
    seed: int | None
    coords: Mapping[str, Any]

    def args(self) -> tuple[Scenario, str, dict[str, Any], int | None]:
        """``(scenario, policy, knobs, seed)`` as :func:`swaplab.model.simulate_batch` takes."""
        return (self.scenario, self.policy, dict(self.knobs), self.seed)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec; :meth:`point` builds any point of the grid."""

    name: str
    description: str
    scenario: Scenario
    notebook: Path
    axes: tuple[Axis, ...]
    fixed: Mapping[str, Any]
    points_per_chunk: int | None
    chunk_seconds: float
    toml_text: str
    source: str
    path: Path | None = None
    quick: bool = False
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """Hash of the spec text."""
        import hashlib

        text = self.toml_text + ("\n# --quick\n" if self.quick else "")
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(a.dim for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.axes else 1

    def settings_at(self, index: int) -> dict[str, Any]:
        """Every key's value at flat point ``index`` (fixed keys included)."""
        if not 0 <= index < self.n_points:
            raise IndexError(f"point {index} out of range 0..{self.n_points - 1}")
        out = dict(self.fixed)
        if self.axes:
            pos = np.unravel_index(index, self.shape)
            for axis, i in zip(self.axes, pos, strict=True):
                out.update(axis.at(int(i)))
        return out

    def point(self, index: int) -> Point:
        """The model run at flat point ``index`` (C order over :attr:`dims`)."""
        settings = self.settings_at(index)
        scn_over = {k: v for k, v in settings.items() if _kind(k) == "scenario"}
        knobs = {k: v for k, v in settings.items() if _kind(k) == "knob"}
        key = tuple(sorted(scn_over.items(), key=lambda kv: kv[0]))
        scn = self._cache.get(key)
        if scn is None:
            scn = self.scenario.with_overrides(scn_over) if scn_over else self.scenario
            self._cache[key] = scn
        coords = {}
        if self.axes:
            pos = np.unravel_index(index, self.shape)
            coords = {a.dim: int(i) for a, i in zip(self.axes, pos, strict=True)}
        return Point(index, scn, settings.get("policy", "linux-6.1"), knobs,
                     settings.get("seed"), coords)

    def chunk_points(self, chunk: int, points_per_chunk: int) -> range:
        """Flat point indices of ``chunk``."""
        n_chunks = math.ceil(self.n_points / points_per_chunk)
        if not 0 <= chunk < n_chunks:
            raise SweepError(f"chunk {chunk} out of range 0..{n_chunks - 1}")
        return range(chunk * points_per_chunk, min(self.n_points, (chunk + 1) * points_per_chunk))


def _kind(key: str) -> str:
    """What a spec key sets: 'policy', 'seed', 'scenario' (dotted) or 'knob'."""
    if key in ("policy", "seed"):
        return key
    return "scenario" if "." in key else "knob"


def _scenario_keys() -> list[str]:
    return [k for k in overridable_keys() if k != "scenario.seed"]


def _allowed_keys_text() -> str:
    return "policy, seed, a scenario key (" + ", ".join(_scenario_keys()) + ") or a policy knob"


def _check_key(key: str, where: str, knob_names: Iterable[str]) -> None:
    kind = _kind(key)
    if kind == "scenario" and key not in _scenario_keys():
        if key == "scenario.seed":
            raise SweepSpecError(f"{where}: use 'seed' (the model's seed), not 'scenario.seed'")
        raise SweepSpecError(f"{where}: unknown key {key!r}; allowed: {_allowed_keys_text()}")
    if kind == "knob" and key not in knob_names:
        raise SweepSpecError(f"{where}: unknown key {key!r}; allowed: policy, seed, a dotted "
                             "scenario key or a policy knob (" + ", ".join(sorted(knob_names))
                             + ")")


_SCALAR = (bool, int, float, str)


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def _check_values(key: str, values: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(values, list):
        raise SweepSpecError(f"{where}: must be a list of values, got {values!r}")
    if not values:
        raise SweepSpecError(f"{where}: empty axis; give at least one value")
    for v in values:
        if not isinstance(v, _SCALAR):
            raise SweepSpecError(f"{where}: values must be numbers, strings or booleans, "
                                 f"got {v!r}")
    kinds = {_type_name(v) for v in values}
    if len(kinds) > 1:
        raise SweepSpecError(f"{where}: values must all be of one type, got "
                             + ", ".join(sorted(kinds)))
    if len(set(values)) != len(values):
        raise SweepSpecError(f"{where}: duplicate values in {values!r}")
    if kinds == {"number"} and any(isinstance(v, float) for v in values):
        return tuple(float(v) for v in values) if key != "seed" else tuple(values)
    return tuple(values)


def _dim_name(key: str) -> str:
    return key.replace(".", "_")


def load_sweep(path: str | Path, quick: bool = False, validate: bool = True) -> SweepSpec:
    """Load and validate a sweep spec file, or a standard sweep by name (``"policies"``).

    Every point's scenario, policy and knobs are validated here, before anything runs
    (``validate=False`` skips that per-point check, for a chunk of a sweep already checked).
    ``quick`` replaces grid axes by the spec's ``[quick]`` lists.
    """
    p = Path(path)
    if not p.exists() and p.suffix != ".toml" and "/" not in str(path):
        p = SWEEPS / f"{path}.toml"
    if not p.exists():
        raise SweepSpecError(f"{path}: no such sweep spec; standard sweeps: "
                             + (", ".join(standard_sweeps()) or "(none)"))
    return sweep_from_text(p.read_text(), source=str(path), base_dir=p.resolve().parent,
                           path=p.resolve(), quick=quick, validate=validate)


def standard_sweeps() -> list[str]:
    """Names of the sweeps shipped in ``data/sweeps``."""
    d = SWEEPS
    return sorted(q.stem for q in d.glob("*.toml")) if d.is_dir() else []


def sweep_from_text(text: str, source: str = "<text>", base_dir: Path | None = None,
                    path: Path | None = None, quick: bool = False,
                    validate: bool = True) -> SweepSpec:
    """Parse and validate sweep spec TOML text (relative paths resolve against ``base_dir``)."""
    src = source
    base_dir = base_dir or Path.cwd()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError(f"{src}: not valid TOML: {exc}") from None
    for key in raw:
        if key not in ("sweep", "grid", "zip", "fixed", "quick"):
            raise SweepSpecError(f"{src}: unknown section {key!r}; allowed: sweep, grid, zip, "
                                 "fixed, quick")
    head = raw.get("sweep")
    if not isinstance(head, dict):
        raise SweepSpecError(f"{src}: missing [sweep] table (name, scenario, chunk_seconds or "
                             "points_per_chunk)")
    for key, value in head.items():
        if key not in _SWEEP_KEYS:
            raise SweepSpecError(f"{src}: unknown key 'sweep.{key}'; allowed: "
                                 + ", ".join(_SWEEP_KEYS))
        try:
            check_value(_SWEEP_KEYS[key], value)
        except BadValue:
            raise SweepSpecError(f"{src}: 'sweep.{key}' must be {describe(_SWEEP_KEYS[key])}, "
                                 f"got {value!r}") from None
    for key in ("name", "scenario"):
        if key not in head:
            raise SweepSpecError(f"{src}: missing required key 'sweep.{key}'")
    if "points_per_chunk" in head and "chunk_seconds" in head:
        raise SweepSpecError(f"{src}: give 'sweep.points_per_chunk' or 'sweep.chunk_seconds', "
                             "not both")
    ppc = head.get("points_per_chunk")
    if ppc is not None and not _ok("int", ppc, lo=1):
        raise SweepSpecError(f"{src}: 'sweep.points_per_chunk' must be "
                             f"{describe('int', lo=1)}, got {ppc}")
    chunk_s = float(head.get("chunk_seconds", DEFAULT_CHUNK_SECONDS))
    if not _ok("number", chunk_s, lo=MIN_CHUNK_SECONDS):
        raise SweepSpecError(f"{src}: 'sweep.chunk_seconds' must be >= {MIN_CHUNK_SECONDS:g} "
                             f"(each papermill run must carry real work), got {chunk_s:g}")

    scn_ref = head["scenario"]
    cand = base_dir / scn_ref
    try:
        scenario = load_scenario(cand if cand.exists() else scn_ref)
    except ScenarioError as exc:
        raise SweepSpecError(f"{src}: 'sweep.scenario': {exc}") from None

    notebook = DEFAULT_NOTEBOOK
    if "notebook" in head:
        notebook = (base_dir / head["notebook"]).resolve()
        if notebook.suffix != ".ipynb" or not notebook.exists():
            raise SweepSpecError(f"{src}: 'sweep.notebook': {head['notebook']!r} is not an "
                                 "existing .ipynb file")

    policies = _policies()
    knob_names = set(policies.KNOBS)
    axes: list[Axis] = []
    grid = raw.get("grid", {})
    if not isinstance(grid, dict):
        raise SweepSpecError(f"{src}: [grid] must be a table of key = [values]")
    quick_raw = raw.get("quick", {})
    if not isinstance(quick_raw, dict):
        raise SweepSpecError(f"{src}: [quick] must be a table of grid key = [values]")
    for key in quick_raw:
        if key not in grid:
            raise SweepSpecError(f"{src}: 'quick.{key}': not a [grid] key; allowed: "
                                 + (", ".join(grid) or "(no grid keys)"))
        _check_values(key, quick_raw[key], f"{src}: 'quick.{key}'")
    if quick:
        grid = {**grid, **quick_raw}
    for key, values in grid.items():
        where = f"{src}: 'grid.{key}'"
        _check_key(key, where, knob_names)
        axes.append(Axis(_dim_name(key), (key,), (_check_values(key, values, where),)))
    zips = raw.get("zip", [])
    if not isinstance(zips, list):
        raise SweepSpecError(f"{src}: 'zip' must be an array of tables ([[zip]])")
    for j, z in enumerate(zips):
        where = f"{src}: 'zip[{j}]'"
        if not isinstance(z, dict):
            raise SweepSpecError(f"{where}: must be a table")
        dim = z.get("dim")
        if not isinstance(dim, str) or not dim.isidentifier():
            raise SweepSpecError(f"{where}.dim: needs a dim name (an identifier), got {dim!r}")
        keys = [k for k in z if k != "dim"]
        if len(keys) < 2:
            raise SweepSpecError(f"{where}: needs at least two keys to vary together")
        vals = []
        for key in keys:
            _check_key(key, f"{where}.{key}", knob_names)
            vals.append(_check_values(key, z[key], f"{where}.{key}"))
        lengths = {len(v) for v in vals}
        if len(lengths) != 1:
            raise SweepSpecError(f"{where}: zipped lists must have one length, got "
                                 + ", ".join(f"{k}: {len(v)}" for k, v in
                                             zip(keys, vals, strict=True)))
        axes.append(Axis(dim, tuple(keys), tuple(vals), zipped=True))
    fixed_raw = raw.get("fixed", {})
    if not isinstance(fixed_raw, dict):
        raise SweepSpecError(f"{src}: [fixed] must be a table of key = value")
    fixed: dict[str, Any] = {}
    for key, value in fixed_raw.items():
        where = f"{src}: 'fixed.{key}'"
        _check_key(key, where, knob_names)
        fixed[key] = _check_values(key, [value], where)[0]

    seen: dict[str, str] = {}
    for label, keys in [("fixed", list(fixed))] + [(f"axis {a.dim!r}", list(a.keys))
                                                   for a in axes]:
        for key in keys:
            if key in seen:
                raise SweepSpecError(f"{src}: key {key!r} set twice ({seen[key]} and {label})")
            seen[key] = label
    dims = [a.dim for a in axes]
    for d in dims:
        if d in RESERVED_DIMS:
            raise SweepSpecError(f"{src}: dim name {d!r} is reserved ("
                                 + ", ".join(RESERVED_DIMS) + ")")
        if dims.count(d) > 1:
            raise SweepSpecError(f"{src}: dim {d!r} appears twice")

    spec = SweepSpec(
        name=head["name"], description=head.get("description", ""), scenario=scenario,
        notebook=notebook, axes=tuple(axes), fixed=fixed, points_per_chunk=ppc,
        chunk_seconds=chunk_s, toml_text=text, source=src, path=path, quick=quick,
    )
    if validate:
        _validate_points(spec, policies)
    return spec


def _validate_points(spec: SweepSpec, policies: Any) -> None:
    """Check every distinct scenario override and every distinct (policy, knobs) once."""
    presets = set(policies.PRESETS)
    scn_axes = [a for a in spec.axes if any(_kind(k) == "scenario" for k in a.keys)]
    pol_axes = [a for a in spec.axes if any(_kind(k) in ("policy", "knob") for k in a.keys)]
    for key, value in spec.fixed.items():
        if key == "seed" and not _ok("int", value, lo=0):
            raise SweepSpecError(f"{spec.source}: 'seed' must be integers >= 0, got {value!r}")
    for a in spec.axes:
        for key, vals in zip(a.keys, a.values, strict=True):
            if key == "seed" and not all(_ok("int", v, lo=0) for v in vals):
                raise SweepSpecError(f"{spec.source}: 'seed' must be integers >= 0, got "
                                     f"{list(vals)!r}")
            if key == "policy":
                for v in vals:
                    if v not in presets:
                        raise SweepSpecError(f"{spec.source}: 'policy': unknown preset {v!r}; "
                                             "allowed: " + ", ".join(sorted(presets)))
    if "policy" in spec.fixed and spec.fixed["policy"] not in presets:
        raise SweepSpecError(f"{spec.source}: 'fixed.policy': unknown preset "
                             f"{spec.fixed['policy']!r}; allowed: " + ", ".join(sorted(presets)))

    def combos(axes: list[Axis], kinds: tuple[str, ...]) -> Iterable[dict[str, Any]]:
        for pos in np.ndindex(*[len(a) for a in axes]):
            out = {k: v for k, v in spec.fixed.items() if _kind(k) in kinds}
            for a, i in zip(axes, pos, strict=True):
                out.update({k: v for k, v in a.at(int(i)).items() if _kind(k) in kinds})
            yield out

    for over in combos(scn_axes, ("scenario",)):
        if over:
            try:
                spec.scenario.with_overrides(over)
            except ScenarioError as exc:
                raise SweepSpecError(f"{spec.source}: {_fmt(over)} rejected by the scenario: "
                                     f"{exc}") from None
    for over in combos(pol_axes, ("policy", "knob")):
        policy = over.pop("policy", "linux-6.1")
        try:
            policies.resolve_knobs(policy, over)
        except Exception as exc:  # the model's own error type; one line either way
            raise SweepSpecError(f"{spec.source}: policy {policy!r} with {_fmt(over)}: "
                                 f"{exc}") from None


def _fmt(over: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in over.items()) or "no overrides"


# --------------------------------------------------------------------------------------------
# Reducing runs to what the store keeps
# --------------------------------------------------------------------------------------------


def _snapshot_vars(ds: xr.Dataset) -> list[str]:
    return sorted(str(v) for v in ds.data_vars if "phase" in ds[v].dims
                  and ds[v].dims == ("phase",))


def reduce_point(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """What the store keeps of one ``simulate`` Dataset: phase snapshots, peaks and the end
    time (float64).  The sweep itself takes the same values straight from the engine
    (:mod:`swaplab.model.batch`); this is the Dataset-side reading, for checks and notebooks.
    """
    from swaplab.model.batch import PEAK_VARS

    out: dict[str, np.ndarray] = {}
    for name in _snapshot_vars(ds):
        out[name] = np.asarray(ds[name].values, dtype=np.float64)
    for var in PEAK_VARS:
        if var in ds:
            vals = np.asarray(ds[var].values, dtype=np.float64)
            out[f"{var}_peak"] = np.asarray(np.nanmax(vals) if vals.size else np.nan)
    t = ds["time"].values if "time" in ds.coords else np.array([])
    out["time_end"] = np.asarray(float(t[-1]) if t.size else np.nan)
    return out


@dataclass
class ChunkOutput:
    """One chunk's values (first dim: its points), as :func:`run_chunk` computed them."""

    chunk: int
    points: range
    labels: list[str]
    values: dict[str, np.ndarray]  # store variable -> [point, (phase)]
    compute_seconds: float  # building the points, simulating, reducing
    sim_seconds: float  # inside the engine
    write_seconds: float = 0.0  # the zarr region write and the done record


def _marker_path(parts: Path, chunk: int) -> Path:
    return parts / f"chunk-{chunk:05d}.json"


def run_chunk(spec: SweepSpec | str | Path, chunk: int, points_per_chunk: int,
              store: str | Path | None = None, threads: int = 1,
              quick: bool = False) -> ChunkOutput:
    """Run one chunk's points (``threads`` at a time) into arrays; write them to ``store``.

    With ``store`` (a store whose template :func:`run_sweep` wrote), the values go into the
    chunk's own region of every variable (whole zarr chunks: no other chunk writes there),
    then ``<store>.chunks/chunk-NNNNN.json`` records that the chunk is done (written to a
    temporary name and renamed: present means complete).
    """
    from swaplab.model.batch import run_batch

    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec, quick=quick, validate=False)  # the driver validated it
    idx = spec.chunk_points(chunk, points_per_chunk)
    t0 = time.perf_counter()
    res = run_batch([spec.point(i).args() for i in idx], threads=threads)
    out = ChunkOutput(chunk, idx, res.labels, res.arrays.variables(),
                      time.perf_counter() - t0, res.sim_seconds)
    if store:
        t1 = time.perf_counter()
        store = Path(store)
        _write_region(store, spec.shape, idx, out.values)
        out.write_seconds = time.perf_counter() - t1
        parts = chunks_dir(store)
        marker = _marker_path(parts, chunk)
        tmp = marker.with_name(marker.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({
            "sweep_name": spec.name, "sweep_sha256": spec.sha256, "chunk": chunk,
            "points_per_chunk": points_per_chunk, "first_point": idx.start,
            "n_points": len(idx), "threads": threads,
            "compute_seconds": out.compute_seconds, "sim_seconds": out.sim_seconds,
            "write_seconds": out.write_seconds}, sort_keys=True))
        os.replace(tmp, marker)
    return out


def chunk_summary(part: ChunkOutput) -> str:
    """A few lines on a chunk without pandas: min / median / max over its points of the
    last phase's snapshot of each variable that varies, and of the peaks and end time."""
    lines = [f"chunk {part.chunk}: {len(part.points)} points "
             f"({part.points.start}..{part.points.stop - 1}), last phase {part.labels[-1]!r}"]
    for name, vals in sorted(part.values.items()):
        v = vals[:, -1] if vals.ndim == 2 else vals
        if v.size and np.nanmin(v) != np.nanmax(v) or name.endswith(("_peak", "time_end")):
            q = np.nanpercentile(v, [0, 50, 100])
            lines.append(f"  {name:28s} min {q[0]:12.6g}  median {q[1]:12.6g}  "
                         f"max {q[2]:12.6g}")
    return "\n".join(lines)


def chunk_table(spec: SweepSpec, part: ChunkOutput, last_phase: bool = True) -> Any:
    """A pandas table of a chunk: each point's settings and its end-of-run values."""
    import pandas as pd

    rows = []
    for j, i in enumerate(part.points):
        row: dict[str, Any] = {"point": int(i)}
        row.update({k: v for k, v in spec.settings_at(int(i)).items()})
        for name, vals in sorted(part.values.items()):
            v = vals[j]
            if np.ndim(v):
                if not last_phase or not name.endswith("_end"):
                    continue
                v = v[-1]
            row[name] = float(v)
        rows.append(row)
    return pd.DataFrame(rows).set_index("point")


# --------------------------------------------------------------------------------------------
# Plan: chunking, persisted next to the store so a rerun cuts the same chunks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepPlan:
    """How a sweep is cut into chunks, and the provenance fixed when it was first planned."""

    spec_sha256: str
    n_points: int
    points_per_chunk: int
    seconds_per_point: float
    attrs: Mapping[str, Any]

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_points / self.points_per_chunk)

    def to_json(self) -> str:
        return json.dumps({"spec_sha256": self.spec_sha256, "n_points": self.n_points,
                           "points_per_chunk": self.points_per_chunk,
                           "seconds_per_point": self.seconds_per_point,
                           "attrs": dict(self.attrs)}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SweepPlan:
        d = json.loads(text)
        return cls(d["spec_sha256"], d["n_points"], d["points_per_chunk"],
                   d["seconds_per_point"], d["attrs"])


def estimate_point_seconds(spec: SweepSpec, samples: int = 3) -> float:
    """Warm the Numba cache with one run in this process, then time up to ``samples`` points.

    The warm-up also writes Numba's on-disk cache before any worker starts (parallel cache
    writes race).
    """
    from swaplab.model.batch import run_batch

    _model()
    run_batch([spec.point(0).args()], threads=1)
    picks = sorted({0, spec.n_points // 2, spec.n_points - 1})[:samples]
    t0 = time.perf_counter()
    run_batch([spec.point(i).args() for i in picks], threads=1)
    return max((time.perf_counter() - t0) / len(picks), 1e-6)


def _store_attrs(spec: SweepSpec) -> dict[str, Any]:
    import numba

    from swaplab.schema import provenance_attrs

    attrs = provenance_attrs(spec.scenario, "model", numba_version=numba.__version__)
    attrs.pop("created_utc", None)  # the store must be identical whenever it is rebuilt
    axes = [{"dim": a.dim, "keys": list(a.keys), "zipped": a.zipped} for a in spec.axes]
    attrs.update(
        sweep_name=spec.name, sweep_description=spec.description, sweep_toml=spec.toml_text,
        sweep_sha256=spec.sha256, sweep_axes_json=json.dumps(axes),
        sweep_fixed_json=json.dumps(dict(spec.fixed), sort_keys=True),
        notebook=spec.notebook.name, sweep_quick=int(spec.quick),
        seed_note="no 'seed' axis: every point runs with the scenario's seed"
        if "seed" not in [k for a in spec.axes for k in a.keys] and "seed" not in spec.fixed
        else "the 'seed' key is the model's seed",
    )
    return attrs


def make_plan(spec: SweepSpec, points_per_chunk: int | None = None,
              seconds_per_point: float | None = None) -> SweepPlan:
    """Decide the chunking: the spec's (or given) points per chunk, else enough points to
    carry ``chunk_seconds`` of work at the measured (or given) seconds per point."""
    if seconds_per_point is None:
        seconds_per_point = estimate_point_seconds(spec)
    ppc = points_per_chunk or spec.points_per_chunk
    if ppc is None:
        ppc = aligned_points_per_chunk(spec.shape,
                                       math.ceil(spec.chunk_seconds / seconds_per_point))
    ppc = max(1, min(int(ppc), spec.n_points))
    return SweepPlan(spec.sha256, spec.n_points, ppc, float(seconds_per_point),
                     _store_attrs(spec))


def describe_plan(spec: SweepSpec, plan: SweepPlan, workers: int, done: int = 0) -> str:
    """The dry-run text: points, chunks, estimated time."""
    axes = " x ".join(f"{a.dim} ({len(a)})" for a in spec.axes) or "(no axes)"
    work = plan.seconds_per_point * spec.n_points
    todo = plan.n_chunks - done
    per_chunk = plan.seconds_per_point * plan.points_per_chunk
    waves = math.ceil(todo / max(1, workers))
    lines = [
        f"sweep {spec.name}: scenario {spec.scenario.name} (sha256 {spec.scenario.sha256[:12]}),"
        f" notebook {spec.notebook.name}",
        f"axes: {axes} = {spec.n_points} points",
        f"fixed: {_fmt(spec.fixed)}",
        f"chunks: {plan.n_chunks} of up to {plan.points_per_chunk} points "
        f"(~{per_chunk:.1f} s of work each; {plan.seconds_per_point:.3f} s per point measured)",
        f"estimated: {work:.0f} s of model work; ~{waves * (per_chunk + 3):.0f} s wall on "
        f"{workers} worker(s) for the {todo} chunk(s) to run",
    ]
    if done:
        lines.append(f"resume: {done} of {plan.n_chunks} chunks already done")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


def chunks_dir(store: str | Path) -> Path:
    """Folder next to the store with each chunk's done record and executed notebook."""
    s = Path(store)
    return s.parent / f"{s.stem}.chunks"


def _chunk_paths(parts: Path, chunk: int) -> tuple[Path, Path]:
    return _marker_path(parts, chunk), parts / f"chunk-{chunk:05d}.ipynb"


def _read_marker(path: Path, sha256: str) -> dict[str, Any] | None:
    """A chunk's done record if present, whole and made from this spec."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("sweep_sha256") == sha256 else None


def _coord_values(values: Iterable[Any]) -> np.ndarray:
    """Coordinate array; strings as variable-length (zarr 3's specified string type)."""
    arr = np.asarray(list(values))
    return arr.astype(object) if arr.dtype.kind == "U" else arr


def zarr_block(shape: Sequence[int], points_per_chunk: int) -> tuple[int, ...]:
    """The store's zarr chunk over the sweep dims: a block of whole trailing dims that tiles
    every sweep chunk, so no two sweep chunks ever write the same zarr chunk.

    Of the blocks ``(1, .., 1, m, shape[j+1:]...)`` with ``m`` dividing ``shape[j]`` (whose
    flat C-order ranges start at multiples of their size), the largest whose size divides
    ``points_per_chunk``.
    """
    best: tuple[int, ...] = (1,) * len(shape)
    best_n = 1
    for j in range(len(shape)):
        inner = math.prod(shape[j + 1:])
        for m in range(1, shape[j] + 1):
            n = m * inner
            if shape[j] % m == 0 and points_per_chunk % n == 0 and n > best_n:
                best, best_n = (1,) * j + (m,) + tuple(shape[j + 1:]), n
    return best


def aligned_points_per_chunk(shape: Sequence[int], target: int) -> int:
    """``target`` points per chunk moved to a multiple of the largest block
    (:func:`zarr_block`) that fits in it, so that zarr chunks are not tiny."""
    sizes = {m * math.prod(shape[j + 1:]) for j in range(len(shape))
             for m in range(1, shape[j] + 1) if shape[j] % m == 0}
    block = max((n for n in sizes if n <= target), default=1)
    return block * max(1, round(target / block))


def _boxes(lo: int, hi: int, shape: Sequence[int]) -> list[tuple[slice, ...]]:
    """The flat C-order range [lo, hi) of an array of ``shape`` as few boxes (slices), in
    order; each box is a contiguous flat range."""
    if lo >= hi:
        return []
    if not shape:
        return [()]
    if len(shape) == 1:
        return [(slice(lo, hi),)]
    inner = math.prod(shape[1:])
    full = tuple(slice(None) for _ in shape[1:])
    out: list[tuple[slice, ...]] = []
    i0, r0 = divmod(lo, inner)
    if r0:
        end = min(hi, (i0 + 1) * inner)
        out += [(slice(i0, i0 + 1),) + b for b in _boxes(r0, end - i0 * inner, shape[1:])]
        i0 += 1
        if i0 * inner >= hi:
            return out
    i1, r1 = divmod(hi, inner)
    if i1 > i0:
        out.append((slice(i0, i1),) + full)
    if r1:
        out += [(slice(i1, i1 + 1),) + b for b in _boxes(0, r1, shape[1:])]
    return out


def _box_size(box: tuple[slice, ...], shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(len(range(*b.indices(n))) for b, n in zip(box, shape, strict=True))


def _write_region(store: Path, shape: tuple[int, ...], idx: range,
                  values: Mapping[str, np.ndarray]) -> None:
    """Write a chunk's values (first dim: its points) into their region of every variable.

    Plain zarr slice assignment on the arrays of the template (what xarray's ``region=``
    does, without importing xarray in every papermill kernel).
    """
    import zarr

    group = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    boxes = _boxes(idx.start, idx.stop, shape)
    for name, vals in values.items():
        arr = group[name]
        k = 0
        for box in boxes:
            size = _box_size(box, shape)
            n = math.prod(size)
            arr[box] = vals[k:k + n].reshape(size + vals.shape[1:])
            k += n


def _write_template(spec: SweepSpec, plan: SweepPlan, store: Path) -> None:
    """The store with every coordinate, attr and ``point_index`` written and every data
    variable declared but not written (``compute=False``: NaN until its chunk is done);
    written under a temporary name and renamed."""
    import dask.array as dsa
    import xarray as xr

    from swaplab.model.batch import store_variables
    from swaplab.model.workload import compile_workload

    labels = compile_workload(spec.point(0).scenario).labels
    shape, nphase = spec.shape, len(labels)
    block = zarr_block(shape, plan.points_per_chunk)
    data_vars: dict[str, Any] = {}
    encoding: dict[str, Any] = {}
    for name, (has_phase, units) in store_variables().items():
        full = shape + ((nphase,) if has_phase else ())
        chunks = block + ((nphase,) if has_phase else ())
        dims = spec.dims + (("phase",) if has_phase else ())
        data_vars[name] = (dims, dsa.full(full, np.nan, dtype=np.float64, chunks=chunks),
                           {"units": units})
        encoding[name] = {"chunks": chunks}
    coords: dict[str, Any] = {}
    for a in spec.axes:
        if a.zipped:
            coords[a.dim] = (a.dim, np.arange(len(a)))
            for k, vals in zip(a.keys, a.values, strict=True):
                coords[_dim_name(k)] = (a.dim, _coord_values(vals))
        else:
            coords[a.dim] = (a.dim, _coord_values(a.values[0]))
    coords["phase"] = ("phase", np.arange(nphase))
    coords["phase_name"] = ("phase", _coord_values(labels))
    ds = xr.Dataset(data_vars, coords=coords, attrs=dict(plan.attrs))
    ds["point_index"] = (spec.dims, np.arange(spec.n_points).reshape(shape))
    ds["chunk_done"] = ("chunk", np.zeros(plan.n_chunks, dtype=bool))
    tmp = store.with_name(store.name + ".tmp")
    with _STORE_IO, warnings.catch_warnings():
        # consolidated metadata is not (yet) in the zarr 3 spec; xarray reads it fine
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        shutil.rmtree(tmp, ignore_errors=True)
        ds.to_zarr(tmp, mode="w", compute=False, consolidated=True, zarr_format=3,
                   encoding=encoding)
        shutil.rmtree(store, ignore_errors=True)
        os.replace(tmp, store)


def _mark_done(store: Path, done: np.ndarray) -> None:
    """Write ``chunk_done`` (one zarr chunk; only the driver writes it)."""
    import zarr

    with _STORE_IO:
        arr = zarr.open_group(str(store), mode="r+", use_consolidated=False)["chunk_done"]
        arr[:] = done


def _store_ok(store: Path, plan: SweepPlan) -> bool:
    """Whether ``store`` is a whole template of this plan (else it is rewritten)."""
    import zarr

    try:
        group = zarr.open_group(str(store), mode="r", use_consolidated=False)
        return (group.attrs.get("sweep_sha256") == plan.spec_sha256
                and group["chunk_done"].shape == (plan.n_chunks,)
                and group["time_end"].chunks == zarr_block(group["time_end"].shape,
                                                           plan.points_per_chunk))
    except Exception:  # missing, half-written or from another format: rewrite it
        return False


def open_store(store: str | Path) -> xr.Dataset:
    """Open a sweep store (lazy); e.g. ``open_store(p).sel(policy="hugh-scan")``."""
    import xarray as xr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        return xr.open_zarr(store, consolidated=True)


# --------------------------------------------------------------------------------------------
# Running chunks: papermill, on Dask
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk's papermill run gave: ok, its executed notebook, timings."""

    chunk: int
    ok: bool
    notebook: str
    output: str  # the chunk's done record
    error: str = ""
    wall_s: float = 0.0  # the whole papermill run (kernel start to notebook written)
    compute_s: float = 0.0  # building, simulating and reducing the points
    sim_s: float = 0.0  # inside the engine
    write_s: float = 0.0  # the zarr region write
    threads: int = 1


def _import_papermill() -> Any:
    """papermill, imported without jsonschema's optional ``rfc3987_syntax`` IRI checker.

    papermill -> nbformat -> jsonschema, whose format module imports ``rfc3987_syntax`` if
    installed (it builds a Lark grammar at import): ~70 % of papermill's 2 s of import CPU
    in each Dask worker.  jsonschema treats the module as optional (``suppress(ImportError)``)
    and notebook validation uses no IRI format; later explicit imports of it still work.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
        try:
            import papermill
        finally:
            del sys.modules["rfc3987_syntax"]
    import papermill

    return papermill


def execute_chunk(spec_path: str, chunk: int, points_per_chunk: int, store: str,
                  threads: int, notebook: str, kernel_name: str = KERNEL_NAME,
                  quick: bool = False) -> ChunkResult:
    """Execute the chunk notebook once through papermill (the unit of work of a Dask task):
    it writes the chunk's region of ``store`` and its done record."""
    pm = _import_papermill()
    from papermill.exceptions import PapermillExecutionError

    os.environ["NUMBA_NUM_THREADS"] = str(threads)  # the kernel process inherits it
    out, nb_out = _chunk_paths(chunks_dir(store), chunk)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            notebook, str(nb_out), kernel_name=kernel_name, progress_bar=False,
            log_output=False, cwd=str(Path(notebook).parent),
            # the executed notebook is written once at the end (or on error), not after
            # every cell; no IPython history database; the kernel is stopped, not asked
            # to stop, once every cell ran (its writes are done by then)
            request_save_on_cell_execute=False, shutdown_kernel="immediate",
            extra_arguments=["--IPKernelApp.log_level=CRITICAL",
                             "--HistoryManager.enabled=False"],
            parameters={"spec": spec_path, "chunk": chunk, "points_per_chunk": points_per_chunk,
                        "store": str(store), "threads": threads, "quick": quick},
        )
    except PapermillExecutionError as exc:
        return ChunkResult(chunk, False, str(nb_out), str(out),
                           f"{exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}",
                           time.perf_counter() - t0)
    except Exception as exc:  # kernel died, notebook missing...: report, let others finish
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return ChunkResult(chunk, False, str(nb_out), str(out), f"{type(exc).__name__}: {msg}",
                           time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    try:
        rec = json.loads(out.read_text())
    except (OSError, ValueError):
        return ChunkResult(chunk, False, str(nb_out), str(out),
                           "the notebook finished but wrote no done record", wall)
    return ChunkResult(chunk, True, str(nb_out), str(out), "", wall,
                       float(rec.get("compute_seconds", 0.0)), float(rec.get("sim_seconds", 0.0)),
                       float(rec.get("write_seconds", 0.0)), int(rec.get("threads", threads)))


@dataclass
class SweepResult:
    """Summary of a sweep run."""

    store: Path
    n_chunks: int
    ran: list[ChunkResult]
    skipped: int
    wall_s: float
    plan: SweepPlan

    @property
    def failed(self) -> list[ChunkResult]:
        return [r for r in self.ran if not r.ok]

    def summary(self) -> str:
        ok = sum(r.ok for r in self.ran)
        lines = [f"{self.store}: {ok} chunk(s) run, {self.skipped} already done, "
                 f"{len(self.failed)} failed, of {self.n_chunks}; {self.wall_s:.1f} s"]
        for r in self.failed:
            lines.append(f"  chunk {r.chunk} failed: {r.error} (executed notebook: "
                         f"{r.notebook})")
        return "\n".join(lines)


def _check_kernel(kernel_name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if kernel_name not in KernelSpecManager().find_kernel_specs():
        raise SweepError(f"Jupyter kernel {kernel_name!r} is not installed; run `make venv` "
                         f"(it runs: python -m ipykernel install --sys-prefix --name "
                         f"{kernel_name})")


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int, threads: int, client: Any = None) -> Any:
    """A Dask client: ``client`` itself, one for ``scheduler``, or a LocalCluster started here
    (one thread per worker process, ``NUMBA_NUM_THREADS`` set explicitly)."""
    from distributed import Client, LocalCluster

    if client is not None:  # the caller's client (shared by several sweeps)
        yield client
        return
    if scheduler:
        client = Client(scheduler, timeout="20s")
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": str(threads)},
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        try:
            cluster.close()
        except TimeoutError:  # a worker slow to exit on a loaded host: the nanny kills it
            warnings.warn("the Dask LocalCluster took too long to close; its workers were "
                          "killed", RuntimeWarning, stacklevel=2)


def run_sweep(spec_path: str | Path, store: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, points_per_chunk: int | None = None,
              threads: int | None = None, progress: bool = True,
              kernel_name: str = KERNEL_NAME, quick: bool = False, client: Any = None,
              on_chunk: Callable[[ChunkResult], None] | None = None) -> SweepResult:
    """Run (or resume) a sweep into ``store``.

    ``scheduler``: None starts a Dask LocalCluster of ``workers`` processes (one thread each);
    an address uses that Dask cluster; ``"synchronous"`` runs the chunks one by one here.
    ``threads``: Numba threads per chunk (default: CPUs // workers).  ``quick``: the spec's
    ``[quick]`` axes.  ``client``: an open ``distributed.Client`` to use (one client shared by
    sweeps run from several threads; several clients in one process can miss completions).
    """
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    spec = load_sweep(spec_path, quick=quick)
    spec_file = str(spec.path)
    store = Path(store).resolve()
    if store.suffix != ".zarr":
        raise SweepError(f"store {store}: the name must end in .zarr")
    ncpu = os.cpu_count() or 1
    workers = workers or ncpu
    if workers < 1:
        raise SweepError(f"--workers must be >= 1, got {workers}")
    threads = threads or max(1, ncpu // workers)
    _check_kernel(kernel_name)
    parts = chunks_dir(store)
    plan_path = parts / PLAN_FILE
    if plan_path.exists():
        plan = SweepPlan.from_json(plan_path.read_text())
        if plan.spec_sha256 != spec.sha256:
            raise SweepError(f"{store} was made from another version of {spec_path} (spec "
                             f"sha256 {plan.spec_sha256[:12]}, now {spec.sha256[:12]}); "
                             f"delete {store} and {parts} or choose another -o")
        if points_per_chunk and points_per_chunk != plan.points_per_chunk:
            raise SweepError(f"{store} was started with {plan.points_per_chunk} points per "
                             f"chunk, not {points_per_chunk}; rerun without "
                             "--points-per-chunk or choose another -o")
        estimate_point_seconds(spec, samples=1)  # warms the Numba cache before workers start
    else:
        plan = make_plan(spec, points_per_chunk)  # warms the Numba cache as it measures
        parts.mkdir(parents=True, exist_ok=True)
        tmp = plan_path.with_suffix(".tmp")
        tmp.write_text(plan.to_json())
        os.replace(tmp, plan_path)

    if not _store_ok(store, plan):  # a new sweep, or the store was lost: start it afresh
        for old in parts.glob("chunk-*.json"):
            old.unlink()
        _write_template(spec, plan, store)
    done = np.zeros(plan.n_chunks, dtype=bool)
    for c in range(plan.n_chunks):
        done[c] = _read_marker(_chunk_paths(parts, c)[0], spec.sha256) is not None
    for junk in store.rglob("*.partial"):  # a zarr chunk write cut by kill -9
        junk.unlink(missing_ok=True)
    _mark_done(store, done)
    todo = [int(c) for c in np.flatnonzero(~done)]
    skipped = plan.n_chunks - len(todo)
    ran: list[ChunkResult] = []
    bar = tqdm(total=plan.n_points, initial=skipped and int(sum(
        len(spec.chunk_points(c, plan.points_per_chunk)) for c in np.flatnonzero(done))),
        desc=f"sweep {spec.name}", unit="pt", unit_scale=True, smoothing=0.1,
        disable=not progress, file=sys.stderr)

    def collect(res: ChunkResult) -> None:
        ran.append(res)
        if res.ok:
            done[res.chunk] = True
            _mark_done(store, done)
        bar.update(len(spec.chunk_points(res.chunk, plan.points_per_chunk)))
        bar.set_postfix_str(f"chunks {int(done.sum())}/{plan.n_chunks}"
                            + (f", {len(ran) - sum(r.ok for r in ran)} failed"
                               if not all(r.ok for r in ran) else ""))
        if on_chunk:
            on_chunk(res)

    args = (plan.points_per_chunk, str(store), threads, str(spec.notebook), kernel_name, quick)
    try:
        if not todo:
            pass
        elif scheduler == "synchronous" and client is None:
            for c in todo:
                collect(execute_chunk(spec_file, c, *args))
        else:
            from distributed import as_completed

            with dask_client(scheduler, workers, threads, client) as dask:
                futures = [dask.submit(execute_chunk, spec_file, c, *args, pure=False,
                                         key=f"swaplab-chunk-{spec.sha256[:8]}-{c}")
                           for c in todo]
                for fut in as_completed(futures):
                    try:
                        res = fut.result()
                    except Exception as exc:  # the worker died
                        c = int(fut.key.rsplit("-", 1)[1])
                        nb = _chunk_paths(parts, c)[1]
                        res = ChunkResult(c, False, str(nb), "", f"{type(exc).__name__}: {exc}")
                    collect(res)
    finally:
        bar.close()
    return SweepResult(store, plan.n_chunks, sorted(ran, key=lambda r: r.chunk), skipped,
                       time.perf_counter() - t_start, plan)


def compare_stores(a: str | Path, b: str | Path, ignore_attrs: Sequence[str] = ()) -> list[str]:
    """Differences between two stores (values bitwise, coords, attrs); empty if identical."""
    da, db = open_store(a).load(), open_store(b).load()
    diffs = []
    for k in set(da.attrs) | set(db.attrs):
        if k not in ignore_attrs and da.attrs.get(k) != db.attrs.get(k):
            diffs.append(f"attr {k}")
    for name in sorted(set(da.variables) | set(db.variables)):
        if name not in da.variables or name not in db.variables:
            diffs.append(f"variable {name} only in one store")
            continue
        x, y = da[name].values, db[name].values
        if x.dtype == object or y.dtype == object:
            same = x.shape == y.shape and x.tolist() == y.tolist()
        else:
            same = x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
        if not same:
            diffs.append(f"variable {name} differs")
    return diffs
