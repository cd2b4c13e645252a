"""Cross-engine tests: pandas (numpy path), DuckDB and Spark give identical results.

Small hand-made datasets put events on the edges that break engines: Sunday 23:30 and Monday
00:30 local (ISO week edge), 31 March 23:30 and 1 April 00:30 (month edge), the night Berlin
switches to summer time, text member ids, an earlier ``observed_until`` and events dated before
the member joined (dropped by the loader on every engine). Every step defined in
:mod:`helpers.engine._ibis` is compared with the pandas path (or, for the steps only the lazy
engines run, with a pandas computation written out here), floats to 1e-9.

Spark: one ``local[2]`` session for the test run (UI off, two shuffle partitions). A missing
Spark (pyspark or Java) fails under ``CI=true`` and skips on a laptop.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import data, engine, synth
from helpers.engine import load
from helpers.errors import AnalysisWarning, DataError, ParameterError

ENGINES = ["pandas", "duckdb", "spark"]
LAZY = ["duckdb", "spark"]


# ----------------------------------------------------------------------------- data
def _edge_tables(tz: str, text_ids: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members and events with every edge case, local times written in ``tz``."""
    def t(s):
        return pd.Timestamp(s, tz=tz)

    ids = [f"m{i:03d}" if text_ids else 100 + i for i in range(1, 7)]
    members = pd.DataFrame({
        "member_id": ids,
        "joined_at": [t("2026-02-20 10:00"), t("2026-02-27 12:00"), t("2026-03-05 09:00"),
                      t("2026-03-20 18:00"), t("2026-03-28 08:00"), t("2026-04-10 12:00")],
        "channel": ["海报裂变", "邀请码", "线下活动", "海报裂变", "邀请码", "线下活动"],
        "group_id": ["g1", "g1", "g2", "g2", "g3", "g3"],
    })
    rows = [  # (member index, local time, type, activity, amount)
        (0, "2026-03-01 23:30", "message", None, None),        # Sunday 23:30: ISO week 9
        (0, "2026-03-02 00:30", "message", None, None),        # Monday 00:30: ISO week 10
        (0, "2026-03-31 23:30", "purchase", None, 30.0),       # month edge: March
        (0, "2026-04-01 00:30", "purchase", None, 12.5),       # April, a later local day
        (0, "2026-04-01 09:00", "purchase", None, 7.25),       # same day again
        (1, "2026-02-27 11:00", "message", None, None),        # before joining: dropped
        (1, "2026-03-29 01:30", "check_in", None, None),       # Berlin: before the switch
        (1, "2026-03-29 03:30", "check_in", None, None),       # Berlin: after the switch
        (1, "2026-03-29 23:30", "activity_join", "a1", None),  # Sunday 23:30 (summer time)
        (1, "2026-03-30 00:30", "reaction", None, None),       # Monday 00:30
        (2, "2026-03-05 09:30", "activity_join", "a1", None),
        (2, "2026-03-08 23:59", "purchase", None, 99.0),
        (2, "2026-03-09 00:00", "purchase", None, 1.0),
        (2, "2026-05-03 20:00", "message", None, None),
        (3, "2026-03-21 08:00", "share", None, None),
        (3, "2026-04-30 23:30", "message", None, None),
        (3, "2026-05-01 00:30", "message", None, None),
        (4, "2026-03-28 09:00", "purchase", None, 50.0),
        (4, "2026-03-28 21:00", "purchase", None, 5.0),
        (4, "2026-04-05 23:30", "activity_join", "a2", None),
        (4, "2026-05-31 23:30", "message", None, None),
        (5, "2026-05-10 10:00", "message", None, None),
    ]
    events = pd.DataFrame({
        "member_id": [ids[i] for i, *_ in rows],
        "ts": pd.DatetimeIndex([t(s) for _, s, *_ in rows]),
        "event_type": [r[2] for r in rows],
        "activity_id": [r[3] for r in rows],
        "amount": [r[4] for r in rows],
    }).sort_values("ts", ignore_index=True)
    return members, events


def _write(folder, members, events):
    folder.mkdir(parents=True, exist_ok=True)
    load.write_parquet(members, folder / "members.parquet")
    load.write_parquet(events, folder / "events.parquet")
    return folder


@pytest.fixture(scope="session")
def edge_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    return {"Asia/Shanghai": _write(root / "shanghai", *_edge_tables("Asia/Shanghai", False)),
            "Europe/Berlin": _write(root / "berlin", *_edge_tables("Europe/Berlin", True))}


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines_synth")
    synth.write_community(folder, fmt="parquet", partition_events=True, n_members=300, days=100,
                          n_groups=8, seed=11)
    return folder


@pytest.fixture(scope="session")
def spark_session():
    from helpers.engine import spark
    if not spark.available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Spark (pyspark and Java 17) is missing under CI: .ci/run installs it")
        pytest.skip("Spark not installed (pip install -e '.[spark]' and Java 17)")
    return spark.session()


_LOADED: dict = {}


@pytest.fixture
def loaded(request, edge_dirs, synth_dir):
    """``loaded(dataset, engine)`` -> Community (loaded once per dataset and engine)."""
    def get(name: str, eng: str):
        if eng == "spark":
            request.getfixturevalue("spark_session")
        key = (name, eng)
        if key not in _LOADED:
            folder, tz = (synth_dir, "Asia/Shanghai") if name == "synth" else (edge_dirs[name], name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _LOADED[key] = data.load_community(folder, tz=tz, engine=eng)
        return _LOADED[key]
    return get


DATASETS = ["Asia/Shanghai", "Europe/Berlin", "synth"]


def _tz(name):
    return "Asia/Shanghai" if name == "synth" else name


# ----------------------------------------------------------------------------- loading
@pytest.mark.parametrize("eng", LAZY)
def test_lazy_load_checks_and_drops_like_pandas(loaded, eng):
    ref = loaded("Europe/Berlin", "pandas")
    got = loaded("Europe/Berlin", eng)
    assert engine.is_lazy(got.events) and got.engine == eng
    assert got.notes == ref.notes and "1 event(s) dated before the member joined" in got.notes[0]
    assert engine.n_rows(got.events) == len(ref.events) == 21
    assert got.observed_until == ref.observed_until
    pd.testing.assert_frame_equal(got.members, ref.members)


def test_edges_land_in_the_right_periods(loaded):
    """The pandas path (the reference of every other test) cuts on the local wall clock."""
    ds = loaded("Europe/Berlin", "pandas")
    w = engine.activity_pairs(ds.events, period="W", tz="Europe/Berlin")
    m002 = w.loc[w["member_id"] == "m002", "period"].tolist()
    # Sunday 29 March 23:30 CEST is ISO week 13, Monday 00:30 week 14 (codes from 1969-12-29)
    monday = (pd.Timestamp("2026-03-30") - pd.Timestamp("1969-12-29")).days // 7
    assert m002 == [monday - 1, monday]
    d = engine.activity_pairs(ds.events, period="D", tz="Europe/Berlin")
    assert (d["member_id"] == "m002").sum() == 2  # 29 March (both sides of the switch), 30 March
    m = engine.activity_pairs(loaded("Asia/Shanghai", "pandas").events, period="M",
                              tz="Asia/Shanghai")
    assert m.loc[m["member_id"] == 101, "period"].tolist() == [674, 675]  # 2026-03, 2026-04


# ----------------------------------------------------------------------------- the steps
@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("name", DATASETS)
def test_activity_pairs_identical(loaded, eng, name):
    ref, got = loaded(name, "pandas"), loaded(name, eng)
    tz = _tz(name)
    until = ref.observed_until - pd.Timedelta(days=20)
    variants = [(p, kw) for p in ("D", "W", "M")
                for kw in ({}, {"until": until, "active_types": ["message", "purchase"]})]
    if eng == "spark":  # each Spark query costs seconds: every period, each option once
        variants = variants[::2] + [variants[3]]
    for period, kw in variants:
        a = engine.activity_pairs(ref.events, period=period, tz=tz, **kw)
        b = engine.activity_pairs(got.events, period=period, tz=tz, **kw)
        assert len(a) > 5
        pd.testing.assert_frame_equal(a, b, obj=f"{eng} {name} {period} {kw}")


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("name", DATASETS)
def test_member_spans_identical(loaded, eng, name):
    ref, got = loaded(name, "pandas"), loaded(name, eng)
    joined = pd.Series(ref.members["joined_at"].array, index=pd.Index(ref.members["member_id"]))
    until = ref.observed_until - pd.Timedelta(days=15)
    for kw in ({}, {"observed_until": until, "active_types": ["message"]}):
        a = engine.member_spans(ref.events, joined_at=joined, **kw)
        b = engine.member_spans(got.events, joined_at=joined, tz=_tz(name), **kw)
        assert a["early_events"].sum() > 0 or kw
        pd.testing.assert_frame_equal(a, b, obj=f"{eng} {name} {kw}")
    # a member missing from joined_at: the pandas path and the engine's inner join both refuse
    ev = ref.events
    part = joined.drop(ev.loc[ev["event_type"].astype(str) == "message", "member_id"].iloc[0])
    for kw in ({}, {"active_types": ["message"]}):
        for events in (ref.events, got.events):
            with pytest.raises(DataError, match="not in the members table"):
                engine.member_spans(events, joined_at=part, **kw)


def test_unknown_active_types_refused_on_every_engine(loaded):
    for eng in ["pandas", "duckdb"]:
        ev = loaded("Asia/Shanghai", eng).events
        with pytest.raises(ParameterError, match="never occur"):
            engine.activity_pairs(ev, active_types=["tweet"])
        with pytest.raises(ParameterError):
            engine.activity_pairs(ev, active_types=[])


def _window_reference(events: pd.DataFrame, tz, start, end, pre_start, ret_from, activity):
    """The experiment window metrics written out in pandas (independent of the engines)."""
    ev = events.copy()
    ev["day"] = ev["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    ev["amount"] = ev["amount"].astype(float).fillna(0.0) if "amount" in ev else 0.0
    ev = ev[ev["ts"] >= pre_start]
    win, pre = (ev["ts"] >= start) & (ev["ts"] < end), ev["ts"] < start
    et = ev["event_type"].astype(str)
    act = ev["activity_id"].astype(object)
    cols = {
        "active_days": ev["day"].where(win), "messages": win & (et == "message"),
        "joins": win & (et == "activity_join") & (act == activity),
        "purchases": win & (et == "purchase"), "spend": ev["amount"].where(win & (et == "purchase"), 0.0),
        "retained_events": ev["ts"] >= ret_from,
        "pre_active_days": ev["day"].where(pre), "pre_messages": pre & (et == "message"),
        "pre_purchases": pre & (et == "purchase"),
        "pre_spend": ev["amount"].where(pre & (et == "purchase"), 0.0)}
    frame = pd.DataFrame(cols).assign(member_id=ev["member_id"].to_numpy())
    # the members reported: an event in [pre_start, end) or (every type active) from ret_from on
    frame = frame[((ev["ts"] < end) | (ev["ts"] >= ret_from)).to_numpy()]
    g = frame.groupby("member_id", sort=True)
    out = pd.DataFrame({c: (g[c].nunique() if "days" in c else g[c].sum()) for c in cols})
    for c in out:
        out[c] = out[c].astype(float if "spend" in c else np.int64)
    return out.reset_index()


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("name", ["Europe/Berlin", "synth"])
def test_window_metrics_match_a_pandas_computation(loaded, eng, name):
    ref, got = loaded(name, "pandas"), loaded(name, eng)
    tz = _tz(name)
    t0 = ref.events["ts"].min() + pd.Timedelta(days=30)
    kw = dict(start=t0.floor("D"), end=t0.floor("D") + pd.Timedelta(days=14),
              pre_start=t0.floor("D") - pd.Timedelta(days=14),
              ret_from=t0.floor("D") + pd.Timedelta(days=21))
    activity = "a1" if name != "synth" else str(ref.events["activity_id"].dropna().iloc[0])
    want = _window_reference(ref.events, tz, activity=activity, **kw)
    have = engine.window_metrics(got.events, tz=tz, activity_id=activity, **kw)
    assert want["active_days"].sum() > 0 and want["pre_active_days"].sum() > 0
    pd.testing.assert_frame_equal(have, want, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("name", ["Asia/Shanghai", "Europe/Berlin", "synth"])
def test_step_times_and_purchase_days_match_pandas(loaded, eng, name):
    """Funnel step times equal the funnel's numpy path; purchase days a pandas groupby."""
    import importlib
    funnel = importlib.import_module("helpers.conversion.funnel")
    ref, got = loaded(name, "pandas"), loaded(name, eng)
    tz = _tz(name)
    for kw in ({}, {"active_types": ["message"], "window_days": 14}):
        want, _ = funnel.step_times(ref.members, ref.events, **kw)
        have, _ = funnel.step_times(ref.members, got.events, **kw)
        assert want["repurchased"].notna().any() or kw
        pd.testing.assert_frame_equal(have, want)
    buy = ref.events[ref.events["event_type"].astype(str) == "purchase"].copy()
    day = buy["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    buy["day"] = (day - pd.Timestamp("1970-01-01")).dt.days.astype(np.int64)
    g = buy.groupby(["member_id", "day"], sort=True)
    want = pd.DataFrame({"purchases": g.size().astype(np.int64), "amount": g["amount"].sum(),
                         "first_at": g["ts"].min().dt.as_unit("ns")}).reset_index()
    have = engine.purchase_days(got.events, tz=tz)
    pd.testing.assert_frame_equal(have, want, check_exact=False, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- the analyses
@pytest.mark.parametrize("eng", LAZY)
def test_analyses_accept_lazy_events(loaded, eng):
    """Retention, N-day retention, growth, lifecycle, the churn table, the funnel, time to first
    purchase and the experiment metrics give the pandas numbers on lazy events, and the cohort,
    churn and experiment reports the same text (DuckDB: every variant; Spark: one of each, its
    queries cost seconds)."""
    from helpers import cohorts, conversion, exp_metrics, survival
    ref, got = loaded("synth", "pandas"), loaded("synth", eng)
    end = ref.observed_until - pd.Timedelta(days=20)
    cases = [
        (cohorts.retention, {"period": "W"}),
        (cohorts.retention, {"period": "M", "mode": "rolling", "by": "channel",
                             "observed_until": end}),
        (survival.churn_table, {}),
        (conversion.funnel, {"by": "channel"}),
        (conversion.competing_outcomes, {"by": "channel"}),
    ]
    if eng == "duckdb":
        cases += [(cohorts.n_day_retention, {}), (cohorts.growth, {}), (cohorts.lifecycle, {}),
                  (survival.churn_table, {"observed_until": end, "active_types": ["message"]}),
                  (conversion.funnel, {"steps": ["activity_join", "purchase"],
                                       "window_days": 14})]
    for fn, kw in cases:
        want, have = fn(ref.members, ref.events, **kw), fn(got.members, got.events, **kw)
        assert len(want) >= 3
        pd.testing.assert_frame_equal(have, want, check_exact=False, rtol=1e-9, atol=1e-9,
                                      obj=f"{fn.__name__} {kw}")
    if eng == "duckdb":
        for fn in (cohorts.member_layers, cohorts.fission_table, cohorts.k_factor):
            want, have = fn(ref.members, events=ref.events), fn(got.members, events=got.events)
            pd.testing.assert_frame_equal(have, want, obj=fn.__name__)
        want, have = (conversion.time_to_purchase(c.members, c.events).table for c in (ref, got))
        pd.testing.assert_frame_equal(have, want)
        for build, render in [(cohorts.cohort_report, cohorts.render_summary),
                              (survival.churn_report, survival.render_summary)]:
            assert render(build(got.members, got.events)) == \
                render(build(ref.members, ref.events))
        e = ref.experiments["experiment_id"].iloc[0]
        assert exp_metrics.summary_markdown(exp_metrics.analyse_experiment(got, e)) == \
            exp_metrics.summary_markdown(exp_metrics.analyse_experiment(ref, e))
    ids = ref.experiments["experiment_id"].tolist()
    for e in ids if eng == "duckdb" else ids[:1]:
        want, have = (exp_metrics.experiment_metrics(c, e) for c in (ref, got))
        assert want["active_days"].sum() > 0
        pd.testing.assert_frame_equal(have, want, check_exact=False, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- contract
def _broken(tmp_path, change):
    members, events = _edge_tables("Asia/Shanghai", False)
    members, events = change(members.copy(), events.copy())
    return _write(tmp_path / "broken", members, events)


CASES = {
    "unknown member": (lambda m, e: (m.iloc[1:], e), "member_id",
                       "event of an unknown member"),
    "negative amount": (lambda m, e: (m, e.assign(amount=e["amount"].where(e.index != 4, -3.0))),
                        "amount", "negative amount"),
    "missing ts": (lambda m, e: (m, e.assign(ts=e["ts"].where(e.index != 7))), "ts",
                   "missing value"),
    "missing member": (lambda m, e: (m, e.assign(member_id=e["member_id"].astype("Int64")
                                                 .where(e.index != 3))), "member_id",
                       "missing value"),
    "missing type": (lambda m, e: (m, e.assign(event_type=e["event_type"].where(e.index != 2))),
                     "event_type", "missing value"),
    "unparseable ts": (lambda m, e: (m, e.assign(ts=e["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
                                                 .where(e.index != 6, "03/04/2026 8pm"))),
                       "ts", "unparseable timestamp"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_contract_errors_are_the_loaders(tmp_path, case):
    change, column, problem = CASES[case]
    folder = _broken(tmp_path, change)
    errors = {}
    for eng in ("pandas", "duckdb"):
        with pytest.raises(DataError) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data.load_community(folder, engine=eng)
        errors[eng] = info.value
    assert errors["pandas"].column == errors["duckdb"].column == column
    assert errors["pandas"].rows == errors["duckdb"].rows and errors["duckdb"].rows
    assert problem in str(errors["duckdb"]) and errors["pandas"].fix == errors["duckdb"].fix
    first = lambda e: str(e).splitlines()[0]  # noqa: E731  "file: column: problem in N row(s)"
    assert first(errors["pandas"]) == first(errors["duckdb"])


def test_pre_join_error_and_keep(edge_dirs):
    folder = edge_dirs["Asia/Shanghai"]
    with pytest.raises(DataError, match="event before the member joined") as info:
        data.load_community(folder, engine="duckdb", pre_join_events="error")
    assert info.value.rows
    kept = data.load_community(folder, engine="duckdb", pre_join_events="keep")
    assert engine.n_rows(kept.events) == 22 and not kept.notes


@pytest.mark.parametrize("eng", LAZY)
@pytest.mark.parametrize("name", ["Europe/Berlin", "synth"])
def test_the_validation_scan_yields_the_weekly_and_monthly_pairs(
        request, monkeypatch, edge_dirs, synth_dir, eng, name):
    """The loader's one scan of the log (the contract's checks) also gives every weekly and
    monthly pair (the months from each (member, week) group's first and last event): the first
    weekly and monthly tables run no second query, and their pairs are those of pandas (a DST
    zone, Sunday 23:30 / Monday 00:30, month edges, pre-join events kept); after
    ``clear_cache`` the pairs query gives the same rows."""
    from helpers.engine import _ibis
    if eng == "spark":
        request.getfixturevalue("spark_session")
    folder, tz = (synth_dir, "Asia/Shanghai") if name == "synth" else (edge_dirs[name], name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = data.load_community(folder, tz=tz, pre_join_events="keep")
        got = data.load_community(folder, tz=tz, pre_join_events="keep", engine=eng)

    def no_query(*args, **kwargs):
        raise AssertionError("a second scan for the pairs")

    for period in ("W", "M"):
        expected = engine.activity_pairs(ref.events, period=period, tz=tz)
        assert expected["member_id"].nunique() < len(expected)  # members active in 2+ periods
        with monkeypatch.context() as m:
            m.setattr(_ibis, "activity_pairs", no_query)
            first = engine.activity_pairs(got.events, period=period, tz=tz,
                                          until=got.observed_until)
        pd.testing.assert_frame_equal(first, expected, obj=period)
    engine.clear_cache()
    for period in ("W", "M"):
        again = engine.activity_pairs(got.events, period=period, tz=tz)
        pd.testing.assert_frame_equal(again, engine.activity_pairs(ref.events, period=period,
                                                                   tz=tz), obj=period)
    with monkeypatch.context() as m:  # an earlier end is another query (not the cached pairs)
        m.setattr(_ibis, "activity_pairs", no_query)
        with pytest.raises(AssertionError, match="second scan"):
            engine.activity_pairs(got.events, period="W", tz=tz,
                                  until=got.observed_until - pd.Timedelta(days=3))


def test_large_communities_validate_per_member(monkeypatch, synth_dir):
    """Beyond ``load.FUSED_MEMBERS`` the validation scan groups by member only (bounded
    memory): the weekly pairs then come from their own query, with the same rows."""
    from helpers.engine import _ibis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = data.load_community(synth_dir)
        monkeypatch.setattr(load, "FUSED_MEMBERS", 10)
        got = data.load_community(synth_dir, engine="duckdb")
    calls = []
    original = _ibis.activity_pairs
    monkeypatch.setattr(_ibis, "activity_pairs", lambda *a, **k: calls.append(1) or original(*a, **k))
    pd.testing.assert_frame_equal(engine.activity_pairs(got.events, period="W"),
                                  engine.activity_pairs(ref.events, period="W",
                                                        tz="Asia/Shanghai"))
    assert calls == [1]


def test_a_lazy_table_knows_its_dataset_zone(loaded):
    """Without ``tz``, a lazy table's steps cut the wall clock of the zone it was loaded in
    (Berlin here), not the workspace default (Shanghai); the last event is given in it."""
    ref, got = loaded("Europe/Berlin", "pandas"), loaded("Europe/Berlin", "duckdb")
    assert engine.api.zone_of(got.events) == "Europe/Berlin"
    for period in ("D", "W"):
        pd.testing.assert_frame_equal(engine.activity_pairs(got.events, period=period),
                                      engine.activity_pairs(ref.events, period=period,
                                                            tz="Europe/Berlin"))
    end = engine.last_event(got.events)
    assert str(end.tz) == "Europe/Berlin" and end == ref.events["ts"].max()


def test_engine_choice(edge_dirs, synth_dir, tmp_path):
    assert load.choose_engine("auto", edge_dirs["Asia/Shanghai"]) == "pandas"  # small Parquet
    assert load.choose_engine("auto", synth_dir) == "pandas"  # small partitioned folder
    synth.write_community(tmp_path, n_members=50, days=30, n_groups=2, seed=1)  # CSV
    assert load.choose_engine("auto", tmp_path) == "pandas"
    with pytest.raises(ParameterError, match="engine"):
        load.choose_engine("polars", tmp_path)
    csv = data.load_community(tmp_path, engine="duckdb")  # CSV: checked by pandas, then lazy
    ref = data.load_community(tmp_path)
    pd.testing.assert_frame_equal(engine.activity_pairs(csv.events, period="W"),
                                  engine.activity_pairs(ref.events, period="W"))


def test_partitioned_folder_is_pruned_to_the_window(synth_dir):
    import ibis
    folders = sorted(p.name for p in (synth_dir / "events").iterdir())
    assert len(folders) >= 3 and all(f.startswith("month=") for f in folders)
    ds = data.load_community(synth_dir, engine="duckdb")
    until = pd.Timestamp(folders[1].split("=")[1] + "-10", tz="Asia/Shanghai")
    from helpers.engine import _ibis
    sql = ibis.to_sql(_ibis.until_filter(ds.events, until))
    assert "month" in sql  # the partition key is filtered: later folders are not read
    plan = ds.events.get_backend().raw_sql(
        "EXPLAIN ANALYZE " + str(ibis.to_sql(_ibis.until_filter(ds.events, until).count()))
    ).fetchall()
    text = "\n".join(str(r) for r in plan)
    later = [f for f in folders[2:]]
    assert not any(f in text for f in later) or "Filters" in text


def test_text_timestamps_read_as_the_loader_reads_them(tmp_path):
    """Naive text in the dataset's zone, text with an offset, and typed instants agree."""
    members, events = _edge_tables("Europe/Berlin", True)
    text = events["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    text = text.where(events.index % 3 != 0, events["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S%z"))
    folder = _write(tmp_path / "text", members, events.assign(ts=text))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = data.load_community(folder, tz="Europe/Berlin", engine="pandas")
        got = data.load_community(folder, tz="Europe/Berlin", engine="duckdb")
    for period in ("D", "W"):
        pd.testing.assert_frame_equal(
            engine.activity_pairs(got.events, period=period, tz="Europe/Berlin"),
            engine.activity_pairs(ref.events, period=period, tz="Europe/Berlin"))


def test_spark_table_name_is_a_source(loaded, spark_session, edge_dirs):
    """On Spark the events may be a table of the catalog (here a temporary view)."""
    ref = loaded("Asia/Shanghai", "pandas")
    spark_session.read.parquet(str(edge_dirs["Asia/Shanghai"] / "events.parquet")) \
        .createOrReplaceTempView("community_events")
    with pytest.warns(AnalysisWarning, match="before the member's joined_at"):
        events, members = engine.open_events("community_events", ref.members, engine="spark",
                                             tz="Asia/Shanghai", notes=[])
    assert engine.is_lazy(events) and engine.n_rows(events) == len(ref.events)
    pd.testing.assert_frame_equal(engine.activity_pairs(events, period="W", tz="Asia/Shanghai"),
                                  engine.activity_pairs(ref.events, period="W",
                                                        tz="Asia/Shanghai"))


def test_row_problems_from_parquet_statistics(tmp_path):
    """Missing ts/event_type and negative amounts are proven absent from the files' statistics
    only when every row group has them; anything else (a problem, no statistics, text amounts,
    a partitioned folder with one bad file) leaves the counting to the loader's query."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.engine import duckdb as duck
    con = duck.connect()
    ts = pd.to_datetime(["2026-03-02 08:00", "2026-03-03 09:00"]).tz_localize("Asia/Shanghai")

    def write(name, stats=True, **cols):
        base = dict(member_id=[1, 2], ts=ts, event_type=["message", "purchase"],
                    amount=[None, 12.5])
        base.update(cols)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(pd.DataFrame(base)), path, write_statistics=stats,
                       row_group_size=1)
        return path

    clean = {"null_ts": 0, "null_type": 0, "negative": 0}
    assert duck.problem_counts_from_statistics(con, write("ok.parquet")) == clean
    assert duck.problem_counts_from_statistics(con, write("nostats.parquet", stats=False)) is None
    assert duck.problem_counts_from_statistics(con, write("neg.parquet", amount=[-1.0, 2.0])) is None
    assert duck.problem_counts_from_statistics(con, write("nullts.parquet", ts=[ts[0], None])) is None
    assert duck.problem_counts_from_statistics(
        con, write("nulltype.parquet", event_type=["message", None])) is None
    assert duck.problem_counts_from_statistics(
        con, write("text.parquet", amount=["1", "2"])) is None
    assert duck.problem_counts_from_statistics(con, write("noamount.parquet", amount=[np.nan, np.nan])) \
        == clean
    write("part/month=2026-03/a.parquet")
    assert duck.problem_counts_from_statistics(con, tmp_path / "part") == clean
    write("part/month=2026-04/b.parquet", amount=[3.0, -0.5])
    assert duck.problem_counts_from_statistics(con, tmp_path / "part") is None


def test_ts_range_from_parquet_statistics(tmp_path, edge_dirs, synth_dir):
    """The first and last ``ts`` from the files' statistics (a file, a partitioned folder);
    None without statistics in every row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.engine import duckdb as duck
    con = duck.connect()
    for folder, events in ((edge_dirs["Europe/Berlin"], "events.parquet"),
                           (synth_dir, "events")):
        ts = pd.read_parquet(folder / events, columns=["ts"])["ts"]
        assert duck.ts_range_from_statistics(con, folder / events) == (
            ts.min().tz_convert("UTC"), ts.max().tz_convert("UTC"))
    frame = pd.DataFrame({"member_id": [1, 2], "ts": pd.to_datetime(
        ["2026-03-02 08:00", "2026-03-03 09:00"]).tz_localize("UTC")})
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "none.parquet", write_statistics=False)
    assert duck.ts_range_from_statistics(con, tmp_path / "none.parquet") is None
    assert duck.ts_range_from_statistics(con, tmp_path / "missing.parquet") is None


def _scan_threads(monkeypatch):
    """The names of the threads the loader's validation scan runs on (recorded per call)."""
    import threading

    from helpers.engine import validate
    names, original = [], validate.run_group_scan

    def record(*args):
        names.append(threading.current_thread().name)
        return original(*args)
    monkeypatch.setattr(validate, "run_group_scan", record)
    return names


def test_the_validation_scan_runs_while_pandas_reads_the_members(monkeypatch, synth_dir):
    """On DuckDB the scan of the events starts before the members are read (another thread);
    the load gives what the load without the early start gives (pairs, range, counts). (No
    stored scans here: those are tests/test_scan_cache.py's.)"""
    monkeypatch.setenv("COMMUNITY_CACHE_DIR", "off")
    names = _scan_threads(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        early = data.load_community(synth_dir, engine="duckdb")
        assert names and names[0].startswith("community-scan")
        engine.clear_cache()
        with monkeypatch.context() as m:
            m.setattr(load, "start_scan", lambda *a, **k: None)
            late = data.load_community(synth_dir, engine="duckdb")
    assert names[-1] == "MainThread"
    assert early.notes == late.notes and early.observed_until == late.observed_until
    for period in ("W", "M"):
        pd.testing.assert_frame_equal(engine.activity_pairs(early.events, period=period),
                                      engine.activity_pairs(late.events, period=period))


def test_the_early_scan_is_stopped_when_the_load_fails_or_ids_differ(monkeypatch, tmp_path):
    """A members error stops the scan already started (the error is the members'); members
    with text ids (one not a number) and events with integer ids: the scan grouped integers,
    so it is stopped and run again on text ids, and the load is the one without the early
    start."""
    monkeypatch.setenv("COMMUNITY_CACHE_DIR", "off")
    cancelled = []
    original = load.EarlyScan.cancel
    monkeypatch.setattr(load.EarlyScan, "cancel",
                        lambda self: cancelled.append(1) or original(self))
    members, events = _edge_tables("Asia/Shanghai", False)
    bad = _write(tmp_path / "dup", pd.concat([members, members.iloc[:1]]), events)
    with pytest.raises(DataError, match="member_id"):
        data.load_community(bad, engine="duckdb")
    assert cancelled == [1]
    extra = members.iloc[:1].assign(member_id="x1")  # ids stay text: not all are integers
    text = _write(tmp_path / "text", pd.concat(
        [members.assign(member_id=members["member_id"].astype(str)), extra]), events)
    names = _scan_threads(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = data.load_community(text, engine="duckdb")
        with monkeypatch.context() as m:
            m.setattr(load, "start_scan", lambda *a, **k: None)
            want = data.load_community(text, engine="duckdb")
    assert cancelled == [1, 1] and names[-2:] == ["MainThread", "MainThread"]
    assert got.notes == want.notes
    pd.testing.assert_frame_equal(engine.activity_pairs(got.events, period="W"),
                                  engine.activity_pairs(want.events, period="W"))


def test_ibis_compilers_are_imported_as_they_are_asked_for(tmp_path):
    """Connecting to DuckDB imports the DuckDB compiler only (not Ibis' twenty); the others
    resolve on demand to Ibis' own classes; an ``__init__`` of another shape is left alone."""
    import subprocess
    import sys

    from helpers.engine import _ibis_import
    code = ("import sys\n"
            "from helpers.engine import duckdb\n"
            "con = duckdb.connect()\n"
            "loaded = sorted(m.rsplit('.', 1)[1] for m in sys.modules\n"
            "                if m.startswith('ibis.backends.sql.compilers.'))\n"
            "import ibis.backends.sql.compilers as sc\n"
            "from ibis.backends.sql.compilers.pyspark import PySparkCompiler\n"
            "assert sc.PySparkCompiler is PySparkCompiler and 'TrinoCompiler' in dir(sc)\n"
            "import ibis\n"
            "assert con.execute(ibis.memtable({'a': [1, 2]}).a.sum()) == 3\n"
            "print(','.join(loaded))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "_compat,base,duckdb", out
    init = tmp_path / "__init__.py"
    init.write_text("__all__ = ['DuckDBCompiler']\n"
                    "from ibis.backends.sql.compilers.duckdb import DuckDBCompiler\n")
    assert _ibis_import._names(init) == {"DuckDBCompiler": "ibis.backends.sql.compilers.duckdb"}
    init.write_text(init.read_text() + "REGISTRY = {}\n")
    assert _ibis_import._names(init) is None
