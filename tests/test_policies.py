"""Policy presets and knobs: discovery, checks, and the engine's index tables."""

from __future__ import annotations

import json
import re

import pytest

from swaplab import schema
from swaplab.model import engine as E
from swaplab.model import policies as P
from swaplab.model.errors import ModelError

EXPECTED = {"linux-2.6.30", "linux-2.6.31", "kamezawa-sync", "hugh-scan", "linux-6.1",
            "linux-6.12", "linux-7", "liu-swapcache-only", "plain-lru"}


def test_presets_discovered_from_modules():
    assert set(P.PRESETS) >= EXPECTED, sorted(EXPECTED - set(P.PRESETS))


# a kernel function, as ``name`` or name()
FUNCTION = re.compile(r"``[a-z_][a-z0-9_]*``|\b[a-z_][a-z0-9_]*\(\)")
# where to read it: file:line, a file with the kernel version it was read in, a commit id, or
# (for an unmerged proposal) its linux-mm Message-ID
SOURCE = re.compile(r"\b(?:mm|include|kernel|block|drivers)/[\w/.-]+\.[ch]:\d+"
                    r"|\b(?:mm|include|kernel)/[\w/.-]+\.[ch]\b[^\n]{0,80}?\b2\.6\.\d+"
                    r"|\b[0-9a-f]{12,40}\b"
                    r"|Message-ID\s+[\w.-]+")


@pytest.mark.parametrize("name", sorted(EXPECTED - {"plain-lru"}))  # plain-lru: no kernel
def test_every_preset_cites_its_sources(name):
    doc = P.PRESETS[name].doc
    assert FUNCTION.search(doc), f"{name}: the docstring names no kernel function"
    assert SOURCE.search(doc), (f"{name}: the docstring cites no file:line, file + version, "
                                "commit or Message-ID")


def test_plain_lru_says_it_is_no_kernel():
    assert "Not a kernel" in P.PRESETS["plain-lru"].doc


def test_engine_knob_indices_follow_KNOBS_order():
    assert tuple(P.KNOBS) == E.KNOB_ORDER
    assert len(P.KNOBS) == E.N_KNOBS
    assert E.KNOB_ORDER.index("scan_trigger") == E.K_SCAN_TRIGGER
    assert E.KNOB_ORDER.index("max_sim_s") == E.K_MAX_SIM_S


def test_engine_choice_codes_name_each_choice():
    """Each engine choice code is the encoding of the choice it is named for: reordering a
    knob's choices= tuple fails here instead of silently flipping a rule."""
    choice_knobs = {name for name, k in P.KNOBS.items() if k.kind == "choice"}
    assert set(E.CHOICE_CODES) == choice_knobs
    for name, codes in E.CHOICE_CODES.items():
        assert set(codes) == set(P.KNOBS[name].choices), name
        for choice, code in codes.items():
            assert P.KNOBS[name].encode(choice) == code, (name, choice)


def test_engine_variable_indices_follow_schema_order():
    assert tuple(schema.VARIABLES) == E.VAR_ORDER
    for i, name in enumerate(schema.VARIABLES):
        assert getattr(E, "V_" + name.upper()) == i, name
    assert len(schema.VARIABLES) == E.N_VARS


def test_resolve_merges_override_over_preset():
    k = P.resolve_knobs("hugh-scan", {"scan_batch": 128})
    assert k["scan_batch"] == 128 and k["scan_trigger"] == "really_full"
    assert set(k) == set(P.KNOBS)
    assert json.loads(P.knobs_json(k)) == k


def test_unknown_knob_lists_allowed():
    with pytest.raises(ModelError, match="unknown knob 'nope'; allowed: era, "):
        P.resolve_knobs("linux-6.1", {"nope": 1})


def test_unknown_policy_lists_presets():
    with pytest.raises(ModelError, match="unknown policy 'linux-9'; allowed: .*linux-6.1"):
        P.resolve_knobs("linux-9")


@pytest.mark.parametrize("knob,value", [("scan_batch", -1), ("era", "2.6.40"),
                                        ("jitter", "abc"), ("readahead", 3),
                                        ("trylock_fail_p", 1.5)])
def test_bad_knob_values_name_the_knob_and_range(knob, value):
    with pytest.raises(ModelError, match=f"knob '{knob}' must be"):
        P.resolve_knobs("linux-6.1", {knob: value})


def test_string_values_from_the_cli_are_parsed():
    k = P.resolve_knobs("linux-6.1", {"scan_batch": "64", "readahead": "false",
                                      "jitter": "0.5"})
    assert (k["scan_batch"], k["readahead"], k["jitter"]) == (64, False, 0.5)
