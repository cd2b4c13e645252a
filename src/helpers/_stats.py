"""Shared statistical internals: the one Wilson interval every report uses.

Cohort retention, the funnel, the activity review, the channel scorecard, renewal rates and the
overview all take their binomial intervals from :func:`wilson`, so a share has the same interval
wherever it appears (checked against statsmodels ``proportion_confint(method="wilson")``).
"""

from __future__ import annotations

import numpy as np

from . import config


def wilson(successes, n, alpha: float = config.ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds (vectorised); cells with ``n == 0`` get NaN.

    Exact 0 / 1 at the edges (no float dust below 0 or above 1).

    Examples
    --------
    >>> lo, hi = wilson([3, 0], [10, 0])
    >>> [round(float(lo[0]), 4), round(float(hi[0]), 4)], bool(np.isnan(lo[1]))
    ([0.1078, 0.6032], True)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    from statistics import NormalDist  # not scipy: importing scipy.stats costs a second
    z = NormalDist().inv_cdf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.clip(centre - half, 0, 1)
        high = np.clip(centre + half, 0, 1)
    low = np.where(x <= 0, 0.0, low)
    high = np.where(x >= n, 1.0, high)
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)
