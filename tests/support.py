"""Helpers shared by the test files (one place; test files do not import each other).

``sim``/``at``: a cached standard-scenario run and an end-of-phase value; ``phases`` and
``scenarios``: hypothesis strategies of small random scenarios over every op; ``covered``:
the knob overrides a differential test compares.
"""

from __future__ import annotations

import functools

import tomli_w
from hypothesis import strategies as st

from swaplab.model import simulate
from swaplab.scenario import scenario_from_text

__all__ = ["at", "covered", "phases", "scenarios", "sim"]


@functools.cache
def sim(scenario: str, policy: str, **knobs):
    """Simulate once per (scenario, policy, knobs) in this test session."""
    return simulate(scenario, policy=policy, knobs=knobs or None)


def at(ds, label: str, var: str) -> int:
    """End-of-phase snapshot of ``var`` at phase ``label``."""
    idx = list(ds.phase_name.values).index(label)
    return int(ds[f"{var}_end"].values[idx])


def covered(policy, knobs):
    """``knobs`` as given (``None`` when empty): every combination is compared."""
    out = dict(knobs or {})
    return out or None


SIZES = st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0])


@st.composite
def phases(draw):
    out = [{"op": "alloc", "mib": draw(SIZES)}]
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["alloc", "touch", "readback", "pageout", "unmap",
                                   "race_unmap", "fork_touch", "sleep", "set"]))
        if op == "alloc":
            out.append({"op": op, "mib": draw(SIZES)})
        elif op in ("touch", "readback"):
            out.append({"op": op, "region": draw(st.sampled_from(["last", "all"])),
                        "fraction": draw(st.sampled_from([0.25, 0.5, 1.0])),
                        "pattern": draw(st.sampled_from(["seq", "random"]))})
        elif op in ("pageout", "unmap"):
            out.append({"op": op, "fraction": draw(st.sampled_from([0.5, 1.0]))})
        elif op == "race_unmap":
            out.append({"op": op, "chunk_kib": draw(st.sampled_from([4, 16, 32])),
                        "rest": draw(st.sampled_from(["unmap", "keep"]))})
        elif op == "fork_touch":
            out.append({"op": op, "children": draw(st.integers(1, 3)),
                        "fraction": draw(st.sampled_from([0.5, 1.0]))})
        elif op == "sleep":
            out.append({"op": op, "seconds": draw(st.sampled_from([0.0, 0.05, 0.5]))})
        else:
            out.append({"op": "set", "memcg.swap_max_mib": draw(st.sampled_from([1, 2, 8]))})
    return out


@st.composite
def scenarios(draw):
    raw = {
        "scenario": {"name": "random", "seed": draw(st.integers(0, 1000))},
        "machine": {"ram_mib": 64, "vcpus": draw(st.integers(1, 2)),
                    "page_cluster": draw(st.integers(0, 3)),
                    "vma_readahead": draw(st.booleans())},
        "swap": {"size_mib": draw(st.integers(1, 6)),
                 "write_mib_s": draw(st.sampled_from([0.0, 2.0, 16.0])),
                 "read_mib_s": draw(st.sampled_from([0.0, 4.0]))},
        "memcg": {"memory_max_mib": draw(st.sampled_from([2, 3, 4, "max"])),
                  "swap_max_mib": draw(st.sampled_from([1, 2, "max"]))},
        "process": [{"name": f"p{i}", "phase": draw(phases())}
                    for i in range(draw(st.integers(1, 2)))],
    }
    return scenario_from_text(tomli_w.dumps(raw))
