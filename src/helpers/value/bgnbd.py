"""BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005): maximum likelihood and predictions.

A customer buys at Poisson rate λ while alive and, after each repeat purchase, drops out with
probability p; λ ~ Gamma(r, α) and p ~ Beta(a, b) across customers. Data per customer (lifetimes'
conventions): ``frequency`` x (repeat purchase periods), ``recency`` t_x (time of the last
purchase since the first) and ``T`` (time since the first purchase), in one time unit.

The log-likelihood is the closed form of the paper (eq. 6) with its analytic gradient; identical
(x, t_x, T) rows are pooled with weights, so a fit at 10^6 customers takes seconds.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from ..errors import ParameterError
from ._uncertainty import pool_rows

PARAM_NAMES = ("r", "alpha", "a", "b")


def loglik_terms(params, x, t_x, T):
    """Per-customer log-likelihood (and the pieces its gradient needs)."""
    r, alpha, a, b = params
    x = np.asarray(x, float)
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    A2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    A3 = -(r + x) * np.log(alpha + T)
    pos = x > 0
    A4 = np.full_like(A3, -np.inf)
    xp = np.where(pos, x, 1.0)
    A4 = np.where(pos, np.log(a) - np.log(b + xp - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    L34 = np.logaddexp(A3, A4)
    return A1 + A2 + L34, (A3, A4, L34, pos, xp)


def negloglik(log_params, x, t_x, T, w):
    """Negative total log-likelihood and its gradient in log-parameters (for the optimiser)."""
    params = np.exp(log_params)
    r, alpha, a, b = params
    ll, (A3, A4, L34, pos, xp) = loglik_terms(params, x, t_x, T)
    w3 = np.exp(A3 - L34)
    w4 = np.where(pos, np.exp(A4 - L34), 0.0)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) \
        - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = special.digamma(a + b) - special.digamma(a + b + x) + w4 / a
    d_b = special.digamma(a + b) + special.digamma(b + x) - special.digamma(b) \
        - special.digamma(a + b + x) - w4 / (b + xp - 1)
    # (w * g).sum(), not np.dot: BLAS threads cost more than they save on a busy machine
    grad = np.array([(w * g).sum() for g in (d_r, d_alpha, d_a, d_b)]) * params
    return -float((w * ll).sum()), -grad


def fit(frequency, recency, T) -> dict[str, float]:
    """Maximum-likelihood BG/NBD parameters ``{r, alpha, a, b}``.

    Parameters
    ----------
    frequency, recency, T : array-like
        Per customer: repeat purchase periods x ≥ 0, time of the last purchase t_x ≤ T, and
        time since the first purchase T > 0, all in the same unit.

    Raises
    ------
    ParameterError
        Fewer than two customers, or nobody with a repeat purchase (the model is not identified).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.poisson(1.0, 400); T = np.full(400, 30.0); t = np.where(x > 0, 20.0, 0.0)
    >>> sorted(fit(x, t, T))
    ['a', 'alpha', 'b', 'r']
    """
    x, t_x, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
    if len(x) < 2 or not (x > 0).any():
        raise ParameterError("the BG/NBD model needs at least two customers and some repeat "
                             "purchases")
    (x, t_x, T_), w = pool_rows(x, t_x, T_)
    scale = max(float(np.average(T_, weights=w)), 1e-9)
    start = np.log([1.0, scale, 1.0, 1.0])
    best = None
    for method in ("L-BFGS-B", "BFGS"):
        res = optimize.minimize(negloglik, start, args=(x, t_x, T_, w), jac=True, method=method,
                                bounds=[(-12, 12)] * 4 if method == "L-BFGS-B" else None,
                                options={"maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
        if res.success:
            break
    return dict(zip(PARAM_NAMES, map(float, np.exp(best.x))))


def p_alive(params, frequency, recency, T) -> np.ndarray:
    """Probability that each customer is still alive at T (eq. 11 of the paper)."""
    r, alpha, a, b = (params[k] for k in PARAM_NAMES)
    x, t_x, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
    xp = np.where(x > 0, x, 1.0)
    log_ratio = np.log(a) - np.log(b + xp - 1) + (r + x) * (np.log(alpha + T_) - np.log(alpha + t_x))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` time units given (x, t_x, T) (eq. 10)."""
    r, alpha, a, b = (params[k] for k in PARAM_NAMES)
    x, t_x, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
    z = t / (alpha + T_ + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T_) / (alpha + T_ + t)) ** (r + x) * hyp)
    xp = np.where(x > 0, x, 1.0)
    ratio = np.where(x > 0, a / (b + xp - 1) * ((alpha + T_) / (alpha + t_x)) ** (r + x), 0.0)
    return first / (1 + ratio)


def simulate(params, n: int, T: float, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of ``n`` customers drawn from the model, each watched for ``T``.

    Used to show the fit recovers planted parameters (tests).
    """
    r, alpha, a, b = (params[k] for k in PARAM_NAMES)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    alive = np.ones(n, bool)
    now = np.zeros(n)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / np.maximum(lam[idx], 1e-12))
        inside = now[idx] <= T
        buy = idx[inside]
        x[buy] += 1
        t_x[buy] = now[buy]
        alive[idx[~inside]] = False
        drop = buy[rng.random(buy.size) < p[buy]]
        alive[drop] = False
    return x, t_x, np.full(n, float(T))
