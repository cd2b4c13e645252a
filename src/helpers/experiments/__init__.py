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

Modules: :mod:`.summary` (arm summaries), :mod:`.comparisons` (Welch, proportions, CUPED,
ratios), :mod:`.clusters` (ICC, design effect, group-level test), :mod:`.srm` (SRM,
corrections, chance to beat control), :mod:`.power` (MDE, sample size); every name is
re-exported here. Metric extraction from the raw tables and the whole-experiment analysis
live in :mod:`helpers.exp_metrics`.
"""
from .._checks import CORRECTIONS, Correction
from ._core import *  # noqa: F401,F403
from .clusters import *  # noqa: F401,F403
from .comparisons import *  # noqa: F401,F403
from .power import *  # noqa: F401,F403
from .srm import *  # noqa: F401,F403
from .summary import *  # noqa: F401,F403
from . import _core, clusters, comparisons, power, srm, summary  # noqa: F401

__all__ = ["Correction", "CORRECTIONS", *_core.__all__, *summary.__all__, *comparisons.__all__,
           *clusters.__all__, *srm.__all__, *power.__all__]
