"""Report 04 (conversion and value): the report object, its builder and its one renderer.

:func:`conversion_report` runs every section on a dataset and keeps what could not run as data
(``skipped``: section → reason key); :func:`render_summary` turns the object into the executive
summary in Chinese or English, :func:`render_note` gives the one sentence a section shows when
it is skipped or needs a caveat; ``conversion.display`` gives the tables with words for values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from .._checks import check_alpha
from .._format import check_language, count, date, escape_md, interval, na, number, pct
from .._time import resolve_end, tz_of
from ..engine.api import is_lazy
from ..engine.purchases import count_events
from ..errors import ParameterError, WorkspaceError
from ._messages import CATALOG
from .activity_review import ActivityReview, activity_review
from .first_purchase import TimeToPurchase, competing_outcomes, time_to_purchase
from .funnel import funnel, prefetch_step_times
from .scorecard import FUNNEL_WINDOWS, METRICS, channel_scorecard, scorecard_leaders

SECTIONS = ("funnel", "ttp", "repeat", "renewal", "review", "scorecard")


@dataclass(frozen=True)
class ConversionSettings:
    """Settings of report 04 (validated).

    Attributes
    ----------
    by : str or None
        Member column to compare (default ``"channel"``; None or "" for no comparison).
    window_days : float
        Conversion window of the funnel (30).
    horizon_days : float
        Horizon of expected purchases and spend (90).
    time_unit_days : float
        Time unit of the repeat-purchase model (7 = weeks).
    grace_days : float
        Renewal grace period (30).
    inactivity_days : float
        The churn rule's silence (30), for time to first purchase.
    review_detail : int
        Activities reviewed in detail (10).
    active_types : list of str or None
    observed_until : str, Timestamp or None
    alpha : float
    """

    by: str | None = "channel"
    window_days: float = 30
    horizon_days: float = config.HORIZON_DAYS
    time_unit_days: float = 7
    grace_days: float = 30
    inactivity_days: float = config.INACTIVITY_DAYS
    review_detail: int = 10
    active_types: tuple | list | str | None = None
    observed_until: object = None
    alpha: float = config.ALPHA

    def __post_init__(self):
        check_alpha(self.alpha)
        for name in ("window_days", "horizon_days", "time_unit_days", "inactivity_days"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ParameterError(f"{name} must be a positive number of days, got {v!r}")
        if isinstance(self.grace_days, bool) or not self.grace_days >= 0:
            raise ParameterError(f"grace_days must be a number of days ≥ 0, got {self.grace_days!r}")
        if not isinstance(self.review_detail, int) or self.review_detail < 0:
            raise ParameterError(f"review_detail must be a whole number ≥ 0, got "
                                 f"{self.review_detail!r}")
        if isinstance(self.by, str) and not self.by.strip():
            object.__setattr__(self, "by", None)
        if self.active_types == "" or self.active_types == ():
            object.__setattr__(self, "active_types", None)


@dataclass(frozen=True)
class ConversionReport:
    """Everything report 04 shows, as data (no sentences).

    Attributes
    ----------
    settings : ConversionSettings
    observed_until : Timestamp
    members : int
        Members who joined by the end.
    funnel_all, funnel_by : DataFrame
        :func:`funnel` overall and by ``settings.by`` (empty when skipped).
    ttp : TimeToPurchase or None
    ttp_daily : DataFrame
        Daily cumulative incidence (days 0–90) by segment, for the plot (``ttp`` is overall).
    repeat : value.RepeatPurchase or None
    renewal : value.Renewal or None
    review : ActivityReview or None
    scorecard : DataFrame or None
    leaders : DataFrame or None
    skipped : dict
        Section → reason key (rendered by :func:`render_note` / :func:`render_summary`).
    analyst_notes : tuple of str
        Raw caveats for analysts (warnings caught while computing); never shown to reviewers.
    """

    settings: ConversionSettings
    observed_until: pd.Timestamp
    members: int
    funnel_all: pd.DataFrame
    funnel_by: pd.DataFrame
    ttp: TimeToPurchase | None
    ttp_daily: pd.DataFrame
    repeat: object | None
    renewal: object | None
    review: ActivityReview | None
    scorecard: pd.DataFrame | None
    leaders: pd.DataFrame | None
    has_purchases: bool = True
    skipped: dict = field(default_factory=dict)
    analyst_notes: tuple[str, ...] = ()

    @property
    def by(self) -> str | None:
        return self.settings.by


def _run(fn, section, skipped, caught):
    """Run one section; a data-dependent refusal (WorkspaceError) becomes a skip reason."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            return fn()
        except WorkspaceError as exc:
            skipped.setdefault(section, "cannot")
            caught.append(f"{section}: {exc}")
            return None
        finally:
            caught.extend(f"{section}: {w.message}" for w in ws)


def conversion_report(members: pd.DataFrame, events: pd.DataFrame, *,
                      activities: pd.DataFrame | None = None,
                      memberships: pd.DataFrame | None = None,
                      experiments: pd.DataFrame | None = None,
                      assignments: pd.DataFrame | None = None,
                      settings: ConversionSettings | None = None, **options) -> ConversionReport:
    """Run every section of report 04 on a dataset's tables.

    Parameters
    ----------
    members, events : DataFrame
        ``events`` may be a lazy table (``engine="duckdb"``/``"spark"``): every section then
        works on per-member tables from the engine, with the same numbers.
    activities, memberships : DataFrame, optional
        Optional tables (absent or empty: their sections are skipped with the reason).
    experiments, assignments : DataFrame, optional
        A/B tests: an activity that belongs to one counts only its treatment arm(s) as present
        in the activity review (its effect is measured in report 03).
    settings : ConversionSettings, optional
    **options
        Fields of :class:`ConversionSettings` (``by="platform"``, ``window_days=14`` …).

    Returns
    -------
    ConversionReport

    Examples
    --------
    >>> r = conversion_report(ds.members, ds.events, activities=ds.activities,
    ...                       memberships=ds.memberships)              # doctest: +SKIP
    >>> print(render_summary(r, "zh"))                                 # doctest: +SKIP
    """
    from .. import survival, value  # sibling packages, public APIs

    s = settings or ConversionSettings(**options)
    if settings is not None and options:
        s = ConversionSettings(**{**{f: getattr(settings, f) for f in settings.__dataclass_fields__},
                                  **options})
    tz = tz_of(members["joined_at"]) if is_lazy(events) else tz_of(events["ts"])
    end = resolve_end(s.observed_until, events, tz)
    skipped: dict[str, str] = {}
    caught: list[str] = []
    opts = dict(observed_until=end, active_types=s.active_types)
    n_members = int((members["joined_at"] <= end).sum())
    has_purchases = count_events(events, event_types="purchase", until=end, tz=tz) > 0
    by = s.by
    if by is not None and by not in members.columns:
        raise ParameterError(f"by={by!r} is not a column of members; available: "
                             f"{', '.join(map(str, members.columns))}")
    levels = members.loc[members["joined_at"] <= end, by].nunique() if by else 0
    compare = by is not None and levels >= 2
    if by is not None and levels < 2:
        skipped["compare"] = "one_channel"
    elif by is None:
        skipped["compare"] = "no_segment"

    kept: dict = {}

    def churn():  # one churn table for the first-purchase and the scorecard sections
        if "churn" not in kept:
            kept["churn"] = survival.churn_table(members, events,
                                                 inactivity_days=s.inactivity_days, **opts)
        return kept["churn"]

    if compare:  # the scorecard's 30- and 90-day funnels are cut from the same step times
        _run(lambda: prefetch_step_times(members, events, window_days=max(
            s.window_days, *FUNNEL_WINDOWS), **opts), "funnel", skipped, caught)
    f_all = _run(lambda: funnel(members, events, window_days=s.window_days, alpha=s.alpha,
                                **opts), "funnel", skipped, caught)
    if f_all is None or int(f_all["eligible"].iloc[0]) == 0:
        skipped["funnel"] = "funnel_too_recent"
    f_by = pd.DataFrame()
    if compare and "funnel" not in skipped:
        f_by = _run(lambda: funnel(members, events, window_days=s.window_days, by=by,
                                   alpha=s.alpha, **opts), "funnel", skipped, caught)
        f_by = pd.DataFrame() if f_by is None else f_by
    ttp, daily = None, pd.DataFrame()
    if not has_purchases:
        for sec in ("ttp", "repeat"):
            skipped[sec] = "no_purchases"
    else:
        seg = by if compare else None
        outcomes = _run(lambda: competing_outcomes(members, events, by=seg,
                                                   inactivity_days=s.inactivity_days,
                                                   churn=churn(), **opts),
                        "ttp", skipped, caught)
        if outcomes is not None and len(outcomes):
            ttp = time_to_purchase(members, events, days=[7, 14, 30, 60, 90], alpha=s.alpha,
                                   outcomes=outcomes)
            if seg is not None:
                daily = time_to_purchase(members, events, by=seg, days="daily", alpha=s.alpha,
                                         outcomes=outcomes).table
            else:
                daily = time_to_purchase(members, events, days="daily", alpha=s.alpha,
                                         outcomes=outcomes).table
        elif "ttp" not in skipped:
            skipped["ttp"] = "ttp_too_recent"
    repeat = None
    if has_purchases:
        repeat = _run(lambda: value.repeat_purchase(
            members, events, observed_until=end, time_unit_days=s.time_unit_days,
            horizon_days=s.horizon_days, by=by if compare else None), "repeat", skipped, caught)
        if repeat is not None and not repeat.fitted:
            skipped["repeat"] = "repeat_few"
        if repeat is not None and repeat.fitted and not repeat.spend_params:
            skipped["spend"] = "no_amounts"
    renewal = None
    if memberships is None or memberships.empty:
        skipped["renewal"] = "no_memberships"
    else:
        renewal = _run(lambda: value.renewal(memberships, observed_until=end, by="plan",
                                             grace_days=s.grace_days, alpha=s.alpha),
                       "renewal", skipped, caught)
        if renewal is not None and not renewal.params:
            skipped["renewal_curve"] = "renewal_unfitted"
    review = None
    if activities is None or activities.empty:
        skipped["review"] = "no_activities"
    else:
        review = _run(lambda: activity_review(members, events, activities,
                                              detail=s.review_detail, alpha=s.alpha,
                                              experiments=experiments, assignments=assignments,
                                              **opts),
                      "review", skipped, caught)
        if review is not None and "no_activities" in review.notes:
            review = None
            skipped["review"] = "no_activities"
    card = leaders = None
    if compare:
        card = _run(lambda: channel_scorecard(members, events, by=by,
                                              inactivity_days=s.inactivity_days, alpha=s.alpha,
                                              churn=churn(), **opts),
                    "scorecard", skipped, caught)
        if card is not None:
            leaders = scorecard_leaders(card, by)
            if (leaders["levels"] < 2).all():  # no figure measured for two channels yet
                card = leaders = None
                skipped["scorecard"] = "scorecard_too_recent"
    else:
        skipped["scorecard"] = skipped["compare"]
    return ConversionReport(settings=s, observed_until=end, members=n_members,
                            funnel_all=f_all if f_all is not None else pd.DataFrame(),
                            funnel_by=f_by, ttp=ttp, ttp_daily=daily, repeat=repeat,
                            renewal=renewal, review=review, scorecard=card, leaders=leaders,
                            has_purchases=has_purchases, skipped=skipped,
                            analyst_notes=tuple(caught))


# ----------------------------------------------------------------------------- rendering
def _ci(row, language, est="rate", lo="ci_low", hi="ci_high", fmt=pct, **kw) -> str:
    return interval(row[est], row[lo], row[hi], fmt, language=language, **kw)


def _segment_word(report, language) -> str:
    key = f"segment_{report.by}"
    return CATALOG.t(key, language) if key in CATALOG.keys(language) else escape_md(report.by)


def _skip_reason(report, section, language) -> str:
    reason = report.skipped[section]
    s = report.settings
    if reason == "cannot":
        return CATALOG.t("skip_cannot", language, section=CATALOG.t(f"section_{section}", language))
    return CATALOG.t(f"skip_{reason}", language, window=number(s.window_days, 0, language),
                     inactivity=number(s.inactivity_days, 0, language))


def render_summary(report: ConversionReport, language: str = "zh") -> str:
    """The executive summary of report 04 as Markdown bullets, in ``language``."""
    check_language(language)
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    s = report.settings
    win = number(s.window_days, 0, language)
    lines: list[str] = []
    f = report.funnel_all
    if "funnel" not in report.skipped and len(f):
        row = f.set_index("step")
        elig = int(row.loc["joined", "eligible"])
        recent = report.members - elig
        lines.append(t("funnel", window=win, eligible=count(elig, language),
                       recent=count(recent, language),
                       active=_ci(row.loc["active"], language),
                       purchased=_ci(row.loc["purchased"], language),
                       repurchased=_ci(row.loc["repurchased"], language)))
    elif "funnel" in report.skipped:
        lines.append(t("funnel_none", window=win))
    if not report.has_purchases:
        lines.append(t("no_purchases"))
    fb = report.funnel_by
    if len(fb) and report.has_purchases:
        p = fb[(fb["step"] == "purchased") & (fb["eligible"] > 0)].reset_index(drop=True)
        if len(p) >= 2:
            seg = _segment_word(report, language)
            lines.extend(_best_worst(p, report.by, seg, win, language))
    if report.ttp is not None and "funnel" not in report.skipped \
            and int(s.window_days) in report.ttp.days:
        r = report.ttp.at(int(s.window_days)).iloc[0]
        fr = f.set_index("step").loc["purchased"]
        if np.isfinite(r["cumulative_incidence"]):
            ok = not (r["ci_high"] < fr["ci_low"] or fr["ci_high"] < r["ci_low"])
            agree = t("ttp_agree" if ok else "ttp_disagree",
                      funnel_value=pct(fr["rate"], language=language))
            lines.append(t("ttp", day=win, value=_ci(r, language, "cumulative_incidence"),
                           members=_ttp_members(report, language, "ttp"), agree=agree))
    rp = report.repeat
    if rp is not None and rp.fitted:
        m = rp.members
        spend = ""
        if rp.spend_params:
            spend = t("repeat_spend", spend=number(m["expected_spend"].mean(), 1, language))
        lines.append(t("repeat", buyers=count(len(m), language),
                       horizon=number(rp.horizon_days, 0, language),
                       purchases=number(m["expected_purchases"].mean(), 2, language), spend=spend,
                       alive=pct((m["p_alive"] > 0.5).mean(), language=language)))
        h = rp.holdout_summary
        if h:
            lines.append(t("holdout", date=date(h["calibration_end"], language, prose=True),
                           days=number(h["holdout_days"], 0, language),
                           predicted=number(h["predicted_total"], 0, language),
                           actual=number(h["actual_total"], 0, language)))
    rn = report.renewal
    if rn is not None and len(rn.table):
        for plan, sub in rn.table.groupby("plan", sort=True):
            first = sub[sub["renewal_index"] == 1]
            if first.empty:
                continue
            later = ""
            curve = rn.curve[rn.curve["plan"] == plan] if len(rn.curve) else rn.curve
            if plan in rn.params and len(curve):
                k = int(min(6, curve["renewal_index"].max()))
                still = curve.loc[curve["renewal_index"] == k, "projected_still_subscribed"].iloc[0]
                later = t("renewal_later", still=pct(still, language=language), k=k)
            lines.append(t("renewal", plan=escape_md(plan), rate=_ci(first.iloc[0], language),
                           n=count(first["up_for_renewal"].iloc[0], language), later=later))
    rv = report.review
    if rv is not None and len(rv.activities):
        lines.extend(_review_lines(rv, language))
    if report.leaders is not None:
        items = []
        for r in report.leaders.itertuples():
            parts = []
            if r.best is not None:
                parts.append(t("scorecard_item_best", best=escape_md(r.best)))
            if r.worst is not None:
                parts.append(t("scorecard_item_worst", worst=escape_md(r.worst)))
            if parts:
                items.append(t("scorecard_metric", metric=t(f"metric_{r.metric}"),
                               parts=("，" if language == "zh" else ", ").join(parts)))
        sep = "；" if language == "zh" else "; "
        lines.append(t("scorecard", items=sep.join(items)) if items else t("scorecard_none"))
    skipped = [_skip_reason(report, k, language) for k in report.skipped
               if k not in ("renewal_curve",) or "renewal" not in report.skipped]
    skipped = list(dict.fromkeys(skipped))
    if skipped:
        sep = "；" if language == "zh" else "; "
        lines.append(t("skipped", items=sep.join(skipped)))
    caveats = []
    if rv is not None and len(rv.before_after):
        caveats.append(t("caveat_descriptive"))
    elif rv is not None and len(rv.activities):
        caveats.append(t("caveat_review_short", days=number(rv.window_days, 0, language)))
    if rp is not None and rp.fitted and rp.by:
        caveats.append(t("caveat_model"))
    if caveats:
        lines.append(t("caveats", items=("；" if language == "zh" else "; ").join(caveats)))
    if len(fb):
        parts = [t("where_funnel", segment=_segment_word(report, language))]
        if report.ttp is not None:
            parts.append(t("where_ttp"))
        if rp is not None and rp.fitted and rp.holdout_summary:
            parts.append(t("where_model"))
        if rn is not None and rn.params:
            parts.append(t("where_renewal"))
        if report.scorecard is not None:
            parts.append(t("where_scorecard"))
        lines.append(t("where", items=("、" if language == "zh" else ", ").join(parts)))
    return "\n".join(f"- {x}" for x in lines)


def _ttp_counts(report) -> tuple[int, int | None]:
    """(members the time-to-first-purchase curve uses, members the funnel counts or None)."""
    n = int(report.ttp.outcomes["members"].sum()) if report.ttp is not None else 0
    f = report.funnel_all
    if "funnel" in report.skipped or f.empty:
        return n, None
    return n, int(f.set_index("step").loc["joined", "eligible"])


def _ttp_members(report, language: str, key: str = "ttp") -> str:
    """The sentence on how many members the curve uses beside the funnel (computed, not
    assumed: under the detectable-churn rule they are often the same members)."""
    n, fn = _ttp_counts(report)
    kw = dict(n=count(n, language), funnel_n=count(fn, language),
              inactivity=number(report.settings.inactivity_days, 0, language))
    if fn is None:
        fn = n
    if n == fn:
        return CATALOG.t("ttp_same", language, **kw)
    if n > fn:
        return CATALOG.t("ttp_more", language, extra=count(n - fn, language), **kw)
    return CATALOG.t("ttp_fewer", language, **kw)


def _best_worst(p: pd.DataFrame, by: str, seg: str, win: str, language: str) -> list[str]:
    from .._format import overlap

    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    top, bottom = p.loc[p["rate"].idxmax()], p.loc[p["rate"].idxmin()]

    def apart(row):
        return not any(overlap(row["ci_low"], row["ci_high"], o["ci_low"], o["ci_high"])
                       for _, o in p.drop(index=row.name).iterrows())

    out = []
    if apart(top):
        out.append(t("seg_best", segment=seg, window=win, best=escape_md(top[by]),
                     best_value=_ci(top, language)))
        if apart(bottom):
            out[-1] += " " + t("seg_worst", worst=escape_md(bottom[by]),
                               worst_value=_ci(bottom, language))
    else:
        key = "seg_overlap"
        if not overlap(top["ci_low"], top["ci_high"], bottom["ci_low"], bottom["ci_high"]):
            key = "seg_top_overlaps" if apart(bottom) else "seg_extremes_apart"
        out.append(t(key, segment=seg, window=win, low=escape_md(bottom[by]),
                     low_value=_ci(bottom, language), high=escape_md(top[by]),
                     high_value=_ci(top, language)))
        if apart(bottom):
            out[-1] += " " + t("seg_worst", worst=escape_md(bottom[by]),
                               worst_value=_ci(bottom, language))
    return out


def _review_lines(rv: ActivityReview, language: str) -> list[str]:
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    a = rv.activities.set_index("activity_id")
    a = a.loc[list(rv.detail_ids)] if rv.detail_ids else a.tail(10)
    a = a[a["eligible"] > 0]
    if a.empty:
        return []
    last = a.sort_values("starts_at").iloc[-1]
    wide = a["group_id"].isna().all()
    first = pct(last["first_time_share"], language=language) \
        if np.isfinite(last["first_time_share"]) else CATALOG.t("none", language)
    if last["participants"] == 0 and len(a) == 1:
        return [t("review_nobody", name=escape_md(last["name"]), rate=_ci(last, language))]
    if len(a) == 1:
        return [t("review_one", name=escape_md(last["name"]), rate=_ci(last, language),
                  first=first)]
    out = [t("review" if wide else "review_group", n=len(a),
             days=number(rv.window_days, 0, language),
             low=pct(a["rate"].min(), language=language),
             high=pct(a["rate"].max(), language=language), name=escape_md(last["name"]),
             rate=_ci(last, language),
             first=pct(last["first_time_share"], language=language)
             if np.isfinite(last["first_time_share"]) else CATALOG.t("none", language))]
    ba = rv.before_after
    if len(ba):
        d = ba[(ba["group"] == "difference") & (ba["metric"] == "active_days")]["change"].dropna()
        if len(d):
            diff = float(d.mean())
            out.append(t("review_assoc_more" if diff >= 0 else "review_assoc_fewer",
                         days=number(rv.window_days, 0, language),
                         diff=number(abs(diff), 1, language)))
    return out


def render_note(report: ConversionReport, section: str, language: str = "zh") -> str:
    """The sentence a section shows: why it is skipped, or its caveat ("" when none).

    ``section`` is one of ``"funnel"``, ``"ttp"``, ``"repeat"``, ``"renewal"``, ``"review"``,
    ``"scorecard"``.
    """
    check_language(language)
    if section not in SECTIONS:
        raise ParameterError(f"section={section!r}; use one of {', '.join(SECTIONS)}")
    if section in report.skipped:
        return CATALOG.t("note_skipped", language, reason=_skip_reason(report, section, language))
    if section == "renewal" and "renewal_curve" in report.skipped:
        return CATALOG.t("note_skipped", language,
                         reason=_skip_reason(report, "renewal_curve", language))
    if section == "review":
        note = CATALOG.t("note_review", language)
        rv = report.review
        if rv is not None and "experiment_id" in rv.activities.columns:
            shown = rv.activities.set_index("activity_id")
            shown = shown.loc[list(rv.detail_ids)] if rv.detail_ids else shown
            x = shown[shown["experiment_id"].notna()]
            if len(x):
                sep = "、" if language == "zh" else ", "
                note += ("" if language == "zh" else " ") + CATALOG.t(
                    "note_review_experiment", language,
                    names=sep.join(escape_md(v) for v in x["name"]))
        return note
    if section == "ttp":
        n, fn = _ttp_counts(report)
        return CATALOG.t("note_ttp", language, n=count(n, language),
                         funnel_n=count(fn, language) if fn is not None else na(language),
                         inactivity=number(report.settings.inactivity_days, 0, language),
                         window=number(report.settings.window_days, 0, language))
    if section == "scorecard":
        return CATALOG.t("note_scorecard", language,
                         window=number(report.settings.window_days, 0, language))
    return ""


__all__ = ["ConversionSettings", "ConversionReport", "conversion_report", "render_summary",
           "render_note", "SECTIONS", "METRICS"]
