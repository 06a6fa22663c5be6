"""The one JIT decorator of the model: every kernel rule is compiled with these options.

``cache=True`` because every papermill run is a fresh process; ``nogil=True`` so that
:func:`swaplab.model.simulate_batch` can run points in a thread pool.  Set
``SWAPLAB_NO_JIT=1`` to run the very same functions as plain Python (slow; for debugging).

Speed: the kernel rules take the whole :class:`~swaplab.model.engine.State` tuple (21
arrays).  With Numba's reference counting on, every call increfs and decrefs each of
those arrays (atomic operations, ~40 per call: most of the engine's time).  The rules
only index arrays that their caller keeps alive, so they are compiled without NRT
(``nrt=False``, the default).  A function that allocates or returns an array must use
``@jit(nrt=True)``; Numba refuses to compile an allocation without NRT.
"""

from __future__ import annotations

import os

import numba

__all__ = ["jit", "JIT_ENABLED"]

JIT_ENABLED = os.environ.get("SWAPLAB_NO_JIT", "") in ("", "0")


def jit(fn=None, *, nrt=False):  # noqa: ANN001, ANN201 - decorator
    """Compile ``fn`` with the model's options (or leave it as Python when disabled).

    ``nrt``: compile with Numba's reference counting, needed by a function that allocates,
    or returns, an array (see the module docstring)."""
    if fn is None:
        return lambda f: jit(f, nrt=nrt)
    if not JIT_ENABLED:
        return fn
    return numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False,
                      _nrt=nrt)(fn)
