"""Reviewer tables of an experiment report: the numbers as words and units, headers in the
report's language (zh or en).

Each function returns a new DataFrame of text cells (the analyst keeps the numeric frames on the
report); names from the data stay as written and are escaped by the table formatter
(:func:`helpers.plots.show_table`). Formats come from :mod:`helpers._format`: relative lifts in
%, differences of shares in percentage points, p-values "< 0.001", chances "> 99.9%".
"""

from __future__ import annotations

import math

import pandas as pd

from .. import _format as fmt
from .. import config
from .._i18n import Catalog
from ._messages import (arm_name, effect_text, lift_fmt, mde_text, mean_text, metric_label, t,
                        with_unit)
from .analysis import ExperimentReport
from .arm_survival import ArmSurvival
from .metrics import METRICS

__all__ = ["results_table", "analyst_table", "srm_table", "power_display", "segment_display",
           "rmst_display", "experiments_display", "in_reading_order", "LAYER_ORDER",
           "TABLE_MESSAGES"]

TABLE_MESSAGES = Catalog({
    "en": {
        "metric": "Metric", "role": "Role", "arm": "Arm", "control_mean": "Control mean",
        "treatment_mean": "Treatment mean", "lift": "Lift (95% CI)",
        "lift_corrected": "Interval at the corrected level", "p_adjusted": "Adjusted p",
        "significant": "Significant after correction", "method": "How it was tested",
        "p_value": "p (uncorrected)", "variance_reduction": "Noise removed by CUPED",
        "mde": "Detectable with 80% power", "chance": "Chance to beat control",
        "icc": "ICC as tested (after CUPED where applied)", "design_effect": "Design effect",
        "naive_p": "p if members were independent (for comparison only)",
        "permutation_p": "p by permutation over groups",
        "perm.not_needed": "not needed ({n:,} groups ≥ {min:,})",
        "role.primary": "primary", "role.secondary": "secondary", "role.guardrail": "guardrail",
        "yes": "yes", "no": "no",
        "level": "{level} level",
        "observed": "Units observed", "expected": "Units expected",
        "share_observed": "Share observed", "share_expected": "Share planned",
        "relative_lift": "Relative lift to detect", "absolute_effect": "Absolute change",
        "units_per_arm": "{units} per arm (no CUPED)", "units_cuped": "{units} per arm (with CUPED)",
        "units_now": "{units} per arm in this experiment", "members_per_arm": "Members per arm (no CUPED)",
        "units.member": "Members", "units.group": "Groups",
        "reachable": "Reachable in this community",
        "not_reachable": "not reachable: both arms need {need:,}, the community has {have:,}",
        "segment": "Segment", "n_control": "Control members", "n_treatment": "Treatment members",
        "horizon": "Horizon (days)", "rmst": "Days stayed (treatment)",
        "rmst_reference": "Days stayed (control)", "difference": "Difference (95% CI)",
        "experiment": "Experiment", "name": "Name", "unit": "Randomised by",
        "starts_at": "Start", "ends_at": "End",
        "m.welch": "Welch t-test", "m.cuped": "Welch t-test after CUPED",
        "m.z-test": "z-test of two shares", "m.ratio": "ratio (delta method)",
        "m.ratio_groups": "group level, ratio of group totals (delta method)",
        "m.cluster": "group level (cluster-robust)", "m.cluster_cuped": "group level (cluster-robust) after CUPED",
        "unit.member": "member", "unit.group": "group", "days_unit": "days",
    },
    "zh": {
        "metric": "指标", "role": "角色", "arm": "组别", "control_mean": "对照组均值",
        "treatment_mean": "实验组均值", "lift": "提升（95% 置信区间）",
        "lift_corrected": "按校正后水平的区间", "p_adjusted": "校正后 p",
        "significant": "校正后显著", "method": "检验方法",
        "p_value": "p（未校正）", "variance_reduction": "CUPED 降低的波动",
        "mde": "80% 检验效能下可发现的变化", "chance": "优于对照组的概率",
        "icc": "检验所用的 ICC（用了 CUPED 时为调整后）", "design_effect": "设计效应",
        "naive_p": "若把成员当作相互独立时的 p（仅作对比）",
        "permutation_p": "按群置换检验的 p",
        "perm.not_needed": "无需计算（{n:,} 个群 ≥ {min:,}）",
        "role.primary": "主要指标", "role.secondary": "次要指标", "role.guardrail": "护栏指标",
        "yes": "是", "no": "否",
        "level": "{level} 水平",
        "observed": "实际单位数", "expected": "计划单位数",
        "share_observed": "实际占比", "share_expected": "计划占比",
        "relative_lift": "要发现的相对提升", "absolute_effect": "绝对变化",
        "units_per_arm": "每组所需{units}（不用 CUPED）", "units_cuped": "每组所需{units}（用 CUPED）",
        "units_now": "本次实验每组{units}", "members_per_arm": "每组所需成员数（不用 CUPED）",
        "units.member": "成员数", "units.group": "群数",
        "reachable": "本社群能否达到",
        "not_reachable": "无法达到：两组共需 {need:,}，社群只有 {have:,}",
        "segment": "分群", "n_control": "对照组成员", "n_treatment": "实验组成员",
        "horizon": "观察天数", "rmst": "平均留下天数（实验组）",
        "rmst_reference": "平均留下天数（对照组）", "difference": "差值（95% 置信区间）",
        "experiment": "实验", "name": "名称", "unit": "随机方式",
        "starts_at": "开始", "ends_at": "结束",
        "m.welch": "Welch t 检验", "m.cuped": "CUPED 调整后的 Welch t 检验",
        "m.z-test": "两比例 z 检验", "m.ratio": "比率（delta 方法）",
        "m.ratio_groups": "按群，群合计之比（delta 方法）",
        "m.cluster": "按群（聚类稳健）", "m.cluster_cuped": "按群（聚类稳健），CUPED 调整后",
        "unit.member": "按成员随机", "unit.group": "按社群随机", "days_unit": "天",
    },
}, name="exp_metrics.tables")


def _h(key: str, language: str, **values) -> str:
    return TABLE_MESSAGES.t(key, language, **values)


def _method(method: str, language: str, unit: str = "member") -> str:
    m = str(method).lower()
    if m.startswith("cluster"):
        key = "m.cluster_cuped" if "cuped" in m else "m.cluster"
    elif m.startswith("delta-method ratio"):
        key = "m.ratio_groups" if unit == "group" else "m.ratio"
    else:
        key = {"welch": "m.welch", "cuped": "m.cuped", "z-test": "m.z-test"}.get(m, "m.welch")
    return _h(key, language)


def _level(level: float, language: str) -> str:
    """A confidence level: '99%', '99.2%' (never '95.0%' for a level that rounds to 95%)."""
    whole = abs(round(level * 100, 1) - round(level * 100)) < 1e-9
    return fmt.pct(level, 0 if whole else 1, language=language)


def _interval(row, language, corrected=False):
    kind = str(row.get("kind", "mean"))
    if corrected:
        lo, hi = row["ci_low_corrected"], row["ci_high_corrected"]
        if fmt.is_missing(lo):
            return fmt.na(language)
        level = _h("level", language, level=_level(row["level_corrected"], language))
        to = "至" if language == "zh" else "to"
        if not bool(row["relative"]) and kind == "proportion":
            unit = "percentage points" if language == "en" else "个百分点"
            text = f"{100 * lo:+.1f} {to} {100 * hi:+.1f} {unit}"
        else:
            f = lift_fmt(bool(row["relative"]), kind)
            text = f"{f(lo, language=language)} {to} {f(hi, language=language)}"
        return f"{text}（{level}）" if language == "zh" else f"{text} ({level})"
    # the column header names the interval ("Lift (95% CI)"): cells give the numbers only
    return effect_text(row["estimate"], row["ci_low"], row["ci_high"], bool(row["relative"]),
                       kind, language, label=False)


def _share_removed(v, language):
    """CUPED's variance reduction in whole %, no "-0%" for a change below half a percent."""
    if fmt.is_missing(v):
        return fmt.na(language)
    return fmt.pct(0.0 if abs(float(v)) < 0.005 else float(v), 0, language)


def results_table(report: ExperimentReport, language: str = "en") -> pd.DataFrame:
    """The reader's table: metric, role, arm means, lift with its 95% interval and with the
    interval at the corrected level, adjusted p-value, significance in words."""
    res = report.results
    if res.empty:
        return pd.DataFrame()
    many = res["arm"].nunique() > 1
    rows = []
    for _, r in res.iterrows():
        kind = str(r.get("kind", "mean"))
        row = {_h("metric", language): metric_label(r["metric"], language, report.retention_days),
               _h("role", language): _h(f"role.{r['role']}", language)}
        if many:
            row[_h("arm", language)] = arm_name(r["arm"], report.control_arm, language)
        row.update({
            _h("control_mean", language): mean_text(r["control_mean"], kind, language),
            _h("treatment_mean", language): mean_text(r["treatment_mean"], kind, language),
            _h("lift", language): _interval(r, language),
            _h("lift_corrected", language): _interval(r, language, corrected=True),
            _h("p_adjusted", language): fmt.pvalue(r["p_adjusted"], language),
            _h("significant", language): _h("yes" if r["significant"] else "no", language),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def analyst_table(report: ExperimentReport, language: str = "en") -> pd.DataFrame:
    """How each metric was tested: method, raw p-value, CUPED's variance reduction, the MDE at
    the level the decision uses, chance to beat control and, for group experiments, the ICC
    and design effect as tested, the member-level p-value and the permutation p-value."""
    res = report.results
    if res.empty:
        return pd.DataFrame()
    rows = []
    for _, r in res.iterrows():
        kind = str(r.get("kind", "mean"))
        level = f"α = {fmt.number(r['mde_alpha'], 4, language)}"
        row = {_h("metric", language): metric_label(r["metric"], language, report.retention_days),
               _h("method", language): _method(r["method"], language, report.unit),
               _h("p_value", language): fmt.pvalue(r["p_value"], language),
               _h("variance_reduction", language): _share_removed(r.get("variance_reduction"),
                                                                 language),
               _h("mde", language): f"{mde_text(r['mde'], bool(r['relative']), kind, language)}"
                                    f" ({level})",
               _h("chance", language): fmt.probability(r["chance_to_beat_control"], language)}
        if report.unit == "group":
            perm = r.get("permutation_p", math.nan)
            n = r.get("n_groups", math.nan)
            row.update({
                _h("icc", language): fmt.number(r.get("icc"), 3, language) if not (
                    r.get("icc_estimate", 0) < 0) else f"0 ({fmt.number(r['icc_estimate'], 3)} < 0)",
                _h("design_effect", language): fmt.number(r.get("design_effect"), 2, language),
                _h("naive_p", language): fmt.pvalue(r.get("naive_p_value"), language),
                # a ratio metric is tested on group totals without permutations (no n_groups)
                _h("permutation_p", language): fmt.pvalue(perm, language)
                if not fmt.is_missing(perm) else fmt.na(language) if fmt.is_missing(n)
                else _h("perm.not_needed", language, n=int(n),
                        min=config.MIN_GROUPS_FOR_ASYMPTOTICS)})
        rows.append(row)
    return pd.DataFrame(rows)


def srm_table(report: ExperimentReport, language: str = "en") -> pd.DataFrame:
    """Observed and planned units per arm."""
    if report.srm is None:
        return pd.DataFrame()
    f = report.srm.to_frame()
    return pd.DataFrame({
        _h("arm", language): [arm_name(a, report.control_arm, language) for a in f["arm"]],
        _h("observed", language): [fmt.count(v, language) for v in f["observed"]],
        _h("expected", language): [fmt.number(v, 1, language) for v in f["expected"]],
        _h("share_observed", language): [fmt.pct(v, 1, language) for v in f["share_observed"]],
        _h("share_expected", language): [fmt.pct(v, 1, language) for v in f["share_expected"]],
    })


def power_display(power: pd.DataFrame, report: ExperimentReport,
                  language: str = "en") -> pd.DataFrame:
    """:func:`power_table` for reviewers: units per arm without and with CUPED, and whether the
    community has that many units ("not reachable" when both arms together need more)."""
    if power.empty:
        return pd.DataFrame()
    units = _h(f"units.{report.unit or 'member'}", language)
    arms = max(len([a for a, k in report.arm_units if k > 0]), 2)
    kind = METRIC_KIND.get(str(power["metric"].iloc[0]), "mean")

    def reach(n, ok, have):
        if ok:
            return _h("yes", language)
        return _h("not_reachable", language, need=int(n) * arms, have=int(have))

    out = pd.DataFrame({
        _h("relative_lift", language): [fmt.pct(v, 0 if abs(v * 100 - round(v * 100)) < 1e-9
                                                else 1, language) for v in power["relative_lift"]],
        _h("absolute_effect", language): [mean_text(v, kind, language).lstrip("+")
                                          for v in power["absolute_effect"]],
        _h("units_per_arm", language, units=units): [fmt.count(v, language)
                                                     for v in power["units_per_arm"]],
        _h("units_cuped", language, units=units): [fmt.count(v, language)
                                                   for v in power["units_per_arm_with_cuped"]],
        _h("units_now", language, units=units): [fmt.count(v, language)
                                                 for v in power["units_per_arm_now"]],
        _h("reachable", language): [reach(n, ok, h) for n, ok, h in zip(
            power["units_per_arm"], power["reachable"], power["units_in_community"])],
    })
    if report.unit == "group":
        out.insert(3, _h("members_per_arm", language),
                   [fmt.count(v, language) for v in power["members_per_arm"]])
    return out


#: member layers in their reading order (核心 → 活跃 → 潜在 → 沉睡), then "not yet joined"
LAYER_ORDER = ("核心", "活跃", "潜在", "沉睡", "not yet joined")

def in_reading_order(table: pd.DataFrame) -> pd.DataFrame:
    """Segment rows in reading order: member layers 核心 → 活跃 → 潜在 → 沉睡 (then "not yet
    joined"); other segments keep their order."""
    if table.empty or not set(table["segment"].astype(str)) & set(LAYER_ORDER):
        return table
    rank = {k: i for i, k in enumerate(LAYER_ORDER)}
    key = table["segment"].astype(str).map(lambda v: rank.get(v, len(rank)))
    return table.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k")


#: metric name → kind (for formatting absolute effects)
METRIC_KIND = {k: v.kind for k, v in METRICS.items()}


def segment_display(table: pd.DataFrame, report: ExperimentReport,
                    language: str = "en") -> pd.DataFrame:
    """A segment table for reviewers: members per arm, lift with both intervals, adjusted p."""
    if table is None or table.empty:
        return pd.DataFrame()
    kind = METRIC_KIND.get(report.primary_metric, "mean")
    many = table["arm"].nunique() > 1 if "arm" in table else False
    table = in_reading_order(table)
    rows = []
    for _, r in table.iterrows():
        r = r.copy()
        r["kind"] = kind
        seg = r["segment"]
        seg = t("not_yet_joined", language) if seg == "not yet joined" else str(seg)
        row = {_h("segment", language): seg}
        if many:
            row[_h("arm", language)] = arm_name(r["arm"], report.control_arm, language)
        row.update({
            _h("n_control", language): fmt.count(r["n_control"], language),
            _h("n_treatment", language): fmt.count(r["n_treatment"], language),
            _h("lift", language): _interval(r, language),
            _h("lift_corrected", language): _interval(r, language, corrected=True),
            _h("p_adjusted", language): fmt.pvalue(r["p_adjusted"], language),
            _h("significant", language): _h("yes" if r["significant"] else "no", language),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def rmst_display(surv: ArmSurvival, language: str = "en") -> pd.DataFrame:
    """RMST per arm and the difference with the interval the report uses (groups for group
    experiments)."""
    if surv.rmst.empty:
        return pd.DataFrame()
    rows = []
    for _, r in surv.rmst.iterrows():
        groups = "ci_low_groups" in r and not fmt.is_missing(r.get("ci_low_groups"))
        lo, hi = (r["ci_low_groups"], r["ci_high_groups"]) if groups else (r["ci_low"],
                                                                            r["ci_high"])
        p = r["p_value_groups"] if groups else r["p_value"]
        rows.append({_h("arm", language): arm_name(r["group"], r["reference"], language),
                     _h("horizon", language): fmt.number(r["horizon_days"], 0, language),
                     _h("rmst", language): fmt.number(r["rmst"], 1, language),
                     _h("rmst_reference", language): fmt.number(r["rmst_reference"], 1, language),
                     _h("difference", language): with_unit(  # the header names the CI
                         r["difference"], lo, hi, _h("days_unit", language), language, digits=2,
                         label=False),
                     _h("p_value", language): fmt.pvalue(p, language)})
    return pd.DataFrame(rows)


def experiments_display(experiments: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """The experiments of a dataset: id, name, how randomised, start and end dates."""
    if experiments is None or experiments.empty:
        return pd.DataFrame()
    e = experiments
    return pd.DataFrame({
        _h("experiment", language): e["experiment_id"].astype(str),
        _h("name", language): e["name"].astype(str) if "name" in e else "",
        _h("unit", language): [_h(f"unit.{u}", language) if u in ("member", "group") else str(u)
                               for u in e["unit"]],
        _h("starts_at", language): [fmt.date(v, language) for v in e["starts_at"]],
        _h("ends_at", language): [fmt.date(v, language) for v in e["ends_at"]],
    })
