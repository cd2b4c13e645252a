"""Plots and reader tables of the cohort analyses (report 01).

Each plot takes a tidy frame returned by ``helpers.cohorts`` and ``ax=None``, returns the axes,
and writes its titles, axes and legends in ``language`` ("en" default for analysts' cells; the
report passes its own). Periods still running at the end of observation are drawn hatched and
named, so a partial week never looks like decay. Channels keep one colour each
(:func:`channel_palette`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._format import check_language, count
from .._i18n import Catalog
from ..errors import ParameterError
from ._base import channel_colour, channel_palette, get_ax

__all__ = ["plot_retention_heatmap", "plot_retention_curves", "plot_lifecycle",
           "plot_layer_transitions", "cohort_table", "channel_palette", "channel_colour",
           "PLOT_LABELS"]

_LIFECYCLE_COLOURS = {"new": "#4C72B0", "returning": "#55A868", "resurrecting": "#DD8452",
                      "dormant": "#C44E52"}
_PARTIAL_HATCH = "///"

PLOT_LABELS = Catalog({
    "en": {
        "index_none": "period index k (periods since joining)",
        "index_D": "days since joining (k; 0 = the join day)",
        "index_W": "weeks since joining (k; 0 = the join week)",
        "index_M": "months since joining (k; 0 = the join month)",
        "heat_cbar": "share of the cohort active", "heat_y": "cohort (join period) and size",
        "partial": "period still running (partial)",
        "curve_y": "retained share (95% CI)",
        "life_x": "period start", "life_y": "members (dormant below zero)",
        "life_new": "new", "life_returning": "returning", "life_resurrecting": "resurrecting",
        "life_dormant": "dormant", "life_partial_tick": "{date} (running)",
        "trans_x": "layer at the end", "trans_y": "layer at the start",
        "trans_share": "share of the start layer", "trans_members": "members",
        "segment_channel": "channel", "segment_platform": "platform", "segment_city": "city",
        "h_cohort": "cohort (start)", "h_cohort_size": "cohort size", "h_k": "{unit} {k}",
        "h_day": "day N", "h_eligible": "members old enough", "h_retained": "retained",
        "h_rate": "retention", "h_ci_low": "95% CI low", "h_ci_high": "95% CI high",
        "h_period": "period", "h_period_D": "day", "h_period_W": "week (from Monday)",
        "h_period_M": "month", "h_new_members": "new members", "h_exits": "left the group",
        "h_net_growth": "net growth", "h_members_end": "members at the end",
        "h_active_members": "active members", "h_mean_daily_active": "average daily active",
        "h_stickiness": "stickiness", "h_complete": "period status", "complete_yes": "complete",
        "complete_no": "still running", "h_layer": "layer", "h_members": "members",
        "h_share": "share of current members", "h_median_recency_days": "median days since active",
        "h_mean_active_days": "average active days (30 d)", "h_mean_spend": "average spend (30 d)",
        "h_joined": "joined", "h_referred": "joined by invitation",
        "h_referral_share": "share joined by invitation", "h_inviters": "members who invited",
        "h_base_members": "members at the start", "h_referred_joins": "new members they brought",
        "h_invites_per_inviter": "invited per inviter", "h_k_factor": "K-factor",
        "h_table": "table", "h_rows": "rows", "h_columns": "columns",
        "nothing": "Nothing to draw: no member has data in the selected window.",
        "empty_table": "_No rows: no member has data in the selected window._",
        "unit_D": "day", "unit_W": "week", "unit_M": "month",
    },
    "zh": {
        "index_none": "入群后的周期数 k",
        "index_D": "入群后的天数（k；0 = 入群当天）",
        "index_W": "入群后的周数（k；0 = 入群当周）",
        "index_M": "入群后的月数（k；0 = 入群当月）",
        "heat_cbar": "同期群中活跃成员的比例", "heat_y": "同期群（入群周期）与人数",
        "partial": "尚未结束的周期（不完整）",
        "curve_y": "留存率（95% 置信区间）",
        "life_x": "周期开始日期", "life_y": "成员数（沉默成员画在零线以下）",
        "life_new": "新增", "life_returning": "持续活跃", "life_resurrecting": "回流",
        "life_dormant": "沉默", "life_partial_tick": "{date}（未结束）",
        "trans_x": "期末所在层", "trans_y": "期初所在层",
        "trans_share": "占期初该层的比例", "trans_members": "成员数",
        "segment_channel": "渠道", "segment_platform": "平台", "segment_city": "城市",
        "h_cohort": "同期群（开始日期）", "h_cohort_size": "同期群人数", "h_k": "第 {k} {unit}",
        "h_day": "第 N 天", "h_eligible": "已满观察期的成员", "h_retained": "留存人数",
        "h_rate": "留存率", "h_ci_low": "95% 置信区间下限", "h_ci_high": "95% 置信区间上限",
        "h_period": "周期", "h_period_D": "日期", "h_period_W": "周（周一开始）",
        "h_period_M": "月份", "h_new_members": "新增成员", "h_exits": "主动退群",
        "h_net_growth": "净增长", "h_members_end": "期末成员数",
        "h_active_members": "活跃成员", "h_mean_daily_active": "日均活跃",
        "h_stickiness": "粘性", "h_complete": "周期状态", "complete_yes": "已结束",
        "complete_no": "尚未结束", "h_layer": "分层", "h_members": "成员数",
        "h_share": "占当前成员比例", "h_median_recency_days": "距上次活跃天数（中位数）",
        "h_mean_active_days": "近 30 天平均活跃天数", "h_mean_spend": "近 30 天平均消费",
        "h_joined": "入群人数", "h_referred": "受邀入群人数",
        "h_referral_share": "受邀入群比例", "h_inviters": "发出邀请的成员",
        "h_base_members": "期初成员数", "h_referred_joins": "带来的新成员",
        "h_invites_per_inviter": "人均邀请入群数", "h_k_factor": "K 因子",
        "h_table": "数据表", "h_rows": "行数", "h_columns": "列",
        "nothing": "没有可绘制的数据：所选时间范围内没有成员数据。",
        "empty_table": "_没有数据行：所选时间范围内没有成员数据。_",
        "unit_D": "天", "unit_W": "周", "unit_M": "月",
    },
}, name="plots.cohorts")


def _t(key: str, language: str, **values) -> str:
    return PLOT_LABELS.t(key, language, **values)


def plain_text(value) -> str:
    """A data string as plain matplotlib text: ``$`` would start mathtext, so it is escaped
    (a channel named ``$5 会员`` is drawn as written)."""
    return str(value).replace("$", r"\$")


def _nothing(ax, language: str):
    """An axes that says in words that there is nothing to draw."""
    ax = get_ax(ax)
    ax.text(0.5, 0.5, _t("nothing", language), ha="center", va="center",
            transform=ax.transAxes, fontsize=10, color="#555555")
    ax.set_axis_off()
    return ax


def _date_label(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _index_label(period: str | None, language: str = "en") -> str:
    """x-axis label of a period index: in the period's unit when it is known."""
    if period is None:
        return _t("index_none", language)
    if period not in ("D", "W", "M"):
        raise ParameterError(f"period={period!r} is not allowed; use 'D', 'W' or 'M'")
    return _t(f"index_{period}", language)


def _segment_title(col: str, language: str) -> str:
    key = f"segment_{col}"
    return _t(key, language) if key in PLOT_LABELS.keys(language) else str(col)


def plot_retention_heatmap(table: pd.DataFrame, *, value: str = "rate", max_periods: int | None = None,
                           annot: bool = True, cmap: str = "YlGnBu", period: str | None = None,
                           language: str = "en", ax=None):
    """Cohort × period-index heatmap of a :func:`helpers.cohorts.retention` table.

    Rows are cohorts labelled with their start and size (``n=…``); unreachable cells stay blank
    (they are absent from the table, never zero); cells of the period still running
    (``complete`` False) are hatched over and named in a legend, so a partial period does not
    read as a drop.

    Parameters
    ----------
    table : DataFrame
        Retention table of ONE segment (filter a ``by`` table first).
    value : str
        Column to colour by (``"rate"`` default).
    max_periods : int, optional
        Show period indices 0 … max_periods − 1 only.
    annot : bool
        Write the values (percentages for rates) in the cells.
    cmap : str
        Matplotlib colour map.
    period : {"D", "W", "M"}, optional
        The table's period: names the x axis in days, weeks or months.
    language : {"en", "zh"}
        Language of the axis texts.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import seaborn as sns
    from matplotlib.patches import Patch, Rectangle

    check_language(language)
    for c in ("cohort", "period_index", "cohort_size", value):
        if c not in table.columns:
            raise ParameterError(f"table lacks column {c!r}: pass the output of cohorts.retention")
    if table.duplicated(["cohort", "period_index"]).any():
        raise ParameterError("table holds several segments (a `by` table): filter one segment "
                             "first, or use plot_retention_curves(..., hue=...)")
    t = table if max_periods is None else table.loc[table["period_index"] < max_periods]
    if not len(t):
        return _nothing(ax, language)
    mat = t.pivot(index="cohort", columns="period_index", values=value).sort_index()
    if "complete" in t.columns:
        running = t.pivot(index="cohort", columns="period_index", values="complete")
        running = running.reindex(index=mat.index, columns=mat.columns)
        partial = running.notna() & (running == False)  # noqa: E712
    else:
        partial = pd.DataFrame(False, index=mat.index, columns=mat.columns)
    sizes = t.drop_duplicates("cohort").set_index("cohort")["cohort_size"].reindex(mat.index)
    ax = get_ax(ax, figsize=(max(6, 0.55 * mat.shape[1] + 3), max(3, 0.32 * mat.shape[0] + 1.5)))
    is_rate = value in ("rate", "ci_low", "ci_high")
    shown = mat.astype(float)
    sns.heatmap(shown, mask=shown.isna(), ax=ax, cmap=cmap,
                vmin=0 if is_rate else None, vmax=1 if is_rate else None,
                annot=annot and mat.size <= 600, fmt=".0%" if is_rate else ".0f",
                annot_kws={"fontsize": 7},
                cbar_kws={"label": _t("heat_cbar", language) if value == "rate" else value,
                          **({"format": _percent_formatter()} if is_rate else {})},
                linewidths=0.3)
    rows, cols = np.nonzero(partial.to_numpy())
    for r, c in zip(rows, cols):
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=(1, 1, 1, 0.55), hatch=_PARTIAL_HATCH,
                               edgecolor="#555555", linewidth=0, gid="partial"))
    if len(rows):
        ax.legend(handles=[Patch(facecolor="white", edgecolor="#555555", hatch=_PARTIAL_HATCH,
                                 label=_t("partial", language))],
                  loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False)
    ax.set_yticks(np.arange(len(mat)) + 0.5)
    ax.set_yticklabels([f"{_date_label(c)}  n={int(n)}" for c, n in zip(mat.index, sizes)],
                       rotation=0, fontsize=8)
    ax.set_xlabel(_index_label(period, language))
    ax.set_ylabel(_t("heat_y", language))
    ax.set_facecolor("white")
    ax.grid(False)  # blank (unreachable) cells stay blank
    return ax


def plot_retention_curves(curve: pd.DataFrame, *, hue: str | None = None, ci: bool = True,
                          period: str | None = None, max_periods: int | None = None,
                          language: str = "en", ax=None):
    """Retention curves (rate by period index) with Wilson CI bands, one line per segment.

    Each segment keeps its fixed colour (:func:`channel_colour` of its name).

    Parameters
    ----------
    curve : DataFrame
        Output of :func:`helpers.cohorts.retention_curve` (``period_index, rate, ci_low,
        ci_high`` and the segment column).
    hue : str, optional
        Segment column (e.g. ``"channel"``); None for a single curve.
    ci : bool
        Draw the confidence bands.
    period : {"D", "W", "M"}, optional
        The curve's period: names the x axis in days, weeks or months.
    max_periods : int, optional
        Draw period indices 0 … max_periods − 1 only (the periods of the heatmap and table).
    language : {"en", "zh"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    check_language(language)
    for c in ("period_index", "rate", "ci_low", "ci_high"):
        if c not in curve.columns:
            raise ParameterError(f"curve lacks column {c!r}: pass cohorts.retention_curve output")
    if hue is not None and hue not in curve.columns:
        raise ParameterError(f"hue={hue!r} is not a column of curve; columns: "
                             f"{', '.join(curve.columns)}")
    if max_periods is not None:
        curve = curve.loc[curve["period_index"] < max_periods]
    if not len(curve):
        return _nothing(ax, language)
    ax = get_ax(ax)
    groups = [(None, curve)] if hue is None else curve.groupby(hue, sort=True, observed=True)
    for name, g in groups:
        g = g.sort_values("period_index")
        colour = None if name is None else channel_colour(name)
        (line,) = ax.plot(g["period_index"], g["rate"], marker="o", markersize=3, color=colour,
                          label=None if name is None else plain_text(name))
        if ci:
            ax.fill_between(g["period_index"], g["ci_low"], g["ci_high"], alpha=0.15,
                            color=line.get_color(), linewidth=0)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel(_index_label(period, language))
    ax.set_ylabel(_t("curve_y", language))
    if hue is not None:
        ax.legend(title=_segment_title(hue, language), fontsize=8, ncols=2)
    return ax


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def plot_lifecycle(table: pd.DataFrame, *, language: str = "en", ax=None):
    """Lifecycle stacked bars: new, returning, resurrecting above zero; dormant below.

    The y axis counts members in both directions (tick labels are never negative: dormant
    members are drawn below the zero line); the bar of the period still running is hatched and
    its tick says so.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`helpers.cohorts.lifecycle` (``period, status, members``
        [, ``complete``]).
    language : {"en", "zh"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import FuncFormatter

    check_language(language)
    for c in ("period", "status", "members"):
        if c not in table.columns:
            raise ParameterError(f"table lacks column {c!r}: pass cohorts.lifecycle output")
    if not len(table):
        return _nothing(ax, language)
    wide = table.pivot_table(index="period", columns="status", values="members", aggfunc="sum",
                             observed=False).fillna(0).sort_index()
    running = np.zeros(len(wide), dtype=bool)
    if "complete" in table.columns:
        done = table.groupby("period")["complete"].all().reindex(wide.index)
        running = ~done.fillna(True).astype(bool).to_numpy()
    ax = get_ax(ax, figsize=(max(8, 0.3 * len(wide) + 4), 4.5))
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    hatch = [_PARTIAL_HATCH if r else None for r in running]

    def bars(values, base, status):
        drawn = ax.bar(x, values, bottom=base, color=_LIFECYCLE_COLOURS[status],
                       label=_t(f"life_{status}", language), width=0.8)
        for patch, h, r in zip(drawn, hatch, running):
            if r:
                patch.set_hatch(h)
                patch.set_alpha(0.45)
        return drawn

    for s in ("new", "returning", "resurrecting"):
        if s in wide.columns:
            bars(wide[s], bottom.copy(), s)
            bottom += wide[s].to_numpy()
    if "dormant" in wide.columns:
        bars(-wide["dormant"], None, "dormant")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(v):,.0f}"))
    step = max(1, len(wide) // 12)
    ticks = list(x[::step])
    if running.any() and int(x[-1]) not in ticks:
        ticks.append(int(x[-1]))
    labels = [_t("life_partial_tick", language, date=_date_label(wide.index[i])) if running[i]
              else _date_label(wide.index[i]) for i in ticks]
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel(_t("life_x", language))
    ax.set_ylabel(_t("life_y", language))
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    return ax


def plot_layer_transitions(table: pd.DataFrame, *, value: str = "share", cmap: str = "Blues",
                           language: str = "en", ax=None):
    """Heatmap of layer transitions (rows: layer at the start, columns: layer at the end).

    Layers are in their order, best first: 核心 → 活跃 → 潜在 → 沉睡.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`helpers.cohorts.layer_transitions`.
    value : {"share", "members"}
        Colour by the row share (default) or the count; cells show share and count.
    cmap : str
        Matplotlib colour map.
    language : {"en", "zh"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import seaborn as sns

    check_language(language)
    if value not in ("share", "members"):
        raise ParameterError(f"value={value!r} is not allowed; use 'share' or 'members'")
    for c in ("layer_from", "layer_to", "members", "share"):
        if c not in table.columns:
            raise ParameterError(f"table lacks column {c!r}: pass cohorts.layer_transitions output")
    if not len(table) or table["members"].sum() == 0:
        return _nothing(ax, language)
    mat = table.pivot_table(index="layer_from", columns="layer_to", values=value,
                            aggfunc="sum", observed=False)
    counts = table.pivot_table(index="layer_from", columns="layer_to", values="members",
                               aggfunc="sum", observed=False)
    shares = table.pivot_table(index="layer_from", columns="layer_to", values="share",
                               aggfunc="sum", observed=False)
    order = _layer_order(table)
    mat, counts, shares = (f.reindex(index=order, columns=order) for f in (mat, counts, shares))
    labels = np.vectorize(lambda s, n: f"{s:.0%}\n({int(n)})" if np.isfinite(s) else f"({int(n)})")(
        shares.to_numpy(dtype=float), counts.fillna(0).to_numpy(dtype=float))
    ax = get_ax(ax, figsize=(6, 5))
    sns.heatmap(mat.astype(float), annot=labels, fmt="", cmap=cmap, ax=ax, linewidths=0.5,
                vmin=0, vmax=1 if value == "share" else None,
                cbar_kws={"label": _t(f"trans_{value}", language),
                          **({"format": _percent_formatter()} if value == "share" else {})})
    ax.grid(False)
    ax.set_xlabel(_t("trans_x", language))
    ax.set_ylabel(_t("trans_y", language))
    ax.tick_params(axis="y", rotation=0)
    return ax


def _layer_order(table: pd.DataFrame) -> list:
    col = table["layer_from"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    from ..cohorts import LAYER_ALIASES, LAYERS

    known = [*LAYERS, *LAYER_ALIASES.values()]
    present = list(dict.fromkeys(col))
    return sorted(present, key=lambda v: known.index(v) % 4 if v in known else 99)


# ----------------------------------------------------------------------------- reader tables
_LAYER_WORDS = {
    "en": {"核心": "core (核心)", "活跃": "active (活跃)", "潜在": "potential (潜在)",
           "沉睡": "dormant (沉睡)"},
    "zh": {"核心": "核心成员", "活跃": "活跃成员", "潜在": "潜在成员", "沉睡": "沉睡成员",
           "core": "核心成员", "active": "活跃成员", "potential": "潜在成员", "dormant": "沉睡成员"},
}
_TABLE_PERCENT = {"rate", "ci_low", "ci_high", "stickiness", "share", "referral_share"}


def cohort_table(frame: pd.DataFrame, *, language: str = "en", period: str = "W",
                 max_rows: int | None = 50, caption: str | None = None):
    """A cohorts table as a reviewer reads it: headers in words, shares in %, no True/False.

    Works on the outputs of ``retention_matrix`` (columns become "week 0" / "第 0 周"),
    ``n_day_retention``, ``growth``, ``layer_mix(...).table`` and ``fission_table``; the data
    are not changed. Formatting and escaping are :func:`helpers.plots.show_table`'s.

    Returns
    -------
    pandas.io.formats.style.Styler
        (an IPython ``Markdown`` sentence instead when the table has no rows)
    """
    from .tables import show_table

    check_language(language)
    if not len(frame):
        from IPython.display import Markdown

        return Markdown(_t("empty_table", language))
    f = frame.copy()
    unit = _t(f"unit_{period}", language)
    if all(isinstance(c, (int, np.integer)) for c in f.columns) and len(f.columns):
        f.columns = [_t("h_k", language, unit=unit, k=int(c)) for c in f.columns]
        f.index = f.index.set_names([_header(n, language) for n in f.index.names])
        sty = show_table(f, percent=list(f.columns), max_rows=max_rows, caption=caption)
        return sty.format_index(lambda v: count(v) if isinstance(v, (int, np.integer)) else v,
                                axis="index", level=f.index.nlevels - 1)
    if period == "M" and "period" in f.columns and pd.api.types.is_datetime64_any_dtype(f["period"]):
        f["period"] = [(f"{t.year}年{t.month}月" if language == "zh" else f"{t:%Y-%m}")
                       for t in f["period"]]
    if "layer" in f.columns:
        words = _LAYER_WORDS[language]
        f["layer"] = [words.get(str(v), v) for v in f["layer"]]
    if "complete" in f.columns:
        f["complete"] = np.where(f["complete"].astype(bool), _t("complete_yes", language),
                                 _t("complete_no", language))
    percent = [_header(c, language) for c in f.columns if c in _TABLE_PERCENT]
    f.columns = [_t(f"h_period_{period}", language) if c == "period" else _header(c, language)
                 for c in f.columns]
    # a missing number (K-factor of a month with no members at its start) reads "—", as in
    # report 02's tables; only the retention matrix keeps blank cells (not reached yet)
    return _counts(show_table(f, percent=percent, max_rows=max_rows, caption=caption, na="—"),
                   f)


def _counts(styler, frame: pd.DataFrame):
    """Integer columns with thousands separators (12,345), as everywhere in the reports."""
    ints = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]
    return styler.format(count, subset=ints) if ints else styler


def _header(col, language: str) -> str:
    if col is None:
        return ""
    key = f"h_{col}"
    if key in PLOT_LABELS.keys(language):
        return _t(key, language)
    key = f"segment_{col}"
    return _t(key, language) if key in PLOT_LABELS.keys(language) else str(col)
