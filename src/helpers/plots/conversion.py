"""Plots of report 04 (conversion and value): funnel, time to first purchase, model check,
renewal curve, participation in activities. Each takes tidy data, ``ax=None`` and ``language``,
and returns the axes; titles, axes and legends come from the catalog below."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._i18n import Catalog
from ._base import get_ax

try:  # the fixed colour per channel name (plots._base); a stable local fallback otherwise
    from ._base import channel_palette
except ImportError:  # pragma: no cover - only before the shared palette exists
    def channel_palette(names):
        import hashlib
        colours = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3"]
        return {str(n): colours[int(hashlib.md5(str(n).encode()).hexdigest()[:6], 16) % 7]
                for n in names}

__all__ = ["plot_funnel", "plot_time_to_purchase", "plot_holdout", "plot_renewal",
           "plot_participation", "show_conversion_table", "show_data_summary",
           "CONVERSION_PLOT_TEXT"]

CONVERSION_PLOT_TEXT = Catalog({
    "en": {"funnel_title": "Conversion in the first {window} days after joining (95% CI)",
           "share_members": "Share of eligible members", "step": "Step",
           "joined": "joined", "active": "active", "purchased": "first purchase",
           "repurchased": "repurchase", "all": "all members",
           "ttp_title": "Made a first purchase, by day since joining (leaving first competes)",
           "days_since_joining": "Days since joining", "share_purchased": "Share with a first purchase",
           "holdout_title": "Model check: repeat purchases after the fit date, per buyer",
           "frequency_cal": "Repeat purchases before the fit date", "per_buyer": "Purchases per buyer",
           "predicted": "predicted by the model", "actual": "actual",
           "renewal_title": "Renewal rate by renewal number (observed with 95% CI, and the model)",
           "renewal_index": "Renewal number", "renewal_rate": "Share renewed",
           "observed": "{plan} observed", "model": "{plan} model",
           "participation_title": "Participation in community-wide activities (95% CI)",
           "date": "Activity start", "participation": "Share of members present who took part"},
    "zh": {"funnel_title": "入群后 {window} 天内的转化（95% 置信区间）",
           "share_members": "占已满观察期成员的比例", "step": "步骤",
           "joined": "入群", "active": "活跃", "purchased": "首次购买", "repurchased": "复购",
           "all": "全部成员",
           "ttp_title": "按入群天数的累计首购率（先流失为竞争风险）",
           "days_since_joining": "入群后天数", "share_purchased": "已首次购买的比例",
           "holdout_title": "模型检验：拟合日之后每名购买者的复购次数",
           "frequency_cal": "拟合日之前的复购次数", "per_buyer": "每名购买者的购买次数",
           "predicted": "模型预测", "actual": "实际",
           "renewal_title": "按第几次续费的续费率（实际值及 95% 置信区间，与模型）",
           "renewal_index": "第几次续费", "renewal_rate": "续费比例",
           "observed": "{plan} 实际", "model": "{plan} 模型",
           "participation_title": "全社群活动的参与率（95% 置信区间）",
           "date": "活动开始日期", "participation": "在场成员中参与的比例"},
}, name="conversion plots")


def _label(text) -> str:
    """A data string as plain text in matplotlib (``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def _pct_axis(ax) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def plot_funnel(funnel: pd.DataFrame, *, by: str | None = None, window_days: float = 30,
                ax=None, language: str = "zh"):
    """Grouped bars: the share of eligible members reaching each step, per segment, with CIs."""
    t = lambda k, **v: CONVERSION_PLOT_TEXT.t(k, language, **v)  # noqa: E731
    ax = get_ax(ax, figsize=(9, 4.5))
    f = funnel[funnel["step"] != "joined"]
    steps = list(dict.fromkeys(f["step"]))
    levels = list(dict.fromkeys(f[by])) if by else [None]
    pal = channel_palette([str(v) for v in levels if v is not None])
    width = 0.8 / len(levels)
    x = np.arange(len(steps))
    for i, lvl in enumerate(levels):
        sub = f if lvl is None else f[f[by] == lvl]
        sub = sub.set_index("step").reindex(steps)
        err = np.vstack([sub["rate"] - sub["ci_low"], sub["ci_high"] - sub["rate"]])
        ax.bar(x + (i - (len(levels) - 1) / 2) * width, sub["rate"], width,
               yerr=np.nan_to_num(err), capsize=2,
               color=pal.get(str(lvl), "#4C72B0") if lvl is not None else "#4C72B0",
               label=_label(lvl) if lvl is not None else t("all"))
    ax.set_xticks(x, [t(s) if s in ("active", "purchased", "repurchased") else _label(s)
                      for s in steps])
    ax.set_ylim(0, 1)
    _pct_axis(ax)
    ax.set_ylabel(t("share_members"))
    ax.set_xlabel(t("step"))
    ax.set_title(t("funnel_title", window=f"{window_days:g}"))
    ax.legend(fontsize=8, ncol=min(3, len(levels)))
    return ax


def plot_time_to_purchase(daily: pd.DataFrame, *, by: str | None = None, ax=None,
                          language: str = "zh"):
    """Cumulative incidence of the first purchase by day since joining, with 95% bands."""
    t = lambda k, **v: CONVERSION_PLOT_TEXT.t(k, language, **v)  # noqa: E731
    ax = get_ax(ax)
    d = daily.dropna(subset=["cumulative_incidence"])
    levels = list(dict.fromkeys(d[by])) if by and by in d.columns else [None]
    pal = channel_palette([str(v) for v in levels if v is not None])
    for lvl in levels:
        sub = d if lvl is None else d[d[by] == lvl]
        c = pal.get(str(lvl), "#4C72B0")
        ax.step(sub["day"], sub["cumulative_incidence"], where="post", color=c,
                label=_label(lvl) if lvl is not None else t("all"))
        ax.fill_between(sub["day"], sub["ci_low"].fillna(sub["cumulative_incidence"]),
                        sub["ci_high"].fillna(sub["cumulative_incidence"]), step="post",
                        color=c, alpha=0.15)
    _pct_axis(ax)
    ax.set_xlabel(t("days_since_joining"))
    ax.set_ylabel(t("share_purchased"))
    ax.set_title(t("ttp_title"))
    ax.legend(fontsize=8)
    return ax


def plot_holdout(holdout: pd.DataFrame, *, ax=None, language: str = "zh"):
    """Predicted vs actual repeat purchases per buyer in the holdout, by earlier frequency."""
    t = lambda k, **v: CONVERSION_PLOT_TEXT.t(k, language, **v)  # noqa: E731
    ax = get_ax(ax, figsize=(7, 4))
    x = holdout["frequency_cal"].to_numpy()
    ax.plot(x, holdout["predicted"], marker="o", label=t("predicted"))
    ax.plot(x, holdout["actual"], marker="s", label=t("actual"))
    ax.set_xticks(x, [f"{int(k)}+" if k >= 7 else str(int(k)) for k in x])
    ax.set_xlabel(t("frequency_cal"))
    ax.set_ylabel(t("per_buyer"))
    ax.set_title(t("holdout_title"))
    ax.legend()
    return ax


def plot_renewal(table: pd.DataFrame, curve: pd.DataFrame, *, ax=None, language: str = "zh"):
    """Observed renewal rates (with Wilson intervals) and the sBG model's rates, per plan."""
    t = lambda k, **v: CONVERSION_PLOT_TEXT.t(k, language, **v)  # noqa: E731
    ax = get_ax(ax, figsize=(8, 4))
    plans = list(dict.fromkeys(table["plan"])) if "plan" in table else [None]
    pal = channel_palette([str(p) for p in plans])
    for p in plans:
        sub = table if p is None else table[table["plan"] == p]
        c = pal[str(p)]
        err = np.vstack([sub["rate"] - sub["ci_low"], sub["ci_high"] - sub["rate"]])
        ax.errorbar(sub["renewal_index"], sub["rate"], yerr=err, fmt="o", color=c, capsize=3,
                    label=t("observed", plan=_label(p)))
        cv = curve if p is None or "plan" not in curve else curve[curve["plan"] == p]
        if len(cv):
            ax.plot(cv["renewal_index"], cv["projected_rate"], "--", color=c,
                    label=t("model", plan=_label(p)))
    ax.set_ylim(0, 1)
    _pct_axis(ax)
    ax.set_xlabel(t("renewal_index"))
    ax.set_ylabel(t("renewal_rate"))
    ax.set_title(t("renewal_title"))
    ax.legend(fontsize=8)
    return ax


def plot_participation(activities: pd.DataFrame, *, ax=None, language: str = "zh"):
    """Participation rate of community-wide activities over time, with Wilson intervals."""
    t = lambda k, **v: CONVERSION_PLOT_TEXT.t(k, language, **v)  # noqa: E731
    ax = get_ax(ax, figsize=(9, 4))
    a = activities[activities["group_id"].isna() & (activities["eligible"] > 0)]
    if a.empty:
        a = activities[activities["eligible"] > 0]
    x = pd.to_datetime(a["starts_at"]).dt.tz_localize(None)
    err = np.vstack([a["rate"] - a["ci_low"], a["ci_high"] - a["rate"]])
    ax.errorbar(x, a["rate"], yerr=err, fmt="o", ms=3, capsize=2, color="#4C72B0")
    _pct_axis(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(t("date"))
    ax.set_ylabel(t("participation"))
    ax.set_title(t("participation_title"))
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    return ax


DASH = "—"  #: a cell with no number (no previous step, no interval for a single group)


#: columns kept at two decimals (purchases per buyer, as the summary writes them: 1.23)
TWO_DECIMALS = ("expected_purchases", "purchases_ci_low", "purchases_ci_high", "predicted",
                "actual")


def _cell_formats(frame: pd.DataFrame, percent, language: str, digits: int = 1) -> dict:
    """Cell formatters: counts with thousands separators, other numbers with ``digits``
    decimals (never "-0.0"), shares as percentages, a missing number as "—"."""
    from .._format import count, number, pct

    def num(v, d=digits):
        if pd.isna(v):
            return DASH
        text = number(v, d, language)
        return text[1:] if text.startswith("-") and float(v) > -0.5 * 10 ** -d else text

    out = {}
    for c in frame.columns:
        s = frame[c]
        if c in percent:
            out[c] = lambda v: DASH if pd.isna(v) else pct(v, language=language)
        elif pd.api.types.is_bool_dtype(s):
            continue
        elif pd.api.types.is_integer_dtype(s):
            out[c] = lambda v: DASH if pd.isna(v) else count(v, language)
        elif pd.api.types.is_float_dtype(s):
            out[c] = (lambda v: num(v, 2)) if c in TWO_DECIMALS else num
    return out


def show_conversion_table(report, name: str, language: str = "zh", *, max_rows: int = 30):
    """A table of report 04 formatted for reviewers (``plots.show_table``), or None when the
    section did not run (its note says why). ``name`` as in ``conversion.display_table``.

    Counts carry thousands separators (3,706), other numbers one decimal (60.7), shares one
    decimal as percentages; a cell with no number reads "—" (no interval, no previous step)."""
    from ..conversion import display_table
    from .tables import show_table

    frame, percent, headers = display_table(report, name, language)
    if frame.empty:
        return None
    sty = show_table(frame, percent=percent, language=language, headers=headers,
                     max_rows=max_rows)
    shown = sty.data
    for c, f in _cell_formats(shown, percent, language).items():
        sty = sty.format(f, subset=[c])
    return sty


DATA_HEADERS = Catalog({
    "en": {"table": "Table", "rows": "Rows", "columns": "Columns"},
    "zh": {"table": "表", "rows": "行数", "columns": "列"},
}, name="data summary headers")


def show_data_summary(ds, language: str = "zh"):
    """The tables read (``ds.summary()``): headers in ``language``, row counts with thousands
    separators, the full column list, no index."""
    from .tables import show_table

    frame = ds.summary()
    sty = show_table(frame, language=language, headers=dict(DATA_HEADERS.messages[language]),
                     max_rows=None)
    for c, f in _cell_formats(frame, [], language).items():
        sty = sty.format(f, subset=[c])
    return sty
