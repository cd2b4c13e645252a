"""The sections of the A/B notebook: one call per cell, in the report's language.

Each function displays what a section shows (a plot, a table, the sentence saying why the
section is skipped) and returns nothing, so the notebook stays a list of calls and a dataset
without experiments still renders a complete, short report. Text comes from the renderers
(:mod:`.report`, :mod:`.tables`) and the catalog below; plots from :mod:`helpers.plots`.
"""

from __future__ import annotations

import warnings

import pandas as pd

from .. import _format as fmt
from .._i18n import Catalog
from ..errors import AnalysisWarning
from ..plots.experiments import TEXT_EN
from ._messages import arm_name, mde_text, metric_label, note, t
from .analysis import ExperimentReport
from .arm_survival import ArmSurvival
from .metrics import METRICS, as_list
from .power import planning_gap, power_table
from .report import (caveats_markdown, note_text, skipped_markdown, summary_markdown,
                     survival_markdown)
from .segments import segment_tables
from .tables import (TABLE_MESSAGES, analyst_table, experiments_display, in_reading_order,
                     power_display, results_table, rmst_display, segment_display, srm_table)

__all__ = ["show_summary", "show_lift", "show_results", "show_srm", "show_distribution",
           "show_survival", "show_segments", "show_power", "show_details", "plot_text",
           "VIEW_MESSAGES"]

VIEW_MESSAGES = Catalog({
    "en": {
        # the plots' own English words (one text), then this report's titles
        **{k: v for k, v in TEXT_EN.items() if k not in ("lift_title", "segment_title")},
        "lift_title": "{eid}: lift vs {control} (thick: interval at the corrected level; green = "
                      "significant after correction)",
        "lift_title_default": "Lift with confidence interval",
        "segment_title": "{metric}: lift by {segment} (exploratory; thick: corrected level)",
        "dist_title": "{metric} per member by arm ({means})",
        "means.adjusted": "CUPED-adjusted means, as compared: {items}",
        "means.raw": "means: {items}",
        "km_title": "Share still in the community, by arm (members active at the start)",
        "km_x": "days since the start", "km_y": "share still in the community",
        "analyst_caption": "For analysts: how each metric was tested",
        "results_caption": "Lift of every metric",
        "by": "By {segment}",
        "layer": "member layer before the start", "channel": "acquisition channel",
        "no_segments": "no segments were asked for",
        "srm_none": "no sample-ratio check was possible",
        "power_none": "the primary metric has no spread or is a ratio: no sample sizes",
        "power_gap": "These sizes take the control arm's spread for both arms (SD {sd_c:.2f}) "
                     "in a textbook model of the test. This experiment's own estimate was less "
                     "precise: at its size the table implies about {planned} detectable, its own "
                     "estimate {observed} (summary); its treatment arm varied more (SD "
                     "{sd_t:.2f}). If the effect may again differ between {units}, plan for up "
                     "to {factor:.1f}× these sizes.",
        "units.member": "members", "units.group": "groups",
        "experiments": "Experiments in this dataset",
        "no_table": "this dataset has no experiments table",
        "loader": "What the loader changed in the raw data",
    },
    "zh": {
        "lift_title": "{eid}：相对{control}的提升（粗线：按校正后水平的区间；绿色 = 校正后显著）",
        "xlabel_relative": "相对对照组的提升", "xlabel_absolute": "与对照组的差值",
        "corrected": "按校正后水平的区间（绿色 = 校正后显著）",
        "uncorrected": "95% 置信区间，未校正（细线）",
        "not_shown": "未显示（绝对差）", "empty": "没有可显示的指标",
        "untested": "没有可检验的指标", "no_segment": "没有足够大的分群可检验",
        "share": "成员占比", "share_cdf": "取值不超过该值的成员占比", "arm": "组别",
        "lift_title_default": "提升及置信区间",
        "segment_title": "{metric}：按{segment}的提升（仅供探索；粗线：校正后水平）",
        "dist_title": "各组每位成员的{metric}（{means}）",
        "means.adjusted": "CUPED 调整后的均值，即比较所用：{items}",
        "means.raw": "均值：{items}",
        "km_title": "仍留在社群的比例，按组（开始时仍活跃的成员）",
        "km_x": "开始后的天数", "km_y": "仍留在社群的比例",
        "analyst_caption": "供分析师参考：各指标的检验方式",
        "results_caption": "各指标的提升",
        "by": "按{segment}",
        "layer": "开始前的成员分层", "channel": "拉新渠道",
        "no_segments": "没有指定分群",
        "srm_none": "无法做样本比例检验",
        "power_none": "主要指标没有波动或是比率指标，无法计算样本量",
        "power_gap": "上表按对照组的波动（标准差 {sd_c:.2f}）和标准的检验模型估算两组。本次实验自身的估计"
                     "没有这么精确：按本次实验的规模，上表对应约 {planned} 的可发现变化，而本次实验自身的估计为 "
                     "{observed}（见结论摘要）；本次实验组的波动更大（标准差 {sd_t:.2f}）。如果效应仍可能因{units}"
                     "而异，请按上表样本量的最多 {factor:.1f} 倍来规划。",
        "units.member": "成员", "units.group": "群",
        "experiments": "数据集中的实验",
        "no_table": "这个数据集没有实验表",
        "loader": "读取数据时做的修改",
    },
}, name="exp_metrics.views")


def _v(key: str, language: str, **values) -> str:
    return VIEW_MESSAGES.t(key, language, **values)


def _display(*objs):
    from IPython.display import display

    display(*objs)


def _md(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def _figure(ax) -> None:
    """Show a plot where it stands (before the tables that follow it) and close it."""
    import matplotlib.pyplot as plt

    _display(ax.figure)
    plt.close(ax.figure)


def _table(df: pd.DataFrame, caption: str | None = None):
    from ..plots import show_table

    return show_table(df, caption=caption, max_rows=None)


def plot_text(language: str) -> dict:
    """The words of the experiment plots in ``language``."""
    keys = ["xlabel_relative", "xlabel_absolute", "corrected", "uncorrected", "not_shown",
            "empty", "untested", "no_segment", "share", "share_cdf", "arm"]
    out = {k: _v(k, language) for k in keys}
    out["lift_title"] = _v("lift_title_default", language)
    out["colon"] = "：" if language == "zh" else ": "
    return out


def _skip(report: ExperimentReport, language: str) -> bool:
    """Display why a section is skipped; True when it is."""
    if report.analysed:
        return False
    from .report import REPORT_MESSAGES

    _display(_md(skipped_markdown(REPORT_MESSAGES.t("skipped.not_analysed", language), language)))
    return True


def show_summary(report: ExperimentReport, language: str = "zh") -> None:
    """The executive summary (decision first)."""
    _display(_md(summary_markdown(report, language)))


def show_lift(report: ExperimentReport, language: str = "zh") -> None:
    """Section 1: the lift of every metric, both intervals drawn, colour = corrected
    significance."""
    if _skip(report, language):
        return
    from .. import plots

    res = report.results.assign(
        arm=[arm_name(a, report.control_arm, language) for a in report.results["arm"]],
        display=[metric_label(m, language, report.retention_days) for m in report.results["metric"]],
        role_display=[TABLE_MESSAGES.t(f"role.{r}", language) for r in report.results["role"]])
    _figure(plots.plot_lift_forest(res, text=plot_text(language), title=_v(
        "lift_title", language, eid=report.experiment_id,
        control=arm_name(report.control_arm, report.control_arm, language))))


def show_results(report: ExperimentReport, language: str = "zh") -> None:
    """The numbers behind the lift plot, then the analysts' table."""
    if _skip(report, language):
        return
    _display(_table(results_table(report, language), _v("results_caption", language)),
             _table(analyst_table(report, language), _v("analyst_caption", language)))


def show_srm(report: ExperimentReport, language: str = "zh") -> None:
    """Section 2: observed vs planned units per arm."""
    if report.srm is None:
        reason = note_text(report.reason, language) if not report.analysed \
            else _v("srm_none", language)
        _display(_md(skipped_markdown(reason, language)))
        return
    _display(_table(srm_table(report, language)))


def show_distribution(report: ExperimentReport, language: str = "zh") -> None:
    """Section 3: the primary metric per member in each arm; the title quotes the means that
    are compared (CUPED-adjusted when the test adjusted)."""
    if _skip(report, language):
        return
    from .. import plots

    metric = report.primary_metric
    label = metric_label(metric, language, report.retention_days)
    prim = report.results.loc[report.results["role"] == "primary"]
    kind = str(prim["kind"].iloc[0]) if len(prim) else "mean"
    if len(prim):
        r = prim.iloc[0]
        sep = ", " if language == "en" else "，"
        show = (lambda v: fmt.pct(v, language=language)) if kind == "proportion" else (
            lambda v: fmt.number(v, 2, language))
        c = report.control_arm
        items = sep.join([f"{arm_name(c, c, language)} {show(r['control_mean'])}",
                          *[f"{arm_name(x['arm'], c, language)} {show(x['treatment_mean'])}"
                            for _, x in prim.iterrows()]])
        adjusted = "cuped" in str(r["method"]).lower()
        means = _v("means.adjusted" if adjusted else "means.raw", language, items=items)
    else:
        means = ""
    named = report.data.assign(arm=[arm_name(a, report.control_arm, language)
                                    for a in report.data["arm"].astype(str)])
    control = arm_name(report.control_arm, report.control_arm, language)
    _figure(plots.plot_arm_distributions(named, metric=metric, control=control,
                                 text=plot_text(language), xlabel=label,
                                 title=_v("dist_title", language, metric=label,
                                          means=means)))


def show_survival(surv: ArmSurvival, report: ExperimentReport, language: str = "zh") -> None:
    """Section 4: KM curves per arm and the RMST difference, or why the section is skipped."""
    if not report.analysed and surv.km.empty:
        _skip(report, language)
        return
    if surv.informative and not surv.rmst.empty and not surv.km.empty:
        from .. import plots

        km = surv.km.assign(group=[arm_name(g, report.control_arm, language)
                                   for g in surv.km["group"].astype(str)])
        from ..plots.experiments import arm_colours, recolour_arms

        ax = plots.plot_km(km, xlabel=_v("km_x", language), ylabel=_v("km_y", language),
                           title=_v("km_title", language))
        control = arm_name(report.control_arm, report.control_arm, language)
        _figure(recolour_arms(ax, arm_colours(km["group"].unique(), control)))
        _display(_md(survival_markdown(surv, report.control_arm, language)),
                 _table(rmst_display(surv, language)))
        return
    _display(_md(survival_markdown(surv, report.control_arm, language)))


def show_segments(report: ExperimentReport, community, segments, language: str = "zh",
                  min_units: int = 20) -> None:
    """Section 5: the primary metric's lift within each segment (exploratory), plot and table
    per segment; segments that are not member attributes are named and skipped."""
    if _skip(report, language):
        return
    names = as_list(segments) or []
    if not names:
        _display(_md(skipped_markdown(_v("no_segments", language), language)))
        return
    from .. import plots

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)  # said below as a note, in words
        tables = segment_tables(report, community, segments=names, min_units=min_units)
    label = metric_label(report.primary_metric, language, report.retention_days)
    _display(_md(f"- {note('note.segments_exploratory').text(language)}"))
    for seg, table in tables.items():
        known = seg == "layer" or seg in report.data
        seg_words = _v(seg, language) if seg in ("layer", "channel") else fmt.escape_md(seg)
        if not known:
            _display(_md(skipped_markdown(note("note.segment_unknown", segment=seg)
                                          .text(language, escape=fmt.escape_md), language)))
            continue
        table = in_reading_order(table)
        _figure(plots.plot_segment_effects(
            table.assign(segment=[t("not_yet_joined", language) if s == "not yet joined"
                                  else str(s) for s in table["segment"]]),
            text=plot_text(language),
            title=_v("segment_title", language, metric=label, segment=seg_words)))
        _display(_md(f"**{_v('by', language, segment=seg_words)}**"),
                 _table(segment_display(table, report, language)))


def show_power(report: ExperimentReport, lifts=(0.03, 0.05, 0.10),
               language: str = "zh") -> None:
    """Section 6: units per arm the next experiment needs, at the level the decision uses."""
    if _skip(report, language):
        return
    lifts = [float(x) for x in (as_list(lifts) if isinstance(lifts, str) else lifts)]
    table = power_table(report, lifts=lifts)
    if table.empty:
        _display(_md(skipped_markdown(_v("power_none", language), language)))
        return
    _display(_table(power_display(table, report, language)))
    gap = planning_gap(report)
    if gap is not None:
        kind = METRICS[report.primary_metric].kind
        _display(_md(_v("power_gap", language, sd_c=gap["sd_control"], sd_t=gap["sd_treatment"],
                        planned=mde_text(gap["planned"], True, kind, language),
                        observed=mde_text(gap["observed"], True, kind, language),
                        units=_v(f"units.{report.unit or 'member'}", language),
                        factor=gap["factor"])))


def show_details(report: ExperimentReport, community, language: str = "zh") -> None:
    """Section 7: the experiments of the dataset, every caveat, what the loader changed."""
    exps = experiments_display(community.experiments, language)
    if exps.empty:
        _display(_md(skipped_markdown(_v("no_table", language), language)))
    else:
        _display(_table(exps, _v("experiments", language)))
    _display(_md(caveats_markdown(report, community.notes, language=language)))
