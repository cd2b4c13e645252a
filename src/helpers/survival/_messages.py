"""The sentences of the churn report (report 02) in English and Chinese (GLOSSARY.zh.md terms).

Fields are filled by :mod:`helpers.survival.render` with numbers already formatted through
``_format`` and data strings already escaped (``escape_md``). ``NOTES`` are the reasons a
section was skipped or changed, kept as data (``_i18n.Note``) in the ChurnReport.
"""

from __future__ import annotations

from .._i18n import Catalog

SUMMARY = Catalog({
    "en": {
        "title": "## Executive summary",
        "counted": "**Who is counted** ({end}): {joined} members joined; {left} left the group "
                   "explicitly, so {current} are current members at the end (the member count "
                   "of the cohort report). Of these current members {silent} have had no "
                   "activity for {inactivity} days or more (churned by our definition) and "
                   "{recent} were active in the last {inactivity} days.",
        "counted_noleft": "**Who is counted** ({end}): {joined} members joined and none left "
                          "explicitly (the member count of the cohort report). {silent} have "
                          "had no activity for {inactivity} days or more (churned by our "
                          "definition) and {recent} were active in the last {inactivity} days.",
        "followed_detectable": "**Churn analysis**: {n} members, {churned} churned ({share}): "
                               "{exits} left explicitly, {inactive} went silent for "
                               "{inactivity} days or more; {censored} are still followed "
                               "(censored: active recently, so we do not know yet when they "
                               "will leave). Only members who joined at least {inactivity} "
                               "days before the end are followed, each until {until}: a "
                               "silence becomes a churn only {inactivity} days after the last "
                               "activity, so later churns cannot be seen yet.",
        "followed_end": "**Churn analysis**: {n} members, {churned} churned ({share}): {exits} "
                        "left explicitly, {inactive} went silent for {inactivity} days or "
                        "more; {censored} are still followed (censored: active recently, so we "
                        "do not know yet when they will leave). Everyone is followed to the "
                        "end of observation, which overstates survival (see the censoring "
                        "section).",
        "median": "**Median time to churn**: {median}.",
        "median_not_reached": "**Median time to churn**: not reached (more than half of the "
                              "members are still here at the end of follow-up).",
        "still_here": "**Still here** {parts}.",
        "still_here_part": "after {day} days {value}",
        "still_here_short": "after {day} days: follow-up too short to tell",
        "segments": "**By {segment}** (RMST, restricted mean survival time: the average number "
                    "of days a member stays within the first {horizon} days): reference "
                    "{reference} {rmst} d; compared with it, best {best} {best_diff} d "
                    "({best_ci}), worst {worst} {worst_diff} d ({worst_ci}).",
        "segments_one": "**By {segment}** (RMST, restricted mean survival time: the average "
                        "number of days a member stays within the first {horizon} days): "
                        "reference {reference} {rmst} d; {best} {best_diff} d ({best_ci}).",
        "segments_overlap": "The two intervals overlap, so neither is clearly better or worse "
                            "than the other.",
        "logrank": "Log-rank test (do the segments' survival curves differ at all?): χ² = "
                   "{statistic} on {df} df, p {p}; {k} of {m} pairs differ after {method} "
                   "correction.",
        "cox": "**Cox model** (hazard ratio, HR: the risk of leaving at any moment relative "
               "to {baseline}, other covariates held equal; HR 0.5 = half the risk, 2 = "
               "double; observational, so associations, not effects): {items}.",
        "cox_none": "**Cox model** (hazard ratio, HR: the risk of leaving at any moment "
                    "relative to {baseline}, other covariates held equal): no covariate has a "
                    "hazard ratio clearly different from 1.",
        "cox_up": "highest risk {term} HR {hr}",
        "cox_down": "lowest risk {term} HR {hr}",
        "baseline_levels": "the baseline {levels}",
        "baseline_level": "{covariate} {level}",
        "baseline_plain": "members without the attribute",
        "participation": "**Taking part in an activity** {assoc} (HR {hr}), counted from the "
                         "day members take part{truth}. This is not randomised: members who "
                         "choose to take part may differ in other ways. The naive 'ever took "
                         "part' comparison says {naive}: it is biased towards a benefit "
                         "(immortal time).",
        "assoc_lower": "is associated with a {pct} lower churn hazard",
        "assoc_higher": "is associated with a {pct} higher churn hazard",
        "assoc_none": "shows no clear association with the churn hazard",
        "truth_part": "; planted truth {truth}",
        "truth_all": "**Planted truth** (synthetic data): all {n} planted hazard ratios lie "
                     "inside their 95% intervals.",
        "truth_miss": "**Planted truth** (synthetic data): {k} of {n} planted hazard ratios "
                      "lie outside their 95% intervals ({terms}); with 95% intervals about one "
                      "in twenty misses by chance.",
        "risk": "**Risk list**: {n} members active in the last {within} days scored; median "
                "risk of churning in the next {horizon} days {median}, {high} at {threshold} "
                "or more. Most common reason for a high risk: {driver} ({driver_n} of the "
                "{top} highest).",
        "risk_nodriver": "**Risk list**: {n} members active in the last {within} days scored; "
                         "median risk of churning in the next {horizon} days {median}, {high} "
                         "at {threshold} or more.",
        "risk_none": "**Risk list**: no member was active in the last {within} days, so there "
                     "is nobody to score.",
        "censoring": "**Censoring rule**: survival after {day} days is {detectable} when members "
                     "are followed only while churn can be seen; following everyone to the end "
                     "of observation would say {end}, because recent leavers would count as "
                     "still here.",
        "caveats": "**Caveats**: {items}.",
        "penalised": "the Cox model did not converge on its own and was refitted with a small "
                     "penalty, so its hazard ratios are shrunk towards 1",
        "ph": "proportional hazards doubtful for {terms} ({remedy})",
        "ph_stratified": "a model stratified on {covariates} is shown in that section",
        "ph_average": "read those hazard ratios as averages over time",
        "skipped": "**Skipped or changed**: {items}.",
        "tenure": "being newly joined",
    },
    "zh": {
        "title": "## 结论摘要",
        "counted": "**统计口径**（{end}）：共 {joined} 名成员入群；{left} 名主动退群，因此期末当前成员 "
                   "{current} 名（与同期群留存报告的成员数一致）。当前成员中，{silent} 名已连续 "
                   "{inactivity} 天或更久没有活跃（按本报告定义已流失），{recent} 名在最近 "
                   "{inactivity} 天内活跃过。",
        "counted_noleft": "**统计口径**（{end}）：共 {joined} 名成员入群，没有人主动退群（与同期群留存"
                          "报告的成员数一致）。其中 {silent} 名已连续 {inactivity} 天或更久没有活跃"
                          "（按本报告定义已流失），{recent} 名在最近 {inactivity} 天内活跃过。",
        "followed_detectable": "**流失分析**：{n} 名成员，{churned} 名已流失（{share}）：{exits} 名"
                               "主动退群，{inactive} 名连续 {inactivity} 天或更久没有活跃；{censored} "
                               "名仍在观察中（删失：最近仍活跃，尚不知何时流失）。只跟踪入群满 "
                               "{inactivity} 天的成员，且每人只观察到 {until}：沉默要满 {inactivity} "
                               "天才算流失，之后发生的流失现在还看不到。",
        "followed_end": "**流失分析**：{n} 名成员，{churned} 名已流失（{share}）：{exits} 名主动"
                        "退群，{inactive} 名连续 {inactivity} 天或更久没有活跃；{censored} 名仍在"
                        "观察中（删失：最近仍活跃，尚不知何时流失）。每位成员都观察到期末，这会高估"
                        "留存（见删失规则一节）。",
        "median": "**流失中位时间**：{median}。",
        "median_not_reached": "**流失中位时间**：未达到（观察期内过半成员仍在）。",
        "still_here": "**仍留在社群的比例**：{parts}。",
        "still_here_part": "{day} 天后 {value}",
        "still_here_short": "{day} 天后：观察时间不够，无法判断",
        "segments": "**按{segment}**（RMST，限制性平均生存时间：前 {horizon} 天内平均留下的天数）："
                    "基准 {reference} {rmst} 天；与基准相比，最好 {best} {best_diff} 天（{best_ci}），"
                    "最差 {worst} {worst_diff} 天（{worst_ci}）。",
        "segments_one": "**按{segment}**（RMST，限制性平均生存时间：前 {horizon} 天内平均留下的天数）："
                        "基准 {reference} {rmst} 天；{best} {best_diff} 天（{best_ci}）。",
        "segments_overlap": "两者的置信区间重叠，不能说谁明显更好或更差。",
        "logrank": "对数秩检验（各组留存曲线是否不同）：χ² = {statistic}，自由度 {df}，p {p}；"
                   "{method} 校正后 {m} 对中有 {k} 对存在差异。",
        "cox": "**Cox 模型**（风险比 HR：相对{baseline}、其他条件相同时任一时刻的流失风险倍数；"
               "HR 0.5 = 流失风险减半，2 = 翻倍；观察性数据，只表示关联，不是因果效应）：{items}。",
        "cox_none": "**Cox 模型**（风险比 HR：相对{baseline}、其他条件相同时任一时刻的流失风险"
                    "倍数）：没有哪个因素的风险比明显不同于 1。",
        "cox_up": "风险最高：{term}，HR {hr}",
        "cox_down": "风险最低：{term}，HR {hr}",
        "baseline_levels": "基准（{levels}）",
        "baseline_level": "{covariate}：{level}",
        "baseline_plain": "不具备该特征的成员",
        "participation": "**参与活动**{assoc}（HR {hr}），从成员参与当天起计算{truth}。这不是随机"
                         "实验：主动参与的成员可能在其他方面本来就不同。简单比较“是否参与过”得到 "
                         "{naive}：这会因永恒时间偏倚而夸大好处。",
        "assoc_lower": "与流失风险降低 {pct} 相关",
        "assoc_higher": "与流失风险升高 {pct} 相关",
        "assoc_none": "与流失风险没有明显关联",
        "truth_part": "；植入的真实值为 {truth}",
        "truth_all": "**植入的真实值**（模拟数据）：{n} 个植入的风险比全部落在各自的 95% 置信区间内。",
        "truth_miss": "**植入的真实值**（模拟数据）：{n} 个植入的风险比中有 {k} 个落在 95% 置信"
                      "区间之外（{terms}）；95% 置信区间本身约每 20 个就会有 1 个偶然落空。",
        "risk": "**流失风险名单**：为最近 {within} 天内活跃的 {n} 名成员打分；未来 {horizon} 天"
                "流失风险的中位数为 {median}，{high} 名不低于 {threshold}。风险最高的 {top} 人中最常见的原因："
                "{driver}（{driver_n} 人）。",
        "risk_nodriver": "**流失风险名单**：为最近 {within} 天内活跃的 {n} 名成员打分；未来 "
                         "{horizon} 天流失风险的中位数为 {median}，{high} 名不低于 {threshold}。",
        "risk_none": "**流失风险名单**：最近 {within} 天内没有活跃成员，没有可打分的对象。",
        "censoring": "**删失规则**：只在流失可以被看到的时间内跟踪成员时，{day} 天后仍留在社群的"
                     "比例为 {detectable}；如果把每个人都观察到期末，会得到 {end}，因为最近刚流失的"
                     "成员会被当成仍在。",
        "caveats": "**注意事项**：{items}。",
        "penalised": "Cox 模型未能直接收敛，已加入轻微惩罚重新拟合，风险比会略向 1 收缩",
        "ph": "{terms} 的比例风险假设存疑（{remedy}）",
        "ph_stratified": "该节给出了按{covariates}分层的模型",
        "ph_average": "这些风险比应理解为整个时期的平均值",
        "skipped": "**已跳过或调整**：{items}。",
        "tenure": "入群时间短",
    },
}, name="survival.summary")

#: why a section was skipped or changed; kept in ChurnReport.notes as ``_i18n.Note``
NOTES = Catalog({
    "en": {
        "no_history": "the data cover less than {inactivity} days after the first join, so no "
                      "churn can be seen yet: the survival sections are skipped",
        "no_segments": "no segment column was chosen, so segments are not compared",
        "one_segment": "there is only one {segment} ({level}), so segments are not compared",
        "cluster_missing": "cluster column '{column}' not found in the data: standard errors "
                           "treat members as independent",
        "cluster_blank": "the group of some members is blank, so standard errors treat members "
                         "as independent",
        "cluster_one": "all members are in one group, so standard errors treat members as "
                       "independent",
        "dropped_covariates": "{covariates} left out of the Cox model: the same for every member",
        "no_covariates": "no covariate varies between members, so the Cox model and its checks "
                         "are skipped",
        "no_landmark": "too few members or churns after day {day} for the early-activity model",
        "no_participation": "too few members took part in an activity to estimate its "
                            "association with churn",
        "no_risk_model": "nothing varies between members to predict churn from, so there is no "
                         "risk list",
        "no_scored": "no member was active in the last {within} days, so the risk list is empty",
        "no_truth": "there is no planted truth to compare with: this is not a synthetic dataset",
        "no_stratified": "no factor breaks the proportional-hazards assumption, so no "
                         "stratified model is needed",
    },
    "zh": {
        "no_history": "数据覆盖的时间不足首次入群后 {inactivity} 天，还看不到任何流失：生存分析各节"
                      "已跳过",
        "no_segments": "未选择细分字段，不做分组比较",
        "one_segment": "只有一个{segment}（{level}），不做分组比较",
        "cluster_missing": "数据中没有分组字段“{column}”：标准误按成员相互独立计算",
        "cluster_blank": "部分成员的群为空，标准误按成员相互独立计算",
        "cluster_one": "所有成员都在同一个群，标准误按成员相互独立计算",
        "dropped_covariates": "{covariates} 对所有成员都相同，未纳入 Cox 模型",
        "no_covariates": "没有在成员之间有差异的因素，Cox 模型及其检验已跳过",
        "no_landmark": "第 {day} 天之后的成员或流失太少，无法估计早期活跃度模型",
        "no_participation": "参与活动的成员太少，无法估计参与活动与流失的关联",
        "no_risk_model": "成员之间没有可用于预测流失的差异，因此没有流失风险名单",
        "no_scored": "最近 {within} 天内没有活跃成员，流失风险名单为空",
        "no_truth": "没有可对照的植入真实值：这不是模拟数据",
        "no_stratified": "没有因素违反比例风险假设，无需分层模型",
    },
}, name="survival.notes")

#: words for covariates, model terms, table headers, plot text
WORDS = Catalog({
    "en": {
        "channel": "Channel", "group_id": "Group", "platform": "Platform", "city": "City",
        "referred": "Joined by referral", "participated": "Took part in an activity (from then on)",
        "early_events_7d": "Active events in the first 7 days (per event)",
        "took_part_ever": "Ever took part", "took_part_by_landmark": "Took part by the landmark",
        "tenure": "Tenure", "all": "All members", "segment": "Segment",
        "level_sep": ": ",
        "participated_low": "Has not taken part in an activity",
        "referred_low": "Not joined by referral",
        "early_events_7d_low": "Few active events in the first 7 days",
        "early_events_7d_high": "Many active events in the first 7 days",
        "below_average": "{term} (below average)", "above_average": "{term} (above average)",
        "model_naive": "Naive: ever took part (fixed)",
        "model_landmark": "Landmark at day {day}",
        "model_tv": "Time-varying: from the day of taking part",
        "adjusted": " (adjusted)",
        "km_title": "Share of members still in the community, by {segment}",
        "km_title_all": "Share of members still in the community",
        "km_x": "days since joining", "km_y": "share still in the community",
        "at_risk": "members still followed",
        "cox_title": "Cox model: hazard ratios vs {baseline} (95% CI)",
        "cox_title_plain": "Cox model: hazard ratios (95% CI)",
        "part_title": "Taking part in an activity: hazard ratio by {n} methods, each without "
                      "and with adjustment",
        "part_title_one": "Taking part in an activity: hazard ratio by {n} methods",
        "forest_x": "hazard ratio (log scale)", "estimate": "estimate (95% CI)",
        "truth": "planted truth",
        "yes": "yes", "no": "no",
        "reason_exit": "Left explicitly", "reason_inactivity": "Silent {inactivity}+ days",
        "reason_censored": "Still followed (censored)",
        "rule_end": "Everyone followed to the end",
        "rule_detectable": "Followed while churn can be seen",
    },
    "zh": {
        "channel": "渠道", "group_id": "群", "platform": "平台", "city": "城市",
        "referred": "经邀请入群", "participated": "参与过活动（自参与起）",
        "early_events_7d": "入群 7 天内的活跃事件数（每多 1 次）",
        "took_part_ever": "是否参与过", "took_part_by_landmark": "截至标志日是否参与",
        "tenure": "入群时长", "all": "全部成员", "segment": "细分",
        "level_sep": "：",
        "participated_low": "尚未参与活动",
        "referred_low": "非邀请入群",
        "early_events_7d_low": "入群 7 天内活跃事件少",
        "early_events_7d_high": "入群 7 天内活跃事件多",
        "below_average": "{term}（低于平均）", "above_average": "{term}（高于平均）",
        "model_naive": "简单比较：是否参与过（固定）",
        "model_landmark": "第 {day} 天标志点分析",
        "model_tv": "时变协变量：自参与当天起",
        "adjusted": "（已调整）",
        "km_title": "仍留在社群的比例（按{segment}）",
        "km_title_all": "仍留在社群的比例",
        "km_x": "入群后天数", "km_y": "仍留在社群的比例",
        "at_risk": "仍在观察的成员数",
        "cox_title": "Cox 模型：相对{baseline}的风险比（95% 置信区间）",
        "cox_title_plain": "Cox 模型：风险比（95% 置信区间）",
        "part_title": "参与活动：{n} 种方法估计的风险比，各自未调整与已调整",
        "part_title_one": "参与活动：{n} 种方法估计的风险比",
        "forest_x": "风险比（对数刻度）", "estimate": "估计值（95% 置信区间）",
        "truth": "植入的真实值",
        "yes": "是", "no": "否",
        "reason_exit": "主动退群", "reason_inactivity": "沉默 {inactivity} 天及以上",
        "reason_censored": "仍在观察（删失）",
        "rule_end": "每个人都观察到期末", "rule_detectable": "只在流失可见时跟踪",
    },
}, name="survival.words")

#: column headers of the reader tables
HEADERS = Catalog({
    "en": {
        "status": "Status", "members": "Members", "share": "Share", "segment": "Segment",
        "median": "Median time to churn", "after": "After {day} days", "rule": "Censoring rule",
        "reference": "Reference", "rmst": "Days stayed (RMST)", "rmst_ref": "Reference days",
        "difference": "Difference (days)", "ci": "95% CI", "p": "p-value",
        "p_adj": "p-value after {method}", "differs": "Differs", "pair": "Pair",
        "term": "Factor", "hr": "Hazard ratio", "test": "Test", "statistic": "χ²", "df": "df",
        "ph_p": "p-value (proportional hazards)", "violated": "Doubtful", "model": "Method",
        "truth": "Planted truth", "covered": "Inside the interval", "key": "Member (pseudonym)",
        "risk": "Churn risk, next {horizon} days", "tenure": "Days since joining",
        "since": "Days since last active", "drivers": "Main reasons", "lower_bound": "Lower bound",
        "time": "Day", "at_risk": "Still followed", "churned": "Churned",
    },
    "zh": {
        "status": "状态", "members": "成员数", "share": "占比", "segment": "细分",
        "median": "流失中位时间", "after": "{day} 天后仍在", "rule": "删失规则",
        "reference": "基准", "rmst": "平均留下天数（RMST）", "rmst_ref": "基准天数",
        "difference": "差值（天）", "ci": "95% 置信区间", "p": "p 值",
        "p_adj": "{method} 校正后 p 值", "differs": "存在差异", "pair": "比较对",
        "term": "因素", "hr": "风险比", "test": "检验", "statistic": "χ²", "df": "自由度",
        "ph_p": "p 值（比例风险）", "violated": "存疑", "model": "方法",
        "truth": "植入的真实值", "covered": "在区间内", "key": "成员（匿名编号）",
        "risk": "未来 {horizon} 天流失风险", "tenure": "入群天数",
        "since": "距上次活跃天数", "drivers": "主要原因", "lower_bound": "下限估计",
        "time": "天数", "at_risk": "仍在观察", "churned": "已流失",
    },
}, name="survival.headers")

CATALOGS = (SUMMARY, NOTES, WORDS, HEADERS)


def word(column, language: str = "en", escape=None, prose: bool = False) -> str:
    """The reviewer's word for a column or model term (``WORDS``), else the name as written.

    A name we have no word for comes from the data (an extra member column), so it goes through
    ``escape`` when given. ``prose=True``: for use inside an English sentence ("channel", not
    the table header "Channel").
    """
    key = str(column)
    if key in WORDS.keys(language):
        text = WORDS.t(key, language)
        return text[:1].lower() + text[1:] if prose and language == "en" else text
    return escape(key) if escape is not None else key
