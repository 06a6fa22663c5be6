"""Statistics over repeats: rates with Wilson intervals, amounts as median and spread, Welch.

Kernel results come from a handful of repeats under TCG; every figure the project states
about them goes through these helpers so that a rate carries its interval and a comparison
its test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Spread", "fisher_test", "format_rate", "intervals_overlap", "median", "spread",
           "welch_test", "wilson_interval"]


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial rate ``k/n`` (95 % by default); (0, 1) for n = 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two closed intervals share a point."""
    return a[0] <= b[1] and b[0] <= a[1]


def format_rate(k: int, n: int) -> str:
    """``"3/5 (23-88 %)"``: a count with its Wilson 95 % interval."""
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} ({100 * lo:.0f}-{100 * hi:.0f} %)"


def fisher_test(k1: int, n1: int, k2: int, n2: int) -> float:
    """Fisher's exact test of two rates ``k1/n1`` vs ``k2/n2``: the two-sided p value (the
    test for OOM-kill counts of two kernels or two policies; Welch is for amounts)."""
    from scipy import stats

    for k, n in ((k1, n1), (k2, n2)):
        if n < 0 or k < 0 or k > n:
            raise ValueError(f"fisher_test: need 0 <= k <= n, got k={k}, n={n}")
    return float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1])


@dataclass(frozen=True)
class Spread:
    """Median, quartiles and range of an amount over repeats (NaNs dropped)."""

    n: int
    median: float
    q1: float
    q3: float
    lo: float
    hi: float

    def __str__(self) -> str:
        return f"{self.median:.3g} [{self.lo:.3g}-{self.hi:.3g}], n={self.n}"

    @property
    def iqr(self) -> float:
        """Interquartile range q3 - q1."""
        return self.q3 - self.q1

    @property
    def range(self) -> float:
        """hi - lo (min-max)."""
        return self.hi - self.lo


def median(values: Sequence[float] | np.ndarray) -> float:
    """Median of the finite values (NaN if none)."""
    return spread(values).median


def spread(values: Sequence[float] | np.ndarray) -> Spread:
    """Median, IQR and min-max of ``values`` ignoring NaN; all NaN if none is finite."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = float("nan")
        return Spread(0, nan, nan, nan, nan, nan)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return Spread(int(v.size), float(med), float(q1), float(q3), float(v.min()),
                  float(v.max()))


def welch_test(a: Sequence[float] | np.ndarray,
               b: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Welch's unequal-variance t test of two samples: ``(t, two-sided p)``.

    NaN p when either sample has fewer than two finite values or both have zero variance.
    """
    from scipy import stats

    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < 2 or y.size < 2 or (np.var(x) == 0 and np.var(y) == 0):
        return float("nan"), float("nan")
    res = stats.ttest_ind(x, y, equal_var=False)
    return float(res.statistic), float(res.pvalue)
