"""Scenario files: load, validate, hash and override.

A scenario file (TOML) is the experiment: the same file runs in the Numba model under any
policy and on a real kernel in QEMU.  This module is the single source of truth for what a
scenario may contain: the sections, their keys, the ops and their parameters.  Both the model's
workload compiler and the guest's workload encoder read the validated :class:`Scenario`.

Every problem is reported as one :class:`ScenarioError` line naming the file, the key and
what is allowed.

Semantics shared by the model and the guest interpreter:
- a process's regions are its allocs in order; ``region = "last"`` is the most recent alloc,
  ``"all"`` every region, a name the alloc with that ``name``;
- an op on pages that are already unmapped does nothing to them (``unmap`` after a
  ``race_unmap`` with ``rest = "unmap"`` is a no-op);
- ``fraction`` always selects pages from the start of the region;
- a process's exit zaps whatever it still maps; an OOM kill ends the process there and the
  scenario goes on with the next process.
"""

from __future__ import annotations

import copy
import hashlib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from swaplab.checks import BadValue, check_value, describe
from swaplab.errors import SwaplabError
from swaplab.paths import SCENARIOS

__all__ = [
    "OPS",
    "SECTIONS",
    "SETTABLE_KEYS",
    "Settable",
    "Phase",
    "Process",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "scenario_from_dict",
    "scenario_from_text",
    "standard_scenario_dir",
    "standard_scenarios",
    "mib_to_pages",
    "overridable_keys",
]

PAGE_SIZE = 4096
MIB_PAGES = (1 << 20) // PAGE_SIZE  # pages per MiB


class ScenarioError(SwaplabError, ValueError):
    """A scenario file or override is invalid; the message is one line."""


# --------------------------------------------------------------------------------------------
# Parameter specifications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One allowed key: its type, default and allowed range or choices."""

    kind: str  # "int" | "float" | "bool" | "str" | "choice" | "limit" | "region"
    default: Any = None  # None means required
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: value must be > lo (not >=)
    choices: tuple[str, ...] = ()
    doc: str = ""

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.kind == "region":
            return "'last', 'all' or the name of an earlier alloc of this process"
        if self.kind == "limit":
            return f"'max' or a number of MiB in [{self.lo:g}, {self.hi:g}]"
        return describe(self.kind, self.lo, self.hi, self.lo_open, self.choices)


def _fill(spec: Mapping[str, Param], given: Mapping[str, Any], where: Any, missing: Any
          ) -> dict[str, Any]:
    """Every key of ``spec``: the given value checked (``where(key)`` names it in an error),
    else its default; a required key that is missing raises ``missing(key, param)``."""
    out: dict[str, Any] = {}
    for key, p in spec.items():
        if key in given:
            out[key] = _check(p, given[key], where(key))
        elif p.default is None:
            raise ScenarioError(missing(key, p))
        else:
            out[key] = p.default
    return out


def _check(p: Param, value: Any, where: str) -> Any:
    """Validate one value against its Param; return the normalised value."""
    if p.kind == "limit" and value == "max":
        return "max"
    kind = {"region": "str", "limit": "number"}.get(p.kind, p.kind)
    try:
        return check_value(kind, value, p.lo, p.hi, p.lo_open, p.choices)
    except BadValue:
        raise ScenarioError(f"{where}: must be {p.allowed()}, got {value!r}") from None


# Sections of a scenario file and their keys.  Defaults match a Debian cloud guest.
SECTIONS: dict[str, dict[str, Param]] = {
    "scenario": {
        "name": Param("str", doc="short name, used in file names and plots"),
        "description": Param("str", "", doc="what the scenario shows"),
        "seed": Param("int", 1, 0, 2**31 - 1, doc="seed of the model's random stream"),
    },
    "machine": {
        "ram_mib": Param("int", 256, 64, 4096, doc="guest RAM"),
        "vcpus": Param("int", 2, 1, 4, doc="guest CPUs (2 for real munmap/toucher concurrency)"),
        "page_cluster": Param("int", 3, 0, 5, doc="/proc/sys/vm/page-cluster"),
        "vma_readahead": Param("bool", True, doc="/sys/kernel/mm/swap/vma_ra_enabled"),
        "mglru": Param("bool", False, doc="/sys/kernel/mm/lru_gen/enabled (set on every kernel)"),
        "thp": Param("bool", False, doc="transparent hugepages (false: 'never')"),
        "swappiness": Param("int", 60, 0, 200, doc="memory.swappiness / vm.swappiness"),
    },
    "swap": {
        "device": Param("choice", "disk", choices=("disk", "zram")),
        "size_mib": Param("int", 256, 1, 4096, doc="swap device size"),
        "write_mib_s": Param("float", 0.0, 0, 10000, doc="write throttle, 0 = unthrottled"),
        "read_mib_s": Param("float", 0.0, 0, 10000, doc="read throttle, 0 = unthrottled"),
    },
    "memcg": {
        "memory_max_mib": Param("limit", "max", 1, 4096, doc="memory.max"),
        "swap_max_mib": Param("limit", "max", 0, 4096, doc="memory.swap.max"),
        "swap_high_mib": Param("limit", "max", 0, 4096, doc="memory.swap.high"),
    },
}

_REGION = Param("region", "last", doc="which mapping: 'last', 'all' or an alloc's name")
_FRACTION = Param("float", 1.0, 0, 1, lo_open=True,
                  doc="fraction of the region's pages, from its start")
_PATTERN = Param("choice", "seq", choices=("seq", "random"), doc="page order")

# The ops a process may run.  Each op must exist in the model and in the guest interpreter.
OPS: dict[str, dict[str, Param]] = {
    # mmap(MAP_PRIVATE|MAP_ANONYMOUS) + MADV_NOHUGEPAGE + write every page
    "alloc": {"mib": Param("float", None, 0, 4096, lo_open=True), "name": Param("str", "")},
    # write-fault pages in (dirties them; a swapped page is swapped in)
    "touch": {"region": _REGION, "fraction": _FRACTION, "pattern": _PATTERN},
    # read-fault pages in and check their contents (swapped pages stay in the swap cache)
    "readback": {"region": _REGION, "fraction": _FRACTION, "pattern": _PATTERN},
    # madvise(MADV_PAGEOUT): reclaim the pages now (swap-out, writeback queued)
    "pageout": {"region": _REGION, "fraction": _FRACTION},
    # munmap a fraction of the region from its start (zap: free_swap_and_cache per entry)
    "unmap": {"region": _REGION, "fraction": _FRACTION},
    # munmap even chunks while a second thread reads the odd chunks ("probe": the middle
    # page of each, until the munmap is done; "sequential": every page in order, the munmap
    # of chunk c waiting until chunk c - 1 is read, so readahead into c is in flight); then
    # munmap the rest ("unmap") or keep the odd chunks mapped ("keep")
    "race_unmap": {
        "region": _REGION,
        "chunk_kib": Param("int", 16, 4, 4096),
        "rest": Param("choice", "unmap", choices=("unmap", "keep")),
        "reader": Param("choice", "probe", choices=("probe", "sequential")),
    },
    # fork children that read (share) the region's pages, then exit
    "fork_touch": {
        "region": _REGION,
        "children": Param("int", 2, 1, 16),
        "fraction": _FRACTION,
    },
    # idle
    "sleep": {"seconds": Param("float", None, 0, 600)},
    # change limits between steps: keys are dotted names from SETTABLE_KEYS
    "set": {},
    # run nested phases N times
    "repeat": {"times": Param("int", None, 1, 100000)},
}



@dataclass(frozen=True)
class Settable:
    """A limit an op="set" phase may change: the section Param that validates it and the
    cgroup v2 file the guest writes.  The model's engine code is ``SET_<KEY>`` for the key's
    name without ``_mib`` (``memcg.swap_max_mib`` -> ``engine.SET_SWAP_MAX``)."""

    param: Param
    cgroup_file: str


# Keys an op="set" phase may change: the one table the model and the guest encoder read.
SETTABLE_KEYS: dict[str, Settable] = {
    "memcg.memory_max_mib": Settable(SECTIONS["memcg"]["memory_max_mib"], "memory.max"),
    "memcg.swap_max_mib": Settable(SECTIONS["memcg"]["swap_max_mib"], "memory.swap.max"),
    "memcg.swap_high_mib": Settable(SECTIONS["memcg"]["swap_high_mib"], "memory.swap.high"),
}

MAX_EXPANDED_OPS = 1_000_000  # bound on ops after expanding repeats


# --------------------------------------------------------------------------------------------
# Validated scenario objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One op with its validated parameters (defaults filled in).

    ``phases`` holds the nested phases of a ``repeat``; ``params`` of a ``set`` maps
    dotted keys (``memcg.swap_max_mib``) to new values.
    """

    op: str
    params: Mapping[str, Any]
    phases: tuple[Phase, ...] = ()

    def expand(self) -> Iterator[Phase]:
        """Yield the leaf phases in execution order (repeats unrolled)."""
        if self.op == "repeat":
            for _ in range(self.params["times"]):
                for sub in self.phases:
                    yield from sub.expand()
        else:
            yield self

    def n_expanded(self) -> int:
        """Number of leaf ops this phase runs."""
        if self.op == "repeat":
            return self.params["times"] * sum(p.n_expanded() for p in self.phases)
        return 1


@dataclass(frozen=True)
class Process:
    """A process run in the memcg; its exit zaps whatever it still maps."""

    name: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.  ``settings`` holds every section with defaults filled in."""

    name: str
    description: str
    seed: int
    settings: Mapping[str, Mapping[str, Any]]
    processes: tuple[Process, ...]
    toml_text: str
    source: str = "<text>"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """Hash of the scenario text (the provenance key)."""
        return hashlib.sha256(self.toml_text.encode()).hexdigest()

    @property
    def machine(self) -> Mapping[str, Any]:
        return self.settings["machine"]

    @property
    def swap(self) -> Mapping[str, Any]:
        return self.settings["swap"]

    @property
    def memcg(self) -> Mapping[str, Any]:
        return self.settings["memcg"]

    def get(self, dotted: str) -> Any:
        """Value of a dotted key such as ``swap.size_mib``."""
        section, _, key = dotted.partition(".")
        if section not in self.settings or key not in self.settings[section]:
            raise ScenarioError(f"{self.source}: unknown key {dotted!r}; allowed: "
                                + ", ".join(overridable_keys()))
        return self.settings[section][key]

    def phase_labels(self) -> list[str]:
        """Labels of the end-of-phase snapshots: each top-level phase, then the process exit.

        ``"<process>:<index>:<op>"`` for phases and ``"<process>:exit"`` for the exit.  The
        model and the guest both snapshot at exactly these boundaries, in this order.
        """
        labels = []
        for proc in self.processes:
            labels += [f"{proc.name}:{i}:{ph.op}" for i, ph in enumerate(proc.phases)]
            labels.append(f"{proc.name}:exit")
        return labels

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new scenario with dotted keys replaced (``{"swap.size_mib": 32}``), re-validated."""
        raw = copy.deepcopy(dict(self.raw))
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if section not in SECTIONS or key not in SECTIONS[section]:
                raise ScenarioError(f"override {dotted!r}: unknown scenario key; allowed: "
                                    + ", ".join(overridable_keys()))
            raw.setdefault(section, {})[key] = value
        return scenario_from_dict(raw, source=f"{self.source} (overridden)")

    def n_ops(self) -> int:
        """Number of leaf ops after unrolling repeats."""
        return sum(ph.n_expanded() for proc in self.processes for ph in proc.phases)


def overridable_keys() -> list[str]:
    """Every dotted scenario key a sweep or override may set."""
    return [f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys if s != "scenario"] + [
        "scenario.seed"
    ]


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _section(raw: Mapping[str, Any], name: str, src: str) -> dict[str, Any]:
    spec = SECTIONS[name]
    given = raw.get(name, {})
    if not isinstance(given, dict):
        raise ScenarioError(f"{src}: [{name}] must be a table")
    for key in given:
        if key not in spec:
            raise ScenarioError(f"{src}: unknown key '{name}.{key}'; allowed: "
                                + ", ".join(spec))
    return _fill(spec, given, lambda key: f"{src}: '{name}.{key}'",
                 lambda key, p: f"{src}: missing required key '{name}.{key}' ({p.allowed()})")


@dataclass
class _ProcessContext:
    """What parsing a process has seen so far: alloc names, and whether anything was allocated."""

    regions: list[str] = field(default_factory=list)
    allocated: bool = False


def _phase(raw: Any, where: str, src: str, ctx: _ProcessContext, depth: int) -> Phase:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{src}: '{where}' must be a table with an 'op' key")
    op = raw.get("op")
    if op not in OPS:
        raise ScenarioError(f"{src}: '{where}.op': unknown op {op!r}; allowed: "
                            + ", ".join(OPS))
    if op == "set":
        params = {}
        for key, value in raw.items():
            if key == "op":
                continue
            if key not in SETTABLE_KEYS:
                raise ScenarioError(f"{src}: '{where}': op 'set' cannot change {key!r}; "
                                    "allowed: " + ", ".join(SETTABLE_KEYS))
            params[key] = _check(SETTABLE_KEYS[key].param, value, f"{src}: '{where}.{key}'")
        if not params:
            raise ScenarioError(f"{src}: '{where}': op 'set' needs at least one of "
                                + ", ".join(SETTABLE_KEYS))
        return Phase("set", params)
    spec = OPS[op]
    extra = {"op"} | ({"phases"} if op == "repeat" else set())
    for key in raw:
        if key not in spec and key not in extra:
            allowed = ", ".join(sorted(set(spec) | extra - {"op"})) or "(none)"
            raise ScenarioError(f"{src}: '{where}': unknown key {key!r} for op '{op}'; "
                                f"allowed: {allowed}")
    params = _fill(spec, raw, lambda key: f"{src}: '{where}.{key}'",
                   lambda key, p: f"{src}: '{where}': op '{op}' needs '{key}' ({p.allowed()})")
    region = params.get("region", "last")
    if region not in ("last", "all") and region not in ctx.regions:
        raise ScenarioError(f"{src}: '{where}.region': no earlier alloc named {region!r} in "
                            "this process; allowed: 'last', 'all'"
                            + "".join(f", {r!r}" for r in ctx.regions))
    if op == "alloc":
        if params["name"] in ("last", "all"):
            raise ScenarioError(f"{src}: '{where}.name': 'last' and 'all' are reserved")
        if params["name"]:
            ctx.regions.append(params["name"])
        ctx.allocated = True
    if op != "alloc" and "region" in params and not ctx.allocated:
        raise ScenarioError(f"{src}: '{where}': op '{op}' before any alloc in this process")
    if op == "repeat":
        subs = raw.get("phases")
        if not isinstance(subs, list) or not subs:
            raise ScenarioError(f"{src}: '{where}.phases': op 'repeat' needs a non-empty "
                                "list of phase tables")
        if depth > 8:
            raise ScenarioError(f"{src}: '{where}': repeats nested deeper than 8")
        nested = tuple(
            _phase(s, f"{where}.phases[{i}]", src, ctx, depth + 1) for i, s in enumerate(subs)
        )
        return Phase("repeat", params, nested)
    return Phase(op, params)


def scenario_from_dict(raw: Mapping[str, Any], source: str = "<dict>",
                       text: str | None = None) -> Scenario:
    """Validate a parsed scenario mapping; ``text`` is the original file text if any."""
    src = source
    allowed_top = set(SECTIONS) | {"process", "phase"}
    for key in raw:
        if key not in allowed_top:
            raise ScenarioError(f"{src}: unknown section {key!r}; allowed: "
                                + ", ".join(sorted(allowed_top)))
    settings = {name: _section(raw, name, src) for name in SECTIONS}
    if "process" in raw and "phase" in raw:
        raise ScenarioError(f"{src}: use either [[process]] tables or top-level [[phase]], "
                            "not both")
    if "phase" in raw:
        procs_raw = [{"name": settings["scenario"]["name"], "phase": raw["phase"]}]
    elif "process" in raw:
        procs_raw = raw["process"]
        if not isinstance(procs_raw, list) or not procs_raw:
            raise ScenarioError(f"{src}: 'process' must be a non-empty array of tables")
    else:
        raise ScenarioError(f"{src}: no [[process]] or [[phase]] tables: nothing to run")
    processes = []
    names = set()
    for i, pr in enumerate(procs_raw):
        where = f"process[{i}]"
        if not isinstance(pr, dict):
            raise ScenarioError(f"{src}: '{where}' must be a table")
        for key in pr:
            if key not in ("name", "phase"):
                raise ScenarioError(f"{src}: '{where}': unknown key {key!r}; allowed: "
                                    "name, phase")
        name = pr.get("name", f"p{i}")
        if not isinstance(name, str) or not name or ":" in name:
            raise ScenarioError(f"{src}: '{where}.name': must be a non-empty string "
                                f"without ':', got {name!r}")
        if name in names:
            raise ScenarioError(f"{src}: '{where}.name': duplicate process name {name!r}")
        names.add(name)
        phases_raw = pr.get("phase")
        if not isinstance(phases_raw, list) or not phases_raw:
            raise ScenarioError(f"{src}: '{where}': needs at least one [[process.phase]]")
        ctx = _ProcessContext()
        phases = tuple(
            _phase(ph, f"{where}.phase[{j}]", src, ctx, 0) for j, ph in enumerate(phases_raw)
        )
        processes.append(Process(name, phases))
    meta = settings["scenario"]
    scn = Scenario(
        name=meta["name"],
        description=meta["description"],
        seed=meta["seed"],
        settings=settings,
        processes=tuple(processes),
        toml_text=text if text is not None else tomli_w.dumps(dict(raw)),
        source=source,
        raw=copy.deepcopy(dict(raw)),
    )
    if scn.n_ops() > MAX_EXPANDED_OPS:
        raise ScenarioError(f"{src}: {scn.n_ops()} ops after expanding repeats; at most "
                            f"{MAX_EXPANDED_OPS} allowed")
    return scn


def scenario_from_text(text: str, source: str = "<text>") -> Scenario:
    """Parse and validate scenario TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return scenario_from_dict(raw, source=source, text=text)


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file, or a standard scenario by name (``"full-swap-oom"``)."""
    p = Path(path)
    if not p.exists() and p.suffix != ".toml" and "/" not in str(path):
        p = standard_scenario_dir() / f"{path}.toml"
    if not p.exists():
        names = ", ".join(standard_scenarios()) or "(none found)"
        raise ScenarioError(f"{path}: no such scenario file; standard scenarios: {names}")
    return scenario_from_text(p.read_text(), source=str(path))


def standard_scenario_dir() -> Path:
    """The folder of the shipped standard scenarios (``data/scenarios``)."""
    return SCENARIOS


def standard_scenarios() -> list[str]:
    """Names of the shipped standard scenarios."""
    d = standard_scenario_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def mib_to_pages(mib: float) -> int:
    """MiB to 4 KiB pages (rounded down, at least 1 for a positive size)."""
    return max(1, int(mib * MIB_PAGES)) if mib > 0 else 0
