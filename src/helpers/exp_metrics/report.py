"""The one renderer of an experiment report: reviewer text in Chinese or English.

:func:`summary_markdown` writes the executive summary of an :class:`ExperimentReport` (the
decision first); :func:`caveats_markdown`, :func:`survival_markdown` and
:func:`skipped_markdown` write the other sentences a report shows. Every sentence comes from
the catalog in :mod:`._messages`; every name from the data (experiment, arm, segment, channel)
goes through :func:`helpers._format.escape_md`; numbers through :mod:`helpers._format`.
"""

from __future__ import annotations

import math

from .. import _format as fmt
from .._i18n import Catalog
from ._messages import (CATALOG, effect_text, mde_text, mean_text, metric_label, p_clause,
                        arm_name, pp_text, t, with_unit)
from .analysis import ExperimentReport
from .arm_survival import ArmSurvival

__all__ = ["summary_markdown", "caveats_markdown", "survival_markdown", "skipped_markdown",
           "note_text", "decision_words", "metric_label", "REPORT_MESSAGES", "render_catalogs"]

REPORT_MESSAGES = Catalog({
    "en": {
        "title": "### {eid}{name}",
        "decision": "**Decision:** {icon} — {reason}.",
        "design": "- **Design:** randomised by {unit} ({units} {what}); window {start} to {end}; "
                  "{n:,} members analysed{group}.",
        "unit.member": "member", "unit.group": "group",
        "what.member": "members", "what.group": "groups",
        "unitname.member": "member", "unitname.group": "group",
        "design.group": "; inference at the group level (cluster-robust: members of one group "
                        "behave alike, so the group, not the member, is the unit of evidence)",
        "srm": "- **Sample ratio (SRM)** — checks that the arms got the planned share of {what}s; "
               "a mismatch means the assignment or logging is broken: {status} (χ² = {chi:.2f}, "
               "p {p}; alert below {alpha:g}).",
        "srm.ok": "OK", "srm.bad": "⚠ **mismatch** — the assignment is broken",
        "primary": "- **Primary metric — {label}** ({arm} vs {control}{adjusted}): {mc} → {mt}, "
                   "lift {effect}, adjusted p {p}{extra}.",
        "primary.adjusted": ", CUPED-adjusted means",
        "primary.cuped": ". CUPED (adjusting for the same metric in the {unit}s' pre-period, "
                         "before the start) cut the noise (variance) by {vr}",
        "primary.icc": ". Groups: on the raw metric the ICC (how alike members of one group "
                       "are: 0 = no more than strangers) is {icc_raw}, a design effect of "
                       "{deff_raw:.1f} (this design needs {deff_raw:.1f}× the members of a "
                       "member-randomised one for the same precision); after CUPED the ICC is "
                       "{icc_cuped} and the design effect {deff_cuped:.1f}. The power table "
                       "below uses the raw figures without CUPED and the adjusted ones with it",
        "primary.icc_raw": ". Groups: the ICC (how alike members of one group are: 0 = no more "
                           "than strangers) is {icc_raw}, a design effect of {deff_raw:.1f} "
                           "(this design needs {deff_raw:.1f}× the members of a "
                           "member-randomised one for the same precision); the power table "
                           "uses the same figures",
        "icc.truncated": "0 (the estimate {est:.3f} is below 0 by chance)",
        "guardrail": "- **Guardrail — {label}** (must not get worse): {mc} → {mt}, change "
                     "{effect}; {verdict}",
        "guardrail.worse": "**significantly worse**.", "guardrail.ok": "no significant harm.",
        "guardrail.untestable": "- **Guardrail — {label}** (must not get worse): {mc} → {mt}; "
                                "not testable ({why}).",
        "secondary": "- **Other significant metrics** (after correction): {items}.",
        "secondary.absolute": " (absolute)",
        "mde": "- **What this experiment could detect:** about {mde} in the primary metric "
               "with 80% power at {level}.",
        "level.alpha": "α = {alpha:g}, the level the decision uses",
        "level.m": "α/{m} = {a:.4f} ({m} metrics are corrected together, and a p-value below "
                   "α/{m} is significant after the correction whatever the other metrics show; "
                   "the stepwise correction can accept more when other metrics are significant "
                   "too)",
        "caveats": "- **Caveats:** {items}.",
        "look": "- **Where to look below:** the lift plot (section 1: green intervals are "
                "significant after correction and are drawn at the corrected level; an interval "
                "crossing 0 means not enough evidence either way), then the guardrail row and "
                "the distribution per arm (section 3) to see whether a shift of everyone or a "
                "few heavy users drives the lift.",
        "aa": "- **A/A test:** both arms were treated alike, so no difference is the expected "
              "result; a significant difference would mean the assignment or the logging is "
              "broken.",
        "skipped": "*Skipped: {reason}.*",
        "skipped.not_analysed": "this section needs an analysed experiment (the summary says why "
                                "there is none)",
        "none": "none",
        "survival.rule": "Rule: the survival outcome is shown when the data cover at least "
                         "{need:.0f} days after the start (twice the {inactivity:g} silent days "
                         "that define churn).",
        "survival.rmst": "Days stayed within the first {h:g} days after the start (RMST), "
                         "{arm} minus {control}: {diff} (p {p}){scope}.",
        "survival.scope.groups": ", interval from resampling whole groups",
        "survival.scope.members": "",
        "survival.empty": "no survival outcome could be measured",
        "days": "{v} days", "days_unit": "days",
    },
    "zh": {
        "title": "### {eid}{name}",
        "decision": "**结论：**{icon} —— {reason}。",
        "design": "- **设计：**{unit}（{units} {what}）；实验期 {start} 至 {end}；共分析 {n:,} 名成员{group}。",
        "unit.member": "按成员随机", "unit.group": "按社群随机",
        "what.member": "名成员", "what.group": "个群",
        "unitname.member": "成员", "unitname.group": "群",
        "design.group": "；在群的层面推断（同一个群的成员行为相似，证据的单位是群而不是成员）",
        "srm": "- **样本比例（SRM）**——检查各组是否拿到计划比例的{what}；不匹配说明分组或埋点有问题：{status}"
               "（χ² = {chi:.2f}，p {p}；低于 {alpha:g} 时报警）。",
        "srm.ok": "正常", "srm.bad": "⚠ **不匹配**——分组有问题",
        "primary": "- **主要指标——{label}**（{arm} 对比 {control}{adjusted}）：{mc} → {mt}，"
                   "提升 {effect}，校正后 p {p}{extra}。",
        "primary.adjusted": "，CUPED 调整后的均值",
        "primary.cuped": "。CUPED（用{unit}实验前同一指标做调整）把波动（方差）降低了 {vr}",
        "primary.icc": "。按群看：原始指标的组内相关系数（ICC，同一个群的成员有多相似，0 表示和陌生人一样）为 "
                       "{icc_raw}，设计效应 {deff_raw:.1f}（这种设计需要按成员随机时 {deff_raw:.1f} 倍的成员"
                       "才能达到同样精度）；CUPED 调整后 ICC 为 {icc_cuped}，设计效应 {deff_cuped:.1f}。"
                       "下面的样本量表不用 CUPED 时用原始数值，用 CUPED 时用调整后的数值",
        "primary.icc_raw": "。按群看：组内相关系数（ICC，同一个群的成员有多相似，0 表示和陌生人一样）为 "
                           "{icc_raw}，设计效应 {deff_raw:.1f}（这种设计需要按成员随机时 {deff_raw:.1f} "
                           "倍的成员才能达到同样精度）；样本量表用的是同一组数值",
        "icc.truncated": "0（估计值 {est:.3f} 因随机波动小于 0）",
        "guardrail": "- **护栏指标——{label}**（不能变差）：{mc} → {mt}，变化 {effect}；{verdict}",
        "guardrail.worse": "**显著变差**。", "guardrail.ok": "没有显著变差。",
        "guardrail.untestable": "- **护栏指标——{label}**（不能变差）：{mc} → {mt}；无法检验（{why}）。",
        "secondary": "- **其他显著指标**（校正后）：{items}。",
        "secondary.absolute": "（绝对差）",
        "mde": "- **这个实验能发现多大的变化：**按显著性水平 {level}，以 80% 的检验效能，"
               "主要指标约 {mde}。",
        "level.alpha": "α = {alpha:g}（结论所用的水平）",
        "level.m": "α/{m} = {a:.4f}（{m} 个指标一起校正，p 值低于 α/{m} 时无论其他指标如何，校正后都显著；"
                   "其他指标也显著时，逐步校正的门槛可以更宽）",
        "caveats": "- **注意事项：**{items}。",
        "look": "- **接下来看哪里：**先看提升图（第 1 节：绿色区间为校正后显著，区间按校正后的水平绘制；"
                "区间跨过 0 说明证据不足），再看护栏指标和各组的分布（第 3 节），判断提升来自所有人的整体变化"
                "还是少数重度用户。",
        "aa": "- **A/A 实验：**两组待遇相同，没有差异才是预期结果；若出现显著差异，说明分组或埋点有问题。",
        "skipped": "*已跳过：{reason}。*",
        "skipped.not_analysed": "本节需要一个已分析的实验（原因见结论摘要）",
        "none": "无",
        "survival.rule": "规则：数据覆盖开始后至少 {need:.0f} 天（判定流失所需 {inactivity:g} 天无活跃的两倍）"
                         "时才展示留存结果。",
        "survival.rmst": "开始后前 {h:g} 天内平均留下的天数（RMST），{arm} 减 {control}：{diff}（p {p}）{scope}。",
        "survival.scope.groups": "，区间来自按群重抽样",
        "survival.scope.members": "",
        "survival.empty": "无法衡量留存结果",
        "days": "{v} 天", "days_unit": "天",
    },
}, name="exp_metrics.report")


def render_catalogs() -> list[Catalog]:
    """Every catalog the experiment reports use (the tests check zh/en agree)."""
    from ..experiments import MESSAGES

    return [CATALOG, REPORT_MESSAGES, MESSAGES]


def _r(key: str, language: str, **values) -> str:
    return REPORT_MESSAGES.t(key, language, **values)


def note_text(n, language: str) -> str:
    """A note (or a plain string from elsewhere, e.g. the loader) in ``language``, escaped."""
    if hasattr(n, "text"):
        return n.text(language, escape=fmt.escape_md)
    return fmt.escape_md(str(n))


def decision_words(report: ExperimentReport, language: str = "en") -> str:
    """The decision as plain words (推广 / ship …), e.g. for an overview."""
    return t(f"word.{report.verdict}", language)


def _icc_text(value, estimate, language):
    if estimate < 0:
        return _r("icc.truncated", language, est=estimate)
    return fmt.number(value, 3, language)


def summary_markdown(report: ExperimentReport, language: str = "en") -> str:
    """Executive summary of an experiment as Markdown, written from the computed numbers.

    Covers: the decision and its reason (for an A/A test: whether the check passed), the
    design, the SRM status, the primary metric's lift with CI (and, for group experiments, the
    ICC and design effect on the raw metric and after CUPED, the figures the power table uses),
    the guardrails, significant secondary metrics, what the experiment could detect, and the
    caveats.

    Parameters
    ----------
    report : ExperimentReport
    language : {"zh", "en"}

    Returns
    -------
    str
        Markdown text (show it with ``IPython.display.Markdown``).

    Examples
    --------
    >>> "**结论：**" in summary_markdown(report, "zh")
    True
    >>> print(summary_markdown(report, "en").splitlines()[0])
    ### exp\\_checkin\\_member — 打卡挑战（成员随机）
    """
    fmt.check_language(language)
    r = report
    name = f" — {fmt.escape_md(r.name)}" if r.name and r.name != r.experiment_id else ""
    lines = [_r("title", language, eid=fmt.escape_md(r.experiment_id), name=name), "",
             _r("decision", language, icon=t(f"decision.{r.verdict}", language),
                reason=note_text(r.reason, language)), ""]
    what = _r(f"what.{r.unit or 'member'}", language)
    if r.starts_at is not None:
        sep = ", " if language == "en" else "，"
        colon = "：" if language == "zh" else ": "
        units = sep.join(f"{arm_name(a, r.control_arm, language, fmt.escape_md)}{colon}{k:,}"
                         for a, k in r.arm_units)
        lines.append(_r("design", language, unit=_r(f"unit.{r.unit}", language), units=units,
                        what=what, start=fmt.date(r.starts_at, language),
                        end=fmt.date(r.ends_at, language), n=len(r.data),
                        group=_r("design.group", language) if r.unit == "group" else ""))
    if r.is_aa and r.analysed:
        lines.append(_r("aa", language))
    if r.srm is not None:
        lines.append(_r("srm", language, what=_r(f"unitname.{r.unit or 'member'}", language),
                        chi=r.srm.statistic,
                        status=_r("srm.bad" if r.srm.alert else "srm.ok", language),
                        p=p_clause(r.srm.p_value, language), alpha=r.srm.alpha))
    res = r.results
    level = 1 - r.alpha
    if not res.empty:
        for _, row in res.loc[res["role"] == "primary"].iterrows():
            lines.append(_primary_line(r, row, level, language))
        for _, row in res.loc[res["role"] == "guardrail"].iterrows():
            kind = row.get("kind", "mean")
            worse = row["p_value"] < r.alpha and row["estimate"] * row["direction"] < 0
            if fmt.is_missing(row["estimate"]):
                why = "; ".join(note_text(n, language) for n in row.get("notes", ()) or ())
                lines.append(_r("guardrail.untestable", language, label=_label(r, row, language),
                                mc=mean_text(row["control_mean"], kind, language),
                                mt=mean_text(row["treatment_mean"], kind, language),
                                why=why or fmt.na(language)))
                continue
            lines.append(_r("guardrail", language, label=_label(r, row, language),
                            mc=mean_text(row["control_mean"], kind, language),
                            mt=mean_text(row["treatment_mean"], kind, language),
                            effect=_effect(row, level, language),
                            verdict=_r("guardrail.worse" if worse else "guardrail.ok", language)))
        sec = res.loc[(res["role"] == "secondary") & res["significant"]]
        if len(sec):
            sep = "; " if language == "en" else "；"
            items = sep.join(
                f"{_label(r, x, language)} {_lift(x, language)}"
                + ("" if x["relative"] or x.get("kind") == "proportion"
                   else _r("secondary.absolute", language)) for _, x in sec.iterrows())
            lines.append(_r("secondary", language, items=items))
        prim = res.loc[res["role"] == "primary"]
        if len(prim) and not math.isnan(prim.iloc[0]["mde"]):
            p = prim.iloc[0]
            m = int(round(r.alpha / p["mde_alpha"]))  # the level the decision uses: α/m
            lvl = _r("level.alpha", language, alpha=r.alpha) if m <= 1 else \
                _r("level.m", language, m=m, a=p["mde_alpha"])
            lines.append(_r("mde", language, level=lvl, mde=mde_text(
                p["mde"], bool(p["relative"]), str(p.get("kind", "mean")), language)))
    if r.warnings and r.status == "analysed":
        lines.append(caveats_markdown(r, language=language, bullet=True))
    if not res.empty:
        lines.append(_r("look", language))
    return "\n".join(lines)


def _label(report, row, language):
    return metric_label(row["metric"], language, report.retention_days)


def _effect(row, level, language):
    return effect_text(row["estimate"], row["ci_low"], row["ci_high"], bool(row["relative"]),
                       str(row.get("kind", "mean")), language, level)


def _lift(row, language):
    if row["relative"]:
        return fmt.pct(row["estimate"], language=language, signed=True)
    if row.get("kind") == "proportion":
        return pp_text(row["estimate"], language)
    return f"{row['estimate']:+,.3g}"


def _primary_line(r: ExperimentReport, row, level: float, language: str) -> str:
    kind = row.get("kind", "mean")
    cuped = "cuped" in str(row.get("method", "")).lower()
    extra = ""
    vr = row.get("variance_reduction", math.nan)
    if not fmt.is_missing(vr):
        extra = _r("primary.cuped", language, unit=_r(f"unitname.{r.unit or 'member'}", language),
                   vr=fmt.pct(vr, 0, language))
    d = r.design
    if r.unit == "group" and d is not None:
        if d.has_cuped:
            extra += _r("primary.icc", language,
                        icc_raw=_icc_text(d.icc, d.icc_estimate, language),
                        deff_raw=d.design_effect,
                        icc_cuped=_icc_text(d.icc_cuped, d.icc_cuped_estimate, language),
                        deff_cuped=d.design_effect_cuped)
        else:
            extra += _r("primary.icc_raw", language,
                        icc_raw=_icc_text(d.icc, d.icc_estimate, language),
                        deff_raw=d.design_effect)
    return _r("primary", language, label=_label(r, row, language),
              arm=arm_name(row["arm"], r.control_arm, language, fmt.escape_md),
              control=arm_name(r.control_arm, r.control_arm, language, fmt.escape_md),
              adjusted=_r("primary.adjusted", language) if cuped else "",
              mc=mean_text(row["control_mean"], kind, language),
              mt=mean_text(row["treatment_mean"], kind, language),
              effect=_effect(row, level, language),
              p=p_clause(row["p_adjusted"], language), extra=extra)


def caveats_markdown(report: ExperimentReport, notes=(), *, language: str = "en",
                     bullet: bool = False) -> str:
    """The caveats of a report (and extra ``notes``, e.g. the loader's) as Markdown: one line
    per caveat, or one bullet ``- Caveats: a · b`` with ``bullet=True``."""
    items = [note_text(n, language) for n in (*report.warnings, *notes)]
    items = list(dict.fromkeys(items))
    if bullet:
        return _r("caveats", language, items=" · ".join(items) or _r("none", language))
    return "\n".join(f"- {i}" for i in items) or f"- {_r('none', language)}"


def skipped_markdown(reason: str, language: str = "en") -> str:
    """'*Skipped: … .*' — the one sentence of a section that cannot run."""
    return _r("skipped", language, reason=reason)


def survival_markdown(surv: ArmSurvival, control: str, language: str = "en") -> str:
    """What the survival outcome shows (or why it is skipped), its rule and its caveats."""
    need = 2 * surv.inactivity_days
    lines = []
    if not surv.informative or surv.rmst.empty:
        why = [n for n in surv.warnings if getattr(n, "key", "") in (
            "note.uninformative", "note.no_follow_up")]
        reason = note_text(why[0], language) if why else (
            note_text(surv.warnings[0], language) if surv.warnings
            else _r("survival.empty", language))
        lines.append(skipped_markdown(reason.rstrip("。."), language))
        lines.append("")
        lines.append(_r("survival.rule", language, need=need, inactivity=surv.inactivity_days))
        return "\n".join(lines)
    for _, row in surv.rmst.iterrows():
        groups = "se_groups" in row and not fmt.is_missing(row.get("se_groups"))
        lo, hi, p = (row["ci_low_groups"], row["ci_high_groups"], row["p_value_groups"]) \
            if groups else (row["ci_low"], row["ci_high"], row["p_value"])
        diff = with_unit(row["difference"], lo, hi, _r("days_unit", language), language,
                         digits=2)
        lines.append(_r("survival.rmst", language, h=row["horizon_days"],
                        arm=arm_name(row["group"], control, language, fmt.escape_md),
                        control=arm_name(control, control, language, fmt.escape_md),
                        diff=diff, p=p_clause(p, language),
                        scope=_r("survival.scope.groups" if groups else "survival.scope.members",
                                 language)))
    lines.append("")
    lines.extend(f"- {note_text(n, language)}" for n in surv.warnings)
    lines.append("")
    lines.append(_r("survival.rule", language, need=need, inactivity=surv.inactivity_days))
    return "\n".join(lines)
