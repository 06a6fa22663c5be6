"""Statistics helpers against known values."""

from __future__ import annotations

import math

import pytest

from swaplab.stats import (
    fisher_test,
    format_rate,
    intervals_overlap,
    median,
    spread,
    welch_test,
    wilson_interval,
)


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


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [
    (81, 263, 0.2553, 0.3662),  # Newcombe (1998), Stat Med 17:857, table I, example (a)
    (0, 3, 0.0, 0.5615),  # 3 repeats, no OOM kill: the rate may still be up to 56 %
    (5, 10, 0.2366, 0.7634),
    (20, 20, 0.8389, 1.0),
])
def test_wilson_published_values(k, n, lo, hi):
    a, b = wilson_interval(k, n)
    assert (round(a, 4), round(b, 4)) == (lo, hi)
    a2, b2 = wilson_interval(n - k, n)  # symmetric in successes and failures
    assert math.isclose(a, 1 - b2, abs_tol=1e-12) and math.isclose(b, 1 - a2, abs_tol=1e-12)


def test_welch_matches_r():
    # R: t.test(c(1,2,3,4), c(2,4,6,8,10)) -> t = -2.2514, df = 5.5209, p-value = 0.06913
    t, p = welch_test([1, 2, 3, 4], [2, 4, 6, 8, 10])
    assert t == pytest.approx((2.5 - 6.0) / math.sqrt((5 / 3) / 4 + 10 / 5), rel=1e-12)
    assert round(p, 5) == 0.06913


def test_median_iqr_and_range():
    assert median([3, 1, 2]) == 2.0
    assert median([1, 2, float("nan"), 3, 4]) == 2.5  # NaN (a phase not reached) is dropped
    s = spread([1, 2, 3, 4, 100])
    assert (s.median, s.q1, s.q3, s.iqr, s.lo, s.hi, s.range) == (3, 2, 4, 2, 1, 100, 99)
    assert spread([50, 64, 64]).median == 64.0  # 6.1's writeback-orphans orphans (MiB)


def test_fisher_matches_r():
    # R: fisher.test(matrix(c(3, 0, 0, 3), 2))$p.value -> 0.1 (2 of 20 equally likely tables)
    assert fisher_test(3, 3, 0, 3) == pytest.approx(0.1, rel=1e-12)
    assert fisher_test(1, 3, 1, 3) == pytest.approx(1.0)
    # symmetric in the two groups and in OOM vs no OOM
    assert fisher_test(13, 15, 0, 15) == pytest.approx(fisher_test(0, 15, 13, 15))
    assert fisher_test(13, 15, 0, 15) == pytest.approx(fisher_test(2, 15, 15, 15))
    assert fisher_test(13, 15, 0, 15) < 1e-5
    with pytest.raises(ValueError, match="k=6, n=5"):
        fisher_test(6, 5, 0, 5)
