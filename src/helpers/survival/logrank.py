"""Log-rank tests: all segments at once, and every pair with a multiple-testing correction."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .. import config
from .._checks import CORRECTIONS, Correction, check_alpha, check_choice, check_correction
from ..errors import ParameterError
from ._common import group_order, survival_frame

__all__ = ["LogrankResult", "logrank_tests"]


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test across all groups, and pairwise tests with a multiplicity correction.

    Attributes
    ----------
    statistic, df, p_value : float
        The overall chi-square test (k − 1 degrees of freedom).
    pairwise : DataFrame
        ``group_a, group_b, statistic, p_value, p_adjusted, significant``.
    method : str
        Multiplicity correction of the pairwise p-values (``holm`` by default).
    """

    statistic: float
    df: int
    p_value: float
    pairwise: pd.DataFrame = field(repr=False)
    method: str = "holm"
    alpha: float = config.ALPHA

    def to_frame(self) -> pd.DataFrame:
        """One row: ``test, statistic, df, p_value``."""
        return pd.DataFrame([("log-rank (all groups)", self.statistic, self.df, self.p_value)],
                            columns=["test", "statistic", "df", "p_value"])


def logrank_tests(data: pd.DataFrame, *, duration_col: str = "duration_days",
                  event_col: str = "churned", group_col: str, correction: Correction = "holm",
                  alpha: float = config.ALPHA, p_adjust: str | None = None) -> LogrankResult:
    """Log-rank test of equal survival across segments, and all pairs with Holm correction.

    Parameters
    ----------
    data, duration_col, event_col, alpha
        As in :func:`km_table`.
    group_col : str
        Segment column (at least two groups).
    correction : {"holm", "bh", "none"}
        Correction of the pairwise p-values (statsmodels ``multipletests``): Holm (family-wise
        error), Benjamini–Hochberg (false discovery rate) or none — the same vocabulary as the
        experiments (``helpers._checks.Correction``).
    p_adjust : str, optional
        Older name of ``correction`` (same values).

    Returns
    -------
    LogrankResult
        ``statistic, df, p_value`` and a ``pairwise`` frame
        ``group_a, group_b, statistic, p_value, p_adjusted, significant``.

    Examples
    --------
    >>> df = pd.DataFrame({"duration_days": [1, 2, 3, 4, 5, 6, 20, 21, 22, 23, 24, 25],
    ...                    "churned": [1] * 12, "channel": ["a"] * 6 + ["b"] * 6})
    >>> res = logrank_tests(df, group_col="channel")
    >>> res.df, bool(res.p_value < 0.01), res.method
    (1, True, 'holm')
    >>> res.pairwise[["group_a", "group_b", "significant"]].values.tolist()
    [['a', 'b', True]]
    """
    from itertools import combinations

    from lifelines.statistics import logrank_test, multivariate_logrank_test
    from statsmodels.stats.multitest import multipletests

    if p_adjust is not None:
        correction = check_choice("p_adjust", p_adjust, CORRECTIONS)
    check_correction(correction)
    check_alpha(alpha)
    frame = survival_frame(data, duration_col, event_col, group_col)
    groups = group_order(frame["group"])
    if len(groups) < 2:
        raise ParameterError(f"log-rank tests need at least two groups in {group_col!r}; "
                             f"found {groups}")
    overall = multivariate_logrank_test(frame["duration"], frame["group"], frame["event"])
    rows = []
    for a, b in combinations(groups, 2):
        A, B = frame[frame["group"] == a], frame[frame["group"] == b]
        r = logrank_test(A["duration"], B["duration"], A["event"], B["event"])
        rows.append((a, b, float(r.test_statistic), float(r.p_value)))
    pw = pd.DataFrame(rows, columns=["group_a", "group_b", "statistic", "p_value"])
    if correction == "none":
        pw["p_adjusted"] = pw["p_value"]
    else:
        method = {"holm": "holm", "bh": "fdr_bh"}[correction]
        pw["p_adjusted"] = multipletests(pw["p_value"], alpha=alpha, method=method)[1]
    pw["significant"] = pw["p_adjusted"] < alpha
    return LogrankResult(statistic=float(overall.test_statistic), df=len(groups) - 1,
                         p_value=float(overall.p_value), pairwise=pw, method=correction,
                         alpha=alpha)

