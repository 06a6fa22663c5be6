"""swaplab: orphaned swap cache and full-swap OOM, modelled and measured.

The public surface is small: load a scenario, simulate it, capture it on a real kernel,
sweep it, open and compare the results.  Heavy modules (Numba, Dask, QEMU harness) are
imported on first use, so ``import swaplab`` and ``swaplab --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from swaplab.errors import SwaplabError
from swaplab.scenario import Scenario, ScenarioError, load_scenario
from swaplab.schema import SchemaError, validate

# name -> module that defines it, imported lazily by __getattr__
_LAZY = {
    "simulate": "swaplab.model",
    "simulate_batch": "swaplab.model",
    "capture": "swaplab.capture.run",
    "run_sweep": "swaplab.sweep",
    "open_store": "swaplab.sweep",
    "compare": "swaplab.compare",
    "find_traces": "swaplab.compare",
}

__all__ = [
    "Scenario",
    "ScenarioError",
    "SchemaError",
    "SwaplabError",
    "__version__",
    "capture",
    "compare",
    "find_traces",
    "load_scenario",
    "open_store",
    "run_sweep",
    "simulate",
    "simulate_batch",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'swaplab' has no attribute {name!r}")
