"""The pure-Python reference: the model's rules run by CPython, no Numba.

The engine's functions are loaded a second time with the JIT switched off, so every rule
runs as plain Python on NumPy arrays (Python ints for the arithmetic, NumPy scalars for
the stored values).  Differential tests compare its datasets with the Numba ones
(``xr.testing.assert_identical``): they catch what compilation can change (integer widths
and wrap-around, float/int conversions, typing of branches, stale caches, the GIL-free
batch path), not a rule that is wrong in both.  It is also the speed baseline of
``reference_speedup`` in ``swaplab bench``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from swaplab.model import jit as _jit

__all__ = ["reference_engine", "run_reference", "simulate_reference"]

_CACHE: dict[str, ModuleType] = {}


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def reference_engine() -> ModuleType:
    """The engine module with plain-Python functions (loaded once)."""
    if "engine" not in _CACHE:
        here = Path(__file__).parent
        was = _jit.JIT_ENABLED
        _jit.JIT_ENABLED = False
        try:
            sm = _load("swaplab.model._reference_swapmap", here / "swapmap.py")
            eng = _load("swaplab.model._reference_engine", here / "engine.py")
        finally:
            _jit.JIT_ENABLED = was
        eng.sm = sm
        _CACHE["engine"] = eng
    return _CACHE["engine"]


def run_reference(scenario: Any, policy: str = "linux-6.1",
                  knobs: Mapping[str, Any] | None = None, seed: int | None = None) -> Any:
    """Like :func:`swaplab.model.run_model`, with the reference engine."""
    import numpy as np

    from swaplab.model import _scenario
    from swaplab.model.run import run

    with np.errstate(over="ignore"):  # splitmix64 wraps on purpose, as in the jitted code
        return run(_scenario(scenario), policy, knobs, seed, engine=reference_engine())


def simulate_reference(scenario: Any, policy: str = "linux-6.1",
                       knobs: Mapping[str, Any] | None = None, seed: int | None = None
                       ) -> Any:
    """Like :func:`swaplab.model.simulate`, with the reference engine."""
    from swaplab.model.dataset import to_dataset

    return to_dataset(*run_reference(scenario, policy, knobs, seed), policy=str(policy))
