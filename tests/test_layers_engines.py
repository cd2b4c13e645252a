"""Member layers at several times (``cohorts.member_layers_at``): the same frames as one
``member_layers`` per time on pandas, DuckDB and Spark, one engine query for all the times.

Data: the edge datasets of ``tests/test_engines.py`` (ISO week edge Sunday 23:30 / Monday
00:30, month edge 31 March 23:30 / 1 April 00:30, the Berlin summer-time night, text ids in
Berlin) loaded with the events dated before joining kept, and its synthetic community. Times:
on those edges, exactly at an event (the cut is inclusive), between two events of one day, and
before the end of observation; windows of 7 and 30 days; all types and a subset active.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import data
from helpers.cohorts import member_layers
from helpers.cohorts.layers import member_layers_at
from test_engines import edge_dirs, loaded, spark_session, synth_dir  # noqa: F401

_CACHE: dict = {}


@pytest.fixture
def edge(request, edge_dirs):
    """``edge(zone, engine)`` -> the edge dataset with its pre-join events kept."""
    def get(tz: str, eng: str):
        if eng == "spark":
            request.getfixturevalue("spark_session")
        if (tz, eng) not in _CACHE:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _CACHE[tz, eng] = data.load_community(edge_dirs[tz], tz=tz, engine=eng,
                                                      pre_join_events="keep")
        return _CACHE[tz, eng]
    return get


TIMES = ["2026-03-01 23:45", "2026-03-02 00:30", "2026-03-29 03:00", "2026-03-30 00:30",
         "2026-04-01 00:45", "2026-04-06 12:00", "2026-05-01 00:00", None]


def close(have, want, what):
    pd.testing.assert_frame_equal(have.reset_index(drop=True), want.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, atol=1e-9, obj=what)


def _reference(ds, times, **kw):
    return [member_layers(ds.members, ds.events, as_of=t, **kw) for t in times]


@pytest.mark.parametrize("eng", ["duckdb", "pandas"])
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin"])
@pytest.mark.parametrize("kw", [dict(window_days=7, recent_days=2, active_frequency=2),
                                dict(active_types=["message", "check_in"]),
                                dict(core_monetary=40.0, window_days=7, labels="en")])
def test_layers_at_many_times_equal_one_call_per_time(edge, eng, tz, kw):
    ref = edge(tz, "pandas")
    want = _reference(ref, TIMES, **kw)
    got = edge(tz, eng)
    have = member_layers_at(got.members, got.events, TIMES, **kw)
    assert len(have) == len(TIMES)
    for t, h, w in zip(TIMES, have, want):
        close(h, w, f"{tz} {eng} {t} {kw}")
    # not all the same: the times see different layers and figures
    assert len({tuple(w["frequency"]) for w in want}) > 3


def test_layers_by_hand_on_the_month_edge(edge):
    """Shanghai member 101 at 1 April 00:45 local, 7-day window: active on 31 March (23:30)
    and 1 April (00:30); the 09:00 purchase is after the time. Recency 15 minutes, spend
    30 + 12.5; the same on DuckDB."""
    for eng in ("pandas", "duckdb"):
        ds = edge("Asia/Shanghai", eng)
        (lay,) = member_layers_at(ds.members, ds.events, ["2026-04-01 00:45"], window_days=7)
        row = lay.set_index("member_id").loc[101]
        assert row["frequency"] == 2
        assert row["monetary"] == pytest.approx(42.5, abs=1e-12)
        assert row["recency_days"] == pytest.approx(15 / 1440, abs=1e-12)
        assert 106 not in lay["member_id"].tolist()  # joined 10 April: after the time


def test_layers_at_the_dst_night_by_hand(edge):
    """Berlin m002 at 29 March 03:00 local (the clocks went from 02:00 to 03:00): its check-in
    at 01:30 is 90 minutes earlier on the wall clock (30 real minutes; recency is measured on
    the wall clock, as on pandas), one active day in the window; at 03:30 exactly the second
    check-in counts (inclusive cut: recency 0)."""
    for eng in ("pandas", "duckdb"):
        ds = edge("Europe/Berlin", eng)
        a, b = member_layers_at(ds.members, ds.events, ["2026-03-29 03:00", "2026-03-29 03:30"],
                                window_days=7)
        ra, rb = a.set_index("member_id").loc["m002"], b.set_index("member_id").loc["m002"]
        assert ra["recency_days"] == pytest.approx(90 / 1440, abs=1e-12)  # wall clock 01:30→03:00
        assert rb["recency_days"] == 0.0
        assert ra["frequency"] == 1 and rb["frequency"] == 1


def test_synthetic_community_at_activity_starts(loaded):
    """The synthetic community (partitioned events) at the starts of its activities, earlier
    than the end of observation: one query, the frames of one call per time."""
    ref, got = loaded("synth", "pandas"), loaded("synth", "duckdb")
    starts = sorted(ref.activities["starts_at"])[-6:]
    want = _reference(ref, starts)
    have = member_layers_at(got.members, got.events, starts)
    for t, h, w in zip(starts, have, want):
        close(h, w, f"synth {t}")
    assert sum(int((w["layer"] == "核心").sum()) for w in want) > 0


def test_one_query_for_all_times(edge, monkeypatch):
    """A lazy table answers every time with one query (after the cached type/range look-ups)."""
    import ibis.expr.types as ir

    ds = edge("Europe/Berlin", "duckdb")
    member_layers_at(ds.members, ds.events, TIMES)  # warms the per-table caches
    calls = []
    original = ir.Table.to_pyarrow

    def counted(self, *a, **k):
        calls.append(1)
        return original(self, *a, **k)
    monkeypatch.setattr(ir.Table, "to_pyarrow", counted)
    member_layers_at(ds.members, ds.events, TIMES)
    assert len(calls) == 1


def test_layers_at_on_spark(edge):
    ref = edge("Europe/Berlin", "pandas")
    got = edge("Europe/Berlin", "spark")
    times = ["2026-03-29 03:00", "2026-04-01 00:45", None]
    want = _reference(ref, times, window_days=7)
    have = member_layers_at(got.members, got.events, times, window_days=7)
    for t, h, w in zip(times, have, want):
        close(h, w, f"spark {t}")


def test_no_times_and_the_empty_window():
    members = pd.DataFrame({"member_id": [1, 2], "joined_at": pd.to_datetime(
        ["2026-03-01", "2026-03-02"]).tz_localize("Asia/Shanghai")})
    events = pd.DataFrame({"member_id": [1], "event_type": ["message"],
                           "ts": pd.to_datetime(["2026-03-03"]).tz_localize("Asia/Shanghai")})
    assert member_layers_at(members, events, []) == []
    (lay,) = member_layers_at(members, events, ["2026-05-01"])
    assert lay["layer"].tolist() == ["沉睡", "沉睡"] and np.isnan(lay["recency_days"][1])
