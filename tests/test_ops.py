"""Every op of the scenario language (``swaplab.scenario.OPS``, the one list) has all three
sides: the model's workload compiler, the guest encoder, and the guest interpreter's parser
(``kernels/guest/swapwl.c --check``).  An op added to one side only fails here."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import tomli_w

from swaplab.capture.guest import GUEST_DIR, encode_workload
from swaplab.model.workload import compile_workload
from swaplab.scenario import OPS, SETTABLE_KEYS, scenario_from_text

# parameters an op needs besides its defaults (an op with a required parameter gets one here)
EXAMPLE = {
    "alloc": {"mib": 1, "name": "a"},
    "sleep": {"seconds": 0.01},
    "set": {key: 8 for key in SETTABLE_KEYS},
    "repeat": {"times": 2, "phases": [{"op": "touch"}]},
}


def one_op_scenario(op: str):
    """A process that allocates a region, then runs ``op`` once."""
    raw = {"scenario": {"name": f"op-{op}"},
           "process": [{"name": "p", "phase": [{"op": "alloc", "mib": 1, "name": "a"},
                                               {"op": op, **EXAMPLE.get(op, {})}]}]}
    return scenario_from_text(tomli_w.dumps(raw), source=f"<op {op}>")


@pytest.fixture(scope="module")
def swapwl(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed (make sysdeps)")
    out = tmp_path_factory.mktemp("guest") / "swapwl"
    subprocess.run(["gcc", "-O0", "-Wall", "-pthread", "-o", str(out),
                    str(GUEST_DIR / "swapwl.c")], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("op", sorted(OPS))
def test_op_compiles_encodes_and_parses_in_the_guest(op, swapwl, tmp_path):
    scn = one_op_scenario(op)
    base = compile_workload(one_op_scenario("sleep")).ops.shape[0] - 1  # alloc + exit rows
    assert compile_workload(scn).ops.shape[0] > base, f"{op}: the model compiled no row"
    text = encode_workload(scn)
    keywords = [line.split()[0] for line in text.splitlines()[3:]]  # after header, seed, thp
    assert op in keywords, f"{op}: the guest encoder wrote no {op!r} line"
    path = tmp_path / "workload.txt"
    path.write_text(text)
    res = subprocess.run([str(swapwl), "--check", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, f"{op}: swapwl rejected the line: {res.stderr.strip()}"
    assert res.stdout.split() == keywords, f"{op}: swapwl parsed other ops than were written"
