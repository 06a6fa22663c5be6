"""The kernel presets resolve to exactly the knob values docs/kernel-rules.md verified.

docs/kernel-rules.md reads each rule in Debian's linux-source-6.1 6.1.192-2, linux-source-6.12
6.12.117-1 and linux-source-7.2 7.2.13-1 and ends with one ```toml block per preset listing
the verified knob values.  These tests parse those blocks, so the doc and the presets
(analysis/swaplab/model/policies/linux_6_1.py, linux_6_12.py, linux_7.py) cannot drift apart.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from swaplab.model import policies as P

DOC = Path(__file__).resolve().parents[1] / "docs" / "kernel-rules.md"
KERNEL_PRESETS = {"linux-6.1": "6.1.192-2", "linux-6.12": "6.12.117-1", "linux-7": "7.2.13-1"}
FENCE = re.compile(r"^```toml\n(.*?)^```", re.S | re.M)


def doc_presets(text: str) -> dict[str, dict]:
    """``presets`` tables of every ```toml block in ``text``, merged (a preset at most once)."""
    out: dict[str, dict] = {}
    for block in FENCE.findall(text):
        for name, table in tomllib.loads(block).get("presets", {}).items():
            if name in out:
                raise ValueError(f"preset {name!r} listed in two toml blocks")
            out[name] = table
    return out


DOC_PRESETS = doc_presets(DOC.read_text())
ROWS = [(name, knob, value) for name, table in sorted(DOC_PRESETS.items())
        for knob, value in sorted(table.get("knobs", {}).items())]


def test_doc_has_a_block_for_each_kernel_preset_naming_its_debian_source():
    assert set(DOC_PRESETS) == set(KERNEL_PRESETS)
    for name, version in KERNEL_PRESETS.items():
        assert version in DOC_PRESETS[name]["debian_source"], name
        assert DOC_PRESETS[name]["knobs"], name


def test_doc_knobs_are_model_knobs_with_allowed_values():
    for name, knob, value in ROWS:
        assert knob in P.KNOBS, f"{name}: {knob!r} is not a model knob"
        assert P.KNOBS[knob].check(knob, value, name) == value, (name, knob)


@pytest.mark.parametrize("name,knob,value", ROWS, ids=[f"{n}:{k}" for n, k, _ in ROWS])
def test_preset_resolves_to_the_verified_value(name, knob, value):
    assert P.resolve_knobs(name)[knob] == value


@pytest.mark.parametrize("name", sorted(KERNEL_PRESETS))
def test_every_knob_a_preset_moves_off_its_default_is_verified_in_the_doc(name):
    resolved = P.resolve_knobs(name)
    moved = {k for k, v in resolved.items() if v != P.KNOBS[k].default}
    moved |= set(P.PRESETS[name].knobs)  # also those a preset sets explicitly
    moved -= set(P.PRESETS[name].calibrated)  # fitted time costs and jitter sizes: no rules
    missing = moved - set(DOC_PRESETS[name]["knobs"])
    assert not missing, f"{name}: {sorted(missing)} not in docs/kernel-rules.md"


@pytest.mark.parametrize("name", sorted(KERNEL_PRESETS))
def test_preset_docstring_cites_the_debian_source_it_was_checked_against(name):
    doc = P.PRESETS[name].doc
    assert KERNEL_PRESETS[name] in doc, name
    assert "unverified" not in doc.lower(), name


def test_the_blocks_distinguish_the_three_kernels():
    # the rules that differ in the sources: slots cache gone in 7.2; full-cluster reclaim and
    # its worker run on the (rotational) disk in 7.2 only
    k = {name: DOC_PRESETS[name]["knobs"] for name in KERNEL_PRESETS}
    assert [k[n]["slots_cache"] for n in ("linux-6.1", "linux-6.12", "linux-7")] == \
        [True, True, False]
    assert [k[n]["alloc_full_cluster_reclaim"] for n in ("linux-6.1", "linux-6.12",
                                                          "linux-7")] == [False, False, True]
    assert [k[n]["scan_trigger"] for n in ("linux-6.1", "linux-6.12", "linux-7")] == \
        ["off", "off", "device_full"]


def test_parser_rejects_a_preset_listed_twice_and_ignores_other_fences():
    text = ("```toml\n[presets.a.knobs]\nera = \"2.6.33\"\n```\n"
            "```python\n[presets.b]\n```\n"
            "```toml\n[presets.a.knobs]\nreadahead = true\n```\n")
    with pytest.raises(ValueError, match="listed in two"):
        doc_presets(text)
    assert doc_presets(text.rsplit("```toml", 1)[0]) == {"a": {"knobs": {"era": "2.6.33"}}}
