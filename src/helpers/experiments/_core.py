"""Internal core of the A/B statistics: the test-result type, the caveat messages, the shared
two-sample inference and the settings helper (used by every module of the package)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from dataclasses import replace as _replace

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_alpha
from .._i18n import Catalog, Note
from ..errors import ParameterError

__all__ = ["MESSAGES", "TestResult", "settings_with"]

#: caveats of the tests, as data (``TestResult.warnings`` holds :class:`~helpers._i18n.Note`)
MESSAGES = Catalog({
    "en": {
        "too_few_units": "too few units (control {nc}, treatment {nt}; need ≥ 2 per arm)",
        "zero_variance": "zero variance in both arms: no test possible",
        "zero_control_mean": "control mean is 0, so the relative lift is undefined",
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


def _paired_sums(a, b) -> tuple[int, float, float, float, float, float]:
    """``n, Σa, Σa², Σb, Σb², Σab`` of two equally long value arrays without NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ParameterError(f"the two value arrays need the same length; got {a.size} and {b.size}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ParameterError("values contain NaN; fill (e.g. with 0) or drop them first")
    return (int(a.size), float(a.sum()), float((a * a).sum()), float(b.sum()),
            float((b * b).sum()), float((a * b).sum()))



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


def compare_arms(mc, vc, nc, mt, vt, nt, *, relative, alpha, method, df=None, cov=0.0,
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



def z_total(alpha: float, power: float) -> float:
    """z_{1-alpha/2} + z_{power}: the normal quantiles of a two-sided power calculation."""
    _check_alpha(alpha)
    if not (0 < power < 1):
        raise ParameterError(f"power must be between 0 and 1; got {power!r}")
    return stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
