"""The sentences of the cohort report (report 01) in English and Chinese (GLOSSARY.zh.md terms).

Fields are filled by :mod:`helpers.cohorts.report` with numbers already formatted through
``_format`` and data strings already escaped (``escape_md``).
"""

from __future__ import annotations

from .._i18n import Catalog

MESSAGES = {
    "en": {
        "empty": "_No members or events in the selected window._",
        "members_end": "**Members at the end** ({date}): {current} current members (joined "
                       "and not left the group); {left} more joined and later left. This is the "
                       "count every member figure below refers to.",
        "trend": "**New members** are {trend}: {first} per {unit} on average in the first "
                 "{half} complete {units} vs {last} in the last {half}.",
        "trend_growing": "growing", "trend_shrinking": "shrinking", "trend_flat": "flat",
        "members_end_noleft": "**Members at the end** ({date}): {current} current members "
                              "(joined and not left the group). This is the count every "
                              "member figure below refers to.",
        "trend_single": "**New members**: all {n} joined in {when}, so there is no trend.",
        "layers_noleft": "**Member layers** of the {current} current members ({date}): {mix}.",
        "trend_short": "**New members**: {n} joined (fewer than two complete {units} "
                       "observed, so there is no trend yet).",
        "n_day": "**N-day retention** ({mode}, all members): {parts}.",
        "n_day_part": "D{day} {value}",
        "n_day_none": "D{day} not measurable yet (no member joined {day} days before the end)",
        "mode_classic": "active on that day", "mode_rolling": "active on that day or later",
        "d7_vs_week1": "D7 counts members active on the 7th day after joining (one day); "
                       "week 1 of the cohort table counts members active on any day of the "
                       "calendar week after the join week ({week1} over complete cohorts), so "
                       "it is higher by design, not a contradiction.",
        "d30_vs_month1": "D30 counts members active on the 30th day after joining (one day); "
                         "month 1 of the cohort table counts members active on any day of the "
                         "calendar month after the join month ({month1} over complete "
                         "cohorts), so it is higher by design.",
        "seg_best": "**By {segment}** (D{day}, each {segment} with at least {min_n} members "
                    "old enough): best {best} {best_value}; its interval does not overlap any "
                    "other {segment}'s.",
        "seg_worst": "Lowest beyond chance: {worst} {worst_value}.",
        "seg_overlap": "**By {segment}** (D{day}, each {segment} with at least {min_n} "
                       "members old enough): from {low_value} ({low}) to {high_value} ({high}); the 95% "
                       "intervals overlap, so no {segment} is best or worst beyond chance.",
        "seg_spread": "**By {segment}** (D{day}, each {segment} with at least {min_n} members "
                      "old enough): from {low_value} ({low}) to {high_value} ({high}); these two "
                      "differ beyond chance (their 95% intervals do not overlap), but each "
                      "overlaps another {segment}'s, so no single {segment} is best or worst.",
        "seg_one": "**By {segment}** (D{day}): only one {segment} has at least {min_n} members "
                   "old enough, so there is nothing to compare.",
        "seg_none": "**By {segment}**: no {segment} has {min_n} members old enough for "
                    "D{day}; segments are not ranked.",
        "growth_last": "**Last complete {unit}** ({when}): {joined} joined, {left} left the "
                       "group, {active} were active in it{sticky}.",
        "sticky": "; stickiness (average daily active members / {adjective} active members) "
                  "{value}",
        "layers": "**Member layers** of the {current} current members ({date}): {mix}. The "
                  "{left} members who left the group are counted apart, in no layer.",
        "layers_nodate": "**Member layers** of {current} members: {mix}.",
        "layer_item": "{name} {share}",
        "fission": "**Referrals (裂变)**: {share} of the members joined through an "
                   "invitation{k_text}.",
        "k_text": "; K-factor in the last complete month ({when}): {k} new members per "
                  "existing member",
        "k_partial": " ({when} is still running and left out)",
        "caveats": "**Caveats**: {items}.",
        "caveat_running": "{the_last} ({when}) is still running: it is left out of the "
                          "trend and the growth figures, and drawn hatched in the charts",
        "caveat_n_day": "N-day rates count only members who joined long enough ago (n = those "
                        "members); a difference between segments whose 95% intervals overlap "
                        "may be chance",
        "caveat_n_day_all": "N-day rates count only members who joined long enough ago (n = "
                            "those members)",
        "caveat_single_cohort": "all members joined in one {unit}, so cohorts cannot be "
                                "compared with each other",
        "caveat_short": "the data cover only {days} days, so D30 and later periods cannot be "
                        "measured yet",
        "skipped": "**Skipped**: {items}.",
        "skip_fission": "referral figures (裂变), because the data do not record who invited "
                        "whom",
        "skip_segments": "the comparison by segment, because no segment column was chosen",
        "skip_one_segment": "the comparison by {segment}, because every member has the same "
                            "{segment}",
        "where": "**Where to look below**: the heatmap for cohorts whose row fades faster than "
                 "their neighbours (hatched cells are periods still running, not decay), the "
                 "curves by segment for bands that do not overlap, and the lifecycle bars for "
                 "dormant members outgrowing new plus resurrecting ones.",
        "section_fission_skipped": "This section is skipped: the data do not record who "
                                   "invited whom, so there are no referral figures.",
        "section_segments_skipped": "This section shows all members together: no segment "
                                    "column was chosen, or every member has the same value.",
        "section_layers_note": "{current} current members are in the layers; the {left} who "
                               "left the group are counted apart.",
        "section_transitions": "The matrix follows the {n} members who were current members "
                               "on both {start} and {end}; the {left} who left the group in "
                               "between are counted apart.",
        "section_transitions_noleft": "The matrix follows the {n} members who were current "
                                      "members on both {start} and {end}.",
        "section_transitions_none": "No member had joined before the previous window, so there "
                                    "are no layer transitions to show yet.",
        "section_partial_note": "{the_last} ({when}) is still running: its cells are "
                                "left blank in the table and hatched in the charts.",
        "the_last_D": "the last day", "the_last_W": "the last week", "the_last_M": "the last month",
        "The_last_D": "The last day", "The_last_W": "The last week", "The_last_M": "The last month",
        "space": " ",
        "unit_D": "day", "unit_W": "week", "unit_M": "month",
        "units_D": "days", "units_W": "weeks", "units_M": "months",
        "adj_W": "weekly", "adj_M": "monthly", "adj_D": "daily",
        "when_D": "{date}", "when_W": "week of {date}", "when_M": "{month}",
        "sep": "; ", "list_sep": ", ",
    },
    "zh": {
        "empty": "_所选时间范围内没有成员或事件。_",
        "members_end": "**观察期末的成员数**（{date}）：当前成员 {current} 名（已入群且未主动退群）；"
                       "另有 {left} 名入群后已主动退群。下文所有成员数都以此为准。",
        "trend": "**新增成员**{trend}：前 {half} 个完整{units}平均每{unit} {first} 名，"
                 "最近 {half} 个完整{units}平均每{unit} {last} 名。",
        "trend_growing": "在增加", "trend_shrinking": "在减少", "trend_flat": "基本持平",
        "members_end_noleft": "**观察期末的成员数**（{date}）：当前成员 {current} 名（已入群且未主动退群）。"
                              "下文所有成员数都以此为准。",
        "trend_single": "**新增成员**：全部 {n} 名成员都在{when}入群，因此没有趋势可言。",
        "layers_noleft": "**成员分层**（{current} 名当前成员，{date}）：{mix}。",
        "trend_short": "**新增成员**：共 {n} 名入群（完整的{units}不足两个，暂时看不出趋势）。",
        "n_day": "**N 日留存**（{mode}，全体成员）：{parts}。",
        "n_day_part": "{day} 日留存 {value}",
        "n_day_none": "{day} 日留存暂无法计算（还没有成员入群满 {day} 天）",
        "mode_classic": "当期留存：当天活跃", "mode_rolling": "滚动留存：当天及以后活跃",
        "d7_vs_week1": "7 日留存只看入群后第 7 天这一天是否活跃；同期群表中的第 1 周看的是入群周之后"
                       "整个自然周内任意一天是否活跃（已完整的同期群合计为 {week1}），所以后者更高，"
                       "两者并不矛盾。",
        "d30_vs_month1": "30 日留存只看入群后第 30 天这一天是否活跃；同期群表中的第 1 月看的是入群月之后"
                         "整个自然月内任意一天是否活跃（已完整的同期群合计为 {month1}），所以后者更高。",
        "seg_best": "**按{segment}**（{day} 日留存，只比较已满观察期成员不少于 {min_n} 名的{segment}）："
                    "最好的是 {best}，{best_value}；它的置信区间与其他{segment}都不重叠。",
        "seg_worst": "明显最低的是 {worst}，{worst_value}。",
        "seg_overlap": "**按{segment}**（{day} 日留存，只比较已满观察期成员不少于 {min_n} 名的{segment}）："
                       "从 {low_value}（{low}）到 {high_value}（{high}）；95% 置信区间相互重叠，"
                       "所以没有哪个{segment}可以确定最好或最差。",
        "seg_spread": "**按{segment}**（{day} 日留存，只比较已满观察期成员不少于 {min_n} 名的{segment}）："
                      "从 {low_value}（{low}）到 {high_value}（{high}）；这两者的差异超出偶然范围（95% 置信区间"
                      "不重叠），但各自都与其他{segment}重叠，所以没有哪个{segment}可以确定是最好或最差。",
        "seg_one": "**按{segment}**（{day} 日留存）：只有一个{segment}的已满观察期成员不少于 {min_n} 名，"
                   "无从比较。",
        "seg_none": "**按{segment}**：没有哪个{segment}的已满观察期成员达到 {min_n} 名（{day} 日留存），"
                    "不做排名。",
        "growth_last": "**最近一个完整{unit}**（{when}）：新增 {joined} 名，主动退群 {left} 名，"
                       "当{unit}活跃成员 {active} 名{sticky}。",
        "sticky": "；粘性（日均活跃成员 / {adjective}活跃成员）{value}",
        "layers": "**成员分层**（{current} 名当前成员，{date}）：{mix}。已主动退群的 {left} 名成员单独计数，"
                  "不计入任何一层。",
        "layers_nodate": "**成员分层**（{current} 名成员）：{mix}。",
        "layer_item": "{name} {share}",
        "fission": "**裂变**：{share} 的成员通过邀请入群{k_text}。",
        "k_text": "；最近一个完整月（{when}）的 K 因子为 {k}（每位成员带来的新成员数）",
        "k_partial": "；{when}尚未结束，不计入",
        "caveats": "**注意事项**：{items}。",
        "caveat_running": "{the_last}（{when}）尚未结束：不计入趋势和增长数字，图中以斜线标出",
        "caveat_n_day": "N 日留存只统计入群时间足够长的成员（n 即这些成员数）；置信区间重叠的分组之间的差异"
                        "可能只是偶然",
        "caveat_n_day_all": "N 日留存只统计入群时间足够长的成员（n 即这些成员数）",
        "caveat_single_cohort": "所有成员都在同一{unit}入群，无法在同期群之间比较",
        "caveat_short": "数据只覆盖 {days} 天，30 日留存和更靠后的周期暂时无法计算",
        "skipped": "**已跳过**：{items}。",
        "skip_fission": "裂变数据（数据中没有记录谁邀请了谁）",
        "skip_segments": "分组比较（未选择分组字段）",
        "skip_one_segment": "按{segment}比较（所有成员的{segment}都相同）",
        "where": "**下文看哪里**：热力图中比相邻同期群褪色更快的行（斜线格是尚未结束的周期，不是下滑），"
                 "按分组的留存曲线中互不重叠的色带，以及生命周期图中沉默成员是否超过新增加回流成员。",
        "section_fission_skipped": "本节已跳过：数据中没有记录谁邀请了谁，因此没有裂变数据。",
        "section_segments_skipped": "本节显示全体成员：未选择分组字段，或所有成员在该字段上取值相同。",
        "section_layers_note": "分层只包含 {current} 名当前成员；已主动退群的 {left} 名成员单独计数。",
        "section_transitions": "矩阵跟踪在{start}和{end}都是当前成员的 {n} 名成员；"
                               "期间主动退群的 {left} 名成员单独计数。",
        "section_transitions_noleft": "矩阵跟踪在{start}和{end}都是当前成员的 {n} 名成员。",
        "section_transitions_none": "在上一个统计窗口之前还没有成员入群，暂时没有层级迁移可展示。",
        "section_partial_note": "{the_last}（{when}）尚未结束：表中留空，图中以斜线标出。",
        "the_last_D": "最后一天", "the_last_W": "最后一周", "the_last_M": "最后一个月",
        "The_last_D": "最后一天", "The_last_W": "最后一周", "The_last_M": "最后一个月",
        "space": "",
        "unit_D": "天", "unit_W": "周", "unit_M": "月",
        "units_D": "天", "units_W": "周", "units_M": "月",
        "adj_W": "周", "adj_M": "月", "adj_D": "日",
        "when_D": "{date}", "when_W": "{date}当周", "when_M": "{month}",
        "sep": "；", "list_sep": "，",
    },
}

CATALOG = Catalog(MESSAGES, name="cohorts.report")

#: reviewer words for the segment columns a community export usually has
SEGMENT_WORDS = {
    "en": {"channel": "channel", "platform": "platform", "city": "city", "age_band": "age band",
           "group_id": "group"},
    "zh": {"channel": "渠道", "platform": "平台", "city": "城市", "age_band": "年龄段",
           "group_id": "群"},
}

#: layer names in reviewer text
LAYER_WORDS = {
    "en": {"核心": "core (核心)", "活跃": "active (活跃)", "潜在": "potential (潜在)",
           "沉睡": "dormant (沉睡)"},
    "zh": {"核心": "核心成员", "活跃": "活跃成员", "潜在": "潜在成员", "沉睡": "沉睡成员"},
}
