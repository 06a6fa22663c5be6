"""Statistics helpers against known values."""

from __future__ import annotations

import math

import pytest

from swaplab.stats import format_rate, intervals_overlap, spread, welch_test, wilson_interval


def test_wilson_known_values():
    # Wilson 95 % for 0/5, 5/5, 1/3 (e.g. statsmodels proportion_confint(method="wilson"))
    lo, hi = wilson_interval(0, 5)
    assert lo == 0.0 and hi == pytest.approx(0.4345, abs=1e-4)
    lo, hi = wilson_interval(5, 5)
    assert lo == pytest.approx(0.5655, abs=1e-4) and hi == 1.0
    lo, hi = wilson_interval(1, 3)
    assert (lo, hi) == (pytest.approx(0.0615, abs=1e-4), pytest.approx(0.7923, abs=1e-4))
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(4, 3)
    assert format_rate(3, 5) == "3/5 (23-88 %)"


def test_overlap_and_spread():
    assert intervals_overlap((0, 0.4), (0.4, 1))
    assert not intervals_overlap((0, 0.43), (0.57, 1))  # 0/5 vs 5/5: rates disagree
    s = spread([1, 2, 3, 4, float("nan")])
    assert (s.n, s.median, s.lo, s.hi, s.q1, s.q3) == (4, 2.5, 1, 4, 1.75, 3.25)
    assert math.isnan(spread([]).median)


def test_welch():
    t, p = welch_test([1, 2, 3, 4], [11, 12, 13, 14])
    assert t < 0 and p < 1e-4
    assert math.isnan(welch_test([1], [2, 3])[1])
    assert math.isnan(welch_test([2, 2], [2, 2])[1])
