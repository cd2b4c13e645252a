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

Every sentence comes from :data:`CATALOG` (zh and en: the same keys and fields, checked by the
tests); numbers go through :mod:`helpers._format`; every string from the data (experiment ids
and names, metric labels, channel names) through ``escape_html`` / ``escape_md``.
"""

from __future__ import annotations

import math
from urllib.parse import quote

import pandas as pd

from .. import _format as F
from .._i18n import Catalog
from .indicators import Indicator
from .report import OverviewReport

_MESSAGES = {
    "en": {
        "title.growth": "New members (weekly)",
        "title.activity": "Active members (weekly)",
        "title.retention": "30-day retention of recent joiners",
        "title.conversion": "30-day purchase conversion of recent joiners",
        "period.week": "week of {date}",
        "period.joined": "joined {start} – {end}",
        "interval.join_rate": "95% interval of the weekly join rate: {lo}–{hi}",
        "interval.share_active": "{share} of the {n} members that week (95% CI {lo}–{hi})",
        "interval.share": "{n} members (95% CI {lo}–{hi})",
        "extra.net_growth": "Net growth {net} ({exits} left)",
        "extra.stickiness": "Stickiness (daily / weekly active) {value}",
        "extra.stickiness_change": "Stickiness (daily / weekly active) {value}, {change} from the week before",
        "extra.all": "All {n} members who have reached day 30: {rate}",
        "change.count": "{direction} {abs} ({rel}) from the week before ({prev})",
        "change.count_same": "Same as the week before ({prev})",
        "change.count_beyond": "{direction} {abs} ({rel}) from the week before ({prev}): more than week-to-week chance (95% CI of this week / last week: {lo}–{hi})",
        "change.count_within": "{direction} {abs} ({rel}) from the week before ({prev}): within week-to-week chance (95% CI of this week / last week: {lo}–{hi})",
        "change.share_beyond": "{direction} {pp} from those who joined in the {days} days before ({prev}): more than chance (95% CI {lo} to {hi})",
        "change.share_within": "{direction} {pp} from those who joined in the {days} days before ({prev}): within chance (95% CI {lo} to {hi})",
        "change.none": "No earlier period to compare with",
        "dir.up": "Up", "dir.down": "Down",
        "spark": "Trend over the last {k} weeks",
        "spark.cohorts": "Trend over the last {k} weekly join cohorts",
        "reason.no_complete_week": "No complete week observed yet.",
        "reason.no_recent_eligible": "Not enough history yet: no member who joined recently has been followed for 30 days.",
        "reason.no_purchases": "The data has no purchases, so purchase conversion cannot be measured.",
        "reason.conversion_unavailable": "Purchase conversion is not available in this installation.",
        "tiles.caption": "Data up to {date} · {members} current members",
        # sections
        "layers.head": "Member layers on {date}, of the {n} current members ({left} members who left are in no layer): {mix}.",
        "layers.item": "{layer} {count} ({share})",
        "layers.moves": "Over the previous 30 days, {up} members moved up a layer, {down} slipped down and {same} stayed (members who had joined by {since}).",
        "layers.shift": "Change in share since {since}: {changes}.",
        "layers.shift_item": "{layer} {pp}",
        "layers.none": "No member had joined by the end of observation, so there are no layers.",
        "layer.core": "核心 core", "layer.active": "活跃 active",
        "layer.potential": "潜在 potential", "layer.dormant": "沉睡 dormant",
        "exp.head": "| Experiment | Window | Decision | Primary metric | Effect (95% CI) | Report |",
        "exp.sep": "|---|---|---|---|---|---|",
        "exp.row": "| {name} | {window} | {decision} | {metric} | {effect} | [{open}]({link}) |",
        "exp.open": "open",
        "exp.window": "{start} to {end}",
        "exp.none_table": "The data has no experiments table, so there are no experiment decisions.",
        "exp.none_assign": "The data has no assignments table, so no experiment could be analysed.",
        "churn.count": "**{at_risk}** of the {scored} currently active members have a predicted probability of at least {threshold} of churning in the next {days} days (median {median}). The list, with pseudonymised ids, is in the churn report.",
        "churn.no_active_members": "No member is currently active, so nobody was scored for churn risk.",
        "churn.too_short": "The history is too short for churn risk: a member counts as churned after {days} days without activity, and no member has been followed that long yet.",
        "churn.churn_failed": "The churn model could not be fitted on this data; the churn report says why.",
        "card.head": "| Channel | Members | 30-day retention | Days stayed of the first 90 | 30-day purchase conversion | Repurchase rate | Spend per member, first 90 days |",
        "card.sep": "|---|---:|---:|---:|---:|---:|---:|",
        "card.legend": "In brackets: the 95% confidence interval. {na}: not enough history (or no purchase amounts) for that figure.",
        "card.leader": "{metric}: clearly highest {best}",
        "card.laggard": "{metric}: clearly lowest {worst}",
        "card.leader_laggard": "{metric}: clearly highest {best}, clearly lowest {worst}",
        "card.leaders": "Where a channel stands out (its interval overlaps no other's): {items}.",
        "card.no_leaders": "No channel stands out on any figure: their intervals overlap.",
        "card.rest_overlap": "On the other figures the intervals overlap: no channel stands out.",
        "card.metric.d30_retention": "30-day retention",
        "card.metric.rmst_90d": "days stayed of the first 90",
        "card.metric.conversion_30d": "30-day purchase conversion",
        "card.metric.repurchase_rate": "repurchase rate",
        "card.metric.value_90d": "spend per member",
        "card.note.rmst_short_followup": "Some channels have been followed for less than 90 days: their days stayed are less certain.",
        "card.note.rmst_no_followup": "No member has been followed long enough yet to measure days stayed.",
        "card.note.no_amounts": "The data has no purchase amounts, so spend per member is missing.",
        "card.note.other": "Some figures could not be computed on this data; the conversion report says why.",
        "card.scorecard_unavailable": "The channel scorecard is not available in this installation.",
        "card.no_channels": "The data has no acquisition channels to compare.",
        "card.one_channel": "All members came through one acquisition channel: there is nothing to compare.",
        "card.scorecard_too_recent": "No figure of the scorecard has been measured for two channels yet: the history is too short.",
        "plot.no_trend": "Not enough weeks to draw a trend",
        "plot.x_week": "week (start)",
        "plot.x_cohort": "join week (cohort)",
        "na": "n/a",
    },
    "zh": {
        "title.growth": "新增成员（周）",
        "title.activity": "活跃成员（周活）",
        "title.retention": "近期入群成员 30 日留存率",
        "title.conversion": "近期入群成员 30 日购买转化率",
        "period.week": "{date}当周",
        "period.joined": "{start}至{end}入群",
        "interval.join_rate": "每周入群速率的 95% 区间：{lo}–{hi}",
        "interval.share_active": "占当周 {n} 名成员的 {share}（95% 置信区间 {lo}–{hi}）",
        "interval.share": "{n} 名成员（95% 置信区间 {lo}–{hi}）",
        "extra.net_growth": "净增长 {net}（退群 {exits}）",
        "extra.stickiness": "粘性（日活/周活）{value}",
        "extra.stickiness_change": "粘性（日活/周活）{value}，较上周 {change}",
        "extra.all": "全部已满 30 天观察期的 {n} 名成员：{rate}",
        "change.count": "较上周（{prev}）{direction} {abs}（{rel}）",
        "change.count_same": "与上周持平（{prev}）",
        "change.count_beyond": "较上周（{prev}）{direction} {abs}（{rel}），超出正常的周间波动（本周/上周之比的 95% 置信区间 {lo}–{hi}）",
        "change.count_within": "较上周（{prev}）{direction} {abs}（{rel}），在正常的周间波动范围内（本周/上周之比的 95% 置信区间 {lo}–{hi}）",
        "change.share_beyond": "较之前 {days} 天入群的成员（{prev}）{direction} {pp}，超出随机波动（95% 置信区间 {lo} 至 {hi}）",
        "change.share_within": "较之前 {days} 天入群的成员（{prev}）{direction} {pp}，在随机波动范围内（95% 置信区间 {lo} 至 {hi}）",
        "change.none": "没有更早的周期可供比较",
        "dir.up": "上升", "dir.down": "下降",
        "spark": "最近 {k} 周的走势",
        "spark.cohorts": "最近 {k} 个入群周同期群的走势",
        "reason.no_complete_week": "尚无完整的一周数据。",
        "reason.no_recent_eligible": "数据不足：近期入群的成员尚未满 30 天观察期。",
        "reason.no_purchases": "数据中没有购买记录，无法计算购买转化率。",
        "reason.conversion_unavailable": "当前安装的版本不提供购买转化率。",
        "tiles.caption": "数据截至 {date} · 当前成员 {members} 名",
        "layers.head": "{date}的成员分层（当前成员共 {n} 名；已退群的 {left} 名不计入分层）：{mix}。",
        "layers.item": "{layer} {count}（{share}）",
        "layers.moves": "过去 30 天内，{up} 名成员升层，{down} 名降层，{same} 名层级不变（统计 {since}前已入群的成员）。",
        "layers.shift": "与 {since}相比的占比变化：{changes}。",
        "layers.shift_item": "{layer} {pp}",
        "layers.none": "观察期结束前没有成员入群，因此没有分层。",
        "layer.core": "核心成员", "layer.active": "活跃成员",
        "layer.potential": "潜在成员", "layer.dormant": "沉睡成员",
        "exp.head": "| 实验 | 实验期 | 结论 | 主要指标 | 效果（95% 置信区间） | 报告 |",
        "exp.sep": "|---|---|---|---|---|---|",
        "exp.row": "| {name} | {window} | {decision} | {metric} | {effect} | [{open}]({link}) |",
        "exp.open": "查看",
        "exp.window": "{start} 至 {end}",
        "exp.none_table": "数据中没有实验表，因此没有实验结论。",
        "exp.none_assign": "数据中没有分组表，无法分析任何实验。",
        "churn.count": "当前活跃的 {scored} 名成员中，有 **{at_risk}** 名预计未来 {days} 天内流失的概率不低于 {threshold}（中位数 {median}）。流失风险名单（匿名编号）见流失分析报告。",
        "churn.no_active_members": "目前没有活跃成员，因此没有成员需要评估流失风险。",
        "churn.too_short": "数据时间太短，无法评估流失风险：成员 {days} 天无活跃才视为流失，目前还没有成员被观察这么久。",
        "churn.churn_failed": "无法在这份数据上拟合流失模型；原因见流失分析报告。",
        "card.head": "| 渠道 | 成员数 | 30 日留存率 | 前 90 天平均留存天数 | 30 日购买转化率 | 复购率 | 入群 90 天人均消费 |",
        "card.sep": "|---|---:|---:|---:|---:|---:|---:|",
        "card.legend": "括号内为 95% 置信区间。{na}：该指标的观察期不足（或没有购买金额）。",
        "card.leader": "{metric}明显最高的是{best}",
        "card.laggard": "{metric}明显最低的是{worst}",
        "card.leader_laggard": "{metric}明显最高的是{best}、明显最低的是{worst}",
        "card.leaders": "表现突出的渠道（区间与其他渠道都不重叠）：{items}。",
        "card.no_leaders": "各项指标上各渠道的区间相互重叠，没有渠道明显更好或更差。",
        "card.rest_overlap": "其余指标各渠道的区间相互重叠，没有渠道明显更好或更差。",
        "card.metric.d30_retention": "30 日留存率",
        "card.metric.rmst_90d": "前 90 天平均留存天数",
        "card.metric.conversion_30d": "30 日购买转化率",
        "card.metric.repurchase_rate": "复购率",
        "card.metric.value_90d": "人均消费",
        "card.note.rmst_short_followup": "部分渠道的观察期不足 90 天，平均留存天数的不确定性较大。",
        "card.note.rmst_no_followup": "成员的观察期都还太短，无法计算平均留存天数。",
        "card.note.no_amounts": "数据中没有购买金额，无法计算人均消费。",
        "card.note.other": "部分指标无法在这份数据上计算，原因见转化与价值报告。",
        "card.scorecard_unavailable": "当前安装的版本不提供渠道对比表。",
        "card.no_channels": "数据中没有可供对比的拉新渠道。",
        "card.one_channel": "所有成员都来自同一个拉新渠道，没有可对比的渠道。",
        "card.scorecard_too_recent": "数据时间太短，还没有任何指标在两个以上渠道中算得出来。",
        "plot.no_trend": "周数不足，无法画出走势",
        "plot.x_week": "周（起始日）",
        "plot.x_cohort": "入群周（同期群）",
        "na": "无",
    },
}

#: the overview's messages in both languages (``CATALOG.check()`` is empty: tested)
CATALOG = Catalog(_MESSAGES, name="overview")

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
    end = ind.current_end - pd.Timedelta(seconds=1) if ind.current_end is not None else None
    return t("period.joined", language, start=_day(ind.current_start + pd.Timedelta(seconds=1),
                                                    language),
             end=_day(end if end is not None else ind.current_start, language))


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
        rel = F.pct(diff / ind.previous, 1, language, signed=True) if ind.previous else ""
        values = dict(direction=direction, abs=F.count(abs(diff), language), rel=rel, prev=prev)
        if ind.change_low is None or ind.change_high is None:
            return t("change.count", language, **values), ""
        beyond = ind.change_low > 1 or ind.change_high < 1
        key = "change.count_beyond" if beyond else "change.count_within"
        css = ("kpi-up" if diff > 0 else "kpi-down") if beyond else ""
        return t(key, language, lo=F.number(ind.change_low, 2, language),
                 hi=F.number(ind.change_high, 2, language), **values), css
    diff = ind.change
    direction = t("dir.up" if diff >= 0 else "dir.down", language)
    beyond = ind.change_low > 0 or ind.change_high < 0
    key = "change.share_beyond" if beyond else "change.share_within"
    css = ("kpi-up" if diff > 0 else "kpi-down") if beyond else ""
    return t(key, language, direction=direction, pp=F.pp(abs(diff), 1, language).lstrip("+"),
             days=F.count(recent_days, language), prev=F.pct(ind.previous, 1, language),
             lo=F.pp(ind.change_low, 1, language), hi=F.pp(ind.change_high, 1, language)), css


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
                         change=F.pp(ind.get("stickiness") - prev, 1, language)))
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
    >>> html = tiles_html(overview_report(ds), "zh")                      # doctest: +SKIP
    >>> html.count('data-indicator=')                                     # doctest: +SKIP
    4
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
                       since=_day(L.since, language)))
    return "\n\n".join(lines)


def _effect(line, language: str) -> str:
    if line.estimate is None:
        return CATALOG.t("na", language)
    if line.relative:
        fmt, kw = F.pct, {"signed": True}
    elif line.kind == "proportion":
        return F.interval(line.estimate, line.ci_low, line.ci_high, F.pp, language=language)
    else:
        fmt, kw = F.number, {"digits": 2}
    return F.interval(line.estimate, line.ci_low, line.ci_high, fmt, language=language, **kw)


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
    for e in report.experiments:
        name = e.experiment_id if not e.name or e.name == e.experiment_id \
            else f"{e.name} ({e.experiment_id})"
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
        parts.append(t("card.leaders", language, items=sep.join(items)) + " "
                     + t("card.rest_overlap", language))
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
