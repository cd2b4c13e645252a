"""Two-arm comparisons: Welch, two proportions, CUPED, ratios (delta method)."""

from __future__ import annotations

import math
from dataclasses import asdict

from scipy import stats

from .. import config
from .._i18n import Note
from ._core import MESSAGES, TestResult, compare_arms
from .summary import MeanStats, ProportionStats, RatioStats, RegressionAdjustedStats

__all__ = ["welch_test", "proportion_test", "cuped_theta", "cuped_test", "ratio_test"]


# ----------------------------------------------------------------------------- tests
def _as_mean_stats(x) -> MeanStats:
    if isinstance(x, (MeanStats, RatioStats)):
        return x
    if isinstance(x, RegressionAdjustedStats):
        return x.post
    return MeanStats.from_values(x)


def welch_test(control, treatment, *, relative: bool = False,
               alpha: float = config.ALPHA) -> TestResult:
    """Welch's t-test of treatment − control (or treatment/control − 1).

    Parameters
    ----------
    control, treatment : MeanStats, ProportionStats, RatioStats or array-like of values
    relative : bool
        Report the relative lift with a delta-method interval.
    alpha : float
        Two-sided level; the interval has coverage ``1 − alpha``.

    Returns
    -------
    TestResult
        ``estimate, ci_low, ci_high, p_value, se, df`` (Welch–Satterthwaite), ``method="welch"``.

    Examples
    --------
    >>> r = welch_test(MeanStats(100, 50.0, 60.0), MeanStats(100, 60.0, 75.0))
    >>> round(r.estimate, 2)
    0.1
    """
    c, t = _as_mean_stats(control), _as_mean_stats(treatment)
    return compare_arms(c.mean, c.variance_of_mean, c.n, t.mean, t.variance_of_mean, t.n,
                    relative=relative, alpha=alpha,
                    method="delta-method ratio (Welch df)" if isinstance(c, RatioStats) else "welch")


def proportion_test(control: ProportionStats, treatment: ProportionStats, *,
                    relative: bool = False, alpha: float = config.ALPHA) -> TestResult:
    """Two-proportion z-test: pooled-variance p-value, unpooled (Wald) interval.

    The p-value equals statsmodels ``proportions_ztest`` (pooled under H0); the absolute CI
    equals ``confint_proportions_2indep(method="wald")``.

    Returns
    -------
    TestResult
        ``method="z-test"``, ``df = inf``.

    Examples
    --------
    >>> r = proportion_test(ProportionStats(1000, 100), ProportionStats(1000, 130))
    >>> round(r.estimate, 3)
    0.03
    """
    c, t = control, treatment
    res = compare_arms(c.mean, c.mean * (1 - c.mean) / c.n if c.n else math.nan, c.n,
                   t.mean, t.mean * (1 - t.mean) / t.n if t.n else math.nan, t.n,
                   relative=relative, alpha=alpha, method="z-test", df=math.inf)
    if math.isnan(res.estimate):
        return res
    p = (c.sum + t.sum) / (c.n + t.n)
    se0 = math.sqrt(p * (1 - p) * (1 / c.n + 1 / t.n))
    p_value = float(2 * stats.norm.sf(abs(t.mean - c.mean) / se0)) if se0 > 0 else math.nan
    return TestResult(**{**asdict(res), "p_value": p_value, "warnings": res.warnings,
                         "extra": res.extra})


def cuped_theta(control: RegressionAdjustedStats, treatment: RegressionAdjustedStats) -> float:
    """θ = cov(Y, X) / var(X) over both arms pooled (``nan`` when X has no variance)."""
    pooled = control + treatment
    vx = pooled.pre.variance
    return pooled.covariance / vx if vx > 0 else math.nan


def cuped_test(control: RegressionAdjustedStats, treatment: RegressionAdjustedStats, *,
               relative: bool = False, alpha: float = config.ALPHA,
               theta: float | None = None) -> TestResult:
    """CUPED: Welch's test on ``Y − θ(X − X̄)`` with θ pooled over arms.

    Arm means are adjusted with the pooled pre-period mean ``X̄``; the difference has the
    variance Σ_arms ``(var(Y) + θ² var(X) − 2θ cov(X, Y)) / n``; the relative lift uses the
    delta method with the covariance the shared ``X̄`` induces between the adjusted means
    (ignoring it inflates the false-positive rate of the relative test). If X has no variance
    the unadjusted test is returned with a warning.

    Returns
    -------
    TestResult
        ``method="cuped"``; ``extra`` has ``theta`` and ``variance_reduction``
        (1 − adjusted / unadjusted variance of the estimate).

    Examples
    --------
    >>> c = RegressionAdjustedStats.from_values([1, 2, 3, 4], [1, 2, 2, 4])
    >>> t = RegressionAdjustedStats.from_values([2, 3, 5, 5], [1, 2, 3, 4])
    >>> round(cuped_test(c, t).get("theta"), 3)
    1.076
    """
    th = cuped_theta(control, treatment) if theta is None else float(theta)
    plain = welch_test(control.post, treatment.post, relative=relative, alpha=alpha)
    if math.isnan(th):
        return TestResult(**{**asdict(plain), "warnings": plain.warnings + (
            Note(MESSAGES, "no_pre_variance"),), "extra": (
            ("theta", math.nan), ("variance_reduction", 0.0))})
    # m_k = Ȳ_k − θ(X̄_k − X̄) with X̄ = w_c X̄_c + w_t X̄_t: linear in both arms' means, so the
    # two adjusted means are correlated; the delta method below carries that covariance.
    c, t = control, treatment
    n = c.n + t.n
    wc, wt = c.n / n, t.n / n
    vyc, vxc, cc = c.post.variance, c.pre.variance, c.covariance
    vyt, vxt, ct = t.post.variance, t.pre.variance, t.covariance
    xbar = (c.pre_sum + t.pre_sum) / n
    mc, mt = c.post.mean - th * (c.pre.mean - xbar), t.post.mean - th * (t.pre.mean - xbar)
    var_t = (vyt - 2 * th * wc * ct + th ** 2 * wc ** 2 * vxt) / t.n + th ** 2 * wc ** 2 * vxc / c.n
    var_c = (vyc - 2 * th * wt * cc + th ** 2 * wt ** 2 * vxc) / c.n + th ** 2 * wt ** 2 * vxt / t.n
    cov = (th * wt * ct - th ** 2 * wc * wt * vxt) / t.n + (th * wc * cc - th ** 2 * wc * wt * vxc) / c.n
    a = max(vyt + th ** 2 * vxt - 2 * th * ct, 0.0) / t.n  # per-arm parts of Var(m_t − m_c)
    b = max(vyc + th ** 2 * vxc - 2 * th * cc, 0.0) / c.n
    df = (a + b) ** 2 / (a ** 2 / (t.n - 1) + b ** 2 / (c.n - 1)) \
        if a + b > 0 and min(c.n, t.n) >= 2 else None
    parts = [mc, var_c, c.n, mt, var_t, t.n]
    res = compare_arms(*parts, relative=relative, alpha=alpha, method="cuped", df=df, cov=cov)
    vr = 1 - res.se ** 2 / plain.se ** 2 if plain.se and not math.isnan(res.se) else math.nan
    return TestResult(**{**asdict(res), "warnings": res.warnings,
                         "extra": (("theta", float(th)), ("variance_reduction", float(vr)))})


def ratio_test(control: RatioStats, treatment: RatioStats, *, relative: bool = False,
               alpha: float = config.ALPHA) -> TestResult:
    """Compare two ratio metrics (Σ numerator / Σ denominator) with the delta method.

    Returns
    -------
    TestResult
        ``method="delta-method ratio (Welch df)"``; arm means are the ratios.

    Examples
    --------
    >>> c = RatioStats.from_values([3, 1, 4, 2], [2, 1, 2, 2])
    >>> t = RatioStats.from_values([5, 3, 6, 4], [2, 2, 3, 2])
    >>> round(ratio_test(c, t).estimate, 3)
    0.571
    """
    return welch_test(control, treatment, relative=relative, alpha=alpha)
