"""Parse one raw guest run into the swaplab schema (one repeat; ``capture`` stacks repeats).

Inputs (see kernels/guest): ``out/samples.txt`` (sampler lines), ``out/snapshots.txt``
(``P<index>`` phase-end lines, ``START``/``PROC``/``EXIT``/``DONE`` records), ``out/knobs.txt``,
``out/kprobes.txt``, ``trace.txt`` (ftrace text stream) and ``run.json``.  Nothing from the guest
is trusted: every line is checked (format, bounds, monotonic time) and a bad one raises
:class:`~swaplab.capture.kernels.CaptureError` naming the file and line.

Time series are put on a regular grid (the sampler interval): each grid value is the last
sample at or before that time; after the run's last sample values are NaN.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from swaplab.capture.guest import guest_name
from swaplab.capture.kernels import CaptureError
from swaplab.scenario import Scenario

__all__ = ["parse_run", "parse_sample_line", "parse_trace", "ORPHANS_METHOD", "TIME_GRID"]

PAGE = 4096
MAX_VALUE = 1 << 52  # no counter in a 4 GiB guest comes near this
ORPHANS_METHOD = (
    "memcg: memory.stat swapcached minus the swap-cache pages the cgroup's processes still "
    "reference: mapped (pagemap + /proc/kpageflags KPF_SWAPCACHE) or behind a swap pte (the "
    "process's own mincore at each phase-end snapshot).  Snapshots are exact; time-series values "
    "are exact while no process holds swap ptes and NaN otherwise (swap_orphans_upper gives the "
    "bound); swap_orphans_kprobe: per-slot reconstruction from the kprobe stream when traced")
TIME_GRID = ("regular grid at the sampler interval from workload start; each value is the last "
             "sample at or before the grid time; NaN after a repeat's last sample")

# schema variable -> (sample key, scale).  vm.* counters are made relative to workload start.
_GAUGES = {
    "swap_total": ("mi.SwapTotal", 1 / 4),
    "swap_cached": ("mi.SwapCached", 1 / 4),
    "memcg_current": ("cg.current", 1 / PAGE),
    "memcg_swap_current": ("cg.swap.current", 1 / PAGE),
    "memcg_anon": ("cg.stat.anon", 1 / PAGE),
    "memcg_swapcached": ("cg.stat.swapcached", 1 / PAGE),
    "swapcache_mapped": ("pm.swapcache_mapped", 1.0),
    "nr_writeback": ("vm.nr_writeback", 1.0),
}
_COUNTERS = {
    "pswpin": "vm.pswpin",
    "pswpout": "vm.pswpout",
    "swap_ra": "vm.swap_ra",
    "swap_ra_hit": "vm.swap_ra_hit",
    "pgmajfault": "vm.pgmajfault",
    "oom_kill": "vm.oom_kill",
    "memcg_max_events": "cg.ev.max",
    "memcg_oom": "cg.ev.oom",
    "memcg_oom_kill": "cg.ev.oom_kill",
    "pgscan_anon": "vm.pgscan_anon",
    "pgsteal_anon": "vm.pgsteal_anon",
}
# kernel-only variables (not in swaplab.schema.VARIABLES): units and meaning
KERNEL_EXTRA = {
    "swapcache_mapped": ("pages", "swap-cache pages mapped by the cgroup's processes"),
    "swap_orphans_upper": ("pages", "memcg swapcached minus swap-cache pages mapped by the "
                           "cgroup's processes (= swap_orphans when no swap pte refers to "
                           "cached pages; an upper bound otherwise)"),
    "nr_writeback": ("pages", "pages under writeback (vmstat nr_writeback)"),
    "pgscan_anon": ("pages", "anon pages scanned by reclaim (vmstat pgscan_anon)"),
    "pgsteal_anon": ("pages", "anon pages reclaimed (vmstat pgsteal_anon)"),
    "swap_orphans_kprobe": ("pages", "orphans reconstructed per slot from the kprobe stream: "
                            "slots whose zap-time __try_to_reclaim_swap failed and that "
                            "swap_range_free has not freed yet (a lower bound)"),
}

_KV = re.compile(r"^[A-Za-z0-9_.]+=(?:\d+|max|nan|[-+0-9.eE]+)$")


@dataclass
class Sample:
    """One sampler/snapshot line: its kind (S, P<i>), time and values."""

    kind: str
    t: float
    values: dict[str, float] = field(default_factory=dict)


def parse_sample_line(line: str, where: str) -> Sample:
    """Parse ``<kind> <t> k=v ... #``; raise CaptureError naming ``where`` if malformed."""
    parts = line.rstrip("\n").split(" ")
    if len(parts) < 3 or parts[-1] != "#":
        raise CaptureError(f"{where}: malformed or truncated sample line (no trailing '#')")
    kind = parts[0]
    if not re.fullmatch(r"S|P-?\d+", kind):
        raise CaptureError(f"{where}: unknown sample kind {kind!r}")
    try:
        t = float(parts[1])
    except ValueError:
        raise CaptureError(f"{where}: bad time {parts[1]!r}") from None
    if not (0 <= t < 1e7):
        raise CaptureError(f"{where}: time {t} out of bounds")
    values: dict[str, float] = {}
    for tok in parts[2:-1]:
        if not _KV.match(tok):
            raise CaptureError(f"{where}: malformed field {tok[:40]!r}")
        k, _, v = tok.partition("=")
        if v == "max":
            val = math.inf
        else:
            try:
                val = float(v)
            except ValueError:
                raise CaptureError(f"{where}: bad value in {tok[:40]!r}") from None
            if not k.startswith("x") and not (0 <= val < MAX_VALUE):
                raise CaptureError(f"{where}: value out of bounds in {tok[:40]!r}")
        values[k] = val
    return Sample(kind, t, values)


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        raise CaptureError(f"{path}: missing")
    data = path.read_bytes()
    if b"\0" in data:
        raise CaptureError(f"{path}: contains NUL bytes (corrupted)")
    return data.decode("utf-8", errors="strict").splitlines()


@dataclass
class Snapshots:
    start: float
    done: float
    phases: dict[int, Sample]
    baseline: Sample
    exits: list[dict[str, Any]]


def _parse_snapshots(path: Path, n_phases: int) -> Snapshots:
    start = done = None
    phases: dict[int, Sample] = {}
    baseline = None
    exits = []
    for no, line in enumerate(_read_lines(path), 1):
        where = f"{path.name}:{no}"
        head = line.split(" ", 1)[0]
        if head in ("START", "DONE"):
            try:
                t = float(line.split()[1])
            except (IndexError, ValueError):
                raise CaptureError(f"{where}: malformed {head} line") from None
            if head == "START":
                start = t
            else:
                done = t
        elif head == "PROC":
            continue
        elif head == "EXIT":
            m = re.fullmatch(r"EXIT ([0-9.]+) (\S+) status=(-?\d+) signal=(\d+) oom_kill=(-?\d+)",
                             line)
            if not m:
                raise CaptureError(f"{where}: malformed EXIT line")
            exits.append({"t": float(m[1]), "name": m[2], "status": int(m[3]),
                          "signal": int(m[4]), "oom_kill": int(m[5])})
        else:
            s = parse_sample_line(line, where)
            idx = int(s.kind[1:])
            if idx == -1:
                baseline = s
            elif 0 <= idx < n_phases:
                if idx in phases:
                    raise CaptureError(f"{where}: snapshot {idx} appears twice")
                phases[idx] = s
            else:
                raise CaptureError(f"{where}: snapshot index {idx} outside 0..{n_phases - 1}")
    if start is None or baseline is None:
        raise CaptureError(f"{path}: no START/baseline record (workload never started)")
    if done is None:
        raise CaptureError(f"{path}: no DONE record (workload did not finish)")
    return Snapshots(start, done, phases, baseline, exits)


def _derive(values: dict[str, float], base: dict[str, float],
            extra_names: dict[str, str]) -> dict[str, float]:
    """Schema variables (pages) from one sample's raw values."""
    out: dict[str, float] = {}
    for var, (key, scale) in _GAUGES.items():
        out[var] = values[key] * scale if key in values else math.nan
    if "mi.SwapTotal" in values and "mi.SwapFree" in values:
        out["swap_used"] = (values["mi.SwapTotal"] - values["mi.SwapFree"]) / 4
    else:
        out["swap_used"] = math.nan
    for var, key in _COUNTERS.items():
        out[var] = values[key] - base.get(key, 0.0) if key in values else math.nan
    # orphans = memcg swap cache not referenced by the cgroup's processes: neither mapped
    # (present pte) nor behind a swap pte.  Snapshots know both terms; periodic samples know
    # only the first, so they are exact only while no process holds swap ptes.
    mapped = values.get("pm.swapcache_mapped")
    sc = values.get("cg.stat.swapcached")
    upper = max(0.0, sc / PAGE - mapped) if mapped is not None and sc is not None else math.nan
    out["swap_orphans_upper"] = upper
    if "pm.swapref_cached" in values:
        out["swap_orphans"] = max(0.0, upper - values["pm.swapref_cached"])
    elif values.get("pm.swap_ptes") == 0:
        out["swap_orphans"] = upper
    else:
        out["swap_orphans"] = math.nan
    for key, val in values.items():
        if key.startswith("x") and key[1:].isdigit():
            out[extra_names.get(key, f"extra_{key[1:]}")] = val
    return out


# --------------------------------------------------------------------------------------------
# the ftrace stream
# --------------------------------------------------------------------------------------------

_TRACE_RE = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([0-9.]+): (\w+): (.*)$")
_ARG_RE = re.compile(r"(\w+)=(0x[0-9a-f]+|-?\d+)")


@dataclass
class TraceSummary:
    """What the ftrace stream says: event counts, markers, per-slot orphans over time."""

    counts: Counter
    markers: list[tuple[float, str]]
    orphan_times: np.ndarray  # times at which the reconstructed orphan count changed
    orphan_counts: np.ndarray
    reconstructed: bool
    lines: int


def parse_trace(path: Path, reconstruct: bool) -> TraceSummary:
    """Count events, collect swaplab markers and (6.1/6.12 kprobes) rebuild orphans per slot.

    Orphans per slot: ``__try_to_reclaim_swap`` called from the zap path
    (``free_swap_and_cache``, 6.1 mm/swapfile.c: swap count fell to SWAP_HAS_CACHE) that returns
    <= 0 leaves the slot cache-only; ``swap_range_free`` (6.1 mm/swapfile.c; in 6.12
    ``swap_entry_range_free``, which inlines it) or a later successful
    ``__try_to_reclaim_swap`` on the slot ends it.  Swap type 0: the entry value is the offset.
    """
    counts: Counter = Counter()
    markers: list[tuple[float, str]] = []
    pending: dict[int, int] = {}  # pid -> slot offset of the open __try_to_reclaim_swap
    orphans: set[int] = set()
    times: list[float] = []
    values: list[int] = []
    n = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for raw in f:
            n += 1
            if raw.startswith(b"#"):
                continue
            try:
                line = raw.decode()
            except UnicodeDecodeError:
                raise CaptureError(f"{path.name}:{n}: not UTF-8 (corrupted trace)") from None
            m = _TRACE_RE.match(line)
            if not m:
                if line.strip():
                    raise CaptureError(f"{path.name}:{n}: malformed trace line "
                                       f"{line.strip()[:60]!r}")
                continue
            pid, t, event, rest = int(m[2]), float(m[4]), m[5], m[6]
            if event == "tracing_mark_write":
                if rest.startswith("swaplab "):
                    markers.append((t, rest[8:].strip()))
                continue
            counts[event] += 1
            if not reconstruct:
                continue
            if event == "ttrs":
                args = dict(_ARG_RE.findall(rest))
                if "(free_swap_and_cache" in rest or "off" in args:
                    pending[pid] = int(args.get("off", "-1"), 0)
            elif event == "ttrs_ret":
                args = dict(_ARG_RE.findall(rest))
                off = pending.pop(pid, None)
                ret = int(args.get("ret", "0"), 0)
                counts[f"ttrs_ret={ret}"] += 1
                if off is None or off < 0:
                    continue
                from_zap = "<- __try_to_reclaim_swap" in rest and "free_swap_and_cache" in rest
                before = len(orphans)
                if ret > 0:
                    orphans.discard(off)
                elif from_zap:
                    orphans.add(off)
                if len(orphans) != before:
                    times.append(t)
                    values.append(len(orphans))
            elif event in ("srf", "serf"):
                args = dict(_ARG_RE.findall(rest))
                off, cnt = int(args.get("off", "0"), 0), int(args.get("n", "1"), 0)
                if not (0 <= cnt <= 1 << 20):
                    raise CaptureError(f"{path.name}:{n}: swap_range_free n={cnt} out of bounds")
                before = len(orphans)
                for o in range(off, off + cnt):
                    orphans.discard(o)
                if len(orphans) != before:
                    times.append(t)
                    values.append(len(orphans))
    return TraceSummary(counts, markers, np.asarray(times), np.asarray(values), reconstruct, n)


def _kprobe_status(out: Path) -> tuple[list[str], list[str]]:
    ok, missing = [], []
    p = out / "kprobes.txt"
    if p.exists():
        for line in _read_lines(p):
            status, _, spec = line.partition(" ")
            ev = spec.split(" ", 2)
            name = ev[0].split("/")[-1] + "@" + (ev[1] if len(ev) > 1 else "?")
            (ok if status == "OK" else missing).append(name)
    return ok, missing


def _knobs(out: Path) -> dict[str, str]:
    knobs = {}
    for line in _read_lines(out / "knobs.txt"):
        k, sep, v = line.partition("=")
        if not sep or not re.fullmatch(r"[a-z_]+", k):
            raise CaptureError(f"knobs.txt: malformed line {line[:60]!r}")
        knobs[k] = v
    return knobs


# --------------------------------------------------------------------------------------------
# one run -> Dataset
# --------------------------------------------------------------------------------------------


def parse_run(run_dir: Path, scn: Scenario) -> xr.Dataset:
    """A one-repeat Dataset (dims time, phase, process) from a raw run folder."""
    run_dir = Path(run_dir)
    out = run_dir / "out"
    meta = json.loads((run_dir / "run.json").read_text())
    labels = scn.phase_labels()
    snaps = _parse_snapshots(out / "snapshots.txt", len(labels))
    base = snaps.baseline.values
    extra = _read_lines(out / "extra.list") if (out / "extra.list").exists() else []
    extra_names = {f"x{i}": _extra_name(p) for i, p in enumerate(extra)}
    dt = meta["sample_ms"] / 1000.0

    samples: list[Sample] = []
    last_t = -1.0
    ended = False
    for no, line in enumerate(_read_lines(out / "samples.txt"), 1):
        if line.startswith("END "):
            ended = True
            continue
        s = parse_sample_line(line, f"samples.txt:{no}")
        if s.kind != "S":
            raise CaptureError(f"samples.txt:{no}: unexpected kind {s.kind!r}")
        if s.t < last_t:
            raise CaptureError(f"samples.txt:{no}: time goes backwards ({s.t} < {last_t})")
        last_t = s.t
        samples.append(s)
    if not ended:
        raise CaptureError(f"{run_dir.name}/out/samples.txt: truncated (no END line)")
    # the baseline snapshot (taken just before START) is the state at time 0
    samples = [Sample("S", snaps.start, snaps.baseline.values)] + [
        s for s in samples if s.t > snaps.start]
    if not samples:
        raise CaptureError(f"{run_dir.name}: no samples during the workload")

    rows = [_derive(s.values, base, extra_names) for s in samples]
    names = sorted({k for r in rows for k in r})
    t_rel = np.array([s.t - snaps.start for s in samples])
    n_grid = int(math.floor(t_rel[-1] / dt + 1e-9)) + 1
    k = np.arange(n_grid)
    grid = k * meta["sample_ms"] / 1000.0
    pos = np.searchsorted(t_rel, grid + 1e-9, side="right") - 1
    data_vars: dict[str, Any] = {}
    for name in names:
        col = np.array([r.get(name, math.nan) for r in rows])
        series = np.where(pos >= 0, col[np.clip(pos, 0, None)], math.nan)
        data_vars[name] = ("time", series)

    # phase-end snapshots (NaN for phases a killed process never reached)
    snap_rows = {i: _derive(s.values, base, extra_names) for i, s in snaps.phases.items()}
    for name in names:
        arr = np.full(len(labels), math.nan)
        for i, r in snap_rows.items():
            arr[i] = r.get(name, math.nan)
        data_vars[f"{name}_end"] = ("phase", arr)
    end_t = np.full(len(labels), math.nan)
    for i, s in snaps.phases.items():
        end_t[i] = s.t - snaps.start
    data_vars["phase_end_time"] = ("phase", end_t)

    # processes: exit status, signal, OOM kill
    procs = [guest_name(p.name) for p in scn.processes]
    if [e["name"] for e in snaps.exits] != procs:
        raise CaptureError(f"{run_dir.name}: process exits {[e['name'] for e in snaps.exits]} "
                           f"do not match the scenario's processes {procs}")
    data_vars["process_exit_signal"] = ("process", np.array([e["signal"] for e in snaps.exits]))
    data_vars["process_oom_killed"] = (
        "process", np.array([int(e["signal"] == 9 and e["oom_kill"] > 0) for e in snaps.exits]))
    data_vars["process_end_time"] = ("process",
                                     np.array([e["t"] - snaps.start for e in snaps.exits]))

    attrs: dict[str, Any] = {}
    trace_mode = meta["trace"]
    if trace_mode != "none":
        trace = run_dir / "trace.txt"
        if not trace.exists() and trace.with_suffix(".txt.gz").exists():
            trace = trace.with_suffix(".txt.gz")
        ok, missing = _kprobe_status(out)
        can = trace_mode == "kprobes" and "ttrs@__try_to_reclaim_swap" in ok and (
            "srf@swap_range_free" in ok or "serf@swap_entry_range_free" in ok)
        summ = parse_trace(trace, reconstruct=can)
        if not summ.markers or summ.markers[-1][1] != "done":
            raise CaptureError(f"{run_dir.name}/trace.txt: truncated trace (no final 'swaplab "
                               f"done' marker after {summ.lines} lines)")
        dropped = _trace_dropped(out)
        attrs["trace_dropped_events"] = dropped
        attrs["trace_event_counts"] = json.dumps(dict(sorted(summ.counts.items())))
        attrs["kprobes_ok"] = " ".join(ok)
        attrs["kprobes_missing"] = " ".join(missing)
        if can and dropped == 0:
            abs_grid = grid + snaps.start
            idx = np.searchsorted(summ.orphan_times, abs_grid, side="right") - 1
            ser = np.where(idx >= 0, summ.orphan_counts[np.clip(idx, 0, None)]
                           if summ.orphan_counts.size else 0, 0).astype(float)
            ser[pos < 0] = math.nan
            data_vars["swap_orphans_kprobe"] = ("time", ser)
            snap_o = np.full(len(labels), math.nan)
            for i, s in snaps.phases.items():
                j = np.searchsorted(summ.orphan_times, s.t, side="right") - 1
                snap_o[i] = summ.orphan_counts[j] if j >= 0 else 0
            data_vars["swap_orphans_kprobe_end"] = ("phase", snap_o)
            attrs["swap_orphans_kprobe"] = "reconstructed"
        else:
            attrs["swap_orphans_kprobe"] = (
                "not reconstructed: " + ("events dropped" if dropped else
                                         "needs __try_to_reclaim_swap and swap_range_free "
                                         "(6.1) or swap_entry_range_free (6.12) kprobes"))
    ds = xr.Dataset(
        data_vars,
        coords={"time": grid, "phase": np.arange(len(labels)),
                "phase_name": ("phase", labels), "process": np.arange(len(procs)),
                "process_name": ("process", procs)},
        attrs=attrs,
    )
    ds.attrs["guest_knobs_json"] = json.dumps(_knobs(out), sort_keys=True)
    ds.attrs["wall_s"] = float(meta["wall_s"])
    for key in ("host_load_start", "host_load_end"):
        ds.attrs[key] = float(meta.get(key, np.nan))
    ds.attrs["workload_s"] = round(snaps.done - snaps.start, 6)
    ds.attrs["extra_files"] = json.dumps({extra_names[f"x{i}"]: p for i, p in enumerate(extra)})
    return ds


def _extra_name(path: str) -> str:
    """Variable name of an extra counter file: ``extra_<module>_<file>`` (sanitised)."""
    parts = [p for p in path.split("/") if p and p != "parameters"][-2:]
    return "extra_" + re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _trace_dropped(out: Path) -> int:
    p = out / "trace_stats.txt"
    if not p.exists():
        return -1
    total = 0
    for line in _read_lines(p):
        m = re.match(r"(overrun|dropped events): (\d+)", line)
        if m:
            total += int(m[2])
    return total
