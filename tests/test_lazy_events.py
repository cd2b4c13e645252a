"""``LazyEvents`` (:mod:`helpers.engine._lazy`): the loader's events table that builds the Ibis
table on first use, and behaves as that table for everything else."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from helpers import engine
from helpers.engine import _run, api
from helpers.engine._lazy import LazyEvents, table_of

ibis = pytest.importorskip("ibis")


def _events():
    return pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
                         "ts": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00",
                                               "2026-03-09 08:00"]).tz_localize("UTC")})


@pytest.fixture
def lazy():
    builds = []
    con = ibis.duckdb.connect()

    def build():
        builds.append(1)
        return con.create_table("events", _events(), overwrite=True)
    return LazyEvents(build, ["member_id", "event_type", "ts"]), builds


def test_columns_and_caches_need_no_build(lazy):
    t, builds = lazy
    assert t.columns == ("member_id", "event_type", "ts") and engine.is_lazy(t)
    assert _run.identity(t) is t
    pairs = pd.DataFrame({"member_id": [1, 2], "period": [2931, 2932]})
    _run.remember_zone(t, "UTC")
    _run.cached(t, "range", lambda: (pd.Timestamp("2026-03-02 09:00", tz="UTC"),
                                     pd.Timestamp("2026-03-09 08:00", tz="UTC")))
    api.remember_pairs(t, pairs, period="W", tz="UTC")
    got = engine.activity_pairs(t, period="W")
    assert not builds and not t.built
    pd.testing.assert_frame_equal(got, pairs)
    engine.clear_cache()


def test_anything_else_builds_the_table_once(lazy):
    t, builds = lazy
    assert t.count().execute() == 3 and t.built
    assert t["member_id"].max().execute() == 2
    assert "ts" in dir(t) and "events" in repr(t)
    assert isinstance(t, ibis.Table) and table_of(t) is t.table()
    with pytest.raises(ibis.common.exceptions.ExpressionError):
        len(t)  # as the Ibis table: use .count()
    assert builds == [1]


def test_a_copy_is_the_same_table(lazy):
    """Copies keep the dataset's zone and the caches (keyed by the proxy), as copies of an
    (immutable) Ibis table do."""
    import copy
    t, builds = lazy
    _run.remember_zone(t, "America/Los_Angeles")
    for c in (copy.copy(t), copy.deepcopy(t), copy.deepcopy({"events": t})["events"]):
        assert c is t and _run.zone_of(c) == "America/Los_Angeles"
    assert not builds


def test_ibis_takes_it_as_a_table(lazy):
    t, _ = lazy
    other = t.select("member_id").distinct()
    assert other.join(t, "member_id").count().execute() == 3
    assert ibis.union(t, t).count().execute() == 6
    assert engine.n_rows(t) == 3


def test_two_threads_build_it_once():
    builds, gate = [], threading.Event()

    def build():
        gate.wait(5)
        builds.append(1)
        return ibis.memtable(_events())
    t = LazyEvents(build, ["member_id", "event_type", "ts"])
    workers = [threading.Thread(target=t.table) for _ in range(2)]
    for w in workers:
        w.start()
    gate.set()
    for w in workers:
        w.join()
    assert builds == [1]


def test_a_failed_build_is_tried_again():
    calls = []

    def build():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the files are gone")
        return ibis.memtable(_events())
    t = LazyEvents(build, ["member_id", "event_type", "ts"])
    with pytest.raises(OSError):
        t.table()
    assert not t.built and t.count().execute() == 3


def test_not_lazy():
    assert table_of(_events()) is not None and not engine.is_lazy(_events())


def test_without_columns_they_come_from_the_table():
    t = LazyEvents(lambda: ibis.memtable(_events()))
    assert not t.built and t.columns == ("member_id", "event_type", "ts") and t.built
