"""Tables as a reviewer reads them: the display counterpart of the plots.

Raw DataFrames in an HTML report show ``2026-03-02 00:00:00+08:00`` for a week start, ``NaN``
for cells that do not exist, 6-decimal floats, a meaningless 0, 1, 2 … index and column names
such as ``ci_low``. :func:`show_table` returns a pandas ``Styler`` that renders the same numbers
readably, without changing the data (the frame itself stays available to an analyst).

Every cell, column header, index label and the caption is text, never markup: a channel named
``<img src=x onerror=alert(1)>`` shows as those characters (``escape="html"``).
"""

from __future__ import annotations

import pandas as pd

from .._format import escape_html
from .._i18n import Catalog

__all__ = ["show_table", "HEADER_WORDS"]

#: Header words for the column names the helpers return (one term per concept, GLOSSARY.zh.md).
#: :func:`show_table` uses them when given a ``language``; ``headers=`` adds or overrides.
HEADER_WORDS = Catalog({
    "en": {
        "cohort": "Cohort", "period": "Period", "period_index": "Period", "cohort_size":
        "Cohort size", "retained": "Retained", "rate": "Rate", "ci_low": "95% CI low",
        "ci_high": "95% CI high", "member_id": "Member", "channel": "Channel", "group_id":
        "Group", "joined_at": "Joined", "last_active_at": "Last active", "churned": "Churned",
        "duration_days": "Days followed", "new_members": "New members", "active_members":
        "Active members", "net_growth": "Net growth", "stickiness": "Stickiness (DAU/MAU)",
        "mean_daily_active": "Mean daily active", "estimate": "Estimate", "p_value": "p-value",
        "p_adjusted": "Adjusted p-value", "arm": "Arm", "metric": "Metric", "lift": "Lift",
        "segment": "Segment", "layer": "Layer", "hazard_ratio": "Hazard ratio",
        "rmst": "RMST (days)", "eligible": "Eligible", "converted": "Converted", "step": "Step",
        "step_index": "Step", "rate_from_previous": "Rate from previous step",
        "median_days": "Median days", "plan": "Plan", "renewal_index": "Renewal",
        "up_for_renewal": "Up for renewal", "renewed": "Renewed", "churn_risk": "Churn risk",
        "referral_share": "Referred share", "members": "Members", "share": "Share",
        "control": "Control", "treatment": "Treatment", "n": "Members", "mean": "Mean",
        "activity_id": "Activity", "activity_type": "Activity type", "experiment_id":
        "Experiment", "name": "Name", "unit": "Randomised by", "starts_at": "Starts",
        "ends_at": "Ends", "expected_purchases": "Expected purchases", "expected_spend":
        "Expected spend", "p_alive": "Probability alive", "frequency": "Repeat purchases",
        "k_factor": "K-factor", "survival": "Still in the community", "at_risk": "At risk",
    },
    "zh": {
        "cohort": "同期群", "period": "周期", "period_index": "第几期", "cohort_size": "同期群人数",
        "retained": "留存人数", "rate": "比例", "ci_low": "95% 置信区间下限",
        "ci_high": "95% 置信区间上限", "member_id": "成员", "channel": "渠道", "group_id": "群",
        "joined_at": "入群时间", "last_active_at": "最后活跃时间", "churned": "已流失",
        "duration_days": "观察天数", "new_members": "新增成员", "active_members": "活跃成员",
        "net_growth": "净增长", "stickiness": "粘性（日活/月活）", "mean_daily_active": "平均日活",
        "estimate": "估计值", "p_value": "p 值", "p_adjusted": "校正后 p 值", "arm": "分组",
        "metric": "指标", "lift": "提升", "segment": "细分", "layer": "分层",
        "hazard_ratio": "风险比", "rmst": "限制性平均生存时间（天）", "eligible": "已满观察期的成员",
        "converted": "已转化", "step": "步骤", "step_index": "步骤",
        "rate_from_previous": "相对上一步的转化率", "median_days": "中位天数", "plan": "套餐",
        "renewal_index": "第几次续费", "up_for_renewal": "到期待续费", "renewed": "已续费",
        "churn_risk": "流失风险", "referral_share": "邀请入群占比", "members": "成员数",
        "share": "占比", "control": "对照组", "treatment": "实验组", "n": "人数", "mean": "均值",
        "activity_id": "活动", "activity_type": "活动类型", "experiment_id": "实验",
        "name": "名称", "unit": "随机单位", "starts_at": "开始", "ends_at": "结束",
        "expected_purchases": "预期购买次数", "expected_spend": "预期消费额",
        "p_alive": "仍活跃概率", "frequency": "复购次数", "k_factor": "K 因子",
        "survival": "仍留在社群的比例", "at_risk": "仍在观察的成员数",
    },
}, name="plots.tables.headers")

_CAPTION = Catalog({"en": {"first_rows": "first {shown:,} of {total:,} rows"},
                    "zh": {"first_rows": "仅显示前 {shown:,} 行（共 {total:,} 行）"}},
                   name="plots.tables.caption")


def _date_text(v) -> str:
    if pd.isna(v):
        return ""
    t = pd.Timestamp(v)
    return f"{t:%Y-%m-%d}" if t == t.normalize() else f"{t:%Y-%m-%d %H:%M}"


def _label(words: dict):
    """Formatter of index values and column headers: dates as dates, names as words."""
    def fmt(v):
        if isinstance(v, pd.Timestamp):
            return _date_text(v)
        return words.get(v, v) if isinstance(v, str) else v
    return fmt


def show_table(df: pd.DataFrame, *, percent=(), digits: int = 2, na: str = "",
               max_rows: int | None = 50, caption: str | None = None,
               language: str | None = None, headers: dict | None = None):
    """A DataFrame formatted for a report: dates without midnight times and time zones,
    shares as percentages, numbers rounded, missing values blank, no positional index, every
    string shown as text (HTML-escaped), column headers in words.

    Parameters
    ----------
    df : DataFrame
        Any tidy table (not modified).
    percent : list of str, or True
        Columns holding shares in [0, 1], shown as ``12.3%``; True for every float column
        (e.g. a retention matrix).
    digits : int
        Decimals of the other float columns (integers stay integers).
    na : str
        Text for missing values (blank by default: "not reached", not zero).
    max_rows : int, optional
        Show only the first ``max_rows`` rows (the caption says how many there are).
    caption : str, optional
        Text above the table (plain text: escaped).
    language : {"zh", "en"}, optional
        Column names the helpers return (``ci_low``, ``cohort_size`` …, see
        :data:`HEADER_WORDS`) are shown as words in this language, and the "first rows" caption
        too. None keeps the column names as they are (and English).
    headers : dict, optional
        ``{column: header}`` words for other columns (or to override), e.g. from a report's
        catalog; applied with or without ``language``.

    Returns
    -------
    pandas.io.formats.style.Styler

    Examples
    --------
    >>> t = show_table(pd.DataFrame({"channel": ["<b>邀请码</b>"], "rate": [0.25]}),
    ...                percent=["rate"], language="zh").to_html()
    >>> "&lt;b&gt;邀请码&lt;/b&gt;" in t, "<b>" in t, "渠道" in t, "25.0%" in t
    (True, False, True, True)
    """
    if language is not None:
        from .._format import check_language

        check_language(language)
    if percent is True:
        percent = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    missing = [c for c in percent if c not in df.columns]
    if missing:
        from ..errors import ParameterError

        raise ParameterError(f"percent columns {missing} are not in the table; columns: "
                             f"{list(df.columns)}")
    words = dict(HEADER_WORDS.messages[language]) if language else {}
    words.update({k: str(v) for k, v in (headers or {}).items()})
    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)
    if max_rows is not None and len(df) > max_rows:
        note = _CAPTION.t("first_rows", language or "en", shown=max_rows, total=len(df))
        caption = f"{caption} ({note})" if caption else note[:1].upper() + note[1:]
    if any(n is not None for n in (*shown.index.names, *shown.columns.names)):
        # level names are printed raw by the Styler: escape (and translate) them here
        shown = shown.copy(deep=False)
        shown.index.names = [None if n is None else escape_html(words.get(n, n))
                             for n in shown.index.names]
        shown.columns.names = [None if n is None else escape_html(words.get(n, n))
                               for n in shown.columns.names]
    formats = {}
    for c in shown.columns:
        s = shown[c]
        if c in percent:
            formats[c] = lambda v: "" if pd.isna(v) else f"{v:.1%}"
        elif pd.api.types.is_datetime64_any_dtype(s):
            formats[c] = _date_text
        elif pd.api.types.is_float_dtype(s):
            formats[c] = (lambda v, d=digits: na if pd.isna(v) else f"{v:,.{d}f}")
    sty = shown.style.format(formats, na_rep=na, escape="html")
    # short labels (channel names such as 社交广告) must not break across lines in narrow columns
    textual = [c for c in shown.columns
               if pd.api.types.is_object_dtype(shown[c]) or pd.api.types.is_string_dtype(shown[c])
               or isinstance(shown[c].dtype, pd.CategoricalDtype)]
    short = [c for c in textual if len(shown) and shown[c].astype(str).str.len().max() <= 24]
    if short:
        sty = sty.set_properties(subset=short, **{"white-space": "nowrap"})
    if textual:
        # names display as written: leading, trailing and repeated spaces are kept
        sty = sty.set_properties(subset=textual, **{"white-space-collapse": "preserve"})
    if isinstance(shown.index, pd.RangeIndex):
        sty = sty.hide(axis="index")
    else:
        sty = sty.format_index(_label({}), axis="index", escape="html")
    sty = sty.format_index(_label(words), axis="columns", escape="html")
    if caption:
        sty = sty.set_caption(escape_html(caption))
    return sty
