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

import importlib
import importlib.util
import os
import sys

import numba

__all__ = ["jit", "JIT_ENABLED"]

JIT_ENABLED = os.environ.get("SWAPLAB_NO_JIT", "") in ("", "0")


def _import_arraymath_without_scipy() -> None:
    """Import ``numba.np.arraymath`` (which Numba imports anyway on its first compile or
    cache load) without the scipy import it runs to see whether BLAS is there.

    ``arraymath._check_blas`` imports ``scipy.linalg.cython_blas`` at module import; with
    scipy 1.16 that brings in scipy.linalg, array_api_compat and numpy.f2py: ~40 % of a
    fresh process's first ``simulate`` with a warm cache.  The model calls no BLAS.  The
    flag is set afterwards to what the check would have found, so code that does use
    ``np.dot`` in jitted functions behaves as before (it imports scipy when compiled).
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    hide = "scipy.linalg" if "scipy" in sys.modules else "scipy"
    sys.modules[hide] = None  # type: ignore[assignment]  # makes `import scipy...` fail fast
    try:
        arraymath = importlib.import_module("numba.np.arraymath")
    finally:
        del sys.modules[hide]
    arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None


if JIT_ENABLED:
    _import_arraymath_without_scipy()


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
