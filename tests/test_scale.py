"""The DuckDB engine and SQL references (helpers.duck) agree with the numpy helpers.

On a small Parquet community (600 members, 120 days): the (member, period) activity pairs and
the per-member activity span are identical between the numpy engine, the DuckDB engine over the
in-memory frame and the DuckDB engine over the Parquet file; the plain-SQL references of the
benchmark give the same retention counts (every period × mode) and the same churn table.
Plus the benchmark's comparison and slope functions, with negative controls.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import cohorts, data, duck, survival, synth
from helpers.errors import ParameterError

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def pq_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale_pq")
    synth.write_community(folder, fmt="parquet", n_members=600, days=120, n_groups=12, seed=7)
    return folder


@pytest.fixture(scope="module")
def ds(pq_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_community(pq_dir)


@pytest.fixture(scope="module")
def con():
    return duck.connect()


def _joined(members):
    return pd.Series(members["joined_at"].array, index=pd.Index(members["member_id"]))


# ----------------------------------------------------------------------------- engine
@pytest.mark.parametrize("period", ["D", "W", "M"])
def test_activity_pairs_identical(ds, pq_dir, con, period):
    ref = cohorts.member_period_activity(ds.events, period=period)
    assert len(ref) > 100
    pd.testing.assert_frame_equal(duck.member_period_activity(ds.events, period=period,
                                                              con=con), ref)
    pd.testing.assert_frame_equal(duck.member_period_activity(pq_dir, period=period, con=con),
                                  ref)


def test_activity_pairs_with_types_and_until(ds, pq_dir, con):
    until = ds.observed_until - pd.Timedelta(days=40)
    kw = dict(period="W", active_types=["message", "check_in"], until=until)
    ref = cohorts.member_period_activity(ds.events, **kw)
    assert len(ref) < len(cohorts.member_period_activity(ds.events, period="W"))
    pd.testing.assert_frame_equal(duck.member_period_activity(ds.events, con=con, **kw), ref)
    pd.testing.assert_frame_equal(duck.member_period_activity(pq_dir, con=con, **kw), ref)


def test_activity_pairs_in_a_dst_zone(ds, pq_dir, con):
    """Berlin switches to summer time inside the data: the Parquet path uses ICU's AT TIME ZONE
    (no constant offset) and must still agree with the numpy wall clock."""
    assert ds.events["ts"].min() < pd.Timestamp("2026-03-29", tz="UTC") < ds.events["ts"].max()
    ref = cohorts.member_period_activity(ds.events, period="D", tz="Europe/Berlin")
    shanghai = cohorts.member_period_activity(ds.events, period="D")
    assert not ref.equals(shanghai)  # the zone matters for day boundaries
    got = duck.member_period_activity(pq_dir, period="D", tz="Europe/Berlin", con=con)
    pd.testing.assert_frame_equal(got, ref)


def test_text_ids(ds, con):
    ev = ds.events.assign(member_id="m" + ds.events["member_id"].astype(str))
    ref = cohorts.member_period_activity(ev, period="W")
    got = duck.member_period_activity(ev, period="W", con=con)
    assert got["member_id"].is_monotonic_increasing  # documented order: by id
    key = ["member_id", "period"]
    pd.testing.assert_frame_equal(got, ref.sort_values(key, ignore_index=True))
    span = survival.member_activity_span(ev).sort_values("member_id", ignore_index=True)
    pd.testing.assert_frame_equal(duck.member_activity_span(ev, con=con), span)


@pytest.mark.parametrize("active_types", [None, ["message"]])
def test_activity_span_identical(ds, pq_dir, con, active_types):
    until = ds.observed_until - pd.Timedelta(days=10)
    kw = dict(active_types=active_types, observed_until=until, joined_at=_joined(ds.members))
    ref = survival.member_activity_span(ds.events, **kw)
    assert ref["early_events"].sum() > 0 and ref["first_participation_at"].notna().any()
    pd.testing.assert_frame_equal(duck.member_activity_span(ds.events, con=con, **kw), ref)
    pd.testing.assert_frame_equal(duck.member_activity_span(pq_dir, con=con, **kw), ref)


def test_unknown_types_and_periods_are_parameter_errors(ds, pq_dir, con):
    for source in (ds.events, pq_dir):
        with pytest.raises(ParameterError, match="never occur"):
            duck.member_period_activity(source, active_types=["tweet"], con=con)
    with pytest.raises(ParameterError, match="period"):
        duck.member_period_activity(ds.events, period="Q", con=con)
    with pytest.raises(ParameterError, match="no events.parquet"):
        duck.member_period_activity(pq_dir / "nowhere", con=con)


def test_span_refuses_unknown_members(ds, con):
    joined = _joined(ds.members).iloc[1:]  # one member missing from the members table
    with pytest.raises(data.DataError, match="not in the members table"):
        duck.member_activity_span(ds.events, joined_at=joined, con=con)


# ----------------------------------------------------------------------------- SQL references
@pytest.mark.parametrize("period", ["D", "W", "M"])
@pytest.mark.parametrize("mode", ["classic", "rolling"])
def test_retention_sql_matches_helpers(ds, pq_dir, con, period, mode):
    tab = cohorts.retention(ds.members, ds.events, period=period, mode=mode)
    ref = duck.retention_sql(pq_dir, period=period, mode=mode, con=con)
    cols = ["cohort", "period_index", "cohort_size", "retained"]
    got = tab.loc[tab["retained"] > 0, cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref)
    # cohort sizes of every cohort (also those without a non-empty cell) agree
    assert tab.groupby("cohort")["cohort_size"].first().loc[ref["cohort"].unique()].tolist() \
        == ref.groupby("cohort")["cohort_size"].first().tolist()


def test_retention_sql_with_observed_until(ds, pq_dir, con):
    until = "2026-05-20 12:00"
    tab = cohorts.retention(ds.members, ds.events, period="W", mode="rolling",
                            observed_until=until)
    ref = duck.retention_sql(pq_dir, period="W", mode="rolling", observed_until=until, con=con)
    cols = ["cohort", "period_index", "cohort_size", "retained"]
    pd.testing.assert_frame_equal(tab.loc[tab["retained"] > 0, cols].reset_index(drop=True), ref)


@pytest.mark.parametrize("until", [None, "2026-05-20 12:00"])
def test_churn_sql_matches_churn_table(ds, pq_dir, con, until):
    ct = survival.churn_table(ds.members, ds.events, observed_until=until, censoring="end")
    ref = duck.churn_sql(pq_dir, observed_until=until, con=con)
    assert 0.05 < ct["churned"].mean() < 0.95
    assert ct["member_id"].tolist() == ref["member_id"].tolist()
    for a, b in [("churned", "churned"), ("n_events", "n_events"),
                 ("early_events_7d", "early_events"), ("participated_14d", "participated")]:
        np.testing.assert_array_equal(ct[a].to_numpy(), ref[b].to_numpy(), err_msg=a)
    np.testing.assert_allclose(ct["duration_days"], ref["duration_days"], rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- benchmark logic
@pytest.fixture(scope="module")
def bench(load_script):
    return load_script(BENCH, "bench_run")


def test_benchmark_compare_detects_differences(bench, ds, pq_dir, con, tmp_path):
    h, d = tmp_path / "h", tmp_path / "d"
    h.mkdir()
    d.mkdir()
    for period, mode in bench.RETENTION_CASES:
        tab = cohorts.retention(ds.members, ds.events, period=period, mode=mode)
        tab.loc[tab["retained"] > 0, ["cohort", "period_index", "cohort_size", "retained"]] \
            .to_parquet(h / f"retention_{period}_{mode}.parquet")
        duck.retention_sql(pq_dir, period=period, mode=mode, con=con) \
            .to_parquet(d / f"retention_{period}_{mode}.parquet")
    ct = survival.churn_table(ds.members, ds.events, censoring="end")
    ct[["member_id", "duration_days", *[a for a, _ in bench.CHURN_EXACT]]] \
        .to_parquet(h / "churn.parquet")
    ref = duck.churn_sql(pq_dir, con=con)
    ref.to_parquet(d / "churn.parquet")
    assert bench.compare(h, d) == []
    # negative controls: one retained count and one churn flag changed
    name = "retention_W_rolling.parquet"
    t = pd.read_parquet(d / name)
    t.loc[3, "retained"] += 1
    t.to_parquet(d / name)
    ref.loc[5, "churned"] = ~ref.loc[5, "churned"]
    ref.to_parquet(d / "churn.parquet")
    problems = bench.compare(h, d)
    assert any("retention W rolling" in p for p in problems)
    assert any("churned differs for 1 members" in p for p in problems)


def test_benchmark_slopes(bench):
    sizes = np.array([1e4, 1e5, 1e6])
    table = pd.DataFrame({"stage": ["lin"] * 3 + ["quad"] * 3,
                          "members": np.r_[sizes, sizes],
                          "seconds": np.r_[sizes * 1e-5, (sizes / 1e4) ** 2],
                          "duckdb_seconds": np.r_[sizes * 2e-5, [np.nan] * 3]})
    sl = bench.slopes(table).set_index("stage")
    assert sl.loc["lin", "slope"] == pytest.approx(1.0)
    assert sl.loc["lin", "duckdb_slope"] == pytest.approx(1.0)
    assert sl.loc["quad", "slope"] == pytest.approx(2.0)
    assert sl.loc["quad", "slope_top"] == pytest.approx(2.0)
    assert np.isnan(sl.loc["quad", "duckdb_slope"])
