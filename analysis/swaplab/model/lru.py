"""The model's plain-LRU mode on a request trace (the libCacheSim comparison).

Frames and the LRU list are the engine's own (:func:`engine.frame_get`,
:func:`engine.lru_add_head`, :func:`engine.lru_del`): a hit moves the frame to the head,
a miss takes a free frame or evicts the inactive list's tail.
"""

from __future__ import annotations

import numpy as np

from swaplab.model import engine as E
from swaplab.model.jit import jit

__all__ = ["lru_misses", "new_lru_state"]


def new_lru_state(capacity: int) -> E.State:
    """Engine state with ``capacity`` frames and no swap, for a plain LRU."""
    kv = np.zeros(E.N_KNOBS, dtype=np.float64)
    kv[E.K_SAMPLE_S] = 1.0
    return E.new_state(capacity, 1, 1, kv, 0, 1, 1, 1, 0, False, 1 << 40, 1 << 40, 1 << 40,
                       1.0, 1.0)


@jit(nrt=True)
def _run(st, trace, where):
    misses = 0
    owner = np.full(st.g[E.G_NFRAMES], -1, dtype=np.int64)
    for i in range(trace.shape[0]):
        obj = trace[i]
        f = where[obj]
        if f >= 0:
            E.lru_add_head(st, f, E.LRU_INACTIVE)
            continue
        misses += 1
        f = E.frame_get(st)
        if f < 0:
            victim = st.g[E.G_LRU_TAIL0]
            where[owner[victim]] = -1
            E.frame_free(st, victim)
            f = E.frame_get(st)
        owner[f] = obj
        where[obj] = f
        E.lru_add_head(st, f, E.LRU_INACTIVE)
    return misses


def lru_misses(trace: np.ndarray, capacity: int) -> int:
    """Misses of an LRU cache of ``capacity`` objects over ``trace`` (object ids >= 0)."""
    trace = np.ascontiguousarray(trace, dtype=np.int64)
    where = np.full(int(trace.max()) + 1 if trace.size else 1, -1, dtype=np.int64)
    return int(_run(new_lru_state(int(capacity)), trace, where))
