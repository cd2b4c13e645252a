"""Conversion: funnel (brute force, statsmodels Wilson, planted truth across seeds), time to first
purchase (closed form without censoring), activity review (brute force, planted participation),
channel scorecard (the owners' definitions, best/worst only without overlap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from helpers import cohorts, conversion, data, synth
from helpers.errors import ParameterError

TZ = "Asia/Shanghai"


def brute_force_funnel(members, events, *, window_days, end, by):
    """The definition, member by member, in plain Python."""
    out = {}
    win = pd.Timedelta(days=window_days)
    ev = events[events["ts"] <= end]
    groups = {k: g for k, g in ev.groupby("member_id")}
    for m in members.itertuples(index=False):
        if m.joined_at > end or m.joined_at + win > end:
            continue
        level = tuple(getattr(m, b) for b in by) if by else ("all",)
        e = groups.get(m.member_id)
        reached = [True, False, False, False]
        if e is not None:
            inside = e[(e["ts"] >= m.joined_at) & (e["ts"] < m.joined_at + win)]
            if len(inside):
                reached[1] = True
                t_active = inside["ts"].min()
                buys = inside[(inside["event_type"] == "purchase") & (inside["ts"] >= t_active)]
                if len(buys):
                    reached[2] = True
                    first = buys["ts"].min()
                    first_day = first.tz_convert(TZ).date()
                    later = [t for t in buys["ts"] if t.tz_convert(TZ).date() > first_day]
                    reached[3] = bool(later)
        counts = out.setdefault(level, [0, 0, 0, 0])
        for i, r in enumerate(reached):
            counts[i] += r
    return out


@pytest.mark.parametrize("window_days", [7, 30])
@pytest.mark.parametrize("by", [None, "channel", "platform", "cohort"])
def test_funnel_counts_equal_brute_force(small_community, window_days, by):
    ds = small_community
    members = ds.members.copy()
    if by == "cohort":
        codes = cohorts.period_codes(members["joined_at"], "W", tz=TZ)
        members["cohort"] = cohorts.period_start(codes, "W", tz=TZ).tz_localize(None)
    end = ds.events["ts"].max()
    f = conversion.funnel(ds.members, ds.events, window_days=window_days, by=by)
    cols = [by] if by else []
    bf = brute_force_funnel(members, ds.events, window_days=window_days, end=end, by=cols)
    assert f["step"].unique().tolist() == list(conversion.DEFAULT_STEPS)
    got = {}
    for _, r in f.iterrows():
        level = tuple(r[c] for c in cols) if cols else ("all",)
        got.setdefault(level, [0, 0, 0, 0])[int(r["step_index"])] = int(r["converted"])
    assert got == bf
    # recent joiners are not in the denominator: eligible = members whose window is over
    n_elig = int((ds.members["joined_at"] + pd.Timedelta(days=window_days) <= end).sum())
    assert f[f["step"] == "joined"]["eligible"].sum() == n_elig < len(ds.members)


def test_funnel_wilson_is_statsmodels_and_rates_are_consistent(small_community):
    f = conversion.funnel(small_community.members, small_community.events, by="channel")
    lo, hi = proportion_confint(f["converted"], f["eligible"], method="wilson")
    np.testing.assert_allclose(f["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(f["ci_high"], hi, atol=1e-12)
    np.testing.assert_allclose(f["rate"], f["converted"] / f["eligible"])
    for _, g in f.groupby("channel"):
        c = g["converted"].to_numpy()
        assert (np.diff(c) <= 0).all()  # ordered steps never grow
        np.testing.assert_allclose(g["rate_from_previous"].to_numpy()[1:], c[1:] / c[:-1])
    assert list(f.columns) == ["channel", *conversion.FUNNEL_COLUMNS]


def test_funnel_custom_steps_order_and_errors(small_community):
    ds = small_community
    f = conversion.funnel(ds.members, ds.events, steps=["activity_join", "purchase"])
    assert f["step"].tolist() == ["joined", "activity_join", "purchase"]
    with pytest.raises(ParameterError, match="never occurs"):
        conversion.funnel(ds.members, ds.events, steps=["refund"])
    with pytest.raises(ParameterError):
        conversion.funnel(ds.members, ds.events, active_types=[])
    with pytest.raises(ParameterError):
        conversion.funnel(ds.members, ds.events, window_days=0)


def test_funnel_with_no_window_over_yet_has_zero_eligible(small_community):
    ds = small_community
    early = ds.members["joined_at"].min() + pd.Timedelta(days=3)
    f = conversion.funnel(ds.members, ds.events, observed_until=early)
    assert (f["eligible"] == 0).all() and f["rate"].isna().all()


@pytest.mark.slow
def test_funnel_recovers_planted_conversion_across_seeds():
    """30-day conversion and repurchase by channel cover the planted expectation (truth.json:
    the mean over eligible members of the purchase probability given their active days) on
    fresh seeds, not the demo's."""
    hits = total = 0
    for seed in (101, 102, 103, 104):
        tables, truth = synth.generate(n_members=4000, days=150, seed=seed)
        f = conversion.funnel(tables["members"], tables["events"], by="channel")
        for ch, t in truth["purchases"]["by_channel"].items():
            for step, key in (("purchased", "expected_conversion_30d"),
                              ("repurchased", "expected_repurchase_30d")):
                r = f[(f["channel"] == ch) & (f["step"] == step)].iloc[0]
                assert r["eligible"] == t["eligible_30d"]
                hits += r["ci_low"] <= t[key] <= r["ci_high"]
                total += 1
    assert hits / total >= 0.9, (hits, total)


def test_planted_channels_differ_in_the_direction_planted(demo_community, demo_truth):
    f = conversion.funnel(demo_community.members, demo_community.events, by="channel")
    conv = f[f["step"] == "purchased"].set_index("channel")["rate"]
    mult = {c: v["purchase_prob_multiplier"] for c, v in demo_truth["purchases"]["by_channel"].items()}
    assert conv.idxmax() == max(mult, key=mult.get)  # 线下活动, multiplier 1.6
    assert conv.idxmin() in ("海报裂变", "社交广告")  # the two lowest multipliers


# ----------------------------------------------------------------------------- time to purchase
def test_time_to_purchase_without_censoring_is_the_empirical_share():
    """With everyone followed past day t, Aalen-Johansen equals purchases by t / members."""
    rng = np.random.default_rng(4)
    n = 300
    joined = pd.Timestamp("2026-01-01", tz=TZ) + pd.to_timedelta(rng.random(n) * 10, unit="D")
    members = pd.DataFrame({"member_id": np.arange(n), "joined_at": joined, "channel": "a",
                            "group_id": "g"})
    t_buy = rng.exponential(20, n)
    rows = []
    for i in range(n):
        for d in np.arange(0, 200, 2.0):  # active every other day for 200 days: nobody churns
            rows.append((i, joined[i] + pd.Timedelta(days=d), "message"))
        if t_buy[i] < 150:
            rows.append((i, joined[i] + pd.Timedelta(days=float(t_buy[i])), "purchase"))
    events = pd.DataFrame(rows, columns=["member_id", "ts", "event_type"]).sort_values("ts")
    res = conversion.time_to_purchase(members, events, days=[7, 30, 60])
    for d in (7, 30, 60):
        expected = float((t_buy <= d).mean())
        got = res.at(d)["cumulative_incidence"].iloc[0]
        assert got == pytest.approx(expected, abs=1e-6)
    o = res.outcomes.iloc[0]
    assert o["purchased"] == int((t_buy < 150).sum()) and o["churned_first"] == 0


def test_time_to_purchase_agrees_with_the_funnel(demo_community):
    ds = demo_community
    ttp = conversion.time_to_purchase(ds.members, ds.events, by="channel").at(30).set_index("channel")
    f = conversion.funnel(ds.members, ds.events, by="channel")
    f = f[f["step"] == "purchased"].set_index("channel")
    for ch in f.index:  # both estimate P(first purchase within 30 days); intervals overlap
        assert ttp.loc[ch, "ci_low"] <= f.loc[ch, "ci_high"]
        assert f.loc[ch, "ci_low"] <= ttp.loc[ch, "ci_high"]


# ----------------------------------------------------------------------------- activity review
def test_activity_review_counts_equal_brute_force(small_community):
    ds = small_community
    rev = conversion.activity_review(ds.members, ds.events, ds.activities, detail=3)
    act = rev.activities.set_index("activity_id")
    ev = ds.events[ds.events["activity_id"].notna()]
    for a in ds.activities.sample(25, random_state=1).itertuples():
        if a.starts_at > ds.events["ts"].max():
            continue
        m = ds.members
        present = (m["joined_at"] < a.starts_at) & ~(m["left_at"].notna() & (m["left_at"] <= a.starts_at))
        if isinstance(a.group_id, str) and a.group_id:
            present &= m["group_id"] == a.group_id
        elig = set(m.loc[present, "member_id"])
        took = set(ev.loc[(ev["activity_id"] == a.activity_id) & (ev["ts"] >= a.starts_at)
                          & (ev["ts"] < a.ends_at), "member_id"]) & elig
        assert act.loc[a.activity_id, "eligible"] == len(elig)
        assert act.loc[a.activity_id, "participants"] == len(took)
    lay = rev.by_layer.groupby("activity_id")[["eligible", "participants"]].sum()
    for aid in rev.detail_ids:
        assert lay.loc[aid, "eligible"] == act.loc[aid, "eligible"]
        assert lay.loc[aid, "participants"] == act.loc[aid, "participants"]
    assert rev.descriptive and set(rev.before_after["group"]) == {
        "participants", "non_participants", "difference"}


def test_activity_review_without_activities_says_so(small_community):
    ds = small_community
    rev = conversion.activity_review(ds.members, ds.events, ds.activities.iloc[:0])
    assert rev.notes == ("no_activities",) and rev.activities.empty


@pytest.mark.slow
def test_activity_participation_recovers_planted_rates_across_seeds():
    """Participants among members active on a one-day activity's day match the planted
    probability (participation_prob × channel × activity type), pooled per type, 3 seeds."""
    hits = total = 0
    for seed in (31, 32, 33):
        tables, truth = synth.generate(n_members=4000, days=120, seed=seed)
        t = truth["activity_participation"]
        m, ev, acts = tables["members"], tables["events"], tables["activities"]
        rev = conversion.activity_review(m, ev, acts, detail=[])
        # the activities that really ran that day: community-wide, or a group's on a day
        # without a community-wide one
        acts = acts[~acts["name"].str.contains("随机")]  # experiment activities: treated only
        wide = acts[acts["group_id"].isna()]
        wide_days = {d for a in wide.itertuples()
                     for d in pd.date_range(a.starts_at, a.ends_at, freq="D", inclusive="left")}
        acts = acts[(acts["ends_at"] - acts["starts_at"]) == pd.Timedelta(days=1)]
        acts = acts[acts["group_id"].isna() | ~acts["starts_at"].isin(wide_days)]
        everyday = ev[ev["event_type"].isin(synth.EVERYDAY_TYPES)]
        # a member's last active day may be their churn day, when they are active without the
        # chance to take part (the generator's churn rule): leave those member-days out
        last_day = everyday.groupby("member_id")["ts"].max().dt.floor("D")
        mult = m.set_index("member_id")["channel"].map(t["channel_multiplier"])
        row = rev.activities.set_index("activity_id")
        pooled: dict[str, list[float]] = {}
        for a in acts.itertuples():
            day = everyday[(everyday["ts"] >= a.starts_at) & (everyday["ts"] < a.ends_at)]
            active = set(day["member_id"])
            present = m[(m["joined_at"] < a.starts_at)]
            if isinstance(a.group_id, str):
                present = present[present["group_id"] == a.group_id]
            ids = [i for i in present["member_id"] if i in active
                   and last_day.loc[i] > a.starts_at]
            p = t["participation_prob_per_active_day"] * t["activity_type_multiplier"][
                a.activity_type] * mult.loc[ids].to_numpy()
            acc = pooled.setdefault(a.activity_type, [0, 0, 0.0])
            took = ev[(ev["activity_id"] == a.activity_id)]["member_id"]
            assert row.loc[a.activity_id, "participants"] == len(set(took) & set(present["member_id"]))
            acc[0] += len(set(took) & set(ids))
            acc[1] += len(ids)
            acc[2] += float(np.clip(p, 0, 1).sum())
        for k, n, expected in pooled.values():
            if n < 300:
                continue
            lo, hi = proportion_confint(k, n, method="wilson")
            hits += lo <= expected / n <= hi
            total += 1
    assert total >= 9 and hits / total >= 0.85, (hits, total)


# ----------------------------------------------------------------------------- scorecard
def test_scorecard_uses_the_owners_definitions(small_community):
    from helpers import survival

    ds = small_community
    card = conversion.channel_scorecard(ds.members, ds.events).set_index("channel")
    d30 = cohorts.n_day_retention(ds.members, ds.events, days=[30], by="channel").set_index("channel")
    np.testing.assert_allclose(card["d30_retention"], d30.loc[card.index, "rate"])
    churn = survival.churn_table(ds.members, ds.events)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rm = survival.rmst_table(churn, group_col="channel", horizon_days=90).set_index("group")
    np.testing.assert_allclose(card["rmst_90d"], rm.loc[card.index, "rmst"])
    f = conversion.funnel(ds.members, ds.events, by="channel")
    f = f[f["step"] == "purchased"].set_index("channel")
    np.testing.assert_allclose(card["conversion_30d"], f.loc[card.index, "rate"])
    assert (card["members"] == ds.members["channel"].value_counts().loc[card.index]).all()
    for est, lo, hi in conversion.METRICS.values():
        ok = card[est].notna()
        assert (card.loc[ok, lo] <= card.loc[ok, est] + 1e-12).all()
        assert (card.loc[ok, est] <= card.loc[ok, hi] + 1e-12).all()


def test_scorecard_value_per_member_by_hand():
    m = pd.DataFrame({"member_id": [1, 2, 3], "channel": ["a", "a", "b"], "joined_at":
                      pd.to_datetime(["2026-01-01"] * 3).tz_localize(TZ)})
    ev = pd.DataFrame({"member_id": [1, 1, 2, 3, 3], "event_type": ["purchase", "purchase",
                                                                    "message", "purchase", "message"],
                       "amount": [10.0, 30.0, np.nan, 5.0, np.nan],
                       "ts": pd.to_datetime(["2026-01-02", "2026-05-01", "2026-01-03", "2026-02-01",
                                             "2026-06-01"]).tz_localize(TZ)})
    v = conversion.value_per_member(m, ev).set_index("channel")
    assert v.loc["a", "value"] == 5.0 and v.loc["b", "value"] == 5.0  # 30 is after day 90
    assert v.loc["a", "eligible"] == 2


def test_leaders_need_intervals_that_do_not_overlap():
    card = pd.DataFrame({"channel": ["a", "b", "c"], "conversion_30d": [0.5, 0.45, 0.2],
                         "conversion_ci_low": [0.44, 0.40, 0.15],
                         "conversion_ci_high": [0.56, 0.50, 0.25]})
    r = conversion.scorecard_leaders(card).set_index("metric").loc["conversion_30d"]
    assert r["best"] is None and r["worst"] == "c"


def test_aalen_johansen_equals_lifelines_on_untied_data():
    from lifelines import AalenJohansenFitter

    for seed in range(3):
        rng = np.random.default_rng(seed)
        d = rng.exponential(10, 400)
        o = rng.choice([0, 1, 2], 400, p=[0.3, 0.4, 0.3])
        mine = conversion.aalen_johansen(d, o)
        ref = AalenJohansenFitter().fit(d, o, event_of_interest=1)
        np.testing.assert_allclose(mine["cumulative_incidence"], ref.cumulative_density_.iloc[:, 0],
                                   atol=1e-12)
        ci = ref.confidence_interval_.to_numpy()  # lifelines labels the two bounds the other way
        np.testing.assert_allclose(mine["ci_low"], ci.min(axis=1), atol=1e-12)
        np.testing.assert_allclose(mine["ci_high"], ci.max(axis=1), atol=1e-12)


# ----------------------------------------------------------------------------- report 04
import re  # noqa: E402

_BAD = re.compile(r"(?<![\w.\-])(nan|NaN|None|NaT|inf|True|False|<NA>)(?![\w\-])")
_CAUSAL_EN = re.compile(r"\b(caus\w*|lowers?|raises?|increases?|decreases?|boosts?|drives?|"
                        r"leads? to|thanks to|because of the activity|improves?)\b", re.I)
_CAUSAL_ZH = re.compile(r"(导致|带来了|使得|提升了|降低了|促使|因为参与)")


def _report(ds, **kw):
    return conversion.conversion_report(ds.members, ds.events, activities=ds.activities,
                                        memberships=ds.memberships, **kw)


def test_catalogs_have_the_same_keys_and_fields_in_both_languages():
    from helpers.conversion._messages import CATALOG, HEADERS, VALUES
    from helpers.plots.conversion import CONVERSION_PLOT_TEXT

    for cat in (CATALOG, HEADERS, VALUES, CONVERSION_PLOT_TEXT):
        assert cat.check() == []


def test_report_renders_in_both_languages_without_raw_values(small_community):
    r = _report(small_community)
    for lang in ("zh", "en"):
        text = conversion.render_summary(r, lang)
        assert text.startswith("- **") and not _BAD.search(text), text
        for sec in conversion.SECTIONS:
            assert not _BAD.search(conversion.render_note(r, sec, lang))
    zh = conversion.render_summary(r, "zh")
    assert "转化" in zh and "复购" in zh and sum("\u4e00" <= ch <= "\u9fff" for ch in zh) > 200


def test_activity_review_text_has_no_causal_wording(demo_community):
    r = _report(demo_community)
    en = conversion.render_summary(r, "en") + conversion.render_note(r, "review", "en")
    zh = conversion.render_summary(r, "zh") + conversion.render_note(r, "review", "zh")
    review_en = [line for line in en.split("\n") if "activit" in line.lower()]
    review_zh = [line for line in zh.split("\n") if "活动" in line]
    assert review_en and review_zh
    for line in review_en:
        assert not _CAUSAL_EN.search(line), line
    for line in review_zh:
        assert not _CAUSAL_ZH.search(line), line
    assert "association" in en and "A/B" in en and "相关" in zh and "A/B" in zh


def test_thin_data_sections_say_why_they_are_skipped(small_community):
    ds = small_community
    events = ds.events[ds.events["event_type"] != "purchase"]
    r = conversion.conversion_report(ds.members, events, activities=None, memberships=None)
    assert r.skipped["ttp"] == "no_purchases" and r.skipped["repeat"] == "no_purchases"
    assert r.skipped["renewal"] == "no_memberships" and r.skipped["review"] == "no_activities"
    for lang in ("zh", "en"):
        text = conversion.render_summary(r, lang)
        assert not _BAD.search(text)
        for sec in ("ttp", "repeat", "renewal", "review"):
            assert conversion.render_note(r, sec, lang)  # one plain sentence where it would stand
    one = ds.members.assign(channel="only")
    r = conversion.conversion_report(one, ds.events)
    assert r.skipped["scorecard"] == "one_channel" and r.scorecard is None


def test_names_from_the_data_are_text_not_markup(small_community):
    ds = small_community
    hostile = {"海报裂变": "<img src=x onerror=alert(1)>邀请码", "线下活动": "**VIP** | $x$"}
    members = ds.members.assign(channel=ds.members["channel"].replace(hostile))
    acts = ds.activities.assign(name="<script>alert('x')</script>打卡")
    ms = ds.memberships.assign(plan="<b>月卡</b>")
    r = conversion.conversion_report(members, ds.events, activities=acts, memberships=ms)
    for lang in ("zh", "en"):
        text = conversion.render_summary(r, lang)
        assert "<img" not in text and "<script" not in text and "<b>" not in text
    assert "&lt;script&gt;" in conversion.render_summary(r, "en")


def test_report_settings_are_validated():
    with pytest.raises(ParameterError):
        conversion.ConversionSettings(window_days=0)
    with pytest.raises(ParameterError):
        conversion.ConversionSettings(grace_days=-1)
    assert conversion.ConversionSettings(by="").by is None


# ----------------------------------------------------------------------------- reviewer fixes
_TWO_DECIMALS = re.compile(r"(?<![\d.])-?\d[\d,]*\.\d\d(?!\d)(?!%)")


@pytest.fixture(scope="module")
def demo_report(demo_community):
    return _report(demo_community)


def _cells(sty):
    """Header and body cell texts of a formatted table."""
    import html as _html
    h = re.sub(r"<style.*?</style>", "", sty.to_html(), flags=re.S)
    return [_html.unescape(re.sub(r"<.*?>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", h, flags=re.S)]


def test_time_to_purchase_text_states_both_member_counts(demo_report):
    from helpers._format import count

    r = demo_report
    n = int(r.ttp.outcomes["members"].sum())
    fn = int(r.funnel_all.set_index("step").loc["joined", "eligible"])
    zh, en = conversion.render_summary(r, "zh"), conversion.render_summary(r, "en")
    assert "用到的成员更多" not in zh and "with more members" not in en
    assert count(n, "zh") in zh and count(n, "en") in en
    if n == fn:
        assert "同样的" in zh and "the same" in en
    note = conversion.render_note(r, "ttp", "zh")
    assert count(n, "zh") in note and count(fn, "zh") in note and "也计入" not in note


def test_data_summary_in_words_with_counts_and_full_columns(demo_community):
    from helpers import plots
    from helpers._format import count

    for lang, header in (("zh", "行数"), ("en", "Rows")):
        cells = _cells(plots.show_data_summary(demo_community, lang))
        assert header in cells and "rows" not in cells and "table" not in cells
        assert count(len(demo_community.events), lang) in cells
        assert any("referrer_id" in c and "platform" in c for c in cells)
        assert "0" not in cells  # no positional index


def test_tables_have_separators_one_decimal_and_dashes(demo_report):
    from helpers import plots

    funnel = _cells(plots.show_conversion_table(demo_report, "funnel", "zh"))
    assert "—" in funnel and "" not in funnel[9:] and "0.00" not in funnel
    n = f"{int(demo_report.ttp.outcomes['members'].sum()):,}"
    assert n in _cells(plots.show_conversion_table(demo_report, "ttp", "zh"))
    card = _cells(plots.show_conversion_table(demo_report, "scorecard", "zh"))
    assert not any(_TWO_DECIMALS.search(c) for c in card), card
    assert any(re.fullmatch(r"\d,\d{3}", c) for c in card)
    ba = _cells(plots.show_conversion_table(demo_report, "before_after", "zh", max_rows=None))
    assert "-0.0" not in ba and "-0.00" not in ba and "" not in ba[9:] and "—" in ba


def test_labels_match_the_other_reports_and_repurchase_is_explained(demo_report):
    from helpers.conversion._messages import CATALOG, HEADERS

    assert CATALOG.t("metric_rmst_90d", "zh") == HEADERS.t("rmst_90d", "zh") == "前 90 天平均留存天数"
    assert CATALOG.t("metric_value_90d", "zh") == HEADERS.t("value_90d", "zh") == "入群 90 天人均消费"
    assert CATALOG.t("metric_d30_retention", "zh") == "30 日留存率"
    assert CATALOG.t("metric_rmst_90d", "en") == "average days retained in the first 90 days"
    assert CATALOG.t("metric_value_90d", "en") == "spend per member in the first 90 days"
    assert "30 天内" in conversion.render_note(demo_report, "scorecard", "zh")
    assert "first 30 days" in conversion.render_note(demo_report, "scorecard", "en")


def test_channel_extremes_apart_but_each_overlapping_another(demo_report):
    from helpers._format import overlap

    p = demo_report.funnel_by[demo_report.funnel_by["step"] == "purchased"]
    top, bottom = p.loc[p["rate"].idxmax()], p.loc[p["rate"].idxmin()]
    zh, en = conversion.render_summary(demo_report, "zh"), conversion.render_summary(demo_report, "en")
    line_zh = next(x for x in zh.split("\n") if "**按渠道**" in x)
    line_en = next(x for x in en.split("\n") if "**By channel**" in x)
    if not overlap(top["ci_low"], top["ci_high"], bottom["ci_low"], bottom["ci_high"]):
        assert "相互重叠" not in line_zh and "超出偶然" in line_zh
        assert "intervals overlap" not in line_en and "beyond chance" in line_en


def test_scorecard_line_names_each_metric_once_without_stray_spaces(demo_report):
    zh = next(x for x in conversion.render_summary(demo_report, "zh").split("\n")
              if "渠道对比表" in x and "**" in x)
    assert " 最好" not in zh and " 最低" not in zh
    for label in ("前 90 天平均留存天数", "入群 90 天人均消费"):
        assert zh.count(label) <= 1
    en = next(x for x in conversion.render_summary(demo_report, "en").split("\n")
              if x.startswith("- **Channel scorecard**"))
    assert en.count("average days retained in the first 90 days") <= 1


def test_experiment_activities_count_only_the_treatment_arm(demo_community):
    ds = demo_community
    r = conversion.conversion_report(ds.members, ds.events, activities=ds.activities,
                                     memberships=ds.memberships, experiments=ds.experiments,
                                     assignments=ds.assignments)
    plain = _report(ds)
    a = r.review.activities.set_index("activity_id")
    b = plain.review.activities.set_index("activity_id")
    linked = ds.experiments.dropna(subset=["activity_id"])
    for x in linked.itertuples(index=False):
        asg = ds.assignments[ds.assignments["experiment_id"] == x.experiment_id]
        treated = set(asg.loc[asg["arm"] != x.control_arm, "unit_id"].astype(str))
        key = "group_id" if x.unit == "group" else "member_id"
        m = ds.members[ds.members[key].astype(str).isin(treated)]
        start = a.loc[x.activity_id, "starts_at"]
        present = ((m["joined_at"] < start) & ~(m["left_at"] <= start)).sum()
        assert a.loc[x.activity_id, "eligible"] == present < b.loc[x.activity_id, "eligible"]
        assert a.loc[x.activity_id, "experiment_id"] == x.experiment_id
    other = a.index.difference(linked["activity_id"])
    assert (a.loc[other, "eligible"] == b.loc[other, "eligible"]).all()
    assert a.loc[other, "experiment_id"].isna().all()
    if "A0566" in r.review.detail_ids:
        assert "实验组" in conversion.render_note(r, "review", "zh")
        assert "report 03" in conversion.render_note(r, "review", "en")
    zh = conversion.render_summary(r, "zh")
    assert "其后已有 14 天数据的最近一场" in zh
    assert "the latest with 14 days of data after it" in conversion.render_summary(r, "en")
