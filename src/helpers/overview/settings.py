"""Settings of the overview: its own options and the detail reports' parameters it reuses.

The overview's numbers must be the detail reports' numbers, so it calls the same public
functions with the same parameters as notebooks 01–04 do. The defaults below mirror those
notebooks' ``parameters`` cells; ``tests/test_overview.py`` reads the cells (papermill's
inspection) and fails when a notebook's default moves away from the one here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from .._checks import CORRECTIONS, check_alpha, check_choice
from ..errors import ParameterError

RetentionMode = Literal["classic", "rolling"]

#: the detail notebook each setting comes from, and the parameter's name there
NOTEBOOK_PARAMETERS: dict[str, tuple[str, str]] = {
    "retention_mode": ("01_cohort_retention.ipynb", "mode"),
    "retention_by": ("01_cohort_retention.ipynb", "by"),
    "inactivity_days": ("02_churn_survival.ipynb", "inactivity_days"),
    "censoring": ("02_churn_survival.ipynb", "censoring"),
    "segment_col": ("02_churn_survival.ipynb", "segment_col"),
    "covariates": ("02_churn_survival.ipynb", "covariates"),
    "cluster_col": ("02_churn_survival.ipynb", "cluster_col"),
    "horizon_days": ("02_churn_survival.ipynb", "horizon_days"),
    "survival_days": ("02_churn_survival.ipynb", "survival_days"),
    "risk_horizon_days": ("02_churn_survival.ipynb", "risk_horizon_days"),
    "metrics": ("03_activity_ab_test.ipynb", "metrics"),
    "primary_metric": ("03_activity_ab_test.ipynb", "primary_metric"),
    "guardrails": ("03_activity_ab_test.ipynb", "guardrails"),
    "alpha": ("03_activity_ab_test.ipynb", "alpha"),
    "correction": ("03_activity_ab_test.ipynb", "correction"),
    "cuped": ("03_activity_ab_test.ipynb", "cuped"),
    "cuped_days": ("03_activity_ab_test.ipynb", "cuped_days"),
    "retention_days": ("03_activity_ab_test.ipynb", "retention_days"),
}


@dataclass(frozen=True)
class OverviewSettings:
    """Options of :func:`helpers.overview.overview_report` (validated on creation).

    Parameters
    ----------
    observed_until : str or None
        End of observation for every section (None: the last event, as in every report).
    active_types : tuple of str or None
        Event types that count as activity (None: every type), as in every report.
    recent_days : int
        Length of the "recent" window in whole local days: D30 retention of the members who
        joined in the last ``recent_days`` days that have reached day 30, and 30-day conversion
        of the members who joined in the last ``recent_days`` days whose window has elapsed;
        each against the ``recent_days`` before (default 28 = four weeks; see
        :func:`helpers.overview.join_windows`).
    trend_weeks : int
        Complete weeks (or weekly cohorts) drawn in the trend plots and sparklines.
    max_experiments : int
        Latest experiments listed (by end of the window, latest first).
    retention_mode, retention_by, inactivity_days, censoring, segment_col, covariates, \
cluster_col, horizon_days, survival_days, risk_horizon_days, metrics, primary_metric, \
guardrails, alpha, correction, cuped, cuped_days, retention_days
        The detail notebooks' parameters of the same name (see :data:`NOTEBOOK_PARAMETERS`).

    Notes
    -----
    The churn-risk threshold is report 02's own, ``helpers.survival.ChurnSettings``'s
    ``risk_threshold`` (one definition; the overview reads it there).
    """

    observed_until: str | None = None
    active_types: tuple[str, ...] | None = None
    recent_days: int = 28
    trend_weeks: int = 12
    max_experiments: int = 5
    # 01_cohort_retention
    retention_mode: RetentionMode = "classic"
    retention_by: str = "channel"
    # 02_churn_survival
    inactivity_days: int = 30
    censoring: str = "detectable"
    segment_col: str = "channel"
    covariates: tuple[str, ...] = ("channel", "referred")
    cluster_col: str = "group_id"
    horizon_days: int = 90
    survival_days: tuple[int, ...] = (30, 90, 180)
    risk_horizon_days: int = 30
    # 03_activity_ab_test
    metrics: tuple[str, ...] = ("active_days", "messages", "messages_per_active_day",
                                "participation", "retained", "converted", "spend")
    primary_metric: str = "active_days"
    guardrails: tuple[str, ...] = ("exited",)
    alpha: float = 0.05
    correction: str = "holm"
    cuped: bool = True
    cuped_days: int = 14
    retention_days: int = 14

    def __post_init__(self):
        for name in ("covariates", "survival_days", "metrics", "guardrails"):
            v = getattr(self, name)
            object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))
        if self.active_types is not None:
            v = self.active_types
            object.__setattr__(self, "active_types", (v,) if isinstance(v, str) else tuple(v))
            if not self.active_types:
                raise ParameterError("active_types=() names no event type; use None to count "
                                     "every event type, or list the types")
        if self.observed_until == "":
            object.__setattr__(self, "observed_until", None)
        for name in ("recent_days", "trend_weeks", "max_experiments", "inactivity_days",
                     "horizon_days", "risk_horizon_days", "cuped_days", "retention_days"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ParameterError(f"{name}={v!r} must be a positive whole number")
        check_choice("retention_mode", self.retention_mode, ("classic", "rolling"))
        check_choice("correction", self.correction, CORRECTIONS)
        check_alpha(self.alpha)

    @classmethod
    def from_parameters(cls, **params) -> OverviewSettings:
        """Settings from notebook-style parameters (``""`` and ``[]`` mean "not set").

        Examples
        --------
        >>> s = OverviewSettings.from_parameters(observed_until="", active_types=[])
        >>> s.active_types is None and s.observed_until is None
        True
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParameterError(f"unknown overview setting(s) {unknown}; known: {sorted(known)}")
        clean = {k: (None if (v == "" or (isinstance(v, (list, tuple)) and len(v) == 0
                                          and k in ("active_types",))) else v)
                 for k, v in params.items()}
        return cls(**clean)
