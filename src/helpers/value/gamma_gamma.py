"""Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV").

The mean of a customer's x repeat purchases, m_x, is Gamma(p·x, ν·x) given the customer's ν,
and ν ~ Gamma(q, v) across customers. Fitted by maximum likelihood on customers with x > 0.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from ..errors import ParameterError

PARAM_NAMES = ("p", "q", "v")


def loglik(params, x, m):
    """Per-customer log-likelihood of the mean repeat purchase value ``m`` given ``x``."""
    p, q, v = params
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v))


def negloglik(log_params, x, m):
    p, q, v = np.exp(log_params)
    px = p * x
    ll = loglik((p, q, v), x, m)
    d_p = x * (special.digamma(px + q) - special.digamma(px) + np.log(m) + np.log(x)
               - np.log(x * m + v))
    d_q = special.digamma(px + q) - special.digamma(q) + np.log(v) - np.log(x * m + v)
    d_v = q / v - (px + q) / (x * m + v)
    grad = np.array([d_p.sum() * p, d_q.sum() * q, d_v.sum() * v])
    return -float(ll.sum()), -grad


def fit(frequency, monetary_value) -> dict[str, float]:
    """Maximum-likelihood Gamma-Gamma parameters ``{p, q, v}`` from customers with x > 0.

    Rows with ``frequency == 0`` or a non-positive mean value are left out (they carry no
    information on spend per repeat purchase).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> x = rng.integers(1, 6, 3000); nu = rng.gamma(4.0, 1 / 20.0, 3000)
    >>> m = rng.gamma(6.0 * x, 1 / (nu * x))
    >>> abs(fit(x, m)["p"] - 6.0) < 1.5      # planted p = 6
    True
    """
    x, m = np.asarray(frequency, float), np.asarray(monetary_value, float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if len(x) < 3:
        raise ParameterError("the Gamma-Gamma model needs at least three customers with repeat "
                             "purchases")
    start = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-6)])
    best = None
    for method in ("L-BFGS-B", "BFGS"):
        res = optimize.minimize(negloglik, start, args=(x, m), jac=True, method=method,
                                bounds=[(-12, 12), (-12, 12), (-20, 25)] if method == "L-BFGS-B"
                                else None, options={"maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
        if res.success:
            break
    return dict(zip(PARAM_NAMES, map(float, np.exp(best.x))))


def expected_spend_per_purchase(params, frequency, monetary_value) -> np.ndarray:
    """E[spend per purchase | x, m_x] = p(v + x·m_x) / (p·x + q − 1); the population mean
    p·v/(q − 1) for customers without repeat purchases (NaN when q ≤ 1)."""
    p, q, v = (params[k] for k in PARAM_NAMES)
    x = np.asarray(frequency, float)
    m = np.nan_to_num(np.asarray(monetary_value, float))
    m = np.where(x > 0, m, 0.0)
    denom = p * x + q - 1
    return np.where(denom > 0, p * (v + x * m) / np.where(denom > 0, denom, 1.0), np.nan)
