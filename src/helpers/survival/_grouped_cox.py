"""An exact Cox fit (Efron ties) through covariate patterns, for large counting-process data.

With daily resolution and discrete covariates (participation so far, channel dummies, an
integer early-activity count) millions of (start, stop] rows share a few thousand covariate
*patterns* and a few hundred distinct event times. Efron's partial likelihood depends on the
data only through, per event time k and pattern g, the number at risk ``R[g, k]`` and the
number of events ``D[g, k]``; this module builds those two tables with ``np.searchsorted`` of
start/stop in the event times and cumulative sums, and runs lifelines' own Newton–Raphson
iteration (``CoxTimeVaryingFitter._newton_raphson_for_efron_model``: same step sizes, same
stopping rules, the ridge penalty on the normalised scale) on them. The estimates, standard
errors, log-likelihood and Breslow baseline are lifelines' up to floating-point rounding
(``tests/test_grouped_cox.py``): this is not an approximation. lifelines loops in Python over
event times and, for each, scans all n rows: O(n · K) per iteration, ~30 min and 18 GB at
10,000,000 members; here one iteration is O(G · K · d²).

Efron's sum over the d tied events of one time has closed forms. With
``S = Σ_g R_g φ_g``, ``T = Σ_g D_g φ_g`` and ``a = d S / T``:

- ``Σ_{l<d} log(S − l T / d) = d log(T / d) + lgamma(a + 1) − lgamma(a − d + 1)``
- ``Σ_{l<d} 1 / (S − l T / d) = (d / T) [ψ(a + 1) − ψ(a − d + 1)]``
- ``Σ_{l<d} 1 / (S − l T / d)² = (d / T)² [ψ₁(a − d + 1) − ψ₁(a + 1)]``

and every numerator of the gradient and Hessian splits as ``S₁ − (l/d) T₁ = u N_l + v`` with
``N_l = S − (l/d) T``, ``u = T₁ / T``, ``v = S₁ − S T₁ / T``, so the sums over l reduce to the
three above (:func:`efron_closed_forms`; its example checks them against the direct loop).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = ["PATTERN_BUDGET", "GroupedCoxFit", "concordance_counts", "efron_closed_forms",
           "efron_sums", "grouped_cox", "table_cells"]

#: largest working tables (in floats, :func:`table_cells`) fitted here; above it lifelines
#: fits the rows. 250 million floats are ~2 GB; the report's models at 10,000,000 members
#: need a few tens of millions.
PATTERN_BUDGET = 250_000_000


def table_cells(patterns: int, times: int, terms: int) -> int:
    """Floats held by one fit: R, D and their products with φ (patterns × times each), the
    per-time sums S₁, T₁, S₂, T₂ and the Hessian pieces (times × terms², six of them).

    >>> table_cells(1000, 5000, 8)
    21920000
    """
    return 4 * patterns * times + 6 * times * terms * terms


#: ties up to this many events are summed directly (exact to rounding; the closed forms lose
#: digits to cancellation when the risk set is much larger than the ties, e.g. lgamma(a + 1)
#: − lgamma(a) at a = 3·10⁶: ~1e-11 relative); larger ties use the closed forms. The direct
#: sums cost at most DIRECT_TIES × event times terms per iteration.
DIRECT_TIES = 1000


def efron_closed_forms(S, T, d):
    """Efron's three sums over the d tied events of one time, in closed form (see the module).

    Parameters
    ----------
    S, T : ndarray
        Risk-set and tie sums of the relative hazards (``T ≤ S``, ``T > 0``).
    d : ndarray
        Number of tied events (≥ 1).

    Returns
    -------
    tuple of ndarray
        ``Σ_{l<d} log(S − lT/d)``, ``Σ 1/(S − lT/d)``, ``Σ 1/(S − lT/d)²``.

    Examples
    --------
    The direct loops over the tied events, for two event times:

    >>> S, T, d = np.array([10.0, 7.5]), np.array([4.0, 7.5]), np.array([3, 2])
    >>> N = [S[k] - np.arange(d[k]) * T[k] / d[k] for k in range(2)]
    >>> loop = [[np.log(x).sum() for x in N], [(1 / x).sum() for x in N],
    ...         [(1 / x ** 2).sum() for x in N]]
    >>> bool(np.allclose(efron_closed_forms(S, T, d), loop, rtol=1e-13, atol=0))
    True
    """
    S, T, d = (np.asarray(v, float) for v in (S, T, d))
    a = d * S / T
    lo = a - d + 1.0
    log_sum = d * np.log(T / d) + special.gammaln(a + 1.0) - special.gammaln(lo)
    inv = d / T * (special.digamma(a + 1.0) - special.digamma(lo))
    inv2 = (d / T) ** 2 * (special.polygamma(1, lo) - special.polygamma(1, a + 1.0))
    return log_sum, inv, inv2


def efron_sums(S, T, d, direct_ties: int = DIRECT_TIES):
    """Efron's sums: summed term by term for ties of up to ``direct_ties`` events, by
    :func:`efron_closed_forms` beyond (same arguments and result).

    Examples
    --------
    One event among a risk set of 10⁷ (summed directly) and 200 ties (closed forms):

    >>> S, T, d = np.array([1e7, 50.0]), np.array([3.3, 30.0]), np.array([1, 200])
    >>> N = [S[k] - np.arange(d[k]) * T[k] / d[k] for k in range(2)]
    >>> bool(np.allclose(efron_sums(S, T, d)[0], [np.log(x).sum() for x in N], rtol=1e-14))
    True
    """
    S, T, d = (np.asarray(v, float) for v in (S, T, d))
    log_sum, inv, inv2 = efron_closed_forms(S, T, d)
    small = np.flatnonzero(d <= direct_ties)
    if small.size:
        m = d[small].astype(np.int64)
        k = np.repeat(np.arange(small.size), m)
        ends = np.cumsum(m)
        frac = (np.arange(ends[-1]) - np.repeat(ends - m, m)) / np.repeat(m, m)
        N = S[small][k] - frac * T[small][k]
        log_sum[small] = np.bincount(k, weights=np.log(N), minlength=small.size)
        inv[small] = np.bincount(k, weights=1.0 / N, minlength=small.size)
        inv2[small] = np.bincount(k, weights=1.0 / N ** 2, minlength=small.size)
    return log_sum, inv, inv2


class GroupedCoxFit:
    """A fitted Cox model offering what the survival module uses of a lifelines fitter.

    Attributes (lifelines' names and meanings): ``params_`` (Series of coefficients),
    ``variance_matrix_``, ``standard_errors_``, ``confidence_intervals_``, ``summary``
    (``coef, exp(coef), se(coef), …, z, p, -log2(p)``), ``log_likelihood_`` (penalised, as
    lifelines reports it), ``baseline_cumulative_hazard_`` (Breslow, at the distinct event
    times, for covariates at their means), ``baseline_survival_``, ``_norm_mean``,
    ``_norm_std``, ``penalizer``, ``alpha``; ``predict_partial_hazard(X)`` = exp((x − x̄)'β).
    ``patterns`` and ``event_times`` say how much the data collapsed.
    """

    def __init__(self, *, params, variance, log_likelihood, baseline, norm_mean, norm_std,
                 penalizer, alpha, patterns, event_times, rows):
        self.params_ = params
        self.variance_matrix_ = variance
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(variance.to_numpy())),
                                          index=params.index, name="se")
        self.log_likelihood_ = log_likelihood
        self.baseline_cumulative_hazard_ = baseline
        self.baseline_survival_ = pd.DataFrame(np.exp(-baseline.to_numpy()),
                                               index=baseline.index,
                                               columns=["baseline survival"])
        self._norm_mean, self._norm_std = norm_mean, norm_std
        self.penalizer, self.alpha = penalizer, alpha
        self.patterns, self.event_times, self.rows = patterns, event_times, rows
        z = stats.norm.ppf(1 - alpha / 2)
        se = self.standard_errors_.to_numpy()
        ci = 100 * (1 - alpha)
        self.confidence_intervals_ = pd.DataFrame(
            np.c_[params.to_numpy() - z * se, params.to_numpy() + z * se],
            columns=[f"{ci:g}% lower-bound", f"{ci:g}% upper-bound"], index=params.index)

    @property
    def summary(self) -> pd.DataFrame:
        """lifelines' summary table (same columns)."""
        ci = 100 * (1 - self.alpha)
        coef, se = self.params_.to_numpy(), self.standard_errors_.to_numpy()
        lo, hi = self.confidence_intervals_.to_numpy().T
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = coef / se
            p = stats.chi2.sf(z ** 2, 1)
            out = pd.DataFrame({
                "coef": coef, "exp(coef)": np.exp(coef), "se(coef)": se,
                f"coef lower {ci:g}%": lo, f"coef upper {ci:g}%": hi,
                f"exp(coef) lower {ci:g}%": np.exp(lo), f"exp(coef) upper {ci:g}%": np.exp(hi),
                "cmp to": 0.0, "z": z, "p": p, "-log2(p)": -np.log2(p)},
                index=self.params_.index)
        return out

    def predict_log_partial_hazard(self, X) -> pd.Series:
        """(x − x̄)'β for the rows of X (a DataFrame with the model's columns, or an array)."""
        if isinstance(X, pd.DataFrame):
            index, X = X.index, X[list(self.params_.index)].to_numpy(float)
        else:
            X = np.asarray(X, float)
            index = pd.RangeIndex(len(X))
        return pd.Series((X - self._norm_mean.to_numpy()) @ self.params_.to_numpy(), index=index)

    def predict_partial_hazard(self, X) -> pd.Series:
        """exp((x − x̄)'β), as lifelines' ``predict_partial_hazard``."""
        return np.exp(self.predict_log_partial_hazard(X))

    def __repr__(self):
        return (f"<GroupedCoxFit: {self.rows} rows in {self.patterns} covariate patterns, "
                f"{self.event_times} event times>")


def _tables(codes, n_patterns, start, stop, event, times):
    """R[g, k] (at risk: start < t_k ≤ stop) and D[g, k] (events at t_k) as dense arrays."""
    K = len(times)
    cells = n_patterns * (K + 1)
    base = codes.astype(np.int64) * (K + 1)
    # first k with t_k > start enters the risk set; first k with t_k > stop leaves it
    R = np.bincount(base + np.searchsorted(times, start, side="right"), minlength=cells)
    R = R - np.bincount(base + np.searchsorted(times, stop, side="right"), minlength=cells)
    R = np.cumsum(R.reshape(n_patterns, K + 1), axis=1)[:, :K].astype(float)
    ev = np.flatnonzero(event)
    D = np.bincount(codes[ev].astype(np.int64) * K
                    + np.searchsorted(times, stop[ev], side="left"),
                    minlength=n_patterns * K).reshape(n_patterns, K).astype(float)
    return R, D


def _pattern_codes(Xv: np.ndarray):
    """Distinct rows of Xv and each row's pattern number (one integer key per row: the
    per-column value codes in mixed radix, so 10⁷ rows are not sorted as whole rows)."""
    n, p = Xv.shape
    key = np.zeros(n, np.int64)
    radix = 1
    for j in range(p):
        _, inv = np.unique(Xv[:, j], return_inverse=True)
        m = int(inv.max()) + 1 if n else 1
        radix *= m
        if radix >= 2 ** 62:
            patterns, codes = np.unique(Xv, axis=0, return_inverse=True)
            return patterns, codes.reshape(-1)
        key = key * m + inv.reshape(-1)
    codes = pd.factorize(key)[0]  # numbered in order of first appearance
    first = np.r_[0, np.flatnonzero(np.diff(np.maximum.accumulate(codes)) > 0) + 1]
    return Xv[first], codes


def _derivatives(Z, R, D, d_k, beta):
    """Hessian, gradient and Efron log partial likelihood at ``beta`` (normalised scale)."""
    eta = Z @ beta
    phi = np.exp(eta)  # (G,)
    G, p = Z.shape
    ZZ = (Z[:, :, None] * Z[:, None, :]).reshape(G, p * p)
    Rphi, Dphi = R * phi[:, None], D * phi[:, None]  # (G, K)
    S, T = Rphi.sum(0), Dphi.sum(0)  # (K,)
    S1, T1 = Rphi.T @ Z, Dphi.T @ Z  # (K, p)
    S2, T2 = Rphi.T @ ZZ, Dphi.T @ ZZ  # (K, p²)
    log_sum, A1, A2 = efron_sums(S, T, d_k)
    u = T1 / T[:, None]
    v = S1 - S[:, None] * u
    x_events = D.sum(1) @ Z  # Σ over events of x
    ll = float(x_events @ beta - log_sum.sum())
    grad = x_events - (d_k[:, None] * u + v * A1[:, None]).sum(0)
    first = d_k[:, None] * T2 / T[:, None] + (S2 - S[:, None] * T2 / T[:, None]) * A1[:, None]
    uu = (u[:, :, None] * u[:, None, :]).reshape(-1, p * p)
    uv = (u[:, :, None] * v[:, None, :]).reshape(-1, p * p)
    vu = (v[:, :, None] * u[:, None, :]).reshape(-1, p * p)
    vv = (v[:, :, None] * v[:, None, :]).reshape(-1, p * p)
    second = d_k[:, None] * uu + (uv + vu) * A1[:, None] + vv * A2[:, None]
    hess = -(first - second).sum(0).reshape(p, p)
    return hess, grad, ll


def _newton_raphson(Z, R, D, d_k, n_rows, penalizer, style="time_varying"):
    """lifelines' Newton–Raphson on the pattern tables: the step sizer, stopping rules and ridge
    penalty ``n · penalizer · β² / 2`` (normalised scale) of CoxTimeVaryingFitter
    (``style="time_varying"``: precision 1e-8, 50 steps, the last step taken after the
    check) or of CoxPHFitter (``"static"``: 1e-7, 500 steps, stops at the point evaluated)."""
    from lifelines.exceptions import ConvergenceError
    from lifelines.utils import StepSizer

    static = style == "static"
    precision, max_steps, min_step = (1e-7, 500, 1e-5) if static else (1e-8, 50, 1e-4)
    p = Z.shape[1]
    beta, delta = np.zeros(p), np.zeros(p)
    sizer = StepSizer(0.95)
    step = sizer.next()
    previous_ll, i = 0.0, 0
    while True:
        if static:
            beta = beta + step * delta
        i += 1
        h, g, ll = _derivatives(Z, R, D, d_k, beta)
        if penalizer > 0:
            ll -= n_rows * penalizer * 0.5 * float(beta @ beta)
            g = g - n_rows * penalizer * beta
            h = h - n_rows * penalizer * np.eye(p)
        if not (np.all(np.isfinite(h)) and np.all(np.isfinite(g))):
            raise ConvergenceError("hessian or gradient contains nan or inf value(s)")
        try:
            inv_h_g = np.linalg.solve(-h, g)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("Convergence halted due to matrix inversion problems", exc)
        delta = inv_h_g if static else step * inv_h_g
        if np.any(np.isnan(delta)):
            raise ConvergenceError("delta contains nan value(s). Convergence halted.")
        hessian = h
        norm_delta = float(np.linalg.norm(delta))
        decrement = float(g @ inv_h_g) / 2
        # CoxTimeVaryingFitter never updates its previous log-likelihood (its relative-change
        # rule cannot fire); CoxPHFitter does
        done = (norm_delta < precision
                or (previous_ll != 0 and abs(ll - previous_ll) / (-previous_ll) < 1e-9)
                or decrement < precision or i >= max_steps or step <= min_step
                or (abs(ll) < 0.0001 and norm_delta > 1.0))
        if static:
            previous_ll = ll
        step = sizer.update(norm_delta).next()
        if not static:
            beta = beta + delta
        if done:
            return beta, ll, hessian


def grouped_cox(X: pd.DataFrame, start, stop, event, *, penalizer: float = 0.0,
                alpha: float = 0.05, budget: float | None = None,
                style: str = "time_varying", strata=None) -> GroupedCoxFit | None:
    """Fit a Cox model on (start, stop] rows by covariate pattern; None when it does not apply.

    Parameters
    ----------
    X : DataFrame
        Numeric design matrix, one row per interval (columns = model terms).
    start, stop : array-like
        Interval ends, ``start < stop`` (the member is at risk at times in (start, stop]).
    event : array-like of bool
        An event at ``stop``.
    penalizer, alpha : float
        lifelines' ridge penalty and the confidence level's alpha.
    style : {"time_varying", "static"}
        Whose iteration to run: lifelines' CoxTimeVaryingFitter or CoxPHFitter (a model with
        one row per member is the case ``start`` below every time; see
        :func:`_newton_raphson`). The optimum is the same; the stopping points differ by
        ~1e-8, and each style reproduces its fitter to rounding.
    strata : array-like, optional
        Stratum of each row (any labels): each stratum has its own risk sets and baseline
        hazard, as lifelines' ``strata=``. The baseline of a stratified fit is not computed
        (``baseline_cumulative_hazard_`` is empty).
    budget : float, optional
        Largest :func:`table_cells` fitted here (default
        :data:`PATTERN_BUDGET`, read at call time).

    Returns
    -------
    GroupedCoxFit or None
        None (the caller fits with lifelines) when the collapsed tables would exceed
        ``budget``, a column is constant or not finite, an interval is empty or reversed, or
        there is no event — the cases in which lifelines' own checks, warnings or errors
        should speak.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 0.0, 1.0, 1.0]})
    >>> fit = grouped_cox(X, [0, 0, 0, 2, 0], [3, 2, 1, 4, 4], [True, False, True, True, False])
    >>> fit.patterns, fit.event_times
    (2, 3)
    """
    Xv = X.to_numpy(dtype=float)
    start, stop = np.asarray(start, float), np.asarray(stop, float)
    event = np.asarray(event, bool)
    n, p = Xv.shape
    if (n == 0 or p == 0 or not event.any() or not np.all(np.isfinite(Xv))
            or not np.all(np.isfinite(start)) or not np.all(np.isfinite(stop))
            or np.any(stop <= start)):
        return None
    if strata is not None:
        # strata as disjoint stretches of the time axis: a row is at risk only among the
        # event times of its own stratum (times keep their order and ties within a stratum)
        level = pd.factorize(np.asarray(strata))[0].astype(float)
        if np.any(level < 0):
            return None
        width = float(stop.max() - start.min()) + 1.0
        start, stop = start + level * width, stop + level * width
        patterns, codes = _pattern_codes(np.column_stack([Xv, level]))
        patterns = patterns[:, :p]
    else:
        patterns, codes = _pattern_codes(Xv)
    times = np.unique(stop[event])
    G, K = len(patterns), len(times)
    if table_cells(G, K, p) > (PATTERN_BUDGET if budget is None else budget):
        return None
    # the mean and std as pandas computes them over the rows (lifelines' normalisation)
    mean = X.mean(0).to_numpy(float)
    std = X.std(0).to_numpy(float)
    if n < 2 or np.any(~np.isfinite(std)) or np.any(std == 0):
        return None
    R, D = _tables(codes, G, start, stop, event, times)
    d_k = D.sum(0)
    Z = (patterns - mean) / std
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        beta, ll, hessian = _newton_raphson(Z, R, D, d_k, n, penalizer, style)
    cols = pd.Index(X.columns, name="covariate")
    params = pd.Series(beta / std, index=cols, name="coef")
    variance = pd.DataFrame(-np.linalg.inv(hessian) / np.outer(std, std), index=cols,
                            columns=cols)
    # Breslow baseline at the event times for covariates at their means, as lifelines
    rel = np.exp((patterns - mean) @ params.to_numpy())
    baseline = pd.DataFrame({"baseline hazard": np.cumsum(d_k / (rel @ R))},
                            index=times) if strata is None else \
        pd.DataFrame({"baseline hazard": []}, index=pd.Index([], dtype=float))
    return GroupedCoxFit(params=params, variance=variance, log_likelihood=ll,
                         baseline=baseline, norm_mean=pd.Series(mean, index=cols),
                         norm_std=pd.Series(std, index=cols), penalizer=penalizer, alpha=alpha,
                         patterns=G, event_times=K, rows=n)


def concordance_counts(T, score, E, *, budget: float = 2e7):
    """Harrell's concordance counts as lifelines counts them, through a times × scores table.

    lifelines' ``_concordance_summary_statistics`` walks the members in time order and keeps
    the scores of earlier churns in a binary tree: one Python insert and lookup per member
    (about 10 s at 1,000,000 members). With few distinct scores (a model on discrete
    covariates) the same counts come from cumulative sums: member j is compared with the
    churns before it (``T_i < T_j`` for a churned j, ``T_i ≤ T_j`` for a censored j); the pair
    is correct when the churn's score is lower, tied when equal.

    Parameters
    ----------
    T, score, E : array-like
        Durations, scores (higher = longer survival, e.g. minus the partial hazard) and the
        event flags.
    budget : float
        Largest distinct times × distinct scores handled here.

    Returns
    -------
    tuple of int or None
        ``(correct, tied, pairs)`` (the C-index is ``(correct + tied / 2) / pairs``), or None
        when the table would exceed ``budget`` (then use lifelines).

    Examples
    --------
    >>> from lifelines.utils.concordance import _concordance_summary_statistics as tree
    >>> T, s = np.array([1, 2, 2, 3, 4.0]), np.array([0, 1, 1, 0, 2.0])
    >>> E = np.array([1, 1, 0, 1, 0])
    >>> concordance_counts(T, s, E) == tuple(int(v) for v in tree(T, s, E.astype(bool)))
    True
    """
    T, score = np.asarray(T, float), np.asarray(score, float)
    E = np.asarray(E).astype(bool)
    times, k = np.unique(T, return_inverse=True)
    scores, v = np.unique(score, return_inverse=True)
    K, V = len(times), len(scores)
    if K * V > budget:
        return None
    k, v = k.reshape(-1), v.reshape(-1)
    deaths = np.bincount(k[E] * V + v[E], minlength=K * V).reshape(K, V)
    upto = np.cumsum(deaths, axis=0)  # churns with time rank <= k
    before = upto - deaths  # churns with time rank < k
    counted = [(before, np.bincount(k[E] * V + v[E], minlength=K * V).reshape(K, V)),
               (upto, np.bincount(k[~E] * V + v[~E], minlength=K * V).reshape(K, V))]
    correct = tied = pairs = 0
    for M, members in counted:
        lower = np.cumsum(M, axis=1) - M  # churns with a lower score
        correct += int((members * lower).sum())
        tied += int((members * M).sum())
        pairs += int((members.sum(axis=1) * M.sum(axis=1)).sum())
    return correct, tied, pairs
