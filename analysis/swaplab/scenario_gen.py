"""Random scenarios for validation: every op, both swap devices, memcg limits from none to tight.

``generate(n, seed)`` returns ``n`` validated scenarios; scenario ``i`` depends only on
``(seed, i)`` (a NumPy ``SeedSequence([seed, i])``), so the same seed gives the same files and a
larger ``n`` extends a corpus without changing its first scenarios.  Each scenario is sized to
run on the TCG guest in well under a minute: :func:`guest_seconds_bound` is a conservative
bound on its guest time (fixed boot cost + CPU per page + I/O at the throttled bandwidth), and a
draw over :data:`GUEST_BUDGET_S` is drawn again.

Two families.  ``gen`` (``gen<seed>-<i>``): scenario ``i`` is built around a *focus op*,
``FOCUS_OPS[i % len(FOCUS_OPS)]``, which it is guaranteed to contain, so any
``n >= len(FOCUS_OPS)`` covers every op and both readers of ``race_unmap``.  ``oom``
(``oom<seed>-<i>``): a memcg is filled past what it can hold, ``memory.max`` + the swap it may
use, by a factor from 0.75 to 1.5, after an op that may leave orphaned swap cache in that swap
(``race_unmap``, ``pageout`` + ``unmap``, a ``repeat`` of both, or nothing): whether the
kernel OOM-kills decides the outcome, so these give ``oom_rate_agreement`` something to test.
In both, every fourth scenario swaps to zram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from swaplab.scenario import OPS, SETTABLE_KEYS, Scenario, scenario_from_text

__all__ = ["FAMILIES", "FOCUS_OPS", "GUEST_BUDGET_S", "generate", "generate_one",
           "guest_seconds_bound", "write_scenarios"]

# Focus of scenario i: every op of scenario.OPS, plus the variants a validation corpus needs.
FOCUS_OPS: tuple[str, ...] = (
    "race_unmap:sequential", "fork_touch", "touch:random", "readback:random", "set",
    "repeat", "race_unmap:probe", "unmap", "pageout", "sleep", "touch:seq", "readback:seq",
)
assert {f.split(":")[0] for f in FOCUS_OPS} | {"alloc"} == set(OPS)

FAMILIES: tuple[str, ...] = ("gen", "oom")  # scenario families (name prefixes)
OOM_FACTORS = (0.75, 0.9, 1.0, 1.1, 1.25, 1.5)  # oom family: allocation / what the memcg holds
OOM_ORPHAN_MAKERS = ("race_unmap", "pageout_unmap", "repeat", "none")

GUEST_BUDGET_S = 20.0  # bound on guest time per scenario (the guest limit is 60 s)
BOOT_S = 6.0  # QEMU start, boot, module load, mkswap (TCG)
CPU_S_PER_MIB = 0.06  # first-touch faults + pageout CPU per MiB, TCG (calibrated ~55+117 us/page)
UNTHROTTLED_WRITE_MIB_S = 40.0  # virtio disk under TCG without a throttle (conservative)
UNTHROTTLED_READ_MIB_S = 16.0  # swap-in reads under TCG (calibrated fast_read_mib_s ~16.5)
ZRAM_MIB_S = 40.0  # compress/decompress under TCG (conservative)


@dataclass
class _Proc:
    """What the generator knows about a process while it draws its phases."""

    regions: dict[str, float] = field(default_factory=dict)  # alloc name -> MiB
    last: str = ""
    live_mib: float = 0.0
    phases: list[dict[str, Any]] = field(default_factory=list)


class _Draw:
    """One scenario's draws from its own stream."""

    def __init__(self, seed: int, index: int):
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, index]))

    def pick(self, options: list[Any] | tuple[Any, ...], p: list[float] | None = None) -> Any:
        return options[int(self.rng.choice(len(options), p=p))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def frac(self) -> float:
        return self.pick([0.25, 0.5, 0.75, 1.0])


def _settings(d: _Draw, zram: bool) -> dict[str, dict[str, Any]]:
    ram = d.pick([256, 256, 384])
    machine = {"ram_mib": ram, "vcpus": d.pick([2, 2, 2, 1]),
               "page_cluster": d.pick([0, 1, 2, 3, 3, 3, 4, 5]),
               "vma_readahead": d.chance(0.8)}
    if zram:
        swap: dict[str, Any] = {"device": "zram", "size_mib": d.pick([32, 48, 64, 96])}
    else:
        swap = {"device": "disk", "size_mib": d.pick([32, 48, 64, 96, 128, 256]),
                "write_mib_s": float(d.pick([0, 8, 16, 16, 32, 64])),
                "read_mib_s": float(d.pick([0, 0, 0, 16, 64]))}
    memcg: dict[str, Any] = {
        "memory_max_mib": d.pick(["max", 16, 24, 32, 48, 64, 96],
                                 [0.22, 0.08, 0.12, 0.16, 0.16, 0.16, 0.10]),
        "swap_max_mib": d.pick(["max", 8, 16, 24, 32, 48, 64],
                               [0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]),
        "swap_high_mib": "max" if d.chance(0.85) else d.pick([8, 16, 24, 32]),
    }
    return {"machine": machine, "swap": swap, "memcg": memcg}


def _live_cap(settings: dict[str, dict[str, Any]]) -> float:
    """MiB a process may keep allocated: room in guest RAM (less zram's store) or the memcg."""
    ram = settings["machine"]["ram_mib"]
    room = ram - 128 - (settings["swap"]["size_mib"] if settings["swap"]["device"] == "zram"
                        else 0)
    mmax = settings["memcg"]["memory_max_mib"]
    if mmax != "max":  # beyond memory.max pages swap (or the memcg OOMs: an outcome too)
        room = max(room, mmax + settings["swap"]["size_mib"])
    return float(max(16, min(room, 160)))


def _alloc(d: _Draw, pr: _Proc, cap: float) -> dict[str, Any] | None:
    mib = float(d.pick([4, 8, 8, 16, 16, 24, 32, 48]))
    if pr.live_mib + mib > cap:
        mib = float(int(cap - pr.live_mib))
        if mib < 4:
            return None
    name = f"r{len(pr.regions)}"
    pr.regions[name] = mib
    pr.last = name
    pr.live_mib += mib
    return {"op": "alloc", "mib": mib, "name": name}


def _region(d: _Draw, pr: _Proc) -> str:
    return d.pick(["last", "last", "all", d.pick(sorted(pr.regions))])


def _op(d: _Draw, pr: _Proc, focus: str, cap: float) -> dict[str, Any] | None:
    """One non-alloc op; ``focus`` is ``op`` or ``op:variant``."""
    op, _, variant = focus.partition(":")
    if op in ("touch", "readback"):
        ph = {"op": op, "region": _region(d, pr), "fraction": d.frac(),
              "pattern": variant or d.pick(["seq", "random"])}
    elif op == "pageout":
        ph = {"op": op, "region": _region(d, pr), "fraction": d.pick([0.5, 1.0, 1.0])}
    elif op == "unmap":
        ph = {"op": op, "region": d.pick(["last", d.pick(sorted(pr.regions))]),
              "fraction": d.pick([0.5, 1.0, 1.0])}
    elif op == "race_unmap":
        ph = {"op": op, "region": "last", "chunk_kib": d.pick([4, 16, 16, 64, 256]),
              "rest": d.pick(["unmap", "keep"]),
              "reader": variant or d.pick(["probe", "sequential"])}
    elif op == "fork_touch":
        ph = {"op": op, "region": _region(d, pr), "children": d.pick([1, 2, 3, 4]),
              "fraction": d.frac()}
    elif op == "sleep":
        ph = {"op": op, "seconds": d.pick([0.2, 0.5, 1.0])}
    elif op == "set":
        key = d.pick(sorted(SETTABLE_KEYS))
        floor = 16 if key == "memcg.memory_max_mib" else 8
        ph = {"op": "set", key: d.pick(["max", *(v for v in (8, 16, 24, 32, 48) if v >= floor)])}
    elif op == "repeat":  # an unnamed region per round, unmapped by the round's end
        mib = float(d.pick([4, 8, 16]))
        if pr.live_mib + mib > cap:
            return None
        tail = d.pick([[{"op": "race_unmap", "chunk_kib": d.pick([16, 64]), "rest": "unmap",
                         "reader": d.pick(["probe", "sequential"])}],
                       [{"op": "unmap"}],
                       [{"op": "readback", "fraction": d.frac(),
                         "pattern": d.pick(["seq", "random"])}, {"op": "unmap"}]])
        ph = {"op": "repeat", "times": d.pick([2, 3, 4]),
              "phases": [{"op": "alloc", "mib": mib}, {"op": "pageout"}, *tail]}
    else:  # pragma: no cover - FOCUS_OPS lists only the ops above
        raise ValueError(f"no generator for op {focus!r}")
    return ph


_FILLER = ("pageout", "pageout", "touch", "readback", "unmap", "race_unmap", "fork_touch",
           "sleep", "set", "alloc", "repeat")


def _process(d: _Draw, focus: str | None, cap: float) -> list[dict[str, Any]]:
    pr = _Proc()
    pr.phases.append(_alloc(d, pr, cap) or {"op": "alloc", "mib": 4.0, "name": "r0"})
    n_more = int(d.rng.integers(2, 6))
    focus_at = int(d.rng.integers(0, n_more)) if focus else -1
    for k in range(n_more):
        kind = focus if k == focus_at else d.pick(_FILLER)
        if kind == "alloc":
            ph = _alloc(d, pr, cap)
        else:
            if kind in ("touch", "readback", "unmap", "race_unmap", "fork_touch") and \
                    not any(p["op"] == "pageout" for p in pr.phases) and d.chance(0.7):
                pr.phases.append({"op": "pageout", "region": "last", "fraction": 1.0})
            ph = _op(d, pr, kind, cap)
        if ph:
            pr.phases.append(ph)
    return pr.phases


def _raw(d: _Draw, seed: int, index: int, focus: str) -> dict[str, Any]:
    zram = index % 4 == 3
    settings = _settings(d, zram)
    cap = _live_cap(settings)
    n_workers = d.pick([1, 1, 2, 2, 3])
    focus_proc = int(d.rng.integers(0, n_workers))
    procs = [{"name": f"w{k}", "phase": _process(d, focus if k == focus_proc else None, cap)}
             for k in range(n_workers)]
    if d.chance(0.5):
        procs.append({"name": "observer", "phase": [{"op": "sleep", "seconds": 0.5}]})
    return _document(d, f"gen{seed}-{index:03d}", f"generated: swaplab scenarios generate "
                     f"--seed {seed}, scenario {index}, focus {focus}", settings, procs)


def _document(d: _Draw, name: str, description: str, settings: dict[str, dict[str, Any]],
              procs: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario file's content; its seed is the draw's last number."""
    return {"scenario": {"name": name, "description": description,
                         "seed": int(d.rng.integers(1, 2**31 - 1))},
            **settings, "process": procs}


def _oom_settings(d: _Draw, zram: bool) -> dict[str, dict[str, Any]]:
    machine = {"ram_mib": d.pick([256, 384]), "vcpus": d.pick([2, 2, 1]),
               "page_cluster": d.pick([0, 2, 3, 3, 4]), "vma_readahead": d.chance(0.8)}
    size = d.pick([32, 48, 64])
    swap: dict[str, Any] = {"device": "zram", "size_mib": size} if zram else {
        "device": "disk", "size_mib": size,
        "write_mib_s": float(d.pick([0, 16, 32, 64])),
        "read_mib_s": float(d.pick([0, 0, 16, 64]))}
    memcg = {"memory_max_mib": d.pick([16, 24, 32, 48]),
             "swap_max_mib": d.pick([8, 16, 24, 32, "max"]), "swap_high_mib": "max"}
    return {"machine": machine, "swap": swap, "memcg": memcg}


def _oom_worker(d: _Draw, target: float) -> list[dict[str, Any]]:
    """Leave what ``d`` draws in swap, then allocate until ``target`` MiB are live."""
    first = float(max(4, round(target * d.pick([0.3, 0.5, 0.7]))))
    phases: list[dict[str, Any]] = [{"op": "alloc", "mib": first, "name": "r0"}]
    live = first
    maker = d.pick(list(OOM_ORPHAN_MAKERS))
    if maker == "race_unmap":
        phases += [{"op": "pageout", "region": "r0", "fraction": 1.0},
                   {"op": "race_unmap", "region": "r0", "chunk_kib": d.pick([16, 64, 256]),
                    "rest": "unmap", "reader": d.pick(["probe", "sequential"])}]
        live = 0.0
    elif maker == "pageout_unmap":
        phases += [{"op": "pageout", "region": "r0", "fraction": 1.0},
                   {"op": "unmap", "region": "r0", "fraction": 0.5}]
        live = first / 2
    elif maker == "repeat":
        phases.append({"op": "repeat", "times": d.pick([2, 3]), "phases": [
            {"op": "alloc", "mib": float(d.pick([4, 8]))}, {"op": "pageout"},
            {"op": "race_unmap", "chunk_kib": d.pick([16, 64]), "rest": "unmap",
             "reader": d.pick(["probe", "sequential"])}]})
    else:
        phases.append({"op": "pageout", "region": "r0", "fraction": d.pick([0.5, 1.0])})
    more = float(max(4, round(target - live)))
    phases.append({"op": "alloc", "mib": more, "name": "r1"})
    if d.chance(0.5):  # swap-in under the full memcg, if the process is still alive
        phases.append({"op": d.pick(["touch", "readback"]), "region": "r1", "fraction": 0.5,
                       "pattern": d.pick(["seq", "random"])})
    phases.append({"op": "sleep", "seconds": 0.5})
    return phases


def _raw_oom(d: _Draw, seed: int, index: int) -> dict[str, Any]:
    settings = _oom_settings(d, index % 4 == 3)
    mc, sw = settings["memcg"], settings["swap"]
    swap = sw["size_mib"] if mc["swap_max_mib"] == "max" else min(mc["swap_max_mib"],
                                                                    sw["size_mib"])
    factor = d.pick(list(OOM_FACTORS))
    procs = [{"name": "w0", "phase": _oom_worker(d, (mc["memory_max_mib"] + swap) * factor)}]
    if d.chance(0.3):  # a second process charged to the same memcg
        procs.append({"name": "w1", "phase": [{"op": "alloc", "mib": float(d.pick([4, 8]))},
                                              {"op": "sleep", "seconds": 1.0}]})
    return _document(d, f"oom{seed}-{index:03d}", f"generated: swaplab scenarios generate "
                     f"--family oom --seed {seed}, scenario {index}, fill x{factor}",
                     settings, procs)


def _io_mib_s(swap: dict[str, Any], key: str, unthrottled: float) -> float:
    if swap["device"] == "zram":
        return ZRAM_MIB_S
    return float(swap[key]) or unthrottled


def guest_seconds_bound(scn: Scenario) -> float:
    """A conservative bound on the scenario's guest time under TCG (seconds).

    Every op that may move pages is charged its whole region as swap I/O at the device's
    bandwidth (write for alloc/pageout, read for touch/readback/fork_touch/race_unmap, each
    child of a fork_touch again), plus CPU per MiB and the boot's fixed cost.
    """
    write = _io_mib_s(scn.swap, "write_mib_s", UNTHROTTLED_WRITE_MIB_S)
    read = _io_mib_s(scn.swap, "read_mib_s", UNTHROTTLED_READ_MIB_S)
    total = BOOT_S
    for proc in scn.processes:
        regions: dict[str, float] = {}
        last = 0.0
        for ph in (leaf for top in proc.phases for leaf in top.expand()):
            p = ph.params
            if ph.op == "alloc":
                last = p["mib"]
                regions[p["name"] or f"#{len(regions)}"] = last
                total += last * CPU_S_PER_MIB + last / write
                continue
            if ph.op == "sleep":
                total += p["seconds"]
                continue
            if ph.op == "set":  # a lower memory.max may push everything out at once
                if "memcg.memory_max_mib" in p:
                    total += sum(regions.values()) / write
                continue
            region = p.get("region", "last")
            mib = (sum(regions.values()) if region == "all" else
                   last if region == "last" else regions.get(region, last))
            mib *= p.get("fraction", 1.0)
            if ph.op == "pageout":
                total += mib * CPU_S_PER_MIB + mib / write
            elif ph.op == "fork_touch":
                total += p["children"] * (mib * CPU_S_PER_MIB + mib / read)
            elif ph.op in ("touch", "readback", "race_unmap"):
                total += mib * CPU_S_PER_MIB + mib / read + mib / write
            else:  # unmap
                total += mib * CPU_S_PER_MIB / 4
        total += 0.1 * (len(proc.phases) + 1)  # the guest's snapshot pause per phase
    return total


def generate_one(seed: int, index: int, family: str = "gen") -> Scenario:
    """Scenario ``index`` of ``family``'s corpus of ``seed`` (redrawn until its guest bound
    fits)."""
    if family not in FAMILIES:
        raise ValueError(f"--family {family!r}: allowed {', '.join(FAMILIES)}")
    focus = FOCUS_OPS[index % len(FOCUS_OPS)]
    for attempt in range(1000):
        if family == "gen":
            d = _Draw(seed, index * 1000 + attempt)
            raw = _raw(d, seed, index, focus)
        else:  # a stream of its own: the oom family never shares draws with gen
            d = _Draw(seed, 10**9 + index * 1000 + attempt)
            raw = _raw_oom(d, seed, index)
        text = _text(raw)
        scn = scenario_from_text(text, source=f"{family}{seed}-{index:03d}.toml")
        if guest_seconds_bound(scn) <= GUEST_BUDGET_S:
            return scn
    raise RuntimeError(f"scenario {index}: no draw within {GUEST_BUDGET_S} s")  # pragma: no cover


def generate(n: int, seed: int, family: str = "gen") -> list[Scenario]:
    """``n`` validated random scenarios of ``family`` from ``seed`` (scenario i depends on
    (family, seed, i) only)."""
    if n < 1:
        raise ValueError(f"--n {n}: must be >= 1")
    return [generate_one(seed, i, family) for i in range(n)]


def _text(raw: dict[str, Any]) -> str:
    header = ("# Generated by `swaplab scenarios generate`; do not edit (regenerate instead).\n")
    return header + tomli_w.dumps(raw)


def write_scenarios(scenarios: list[Scenario], out: Path) -> list[Path]:
    """Write each scenario's text to ``out/<name>.toml``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for scn in scenarios:
        path = out / f"{scn.name}.toml"
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(scn.toml_text)
        tmp.rename(path)
        paths.append(path)
    return paths
