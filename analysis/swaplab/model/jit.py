"""The one JIT decorator of the model: every kernel rule is compiled with these options.

``cache=True`` because every papermill run is a fresh process; ``nogil=True`` so that
:func:`swaplab.model.simulate_batch` can run points in a thread pool.  Set
``SWAPLAB_NO_JIT=1`` to run the very same functions as plain Python (slow; for debugging).
"""

from __future__ import annotations

import os

import numba

__all__ = ["jit", "JIT_ENABLED"]

JIT_ENABLED = os.environ.get("SWAPLAB_NO_JIT", "") in ("", "0")


def jit(fn):  # noqa: ANN001, ANN201 - decorator
    """Compile ``fn`` with the model's options (or leave it as Python when disabled)."""
    if not JIT_ENABLED:
        return fn
    return numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)(fn)
