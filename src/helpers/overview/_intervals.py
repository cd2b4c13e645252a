"""Intervals the overview adds to the detail reports' counts and shares (internal).

- :func:`poisson_interval`: exact (Garwood) interval of a Poisson rate from one count — the
  range of weekly rates consistent with the joins seen in one week.
- :func:`rate_ratio_interval`: exact conditional interval of the ratio of two Poisson rates
  (this week / last week): given ``k1 + k0`` events, ``k1`` is binomial with
  ``p = ratio / (1 + ratio)``, so the Clopper–Pearson interval of ``p`` maps to the ratio.
- :func:`newcombe_difference`: Newcombe's hybrid score interval (his method 10) of the
  difference of two independent shares, built from their Wilson intervals.

All are two-sided at ``1 - alpha`` and checked against statsmodels in ``tests/test_overview.py``.
"""

from __future__ import annotations

import math

from scipy import stats

from ..cohorts import wilson_interval


def wilson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of ``x / n`` as two floats (the cohorts' one definition).

    Examples
    --------
    >>> [round(v, 4) for v in wilson(3, 10)]
    [0.1078, 0.6032]
    """
    lo, hi = wilson_interval(x, n, alpha=alpha)
    return float(lo), float(hi)


def poisson_interval(k: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean from one observed count ``k``.

    Examples
    --------
    >>> [round(v, 3) for v in poisson_interval(10)]
    [4.795, 18.39]
    """
    lo = 0.0 if k == 0 else stats.chi2.ppf(alpha / 2, 2 * k) / 2
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * (k + 1)) / 2
    return float(lo), float(hi)


def rate_ratio_interval(k1: int, k0: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact conditional interval of the rate ratio ``rate1 / rate0`` (equal exposures).

    NaN bounds when ``k1 + k0 == 0``; an infinite upper bound when ``k0 == 0``.

    Examples
    --------
    >>> [round(v, 3) for v in rate_ratio_interval(30, 20)]
    [0.824, 2.787]
    """
    n = k1 + k0
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(k1), int(n)).proportion_ci(1 - alpha, method="exact")
    lo_p, hi_p = float(ci.low), float(ci.high)
    lo = lo_p / (1 - lo_p)
    hi = math.inf if hi_p >= 1 else hi_p / (1 - hi_p)
    return lo, hi


def newcombe_difference(x1: int, n1: int, x0: int, n0: int,
                        alpha: float = 0.05) -> tuple[float, float, float]:
    """Difference ``x1/n1 - x0/n0`` of two independent shares with Newcombe's interval.

    Returns ``(difference, low, high)``; NaN when either sample is empty.

    Examples
    --------
    >>> [round(v, 4) for v in newcombe_difference(56, 70, 48, 80)]
    [0.2, 0.0524, 0.3339]
    """
    if n1 <= 0 or n0 <= 0:
        return math.nan, math.nan, math.nan
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1, alpha)
    l0, u0 = wilson(x0, n0, alpha)
    d = p1 - p0
    lo = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, lo, hi
