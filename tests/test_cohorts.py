"""Tests of helpers.cohorts: brute-force references, hand-computed numbers, invariants, errors."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from itertools import product

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from helpers import _time, cohorts
from helpers.errors import ParameterError

TZ = "Asia/Shanghai"


# ----------------------------------------------------------------------------- brute force
def _label(t: pd.Timestamp, period: str):
    """Independent period label of a local timestamp (pure datetime arithmetic)."""
    d = t.date()
    if period == "D":
        return d
    if period == "W":
        return d - dt.timedelta(days=d.weekday())
    return dt.date(d.year, d.month, 1)


def _diff(a, b, period: str) -> int:
    """Periods from label a to label b."""
    if period == "D":
        return (b - a).days
    if period == "W":
        return (b - a).days // 7
    return (b.year - a.year) * 12 + b.month - a.month


def brute_retention(members, events, *, period, mode, by, until, active_types=None):
    """Loop over members: the reference implementation of DESIGN.md §4."""
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    ev = events[events["ts"] <= until]
    if active_types is not None:
        ev = ev[ev["event_type"].isin(active_types)]
    acts = defaultdict(set)
    for mid, ts in zip(ev["member_id"], ev["ts"]):
        acts[mid].add(_label(ts.tz_convert(TZ), period))
    end = _label(until.tz_convert(TZ), period)
    size, kept = defaultdict(int), defaultdict(int)
    for _, row in members.iterrows():
        if row["joined_at"] > until:
            continue
        c = _label(row["joined_at"].tz_convert(TZ), period)
        ks = {_diff(c, p, period) for p in acts[row["member_id"]]}
        ks = {k for k in ks if k >= 0}
        key = tuple("<NA>" if pd.isna(row[b]) else row[b] for b in by) + (c,)
        for k in range(_diff(c, end, period) + 1):
            size[key + (k,)] += 1
            hit = (k in ks) if mode == "classic" else any(j >= k for j in ks)
            kept[key + (k,)] += int(hit)
    rows = [(*key, size[key], kept[key]) for key in size]
    return pd.DataFrame(rows, columns=[*by, "cohort", "period_index", "cohort_size", "retained"])


def _comparable(table, by):
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    t = table[[*by, "cohort", "period_index", "cohort_size", "retained"]].copy()
    t["cohort"] = [c.date() if isinstance(c, pd.Timestamp) else c for c in t["cohort"]]
    for b in by:
        t[b] = t[b].astype(object).where(t[b].notna(), "<NA>")
    return t.sort_values([*by, "cohort", "period_index"]).reset_index(drop=True)


# ----------------------------------------------------------------------------- hand-made data
@pytest.fixture
def hand():
    """Four members with string ids; observation ends mid-week (Wednesday 2026-03-18 12:00).

    a joins Mon 03-02, acts 03-02, 03-10 and 03-24 (after the end: ignored);
    b joins Sun 03-08 23:30 (week of 03-02), acts Mon 03-09 00:10 local (= Sunday in UTC);
    c joins 03-09 and never acts; d joins Mon 03-16 and acts the same day;
    e joins after the end of observation.
    """
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    members = pd.DataFrame({
        "member_id": ["a", "b", "c", "d", "e"],
        "joined_at": [t("2026-03-02 10:00"), t("2026-03-08 23:30"), t("2026-03-09 08:00"),
                      t("2026-03-16 09:00"), t("2026-03-20 09:00")],
        "channel": ["海报裂变", "邀请码", "海报裂变", "邀请码", "邀请码"],
        "group_id": ["G1"] * 5,
        "left_at": [pd.NaT, pd.NaT, t("2026-03-12 08:00"), pd.NaT, pd.NaT],
        "referrer_id": [None, "a", "a", "b", None],
    })
    events = pd.DataFrame({
        "member_id": ["a", "a", "b", "d", "a"],
        "ts": [t("2026-03-02 11:00"), t("2026-03-10 12:00"), t("2026-03-09 00:10"),
               t("2026-03-16 10:00"), t("2026-03-24 10:00")],
        "event_type": pd.Categorical(["message", "purchase", "reaction", "message", "message"]),
        "amount": [np.nan, 50.0, np.nan, np.nan, np.nan],
    })
    return members, events, t("2026-03-18 12:00")


def test_hand_weekly_classic_and_rolling(hand):
    members, events, until = hand
    inputs = (members.copy(), events.copy())
    cl = cohorts.retention(members, events, period="W", observed_until=until)
    got = [(c.strftime("%m-%d"), k, n, r) for c, k, n, r in
           cl[["cohort", "period_index", "cohort_size", "retained"]].itertuples(index=False)]
    assert got == [("03-02", 0, 2, 1), ("03-02", 1, 2, 2), ("03-02", 2, 2, 0),
                   ("03-09", 0, 1, 0), ("03-09", 1, 1, 0),
                   ("03-16", 0, 1, 1)]
    assert cl["cohort"].iloc[0] == pd.Timestamp("2026-03-02", tz=TZ)  # Monday 00:00 local
    assert cl["complete"].tolist() == [True, True, False, True, False, False]
    ro = cohorts.retention(members, events, period="W", mode="rolling", observed_until=until)
    assert ro["retained"].tolist() == [2, 2, 0, 0, 0, 1]
    # the 03-24 event counts once the observation end includes it: a new reachable cell appears
    full = cohorts.retention(members, events, period="W")
    assert full.query("cohort == @full.cohort.min() and period_index == 3")["retained"].item() == 1
    # inputs untouched
    pd.testing.assert_frame_equal(members, inputs[0])
    pd.testing.assert_frame_equal(events, inputs[1])


def test_hand_monthly_and_daily(hand):
    members, events, until = hand
    m = cohorts.retention(members, events, period="M", observed_until=until)
    assert m[["period_index", "cohort_size", "retained"]].values.tolist() == [[0, 4, 3]]
    d = cohorts.retention(members, events, period="D", observed_until=until, by="channel")
    a = d[(d.channel == "海报裂变") & (d.cohort == pd.Timestamp("2026-03-02", tz=TZ))]
    assert len(a) == 17  # 03-02 … 03-18 reachable
    assert a.loc[a.retained > 0, "period_index"].tolist() == [0, 8]


def test_hand_n_day(hand):
    members, events, until = hand
    nd = cohorts.n_day_retention(members, events, days=[0, 1, 8], observed_until=until)
    # eligible: joined at least N days before 03-18 12:00
    assert nd["eligible"].tolist() == [4, 4, 3]  # D8: a, b, c joined by 03-10 12:00
    # D0: a, d acted on the join day; D1: b acted on 03-09 (day after 03-08); D8: a on 03-10
    assert nd["retained"].tolist() == [2, 1, 1]
    ro = cohorts.n_day_retention(members, events, days=[0, 1, 8], mode="rolling",
                                 observed_until=until)
    assert ro["retained"].tolist() == [3, 2, 1]


def test_hand_growth_lifecycle(hand):
    members, events, until = hand
    g = cohorts.growth(members, events, period="W", observed_until=until)
    assert g["new_members"].tolist() == [2, 1, 1]
    assert g["exits"].tolist() == [0, 1, 0]
    assert g["members_end"].tolist() == [2, 2, 3]
    assert g["active_members"].tolist() == [1, 2, 1]
    # week of 03-02: one active day over 7 days → mean DAU 1/7, stickiness 1/7
    assert g["mean_daily_active"].iloc[0] == pytest.approx(1 / 7)
    # week of 03-16: observed days 16, 17, 18 → DAU (1 + 0 + 0) / 3
    assert g["mean_daily_active"].iloc[2] == pytest.approx(1 / 3)
    lc = cohorts.lifecycle(members, events, period="W", observed_until=until)
    wide = lc.pivot(index="period", columns="status", values="members")
    assert wide["new"].tolist() == [1, 0, 1]
    assert wide["returning"].tolist() == [0, 1, 0]      # a: weeks 0 and 1
    assert wide["resurrecting"].tolist() == [0, 1, 0]   # b joined week 0, first active week 1
    assert wide["dormant"].tolist() == [0, 0, 2]        # a, b inactive in week 2


def test_hand_layers_and_fission(hand):
    members, events, until = hand
    kw = dict(as_of=until, window_days=20, core_frequency=3, active_frequency=1, core_monetary=40)
    L = cohorts.member_layers(members, events, recent_days=10, **kw).set_index("member_id")
    assert list(L.index) == ["a", "b", "c", "d"]  # e joined after as_of
    assert L["frequency"].tolist() == [2, 1, 0, 1]  # window 02-27 … 03-18
    assert L["monetary"].tolist() == [50, 0, 0, 0]
    assert L.loc["a", "recency_days"] == pytest.approx(8)  # 03-10 12:00 → 03-18 12:00
    assert np.isnan(L.loc["c", "recency_days"])
    # a: recent and spent ≥ 40 → core; b, d: recent, 1 active day → active; c: never → dormant
    assert L["layer"].tolist() == ["核心", "活跃", "沉睡", "活跃"]
    L3 = cohorts.member_layers(members, events, recent_days=3, **kw)
    assert L3["layer"].tolist() == ["潜在", "潜在", "沉睡", "活跃"]
    short = cohorts.member_layers(members, events, recent_days=3, **{**kw, "window_days": 5})
    assert short["layer"].tolist() == ["沉睡", "沉睡", "沉睡", "活跃"]
    en = cohorts.member_layers(members, events, as_of=until, labels="en")
    assert set(en["layer"].cat.categories) == {"core", "active", "potential", "dormant"}
    inv = cohorts.invites_per_inviter(members)
    assert inv[["referrer_id", "invited", "channel"]].values.tolist() == [["a", 2, "海报裂变"],
                                                                          ["b", 1, "邀请码"]]
    rs = cohorts.referral_share(members, period="M")
    assert rs[["joined", "referred"]].values.tolist() == [[5, 3]]
    k = cohorts.k_factor(members, period="W", by=None)
    # week 1: base = a, b (2), referred joins c (by a) → 0.5; week 2: base 3 − exit of c = 2
    assert k["base_members"].tolist() == [0, 2, 2]
    assert k["referred_joins"].tolist() == [1, 1, 1]
    assert np.isnan(k["k_factor"].iloc[0]) and k["k_factor"].iloc[1:].tolist() == [0.5, 0.5]


# ----------------------------------------------------------------------------- synthetic data vs brute force
@pytest.fixture(scope="module")
def small(small_community):
    ds = small_community
    until = ds.observed_until - pd.Timedelta(days=40, hours=7)  # mid-week, mid-month, mid-day
    return ds.members, ds.events, until


@pytest.mark.parametrize("period,mode,by", list(product(
    ["D", "W", "M"], ["classic", "rolling"], [None, "channel", ["channel", "platform"]])))
def test_retention_matches_brute_force_on_synthetic(small, period, mode, by):
    members, events, until = small
    got = cohorts.retention(members, events, period=period, mode=mode, by=by, observed_until=until)
    ref = brute_retention(members, events, period=period, mode=mode, by=by, until=until)
    pd.testing.assert_frame_equal(_comparable(got, by), _comparable(ref, by), check_dtype=False)
    # members who joined after the end are left out; members who never act are in
    n_in = int((members["joined_at"] <= until).sum())
    assert got.loc[got.period_index == 0, "cohort_size"].sum() == n_in


def test_small_data_has_the_edge_cases(small):
    members, events, until = small
    acted = set(events.loc[events.ts <= until, "member_id"])
    assert (~members["member_id"].isin(acted) & (members.joined_at <= until)).sum() > 5
    assert (members.joined_at > until).sum() > 5


def test_active_types_filter_matches_brute_force(small):
    members, events, until = small
    kw = dict(period="W", mode="classic", by="channel", until=until, active_types=["purchase"])
    got = cohorts.retention(members, events, period="W", by="channel", observed_until=until,
                            active_types=["purchase"])
    ref = brute_retention(members, events, **{**kw, "by": "channel"})
    pd.testing.assert_frame_equal(_comparable(got, "channel"), _comparable(ref, "channel"),
                                  check_dtype=False)


def test_n_day_matches_brute_force(small):
    members, events, until = small
    for mode in ("classic", "rolling"):
        got = cohorts.n_day_retention(members, events, days=[1, 7, 30], mode=mode,
                                      by="channel", observed_until=until)
        ev = events[events.ts <= until]
        days = defaultdict(set)
        for mid, ts in zip(ev.member_id, ev.ts):
            days[mid].add(ts.date())
        rows = []
        for N in (1, 7, 30):
            for ch, g in members.groupby("channel"):
                elig = g[g.joined_at <= until - pd.Timedelta(days=N)]
                hit = 0
                for mid, j in zip(elig.member_id, elig.joined_at):
                    target = j.date() + dt.timedelta(days=N)
                    hit += (target in days[mid]) if mode == "classic" else any(
                        d >= target for d in days[mid])
                rows.append((ch, N, len(elig), hit))
        ref = pd.DataFrame(rows, columns=["channel", "day", "eligible", "retained"])
        pd.testing.assert_frame_equal(
            got[["channel", "day", "eligible", "retained"]].sort_values(["channel", "day"])
            .reset_index(drop=True),
            ref.sort_values(["channel", "day"]).reset_index(drop=True), check_dtype=False)


def test_growth_and_lifecycle_consistent_with_brute_force(small):
    members, events, until = small
    g = cohorts.growth(members, events, period="W", observed_until=until)
    lc = cohorts.lifecycle(members, events, period="W", observed_until=until)
    wide = lc.pivot(index="period", columns="status", values="members")
    assert (wide[["new", "returning", "resurrecting"]].sum(axis=1).to_numpy()
            == g["active_members"].to_numpy()).all()
    ev = events[events.ts <= until]
    labels = pd.Series([_label(t, "W") for t in ev.ts], index=ev.index)
    weekly = ev.assign(w=labels).groupby("w")["member_id"].nunique()
    assert g["active_members"].tolist() == weekly.reindex(
        [p.date() for p in g["period"]], fill_value=0).tolist()
    # dormant in t = active in t-1 and not in t (brute force)
    act = ev.assign(w=labels).groupby("w")["member_id"].agg(set)
    weeks = [p.date() for p in g["period"]]
    dormant = [0] + [len(act.get(a, set()) - act.get(b, set())) for a, b in zip(weeks, weeks[1:])]
    assert wide["dormant"].tolist() == dormant
    assert g["members_end"].iloc[-1] == (members.joined_at <= until).sum() - (
        members.left_at <= until).sum()
    assert g["stickiness"].between(0, 1).all()


def test_string_ids_give_the_same_table(small):
    members, events, until = small
    a = cohorts.retention(members, events, period="W", by="channel", observed_until=until)
    m2 = members.assign(member_id="m" + members.member_id.astype(str))
    e2 = events.assign(member_id="m" + events.member_id.astype(str))
    b = cohorts.retention(m2, e2, period="W", by="channel", observed_until=until)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- property tests
@st.composite
def communities(draw):
    n = draw(st.integers(1, 12))
    start = pd.Timestamp("2026-01-26", tz=TZ)  # a Monday near a month end
    join_h = draw(st.lists(st.integers(0, 24 * 70), min_size=n, max_size=n))
    ch = draw(st.lists(st.sampled_from(["海报裂变", "邀请码", "线下活动"]), min_size=n, max_size=n))
    members = pd.DataFrame({"member_id": np.arange(n) * 3 + 11,
                            "joined_at": [start + pd.Timedelta(hours=h) for h in join_h],
                            "channel": ch, "group_id": "G1"})
    n_ev = draw(st.integers(0, 40))
    who = draw(st.lists(st.integers(0, n - 1), min_size=n_ev, max_size=n_ev))
    after = draw(st.lists(st.integers(0, 24 * 60), min_size=n_ev, max_size=n_ev))
    ts = [members.joined_at[w] + pd.Timedelta(hours=a) for w, a in zip(who, after)]
    end = start + pd.Timedelta(hours=draw(st.integers(24 * 20, 24 * 140)))
    ts = ts + [end]  # one event fixes the default observation end
    events = pd.DataFrame({"member_id": [members.member_id[w] for w in who] + [11],
                           "ts": ts, "event_type": "message"}).sort_values("ts")
    until = start + pd.Timedelta(hours=draw(st.integers(24 * 10, 24 * 140)))
    return members, events.reset_index(drop=True), until


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(communities(), st.sampled_from(["D", "W", "M"]))
def test_invariants(comm, period):
    members, events, until = comm
    cl = cohorts.retention(members, events, period=period, observed_until=until)
    ro = cohorts.retention(members, events, period=period, mode="rolling", observed_until=until)
    for t in (cl, ro):
        assert t["rate"].between(0, 1).all()
        assert (t["ci_low"] <= t["rate"] + 1e-12).all() and (t["rate"] <= t["ci_high"] + 1e-12).all()
    # same reachable cells in both modes; rolling ≥ classic
    assert (cl[["cohort", "period_index"]].values == ro[["cohort", "period_index"]].values).all()
    assert (ro["retained"].to_numpy() >= cl["retained"].to_numpy()).all()
    # rolling is non-increasing in k within a cohort
    assert (ro.groupby("cohort")["retained"].diff().dropna() <= 0).all()
    # counts add up across `by` groups
    by = cohorts.retention(members, events, period=period, by="channel", observed_until=until)
    summed = by.groupby(["cohort", "period_index"])[["cohort_size", "retained"]].sum()
    pd.testing.assert_frame_equal(summed, cl.set_index(["cohort", "period_index"])[
        ["cohort_size", "retained"]], check_dtype=False)
    # period 0 (classic) = share of members active in their join period
    m = members[members.joined_at <= until]
    ev = events[events.ts <= until]
    own = ev.merge(m, on="member_id")
    same = np.array([_label(a, period) == _label(b, period) for a, b in zip(own.ts, own.joined_at)],
                    dtype=bool)
    own = own.loc[same]
    assert cl.loc[cl.period_index == 0, "retained"].sum() == own.member_id.nunique()
    # and the brute force agrees
    ref = brute_retention(members, events, period=period, mode="rolling", by=None, until=until)
    pd.testing.assert_frame_equal(_comparable(ro, None), _comparable(ref, None), check_dtype=False)


# ----------------------------------------------------------------------------- Wilson interval
def test_wilson_matches_statsmodels():
    x = np.array([0, 1, 3, 7, 50, 99, 100, 0, 5])
    n = np.array([10, 10, 10, 30, 100, 100, 100, 1, 5])
    for alpha in (0.05, 0.1, 0.01):
        lo, hi = cohorts.wilson_interval(x, n, alpha=alpha)
        rlo, rhi = proportion_confint(x, n, alpha=alpha, method="wilson")
        np.testing.assert_allclose(lo, rlo, atol=1e-12)
        np.testing.assert_allclose(hi, rhi, atol=1e-12)
    lo, hi = cohorts.wilson_interval([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_wilson_coverage_is_close_to_nominal(rng):
    p, n, reps = 0.3, 80, 4000
    x = rng.binomial(n, p, size=reps)
    lo, hi = cohorts.wilson_interval(x, np.full(reps, n))
    cover = np.mean((lo <= p) & (p <= hi))
    assert 0.93 <= cover <= 0.97


# ----------------------------------------------------------------------------- curve, matrix, periods
def test_curve_pools_reachable_complete_cells(small):
    members, events, until = small
    t = cohorts.retention(members, events, period="W", observed_until=until)
    cur = cohorts.retention_curve(t)
    for k in (0, 3, 10):
        cells = t[(t.period_index == k) & t.complete]
        row = cur[cur.period_index == k].iloc[0]
        assert row["cohorts"] == len(cells)
        assert row["rate"] == pytest.approx(cells.retained.sum() / cells.cohort_size.sum())
    # the largest k is reached by the first cohort only (and is incomplete, so absent)
    assert cur.period_index.max() == t.loc[t.complete, "period_index"].max()
    allc = cohorts.retention_curve(t, complete_only=False)
    assert allc.period_index.max() == t.period_index.max()
    mat = cohorts.retention_matrix(t)
    assert mat.shape[0] == t.cohort.nunique()
    assert mat.isna().to_numpy().sum() == mat.size - len(t)  # unreachable = NaN, never 0


def test_period_codes_round_trip_and_iso_weeks():
    ts = pd.Series(pd.date_range("2025-12-25", periods=400, freq="17h", tz=TZ))
    for p in ("D", "W", "M"):
        codes = cohorts.period_codes(ts, p)
        starts = cohorts.period_start(codes, p, tz=TZ)
        assert (starts <= ts.to_numpy()).all()
        assert (cohorts.period_codes(pd.Series(starts), p) == codes).all()
    w = cohorts.period_start(cohorts.period_codes(ts, "W"), "W", tz=TZ)
    assert (w.dayofweek == 0).all()
    iso = ts.dt.isocalendar()
    same_week = (iso.week.diff().fillna(0) == 0).to_numpy()
    assert ((np.diff(cohorts.period_codes(ts, "W"), prepend=0) == 0)[1:] == same_week[1:]).all()


def test_default_observed_until_is_last_event(small_community):
    ds = small_community
    a = cohorts.retention(ds.members, ds.events, period="M")
    b = cohorts.retention(ds.members, ds.events, period="M", observed_until=ds.observed_until)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- layers, fission on the demo
def test_member_layers_on_demo(demo_community):
    ds = demo_community
    L = cohorts.member_layers(ds.members, ds.events)
    assert list(L.columns) == ["member_id", "layer", "recency_days", "frequency", "monetary"]
    assert len(L) == len(ds.members)
    assert list(L["layer"].cat.categories) == list(cohorts.LAYERS)
    mix = L["layer"].value_counts(normalize=True)
    assert (mix > 0.05).all()  # defaults give a usable mix on a daily-chat community
    core = L[L.layer == "核心"]
    assert (core.recency_days <= 7).all()
    assert ((core.frequency >= 12) | (core.monetary >= 300)).all()
    assert (L.loc[L.layer == "沉睡", "frequency"] == 0).all()
    assert (L.frequency <= 30).all()
    tr = cohorts.layer_transitions(ds.members, ds.events, start="2026-07-15", end="2026-08-15")
    assert len(tr) == 16
    assert tr.members.sum() == (ds.members.joined_at <= pd.Timestamp("2026-07-15", tz=TZ)).sum()
    np.testing.assert_allclose(tr.groupby("layer_from", observed=True)["share"].sum(), 1.0)


def test_referral_share_recovers_truth(demo_community, demo_truth):
    rs = cohorts.referral_share(demo_community.members, period="M", by="channel")
    tot = rs.groupby("channel")[["joined", "referred"]].sum()
    for ch, info in demo_truth["channels"].items():
        assert tot.loc[ch, "joined"] == info["members"]
        assert tot.loc[ch, "referred"] / tot.loc[ch, "joined"] == pytest.approx(
            info["referral_share"], abs=1e-4)
    inv = cohorts.invites_per_inviter(demo_community.members)
    assert inv.invited.sum() == demo_community.members.referrer_id.notna().sum()
    k = cohorts.k_factor(demo_community.members, period="M", by="channel")
    whole = cohorts.k_factor(demo_community.members, period="M", by=None)
    per = k.groupby("period")[["base_members", "referred_joins"]].sum()
    assert per.base_members.tolist() == whole.base_members.tolist()
    assert per.referred_joins.tolist() == whole.referred_joins.tolist()


def test_summary_markdown_is_built_from_values(small):
    members, events, until = small
    g = cohorts.growth(members, events, period="W", observed_until=until)
    nd = cohorts.n_day_retention(members, events, days=[7, 30], observed_until=until)
    ndb = cohorts.n_day_retention(members, events, days=[7, 30], by="channel", observed_until=until)
    L = cohorts.member_layers(members, events, as_of=until)
    text = cohorts.summary_markdown(growth_table=g, n_day=nd, n_day_by=ndb, layers=L, period="W")
    d30 = nd[nd.day == 30].iloc[0]
    assert f"D30 {100 * d30.rate:.1f}%" in text
    assert f"n={int(d30.eligible)}" in text
    at = ndb[(ndb.day == 30) & (ndb.eligible >= 30)].sort_values("rate")
    # issue 15 item 11 changed this assertion: "best"/"worst" only where intervals do not
    # overlap; otherwise the range is given and no channel is called best
    top, others = at.iloc[-1], at.iloc[:-1]
    apart = (top.ci_low > others.ci_high).all()
    by_line = next(x for x in text.splitlines() if "**By channel**" in x)
    if len(at) == 1:
        assert "only one channel" in by_line and "best" not in by_line
    elif apart:
        assert f"best {top.channel}" in by_line
    else:
        assert "best " not in by_line.replace("best or worst", "")
        assert "is best or worst" in by_line
        assert top.channel in by_line and at.iloc[0].channel in by_line
    assert "核心" in text and "stickiness" in text
    assert "**Caveats**" in text and "Where to look below" in text
    if not g["complete"].iloc[-1]:
        assert f"last week ({g['period'].iloc[-1]:%Y-%m-%d}) is still running" in text
    assert cohorts.summary_markdown(growth_table=g.iloc[:0], n_day=nd.iloc[:0]).startswith("_No")


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs,words", [
    (dict(period="Q"), ["period='Q'", "'W'"]),
    (dict(mode="bracket"), ["mode='bracket'", "'rolling'"]),
    (dict(by="city"), ["by='city'", "channel"]),
    (dict(by=["channel", "nope"]), ["'nope'"]),
    (dict(active_types=["checkin"]), ["'checkin'", "message"]),
    (dict(observed_until="yesterday-ish"), ["observed_until"]),
])
def test_bad_parameters_raise_clear_errors(small_community, kwargs, words):
    ds = small_community
    with pytest.raises(ParameterError) as info:
        cohorts.retention(ds.members, ds.events, **kwargs)
    for w in words:
        assert w in str(info.value)


def test_other_bad_parameters(small_community, hand):
    ds = small_community
    with pytest.raises(ParameterError, match="days"):
        cohorts.n_day_retention(ds.members, ds.events, days=[-1])
    with pytest.raises(ParameterError, match="recent_days"):
        cohorts.member_layers(ds.members, ds.events, recent_days=40, window_days=30)
    with pytest.raises(ParameterError, match="labels"):
        cohorts.member_layers(ds.members, ds.events, labels="fr")
    with pytest.raises(ParameterError, match="referrer_id"):
        cohorts.k_factor(ds.members.drop(columns="referrer_id"))
    with pytest.raises(ParameterError, match="start"):
        cohorts.layer_transitions(ds.members, ds.events, start="2026-05-01", end="2026-04-01")
    with pytest.raises(ParameterError, match="value"):
        cohorts.retention_matrix(cohorts.retention(ds.members, ds.events), value="nope")


# ----------------------------------------------------------------------------- the notebook on other data
def test_notebook_runs_on_other_contract_data(small_dir, tmp_path):
    """01 under papermill on a dataset with string ids, no optional tables or columns, another
    time range (across a new year) and injected parameters."""
    import papermill as pm

    from helpers import config

    members = pd.read_csv(small_dir / "members.csv", dtype=str)
    events = pd.read_csv(small_dir / "events.csv", dtype=str)
    shift = pd.Timestamp("2025-11-10") - pd.Timestamp(members.joined_at.min()).normalize()
    members = members.drop(columns=["referrer_id", "left_at"])
    members["member_id"] = "u" + members.member_id
    events["member_id"] = "u" + events.member_id
    members["joined_at"] = (pd.to_datetime(members.joined_at) + shift).astype(str)
    events["ts"] = (pd.to_datetime(events.ts) + shift).astype(str)
    folder = tmp_path / "other"
    folder.mkdir()
    members.to_csv(folder / "members.csv", index=False)
    events[["member_id", "ts", "event_type"]].to_csv(folder / "events.csv", index=False)
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(config.NOTEBOOKS_DIR / "01_cohort_retention.ipynb"), str(out),
                        parameters=dict(dataset=str(folder), language="en", period="M",
                                        mode="rolling", by="",
                                        active_types=["message", "purchase"],
                                        observed_until="2026-02-20", max_periods=4),
                        kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    import nbformat

    nb = nbformat.read(out, as_version=4)
    text = "".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells
                   if c.cell_type == "code" for o in c.get("outputs", []))
    assert "N-day retention" in text and "Fission" not in text


# ----------------------------------------------------------------------------- engine paths
def test_hash_fallback_and_factorised_ids_give_the_same_pairs(small, monkeypatch):
    members, events, until = small
    ref = cohorts.member_period_activity(events, period="D", until=until)
    from helpers.cohorts import _common

    monkeypatch.setattr(_common, "BITMAP_LIMIT", 0)
    hashed = cohorts.member_period_activity(events, period="D", until=until)
    pd.testing.assert_frame_equal(ref, hashed)
    sparse = events.assign(member_id=events.member_id * 10**9)  # ids too spread for offsets
    got = cohorts.member_period_activity(sparse, period="D", until=until)
    key = lambda f: sorted(zip(f.member_id, f.period))  # noqa: E731
    assert key(got) == [(m * 10**9, p) for m, p in key(ref)]
    brute = {(m, (t.tz_localize(None) - pd.Timestamp("1970-01-01")).days)
             for m, t in zip(events.member_id, events.ts) if t <= until}
    assert set(key(ref)) == brute


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
def test_wall_clock_fast_path_matches_pandas(tz):
    for start in ("2026-01-05", "2026-03-20"):  # without and across a DST switch
        ts = pd.Series(pd.date_range(start, periods=20_000, freq="7min", tz=tz))
        expected = ts.dt.tz_localize(None).to_numpy().view("i8")
        np.testing.assert_array_equal(_time.wall_ns(ts), expected)


def test_docstring_examples_run():
    import doctest

    import importlib

    attempted = failed = 0
    for name in ("activity", "retention", "growth", "layers", "fission", "report"):
        module = importlib.import_module(f"helpers.cohorts.{name}")
        result = doctest.testmod(module, extraglobs={"pd": pd}, optionflags=doctest.ELLIPSIS)
        attempted, failed = attempted + result.attempted, failed + result.failed
    result = type("Result", (), {"attempted": attempted, "failed": failed})
    assert result.attempted >= 5 and result.failed == 0


# ----------------------------------------------------------------------------- shared rules (issue 10)
def test_fission_defaults_to_the_end_of_observation_the_last_event(hand):
    """fission_table and k_factor end at the last EVENT (as every analysis), not the last join."""
    members, events, _ = hand  # last join 03-20 (week of 03-16); last event 03-24 (week of 03-23)
    last_event = events["ts"].max()
    for fn in (cohorts.k_factor, cohorts.fission_table):
        got = fn(members, period="W", by=None, events=events)
        same = fn(members, period="W", by=None, observed_until=last_event)
        pd.testing.assert_frame_equal(got, same)
        assert got["period"].max() == pd.Timestamp("2026-03-23", tz=TZ)
        assert got["complete"].tolist() == [True, True, True, False]  # 03-23 week still running
    pd.testing.assert_frame_equal(
        cohorts.referral_share(members, period="W", events=events),
        cohorts.referral_share(members, period="W", observed_until=last_event))
    f = cohorts.fission_table(members, period="W", by=None, events=events)
    assert f["base_members"].iloc[-1] == 4  # a, b, d, e at the start of 03-23 (c left 03-12)
    # the end is the same one retention uses
    r = cohorts.retention(members, events, period="W")
    assert r["cohort"].max() + pd.Timedelta(weeks=int(r["period_index"].max())) >= f["period"].max()


@pytest.mark.parametrize("text_ids", [False, True])
def test_empty_active_types_is_the_same_parameter_error_everywhere(demo_community, text_ids):
    ds = demo_community
    members, events = ds.members, ds.events
    if text_ids:
        members = members.assign(member_id="m" + members.member_id.astype(str))
        events = events.assign(member_id="m" + events.member_id.astype(str))
    calls = [
        lambda: cohorts.retention(members, events, active_types=[]),
        lambda: cohorts.n_day_retention(members, events, active_types=[]),
        lambda: cohorts.growth(members, events, active_types=[]),
        lambda: cohorts.lifecycle(members, events, active_types=[]),
        lambda: cohorts.member_layers(members, events, active_types=[]),
        lambda: cohorts.layer_transitions(members, events, active_types=[]),
        lambda: cohorts.member_period_activity(events, active_types=[]),
    ]
    messages = set()
    for call in calls:
        with pytest.raises(ParameterError) as info:
            call()
        messages.add(str(info.value))
    assert len(messages) == 1 and "names no event type" in messages.pop()


def test_layer_rules_are_validated_settings():
    rules = cohorts.LayerRules(window_days=14, recent_days=3)
    with pytest.raises(Exception):
        rules.window_days = 20  # frozen
    for bad in (dict(window_days=0), dict(recent_days=40), dict(core_frequency=1.5),
                dict(core_monetary=-1)):
        with pytest.raises(ParameterError):
            cohorts.LayerRules(**bad)
    with pytest.raises(ParameterError, match="unknown layer threshold"):
        cohorts.LayerRules.of(recent_day=3)
    assert cohorts.LayerRules.of(rules, recent_days=5) == cohorts.LayerRules(14, 5)


def test_member_layers_take_rules_or_thresholds_alike(hand):
    members, events, until = hand
    kw = dict(window_days=20, recent_days=10, core_frequency=3, active_frequency=1,
              core_monetary=40)
    a = cohorts.member_layers(members, events, as_of=until, **kw)
    b = cohorts.member_layers(members, events, as_of=until, rules=cohorts.LayerRules(**kw))
    pd.testing.assert_frame_equal(a, b)
    import inspect

    assert len([p for p in inspect.signature(cohorts.member_layers).parameters.values()
                if p.kind is not p.VAR_KEYWORD]) <= 8


@pytest.mark.parametrize("text_ids", [False, True])
def test_empty_active_types_same_error_in_retention_churn_and_experiments(demo_community,
                                                                          text_ids):
    """Issue 10 acceptance: one outcome for active_types=[] in the three analyses."""
    import dataclasses

    from helpers import exp_metrics, survival

    ds = demo_community
    if text_ids:
        ds = dataclasses.replace(
            ds, members=ds.members.assign(member_id="m" + ds.members.member_id.astype(str)),
            events=ds.events.assign(member_id="m" + ds.events.member_id.astype(str)))
        assert ds.members.member_id.iloc[0].startswith("m")
    exp_id = ds.experiments["experiment_id"].iloc[0]
    calls = [lambda: cohorts.retention(ds.members, ds.events, active_types=[]),
             lambda: survival.churn_table(ds.members, ds.events, active_types=[]),
             lambda: exp_metrics.experiment_metrics(ds, exp_id, active_types=[])]
    messages = set()
    for call in calls:
        with pytest.raises(ParameterError) as info:
            call()
        messages.add(str(info.value))
    assert len(messages) == 1
