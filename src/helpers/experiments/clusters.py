"""Group-randomised designs: ICC, design effect and the group-level (cluster-robust) test."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from .._checks import check_alpha
from .._i18n import Note
from ..errors import ParameterError
from ._core import MESSAGES, TestResult, _nan_result, settings_with
from .comparisons import welch_test
from .summary import RatioStats, RegressionAdjustedStats

__all__ = ["icc_anova", "design_effect", "ClusterSettings", "cluster_test"]


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
