"""The overview's renderer: an :class:`OverviewReport` as reviewer text, in Chinese or English.

- :func:`tiles_html` — the first screen: one HTML block ``<div class="kpi-tiles">`` holding one
  ``<div class="kpi-tile" data-indicator="growth|activity|retention|conversion">`` per
  indicator (title, period, value, interval, change against the previous period in words, a
  small inline SVG trend). The browser test (``tests/test_overview_browser.py`` /
  ``tests/test_reports_browser.py``) finds the tiles by these attributes and checks that they
  lie inside the first 800 px of a 1280-px-wide window. Self-contained: CSS inline, no images,
  no scripts, no network.
- :func:`sections_markdown` — the sections below: member-layer mix and how it moved, the latest
  experiment decisions with links to their reports, the churn-risk count, the channel scorecard.

Every sentence comes from :data:`CATALOG` (``_messages``: zh and en, the same keys and fields,
checked by the tests); numbers go through :mod:`helpers._format`; every string from the data
(experiment ids and names, metric labels, channel names) through ``escape_html`` /
``escape_md``.
"""

from __future__ import annotations

import math
from urllib.parse import quote

import pandas as pd

from .. import _format as F
from ._messages import CATALOG
from .indicators import Indicator
from .report import OverviewReport

_CSS = """<style>
.kpi-tiles{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin:.4em 0 .6em}
.kpi-tile{border:1px solid #d6dbe1;border-radius:8px;padding:10px 12px;background:#fafbfc;
 display:flex;flex-direction:column;gap:3px;min-width:0}
.kpi-title{font-size:.92em;font-weight:600;color:#333}
.kpi-period{font-size:.8em;color:#666}
.kpi-value{font-size:2em;font-weight:700;line-height:1.15;font-variant-numeric:tabular-nums}
.kpi-sub{font-size:.8em;color:#444}
.kpi-change{font-size:.8em;color:#555}
.kpi-change.kpi-up{color:#1b6b2a}.kpi-change.kpi-down{color:#a4231a}
.kpi-spark{display:block;width:100%;height:34px}
.kpi-missing{font-size:.9em;color:#666}
.kpi-caption{font-size:.8em;color:#666;margin:0 0 .2em}
@media (max-width:900px){.kpi-tiles{grid-template-columns:repeat(2,minmax(0,1fr))}}
</style>"""


def _esc(text) -> str:
    return F.escape_html(text)


def _week(ts, language: str) -> str:
    t = pd.Timestamp(ts)
    if language == "zh":
        return f"{t.month}月{t.day}日"
    return f"{t:%Y-%m-%d}"


def _day(ts, language: str) -> str:
    return F.date(ts, language, prose=True)


def _signed_count(v, language) -> str:
    s = F.count(abs(v), language)
    return ("+" if v > 0 else "-" if v < 0 else "") + s


def _sparkline(points, label: str) -> str:
    """An inline SVG polyline of the values (no data strings: only coordinates)."""
    vals = [float(v) for _, v in points if v is not None and math.isfinite(float(v))]
    if len(vals) < 2:
        return ""
    w, h, pad = 200.0, 34.0, 3.0
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (w - 2 * pad) / (len(vals) - 1)
    xy = [(pad + i * step, h - pad - (v - lo) / span * (h - 2 * pad)) for i, v in enumerate(vals)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    lx, ly = xy[-1]
    return (f'<svg class="kpi-spark" viewBox="0 0 {w:.0f} {h:.0f}" preserveAspectRatio="none" '
            f'role="img" aria-label="{_esc(label)}"><title>{_esc(label)}</title>'
            f'<polyline points="{path}" fill="none" stroke="#4c72b0" stroke-width="1.6" '
            f'vector-effect="non-scaling-stroke"/>'
            f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.4" fill="#4c72b0"/></svg>')


def _value_text(ind: Indicator, language: str) -> str:
    if ind.kind == "share":
        return F.pct(ind.value, 1, language)
    return F.count(ind.value, language)


def _period_text(ind: Indicator, language: str) -> str:
    t = CATALOG.t
    if ind.current_start is None:
        return ""
    if ind.key in ("growth", "activity"):
        return t("period.week", language, date=_week(ind.current_start, language))
    # join windows are whole local days [start, end): the last day counted is the one before
    # ``end`` (a local midnight in the data's zone)
    last = ind.current_start if ind.current_end is None else \
        ind.current_end - pd.Timedelta(microseconds=1)
    return t("period.joined", language, start=_day(ind.current_start, language),
             end=_day(last, language))


def _interval_text(ind: Indicator, language: str) -> str:
    t = CATALOG.t
    if ind.ci_low is None or ind.ci_high is None:
        return ""
    if ind.interval_of == "join_rate":
        return t("interval.join_rate", language, lo=F.number(ind.ci_low, 0, language),
                 hi=F.number(ind.ci_high, 0, language))
    if ind.interval_of == "share_active":
        return t("interval.share_active", language, share=F.pct(ind.value / ind.n, 1, language),
                 n=F.count(ind.n, language), lo=F.pct(ind.ci_low, 1, language),
                 hi=F.pct(ind.ci_high, 1, language))
    return t("interval.share", language, n=F.count(ind.n, language),
             lo=F.pct(ind.ci_low, 1, language), hi=F.pct(ind.ci_high, 1, language))


def _change(ind: Indicator, language: str, recent_days: int) -> tuple[str, str]:
    """(sentence, css class) of the change against the previous period."""
    t = CATALOG.t
    if ind.previous is None:
        return t("change.none", language), ""
    if ind.kind == "count":
        diff = ind.value - ind.previous
        prev = F.count(ind.previous, language)
        if diff == 0:
            return t("change.count_same", language, prev=prev), ""
        direction = t("dir.up" if diff > 0 else "dir.down", language)
        if not ind.previous:  # from zero: no relative change
            return t("change.count_from_zero", language, direction=direction,
                     abs=F.count(abs(diff), language), prev=prev), ""
        rel = F.pct(diff / ind.previous, 1, language, signed=True)
        values = dict(direction=direction, abs=F.count(abs(diff), language), rel=rel, prev=prev)
        if ind.change_low is None or ind.change_high is None:
            return t("change.count", language, **values), ""
        beyond = ind.change_low > 1 or ind.change_high < 1
        key = "change.count_beyond" if beyond else "change.count_within"
        css = ("kpi-up" if diff > 0 else "kpi-down") if beyond else ""
        return t(key, language, lo=F.number(ind.change_low, 2, language),
                 hi=F.number(ind.change_high, 2, language), **values), css
    # the change the reader can check: the difference of the two shares as shown
    diff = shown_difference(ind.value, ind.previous)
    beyond = ind.change_low > 0 or ind.change_high < 0
    values = dict(days=F.count(recent_days, language), prev=F.pct(ind.previous, 1, language),
                  lo=F.pp(ind.change_low, 1, language), hi=F.pp(ind.change_high, 1, language))
    if diff == 0:
        return t("change.share_same", language, **values), ""
    direction = t("dir.up" if diff > 0 else "dir.down", language)
    key = "change.share_beyond" if beyond else "change.share_within"
    css = ("kpi-up" if diff > 0 else "kpi-down") if beyond else ""
    return t(key, language, direction=direction, pp=F.pp(abs(diff), 1, language).lstrip("+"),
             **values), css


def shown_difference(a: float, b: float, digits: int = 1) -> float:
    """``a − b`` of two shares as the reader can check it on the page: the difference of the
    two values rounded as displayed (``digits`` decimals of a percent), as a share.

    Examples
    --------
    >>> a, b = 0.307692, 0.332200      # shown 30.8% and 33.2%; a − b = −2.45 points
    >>> round(100 * shown_difference(a, b), 6)
    -2.4
    """
    return round(round(100 * float(a), digits) - round(100 * float(b), digits), digits) / 100


def _extra_lines(ind: Indicator, language: str) -> list[str]:
    t = CATALOG.t
    out = []
    if ind.key == "growth" and ind.get("net_growth") is not None:
        out.append(t("extra.net_growth", language,
                     net=_signed_count(ind.get("net_growth"), language),
                     exits=F.count(ind.get("exits", 0), language)))
    if ind.key == "activity" and ind.get("stickiness") is not None:
        prev = ind.get("previous_stickiness")
        if prev is None:
            out.append(t("extra.stickiness", language, value=F.pct(ind.get("stickiness"), 1,
                                                                   language)))
        else:
            out.append(t("extra.stickiness_change", language,
                         value=F.pct(ind.get("stickiness"), 1, language),
                         change=F.pp(shown_difference(ind.get("stickiness"), prev), 1,
                                     language)))
    if ind.key in ("retention", "conversion") and ind.get("all_n"):
        out.append(t("extra.all", language, n=F.count(ind.get("all_n"), language),
                     rate=F.pct(ind.get("all_rate"), 1, language)))
    return out


def _tile(ind: Indicator, language: str, recent_days: int) -> str:
    t = CATALOG.t
    parts = [f'<div class="kpi-tile" data-indicator="{_esc(ind.key)}">',
             f'<div class="kpi-title">{_esc(t("title." + ind.key, language))}</div>']
    period = _period_text(ind, language) if ind.available else ""
    if period:
        parts.append(f'<div class="kpi-period">{_esc(period)}</div>')
    if not ind.available:
        parts.append(f'<div class="kpi-missing">'
                     f'{_esc(t("reason." + (ind.reason or "no_complete_week"), language))}</div>')
        parts.append("</div>")
        return "".join(parts)
    parts.append(f'<div class="kpi-value">{_esc(_value_text(ind, language))}</div>')
    interval = _interval_text(ind, language)
    if interval:
        parts.append(f'<div class="kpi-sub">{_esc(interval)}</div>')
    for line in _extra_lines(ind, language):
        parts.append(f'<div class="kpi-sub">{_esc(line)}</div>')
    label_key = "spark.cohorts" if ind.key in ("retention", "conversion") else "spark"
    spark = _sparkline(ind.trend, t(label_key, language, k=len(ind.trend)))
    if spark:
        parts.append(spark)
    sentence, css = _change(ind, language, recent_days)
    cls = f"kpi-change {css}" if css else "kpi-change"
    parts.append(f'<div class="{cls}">{_esc(sentence)}</div>')
    parts.append("</div>")
    return "".join(parts)


def tiles_html(report: OverviewReport, language: str = "zh") -> str:
    """The four indicator tiles as one self-contained HTML block (the overview's first screen).

    Structure (stable, relied on by the browser test): ``<div class="kpi-tiles"
    data-observed-until="YYYY-MM-DD">`` containing four ``<div class="kpi-tile"
    data-indicator="growth|activity|retention|conversion">``; a tile without data holds a
    ``kpi-missing`` sentence instead of a value.

    Examples
    --------
    >>> html = tiles_html(report, "zh")
    >>> html.count('data-indicator=')
    4
    >>> "新增成员（周）" in html
    True
    """
    F.check_language(language)
    recent = report.settings.recent_days
    caption = CATALOG.t("tiles.caption", language, date=_day(report.observed_until, language),
                        members=F.count(report.members, language))
    tiles = "".join(_tile(ind, language, recent) for ind in report.indicators)
    return (f'{_CSS}<div class="kpi-caption">{_esc(caption)}</div>'
            f'<div class="kpi-tiles" data-observed-until="{F.date(report.observed_until)}">'
            f'{tiles}</div>')


# ----------------------------------------------------------------------------- sections
def _layer_name(key: str, language: str) -> str:
    k = f"layer.{key}"
    if k in CATALOG.keys(language):
        return CATALOG.t(k, language)
    return F.escape_md(key)


def layers_markdown(report: OverviewReport, language: str = "zh") -> str:
    """Member-layer mix now, its change in share, and how many moved up or down."""
    t, L = CATALOG.t, report.layers
    if L.reason is not None or not L.layers:
        return t("layers.none", language)
    total = sum(L.now)
    mix = "、" if language == "zh" else ", "
    items = [t("layers.item", language, layer=_layer_name(k, language),
               count=F.count(c, language), share=F.pct(c / total if total else None, 1, language))
             for k, c in zip(L.layers, L.now)]
    lines = [t("layers.head", language, date=_day(L.as_of, language),
               n=F.count(total, language), left=F.count(L.left, language), mix=mix.join(items))]
    before = sum(L.before)
    if before:
        shifts = [t("layers.shift_item", language, layer=_layer_name(k, language),
                    pp=F.pp(c / total - b / before, 1, language))
                  for k, c, b in zip(L.layers, L.now, L.before)]
        lines.append(t("layers.shift", language, since=_day(L.since, language),
                       changes=mix.join(shifts)))
        lines.append(t("layers.moves", language, up=F.count(L.moved_up, language),
                       down=F.count(L.moved_down, language), same=F.count(L.stayed, language),
                       left=F.count(L.left_since, language), since=_day(L.since, language)))
    return "\n\n".join(lines)


def _effect(line, language: str) -> str:
    """The primary metric's effect with its interval; the column header names the interval
    ("效果（95% 置信区间）"), so the cell holds the numbers only: '-0.6%（-4.6% 至 +3.3%）'."""
    if line.estimate is None:
        return CATALOG.t("na", language)
    if line.relative:
        fmt, kw = F.pct, {"signed": True}
    elif line.kind == "proportion":
        fmt, kw = F.pp, {}
    else:
        fmt, kw = F.number, {"digits": 2}
    return F.interval(line.estimate, line.ci_low, line.ci_high, fmt, language=language,
                      label=False, **kw)


def experiment_names(lines) -> list[str]:
    """The name each experiment is shown by: its ``name`` (the id when it has none); the id
    is added in brackets only to names that two experiments share.

    Examples
    --------
    >>> from types import SimpleNamespace as L
    >>> experiment_names([L(name="打卡挑战", experiment_id="e1"), L(name="", experiment_id="e2"),
    ...                   L(name="提醒", experiment_id="e3"), L(name="提醒", experiment_id="e4")])
    ['打卡挑战', 'e2', '提醒 (e3)', '提醒 (e4)']
    """
    names = [str(e.name).strip() or str(e.experiment_id) for e in lines]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [f"{n} ({e.experiment_id})" if seen[n] > 1 and n != str(e.experiment_id) else n
            for n, e in zip(names, lines)]


_ICONS = {"ship": "✔", "aa_passed": "✔", "do not ship": "✘", "inconclusive": "?",
          "do not trust": "⚠", "aa_failed": "⚠", "not analysed": "⚠"}


def _decision(line, language: str) -> str:
    """The decision in report 03's own words (its renderer), with the report's symbol."""
    from ..exp_metrics.report import decision_words

    verdict = line.verdict or line.decision
    words = (decision_words(line.experiment, language) if line.experiment is not None
             else F.escape_md(verdict))
    if language == "en":
        words = words[:1].upper() + words[1:]
    return f"{_ICONS.get(verdict, '')} {words}".strip()


def _metric(line, language: str) -> str:
    """The primary metric in report 03's words."""
    if not line.metric:
        return CATALOG.t("na", language)
    from ..exp_metrics.report import metric_label

    retention_days = getattr(line.experiment, "retention_days", 14)
    return metric_label(line.metric, language, retention_days)


def experiments_markdown(report: OverviewReport, language: str = "zh") -> str:
    """The latest experiments: decision, primary metric's effect, link to each A/B report."""
    t = CATALOG.t
    if not report.experiments:
        key = {"no_assignments": "exp.none_assign"}.get(report.experiments_reason,
                                                         "exp.none_table")
        return t(key, language)
    rows = [t("exp.head", language), t("exp.sep", language)]
    for e, name in zip(report.experiments, experiment_names(report.experiments)):
        window = (t("exp.window", language, start=F.date(e.starts_at, language),
                    end=F.date(e.ends_at, language)) if e.starts_at is not None else "")
        rows.append(t("exp.row", language, name=F.escape_md(name), window=window,
                      decision=_decision(e, language), metric=_metric(e, language),
                      effect=_effect(e, language), open=t("exp.open", language),
                      link=quote(e.link)))
    return "\n".join(rows)


def churn_markdown(report: OverviewReport, language: str = "zh") -> str:
    """The churn-risk count of the churn report's risk list."""
    c = report.churn
    if c.reason == "too_short":
        return CATALOG.t("churn.too_short", language,
                         days=F.count(report.settings.inactivity_days, language))
    if c.reason is not None:
        return CATALOG.t(f"churn.{c.reason}", language)
    return CATALOG.t("churn.count", language, at_risk=F.count(c.at_risk, language),
                     scored=F.count(c.scored, language),
                     threshold=F.pct(c.threshold, 0, language),
                     days=F.count(c.horizon_days, language),
                     within=F.number(c.active_within_days, 0, language),
                     median=F.pct(c.median_risk, 1, language))


_CARD_COLUMNS = (  # estimate, low, high, formatter of each figure, in the table's order
    ("d30_retention", "d30_ci_low", "d30_ci_high", "pct"),
    ("rmst_90d", "rmst_ci_low", "rmst_ci_high", "days"),
    ("conversion_30d", "conversion_ci_low", "conversion_ci_high", "pct"),
    ("repurchase_rate", "repurchase_ci_low", "repurchase_ci_high", "pct"),
    ("value_90d", "value_ci_low", "value_ci_high", "number"),
)


def _cell(row, est, lo, hi, kind, language) -> str:
    e = row.get(est)
    if F.is_missing(e):
        return F.na(language)
    fmt = {"pct": lambda v: F.pct(v, 1, language),
           "days": lambda v: F.number(v, 1, language),
           "number": lambda v: F.number(v, 1, language)}[kind]
    if F.is_missing(row.get(lo)) or F.is_missing(row.get(hi)):
        return fmt(e)
    return f"{fmt(e)} ({fmt(row[lo])}–{fmt(row[hi])})"


def scorecard_markdown(report: OverviewReport, language: str = "zh") -> str:
    """The channel scorecard of report 04: a row per channel with intervals, which channels
    stand out (only where intervals do not overlap), and why a figure is missing."""
    t = CATALOG.t
    card = report.scorecard
    if card is None:
        return t(f"card.{report.scorecard_reason or 'no_channels'}", language)
    by = card.attrs.get("by", "channel")
    rows = [t("card.head", language), t("card.sep", language)]
    for _, r in card.iterrows():
        cells = [F.escape_md(r[by]), F.count(r["members"], language)]
        cells += [_cell(r, *spec, language) for spec in _CARD_COLUMNS]
        rows.append("| " + " | ".join(cells) + " |")
    parts = ["\n".join(rows), t("card.legend", language, na=F.na(language))]
    leaders = report.scorecard_leaders
    items = []
    if leaders is not None:
        for _, r in leaders.iterrows():
            best, worst = r.get("best"), r.get("worst")
            best = None if F.is_missing(best) else F.escape_md(best)
            worst = None if F.is_missing(worst) else F.escape_md(worst)
            mkey = f"card.metric.{r['metric']}"
            if mkey not in CATALOG.keys(language) or (best is None and worst is None):
                continue
            metric = t(mkey, language)
            if best is not None and worst is not None:
                items.append(t("card.leader_laggard", language, metric=metric, best=best,
                               worst=worst))
            elif best is not None:
                items.append(t("card.leader", language, metric=metric, best=best))
            else:
                items.append(t("card.laggard", language, metric=metric, worst=worst))
    sep = "；" if language == "zh" else "; "
    compared = leaders is not None and bool((leaders["levels"] >= 2).any())
    if items:
        parts.append(t("card.leaders", language, items=sep.join(items))
                     + ("" if language == "zh" else " ") + t("card.rest_overlap", language))
    elif compared:  # figures measured in two channels or more, every interval overlapping
        parts.append(t("card.no_leaders", language))
    notes = card.attrs.get("notes", ()) or ()
    said = set()
    for note in notes:
        key = f"card.note.{note}" if f"card.note.{note}" in CATALOG.keys(language) \
            else "card.note.other"
        if key not in said:
            said.add(key)
            parts.append(t(key, language))
    return "\n\n".join(parts)


def render_sections(report: OverviewReport, language: str = "zh") -> dict[str, str]:
    """Every section's Markdown by name: ``layers``, ``experiments``, ``churn``, ``scorecard``."""
    F.check_language(language)
    return {"layers": layers_markdown(report, language),
            "experiments": experiments_markdown(report, language),
            "churn": churn_markdown(report, language),
            "scorecard": scorecard_markdown(report, language)}


def sections_markdown(report: OverviewReport, section: str, language: str = "zh") -> str:
    """One section's Markdown (``layers``, ``experiments``, ``churn`` or ``scorecard``)."""
    sections = render_sections(report, language)
    if section not in sections:
        from ..errors import ParameterError

        raise ParameterError(f"section={section!r}: use one of {', '.join(sections)}")
    return sections[section]
