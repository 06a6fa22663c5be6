"""The engine run by CPython with the JIT switched off (no Numba, same code).

The engine's functions are loaded a second time with the JIT disabled, so every rule runs
as plain Python on NumPy arrays (Python ints for the arithmetic, NumPy scalars for the
stored values).  Comparing its datasets with the Numba ones catches what compilation can
change (integer widths and wrap-around, float/int conversions, typing of branches, stale
caches, the GIL-free batch path), not a rule that is wrong: the same code runs both
times.  For the rules, see the independent :mod:`swaplab.model.naive` model
(:mod:`swaplab.model.reference`).  It is the speed baseline of ``jitoff_speedup`` in
``swaplab bench``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from swaplab.model import jit as _jit

__all__ = ["jitoff_engine", "run_jitoff", "simulate_jitoff"]

_CACHE: dict[str, ModuleType] = {}


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def jitoff_engine() -> ModuleType:
    """The engine module with plain-Python functions (loaded once)."""
    if "engine" not in _CACHE:
        here = Path(__file__).parent
        was = _jit.JIT_ENABLED
        _jit.JIT_ENABLED = False
        try:
            sm = _load("swaplab.model._jitoff_swapmap", here / "swapmap.py")
            eng = _load("swaplab.model._jitoff_engine", here / "engine.py")
        finally:
            _jit.JIT_ENABLED = was
        eng.sm = sm
        _CACHE["engine"] = eng
    return _CACHE["engine"]


def run_jitoff(scenario: Any, policy: str = "linux-6.1",
               knobs: Mapping[str, Any] | None = None, seed: int | None = None) -> Any:
    """Like :func:`swaplab.model.run_model`, with the JIT-off engine."""
    import numpy as np

    from swaplab.model import _scenario
    from swaplab.model.run import run

    with np.errstate(over="ignore"):  # splitmix64 wraps on purpose, as in the jitted code
        return run(_scenario(scenario), policy, knobs, seed, engine=jitoff_engine())


def simulate_jitoff(scenario: Any, policy: str = "linux-6.1",
                    knobs: Mapping[str, Any] | None = None, seed: int | None = None) -> Any:
    """Like :func:`swaplab.model.simulate`, with the JIT-off engine."""
    from swaplab.model.dataset import to_dataset

    return to_dataset(*run_jitoff(scenario, policy, knobs, seed), policy=str(policy))
