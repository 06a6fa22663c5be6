"""Where the repository's folders are (the package lives in ``analysis/swaplab``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["REPO_ROOT", "repo_root", "data_dir"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_root() -> Path:
    """The repository root (the folder holding ``analysis/``, ``data/``, ``kernels/``)."""
    return REPO_ROOT


def data_dir() -> Path:
    """The shipped data (``data/``)."""
    return REPO_ROOT / "data"
