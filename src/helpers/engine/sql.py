"""The DuckDB SQL references of the benchmark: what a skilled analyst would write by hand.

Plain SQL over the raw Parquet files (time zone by ``AT TIME ZONE``, no tricks), run on a raw
``duckdb`` connection. ``benchmarks/run.py`` times the helpers against them and checks that both
give the same numbers; ``tests/test_scale.py`` checks them against the helpers.

Timestamps must lie after 1970-01-01 (integer division truncates towards zero in SQL).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from .. import config
from .._checks import PARTICIPATION_TYPE, check_choice
from .._time import DAY_NS, PERIODS
from ..errors import ParameterError

__all__ = ["connect", "events_parquet", "retention_sql", "churn_sql"]

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
    """The Parquet file of ``table`` for a file path, a dataset folder or a dataset name
    (a glob ``table/**/*.parquet`` for a hive-partitioned folder).

    Raises ParameterError when there is none (CSV datasets: load them and pass the DataFrame).
    """
    p = Path(source)
    if p.suffix == ".parquet" and p.is_file():
        return p
    if p.is_dir() and any(p.glob("*=*/*.parquet")):  # a hive-partitioned table folder
        return p / "**" / "*.parquet"
    folder = config.dataset_dir(source)
    f = folder / f"{table}.parquet"
    if (folder / table).is_dir() and any((folder / table).glob("*=*/*.parquet")):
        return folder / table / "**" / "*.parquet"
    if not f.is_file():
        raise ParameterError(f"source={str(source)!r}: no {table}.parquet there; pass a Parquet "
                             "file, a dataset folder with Parquet tables, or a DataFrame")
    return f


def _sql_str(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


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
