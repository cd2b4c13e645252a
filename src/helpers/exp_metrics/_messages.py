"""The experiment reports' messages (one catalog, zh and en) and the formats of their numbers.

Internal to :mod:`helpers.exp_metrics`: notes (:class:`~helpers._i18n.Note`) made by the
analyses and the renderer (:mod:`.report`) take their sentences from :data:`CATALOG`; numbers
go through :mod:`helpers._format`. Terms follow GLOSSARY.zh.md (对照组/实验组, 置信区间,
校正后显著, 推广/不推广/尚无定论/数据异常，结论不可信 …).
"""

from __future__ import annotations

import math
from functools import partial

from .. import _format as fmt
from .._i18n import Catalog, Note

EN: dict[str, str] = {
    # metric labels
    "metric.participation": "took part in the experiment's activity",
    "metric.active_days": "active days in the window",
    "metric.messages": "messages in the window",
    "metric.messages_per_active_day": "messages per active day",
    "metric.retained": "active on or after day {days} from the start",
    "metric.converted": "made a purchase in the window",
    "metric.spend": "purchase amount in the window",
    "metric.exited": "left the community explicitly in the window",
    # decisions
    "decision.ship": "✔ **Ship**",
    "decision.do not ship": "✘ **Do not ship**",
    "decision.inconclusive": "? **Inconclusive**",
    "decision.do not trust": "⚠ **Do not trust**",
    "decision.not analysed": "⚠ **Not analysed**",
    "decision.aa_passed": "✔ **A/A check passed: no difference, as expected**",
    "decision.aa_failed": "⚠ **A/A check failed: the set-up is suspect**",
    "word.ship": "ship", "word.do not ship": "do not ship", "word.inconclusive": "inconclusive",
    "word.do not trust": "do not trust", "word.not analysed": "not analysed",
    "word.aa_passed": "A/A check passed", "word.aa_failed": "A/A check failed",
    # reasons
    "reason.srm": "sample-ratio mismatch (SRM p {p}): the arms are not the planned split, so "
                  "the comparison is biased",
    "reason.guardrail": "guardrail '{metric}' is significantly worse: {effect}, p {p}",
    "reason.no_primary": "the primary metric could not be computed",
    "reason.ship": "primary metric '{metric}' improved by {effect}, significant after "
                   "{correction} correction (adjusted p {p})",
    "reason.worse": "primary metric '{metric}' got worse: {effect}, adjusted p {p}",
    "reason.untestable": "primary metric '{metric}' could not be tested ({why})",
    "reason.inconclusive": "primary metric '{metric}': {effect} is not significant after "
                           "{correction} correction; with this sample the experiment could "
                           "detect about {mde} with 80% power{level}",
    "reason.aa_passed": "no metric differs significantly between the two identical arms ({n} tested, "
                        "corrected together); with this sample the experiment could detect "
                        "about {mde} in '{metric}' with 80% power{level}",
    "reason.aa_failed": "'{metric}' differs between two arms that were treated alike ({effect}, "
                        "adjusted p {p}): with a sound set-up this happens in 1 A/A test of "
                        "20 at most; check the assignment and the logging before trusting any "
                        "experiment run the same way",
    "reason.no_experiments": "this dataset has no experiments: there is nothing to evaluate "
                             "here (add an experiments table and an assignments table to "
                             "analyse one)",
    "reason.unknown_experiment": "no experiment '{eid}' in this dataset; valid ids: {ids}",
    "reason.no_control": "the control arm '{arm}' has no units",
    "reason.one_arm": "only one arm ({arms}): nothing to compare",
    "reason.no_metric": "no metric could be computed",
    "reason.error": "the experiment could not be analysed: {why}",
    "level.corrected": " at the corrected level (α/{m})",
    "correction.holm": "Holm", "correction.bh": "Benjamini–Hochberg", "correction.none": "no",
    # notes (caveats as data)
    "note.srm": "sample-ratio mismatch (p {p} < {alpha}): the assignment is broken; do not "
                "trust the results",
    "note.srm_impossible": "the sample-ratio check was not possible: {why}",
    "note.empty_arms": "arm(s) {arms} have zero units",
    "note.participation_na": "{metric}: not available (the experiment names no activity)",
    "note.retained_na": "{metric}: not available (the data end before day {days} after the "
                        "start)",
    "note.metric_na": "{metric}: not available (no data)",
    "note.metric": "{metric}: {why}",
    "note.absolute_instead": "{why}; the absolute difference is reported instead",
    "note.negative_icc": "the intra-class correlation (ICC) came out below 0 by chance for "
                         "{metrics}; it is taken as 0 (design effect 1)",
    "note.horizon_cut": "horizon cut from {asked:g} to {used:g} whole days: a churn is only "
                        "seen {inactivity:g} days after it happens, and the data end {follow:g} "
                        "days after the start",
    "note.no_follow_up": "no horizon is left: the data end {follow:g} days after the start, "
                         "fewer than the {inactivity:g} silent days needed to see a churn, so "
                         "no survival outcome can be measured",
    "note.uninformative": "the data end {follow:g} days after the start, less than twice "
                          "the {inactivity:g} silent days needed to see a churn: too little "
                          "churn is visible for a survival outcome (rule: at least "
                          "{need:.0f} days of follow-up)",
    "note.gone_at_start": "measured from the start among members active at the start: "
                          "{excluded} had already gone quiet ({inactivity:g} days without "
                          "activity) or left before the start and are not counted",
    "note.group_interval_wider": "group-randomised: the interval uses the bootstrap over "
                                 "groups (SE {se_groups:.2f} days), wider than the "
                                 "member-level one (SE {se:.2f}): members of one group churn "
                                 "alike",
    "note.group_interval_not_wider": "group-randomised: the interval uses the bootstrap over "
                                     "groups (SE {se_groups:.2f} days); it is no wider than "
                                     "the member-level one (SE {se:.2f}), so churn shows no "
                                     "clustering by group here, but the group interval is "
                                     "the one that matches the design",
    "note.segments_exploratory": "effects by segment are exploratory: with many segments one "
                                 "looks like a winner by chance; only a segment chosen before "
                                 "the experiment, significant after the correction, supports "
                                 "a claim",
    "note.segment_unknown": "'{segment}' is not a member attribute of this dataset: no table "
                            "for it",
    "note.loader": "{text}",
    "arm_excluded": "{arm} {n:,} of {total:,}",
    "arm_share": "{arm} {share:.1%}",
    "note.churned_at_start": "members who were active in the {inactivity:g} days before the "
                             "start but never again after it count as churned on day 0, so the "
                             "curves start below 100%: {shares}",
    "not_yet_joined": "not yet joined",
}

ZH: dict[str, str] = {
    "metric.participation": "参与了实验活动",
    "metric.active_days": "实验期内活跃天数",
    "metric.messages": "实验期内发言数",
    "metric.messages_per_active_day": "每个活跃日的发言数",
    "metric.retained": "开始后第 {days} 天及以后仍活跃",
    "metric.converted": "实验期内有购买",
    "metric.spend": "实验期内消费金额",
    "metric.exited": "实验期内主动退群",
    "decision.ship": "✔ **推广**",
    "decision.do not ship": "✘ **不推广**",
    "decision.inconclusive": "? **尚无定论**",
    "decision.do not trust": "⚠ **数据异常，结论不可信**",
    "decision.not analysed": "⚠ **未分析**",
    "decision.aa_passed": "✔ **A/A 检验通过：两组没有差异，符合预期**",
    "decision.aa_failed": "⚠ **A/A 检验未通过：实验设置可疑**",
    "word.ship": "推广", "word.do not ship": "不推广", "word.inconclusive": "尚无定论",
    "word.do not trust": "数据异常，结论不可信", "word.not analysed": "未分析",
    "word.aa_passed": "A/A 检验通过", "word.aa_failed": "A/A 检验未通过",
    "reason.srm": "样本比例不匹配（SRM p {p}）：各组人数与计划不符，比较有偏",
    "reason.guardrail": "护栏指标“{metric}”显著变差：{effect}，p {p}",
    "reason.no_primary": "无法计算主要指标",
    "reason.ship": "主要指标“{metric}”提升 {effect}，{correction}显著（校正后 p {p}）",
    "reason.worse": "主要指标“{metric}”变差：{effect}，校正后 p {p}",
    "reason.untestable": "主要指标“{metric}”无法检验（{why}）",
    "reason.inconclusive": "主要指标“{metric}”：{effect}，{correction}不显著；按这个样本量，"
                           "实验能以 80% 的检验效能发现约 {mde} 的变化{level}",
    "reason.aa_passed": "两个相同的组之间没有任何指标有显著差异（共检验 {n} 个指标，一起校正）；"
                        "按这个样本量，实验能以 80% 的检验效能发现“{metric}”约 {mde} 的变化{level}",
    "reason.aa_failed": "两组待遇相同，“{metric}”却有差异（{effect}，校正后 p {p}）：设置正确时，"
                        "20 次 A/A 实验中最多出现 1 次；请先检查分组和埋点，再相信用同样方式运行的实验",
    "reason.no_experiments": "这个数据集中没有实验，这里没有可评估的内容（要分析实验，需要提供实验表和分组表）",
    "reason.unknown_experiment": "这个数据集中没有实验“{eid}”；现有实验：{ids}",
    "reason.no_control": "对照组“{arm}”没有任何单位",
    "reason.one_arm": "只有一个组（{arms}），无法比较",
    "reason.no_metric": "没有可计算的指标",
    "reason.error": "无法分析该实验：{why}",
    "level.corrected": "（按校正后的显著性水平 α/{m}）",
    "correction.holm": "经 Holm 校正后", "correction.bh": "经 BH 校正后",
    "correction.none": "未做校正时",
    "note.srm": "样本比例不匹配（p {p} < {alpha}）：分组有问题，结果不可信",
    "note.srm_impossible": "无法做样本比例检验：{why}",
    "note.empty_arms": "这些组没有任何单位：{arms}",
    "note.participation_na": "{metric}：无法计算（实验没有对应的活动）",
    "note.retained_na": "{metric}：无法计算（数据在开始后第 {days} 天之前就结束了）",
    "note.metric_na": "{metric}：无法计算（没有数据）",
    "note.metric": "{metric}：{why}",
    "note.absolute_instead": "{why}，因此改为报告绝对差",
    "note.negative_icc": "{metrics} 的组内相关系数（ICC）因随机波动小于 0，按 0 计（设计效应为 1）",
    "note.horizon_cut": "观察期从 {asked:g} 天缩短为 {used:g} 个整天：流失要在发生 {inactivity:g} 天后才能看到，"
                        "而数据在开始后 {follow:g} 天就结束了",
    "note.no_follow_up": "没有可用的观察期：数据在开始后 {follow:g} 天就结束了，不足判定流失所需的 "
                         "{inactivity:g} 天无活跃，无法衡量留存结果",
    "note.uninformative": "数据在开始后 {follow:g} 天就结束了，不到判定流失所需 {inactivity:g} 天的两倍："
                          "能看到的流失太少，不做留存分析（规则：至少需要 {need:.0f} 天的跟踪期）",
    "note.gone_at_start": "从实验开始计时，只统计开始时仍活跃的成员：{excluded}在开始前已沉默"
                          "（{inactivity:g} 天无活跃）或已退群，不计入",
    "note.group_interval_wider": "按社群随机：置信区间来自按群重抽样（bootstrap over groups，标准误 "
                                 "{se_groups:.2f} 天），比按成员计算的（标准误 {se:.2f}）更宽：同一个群的成员流失相似",
    "note.group_interval_not_wider": "按社群随机：置信区间来自按群重抽样（bootstrap over groups，标准误 "
                                     "{se_groups:.2f} 天），并不比按成员计算的（标准误 {se:.2f}）更宽，"
                                     "说明这里的流失没有按群聚集；但与实验设计相符的是按群的区间",
    "note.segments_exploratory": "分群效果仅供探索：分群一多，总有一个碰巧像赢家；只有实验前就选定、"
                                 "校正后仍显著的分群才能支持结论",
    "note.segment_unknown": "“{segment}”不是这个数据集的成员属性，没有对应的表",
    "note.loader": "{text}",
    "arm_excluded": "{arm} {total:,} 人中有 {n:,} 人",
    "arm_share": "{arm} {share:.1%}",
    "note.churned_at_start": "开始前 {inactivity:g} 天内活跃过、但开始后再也没有活跃的成员，按第 0 天流失计，"
                             "所以曲线从低于 100% 开始：{shares}",
    "not_yet_joined": "当时尚未入群",
}

CATALOG = Catalog({"en": EN, "zh": ZH}, name="exp_metrics")


def note(key: str, /, **values) -> Note:
    """A caveat of the experiment reports (see :class:`helpers._i18n.Note`)."""
    return Note(CATALOG, key, **values)


def t(key: str, language: str, /, **values) -> str:
    return CATALOG.t(key, language, **values)


# ----------------------------------------------------------------------------- number formats
def metric_label(name: str, language: str, retention_days: int = 14) -> str:
    """The words for a metric (``retained`` names its day)."""
    key = f"metric.{name}"
    if key not in CATALOG.keys("en"):
        return fmt.escape_md(name)
    return t(key, language, days=retention_days)


def label_of(name: str, retention_days: int = 14):
    """A Note value: the metric's words in the language rendered."""
    return partial(metric_label, name, retention_days=retention_days)


def pp_text(v, language: str = "en") -> str:
    """A difference of two shares: '+2.1 percentage points' / '+2.1 个百分点'."""
    if fmt.is_missing(v):
        return fmt.na(language)
    unit = "percentage points" if language == "en" else "个百分点"
    return f"{100 * float(v):+.1f} {unit}"


def signed_number(v, language: str = "en", digits: int = 2) -> str:
    if fmt.is_missing(v):
        return fmt.na(language)
    return f"{float(v):+,.{digits}f}"


def lift_fmt(relative: bool, kind: str):
    """The formatter of one lift: % for relative lifts, points for shares, numbers otherwise."""
    if relative:
        return partial(fmt.pct, signed=True)
    return pp_text if kind == "proportion" else signed_number


def with_unit(est, lo, hi, unit: str, language: str = "en", level: float = 0.95,
              scale: float = 1.0, digits: int = 1, label: bool = True) -> str:
    """'+2.1 percentage points (95% CI +0.4–+3.8)': the unit written once, after the estimate
    (``label=False``: '+2.1 percentage points (+0.4 to +3.8)', for a cell whose column header
    names the interval)."""
    def num(v, language="en"):
        return fmt.na(language) if fmt.is_missing(v) else f"{scale * float(v):+.{digits}f}"

    text = fmt.interval(est, lo, hi, num, language=language, level=level, label=label)
    head = num(est, language)
    return text.replace(head, f"{head} {unit}", 1) if not fmt.is_missing(est) else text


def effect_text(est, lo, hi, relative: bool, kind: str, language: str = "en",
                level: float = 0.95, label: bool = True) -> str:
    """'+11.0% (95% CI +4.8%–+17.3%)', '+2.1 percentage points (95% CI +0.4–+3.8)' — one
    interval style for the whole report (``label=False`` in table cells: the header names the
    interval once)."""
    if not relative and kind == "proportion":
        unit = "percentage points" if language == "en" else "个百分点"
        return with_unit(est, lo, hi, unit, language, level, scale=100.0, label=label)
    return fmt.interval(est, lo, hi, lift_fmt(relative, kind), language=language, level=level,
                        label=label)


def effect_of(row, level: float = 0.95):
    """A Note value: the effect of a results row with its interval, in the language rendered."""
    rel, kind = bool(row["relative"]), str(row.get("kind", "mean"))
    return partial(effect_text, float(row["estimate"]), float(row["ci_low"]),
                   float(row["ci_high"]), rel, kind, level=level)


def mde_text(value, relative: bool, kind: str, language: str = "en") -> str:
    """A minimum detectable effect: '±5.0%', '±2.1 percentage points', '±0.12'."""
    if fmt.is_missing(value) or not math.isfinite(float(value)):
        return fmt.na(language)
    v = abs(float(value))
    if relative:
        return "±" + fmt.pct(v, language=language)
    if kind == "proportion":
        return "±" + pp_text(v, language).lstrip("+")
    return f"±{v:,.3g}"


def mean_text(v, kind: str, language: str = "en") -> str:
    """An arm mean: a share in % for proportions, two decimals otherwise."""
    return fmt.pct(v, language=language) if kind == "proportion" else fmt.number(v, 2, language)


def p_clause(p, language: str = "en") -> str:
    """'= 0.042' or '< 0.001': what follows "p" in a sentence (one p-value style)."""
    text = fmt.pvalue(p, language)
    return text if text[:1] in "<>" else f"= {text}"


def pvalue_of(p):
    """A Note value: a p-value clause in the one style of the reports ('= 0.042', '< 0.001')."""
    return partial(p_clause, p)


def words(key: str):
    """A Note value: a catalog entry in the language rendered."""
    return partial(t, key)


def arm_name(arm, control: str, language: str = "en", escape=None) -> str:
    """An arm as a reviewer reads it: in Chinese the control arm is 对照组 and an arm named
    "treatment" 实验组 (other names shown as written, after 实验组); English keeps the names.
    ``escape`` (e.g. ``escape_md``) is applied to the name from the data."""
    name = str(arm)
    shown = escape(name) if escape else name
    if language != "zh":
        return shown
    if name == str(control):
        return "对照组" if name == "control" else f"对照组（{shown}）"
    return "实验组" if name == "treatment" else f"实验组（{shown}）"
