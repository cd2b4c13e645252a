"""Cohort retention, growth, lifecycle, member layers and fission (裂变) of a community.

One flat public face over one module per concern:

- ``activity``: :func:`member_period_activity` (the one event → (member, period) aggregation) and
  :func:`wilson_interval`;
- ``retention``: :func:`retention`, :func:`retention_matrix`, :func:`retention_curve`,
  :func:`n_day_retention`;
- ``growth``: :func:`growth` and :func:`lifecycle`;
- ``layers``: :class:`LayerRules`, :func:`member_layers`, :func:`layer_mix` (current members;
  leavers apart) and :func:`layer_transitions`;
- ``fission``: :func:`invites_per_inviter`, :func:`referral_share`, :func:`k_factor`,
  :func:`fission_table`;
- ``report``: the report object :class:`CohortReport` (:func:`cohort_report`,
  :func:`build_report`) and its renderer (:func:`render_summary`, :func:`render_note`; the
  sentences in ``_messages``, zh and en); :func:`summary_markdown` for tables built elsewhere.

Periods, the end of observation and the active-types rule are the package-wide ones
(``helpers._time``, ``helpers._checks``): ``"D"`` calendar day, ``"W"`` ISO week (Monday start),
``"M"`` calendar month, on the wall clock of the data's time zone; the end of observation is the
last event unless given; ``active_types=None`` counts every event type and ``[]`` is refused.
"""

from .._time import PERIODS, Period, period_codes, period_start
from ._common import MODES, PERIOD_ADJECTIVES, PERIOD_NAMES, Mode
from .activity import member_period_activity, wilson_interval
from .fission import FISSION_COLUMNS, fission_table, invites_per_inviter, k_factor, referral_share
from .growth import LIFECYCLE_STATUSES, growth, lifecycle
from .layers import (LAYER_ALIASES, LAYERS, LayerMix, LayerRules, current_members, layer_mix,
                     layer_transitions, left_between, member_layers, transition_window)
from .report import (MIN_ELIGIBLE, REPORT_DAYS, CohortReport, build_report, cohort_report,
                     render_note, render_summary, summary_markdown)
from .retention import n_day_retention, retention, retention_curve, retention_matrix

__all__ = [
    "PERIODS", "MODES", "LAYERS", "LAYER_ALIASES", "LIFECYCLE_STATUSES",
    "period_codes", "period_start", "member_period_activity", "wilson_interval",
    "retention", "retention_matrix", "retention_curve", "n_day_retention",
    "growth", "lifecycle", "member_layers", "layer_transitions", "LayerRules", "LayerMix",
    "layer_mix", "current_members", "left_between", "transition_window", "FISSION_COLUMNS", "PERIOD_NAMES", "PERIOD_ADJECTIVES",
    "invites_per_inviter", "referral_share", "k_factor", "fission_table", "summary_markdown",
    "CohortReport", "cohort_report", "build_report", "render_summary", "render_note",
    "MIN_ELIGIBLE", "REPORT_DAYS",
]
