"""The cohort report (report 01): a report object built from the tables, and its one renderer.

:func:`cohort_report` computes every table report 01 shows and returns a :class:`CohortReport`;
:func:`build_report` makes the same object from tables computed elsewhere. :func:`render_summary`
turns a report into the executive summary in Chinese or English, and :func:`render_note` into the
one-sentence notes of the sections (skipped, partial). Every sentence comes from the catalog in
``_messages``; numbers go through ``_format``; every string from the data through ``escape_md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._format import check_language, count, date, escape_md, interval, number, overlap, pct
from .._time import Period, check_period, resolve_end, tz_of
from ._common import Mode, check_mode, fill_doc
from ._messages import CATALOG, LAYER_WORDS, SEGMENT_WORDS
from .fission import fission_table
from .growth import growth, lifecycle
from .layers import (LayerMix, LayerRules, layer_mix, layer_transitions, left_between,
                     member_layers, transition_window)
from .retention import n_day_retention, retention, retention_curve

__all__ = ["CohortReport", "cohort_report", "build_report", "render_summary", "render_note",
           "summary_markdown", "MIN_ELIGIBLE", "REPORT_DAYS"]

#: smallest segment (members old enough) ranked in the summary
MIN_ELIGIBLE = 30
#: the N of the N-day retention figures of the report
REPORT_DAYS = (7, 30)
_N_DAY_COLUMNS = ("day", "eligible", "retained", "rate", "ci_low", "ci_high")


@dataclass(frozen=True)
class CohortReport:
    """Everything report 01 states, as data (no text).

    Attributes
    ----------
    period, mode : str
        Cohort period ("D", "W", "M") and retention mode ("classic", "rolling").
    observed_until : Timestamp or None
        End of observation.
    growth : DataFrame
        :func:`growth` table.
    n_day : DataFrame
        :func:`n_day_retention` of all members.
    segments : tuple of str
        Segment columns compared (empty: none).
    n_day_by : DataFrame or None
        :func:`n_day_retention` by ``segments``.
    period_one : float or None
        Pooled retention at period index 1 over complete cells (compared with D7 / D30).
    layers : LayerMix or None
        Layer mix of current members, leavers apart.
    fission : DataFrame or None
        :func:`fission_table` (None when skipped).
    retention, retention_by, curve, lifecycle : DataFrame or None
        The tables behind the report's charts (set by :func:`cohort_report`).
    transitions : DataFrame or None
        :func:`layer_transitions` of the members current at both ends of the last window.
    transition_window : tuple of Timestamp, or None
        (start, end) of ``transitions``.
    transition_left : int
        Members current at the start of that window who left the group by its end.
    skipped : tuple of str
        Sections that could not run: ``"fission"``, ``"segments"``, ``"one_segment"``.
    notes : tuple of str
        Caveats as data: ``"running"``, ``"n_day"``, ``"single_cohort"``, ``"short_history"``.
    history_days : float or None
        Days from the first join to the end of observation.
    min_eligible : int
        Smallest segment ranked.
    """

    period: str
    mode: str
    observed_until: pd.Timestamp | None
    growth: pd.DataFrame
    n_day: pd.DataFrame
    segments: tuple[str, ...] = ()
    n_day_by: pd.DataFrame | None = None
    period_one: float | None = None
    layers: LayerMix | None = None
    fission: pd.DataFrame | None = None
    retention: pd.DataFrame | None = None
    retention_by: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    lifecycle: pd.DataFrame | None = None
    transitions: pd.DataFrame | None = None
    transition_window: tuple | None = None
    transition_left: int = 0
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    history_days: float | None = None
    min_eligible: int = MIN_ELIGIBLE

    @property
    def hue(self) -> str | None:
        """The one segment column the curves are coloured by (None: all members together)."""
        ok = not ({"segments", "one_segment"} & set(self.skipped))
        return self.segments[0] if ok and len(self.segments) == 1 else None

    @property
    def n_day_table(self) -> pd.DataFrame:
        """N-day retention by segment when segments are compared, else of all members."""
        return self.n_day_by if self.n_day_by is not None else self.n_day

    @property
    def members_end(self) -> int | None:
        """Current members at the end (joined, not left): the one "members at the end"."""
        g = self.growth
        return int(g["members_end"].iloc[-1]) if len(g) else None


def _notes(growth_table: pd.DataFrame, n_day: pd.DataFrame, history_days) -> tuple[str, ...]:
    notes = []
    if "complete" in growth_table and len(growth_table) and not bool(
            growth_table["complete"].iloc[-1]):
        notes.append("running")
    if len(n_day):
        notes.append("n_day")  # rendered as the segment caveat only when segments are compared
    if len(growth_table) and int((growth_table["new_members"] > 0).sum()) == 1:
        notes.append("single_cohort")
    if history_days is not None and history_days < 30:
        notes.append("short_history")
    return tuple(notes)


def build_report(*, growth_table: pd.DataFrame, n_day: pd.DataFrame,
                 n_day_by: pd.DataFrame | None = None, layers=None,
                 fission: pd.DataFrame | None = None, period: Period = "W",
                 mode: Mode = "classic", min_eligible: int = MIN_ELIGIBLE,
                 **extra) -> CohortReport:
    """A :class:`CohortReport` from tables computed elsewhere.

    ``layers`` is a :class:`LayerMix` or a :func:`member_layers` table (then every member in
    it is counted, as no membership dates are given). ``extra`` sets further fields
    (``period_one``, ``observed_until``, ``retention``, ``curve``, ``skipped``, …).
    """
    check_period(period)
    check_mode(mode)
    segments = tuple(c for c in (n_day_by.columns if n_day_by is not None else [])
                     if c not in _N_DAY_COLUMNS)
    if isinstance(layers, pd.DataFrame):
        table = (layers.groupby("layer", observed=False).size().rename("members").reset_index())
        total = int(table["members"].sum())
        table["share"] = table["members"] / total if total else np.nan
        layers = LayerMix(table=table, current=total, left=0, as_of=extra.get("observed_until"))
    history = extra.pop("history_days", None)
    notes = extra.pop("notes", None)
    return CohortReport(period=period, mode=mode, observed_until=extra.pop("observed_until", None),
                        growth=growth_table, n_day=n_day, segments=segments, n_day_by=n_day_by,
                        layers=layers if layers is not None and len(layers.table) else None,
                        fission=fission, history_days=history,
                        notes=notes if notes is not None else _notes(growth_table, n_day,
                                                                     history),
                        min_eligible=min_eligible, **extra)


@fill_doc
def cohort_report(members: pd.DataFrame, events: pd.DataFrame, *, period: Period = "W",
                  mode: Mode = "classic", by="channel", active_types=None, observed_until=None,
                  rules: LayerRules | None = None) -> CohortReport:
    """Compute every table of report 01 and return them as a :class:`CohortReport`.

    Sections that cannot run on the data are recorded in ``skipped`` (no referrer column: no
    fission; no segment column, or one value only: no comparison by segment), never raised.

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables.
    %(period)s
    %(mode)s
    %(by)s
    %(active_types)s
    %(observed_until)s
    rules : LayerRules, optional
        Thresholds of the member layers.

    Returns
    -------
    CohortReport

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()
    >>> report = cohort_report(members, events, by=None)
    >>> report.members_end, report.skipped
    (4, ('segments',))
    >>> print(render_summary(report, "en").splitlines()[0])
    - **Members at the end** (2026-03-24): 4 current members (joined and not left the group); 1 more joined and later left. This is the count every member figure below refers to.
    """
    check_period(period)
    check_mode(mode)
    until = resolve_end(observed_until, events, tz_of(members["joined_at"]))
    kw = dict(active_types=active_types, observed_until=until)
    from .._checks import as_columns

    segments = as_columns("by", by, members)
    skipped = []
    if not segments:
        skipped.append("segments")
    elif members.loc[members["joined_at"] <= until, segments].drop_duplicates().shape[0] <= 1:
        skipped.append("one_segment")
    g = growth(members, events, period=period, **kw)
    nd = n_day_retention(members, events, days=REPORT_DAYS, mode=mode, **kw)
    nd_by = (n_day_retention(members, events, days=REPORT_DAYS, mode=mode, by=segments, **kw)
             if not skipped else None)
    overall = retention(members, events, period=period, mode=mode, **kw)
    by_table = (retention(members, events, period=period, mode=mode, by=segments, **kw)
                if not skipped else overall)
    curve = retention_curve(by_table)
    one = retention_curve(overall)
    one = one.loc[one["period_index"] == 1, "rate"]
    L = member_layers(members, events, as_of=until, rules=rules, active_types=active_types)
    mix = layer_mix(L, members, as_of=until)
    fission = None
    if "referrer_id" in members.columns and members["referrer_id"].notna().any():
        fission = fission_table(members, period="M", by=None, events=events,
                                observed_until=until)
    else:
        skipped.append("fission")
    t0, t1 = transition_window(events, members, end=until, rules=rules)
    transitions = (layer_transitions(members, events, start=t0, end=t1, current_only=True,
                                     rules=rules, active_types=active_types)
                   if (members["joined_at"] <= t0).any() else None)
    joined = members.loc[members["joined_at"] <= until, "joined_at"]
    history = (until - joined.min()) / pd.Timedelta(days=1) if len(joined) else None
    return build_report(growth_table=g, n_day=nd, n_day_by=nd_by, layers=mix, fission=fission,
                        period=period, mode=mode, observed_until=until,
                        period_one=float(one.iloc[0]) if len(one) else None,
                        retention=overall, retention_by=by_table, curve=curve,
                        lifecycle=lifecycle(members, events, period=period, **kw),
                        transitions=transitions, transition_window=(t0, t1),
                        transition_left=left_between(members, t0, t1),
                        skipped=tuple(skipped), history_days=history)


# ----------------------------------------------------------------------------- rendering
def _when(ts, period: str, language: str) -> str:
    t = pd.Timestamp(ts)
    month = f"{t.year}年{t.month}月" if language == "zh" else f"{t:%B %Y}"
    return CATALOG.t(f"when_{period}", language, date=date(t, language, prose=True), month=month)


def _segment_word(cols, language: str) -> str:
    words = SEGMENT_WORDS[language]
    return " / ".join(words.get(c, escape_md(c)) for c in cols)


def _segment_name(row, cols, language: str) -> str:
    blank = "（空）" if language == "zh" else "(blank)"
    return " / ".join(blank if pd.isna(row[c]) or str(row[c]).strip() == "" else escape_md(row[c])
                      for c in cols)


def _value(row, language: str) -> str:
    return (interval(row["rate"], row["ci_low"], row["ci_high"], pct, language=language)
            + ("，" if language == "zh" else ", ") + f"n={count(row['eligible'], language)}")


def _segment_line(report: CohortReport, language: str) -> list[str]:
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    cols, nd = list(report.segments), report.n_day_by
    if nd is None or not cols or not len(nd):
        return []
    seg = _segment_word(cols, language)
    usable = nd.loc[nd["eligible"] >= report.min_eligible]
    if not len(usable):
        return [t("seg_none", segment=seg, min_n=count(report.min_eligible),
                  day=int(nd["day"].max()))]
    d = int(usable["day"].max())
    at = usable.loc[usable["day"] == d].sort_values("rate", ascending=False)
    if len(at) == 1:
        return [t("seg_one", segment=seg, day=d, min_n=count(report.min_eligible))]

    def apart(i: int) -> bool:
        r = at.iloc[i]
        return not any(overlap(r["ci_low"], r["ci_high"], o["ci_low"], o["ci_high"])
                       for j, (_, o) in enumerate(at.iterrows()) if j != i)

    best, worst = at.iloc[0], at.iloc[-1]
    name = lambda r: _segment_name(r, cols, language)  # noqa: E731
    if apart(0):
        line = t("seg_best", segment=seg, day=d, min_n=count(report.min_eligible),
                 best=name(best), best_value=_value(best, language))
    else:
        extremes_apart = not overlap(best["ci_low"], best["ci_high"], worst["ci_low"],
                                     worst["ci_high"])
        line = t("seg_spread" if extremes_apart else "seg_overlap", segment=seg, day=d,
                 min_n=count(report.min_eligible),
                 low=name(worst), low_value=pct(worst["rate"], language=language),
                 high=name(best), high_value=pct(best["rate"], language=language))
    if apart(len(at) - 1):
        line += t("space") + t("seg_worst", worst=name(worst), worst_value=_value(worst, language))
    return [line]


def render_summary(report: CohortReport, language: str = "zh") -> str:
    """The executive summary of report 01 as a Markdown bullet list.

    Parameters
    ----------
    report : CohortReport
    language : {"zh", "en"}

    Returns
    -------
    str
    """
    check_language(language)
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    p = report.period
    unit, units = t(f"unit_{p}"), t(f"units_{p}")
    g_all = report.growth
    if not len(g_all):
        return t("empty")
    g = g_all.loc[g_all["complete"].astype(bool)] if "complete" in g_all else g_all
    lines = []
    if report.members_end is not None and report.layers is not None \
            and report.observed_until is not None:
        key = "members_end" if report.layers.left else "members_end_noleft"
        lines.append(t(key, date=date(report.observed_until, language, prose=True),
                       current=count(report.members_end, language),
                       left=count(report.layers.left, language)))
    joins = g_all.loc[g_all["new_members"] > 0, "period"] if len(g_all) else g_all
    if "single_cohort" in report.notes and len(joins):
        lines.append(t("trend_single", n=count(g_all["new_members"].sum()),
                       when=_when(joins.iloc[0], p, language)))
    elif len(g) >= 2:
        half = max(len(g) // 2, 1)
        first, last = g["new_members"].iloc[:half].mean(), g["new_members"].iloc[-half:].mean()
        trend = ("growing" if last > 1.1 * first else "shrinking" if last < 0.9 * first
                 else "flat")
        lines.append(t("trend", trend=t(f"trend_{trend}"), first=number(first), unit=unit,
                       units=units, half=half, last=number(last)))
    elif len(g_all):
        lines.append(t("trend_short", n=count(g_all["new_members"].sum()), units=units))
    nd = report.n_day
    if len(nd):
        parts = [t("n_day_part", day=int(r["day"]), value=_value(r, language))
                 if r["eligible"] > 0 else t("n_day_none", day=int(r["day"]))
                 for _, r in nd.iterrows()]
        lines.append(t("n_day", mode=t(f"mode_{report.mode}"), parts=t("sep").join(parts)))
        if report.mode == "classic" and report.period_one is not None and p in ("W", "M"):
            days = set(nd.loc[nd["eligible"] > 0, "day"].astype(int))
            if p == "W" and 7 in days:
                lines[-1] += t("space") + t("d7_vs_week1", week1=pct(report.period_one, language=language))
            elif p == "M" and 30 in days:
                lines[-1] += t("space") + t("d30_vs_month1",
                                     month1=pct(report.period_one, language=language))
    lines += _segment_line(report, language)
    if len(g):
        last = g.iloc[-1]
        sticky = ("" if p == "D" else t("sticky", adjective=t(f"adj_{p}"),
                                        value=pct(last["stickiness"], language=language)))
        lines.append(t("growth_last", unit=unit, when=_when(last["period"], p, language),
                       joined=count(last["new_members"]), left=count(last["exits"]),
                       active=count(last["active_members"]), sticky=sticky))
    if report.layers is not None and report.layers.current > 0:
        mix = t("list_sep").join(
            t("layer_item", name=LAYER_WORDS[language].get(str(r["layer"]), escape_md(r["layer"])),
              share=pct(r["share"], language=language))
            for _, r in report.layers.table.iterrows())
        when = report.layers.as_of
        if when is None or report.observed_until is None:
            lines.append(t("layers_nodate", current=count(report.layers.current), mix=mix))
        else:
            lines.append(t("layers" if report.layers.left else "layers_noleft",
                           current=count(report.layers.current),
                           left=count(report.layers.left), mix=mix,
                           date=date(when, language, prose=True)))
    lines += _fission_line(report, language)
    if not lines:
        return t("empty")
    caveats = _caveats(report, language, g_all)
    if caveats:
        lines.append(t("caveats", items=t("sep").join(caveats)))
    skipped = [_skip_text(k, report, language) for k in report.skipped]
    if skipped:
        lines.append(t("skipped", items=t("sep").join(skipped)))
    lines.append(t("where"))
    return "\n".join(f"- {x}" for x in lines)


def _fission_line(report: CohortReport, language: str) -> list[str]:
    f = report.fission
    if f is None or not len(f) or f["joined"].sum() <= 0:
        return []
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    cols = ["joined", "referred", "base_members", "referred_joins"]
    per = f.groupby("period", sort=True)[cols].sum()
    done = (f.groupby("period", sort=True)["complete"].all() if "complete" in f
            else pd.Series(True, index=per.index))
    share = per["referred"].sum() / per["joined"].sum()
    ok = per.loc[(per["base_members"] > 0) & done.reindex(per.index).to_numpy()]
    k_text = ""
    if len(ok):
        last = ok.iloc[-1]
        k_text = t("k_text", when=_when(last.name, "M", language),
                   k=number(last["referred_joins"] / last["base_members"], 2))
        if not bool(done.iloc[-1]):
            k_text += t("k_partial", when=_when(per.index[-1], "M", language))
    return [t("fission", share=pct(share, language=language), k_text=k_text)]


def _caveats(report: CohortReport, language: str, g_all: pd.DataFrame) -> list[str]:
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    unit = t(f"unit_{report.period}")
    out = []
    for note in report.notes:
        if note == "running" and len(g_all):
            when = g_all["period"].iloc[-1]
            out.append(t("caveat_running", the_last=t(f"the_last_{report.period}"), when=(
                f"{when:%Y-%m-%d}" if language == "en" else _when(when, report.period, language))))
        elif note == "n_day":
            out.append(t("caveat_n_day" if report.n_day_by is not None else "caveat_n_day_all"))
        elif note == "single_cohort":
            out.append(t("caveat_single_cohort", unit=unit))
        elif note == "short_history" and report.history_days is not None:
            out.append(t("caveat_short", days=number(report.history_days)))
    return out


def _skip_text(key: str, report: CohortReport, language: str) -> str:
    if key == "one_segment":
        return CATALOG.t("skip_one_segment", language,
                         segment=_segment_word(report.segments or ("channel",), language))
    return CATALOG.t(f"skip_{key}", language)


def render_note(report: CohortReport, section: str, language: str = "zh") -> str:
    """The one-sentence note of a section of report 01 ("" when there is nothing to say).

    ``section`` is ``"fission"`` (skipped?), ``"segments"`` (skipped?), ``"layers"`` (current
    members and leavers), ``"transitions"`` (who is in the transition matrix) or
    ``"partial"`` (the running period).
    """
    check_language(language)
    t = lambda key, **v: CATALOG.t(key, language, **v)  # noqa: E731
    if section == "fission":
        return t("section_fission_skipped") if "fission" in report.skipped else ""
    if section == "segments":
        return (t("section_segments_skipped")
                if {"segments", "one_segment"} & set(report.skipped) else "")
    if section == "layers":
        if report.layers is None:
            return ""
        return t("section_layers_note", current=count(report.layers.current),
                 left=count(report.layers.left))
    if section == "transitions":
        if report.transitions is None or report.transition_window is None:
            return t("section_transitions_none")
        t0, t1 = report.transition_window
        n = int(report.transitions["members"].sum())
        key = "section_transitions" if report.transition_left else "section_transitions_noleft"
        return t(key, n=count(n), start=date(t0, language, prose=True),
                 end=date(t1, language, prose=True), left=count(report.transition_left))
    if section == "partial":
        g = report.growth
        if "running" not in report.notes or not len(g):
            return ""
        return t("section_partial_note", the_last=t(f"The_last_{report.period}"),
                 when=_when(g["period"].iloc[-1], report.period, language))
    from ..errors import ParameterError

    raise ParameterError(f"section={section!r} is not a section with a note; use 'fission', "
                         "'segments', 'layers', 'transitions' or 'partial'")


def summary_markdown(*, growth_table: pd.DataFrame, n_day: pd.DataFrame,
                     n_day_by: pd.DataFrame | None = None, layers: pd.DataFrame | None = None,
                     fission: pd.DataFrame | None = None, period: Period = "W",
                     mode: Mode = "classic", min_eligible: int = MIN_ELIGIBLE,
                     language: str = "en") -> str:
    """Executive summary from tables: :func:`build_report` then :func:`render_summary`.

    Kept for analysts' cells that build the tables themselves; reports use
    :func:`cohort_report` (which also knows the members who left and the running period).

    Returns
    -------
    str
        Markdown bullet list.
    """
    report = build_report(growth_table=growth_table, n_day=n_day, n_day_by=n_day_by,
                          layers=layers, fission=fission, period=period, mode=mode,
                          min_eligible=min_eligible)
    return render_summary(report, language)
