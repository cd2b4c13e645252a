"""Tables of report 04 as a reviewer reads them: values in words, header words per language.

:func:`display_table` returns the frame, its percentage columns and the header words for
``plots.show_table`` (``plots.show_conversion_table`` calls both).
"""

from __future__ import annotations

import pandas as pd

from .._format import check_language
from ..errors import ParameterError
from ._messages import HEADERS, VALUES

__all__ = ["display_table", "TABLES"]

TABLES = ("funnel", "ttp", "ttp_outcomes", "holdout", "repeat_by", "renewal", "review",
          "review_types", "review_layers", "before_after", "scorecard")


def display_table(report, name: str, language: str = "zh"):
    """``(frame, percent_columns, headers)`` of a report table, values in words.

    ``name``: ``"funnel"``, ``"ttp"``, ``"holdout"``, ``"repeat_by"``, ``"renewal"``,
    ``"review"``, ``"review_layers"``, ``"before_after"``, ``"review_types"``, ``"scorecard"``.
    Empty frame when the section did not run.
    """
    check_language(language)
    words = lambda v: VALUES.t(v, language) if v in VALUES.keys(language) else v  # noqa: E731
    by = [report.by] if report.by and len(report.funnel_by) else []
    empty = (pd.DataFrame(), [], {})
    if name == "funnel":
        f = report.funnel_by if len(report.funnel_by) else report.funnel_all
        if f.empty or "funnel" in report.skipped:
            return empty
        # joining is the start: no previous step, no days to reach it ("—", not 0.00)
        start = f["step"] == "joined"
        f = f.assign(rate_from_previous=f["rate_from_previous"].mask(start),
                     median_days=f["median_days"].mask(start))
        f = f.assign(step=f["step"].map(words)).drop(columns=["step_index"])
        return f, ["rate", "ci_low", "ci_high", "rate_from_previous"], dict(HEADERS.messages[language])
    if name == "ttp":
        if report.ttp is None:
            return empty
        tt = report.ttp.table.dropna(subset=["cumulative_incidence"])
        return tt, ["cumulative_incidence", "ci_low", "ci_high"], dict(HEADERS.messages[language])
    if name == "ttp_outcomes":
        if report.ttp is None:
            return empty
        return report.ttp.outcomes, [], dict(HEADERS.messages[language])
    rp = report.repeat
    if name == "holdout":
        if rp is None or rp.holdout.empty:
            return empty
        h = rp.holdout.copy()
        h["frequency_cal"] = h["frequency_cal"].map(lambda k: f"{int(k)}+" if k >= 7 else str(int(k)))
        return h, [], dict(HEADERS.messages[language])
    if name == "repeat_by":
        if rp is None or rp.by_level.empty:
            return empty
        return rp.by_level, [], dict(HEADERS.messages[language])
    if name == "renewal":
        rn = report.renewal
        if rn is None or rn.table.empty:
            return empty
        return rn.table, ["rate", "ci_low", "ci_high"], dict(HEADERS.messages[language])
    rv = report.review
    review_headers = {**HEADERS.messages[language], "eligible": HEADERS.t("present", language),
                      "rate": HEADERS.t("participation", language)}
    if name == "review":
        if rv is None:
            return empty
        a = rv.activities.set_index("activity_id").loc[list(rv.detail_ids)].reset_index() \
            if rv.detail_ids else rv.activities.tail(10)
        cols = ["name", "activity_type", "starts_at", "eligible", "participants", "rate",
                "ci_low", "ci_high", "first_time_share"]
        a = a.assign(activity_type=a["activity_type"].map(words))
        return a[cols], ["rate", "ci_low", "ci_high", "first_time_share"], review_headers
    if name == "review_types":
        if rv is None:
            return empty
        b = rv.by_type.assign(activity_type=rv.by_type["activity_type"].map(words))
        return b, ["rate", "ci_low", "ci_high"], review_headers
    if name == "review_layers":
        if rv is None or rv.by_layer.empty:
            return empty
        names = rv.activities.set_index("activity_id")["name"]
        b = rv.by_layer.assign(activity_id=rv.by_layer["activity_id"].map(names))
        b = b.rename(columns={"activity_id": "name"})
        return b, ["rate", "ci_low", "ci_high"], review_headers
    if name == "before_after":
        if rv is None or rv.before_after.empty:
            return empty
        names = rv.activities.set_index("activity_id")["name"]
        b = rv.before_after.assign(name=rv.before_after["activity_id"].map(names),
                                   metric=rv.before_after["metric"].map(words),
                                   group=rv.before_after["group"].map(words))
        b = b[["name", "metric", "group", "members", "before", "after", "change", "ci_low",
               "ci_high"]]
        return b, [], dict(HEADERS.messages[language])
    if name == "scorecard":
        if report.scorecard is None:
            return empty
        c = report.scorecard.drop(columns=[col for col in report.scorecard.columns
                                           if col.endswith(("_eligible", "_members", "_buyers"))])
        pcts = [col for col in c.columns if col.startswith(("d30", "conversion", "repurchase"))]
        return c, pcts, dict(HEADERS.messages[language])
    raise ParameterError(f"no table {name!r} in report 04")
