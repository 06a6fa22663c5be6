"""The JIT cache cannot run stale code: an edit to a callee in another file is seen.

Numba's ``cache=True`` keys a cached function on its own file only; swaplab.model.jit puts the
cache in a directory named by a digest of the model's sources.  Here a jitted caller and its
jitted callee (two files of a copied package, the decorator the engine uses) run in fresh
processes: once, then after the callee alone is edited.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis" / "swaplab"
CALLEE = "from swaplab.model.jit import jit\n\n\n@jit\ndef f():\n    return {}\n"
CALLER = ("from swaplab.model._callee import f\nfrom swaplab.model.jit import jit\n\n\n"
          "@jit\ndef g():\n    return f() * 10\n")


@pytest.fixture
def package(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "swaplab", ignore=shutil.ignore_patterns("__pycache__"))
    model = src / "swaplab" / "model"
    (model / "_callee.py").write_text(CALLEE.format(1))
    (model / "_caller.py").write_text(CALLER)
    return src


def run_g(src: Path, cache: Path) -> int:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "SWAPLAB_NO_JIT", "NUMBA_DISABLE_JIT")}
    env.update(PYTHONPATH=str(src), SWAPLAB_CACHE=str(cache))
    out = subprocess.run([sys.executable, "-c", "from swaplab.model._caller import g; "
                          "print(g())"], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_edit_to_a_callee_in_another_file_reaches_the_cached_caller(package, tmp_path):
    cache = tmp_path / "cache"
    assert run_g(package, cache) == 10
    assert list((cache / "numba").rglob("*caller*.nbi")), "the caller was not cached"
    assert run_g(package, cache) == 10  # loaded from the cache
    (package / "swaplab" / "model" / "_callee.py").write_text(CALLEE.format(2))
    assert run_g(package, cache) == 20
    assert len(list((cache / "numba").glob("swaplab-model-*"))) == 2


def test_jitted_modules_import_only_jitted_modules_of_swaplab():
    # the cache digest covers only files with jitted code; jitted code reads globals of its own
    # module and of the swaplab modules it imports, so those must be covered too
    import ast

    from swaplab.model.jit import jitted_sources

    covered = {p.stem for p in jitted_sources()}
    assert {"engine", "swapmap", "lru", "jit"} <= covered
    for path in jitted_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("swaplab"):
                names = [node.module.rsplit(".", 1)[-1]] + [a.name for a in node.names]
            for name in names:
                mod = PACKAGE / "model" / f"{name}.py"
                if mod.exists() and name != "model":
                    assert name in covered, f"{path.name} imports {name}, not in the digest"
