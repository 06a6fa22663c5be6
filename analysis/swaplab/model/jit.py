"""The one JIT decorator of the model: every kernel rule is compiled with these options.

``cache=True`` because every papermill run is a fresh process; ``nogil=True`` so that
:func:`swaplab.model.simulate_batch` can run points in a thread pool.  Set
``SWAPLAB_NO_JIT=1`` to run the very same functions as plain Python (slow; for debugging).

Cache: Numba checks a cached function only against the file that defines it, not the files
of the functions it calls, so an edit to ``swapmap.py`` alone would leave the engine running
its old compiled code.  The cache therefore lives in a directory named by a digest of the
package's source files, the pure-Python naive model left out (:data:`CACHE_DIR`:
``<root>/swaplab-model-<digest>``, root ``$NUMBA_CACHE_DIR`` if set, else
``$SWAPLAB_CACHE/numba`` or ``~/.cache/swaplab/numba``): any edit to the model starts a
fresh cache.  It is set here, before anything is compiled, and exported as
``NUMBA_CACHE_DIR`` so that sweep workers and papermill kernels use it too.

Speed: the kernel rules take the whole :class:`~swaplab.model.engine.State` tuple (21
arrays).  With Numba's reference counting on, every call increfs and decrefs each of
those arrays (atomic operations, ~40 per call: most of the engine's time).  The rules
only index arrays that their caller keeps alive, so they are compiled without NRT
(``nrt=False``, the default).  A function that allocates or returns an array must use
``@jit(nrt=True)``; Numba refuses to compile an allocation without NRT.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import numba

from swaplab.paths import cache_root

__all__ = ["jit", "JIT_ENABLED", "CACHE_DIR", "jitted_sources", "source_digest"]

JIT_ENABLED = os.environ.get("SWAPLAB_NO_JIT", "") in ("", "0")
_PREFIX = "swaplab-model-"


JIT_IMPORT = b"from swaplab.model.jit import"


def jitted_sources() -> list[Path]:
    """The model's files that hold jitted code: this file and every file importing ``jit``
    from it.  Jitted code reads only globals of these files (engine.py imports swapmap.py
    alone; a test keeps it so), so an edit anywhere else cannot make a cached function stale."""
    here = Path(__file__).resolve().parent
    return sorted(p for p in here.rglob("*.py")
                  if p.name == "jit.py" and p.parent == here or JIT_IMPORT in p.read_bytes())


def source_digest() -> str:
    """sha256 (16 hex digits) over the path and text of :func:`jitted_sources`."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in jitted_sources():
        h.update(path.relative_to(here).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    given = os.environ.get("NUMBA_CACHE_DIR", "")
    base = Path(given) if given else cache_root() / "numba"
    if base.name.startswith(_PREFIX):  # inherited from the process that started this one
        base = base.parent
    return base / (_PREFIX + source_digest())


CACHE_DIR = _cache_dir()
os.environ["NUMBA_CACHE_DIR"] = str(CACHE_DIR)  # subprocesses: sweep workers, papermill kernels
numba.config.CACHE_DIR = str(CACHE_DIR)  # this process (numba read its config at import)


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
