"""Settings of the experiment analyses as data: frozen, validated on creation (gbstats style).

:class:`TestSettings` holds what every comparison needs (level, correction, CUPED,
permutations); :class:`SegmentSettings` adds the minimum segment size and
:class:`AnalysisSettings` the metrics, the windows and the population of one experiment.
Functions take ``settings=`` and accept the same names as keyword options
(``analyse_experiment(ds, "exp_1", cuped=False)``), which override the settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import config
from .._checks import Correction, active_types, check_alpha, check_correction
from ..errors import ParameterError
from ..experiments import settings_with
from .metrics import DEFAULT_GUARDRAILS, DEFAULT_METRICS, METRICS, as_list

__all__ = ["TestSettings", "SegmentSettings", "AnalysisSettings", "looks_like_aa", "settings_with"]

_AA = re.compile(r"(?i)(?<![a-z])a\s*/?\s*a(?![a-z])")


def looks_like_aa(*names) -> bool:
    """True when an experiment's id or name says it is an A/A test ("A/A", "AA", "_aa").

    Examples
    --------
    >>> looks_like_aa("exp_reminder_aa", "签到提醒 A/A"), looks_like_aa("exp_live_group")
    (True, False)
    """
    return any(bool(_AA.search(str(n).replace("_", " "))) for n in names if n is not None)


@dataclass(frozen=True)
class TestSettings:
    """How two arms are compared.

    Attributes
    ----------
    alpha : float
        Two-sided significance level (default 0.05).
    correction : {"holm", "bh", "none"}
        Multiple-testing correction across the tested metrics (or segments).
    relative : bool
        Report relative lifts (treatment / control − 1) with delta-method intervals.
    cuped : bool
        Adjust each metric with its own pre-period value (CUPED) where one exists.
    n_permutations : int
        Draws of the permutation-over-groups p-value for group experiments with few groups.
    seed : int
        Seed of the permutations.
    """

    __test__ = False  # not a pytest class

    alpha: float = config.ALPHA
    correction: Correction = "holm"
    relative: bool = True
    cuped: bool = True
    n_permutations: int = 2000
    seed: int = 0

    def __post_init__(self):
        check_alpha(self.alpha)
        check_correction(self.correction)
        if int(self.n_permutations) != self.n_permutations or self.n_permutations < 0:
            raise ParameterError(f"n_permutations must be a whole number >= 0, got "
                                 f"{self.n_permutations!r}")


@dataclass(frozen=True)
class SegmentSettings(TestSettings):
    """:class:`TestSettings` plus ``min_units``: segments with fewer members in an arm are
    skipped."""

    min_units: int = 20

    def __post_init__(self):
        super().__post_init__()
        if self.min_units < 2:
            raise ParameterError(f"min_units must be >= 2, got {self.min_units!r}")


@dataclass(frozen=True)
class AnalysisSettings(TestSettings):
    """:class:`TestSettings` plus what one experiment's analysis measures.

    Attributes
    ----------
    metrics : list of str, optional
        Names from :data:`METRICS` tested and corrected together (default
        ``DEFAULT_METRICS``); the primary metric is added. A comma-separated string is read
        as a list (papermill passes lists so).
    primary_metric : str
        The metric the decision is made on.
    guardrails : list of str
        Metrics that must not get worse (tested uncorrected).
    cuped_days : int
        Length of the pre-period before the start for the CUPED covariates (0 = none).
    retention_days : int
        ``retained`` = active on or after this many days from the start.
    active_types : list of str, optional
        Event types that count as activity; None = every type; ``[]`` is refused.
    late_joiners : bool
        Group experiments: also analyse members who joined during the window.
    aa : bool, optional
        The experiment is an A/A test (both arms treated alike); None = read it from the
        experiment's id or name (:func:`looks_like_aa`).
    """

    metrics: tuple[str, ...] | None = None
    primary_metric: str = "active_days"
    guardrails: tuple[str, ...] = DEFAULT_GUARDRAILS
    cuped_days: int = config.CUPED_DAYS
    retention_days: int = 14
    active_types: tuple[str, ...] | None = None
    late_joiners: bool = False
    aa: bool | None = None

    def __post_init__(self):
        super().__post_init__()
        metrics = tuple(as_list(DEFAULT_METRICS if self.metrics is None else self.metrics))
        guardrails = tuple(as_list(self.guardrails) or ())
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "guardrails", guardrails)
        unknown = [m for m in self.names if m not in METRICS]
        if unknown:
            raise ParameterError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
        if self.active_types is not None:
            object.__setattr__(self, "active_types", tuple(active_types(self.active_types)))
        if self.cuped_days < 0 or self.retention_days < 1:
            raise ParameterError(f"cuped_days must be >= 0 and retention_days >= 1; got "
                                 f"{self.cuped_days}, {self.retention_days}")

    @property
    def names(self) -> list[str]:
        """Every metric analysed: the primary, the other metrics, the guardrails."""
        return list(dict.fromkeys([self.primary_metric, *self.metrics, *self.guardrails]))

    def role(self, metric: str) -> str:
        """"primary", "guardrail" or "secondary"."""
        if metric == self.primary_metric:
            return "primary"
        return "guardrail" if metric in self.guardrails else "secondary"

    def segment_settings(self) -> SegmentSettings:
        """The same comparison options for segment effects."""
        return SegmentSettings(alpha=self.alpha, correction=self.correction,
                               relative=self.relative, cuped=self.cuped,
                               n_permutations=self.n_permutations, seed=self.seed)
