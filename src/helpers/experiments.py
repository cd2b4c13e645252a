"""A/B statistics from summary statistics: Welch, proportions, SRM, CUPED, ratios, clusters, power.

The engine follows GrowthBook's gbstats: small frozen dataclasses of sums (``n``, ``sum``,
``sum_squares`` …) with behaviour as properties, so a result can be computed from aggregates a
warehouse exports as well as from raw rows (``MeanStats.from_values``). Every test returns a
frozen :class:`TestResult` with ``estimate, ci_low, ci_high, p_value`` and a ``.to_frame()``.

Conventions (DESIGN.md §6):

- Two-sided tests at ``alpha`` (default ``config.ALPHA``); Welch–Satterthwaite df for means.
- ``relative=True`` reports the lift ``treatment/control − 1`` with a delta-method interval.
- CUPED: ``θ = cov(Y, X) / var(X)`` pooled over arms; the variance reduction is reported.
- Group-randomised designs: inference at the group level (:func:`cluster_test`): a ratio of
  member totals over group sizes with a delta-method (cluster-robust) variance, the ICC and the
  design effect, and a permutation-over-groups p-value when there are fewer than
  ``config.MIN_GROUPS_FOR_ASYMPTOTICS`` groups.
- Degenerate inputs (an empty arm, zero variance) give a result with ``nan`` and a warning in
  ``warnings`` rather than an exception, so one bad metric never stops a report.

Metric extraction from the raw tables and the whole-experiment analysis live in
:mod:`helpers.exp_metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import replace as _replace

import numpy as np
import pandas as pd
from scipy import stats

from . import config
from ._checks import CORRECTIONS, Correction, check_alpha, check_correction
from ._i18n import Catalog, Note
from .errors import ParameterError

#: caveats of the tests, as data (``TestResult.warnings`` holds :class:`~helpers._i18n.Note`)
MESSAGES = Catalog({
    "en": {
        "too_few_units": "too few units (control {nc}, treatment {nt}; need ≥ 2 per arm)",
        "zero_variance": "zero variance in both arms: no test possible",
        "zero_control_mean": "control mean is 0: relative lift undefined",
        "zero_se": "zero standard error",
        "no_pre_variance": "pre-period covariate has no variance: CUPED not applied",
        "permutation": "only {n_groups} groups (< {min_groups}): p-value by permutation over "
                       "groups ({n_permutations:,} draws), the interval is asymptotic and may be "
                       "too narrow",
    },
    "zh": {
        "too_few_units": "单位太少（对照组 {nc}，实验组 {nt}；每组至少需要 2 个）",
        "zero_variance": "两组数值完全没有波动，无法检验",
        "zero_control_mean": "对照组均值为 0，无法计算相对提升",
        "zero_se": "标准误为 0，无法检验",
        "no_pre_variance": "实验前数据没有波动，未做 CUPED 调整",
        "permutation": "只有 {n_groups} 个群（少于 {min_groups} 个）：p 值由群的置换检验得出"
                       "（{n_permutations:,} 次抽取），置信区间为近似值，可能偏窄",
    },
}, name="experiments")

__all__ = [
    "Correction", "CORRECTIONS", "ClusterSettings", "MESSAGES",
    "MeanStats", "ProportionStats", "RegressionAdjustedStats", "RatioStats", "TestResult",
    "SRMResult", "welch_test", "proportion_test", "cuped_test", "ratio_test", "cluster_test",
    "srm_test", "adjust_pvalues", "chance_to_beat_control", "icc_anova", "design_effect",
    "mde", "sample_size",
]


# ----------------------------------------------------------------------------- summary statistics
@dataclass(frozen=True)
class MeanStats:
    """Summary of a numeric metric over ``n`` units: ``n``, ``sum``, ``sum_squares``.

    Examples
    --------
    >>> MeanStats(n=3, sum=6.0, sum_squares=14.0).variance
    1.0
    """

    n: int
    sum: float
    sum_squares: float

    @classmethod
    def from_values(cls, values) -> "MeanStats":
        """Summarise raw values (NaN values are an error: fill or drop them first)."""
        x = np.asarray(values, dtype=float)
        if np.isnan(x).any():
            raise ParameterError("values contain NaN; fill (e.g. with 0) or drop them first")
        return cls(n=int(x.size), sum=float(x.sum()), sum_squares=float((x * x).sum()))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof = 1); ``nan`` with fewer than two units."""
        if self.n < 2:
            return math.nan
        return max(0.0, (self.sum_squares - self.sum ** 2 / self.n) / (self.n - 1))

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @property
    def variance_of_mean(self) -> float:
        return self.variance / self.n if self.n > 0 else math.nan


@dataclass(frozen=True)
class ProportionStats(MeanStats):
    """Summary of a 0/1 metric: ``n`` units of which ``sum`` converted.

    ``sum_squares`` equals ``sum`` (0/1 values); the variance is the sample variance of the 0/1
    values, so :func:`welch_test` on it equals a Welch t-test on the raw zeros and ones.

    Examples
    --------
    >>> ProportionStats(n=200, sum=50).mean
    0.25
    """

    sum_squares: float = field(default=math.nan, repr=False)

    def __post_init__(self):
        if self.sum < 0 or self.sum > self.n:
            raise ParameterError(f"ProportionStats needs 0 <= sum <= n; got sum={self.sum}, n={self.n}")
        object.__setattr__(self, "sum_squares", float(self.sum))


def _paired_sums(a, b) -> tuple[int, float, float, float, float, float]:
    """``n, Σa, Σa², Σb, Σb², Σab`` of two equally long value arrays without NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ParameterError(f"the two value arrays need the same length; got {a.size} and {b.size}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ParameterError("values contain NaN; fill (e.g. with 0) or drop them first")
    return (int(a.size), float(a.sum()), float((a * a).sum()), float(b.sum()),
            float((b * b).sum()), float((a * b).sum()))


@dataclass(frozen=True)
class RegressionAdjustedStats:
    """Post-period metric ``Y`` and pre-period covariate ``X`` of ``n`` units, for CUPED.

    Fields: ``n, sum, sum_squares`` of Y, ``pre_sum, pre_sum_squares`` of X, and the cross
    product ``sum_products`` = Σ X·Y.

    Examples
    --------
    >>> s = RegressionAdjustedStats.from_values([1, 2, 3], [1, 2, 4])
    >>> round(s.covariance, 3)
    1.5
    """

    n: int
    sum: float
    sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    sum_products: float

    @classmethod
    def from_values(cls, post, pre) -> "RegressionAdjustedStats":
        return cls(*_paired_sums(post, pre))

    @property
    def post(self) -> MeanStats:
        return MeanStats(self.n, self.sum, self.sum_squares)

    @property
    def pre(self) -> MeanStats:
        return MeanStats(self.n, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of X and Y (ddof = 1)."""
        if self.n < 2:
            return math.nan
        return (self.sum_products - self.sum * self.pre_sum / self.n) / (self.n - 1)

    def __add__(self, other: "RegressionAdjustedStats") -> "RegressionAdjustedStats":
        return RegressionAdjustedStats(*(a + b for a, b in zip(
            asdict(self).values(), asdict(other).values())))


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric Σ numerator / Σ denominator over ``n`` units (delta method).

    E.g. messages per active day (units = members), or at the group level mean active days
    per member (units = groups; numerator = member total, denominator = group size).
    Fields: ``n``, ``num_sum``, ``num_sum_squares``, ``den_sum``, ``den_sum_squares``,
    ``sum_products`` (Σ numerator·denominator).

    Examples
    --------
    >>> RatioStats.from_values([2, 4], [1, 2]).ratio
    2.0
    """

    n: int
    num_sum: float
    num_sum_squares: float
    den_sum: float
    den_sum_squares: float
    sum_products: float

    @classmethod
    def from_values(cls, numerator, denominator) -> "RatioStats":
        return cls(*_paired_sums(numerator, denominator))

    @property
    def ratio(self) -> float:
        return self.num_sum / self.den_sum if self.den_sum != 0 else math.nan

    @property
    def mean(self) -> float:
        return self.ratio

    @property
    def variance_of_mean(self) -> float:
        """Delta-method variance of the ratio: (V_a − 2R·C_ab + R²·V_b) / (n · mean_b²)."""
        n = self.n
        if n < 2 or self.den_sum == 0:
            return math.nan
        r, mb = self.ratio, self.den_sum / n
        va = (self.num_sum_squares - self.num_sum ** 2 / n) / (n - 1)
        vb = (self.den_sum_squares - self.den_sum ** 2 / n) / (n - 1)
        cab = (self.sum_products - self.num_sum * self.den_sum / n) / (n - 1)
        return max(0.0, va - 2 * r * cab + r * r * vb) / (n * mb * mb)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class TestResult:
    """Result of a two-arm comparison (treatment − control, or treatment/control − 1).

    ``estimate, ci_low, ci_high`` are on the absolute scale, or relative when ``relative``.
    ``extra`` holds method-specific figures (e.g. ``variance_reduction``, ``icc``,
    ``design_effect``, ``permutation_p``).
    """

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    se: float
    df: float
    method: str
    relative: bool
    alpha: float
    control_mean: float
    treatment_mean: float
    control_n: int
    treatment_n: int
    warnings: tuple[str, ...] = ()
    extra: tuple[tuple[str, float], ...] = ()

    __test__ = False  # not a pytest class

    @property
    def significant(self) -> bool:
        return bool(self.p_value < self.alpha) if not math.isnan(self.p_value) else False

    def get(self, key: str, default=math.nan):
        """A value of ``extra`` by name."""
        return dict(self.extra).get(key, default)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``estimate, ci_low, ci_high, p_value, se, df, method, relative, alpha,
        control_mean, treatment_mean, control_n, treatment_n, warnings`` and the extras."""
        row = {k: v for k, v in asdict(self).items() if k not in ("warnings", "extra")}
        row.update(dict(self.extra))
        row["warnings"] = "; ".join(self.warnings)
        return pd.DataFrame([row])


def _nan_result(method, relative, alpha, mc, mt, nc, nt, why, extra=()) -> TestResult:
    return TestResult(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, method,
                      relative, alpha, mc, mt, nc, nt, (why,), tuple(extra))


def _check_alpha(alpha: float) -> None:
    check_alpha(alpha)


def _compare(mc, vc, nc, mt, vt, nt, *, relative, alpha, method, df=None, cov=0.0,
             extra=(), warnings=()) -> TestResult:
    """Core two-sample inference from arm means, variances of the means and unit counts.

    ``df`` None = Welch–Satterthwaite from the two variance components; ``math.inf`` = normal.
    ``cov`` is the covariance of the two arm means (non-zero for CUPED-adjusted means, which
    share the pooled pre-period mean).
    """
    _check_alpha(alpha)
    if nc < 2 or nt < 2:
        return _nan_result(method, relative, alpha, mc, mt, nc, nt,
                           Note(MESSAGES, "too_few_units", nc=int(nc), nt=int(nt)), extra)
    if not (np.isfinite(vc) and np.isfinite(vt)) or vc + vt <= 0:
        return _nan_result(method, relative, alpha, mc, mt, nc, nt,
                           Note(MESSAGES, "zero_variance"), extra)
    if df is None:
        df = (vc + vt) ** 2 / (vc ** 2 / (nc - 1) + vt ** 2 / (nt - 1))
    warns = list(warnings)
    if relative:
        if mc == 0 or not np.isfinite(mc):
            return _nan_result(method, relative, alpha, mc, mt, nc, nt,
                               Note(MESSAGES, "zero_control_mean"), extra)
        est = mt / mc - 1
        var = vt / mc ** 2 + mt ** 2 * vc / mc ** 4 - 2 * mt * cov / mc ** 3
    else:
        est, var = mt - mc, vc + vt - 2 * cov
    se = math.sqrt(max(var, 0.0))
    if se == 0:
        return _nan_result(method, relative, alpha, mc, mt, nc, nt, Note(MESSAGES, "zero_se"), extra)
    if math.isinf(df):
        q, p = stats.norm.ppf(1 - alpha / 2), float(2 * stats.norm.sf(abs(est) / se))
    else:
        q, p = stats.t.ppf(1 - alpha / 2, df), float(2 * stats.t.sf(abs(est) / se, df))
    return TestResult(float(est), float(est - q * se), float(est + q * se), p, float(se),
                      float(df), method, relative, alpha, float(mc), float(mt), int(nc), int(nt),
                      tuple(warns), tuple(extra))


def _as_mean_stats(x) -> MeanStats:
    if isinstance(x, (MeanStats, RatioStats)):
        return x
    if isinstance(x, RegressionAdjustedStats):
        return x.post
    return MeanStats.from_values(x)


# ----------------------------------------------------------------------------- tests
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
    return _compare(c.mean, c.variance_of_mean, c.n, t.mean, t.variance_of_mean, t.n,
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
    res = _compare(c.mean, c.mean * (1 - c.mean) / c.n if c.n else math.nan, c.n,
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
    res = _compare(*parts, relative=relative, alpha=alpha, method="cuped", df=df, cov=cov)
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


def icc_anova(data: pd.DataFrame, *, value: str, group: str) -> float:
    """One-way ANOVA estimator of the intra-class correlation (unequal group sizes).

    Returns
    -------
    float
        ICC (can be slightly negative by sampling error; ``nan`` with < 2 groups).

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1, 1, 2, 2], "g": ["a", "a", "b", "b"]})
    >>> icc_anova(df, value="y", group="g")
    1.0
    """
    codes, _ = pd.factorize(data[group], sort=False)
    return _icc(data[value].to_numpy(float), codes)


def _icc(y: np.ndarray, codes: np.ndarray) -> float:
    """ANOVA ICC from values and integer group codes (numpy core of :func:`icc_anova`)."""
    counts = np.bincount(codes).astype(float)
    keep = counts > 0
    sums = np.bincount(codes, weights=y)[keep]
    sumsq = np.bincount(codes, weights=y * y)[keep]
    counts = counts[keep]
    k, n = counts.size, counts.sum()
    if k < 2 or n <= k:
        return math.nan
    means = sums / counts
    n0 = (n - (counts ** 2).sum() / n) / (k - 1)
    msb = (counts * (means - y.mean()) ** 2).sum() / (k - 1)
    msw = (sumsq - sums * means).sum() / (n - k)
    denom = msb + (n0 - 1) * msw
    return float((msb - msw) / denom) if denom > 0 else math.nan


def design_effect(icc: float, cluster_sizes) -> float:
    """Kish design effect ``1 + (m̃ − 1)·ICC`` with ``m̃ = Σm²/Σm`` (unequal cluster sizes).

    Examples
    --------
    >>> design_effect(0.05, [21, 21])
    2.0
    """
    m = np.asarray(cluster_sizes, dtype=float)
    m_eff = (m ** 2).sum() / m.sum() if m.sum() > 0 else 1.0
    return float(1 + (m_eff - 1) * icc)


@dataclass(frozen=True)
class ClusterSettings:
    """Options of :func:`cluster_test` (validated on creation).

    ``relative``: report the relative lift; ``alpha``: two-sided level; ``n_permutations``:
    draws of the permutation-over-groups p-value (0 = none); ``min_groups``: below this many
    groups the permutation p-value is computed and used; ``seed`` of the permutations.

    Examples
    --------
    >>> ClusterSettings(alpha=0.1).n_permutations
    2000
    """

    relative: bool = False
    alpha: float = config.ALPHA
    n_permutations: int = 2000
    min_groups: int = config.MIN_GROUPS_FOR_ASYMPTOTICS
    seed: int = 0

    def __post_init__(self):
        check_alpha(self.alpha)
        if int(self.n_permutations) != self.n_permutations or self.n_permutations < 0:
            raise ParameterError(f"n_permutations must be a whole number >= 0, got "
                                 f"{self.n_permutations!r}")
        if self.min_groups < 0:
            raise ParameterError(f"min_groups must be >= 0, got {self.min_groups!r}")


def settings_with(settings, cls, options: dict):
    """``settings`` (or the defaults of ``cls``) with keyword ``options`` applied; an unknown
    option is a ParameterError naming the allowed ones."""
    base = settings if settings is not None else cls()
    if not isinstance(base, cls):
        raise ParameterError(f"settings must be a {cls.__name__}, got {type(base).__name__}")
    allowed = list(cls.__dataclass_fields__)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ParameterError(f"unknown option(s) {', '.join(unknown)}; {cls.__name__} has "
                             f"{', '.join(allowed)}")
    return _replace(base, **options) if options else base


def cluster_test(data: pd.DataFrame, *, value: str, group: str, arm: str = "arm",
                 control: str = "control", treatment: str = "treatment",
                 covariate: str | None = None, settings: ClusterSettings | None = None,
                 **options) -> TestResult:
    """Group-randomised comparison at the group level: member mean per arm, cluster-robust SE.

    Each group is one unit: numerator = Σ ``value`` of its members, denominator = its size;
    the arm mean is the member-weighted mean and its delta-method variance is the
    cluster-robust (CR0 × G_arm/(G_arm − 1)) variance; df = Welch–Satterthwaite over groups.
    With ``covariate`` (a pre-period column) CUPED is applied first: ``value − θ·covariate``
    with θ pooled over all members, the difference tested at the group level, and the relative
    lift taken against the unadjusted control mean (delta method with their covariance).
    With fewer than ``min_groups`` groups a permutation-over-groups p-value (arms re-drawn with
    the same group counts) is added and used as ``p_value``, with a warning.

    Parameters
    ----------
    data : DataFrame
        One row per member: ``value``, ``group``, ``arm`` [, ``covariate``].
    settings : ClusterSettings, optional
        ``relative, alpha, n_permutations, min_groups, seed``; keyword ``options`` of the same
        names override it (``cluster_test(df, value="y", group="g", n_permutations=0)``).

    Returns
    -------
    TestResult
        ``method`` "cluster (group-level delta method)" [+ " + CUPED"]; ``extra``:
        ``n_groups``, ``icc`` (ANOVA, within arms), ``design_effect`` (Kish, from the ICC),
        ``variance_ratio`` (cluster-robust / naive member-level variance of the difference),
        ``naive_p_value`` (member-level Welch p-value of the difference that ignores the
        groups: for comparison only),
        ``permutation_p`` (nan unless computed) [, ``theta``, ``variance_reduction``].

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1, 2, 2, 3, 3, 4, 5, 4.5], "g": list("aabbccdd"),
    ...                    "arm": ["control"] * 4 + ["treatment"] * 4})
    >>> round(cluster_test(df, value="y", group="g").estimate, 3)
    2.125
    """
    opts = settings_with(settings, ClusterSettings, options)
    relative, alpha, seed = opts.relative, opts.alpha, opts.seed
    n_permutations, min_groups = int(opts.n_permutations), opts.min_groups
    for col in (value, group, arm, *([covariate] if covariate else [])):
        if col not in data.columns:
            raise ParameterError(f"column {col!r} not in data; columns are {list(data.columns)}")
    data = data.loc[data[arm].isin([control, treatment])]
    gcode, _ = pd.factorize(data[group], sort=False)
    is_t_member = (data[arm] == treatment).to_numpy()
    n_codes = int(gcode.max()) + 1 if gcode.size else 0
    t_count = np.bincount(gcode, weights=is_t_member, minlength=n_codes)
    counts = np.bincount(gcode, minlength=n_codes).astype(float)
    if ((t_count > 0) & (t_count < counts)).any():
        bad = list(pd.unique(data[group].to_numpy()[((t_count > 0) & (t_count < counts))[gcode]])[:5])
        raise ParameterError(f"groups {bad} appear in more than one arm: not a group-randomised "
                             "design (use welch_test on members)")
    y = data[value].to_numpy(float)
    theta = math.nan
    if covariate is not None:
        rs = RegressionAdjustedStats.from_values(y, data[covariate].to_numpy(float))
        theta = rs.covariance / rs.pre.variance if rs.pre.variance > 0 else math.nan
    adj = y - theta * data[covariate].to_numpy(float) if not math.isnan(theta) else y
    g_y = np.bincount(gcode, weights=y, minlength=n_codes)
    g_adj = np.bincount(gcode, weights=adj, minlength=n_codes)
    present = counts > 0
    is_t = (t_count > 0)[present]
    g_y, g_adj, counts = g_y[present], g_adj[present], counts[present]

    def ratios(sums):
        return [RatioStats.from_values(sums[m], counts[m]) for m in (~is_t, is_t)]

    raw_c, raw_t = ratios(g_y)
    adj_c, adj_t = ratios(g_adj)
    n_groups = raw_c.n + raw_t.n
    plain = welch_test(raw_c, raw_t, relative=relative, alpha=alpha)
    if math.isnan(theta):
        res = plain
    else:
        gc = pd.DataFrame({"y": g_y[~is_t], "adj": g_adj[~is_t], "count": counts[~is_t]})
        res = _cuped_ratio(raw_c, adj_c, adj_t, gc, relative=relative, alpha=alpha)
    arm_mean = np.where(is_t_member, adj[is_t_member].mean() if is_t_member.any() else 0,
                        adj[~is_t_member].mean() if (~is_t_member).any() else 0)
    icc = _icc(adj - arm_mean, gcode)  # within arms
    deff = design_effect(icc, counts)
    naive = welch_test(adj[~is_t_member], adj[is_t_member], alpha=alpha)  # absolute scale
    clustered = welch_test(adj_c, adj_t, alpha=alpha)
    vr = (clustered.se / naive.se) ** 2 if naive.se and clustered.se else math.nan
    warns = list(res.warnings)
    perm_p = math.nan
    p_value = res.p_value
    if n_groups < min_groups and not math.isnan(res.estimate) and n_permutations > 0:
        perm_p = _permutation_p(g_adj, counts, is_t,
                                relative=relative and math.isnan(theta),
                                n_permutations=n_permutations, seed=seed)
        p_value = perm_p
        warns.append(Note(MESSAGES, "permutation", n_groups=int(n_groups),
                          min_groups=int(min_groups), n_permutations=int(n_permutations)))
    extra = [("n_groups", float(n_groups)), ("icc", icc), ("design_effect", deff),
             ("variance_ratio", vr), ("naive_p_value", naive.p_value), ("permutation_p", perm_p)]
    method = "cluster (group-level delta method)"
    if not math.isnan(theta):
        method += " + CUPED"
        extra += [("theta", float(theta)), ("variance_reduction", float(
            1 - res.se ** 2 / plain.se ** 2) if plain.se else math.nan)]
    return TestResult(**{**asdict(res), "p_value": p_value, "warnings": tuple(warns),
                         "extra": tuple(extra), "method": method})


def _cuped_ratio(raw_c: RatioStats, adj_c: RatioStats, adj_t: RatioStats, gc: pd.DataFrame, *,
                 relative: bool, alpha: float) -> TestResult:
    """Group-level CUPED: Δ = difference of adjusted ratios; relative = Δ / raw control mean."""
    absolute = welch_test(adj_c, adj_t, alpha=alpha)
    if not relative or math.isnan(absolute.estimate):
        return absolute
    mu, d = raw_c.ratio, absolute.estimate
    if mu == 0:
        return _nan_result("cluster", True, alpha, mu, mu + d, raw_c.n, adj_t.n,
                           Note(MESSAGES, "zero_control_mean"))
    n, dbar = raw_c.n, raw_c.den_sum / raw_c.n
    e_raw = gc["y"].to_numpy(float) - raw_c.ratio * gc["count"].to_numpy(float)
    e_adj = gc["adj"].to_numpy(float) - adj_c.ratio * gc["count"].to_numpy(float)
    cov_adj_raw = float(e_raw @ e_adj) / (n - 1) / (n * dbar ** 2)  # Cov(adjusted, raw control mean)
    est = d / mu
    var = absolute.se ** 2 / mu ** 2 + d ** 2 * raw_c.variance_of_mean / mu ** 4 \
        + 2 * d * cov_adj_raw / mu ** 3
    se = math.sqrt(max(var, 0.0))
    q = stats.t.ppf(1 - alpha / 2, absolute.df)
    p = float(2 * stats.t.sf(abs(est) / se, absolute.df)) if se > 0 else math.nan
    return TestResult(est, est - q * se, est + q * se, p, se, absolute.df, "cluster", True,
                      alpha, mu, mu + d, raw_c.n, adj_t.n)


def _permutation_p(sums, counts, treated, *, relative, n_permutations, seed) -> float:
    """Randomisation p-value of the member-weighted difference (or ratio) over group labels."""
    rng = np.random.default_rng(seed)
    labels = np.vstack([treated, *(rng.permutation(treated) for _ in range(n_permutations))])
    ts, tc = labels @ sums, labels @ counts
    cs, cc = (~labels) @ sums, (~labels) @ counts
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (ts / tc) / (cs / cc) - 1 if relative else ts / tc - cs / cc
    obs, null = abs(stat[0]), np.abs(stat[1:])
    return float((1 + np.sum(null >= obs - 1e-12)) / (1 + n_permutations))


# ----------------------------------------------------------------------------- SRM, corrections
@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio-mismatch check: chi-square goodness of fit against the planned split."""

    statistic: float
    p_value: float
    df: int
    observed: tuple[tuple[str, int], ...]
    expected: tuple[tuple[str, float], ...]
    alpha: float = config.SRM_ALPHA

    @property
    def alert(self) -> bool:
        """True when ``p_value < alpha`` (default 0.001): do not trust the experiment."""
        return bool(self.p_value < self.alpha)

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: ``arm, observed, expected, share_observed, share_expected,
        statistic, p_value, alert``."""
        obs, exp = dict(self.observed), dict(self.expected)
        total = sum(obs.values())
        return pd.DataFrame({"arm": list(obs), "observed": list(obs.values()),
                             "expected": [exp[a] for a in obs],
                             "share_observed": [v / total if total else math.nan for v in obs.values()],
                             "share_expected": [exp[a] / total if total else math.nan for a in obs],
                             "statistic": self.statistic, "p_value": self.p_value,
                             "alert": self.alert})


def srm_test(observed_counts: Mapping[str, int] | Sequence[int],
             expected_weights: Mapping[str, float] | Sequence[float] | None = None, *,
             alpha: float = config.SRM_ALPHA) -> SRMResult:
    """Chi-square goodness-of-fit test of arm sizes against the planned split.

    Parameters
    ----------
    observed_counts : mapping arm -> count, or sequence of counts
    expected_weights : mapping arm -> weight, or sequence (same order); None = equal split.
        Weights are normalised; every arm with units must have a positive weight.

    Returns
    -------
    SRMResult
        ``statistic, p_value, df, observed, expected`` and ``alert`` (``p < alpha``).

    Examples
    --------
    >>> round(srm_test({"control": 500, "treatment": 500}, {"control": 1, "treatment": 1}).p_value, 3)
    1.0
    """
    if isinstance(observed_counts, Mapping):
        arms = [str(a) for a in observed_counts]
        obs = np.array([observed_counts[a] for a in observed_counts], dtype=float)
    else:
        obs = np.asarray(observed_counts, dtype=float)
        arms = [f"arm{i}" for i in range(obs.size)]
    if expected_weights is None:
        w = np.ones(obs.size)
    elif isinstance(expected_weights, Mapping):
        weights = {str(k): float(v) for k, v in expected_weights.items()}
        missing = [a for a in arms if a not in weights]
        if missing:
            raise ParameterError(f"expected_weights has no weight for arm(s) {missing}; "
                                 f"planned arms are {list(weights)}")
        arms = list(dict.fromkeys([*arms, *weights]))  # planned arms with no units count as 0
        obs = np.array([dict(zip([str(a) for a in observed_counts], obs)).get(a, 0.0)
                        for a in arms])
        w = np.array([weights.get(a, 0.0) for a in arms])
    else:
        w = np.asarray(expected_weights, dtype=float)
        if w.size != obs.size:
            raise ParameterError(f"expected_weights has {w.size} values for {obs.size} arms")
    if obs.size < 2:
        raise ParameterError(f"SRM needs at least two arms; got {arms}")
    if (w < 0).any() or w.sum() <= 0 or ((w == 0) & (obs > 0)).any():
        raise ParameterError(f"expected_weights must be positive for every arm with units; got {list(w)}")
    expected = w / w.sum() * obs.sum()
    keep = expected > 0
    stat, p = stats.chisquare(obs[keep], expected[keep])
    return SRMResult(float(stat), float(p), int(keep.sum() - 1),
                     tuple((a, int(o)) for a, o in zip(arms, obs)),
                     tuple((a, float(e)) for a, e in zip(arms, expected)), alpha)


def adjust_pvalues(p_values, *, method: Correction = "holm") -> np.ndarray:
    """Adjust p-values for multiplicity: Holm (step-down FWER, default) or Benjamini–Hochberg.

    NaN p-values are ignored (stay NaN) and do not count towards the number of tests.

    Returns
    -------
    ndarray
        Adjusted p-values in the input order, capped at 1.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    check_correction(method)
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    order = np.argsort(q)
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def chance_to_beat_control(result: TestResult) -> float:
    """Posterior probability that the treatment is better (estimate > 0), flat prior.

    With a flat prior and the normal approximation the posterior of the effect is
    N(estimate, se²), so the chance is Φ(estimate / se) (GrowthBook's default engine).

    Examples
    --------
    >>> r = welch_test(MeanStats(100, 50.0, 60.0), MeanStats(100, 60.0, 75.0))
    >>> 0.5 < chance_to_beat_control(r) < 1
    True
    """
    if math.isnan(result.estimate) or not result.se:
        return math.nan
    return float(stats.norm.cdf(result.estimate / result.se))


# ----------------------------------------------------------------------------- power
def _z(alpha: float, power: float) -> float:
    _check_alpha(alpha)
    if not (0 < power < 1):
        raise ParameterError(f"power must be between 0 and 1; got {power!r}")
    return stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)


def _power_deff(icc: float, cluster_size: float, cv: float) -> float:
    """Design effect of the member-weighted mean: 1 + (m̃ − 1)·ICC with m̃ = m̄·(1 + cv²)."""
    if cv < 0:
        raise ParameterError(f"cluster_size_cv must be >= 0; got {cv!r}")
    return 1 + (cluster_size * (1 + cv * cv) - 1) * icc


def mde(*, n_per_arm: float, sd: float, alpha: float = config.ALPHA, power: float = 0.8,
        icc: float = 0.0, cluster_size: float = 1.0, ratio: float = 1.0,
        cluster_size_cv: float = 0.0) -> float:
    """Minimum detectable (absolute) effect of a two-arm design, normal approximation.

    Parameters
    ----------
    n_per_arm : float
        Randomisation units in the control arm: members, or groups when ``cluster_size > 1``.
    sd : float
        Member-level standard deviation of the metric (``sqrt(p(1 − p))`` for a rate).
    icc, cluster_size : float
        Intra-class correlation and mean members per group for group-randomised designs.
    ratio : float
        Treatment units per control unit.
    cluster_size_cv : float
        Coefficient of variation of the group sizes (population SD / mean). Unequal groups
        raise the design effect of the member-weighted mean to the Kish one,
        ``deff = 1 + ((1 + cv²)·cluster_size − 1)·icc`` (Eldridge, Ashby & Kerry 2006), the
        same ``Σm²/Σm`` as :func:`design_effect`; 0 = equal group sizes.

    Returns
    -------
    float
        ``(z_{1−α/2} + z_power) · sd · sqrt(deff · (1 + 1/ratio) / (n_per_arm · cluster_size))``.

    Examples
    --------
    >>> round(mde(n_per_arm=1000, sd=1.0), 3)
    0.125
    """
    if n_per_arm <= 0 or sd < 0 or cluster_size < 1:
        raise ParameterError("n_per_arm must be > 0, sd >= 0 and cluster_size >= 1")
    deff = _power_deff(icc, cluster_size, cluster_size_cv)
    return float(_z(alpha, power) * sd * math.sqrt(deff * (1 + 1 / ratio) / (n_per_arm * cluster_size)))


def sample_size(effect: float, *, sd: float, alpha: float = config.ALPHA, power: float = 0.8,
                icc: float = 0.0, cluster_size: float = 1.0, ratio: float = 1.0,
                cluster_size_cv: float = 0.0) -> int:
    """Units per (control) arm needed to detect an absolute ``effect``: members, or groups when
    ``cluster_size > 1`` (e.g. "how many groups for a 3-point lift in 14-day activity?").

    Returns
    -------
    int
        The smallest whole number of units per arm (inverse of :func:`mde`; the same
        ``cluster_size_cv`` for unequal group sizes).

    Examples
    --------
    >>> sample_size(0.03, sd=(0.4 * 0.6) ** 0.5, icc=0.02, cluster_size=100)
    125
    """
    if effect == 0:
        raise ParameterError("effect must be non-zero")
    deff = _power_deff(icc, cluster_size, cluster_size_cv)
    n = (_z(alpha, power) * sd / effect) ** 2 * deff * (1 + 1 / ratio) / cluster_size
    return int(math.ceil(n - 1e-9))
