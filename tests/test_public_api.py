"""The small public surface: every name in swaplab.__all__ resolves; import stays light."""

from __future__ import annotations

import subprocess
import sys

import swaplab


def test_every_public_name_resolves():
    for name in swaplab.__all__:
        assert getattr(swaplab, name) is not None, name


def test_import_does_not_pull_numba_or_dask():
    code = "import sys, swaplab; print(sorted({'numba', 'distributed'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_lists_every_stable_verb():
    out = subprocess.run([sys.executable, "-m", "swaplab.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for verb in ("simulate", "capture", "kernel", "sweep", "compare", "bench", "reproduce"):
        assert verb in out, verb
