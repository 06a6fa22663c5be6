"""Golden end-of-phase numbers per preset: a rule or default that changes by accident fails.

When a change is on purpose, regenerate with ``tests/golden/regenerate.py --write`` and put
its printed diff in the commit message (see the script's docstring).
"""

from __future__ import annotations

import json

import pytest

from golden.regenerate import GOLDEN, ROOT, diff, end_of_phase  # tests/ is on sys.path

RECORDS = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("key", sorted(RECORDS))
def test_end_of_phase_numbers_match_golden(key):
    scenario, policy = key.split("|")
    got = end_of_phase(ROOT / "data" / "scenarios" / f"{scenario}.toml", policy)
    changes = diff({key: RECORDS[key]}, {key: got})
    assert not changes, "\n".join(changes[:20]) + "\n(regenerate: tests/golden/regenerate.py)"


def test_golden_covers_every_shipped_scenario_and_preset():
    from swaplab.model import PRESETS

    expected = {f"{p.stem}|{pol}" for p in (ROOT / "data" / "scenarios").glob("*.toml")
                for pol in PRESETS}
    assert set(RECORDS) == expected
