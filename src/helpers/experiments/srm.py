"""Sample-ratio mismatch, multiple-testing corrections and the chance to beat control."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from .._checks import Correction, check_correction
from ..errors import ParameterError
from ._core import TestResult

__all__ = ["SRMResult", "srm_test", "adjust_pvalues", "chance_to_beat_control"]


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
    >>> from helpers.experiments import MeanStats, welch_test
    >>> r = welch_test(MeanStats(100, 50.0, 60.0), MeanStats(100, 60.0, 75.0))
    >>> 0.5 < chance_to_beat_control(r) < 1
    True
    """
    if math.isnan(result.estimate) or not result.se:
        return math.nan
    return float(stats.norm.cdf(result.estimate / result.se))
