"""Where the repository's folders are: one place for the checkout root and its data.

swaplab runs from its source checkout (``pip install -e``): the scenario, sweep, trace,
notebook and kernel folders are read from the repository, not from the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "DATA", "SCENARIOS", "SWEEPS", "TRACES", "NOTEBOOKS", "KERNELS", "RESULTS",
           "cache_root", "data_dir", "repo_root"]

ROOT = Path(__file__).resolve().parents[2]  # analysis/swaplab/paths.py -> the checkout
DATA = ROOT / "data"
SCENARIOS = DATA / "scenarios"
SWEEPS = DATA / "sweeps"
TRACES = DATA / "traces"
NOTEBOOKS = ROOT / "notebooks"
KERNELS = ROOT / "kernels"
RESULTS = ROOT / "results"


def repo_root() -> Path:
    """The repository root (the folder holding ``analysis/``, ``data/``, ``kernels/``)."""
    return ROOT


def data_dir() -> Path:
    """The shipped data (``data/``)."""
    return DATA


def cache_root() -> Path:
    """Root of swaplab's caches (kernels, captures, builds, JIT): ``$SWAPLAB_CACHE`` or
    ``~/.cache/swaplab``."""
    env = os.environ.get("SWAPLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "swaplab"
