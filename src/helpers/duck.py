"""DuckDB engine for the event-level aggregations, and the DuckDB SQL references of the benchmark.

Two steps read the (large) event log; everything after them works on one row per member or per
(member, period) and stays in pandas/numpy:

- events → de-duplicated (member, period) activity pairs, behind every cohort table
  (:func:`helpers.cohorts.member_period_activity`);
- events → per-member first/last active time, counts and first participation, behind the churn
  table (:func:`helpers.survival.member_activity_span`).

This module computes both with DuckDB, embedded in the Python process (no server), from either

- a **Parquet** file or a dataset folder holding ``events.parquet``: DuckDB reads only the
  needed columns, in parallel, and the event log is never loaded into pandas; or
- an in-memory events **DataFrame**: only narrow integer columns (ids or their codes, int64
  nanoseconds, event-type codes) are handed to DuckDB, without copying the frame.

Results are identical to the numpy engine's (``tests/test_scale.py``), except that rows come
sorted by ``member_id`` (the numpy engine lists text ids in order of first appearance). A
Parquet file is read as it is: the loader's cleaning (:func:`helpers.data.load_community` drops
events dated before the member joined, reads naive times in the dataset's zone) is not applied,
so point these functions at files that need none (the synthetic data, or an export that
``load_community`` accepts without notes).

When to use which (``benchmarks/run.py``, 1,000,000 members / 43 million events): on a
loaded frame the numpy engine is several times faster than DuckDB; DuckDB over Parquet pays
off when the event log is *not* loaded (loading and validating it is the slowest step of a
session) or does not fit in memory (DuckDB streams and can spill to disk).

The ``*_sql`` functions are what a skilled analyst would write instead: plain SQL over the raw
Parquet files (time zone by ``AT TIME ZONE``, no tricks). ``benchmarks/run.py`` times the helpers
against them and checks that both give the same numbers.

Timestamps must lie after 1970-01-01 (integer division truncates towards zero in SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from . import config
from ._checks import PARTICIPATION_TYPE, active_mask, check_choice
from ._time import DAY_NS, PERIODS, as_ns, from_ns, to_timestamp, wall_ns
from .errors import DataError, ParameterError

__all__ = ["connect", "events_parquet", "member_period_activity", "member_activity_span",
           "retention_sql", "churn_sql"]

_SQL_PERIOD = {"D": "day", "W": "week", "M": "month"}


def connect(*, threads: int | None = None, memory_limit: str | None = None
            ) -> duckdb.DuckDBPyConnection:
    """A new in-process DuckDB connection (UTC session zone, optional thread/memory caps).

    Examples
    --------
    >>> connect().execute("SELECT 40 + 2").fetchall()
    [(42,)]
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def events_parquet(source: str | Path, table: str = "events") -> Path:
    """The Parquet file of ``table`` for a file path, a dataset folder or a dataset name.

    Raises ParameterError when there is none (CSV datasets: load them and pass the DataFrame).
    """
    p = Path(source)
    if p.suffix == ".parquet" and p.is_file():
        return p
    folder = config.dataset_dir(source)
    f = folder / f"{table}.parquet"
    if not f.is_file():
        raise ParameterError(f"source={str(source)!r}: no {table}.parquet there; pass a Parquet "
                             "file, a dataset folder with Parquet tables, or a DataFrame")
    return f


def _sql_str(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


# ----------------------------------------------------------------------------- event sources
class _Source:
    """A view ``ev(member, ts_ns[, wall_ns], etype, part)`` over a DataFrame or a Parquet file.

    ``member`` is the id itself (integers) or an integer code into ``uniques`` (other ids);
    ``etype`` is the event type as text (Parquet) or its categorical code (DataFrame); ``part``
    marks participation (``activity_join`` or an ``activity_id``).
    """

    def __init__(self, con, events, *, active_types, until_ns: int | None, tz, wall: bool):
        self.con = con
        self.uniques = None
        if isinstance(events, pd.DataFrame):
            self._from_frame(events, active_types=active_types, tz=tz, wall=wall)
        else:
            self._from_parquet(events_parquet(events), active_types=active_types, tz=tz,
                               wall=wall)
        self.where = "TRUE" if until_ns is None else f"ts_ns <= {int(until_ns)}"

    def _from_frame(self, events: pd.DataFrame, *, active_types, tz, wall: bool) -> None:
        missing = [c for c in ("member_id", "ts", "event_type") if c not in events.columns]
        if missing:
            raise ParameterError(f"events lacks column(s) {missing}; it has {list(events.columns)}")
        mask = active_mask(events, active_types)  # validates the types (ParameterError)
        ids = events["member_id"]
        if pd.api.types.is_integer_dtype(ids.dtype) and not isinstance(
                ids.dtype, pd.api.extensions.ExtensionDtype):
            member = ids.to_numpy()
            self.id_dtype = member.dtype
        else:
            member, self.uniques = pd.factorize(ids, sort=True)
            self.uniques = np.asarray(self.uniques)
            self.id_dtype = None
        et = events["event_type"]
        part = (et == PARTICIPATION_TYPE).to_numpy(dtype=bool, na_value=False)
        if "activity_id" in events.columns:
            part |= events["activity_id"].notna().to_numpy()
        cols = {"member": member, "ts_ns": as_ns(events["ts"]),
                "active": np.ones(len(events), bool) if mask is None else mask, "part": part}
        if wall:
            cols["wall_ns"] = wall_ns(events["ts"], tz)
        self.tz = tz if tz is not None else getattr(events["ts"].dt, "tz", None)
        frame = pd.DataFrame(cols, copy=False)
        self.con.register("_ev_frame", frame)
        self.con.execute("CREATE OR REPLACE TEMP VIEW ev AS SELECT * FROM _ev_frame")

    def _from_parquet(self, path: Path, *, active_types, tz, wall: bool) -> None:
        src = f"read_parquet({_sql_str(path)})"
        names = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        missing = [c for c in ("member_id", "ts", "event_type") if c not in names]
        if missing:
            raise DataError(f"events lacks column(s) {missing}", file=path, column=missing[0],
                            fix="see the data contract in data/raw/README.md")
        if active_types is None:
            active = "TRUE"
        else:
            wanted = [active_types] if isinstance(active_types, str) else list(active_types)
            present = sorted(r[0] for r in self.con.execute(
                f"SELECT DISTINCT event_type FROM {src} WHERE event_type IS NOT NULL").fetchall())
            unknown = [t for t in wanted if t not in present]
            if unknown or not wanted:
                raise ParameterError(f"active_types={active_types!r}: event type(s) "
                                     f"{unknown or '(none)'} never occur in events; event types "
                                     f"present: {', '.join(present)}")
            active = f"event_type IN ({', '.join(map(_sql_str, wanted))})"
        part = f"event_type = {_sql_str(PARTICIPATION_TYPE)}"
        if "activity_id" in names:
            part += " OR activity_id IS NOT NULL"
        self.tz = tz if tz is not None else config.TIMEZONE
        wall_sql = ""
        if wall:
            lo, hi = self.con.execute(f"SELECT min(epoch_ns(ts)), max(epoch_ns(ts)) "
                                      f"FROM {src}").fetchone()
            wall_sql = f", {self._wall_sql(lo, hi)} AS wall_ns"
        self.id_dtype = np.dtype("int64")
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW ev AS SELECT member_id AS member, epoch_ns(ts) AS ts_ns"
            f"{wall_sql}, ({active}) AS active, coalesce({part}, FALSE) AS part FROM {src}")
        kind = self.con.execute("SELECT typeof(member) FROM ev LIMIT 1").fetchall()
        if kind and kind[0][0] not in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "UBIGINT"):
            self.id_dtype = None

    def _wall_sql(self, lo, hi) -> str:
        """Wall-clock ns: UTC + a constant offset when the zone has one over the data's range
        (as the numpy engine does), else ICU's ``AT TIME ZONE``."""
        if lo is not None:
            grid = pd.date_range(pd.Timestamp(lo, tz="UTC").floor("h"),
                                 pd.Timestamp(hi, tz="UTC").ceil("h"), freq="h").tz_convert(self.tz)
            off = grid.tz_localize(None).asi8 - grid.asi8
            if len(off) and (off == off[0]).all():
                return f"epoch_ns(ts) + {int(off[0])}"
        return f"epoch_ns(ts AT TIME ZONE {_sql_str(self.tz)})"

    def ids(self, member: np.ndarray) -> np.ndarray:
        """Member ids of the ``member`` column values."""
        if self.uniques is not None:
            return self.uniques[member]
        return member.astype(self.id_dtype) if self.id_dtype is not None else member


def _period_sql(period: str, wall: str = "wall_ns") -> str:
    day = f"({wall} // {DAY_NS})"
    if period == "D":
        return day
    if period == "W":
        return f"(({day} + 3) // 7)"
    d = f"(DATE '1970-01-01' + CAST({day} AS INTEGER))"
    return f"((year({d}) - 1970) * 12 + month({d}) - 1)"


# ----------------------------------------------------------------------------- engine
def member_period_activity(events, *, period: str = "W", active_types=None, tz=None,
                           until=None, con: duckdb.DuckDBPyConnection | None = None
                           ) -> pd.DataFrame:
    """De-duplicated (member, period) activity pairs computed by DuckDB.

    Same definitions and output as :func:`helpers.cohorts.member_period_activity`.

    Parameters
    ----------
    events : DataFrame, str or Path
        An events frame (data contract), or a Parquet file / dataset folder / dataset name
        (read directly; only ``member_id, ts, event_type`` are scanned).
    period : {"D", "W", "M"}
    active_types : list of str, optional
        Event types that count as active (default: all); unknown types raise ParameterError.
    tz : str, optional
        Zone of the wall clock (default: that of ``events.ts``; Parquet: Asia/Shanghai).
    until : Timestamp, optional
        Ignore events after this instant.
    con : DuckDBPyConnection, optional
        Connection to use (default: a new one).

    Returns
    -------
    DataFrame
        ``member_id`` and ``period`` (int64 code, see :func:`helpers.cohorts.period_codes`),
        one row per pair, sorted by ``member_id`` then ``period``.

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
    ...     "ts": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00", "2026-03-09 08:00"])})
    >>> member_period_activity(ev, period="W").to_numpy().tolist()
    [[1, 2931], [2, 2932]]
    """
    check_choice("period", period, PERIODS)
    con = con or connect()
    tz_in = tz
    if isinstance(events, pd.DataFrame) and tz is None:
        tz_in = getattr(events["ts"].dt, "tz", None) if "ts" in events.columns else None
    until_ns = None
    if until is not None:
        until_ns = to_timestamp(until, tz_in if tz_in is not None else
                                 (None if isinstance(events, pd.DataFrame) else config.TIMEZONE),
                                 "until").as_unit("ns").value
    src = _Source(con, events, active_types=active_types, until_ns=until_ns, tz=tz, wall=True)
    member, per = _fetch(con, f"""
        SELECT DISTINCT member, {_period_sql(period)} AS period
        FROM ev WHERE active AND {src.where}
        ORDER BY member, period""", ["member", "period"])
    return pd.DataFrame({"member_id": src.ids(member), "period": per.astype(np.int64)})


def member_activity_span(events, *, active_types: Sequence[str] | None = None,
                         observed_until=None, joined_at: pd.Series | None = None,
                         early_days: float = 7, tz=None,
                         con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Per-member first/last active time, counts and first participation, by DuckDB.

    Same definitions and output as :func:`helpers.survival.member_activity_span`.

    Parameters
    ----------
    events : DataFrame, str or Path
        An events frame, or a Parquet file / dataset folder / dataset name (read directly).
    active_types : sequence of str, optional
        Event types that count as activity (default: all).
    observed_until : Timestamp, optional
        Events after it are ignored.
    joined_at : Series, optional
        Join time indexed by ``member_id``; adds ``early_events`` (active events in the first
        ``early_days`` days after joining).
    early_days : float
        Length of the early-engagement window.
    tz : str, optional
        Zone of the returned timestamps (default: that of ``events.ts``; Parquet: Asia/Shanghai).
    con : DuckDBPyConnection, optional

    Returns
    -------
    DataFrame
        ``member_id, first_active_at, last_active_at, n_events, first_participation_at``
        [, ``early_events``]: one row per member with an active or participation event, sorted
        by ``member_id``; NaT activity times and ``n_events`` 0 for members without active events.

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [7, 7, 9], "event_type": ["message", "reaction", "activity_join"],
    ...                    "ts": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02"])})
    >>> span = member_activity_span(ev, active_types=["message"])
    >>> span["n_events"].tolist(), span["first_participation_at"].notna().tolist()
    ([1, 0], [False, True])
    >>> member_activity_span("data/raw/demo").shape[1]            # doctest: +SKIP
    5
    """
    con = con or connect()
    until_ns = None
    if observed_until is not None:
        until_ns = pd.Timestamp(observed_until).as_unit("ns").value
    src = _Source(con, events, active_types=active_types, until_ns=until_ns, tz=tz, wall=False)
    early_sql, join_sql = "", ""
    if joined_at is not None:
        key = joined_at.index.to_numpy()
        if src.uniques is not None:  # text ids: join on their codes
            code = pd.Index(src.uniques).get_indexer(key)
            keep = code >= 0
            key = code[keep]
            jn = as_ns(pd.Series(joined_at.array))[keep]
        else:
            jn = as_ns(pd.Series(joined_at.array))
        con.register("_joined", pd.DataFrame({"member": key, "joined_ns": jn}))
        join_sql = "LEFT JOIN _joined j USING (member)"
        limit = int(early_days * DAY_NS)
        early_sql = (f", count(*) FILTER (WHERE active AND ts_ns < j.joined_ns + {limit}) "
                     f"AS early_events, bool_and(j.joined_ns IS NOT NULL) AS known")
    big = np.iinfo(np.int64).min
    cols = ["member", "first", "last", "n_events", "first_part"]
    if joined_at is not None:
        cols += ["early_events", "known"]
    res = _fetch(con, f"""
        SELECT member, min(ts_ns) FILTER (WHERE active) AS first,
               max(ts_ns) FILTER (WHERE active) AS last,
               count(*) FILTER (WHERE active) AS n_events,
               min(ts_ns) FILTER (WHERE part) AS first_part {early_sql}
        FROM ev {join_sql} WHERE {src.where} AND (active OR part)
        GROUP BY member ORDER BY member""", cols, fill={"first": big, "last": big,
                                                          "first_part": big})
    tz_out = src.tz
    out = pd.DataFrame({
        "member_id": src.ids(res[0]),
        "first_active_at": from_ns(res[1], tz_out),
        "last_active_at": from_ns(res[2], tz_out),
        "n_events": res[3].astype(np.int64),
        "first_participation_at": from_ns(res[4], tz_out),
    })
    if joined_at is not None:
        if not res[6].all():
            raise DataError("events of members not in the members table", column="member_id",
                            fix="load the data with data.load_community, which checks this")
        out["early_events"] = res[5].astype(np.int64)
    return out


def _fetch(con, sql: str, cols: list[str], fill: dict | None = None) -> list[np.ndarray]:
    """Run ``sql`` and return its columns as numpy arrays (NULLs of ``fill`` columns filled)."""
    rel = con.sql(sql)
    arrow = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    out = []
    for c in cols:
        a = arrow.column(c)
        if fill and c in fill:
            a = a.fill_null(fill[c])
        out.append(a.to_numpy())
    return out


# ----------------------------------------------------------------------------- SQL references
def _refs(con, folder, observed_until, tz: str) -> tuple[str, str, str]:
    """(events source, members source, end of observation in epoch ns) for the references;
    the default end (the last event) is computed once into a session variable."""
    ev = f"read_parquet({_sql_str(events_parquet(folder))})"
    mem = f"read_parquet({_sql_str(events_parquet(folder, 'members'))})"
    if observed_until is None:
        con.execute(f"SET VARIABLE observed_until_ns = (SELECT epoch_ns(max(ts)) FROM {ev})")
        end = "getvariable('observed_until_ns')"
    else:
        t = pd.Timestamp(observed_until)
        end = str((t.tz_localize(tz) if t.tzinfo is None else t).as_unit("ns").value)
    return ev, mem, end


def retention_sql(folder, *, period: str = "W", mode: str = "classic", observed_until=None,
                  tz: str = config.TIMEZONE, con: duckdb.DuckDBPyConnection | None = None
                  ) -> pd.DataFrame:
    """Cohort retention counts as plain DuckDB SQL over the raw Parquet files (the reference).

    What an analyst would write: ``date_trunc`` on ``AT TIME ZONE`` local times, ``DISTINCT``
    (member, period) pairs joined to members' cohorts; rolling retention from each member's last
    active period. Only non-empty cells (``retained > 0``) are returned.

    Parameters
    ----------
    folder : str or Path
        Dataset folder (or name) with ``members.parquet`` and ``events.parquet``.
    period : {"D", "W", "M"}
    mode : {"classic", "rolling"}
    observed_until : Timestamp, optional
        Default: the last event.
    tz : str
        Zone of the periods.

    Returns
    -------
    DataFrame
        ``cohort`` (tz-aware period start), ``period_index, cohort_size, retained``, sorted.

    Examples
    --------
    >>> retention_sql("demo", period="M").head(2)        # doctest: +SKIP
    """
    check_choice("period", period, PERIODS)
    check_choice("mode", mode, ("classic", "rolling"))
    con = con or connect()
    ev, mem, end = _refs(con, folder, observed_until, tz)
    unit, z = _SQL_PERIOD[period], _sql_str(tz)
    trunc = f"date_trunc('{unit}', {{}} AT TIME ZONE {z})"
    sql = f"""
    WITH m AS (
        SELECT member_id, {trunc.format('joined_at')} AS cohort
        FROM {mem} WHERE epoch_ns(joined_at) <= {end}),
    sizes AS (SELECT cohort, count(*) AS cohort_size FROM m GROUP BY cohort),
    a AS (
        SELECT DISTINCT member_id, {trunc.format('ts')} AS p
        FROM {ev} WHERE epoch_ns(ts) <= {end}),
    """
    if mode == "classic":
        sql += f"""
    cells AS (
        SELECT m.cohort, date_diff('{unit}', m.cohort, a.p) AS period_index,
               count(*) AS retained
        FROM a JOIN m USING (member_id) WHERE a.p >= m.cohort GROUP BY ALL)
    """
    else:
        sql += f"""
    last AS (
        SELECT m.cohort, date_diff('{unit}', m.cohort, max(a.p)) AS kmax
        FROM a JOIN m USING (member_id) WHERE a.p >= m.cohort GROUP BY m.member_id, m.cohort),
    hist AS (SELECT cohort, kmax, count(*) AS n FROM last GROUP BY ALL),
    cells AS (
        SELECT h.cohort, k.period_index, sum(h.n) AS retained
        FROM hist h JOIN (SELECT DISTINCT kmax AS period_index FROM hist) k
          ON h.kmax >= k.period_index
        GROUP BY ALL)
    """
    sql += """
    SELECT c.cohort, c.period_index, s.cohort_size, c.retained
    FROM cells c JOIN sizes s USING (cohort) ORDER BY cohort, period_index"""
    df = con.execute(sql).df()
    # rolling: fill the indices below each cohort's largest one that no member stopped at
    if mode == "rolling" and len(df):
        df = _fill_rolling(df)
    df["cohort"] = pd.DatetimeIndex(df["cohort"]).as_unit("ns").tz_localize(tz)
    df["period_index"] = df["period_index"].astype(np.int64)
    df["cohort_size"] = df["cohort_size"].astype(np.int64)
    df["retained"] = df["retained"].astype(np.int64)
    return df.reset_index(drop=True)


def _fill_rolling(df: pd.DataFrame) -> pd.DataFrame:
    """Rolling counts at every index 0 … max of each cohort (a count at k holds down to k-1).

    The join above yields counts only at indices where some member stopped; the count at any
    smaller index is the next larger listed one (back-fill within the cohort).
    """
    parts = []
    for cohort, g in df.groupby("cohort", sort=True):
        full = pd.RangeIndex(0, int(g["period_index"].max()) + 1, name="period_index")
        g = g.set_index("period_index").reindex(full).bfill().reset_index()
        g["cohort"] = cohort
        parts.append(g)
    return pd.concat(parts, ignore_index=True)[["cohort", "period_index", "cohort_size",
                                                  "retained"]]


def churn_sql(folder, *, inactivity_days: float = config.INACTIVITY_DAYS, observed_until=None,
              early_days: int = 7, participation_days: int = 14, tz: str = config.TIMEZONE,
              con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The churn table as plain DuckDB SQL over the raw Parquet files (the reference).

    Same rules as :func:`helpers.survival.churn_table` (explicit exit or ``inactivity_days``
    without an event; censoring at the observation end; never-active members measured from
    their join), with every event type counting as activity.

    Returns
    -------
    DataFrame
        ``member_id, churned, duration_days, n_events, early_events, participated``,
        sorted by ``member_id``.

    Examples
    --------
    >>> churn_sql("demo")["churned"].mean()              # doctest: +SKIP
    """
    con = con or connect()
    ev, mem, end = _refs(con, folder, observed_until, tz)
    names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {ev}").fetchall()]
    part = f"e.event_type = {_sql_str(PARTICIPATION_TYPE)}"
    if "activity_id" in names:
        part += " OR e.activity_id IS NOT NULL"
    mnames = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {mem}").fetchall()]
    left = "left_at" if "left_at" in mnames else "NULL::TIMESTAMPTZ"
    day = DAY_NS
    sql = f"""
    WITH m AS (
        SELECT member_id, joined_at, {left} AS left_at FROM {mem} WHERE epoch_ns(joined_at) <= {end}),
    s AS (
        SELECT e.member_id, max(e.ts) AS last_ts, count(*) AS n_events,
               count(*) FILTER (WHERE epoch_ns(e.ts) < epoch_ns(m.joined_at)
                                + {int(early_days * day)}) AS early_events,
               min(e.ts) FILTER (WHERE {part}) AS first_part
        FROM {ev} e JOIN m USING (member_id) WHERE epoch_ns(e.ts) <= {end} GROUP BY e.member_id),
    c AS (
        SELECT m.member_id, m.joined_at, coalesce(s.n_events, 0) AS n_events,
               coalesce(s.early_events, 0) AS early_events, s.first_part,
               coalesce(s.last_ts, m.joined_at) AS ref_ts,
               coalesce(epoch_ns(m.left_at) <= {end}, FALSE) AS exited, m.left_at,
               {end} - epoch_ns(coalesce(s.last_ts, m.joined_at))
                   >= {float(inactivity_days) * day} AS inactive
        FROM m LEFT JOIN s USING (member_id))
    SELECT member_id, exited OR inactive AS churned,
           greatest((CASE WHEN exited THEN epoch_ns(left_at) WHEN inactive THEN epoch_ns(ref_ts)
                         ELSE {end} END - epoch_ns(joined_at)) / {day}, 0)
               AS duration_days,
           n_events, early_events,
           coalesce((epoch_ns(first_part) - epoch_ns(joined_at)) / {day} < {participation_days},
                    FALSE) AS participated
    FROM c ORDER BY member_id"""
    df = con.execute(sql).df()
    for c in ("n_events", "early_events"):
        df[c] = df[c].astype(np.int64)
    return df
