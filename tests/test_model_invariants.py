"""Invariants over random small scenarios and every policy (hypothesis).

With the ``check_invariants`` knob the engine recomputes after every op: per slot, the
swap_map count equals the swap ptes referencing it and the cache flag matches the swap
cache (per era); memory.current and memory.swap.current equal the pages and slots charged;
no free slot is referenced; mapcounts equal the ptes; LRU sizes equal the pages in use.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import scenarios  # tests/ is on sys.path (rootdir import)
from swaplab.model import PRESETS, simulate


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
