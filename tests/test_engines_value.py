"""Cross-engine tests of reports 03 and 04: pandas, DuckDB and Spark give identical results.

The event-level steps of the value, conversion and arm-survival analyses (purchase summaries,
purchase days with their amounts, event counts, members with an event in a window, activity
takers) are compared with pandas computations written out here; every analysis that takes
``events`` (``value_per_member``, ``channel_scorecard``, ``rfm_summary``, ``repeat_purchase``,
``activity_review``, ``conversion_report``, ``survival_by_arm``) with its own DataFrame path,
floats to 1e-9.

Data: the edge datasets and the synthetic one of ``tests/test_engines.py`` (its fixtures), and
the edge datasets with what the value steps must get right besides: a purchase dated before the
member joined (kept with ``pre_join_events="keep"``), purchases without an amount (one on a day
with priced purchases, one alone on its day), an ``activity_join`` that names no activity and
an activities table (a community-wide activity, a group activity, one no event names, one after
the end of observation). Spark: a few cases, its queries cost seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import conversion, data, engine, exp_metrics, value
from helpers.engine import load, purchases
from test_engines import DATASETS, edge_dirs, loaded, spark_session, synth_dir  # noqa: F401

LAZY = ["duckdb", "spark"]
_CACHE: dict = {}


def zone(name: str) -> str:
    return "Asia/Shanghai" if name == "synth" else name


def close(have, want, obj=""):
    pd.testing.assert_frame_equal(have, want, check_exact=False, rtol=1e-9, atol=1e-9, obj=obj)


# ----------------------------------------------------------------------------- data
def _plus_tables(folder, tz):
    """The edge tables of ``folder`` with the value edges added (see the module docstring)."""
    members = pd.read_parquet(folder / "members.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    ids = members["member_id"].tolist()

    def t(s):
        return pd.Timestamp(s, tz=tz)

    extra = pd.DataFrame({
        "member_id": [ids[1], ids[0], ids[2], ids[3], ids[4]],
        "ts": pd.DatetimeIndex([t("2026-02-26 20:00"), t("2026-04-01 10:00"),
                                t("2026-03-15 12:00"), t("2026-04-12 09:00"),
                                t("2026-04-13 00:30")]),
        "event_type": ["purchase", "purchase", "purchase", "activity_join", "activity_join"],
        "activity_id": [None, None, None, None, None],
        "amount": [40.0, None, None, None, None],
    })  # pre-join purchase; unpriced on a priced day; unpriced alone; two unnamed joins
    events = pd.concat([events, extra], ignore_index=True).sort_values("ts", ignore_index=True)
    activities = pd.DataFrame({
        "activity_id": ["a1", "a2", "a3", "a4"], "activity_type": ["qa", "live", "check_in", "qa"],
        "name": ["问答", "直播", "打卡", "问答"],
        "starts_at": [t("2026-03-05 09:00"), t("2026-04-05 20:00"), t("2026-04-12 00:00"),
                      t("2026-07-01 09:00")],
        "ends_at": [t("2026-04-01 00:00"), t("2026-04-06 00:00"), t("2026-04-13 00:00"),
                    t("2026-07-02 09:00")],
        "group_id": [None, "g3", None, None]})
    return members, events, activities


@pytest.fixture(scope="module")
def plus_dirs(edge_dirs, tmp_path_factory):
    root = tmp_path_factory.mktemp("engines_value")
    out = {}
    for tz, folder in edge_dirs.items():
        members, events, activities = _plus_tables(folder, tz)
        target = root / folder.name
        target.mkdir()
        load.write_parquet(members, target / "members.parquet")
        load.write_parquet(events, target / "events.parquet")
        load.write_parquet(activities, target / "activities.parquet")
        out[tz] = target
    return out


@pytest.fixture
def plus(request, plus_dirs):
    """``plus(zone, engine)`` -> the edge dataset with the value edges, pre-join events kept."""
    def get(tz: str, eng: str):
        if eng == "spark":
            request.getfixturevalue("spark_session")
        key = (tz, eng)
        if key not in _CACHE:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _CACHE[key] = data.load_community(plus_dirs[tz], tz=tz, engine=eng,
                                                  pre_join_events="keep")
        return _CACHE[key]
    return get


# ----------------------------------------------------------------------------- references
def purchase_summary_reference(members, events, horizon_days, until):
    """Per member: purchases from joining up to ``until``, written out in pandas."""
    m = members[["member_id", "joined_at"]]
    ev = events[(events["event_type"].astype(str) == "purchase") & (events["ts"] <= until)]
    ev = ev.merge(m, on="member_id")
    ev = ev[ev["ts"] >= ev["joined_at"]].assign(amount=ev["amount"].astype(float).fillna(0.0))
    inside = ev["ts"] < ev["joined_at"] + pd.Timedelta(days=horizon_days)
    ev = ev.assign(w=inside.astype(np.int64), ws=ev["amount"].where(inside, 0.0))
    g = ev.groupby("member_id", sort=True)
    got = pd.DataFrame({"purchases": g.size().astype(np.int64),
                        "first_purchase_at": g["ts"].min(), "last_purchase_at": g["ts"].max(),
                        "spend": g["amount"].sum(), "window_purchases": g["w"].sum(),
                        "window_spend": g["ws"].sum()})
    out = got.reindex(pd.Index(sorted(m["member_id"]), name="member_id")).reset_index()
    for c in ("purchases", "window_purchases"):
        out[c] = out[c].fillna(0).astype(np.int64)
    for c in ("spend", "window_spend"):
        out[c] = out[c].fillna(0.0)
    for c in ("first_purchase_at", "last_purchase_at"):
        out[c] = out[c].dt.as_unit("ns")
    return out


def day_totals_reference(events, tz, until):
    """Purchases per (member, local day) and the day's amount (NaN when none is priced)."""
    buy = events[(events["event_type"].astype(str) == "purchase") & (events["ts"] <= until)]
    day = buy["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    buy = buy.assign(day=(day - pd.Timestamp("1970-01-01")).dt.days.astype(np.int64))
    g = buy.groupby(["member_id", "day"], sort=True)
    return pd.DataFrame({"purchases": g.size().astype(np.int64),
                         "amount": g["amount"].sum(min_count=1).astype(float)}).reset_index()


def window_counts_reference(events, windows, tz, types):
    """Active local days and purchases per (window, member), window by window in pandas."""
    parts = []
    for w in windows.itertuples(index=False):
        ev = events[(events["ts"] >= w.start) & (events["ts"] < w.end)]
        et = ev["event_type"].astype(str)
        day = ev["ts"].dt.tz_convert(tz).dt.date
        day = day.where(et.isin(types)) if types else day
        f = pd.DataFrame({"member_id": ev["member_id"].to_numpy(), "day": day.to_numpy(),
                          "buy": (et == "purchase").to_numpy()})
        g = f.groupby("member_id", sort=True)
        parts.append(pd.DataFrame({"window_id": w.window_id,
                                   "active_days": g["day"].nunique().astype(np.int64),
                                   "purchases": g["buy"].sum().astype(np.int64)}).reset_index())
    out = pd.concat(parts, ignore_index=True)
    return out[["window_id", "member_id", "active_days", "purchases"]].astype(
        {"window_id": np.int64})


# ----------------------------------------------------------------------------- the steps
@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin"])
def test_value_steps_match_pandas_computations(plus, eng, tz):
    """Purchase summary, purchase day totals, window counts, event counts and members in a
    window."""
    if eng == "spark" and tz != "Europe/Berlin":
        pytest.skip("Spark: the daylight-saving zone only (its queries cost seconds)")
    ref, got = plus(tz, "pandas"), plus(tz, eng)
    end = ref.observed_until
    early = end - pd.Timedelta(days=40)
    cases = [(90, end), (30, early)] if eng == "duckdb" else [(30, early)]
    for horizon, until in cases:
        want = purchase_summary_reference(ref.members, ref.events, horizon, until)
        have = purchases.purchase_summary(got.events, ref.members, horizon_days=horizon, until=until,
                                    tz=tz)
        assert want["window_purchases"].sum() > 0
        if horizon == 30:  # member 1's purchases come 39 days after joining
            assert want["purchases"].sum() > want["window_purchases"].sum()
        close(have, want, f"purchase_summary {horizon} {until}")
    assert purchase_summary_reference(ref.members, ref.events, 90, end)["purchases"].sum() == \
        (ref.events["event_type"] == "purchase").sum() - 1  # the pre-join purchase is not counted
    for until in (end, early):
        want = day_totals_reference(ref.events, tz, until)
        assert want["amount"].isna().sum() == (1 if until == end else 0) or until == early
        close(purchases.purchase_day_totals(got.events, observed_until=until, tz=tz), want)
    for types, until in ((None, None), ("purchase", early), (["message", "share"], end)):
        assert purchases.count_events(got.events, event_types=types, until=until, tz=tz) == \
            purchases.count_events(ref.events, event_types=types, until=until) > 0
    windows = pd.DataFrame({"window_id": [0, 1, 2],  # overlapping; the DST night; the end
                            "start": [t0 := pd.Timestamp("2026-03-01", tz=tz),
                                      pd.Timestamp("2026-03-28 12:00", tz=tz), early],
                            "end": [t0 + pd.Timedelta(days=40),
                                    pd.Timestamp("2026-04-01 00:30", tz=tz), end]})
    for types in (None, ["message", "check_in"]):
        want = window_counts_reference(ref.events, windows, tz, types)
        assert want["active_days"].max() >= 2 and want["purchases"].sum() > 0
        close(purchases.window_counts(got.events, windows, active_types=types, tz=tz), want)
    since, before = pd.Timestamp("2026-03-08 23:59", tz=tz), pd.Timestamp("2026-04-01 00:30", tz=tz)
    ev = ref.events
    want = np.sort(ev.loc[(ev["ts"] >= since) & (ev["ts"] < before), "member_id"].unique())
    have = purchases.members_between(got.events, since=since, before=before, tz=tz)
    assert len(want) >= 3 and have.tolist() == want.tolist()  # both ends: 23:59 in, 00:30 out


@pytest.mark.parametrize("eng", LAZY)
def test_activity_takers_named_and_unnamed(plus, eng):
    """Named activities by their events in the window; an activity no event names by the
    ``activity_join`` events naming none (one inside its window, one after it)."""
    tz = "Europe/Berlin"
    ref, got = plus(tz, "pandas"), plus(tz, eng)
    have = purchases.activity_takers(got.events, ref.activities, until=ref.observed_until, tz=tz)
    ids = ref.members["member_id"].tolist()
    want = pd.DataFrame({"member_id": [ids[1], ids[2], ids[3], ids[4]],
                         "activity_id": ["a1", "a1", "a3", "a2"]})
    want = want.sort_values(["member_id", "activity_id"], ignore_index=True)
    pd.testing.assert_frame_equal(have, want.astype(object))


# ----------------------------------------------------------------------------- the analyses
@pytest.mark.parametrize("name", ["Asia/Shanghai", "Europe/Berlin", "synth"])
def test_value_per_member_and_scorecard_identical(loaded, plus, name):
    get = (lambda e: loaded(name, e)) if name == "synth" else (lambda e: plus(name, e))
    ref, got = get("pandas"), get("duckdb")
    end = ref.observed_until
    for kw in ({}, {"horizon_days": 30, "observed_until": end - pd.Timedelta(days=10)}):
        want = conversion.value_per_member(ref.members, ref.events, **kw)
        assert (want["eligible"] > 0).any() and (want["value"] > 0).any()
        close(conversion.value_per_member(got.members, got.events, **kw), want, str(kw))
    want = conversion.channel_scorecard(ref.members, ref.events)
    have = conversion.channel_scorecard(got.members, got.events)
    close(have, want)
    assert have.attrs == want.attrs
    if name == "synth":
        assert want["value_eligible"].sum() > 0 and want["value_90d"].gt(0).sum() >= 3
        kw = dict(observed_until=end - pd.Timedelta(days=5), active_types=["message"])
        close(conversion.channel_scorecard(got.members, got.events, **kw),
              conversion.channel_scorecard(ref.members, ref.events, **kw))


def test_value_per_member_on_spark(loaded):
    ref, got = loaded("synth", "pandas"), loaded("synth", "spark")
    want = conversion.value_per_member(ref.members, ref.events)
    assert want["value"].gt(0).sum() >= 3
    close(conversion.value_per_member(got.members, got.events), want)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin"])
def test_rfm_summary_identical_on_the_edges(plus, tz):
    """Local days on both sides of midnight and of the DST switch; unpriced purchases."""
    ref, got = plus(tz, "pandas"), plus(tz, "duckdb")
    end = ref.observed_until
    for kw in ({"time_unit_days": 1}, {"by": "channel"},
               {"observed_until": end - pd.Timedelta(days=60), "time_unit_days": 1}):
        want = value.rfm_summary(ref.members, ref.events, **kw)
        assert len(want) >= 2 and (want["frequency"] > 0).any()
        close(value.rfm_summary(got.members, got.events, **kw), want, str(kw))
    want = value.rfm_summary(ref.members, ref.events, time_unit_days=1)
    m0 = want.iloc[0]  # member 1: 31 March 30.0; 1 April 12.5 + 7.25 + an unpriced purchase
    assert (m0["frequency"], m0["recency"], m0["monetary_value"]) == (1, 1.0, 19.75)


def test_repeat_purchase_identical(loaded):
    ref, got = loaded("synth", "pandas"), loaded("synth", "duckdb")
    for kw in ({"by": "channel"}, {"observed_until": ref.observed_until - pd.Timedelta(days=7),
                                   "time_unit_days": 1, "horizon_days": 30}):
        want = value.repeat_purchase(ref.members, ref.events, **kw)
        have = value.repeat_purchase(got.members, got.events, **kw)
        assert want.fitted and len(want.holdout) and want.notes == have.notes
        assert have.params == pytest.approx(want.params, rel=1e-9)
        assert have.spend_params == pytest.approx(want.spend_params, rel=1e-9)
        for part in ("members", "by_level", "holdout"):
            close(getattr(have, part), getattr(want, part), part)
        hs, ws = have.holdout_summary, want.holdout_summary
        assert hs.pop("params") == pytest.approx(ws.pop("params"), rel=1e-9) and hs == ws


def _review_frames(r):
    return {"activities": r.activities, "by_layer": r.by_layer, "by_type": r.by_type,
            "before_after": r.before_after}


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("name", ["Europe/Berlin", "synth"])
def test_activity_review_identical(loaded, plus, eng, name):
    if eng == "spark" and name == "synth":
        pytest.skip("Spark: the edge dataset only (ten member-layer tables of seconds each)")
    get = (lambda e: loaded(name, e)) if name == "synth" else (lambda e: plus(name, e))
    ref, got = get("pandas"), get(eng)
    kws = [dict(experiments=ref.experiments, assignments=ref.assignments)]
    if name != "synth":
        kws = [dict(detail=["a1", "a2", "a3"], window_days=7)]
    elif eng == "duckdb":
        kws += [dict(detail=3, observed_until=ref.observed_until - pd.Timedelta(days=20),
                     active_types=["message", "check_in"])]
    for kw in kws:
        want = conversion.activity_review(ref.members, ref.events, ref.activities, **kw)
        have = conversion.activity_review(got.members, got.events, got.activities, **kw)
        assert want.activities["participants"].sum() > 0 and len(want.before_after)
        assert have.detail_ids == want.detail_ids and have.notes == want.notes
        for part, frame in _review_frames(want).items():
            close(_review_frames(have)[part], frame, f"{part} {kw}")
    if name != "synth":  # the unnamed activity counts the join inside its window only
        row = want.activities.set_index("activity_id").loc["a3"]
        assert (row["eligible"], row["participants"]) == (6, 1)
        assert "a4" not in want.activities["activity_id"].tolist()  # starts after the end


@pytest.mark.parametrize("experiment", ["exp_checkin_member", "exp_live_group"])
def test_survival_by_arm_identical(loaded, experiment):
    ref, got = loaded("synth", "pandas"), loaded("synth", "duckdb")
    kw = dict(horizon_days=30, inactivity_days=14, n_bootstrap=40)
    want = exp_metrics.survival_by_arm(ref, experiment, **kw)
    have = exp_metrics.survival_by_arm(got, experiment, **kw)
    assert len(want.rmst) and want.excluded == have.excluded
    assert sum(n for _, n, _ in want.excluded) > 0  # some members gone at the start
    for part in ("data", "km", "rmst"):
        close(getattr(have, part), getattr(want, part), part)
    assert have.warnings == want.warnings and have.follow_up_days == want.follow_up_days


def test_conversion_report_identical(loaded):
    """Report 04 end to end: every table and the summary's text."""
    ref, got = loaded("synth", "pandas"), loaded("synth", "duckdb")

    def build(c):
        return conversion.conversion_report(
            c.members, c.events, activities=c.activities, memberships=c.memberships,
            experiments=c.experiments, assignments=c.assignments, review_detail=3)
    want, have = build(ref), build(got)
    assert have.skipped == want.skipped and have.observed_until == want.observed_until
    assert have.has_purchases and have.members == want.members
    for part in ("funnel_all", "funnel_by", "ttp_daily", "scorecard", "leaders"):
        close(getattr(have, part), getattr(want, part), part)
    close(have.ttp.table, want.ttp.table)
    close(have.repeat.by_level, want.repeat.by_level)
    close(have.review.activities, want.review.activities)
    for lang in ("zh", "en"):
        assert conversion.render_summary(have, lang) == conversion.render_summary(want, lang)
        for section in conversion.SECTIONS:
            assert conversion.render_note(have, section, lang) == \
                conversion.render_note(want, section, lang)


def test_lazy_reports_need_no_event_log_in_memory(loaded, monkeypatch):
    """On a lazy table the analyses never materialise the events: every table an engine
    query returns (Ibis ``Table.to_pyarrow``) is a small per-member or per-window table."""
    from ibis.expr.types.relations import Table

    got = loaded("synth", "duckdb")
    rows = engine.n_rows(got.events)
    fetched = []
    original = Table.to_pyarrow

    def counting(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        fetched.append(out.num_rows)
        return out
    monkeypatch.setattr(Table, "to_pyarrow", counting)
    value.repeat_purchase(got.members, got.events)
    conversion.activity_review(got.members, got.events, got.activities, detail=2)
    conversion.value_per_member(got.members, got.events)
    exp_metrics.survival_by_arm(got, "exp_checkin_member", n_bootstrap=10)
    assert len(fetched) >= 8 and max(fetched) < rows / 4


# ----------------------------------------------------------------------------- funnel windows
#: windows around the edge data's steps: member 1 joined 20 Feb 10:00 and bought on 31 March
#: 23:30 then on 1 April 00:30 (a later local day): 39.5625 and 39.6042 days on the Shanghai
#: wall clock; Berlin's summer time makes them an hour shorter (39.5208, 39.5625)
FUNNEL_WINDOWS = [9.5, 39.54, 39.58, 30, 45]


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin"])
def test_funnels_cut_from_a_longer_window(plus, eng, tz, monkeypatch):
    """After one query of the step times over 90 days, funnels of shorter windows are cut from
    it with no further query, and equal the pandas funnels (and a fresh query) of each window:
    a step at or after the window's end is not reached, nor the steps after it."""
    if eng == "spark" and tz == "Asia/Shanghai":
        pytest.skip("Spark: the Berlin edge data only (its queries cost seconds)")
    import importlib
    funnel_module = importlib.import_module("helpers.conversion.funnel")

    ref, got = plus(tz, "pandas"), plus(tz, eng)
    funnel_module._TIMES.clear()
    funnel_module.prefetch_step_times(got.members, got.events, window_days=90)
    queries = []
    real = funnel_module.engine_step_times
    monkeypatch.setattr(funnel_module, "engine_step_times",
                        lambda *a, **k: queries.append(1) or real(*a, **k))
    wants = {}
    for w in FUNNEL_WINDOWS:
        for by in (None, "channel"):
            want = conversion.funnel(ref.members, ref.events, window_days=w, by=by)
            have = conversion.funnel(got.members, got.events, window_days=w, by=by)
            close(have, want, f"{tz} {eng} {w} {by}")
            wants[w, by] = want
    assert queries == []
    steps = {w: wants[w, None].set_index("step")["converted"] for w in FUNNEL_WINDOWS}
    # the planted edges: Shanghai's first purchase, Berlin's repurchase between 39.54 and 39.58
    grew = "purchased" if tz == "Asia/Shanghai" else "repurchased"
    assert steps[39.58][grew] == steps[39.54][grew] + 1
    assert (steps[39.58].drop(grew) == steps[39.54].drop(grew)).all()
    # a longer window than the one fetched asks the engine again (and is right)
    close(conversion.funnel(got.members, got.events, window_days=120),
          conversion.funnel(ref.members, ref.events, window_days=120), "120 days")
    assert queries == [1]
    funnel_module._TIMES.clear()


# ----------------------------------------------------------------------------- before/after windows
@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin"])
def test_window_totals_in_two_scans_match_pandas(plus, eng, tz):
    """``engine.api.window_totals`` (the activity review's before/after windows from one
    (member, local day) scan and one purchase scan) gives the window-by-window pandas counts:
    bounds mid-day (an active day counts only by its events inside), at local midnight, on the
    week edge, across the DST night, overlapping windows, one shorter than a day (the
    per-window query), the end of observation; all types and a subset."""
    from helpers.engine.api import window_totals

    if eng == "spark" and tz != "Europe/Berlin":
        pytest.skip("Spark: the daylight-saving zone only (its queries cost seconds)")
    ref, got = plus(tz, "pandas"), plus(tz, eng)
    t = lambda s: pd.Timestamp(s, tz=tz)  # noqa: E731
    windows = pd.DataFrame({"window_id": [0, 1, 2, 3, 4, 5, 6, 7], "start": [
        t("2026-03-01"), t("2026-03-28 12:00"), t("2026-03-01 23:15"), t("2026-03-31 23:31"),
        t("2026-03-29 01:00"), t("2026-03-09 00:00"), ref.observed_until - pd.Timedelta(days=40),
        t("2026-03-02 00:10")],
        "end": [t("2026-04-10"), t("2026-04-01 00:30"), t("2026-03-02 00:30"),
                t("2026-04-01 09:00"), t("2026-03-29 03:30"), t("2026-04-06"),
                ref.observed_until + pd.Timedelta(seconds=1), t("2026-03-02 00:40")]})
    for types in (None, ["message", "check_in"]):
        want = window_counts_reference(ref.events, windows, tz, types)
        want = want.loc[(want["active_days"] > 0) | (want["purchases"] > 0)]
        want = want.reset_index(drop=True)
        assert want["active_days"].max() >= 2 and want["purchases"].sum() > 0
        assert set(want["window_id"]) == set(range(8))
        have = window_totals(got.events, windows, active_types=types, tz=tz)
        close(have, want, f"window_totals {types}")
        # the 23:31 start leaves out member 1's 23:30 purchase, the 09:00 end its 09:00 one
        row = want.loc[want["window_id"] == 3]
        assert row["purchases"].tolist() == [1] and row["active_days"].tolist() == [0 if types else 1]
        # 23:15 to 00:30: the Sunday 23:30 message's day only (the Monday 00:30 is the end)
        assert want.loc[want["window_id"] == 2, "active_days"].tolist() == [1]


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin"])
def test_step_times_equal_the_numpy_path(plus, eng, tz):
    """The engine's funnel step times (two queries: the first step over every event of the
    windows, the later steps over their types only) equal the funnel's numpy path: default
    steps, a subset of active types (a purchase is then not an active event), custom steps, an
    earlier end, short and long windows."""
    import importlib
    funnel = importlib.import_module("helpers.conversion.funnel")
    if eng == "spark" and tz != "Europe/Berlin":
        pytest.skip("Spark: the daylight-saving zone only (its queries cost seconds)")
    ref, got = plus(tz, "pandas"), plus(tz, eng)
    early = got.observed_until - pd.Timedelta(days=40)
    cases = [dict(window_days=90), dict(window_days=39.58, active_types=["message", "check_in"]),
             dict(window_days=45, steps=["activity_join", "purchase", "message"],
                  observed_until=early),
             dict(window_days=0.5)]
    reached = 0
    for kw in cases:
        want, names = funnel.step_times(ref.members, ref.events, **kw)
        have, _ = funnel.step_times(ref.members, got.events, **kw)
        pd.testing.assert_frame_equal(have, want, obj=str(kw))
        reached += int(want[names[-1]].notna().sum())
    assert reached >= 2
