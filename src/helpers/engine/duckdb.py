"""The embedded DuckDB backend: connections and event tables for the Ibis definitions.

DuckDB runs inside the Python process (no server). The session zone is set to UTC so that
the instants of ``ts`` compile to epoch seconds without a zone conversion; periods are then
cut on the dataset's wall clock by :mod:`helpers.engine._ibis`, whatever the OS zone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import ParameterError


#: DuckDB's share of the machine's memory by default (its own default is 80%, which leaves the
#: pandas side of an analysis no room: a 10-million-member load was killed at 21 GB); beyond it
#: DuckDB spills its hash tables to a temporary folder. ``COMMUNITY_DUCKDB_MEMORY`` overrides it
#: (e.g. ``8GB``).
MEMORY_SHARE = 0.3


def default_memory_limit() -> str:
    """The memory limit of new connections: ``COMMUNITY_DUCKDB_MEMORY`` or 30% of the RAM.

    Examples
    --------
    >>> default_memory_limit().endswith("MB") or "COMMUNITY_DUCKDB_MEMORY" in os.environ
    True
    """
    env = os.environ.get("COMMUNITY_DUCKDB_MEMORY", "").strip()
    if env:
        return env
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4096MB"
    return f"{max(int(total * MEMORY_SHARE) >> 20, 512)}MB"


def connect(*, threads: int | None = None, memory_limit: str | None = None):
    """A new in-process DuckDB connection through Ibis (UTC session zone, memory capped at
    :func:`default_memory_limit` unless ``memory_limit`` is given; spills to the temp folder).

    Examples
    --------
    >>> con = connect()
    >>> con.raw_sql("SELECT current_setting('TimeZone')").fetchall()
    [('UTC',)]
    """
    from ._ibis_import import lazy_compilers
    lazy_compilers()  # before Ibis imports its twenty SQL compilers at once
    from ibis.backends.duckdb import Backend  # directly: ibis.duckdb scans every entry point
    con = Backend().connect()
    configure(con.con, threads=threads, memory_limit=memory_limit)
    return con


def connect_plain(*, threads: int | None = None, memory_limit: str | None = None):
    """A DuckDB connection without Ibis, set up as :func:`connect`'s (for the loader's scan
    that runs before Ibis is imported, :mod:`helpers.engine._scan_cache`)."""
    import duckdb
    con = duckdb.connect()
    configure(con, threads=threads, memory_limit=memory_limit)
    return con


def configure(con, *, threads: int | None = None, memory_limit: str | None = None) -> None:
    """The workspace's settings on a DuckDB connection (``duckdb.DuckDBPyConnection``): UTC
    session zone, the memory cap of :func:`default_memory_limit`, spilling to the temp folder."""
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    limit = str(memory_limit or default_memory_limit()).replace("'", "")
    con.execute(f"SET memory_limit = '{limit}'")
    # return freed memory to the OS from background threads: without them the allocator keeps
    # what a large aggregate used (a 1M-member load stayed ~800 MB heavier, for pandas to pay)
    con.execute("SET allocator_background_threads = true")
    spill = Path(tempfile.gettempdir()) / "community-duckdb-spill"
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), '')}'")


def _query(con, sql: str):
    """Run ``sql`` on an Ibis DuckDB connection or a plain one; the DuckDB result."""
    return con.raw_sql(sql) if hasattr(con, "raw_sql") else con.execute(sql)


def read_events(con, path: str | Path, *, tz: str):
    """The events of a Parquet file or a hive-partitioned folder as a lazy Ibis table.

    A folder ``events/month=YYYY-MM/part-*.parquet`` gains a text column ``month`` (the
    partition key, used to prune files to an analysis window). Naive ``ts`` values are read as
    wall-clock times in ``tz`` and turned into instants.
    """
    p = Path(path)
    if p.is_dir():
        t = con.read_parquet(str(p / "**" / "*.parquet"), hive_partitioning=True,
                             hive_types_autocast=False)
    elif p.is_file():
        t = con.read_parquet(str(p))
    else:
        raise ParameterError(f"no Parquet events at {p}")
    return instants(con, t, tz=tz)


def problem_counts_from_statistics(con, path: str | Path) -> dict | None:
    """The row problems of Parquet events read from the files' column statistics, or None.

    Parquet writers record per row group and column the number of nulls and the minimum, so a
    log without missing ``ts``/``event_type`` and without negative amounts is proven so without
    reading a row (the loader's scan of every row for these three counts costs about a second
    per 40 million events). None whenever the statistics cannot prove it — a row group
    without them, a column absent from a file, a non-numeric ``amount``, or a problem present
    (the loader's query then counts the rows and shows examples).

    Returns
    -------
    dict or None
        ``{"null_ts": 0, "null_type": 0, "negative": 0}``.
    """
    p = Path(path)
    files = str(p / "**" / "*.parquet") if p.is_dir() else str(p)
    try:
        rows = _query(
            con, "SELECT path_in_schema, type, count(*), count(stats_null_count), "
            "sum(stats_null_count), "
            "count(*) FILTER (WHERE num_values > coalesce(stats_null_count, 0) "
            "AND stats_min_value IS NULL), "
            "min(TRY_CAST(stats_min_value AS DOUBLE)), "
            "count(*) FILTER (WHERE stats_min_value IS NOT NULL "
            "AND TRY_CAST(stats_min_value AS DOUBLE) IS NULL), "
            "(SELECT count(DISTINCT (file_name, row_group_id)) "
            f"FROM parquet_metadata('{files.replace(chr(39), chr(39) * 2)}')) "
            f"FROM parquet_metadata('{files.replace(chr(39), chr(39) * 2)}') "
            "WHERE path_in_schema IN ('ts', 'event_type', 'amount') GROUP BY 1, 2").fetchall()
    except Exception:  # noqa: BLE001 — no statistics to read: the query decides
        return None
    stats = {}
    for name, kind, n, n_stats, nulls, no_min, lowest, text_min, groups in rows:
        if name in stats or n != groups or n_stats != n:  # mixed types, missing stats/column
            return None
        stats[name] = (kind, int(nulls), no_min, lowest, text_min)
    if "ts" not in stats or "event_type" not in stats:
        return None
    if stats["ts"][1] or stats["event_type"][1]:
        return None
    if "amount" in stats:
        kind, _, no_min, lowest, text_min = stats["amount"]
        if kind not in ("DOUBLE", "FLOAT", "INT32", "INT64") or no_min or text_min:
            return None
        if lowest is not None and lowest < 0:
            return None
    return {"null_ts": 0, "null_type": 0, "negative": 0}


def parquet_columns(con, path: str | Path) -> list[tuple[str, str]] | None:
    """The columns of Parquet events as DuckDB reads them (:func:`read_events`' view, before
    ``ts`` becomes an instant): ``(name, DuckDB type)`` in order, or None when unreadable.

    Examples
    --------
    >>> parquet_columns(connect_plain(), "/no/such/file.parquet") is None
    True
    """
    p = Path(path)
    glob = str(p / "**" / "*.parquet") if p.is_dir() else str(p)
    hive = ", hive_partitioning = true, hive_types_autocast = false" if p.is_dir() else ""
    try:
        quoted = glob.replace("'", "''")
        rows = _query(con, f"DESCRIBE SELECT * FROM read_parquet('{quoted}'{hive})").fetchall()
    except Exception:  # noqa: BLE001 — no files, or not Parquet
        return None
    return [(str(r[0]), str(r[1])) for r in rows]


def ts_range_from_statistics(con, path: str | Path) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last ``ts`` of Parquet events from the files' column statistics, or None.

    None unless every row group of every file records a minimum and a maximum of ``ts``.
    Naive timestamps (wall-clock times) are read as UTC here: callers pad the range by a day.

    Returns
    -------
    (Timestamp, Timestamp) or None
        UTC instants.
    """
    p = Path(path)
    files = str(p / "**" / "*.parquet") if p.is_dir() else str(p)
    quoted = files.replace("'", "''")
    try:
        row = _query(
            con, "SELECT count(*), count(TRY_CAST(stats_min_value AS TIMESTAMPTZ)), "
            "count(TRY_CAST(stats_max_value AS TIMESTAMPTZ)), "
            "min(TRY_CAST(stats_min_value AS TIMESTAMPTZ)), "
            "max(TRY_CAST(stats_max_value AS TIMESTAMPTZ)), "
            f"(SELECT count(DISTINCT (file_name, row_group_id)) FROM parquet_metadata('{quoted}')) "
            f"FROM parquet_metadata('{quoted}') WHERE path_in_schema = 'ts'").fetchone()
    except Exception:  # noqa: BLE001 — no statistics to read
        return None
    n, n_lo, n_hi, lo, hi, groups = row
    if not n or n != groups or n_lo != n or n_hi != n or lo is None or hi is None:
        return None
    return pd.Timestamp(lo).tz_convert("UTC"), pd.Timestamp(hi).tz_convert("UTC")


def instants(con, t, *, tz: str):
    """``t`` with ``ts`` as an instant (``TIMESTAMPTZ``, microseconds), whatever it was stored as:
    naive timestamps and text without an offset are wall-clock times in ``tz``; text keeps its
    original value in ``_ts_text`` (for the unparseable-timestamp check)."""
    if "ts" not in t.columns:
        return t
    kind = con.raw_sql(f"SELECT typeof(ts) FROM {t.get_name()} LIMIT 1").fetchall()
    kind = kind[0][0] if kind else "TIMESTAMP WITH TIME ZONE"
    zone = str(tz).replace("'", "''")
    if kind == "TIMESTAMP WITH TIME ZONE":
        return t
    if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ_NS":
        expr = "CAST(ts AS TIMESTAMPTZ)"
    elif kind.startswith("TIMESTAMP"):
        expr = f"timezone('{zone}', CAST(ts AS TIMESTAMP))"
    elif kind == "VARCHAR":
        text = "trim(ts)"
        expr = (f"CASE WHEN regexp_matches({text}, '([+-][0-9][0-9]:?[0-9][0-9]|Z)$') "
                f"THEN TRY_CAST({text} AS TIMESTAMPTZ) "
                f"ELSE timezone('{zone}', TRY_CAST({text} AS TIMESTAMP)) END")
        return con.sql(f"SELECT * REPLACE ({expr} AS ts), ts AS _ts_text FROM {t.get_name()}")
    else:
        return t
    return con.sql(f"SELECT * REPLACE ({expr} AS ts) FROM {t.get_name()}")


def from_frame(con, frame: pd.DataFrame, name: str = "events"):
    """An in-memory DataFrame as a DuckDB table (used by the cross-engine tests)."""
    return con.create_table(name, frame, overwrite=True)
