"""`swaplab reproduce` end to end on a tiny sweep: notebooks 01, 03, 04, figures, report."""

from __future__ import annotations

import nbformat
import pytest

from swaplab.compare import find_traces
from swaplab.reproduce import reproduce

TINY_POLICIES = """\
[sweep]
name = "policies"
scenario = "full-swap-oom"
points_per_chunk = 2

[grid]
policy = ["linux-6.1", "hugh-scan"]
seed = [1]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("repro")
    spec = d / "policies.toml"
    spec.write_text(TINY_POLICIES)
    traces = find_traces()
    small = [t["scenario"] for t in traces if t["scenario"] == "liu-repro"][:1]
    res = reproduce(d / "results", quick=True, workers=2, progress=False, specs=[spec],
                    notebook_overrides={
                        "01-model-tour": {"scenario": "liu-repro",
                                          "policies": ["linux-6.1", "hugh-scan"]},
                        "03-kernel-validation": {"scenarios": small or ["none"],
                                                 "max_traces": 1},
                        "04-paper": {"tour_scenario": "liu-repro",
                                     "trace_scenarios": small or ["none"]},
                    })
    return res


def test_everything_ran(run):
    assert run.failures == [], run.summary()
    assert set(run.notebooks) == {"01-model-tour", "03-kernel-validation", "04-paper"}
    assert run.sweeps[0].n_chunks == 1 and not run.sweeps[0].failed


def test_report_has_figures_and_no_code(run):
    html = run.report.read_text()
    assert "orphaned swap cache" in html.lower()
    assert "from swaplab" not in html and "set_style()" not in html, "code cells leaked"
    assert html.count("data:image/png;base64") >= 3
    # sweeps not run here are named, not crashed on
    assert "Sweep <code>oom-limits</code> not found" in html


def test_figures_are_written_as_png(run):
    names = {p.name for p in run.figures}
    assert {"1-orphans-over-time.png", "1-orphans-at-exit.png", "3-policy-cost.png",
            "tour-liu-repro.png"} <= names
    for p in run.figures:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_executed_notebooks_are_kept_with_outputs(run):
    nb = nbformat.read(run.notebooks["01-model-tour"], as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
