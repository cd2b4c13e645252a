"""Shifted-beta-geometric (sBG) model of renewals (Fader & Hardie 2007).

Each member has a churn probability θ per period (θ ~ Beta(α, β)) and renews at the end of each
period with probability 1 − θ. P(T = t) = B(α + 1, β + t − 1) / B(α, β) is the chance a member
stays exactly t periods; S(t) = B(α, β + t) / B(α, β) that they stay more than t.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from ..errors import ParameterError

PARAM_NAMES = ("alpha", "beta")


def log_pmf(alpha, beta, t):
    """log P(T = t), t = 1, 2, …"""
    t = np.asarray(t, float)
    return special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)


def log_survival(alpha, beta, t):
    """log S(t) = log P(T > t), t = 0, 1, …"""
    t = np.asarray(t, float)
    return special.betaln(alpha, beta + t) - special.betaln(alpha, beta)


def retention_rate(alpha, beta, k):
    """Projected renewal rate at renewal k: P(T > k | T > k − 1) = (β + k − 1)/(α + β + k − 1)."""
    k = np.asarray(k, float)
    return (beta + k - 1) / (alpha + beta + k - 1)


def fit(lost_at, lost, censored_at, censored) -> dict[str, float]:
    """Maximum-likelihood (alpha, beta) from counts.

    Parameters
    ----------
    lost_at, lost : array-like
        Members who stayed exactly ``lost_at`` periods (did not renew at that renewal), counts.
    censored_at, censored : array-like
        Members known to have stayed more than ``censored_at`` periods (still in a period),
        counts.

    Examples
    --------
    Fader & Hardie (2007), "regular" customers: 1000, 631, 468, 382, 326, 289, 262, 241 alive.

    >>> alive = np.array([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> p = fit(np.arange(1, 8), -np.diff(alive), [7], [241])
    >>> round(p["alpha"], 3), round(p["beta"], 3)
    (0.704, 1.182)
    """
    lost_at, lost = np.asarray(lost_at, float), np.asarray(lost, float)
    censored_at, censored = np.asarray(censored_at, float), np.asarray(censored, float)
    if lost.sum() <= 0 or lost.sum() + censored.sum() < 2:
        raise ParameterError("the renewal model needs at least one member who did not renew")

    def nll(lp):
        a, b = np.exp(lp)
        return -((lost * log_pmf(a, b, lost_at)).sum()
                 + (censored * log_survival(a, b, censored_at)).sum())

    best = None
    for x0 in ([0.0, 0.0], [-1.0, 1.0], [1.0, 2.0]):
        res = optimize.minimize(nll, x0, method="Nelder-Mead",
                                options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    return dict(zip(PARAM_NAMES, map(float, np.exp(best.x))))
