"""The notebooks: stripped in git, typed parameters, and they run (03 without traces here;
01, 03 and 04 run end to end in tests/test_reproduce.py)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PARAM_LINE = re.compile(r"^[a-z_][a-z0-9_]*: (str|int|float|bool|list|dict) = .+  # \S.*$")


def test_the_four_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == ["01-model-tour", "02-policy-sweep",
                                           "03-kernel-validation", "04-paper"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_runs_in_the_swaplab_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "swaplab"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: outputs committed"
            assert cell.execution_count is None, f"{path.name}: execution count committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_tagged_typed_and_commented(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    lines = [ln for ln in tagged[0].source.splitlines() if ln.strip()]
    assert lines
    for ln in lines:
        assert PARAM_LINE.match(ln), f"{path.name}: parameter line not 'name: type = v  # doc'" \
                                     f": {ln!r}"
    # papermill can read every parameter (what `papermill --help-notebook` shows)
    inferred = pm.inspect_notebook(str(path))
    assert set(inferred) == {ln.split(":")[0] for ln in lines}
    assert all(p["inferred_type_name"] != "None" for p in inferred.values())


def test_kernel_validation_says_no_traces_instead_of_failing(tmp_path):
    out = tmp_path / "03.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "03-kernel-validation.ipynb"), str(out),
                        parameters={"traces_dir": str(tmp_path / "none")}, kernel_name="swaplab",
                        progress_bar=False, cwd=str(ROOT / "notebooks"))
    text = out.read_text()
    assert "No kernel traces shipped yet" in text
    assert "no traces: no summary" in text
