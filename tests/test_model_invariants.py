"""Invariants over random small scenarios and every policy (hypothesis).

With the ``check_invariants`` knob the engine recomputes after every op: per slot, the
swap_map count equals the swap ptes referencing it and the cache flag matches the swap
cache (per era); memory.current and memory.swap.current equal the pages and slots charged;
no free slot is referenced; mapcounts equal the ptes; LRU sizes equal the pages in use.
"""

from __future__ import annotations

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swaplab.model import PRESETS, simulate
from swaplab.scenario import scenario_from_text

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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scn=scenarios(), policy=st.sampled_from(sorted(PRESETS)))
def test_invariants_hold_after_every_op(scn, policy):
    # ModelError("invariant broken ...") is raised by simulate if any check fails
    ds = simulate(scn, policy=policy, knobs={"check_invariants": True, "jitter": 0.3,
                                             "trylock_fail_p": 0.05})
    cur = ds.memcg_current_end.values
    assert (cur >= 0).all()
    assert (ds.swap_used_end.values <= ds.swap_total_end.values).all()
    assert (ds.swap_orphans_end.values <= ds.swap_cached_end.values).all()
