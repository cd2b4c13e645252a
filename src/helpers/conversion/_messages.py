"""The sentences of the conversion and value report (report 04) in English and Chinese.

Fields are filled by :mod:`helpers.conversion.report` with numbers already formatted through
``_format`` and data strings already escaped (``escape_md``). Terms from GLOSSARY.zh.md.
"""

from __future__ import annotations

from .._i18n import Catalog

MESSAGES = {
    "en": {
        "funnel": "**Conversion in the first {window} days** ({eligible} members whose first "
                  "{window} days are over; the {recent} who joined more recently are not "
                  "counted yet): {active} were active, {purchased} made a first purchase and "
                  "{repurchased} bought again on a later day.",
        "funnel_none": "**Conversion**: no member joined {window} days before the end of the "
                       "data, so no conversion window is complete yet.",
        "no_purchases": "**Purchases**: the data hold no purchase, so conversion to a first "
                        "purchase, repeat purchase and value cannot be measured.",
        "seg_best": "**By {segment}** (first purchase within {window} days): highest {best} "
                    "{best_value}; its interval overlaps no other {segment}'s.",
        "seg_worst": "Lowest beyond chance: {worst} {worst_value}.",
        "seg_overlap": "**By {segment}** (first purchase within {window} days): from "
                       "{low_value} ({low}) to {high_value} ({high}); the intervals overlap, so "
                       "no {segment} is best or worst beyond chance.",
        "seg_extremes_apart": "**By {segment}** (first purchase within {window} days): from "
                              "{low_value} ({low}) to {high_value} ({high}); these two differ "
                              "beyond chance, but each overlaps another {segment}, so none is "
                              "called best or worst.",
        "seg_top_overlaps": "**By {segment}** (first purchase within {window} days): from "
                            "{low_value} ({low}) to {high_value} ({high}); the highest overlaps "
                            "another {segment}, so none is called best.",
        "ttp": "**Time to first purchase**: by day {day} after joining, {value} of members had "
               "made a first purchase (leaving first counts as a competing outcome). {members} so "
               "the two should agree within their intervals; {agree}.",
        "ttp_same": "It uses the same {n} members as the funnel, each followed only until churn "
                    "can still be detected ({inactivity} days before the end of the data),",
        "ttp_more": "It uses {n} members, {extra} more than the funnel's {funnel_n} (recent "
                    "joiners are followed for as long as their churn can be detected),",
        "ttp_fewer": "It uses {n} members (the funnel {funnel_n}), each followed only until "
                     "churn can still be detected ({inactivity} days before the end of the data),",
        "ttp_agree": "they do ({funnel_value} in the funnel)",
        "ttp_disagree": "here they do not ({funnel_value} in the funnel): look at the most "
                        "recent joiners",
        "repeat": "**Repeat purchase** (model of {buyers} buyers): in the next {horizon} days a "
                  "buyer is expected to make {purchases} repeat purchases{spend}; {alive} of "
                  "buyers are more likely than not still buying.",
        "repeat_spend": " and to spend {spend} (in the data's currency)",
        "holdout": "**Model check**: fitted to the data up to {date}, it predicted {predicted} "
                   "repeat purchases in the following {days} days; {actual} happened.",
        "renewal": "**Renewal ({plan})**: {rate} of the {n} memberships up for their first "
                   "renewal were renewed{later}.",
        "renewal_later": "; projected, {still} of members are still subscribed after {k} "
                         "periods",
        "review": "**Activity review (活动复盘)**, {n} recent community-wide activities: "
                  "participation from {low} to {high} of the members present; the latest "
                  "with {days} days of data after it, {name}: {rate} ({first} taking part for the first time).",
        "review_group": "**Activity review (活动复盘)**, {n} recent activities: participation "
                        "from {low} to {high} of the members present; the latest with {days} days "
                        "of data after it, {name}: {rate} "
                        "({first} taking part for the first time).",
        "review_one": "**Activity review (活动复盘)**: {name} reached {rate} of the members "
                      "present at its start ({first} taking part for the first time).",
        "review_nobody": "**Activity review (活动复盘)**: nobody present at the start of {name} "
                         "took part in it ({rate}).",
        "review_assoc_more": "Compared with the {days} days before, participants' active "
                             "days in the {days} days after changed by {diff} days more than "
                             "non-participants' (averaged over the activities reviewed). This "
                             "is an association, not the activity's effect: members choose to "
                             "take part. An A/B test measures the effect.",
        "review_assoc_fewer": "Compared with the {days} days before, participants' active "
                              "days in the {days} days after changed by {diff} days less than "
                              "non-participants' (averaged over the activities reviewed). This "
                              "is an association, not the activity's effect: members choose to "
                              "take part. An A/B test measures the effect.",
        "scorecard": "**Channel scorecard**: {items}.",
        "scorecard_metric": "{metric}: {parts}",
        "scorecard_item_best": "best {best}",
        "scorecard_item_worst": "lowest {worst}",
        "scorecard_none": "**Channel scorecard**: no channel is best or worst beyond chance on "
                          "any figure (the intervals overlap).",
        "skipped": "**Skipped**: {items}.",
        "caveats": "**Caveats**: {items}.",
        "caveat_descriptive": "the activity review compares people who chose to take part with "
                              "people who did not; it describes, it does not measure effects",
        "caveat_review_short": "no activity ended {days} days before the end of the data, so "
                               "participants and non-participants are not compared after it",
        "caveat_model": "expected purchases and spend come from a model fitted to all buyers "
                        "together; per channel they are averages of its predictions",
        "where": "**Where to look below**: {items}.",
        "where_funnel": "the funnel by {segment} (which step loses most members)",
        "where_ttp": "the time-to-first-purchase curves",
        "where_model": "the model check (predicted against actual purchases)",
        "where_renewal": "the renewal curve per plan",
        "where_scorecard": "the channel scorecard",
        "metric_d30_retention": "30-day retention",
        "metric_rmst_90d": "average days retained in the first 90 days",
        "metric_conversion_30d": "30-day conversion", "metric_repurchase_rate": "repurchase",
        "metric_value_90d": "spend per member in the first 90 days",
        "segment_channel": "channel",
        # reasons a section did not run
        "skip_funnel_too_recent": "the funnel, because no member joined {window} days before "
                                  "the end of the data",
        "skip_no_purchases": "first purchase, repeat purchase and value, because the data hold "
                             "no purchase",
        "skip_ttp_too_recent": "time to first purchase, because nobody can be followed long "
                               "enough yet (churn is visible only after {inactivity} silent days)",
        "skip_repeat_few": "repeat purchase and value, because fewer than 5 members bought on "
                           "more than one day",
        "skip_no_amounts": "spend per purchase, because purchases carry no amount",
        "skip_no_memberships": "renewal, because the data have no memberships table",
        "skip_no_activities": "the activity review, because the data have no activities table",
        "skip_scorecard_too_recent": "the channel scorecard, because no figure can be measured "
                                     "for two channels yet (the history is too short)",
        "skip_one_channel": "the channel comparison, because every member came through the same "
                            "channel",
        "skip_no_segment": "the comparison by segment, because no segment column was chosen",
        "skip_renewal_unfitted": "the renewal curve, because no plan has two renewals observed "
                                 "with someone not renewing",
        "skip_cannot": "{section}, because the data do not allow it",
        "section_funnel": "the funnel", "section_ttp": "time to first purchase",
        "section_repeat": "repeat purchase", "section_renewal": "renewal",
        "section_review": "the activity review", "section_scorecard": "the channel scorecard",
        "note_skipped": "This section is skipped: {reason}.",
        "note_scorecard": "The scorecard's repurchase rate is the share of buyers (a first "
                          "purchase in their first 90 days) who bought again within those 90 "
                          "days; the funnel's repurchase step counts a repurchase within the "
                          "first {window} days.",
        "note_review_experiment": "Activities of an A/B test ({names}): only members of "
                                  "the treatment arm could take part, so only they count as present "
                                  "here; the tests' effects are in report 03 (experiments).",
        "note_review": "Descriptive: participants chose to take part, so differences are "
                       "associations, not effects of the activity (an A/B test measures those).",
        "note_ttp": "The curves use {n} members (the funnel {funnel_n}): each member is "
                    "followed only until churn can still be detected ({inactivity} days before "
                    "the end of the data); the funnel counts members whose {window} days are "
                    "over.",
        "none": "none",
    },
    "zh": {
        "funnel": "**入群后 {window} 天内的转化**（已满 {window} 天观察期的 {eligible} 名成员；"
                  "近期入群的 {recent} 名成员暂不计入分母）：{active} 活跃，{purchased} 完成首次购买，"
                  "{repurchased} 在之后的某天再次购买（复购）。",
        "funnel_none": "**转化**：没有成员在数据结束前 {window} 天入群，转化窗口尚未有人走完。",
        "no_purchases": "**购买**：数据中没有购买记录，无法计算首购转化率、复购和成员价值。",
        "seg_best": "**按{segment}**（{window} 天内首次购买）：最高为 {best} {best_value}，"
                    "其置信区间与其他{segment}均不重叠。",
        "seg_worst": "明显最低：{worst} {worst_value}。",
        "seg_overlap": "**按{segment}**（{window} 天内首次购买）：从 {low_value}（{low}）到 "
                       "{high_value}（{high}）；置信区间相互重叠，没有哪个{segment}明显最好或最差。",
        "seg_extremes_apart": "**按{segment}**（{window} 天内首次购买）：从 {low_value}（{low}）到 "
                              "{high_value}（{high}）；这两者的差异超出偶然，但各自与另一个{segment}的"
                              "置信区间重叠，因此不称哪个{segment}最好或最差。",
        "seg_top_overlaps": "**按{segment}**（{window} 天内首次购买）：从 {low_value}（{low}）到 "
                            "{high_value}（{high}）；最高者与另一个{segment}的置信区间重叠，因此不称最好。",
        "ttp": "**首购时间**：入群后第 {day} 天，累计首购率为 {value}（先流失视为竞争风险）。"
               "{members}两者应在置信区间内一致；{agree}。",
        "ttp_same": "它与漏斗使用同样的 {n} 名成员，每名成员只观察到其流失仍可判断的时点"
                    "（数据结束前 {inactivity} 天），",
        "ttp_more": "它使用 {n} 名成员，比漏斗的 {funnel_n} 名多 {extra} 名"
                    "（近期入群者在其流失可被看出的时间内也计入），",
        "ttp_fewer": "它使用 {n} 名成员（漏斗为 {funnel_n} 名），每名成员只观察到其流失仍可判断的时点"
                     "（数据结束前 {inactivity} 天），",
        "ttp_agree": "本数据中一致（漏斗为 {funnel_value}）",
        "ttp_disagree": "本数据中不一致（漏斗为 {funnel_value}），请查看最近入群的成员",
        "repeat": "**复购**（基于 {buyers} 名购买过的成员的模型）：未来 {horizon} 天内，"
                  "每名购买者预期复购 {purchases} 次{spend}；{alive} 的购买者仍活跃的概率超过一半。",
        "repeat_spend": "，预期消费额 {spend}（数据中的货币单位）",
        "holdout": "**模型检验**：用截至 {date} 的数据拟合，预测其后 {days} 天复购 {predicted} 次，"
                   "实际为 {actual} 次。",
        "renewal": "**续费（{plan}）**：首次到期待续费的 {n} 份会员中，{rate} 已续费{later}。",
        "renewal_later": "；按模型预测，{k} 个周期后仍有 {still} 的会员在订阅",
        "review": "**活动复盘**（最近 {n} 场全社群活动）：参与率为在场成员的 {low} 至 {high}；"
                  "其后已有 {days} 天数据的最近一场 {name}：{rate}（其中 {first} 为首次参与活动）。",
        "review_group": "**活动复盘**（最近 {n} 场活动）：参与率为在场成员的 {low} 至 {high}；"
                        "其后已有 {days} 天数据的最近一场 {name}：{rate}（其中 {first} 为首次参与活动）。",
        "review_one": "**活动复盘**：{name} 的参与率为开始时在场成员的 {rate}（其中 {first} 为首次参与活动）。",
        "review_nobody": "**活动复盘**：{name} 开始时在场的成员中无人参与（{rate}）。",
        "review_assoc_more": "与活动前 {days} 天相比，参与者活动后 {days} 天的活跃天数变化比"
                             "未参与者多 {diff} 天（按复盘的活动平均）。这只是相关，不是活动的效果："
                             "是否参与由成员自己选择。活动的效果需要 A/B 实验来衡量。",
        "review_assoc_fewer": "与活动前 {days} 天相比，参与者活动后 {days} 天的活跃天数变化比"
                              "未参与者少 {diff} 天（按复盘的活动平均）。这只是相关，不是活动的效果："
                              "是否参与由成员自己选择。活动的效果需要 A/B 实验来衡量。",
        "scorecard": "**渠道对比表**：{items}。",
        "scorecard_metric": "{metric}：{parts}",
        "scorecard_item_best": "{best}最好",
        "scorecard_item_worst": "{worst}最低",
        "scorecard_none": "**渠道对比表**：各项指标的置信区间都相互重叠，没有哪个渠道明显最好或最差。",
        "skipped": "**已跳过**：{items}。",
        "caveats": "**注意事项**：{items}。",
        "caveat_descriptive": "活动复盘比较的是自己选择参与和未参与的成员，只描述差异，不衡量效果",
        "caveat_review_short": "没有活动在数据结束前 {days} 天已结束，因此没有比较参与者与未参与者活动后的表现",
        "caveat_model": "预期购买次数与消费额来自对全部购买者拟合的一个模型，各渠道数值是该模型预测的平均",
        "where": "**下文看点**：{items}。",
        "where_funnel": "按{segment}的转化漏斗（哪一步流失最多）",
        "where_ttp": "首购时间曲线",
        "where_model": "模型检验（预测与实际购买次数）",
        "where_renewal": "各套餐的续费曲线",
        "where_scorecard": "渠道对比表",
        "metric_d30_retention": "30 日留存率", "metric_rmst_90d": "前 90 天平均留存天数",
        "metric_conversion_30d": "30 天转化率", "metric_repurchase_rate": "复购率",
        "metric_value_90d": "入群 90 天人均消费",
        "segment_channel": "渠道",
        "skip_funnel_too_recent": "转化漏斗：没有成员在数据结束前 {window} 天入群",
        "skip_no_purchases": "首购、复购与成员价值：数据中没有购买记录",
        "skip_ttp_too_recent": "首购时间：成员尚未被观察足够久（沉默 {inactivity} 天后才能看出流失）",
        "skip_repeat_few": "复购与成员价值：在不止一天购买过的成员少于 5 名",
        "skip_no_amounts": "客单价：购买记录没有金额",
        "skip_no_memberships": "续费：数据中没有会员（memberships）表",
        "skip_no_activities": "活动复盘：数据中没有活动（activities）表",
        "skip_scorecard_too_recent": "渠道对比表：数据时间太短，尚无可在两个渠道间比较的指标",
        "skip_one_channel": "渠道对比：所有成员来自同一个渠道",
        "skip_no_segment": "按细分的比较：未选择细分字段",
        "skip_renewal_unfitted": "续费曲线：没有哪个套餐观察到两次续费且有人未续费",
        "skip_cannot": "{section}：数据不足以计算",
        "section_funnel": "转化漏斗", "section_ttp": "首购时间", "section_repeat": "复购",
        "section_renewal": "续费", "section_review": "活动复盘", "section_scorecard": "渠道对比表",
        "note_skipped": "本节已跳过——{reason}。",
        "note_scorecard": "渠道对比表中的复购率是入群 90 天内购买过的成员中、在这 90 天内再次购买的比例；"
                          "漏斗中的复购一步只统计入群 {window} 天内的复购。",
        "note_review_experiment": "{names}属于 A/B 实验：只有实验组成员能够参与，因此这里只把"
                                  "实验组成员计为在场；实验的效果见报告 03（实验）。",
        "note_review": "仅为描述：参与由成员自己选择，差异只是相关，不是活动的效果（效果需要 A/B 实验衡量）。",
        "note_ttp": "曲线使用 {n} 名成员（漏斗为 {funnel_n} 名）：每名成员只观察到其流失仍可判断的时点"
                    "（数据结束前 {inactivity} 天）；漏斗统计已满 {window} 天观察期的成员。",
        "none": "无",
    },
}

CATALOG = Catalog(MESSAGES, name="conversion report")

#: table header words for the report's columns (beyond plots.HEADER_WORDS)
HEADERS = Catalog({
    "en": {
        "cumulative_incidence": "Made a first purchase", "day": "Day after joining",
        "customers": "Buyers", "purchases_ci_low": "95% CI low", "purchases_ci_high":
        "95% CI high", "spend_ci_low": "95% CI low (spend)", "spend_ci_high":
        "95% CI high (spend)", "frequency_cal": "Repeat purchases before the check",
        "predicted": "Predicted (per buyer)", "actual": "Actual (per buyer)",
        "participants": "Took part", "first_time": "First-timers", "first_time_share":
        "First-time share", "d30_retention": "30-day retention", "d30_ci_low": "low",
        "d30_ci_high": "high", "rmst_90d": "Average days retained in the first 90 days", "rmst_ci_low": "low",
        "rmst_ci_high": "high", "conversion_30d": "30-day conversion", "conversion_ci_low": "low",
        "conversion_ci_high": "high", "repurchase_rate": "Repurchase", "repurchase_ci_low": "low",
        "repurchase_ci_high": "high", "value_90d": "Spend per member in the first 90 days", "value_ci_low": "low",
        "value_ci_high": "high", "observed_rate": "Renewed (observed)", "projected_rate":
        "Renewed (model)", "projected_still_subscribed": "Still subscribed (model)",
        "group": "Who", "before": "Before", "after": "After", "change": "Change",
        "purchased": "First purchase", "churned_first": "Left first", "censored":
        "Still followed", "activities": "Activities", "present": "Present at the start",
        "participation": "Participation rate",
    },
    "zh": {
        "cumulative_incidence": "累计首购率", "day": "入群后第几天", "customers": "购买者",
        "purchases_ci_low": "95% 置信区间下限", "purchases_ci_high": "95% 置信区间上限",
        "spend_ci_low": "消费额区间下限", "spend_ci_high": "消费额区间上限",
        "frequency_cal": "检验前的复购次数", "predicted": "预测（每名购买者）",
        "actual": "实际（每名购买者）", "participants": "参与人数", "first_time": "首次参与",
        "first_time_share": "首次参与占比", "d30_retention": "30 日留存率", "d30_ci_low": "下限",
        "d30_ci_high": "上限", "rmst_90d": "前 90 天平均留存天数", "rmst_ci_low": "下限",
        "rmst_ci_high": "上限", "conversion_30d": "30 天转化率", "conversion_ci_low": "下限",
        "conversion_ci_high": "上限", "repurchase_rate": "复购率", "repurchase_ci_low": "下限",
        "repurchase_ci_high": "上限", "value_90d": "入群 90 天人均消费", "value_ci_low": "下限",
        "value_ci_high": "上限", "observed_rate": "续费率（实际）", "projected_rate": "续费率（模型）",
        "projected_still_subscribed": "仍在订阅（模型）", "group": "人群", "before": "活动前",
        "after": "活动后", "change": "变化", "purchased": "首次购买", "churned_first": "先流失",
        "censored": "仍在观察", "activities": "活动数", "present": "开始时在场成员",
        "participation": "参与率",
    },
}, name="conversion headers")

#: words for values shown in tables (steps, groups, metrics)
VALUES = Catalog({
    "en": {"joined": "joined", "active": "active", "purchased": "first purchase",
           "repurchased": "repurchase", "participants": "participants",
           "non_participants": "non-participants", "difference": "difference",
           "active_days": "active days", "purchases": "purchases", "lottery": "lottery",
           "qa": "Q&A", "challenge": "challenge", "live": "live session",
           "sharing_session": "sharing session", "check_in": "check-in",
           "offline_meetup": "offline meetup"},
    "zh": {"joined": "入群", "active": "活跃", "purchased": "首次购买", "repurchased": "复购",
           "participants": "参与者", "non_participants": "未参与者", "difference": "差值",
           "active_days": "活跃天数", "purchases": "购买次数", "lottery": "抽奖", "qa": "有奖问答",
           "challenge": "打卡挑战", "live": "直播", "sharing_session": "分享会", "check_in": "签到",
           "offline_meetup": "线下聚会"},
}, name="conversion values")
