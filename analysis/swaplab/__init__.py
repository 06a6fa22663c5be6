"""swaplab: orphaned swap cache and full-swap OOM, modelled and measured.

The public surface is small: load a scenario, simulate it, capture it on a real kernel,
sweep it, open and compare the results.
"""

from __future__ import annotations

__version__ = "0.1.0"

from swaplab.errors import SwaplabError
from swaplab.scenario import Scenario, ScenarioError, load_scenario
from swaplab.schema import SchemaError, validate

__all__ = [
    "Scenario",
    "ScenarioError",
    "SchemaError",
    "SwaplabError",
    "__version__",
    "load_scenario",
    "validate",
]
