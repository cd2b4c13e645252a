"""Conversion: the funnel, time to first purchase, the activity review and the channel scorecard.

Modules: ``funnel`` (:func:`funnel`), ``first_purchase`` (:func:`time_to_purchase`),
``activity_review`` (:func:`activity_review`, 活动复盘, descriptive), ``scorecard``
(:func:`channel_scorecard`, :func:`scorecard_leaders`), ``report`` (the notebook's report
object :class:`ConversionReport` and its renderer), ``display`` (its tables in words).
"""

from .activity_review import ACTIVITY_COLUMNS, ActivityReview, activity_review
from .first_purchase import (TimeToPurchase, aalen_johansen, competing_outcomes,
                             cumulative_incidence, time_to_purchase)
from .funnel import DEFAULT_STEPS, FUNNEL_COLUMNS, funnel, step_times
from .display import TABLES, display_table
from .report import (SECTIONS, ConversionReport, ConversionSettings, conversion_report,
                     render_note, render_summary)
from .scorecard import METRICS, channel_scorecard, scorecard_leaders, value_per_member

__all__ = ["DEFAULT_STEPS", "FUNNEL_COLUMNS", "funnel", "step_times", "TimeToPurchase",
           "competing_outcomes", "time_to_purchase", "aalen_johansen", "cumulative_incidence", "ACTIVITY_COLUMNS", "ActivityReview",
           "activity_review", "METRICS", "channel_scorecard", "scorecard_leaders",
           "value_per_member", "SECTIONS", "ConversionReport", "ConversionSettings",
           "conversion_report", "display_table", "TABLES", "render_note", "render_summary"]
