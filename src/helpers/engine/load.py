"""Lazy event tables for :func:`helpers.data.load_community`, and the Parquet writers.

``engine="duckdb"`` or ``"spark"``: the members (and the other small tables) are read and
validated by pandas as always; the events stay where they are (a Parquet file, a
hive-partitioned folder ``events/month=YYYY-MM/part-*.parquet`` or, on Spark, a table name) and
become a lazy Ibis table, checked against the data contract by queries (:mod:`.validate`).
``engine="auto"`` keeps pandas for CSV and for small Parquet logs (one file or a partitioned
folder) and takes DuckDB from :data:`AUTO_DUCKDB_ROWS` events on.

Parquet is written with **microsecond** timestamps (Spark refuses nanoseconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._checks import check_choice
from .._time import period_codes, utc, utc_instant
from ..errors import DataError, warn_at_caller

Engine = Literal["auto", "pandas", "duckdb", "spark"]
ENGINES: tuple[str, ...] = ("auto", "pandas", "duckdb", "spark")
#: ``engine="auto"`` reads Parquet events lazily (DuckDB) from this many rows on
AUTO_DUCKDB_ROWS = 20_000_000
#: up to this many members the loader's validation scan also yields the weekly and monthly
#: activity pairs
#: (a (member, week) grouping: at 1,000,000 members ~7 million groups; at 10,000,000 the scan's
#: hash table and the pairs would take several GB, so it groups by member only)
FUSED_MEMBERS = 2_000_000
#: the columns of the events table an analysis reads (others stay in the files)
EVENT_COLUMNS = ("member_id", "ts", "event_type", "activity_id", "amount", "group_id")


def events_source(folder: Path) -> Path | None:
    """The events of a dataset folder: ``events/`` (partitioned) or ``events.parquet``."""
    part = folder / "events"
    if part.is_dir() and any(part.glob("*=*/*.parquet")):
        return part
    f = folder / "events.parquet"
    return f if f.is_file() else None


def choose_engine(engine: str, folder: Path) -> str:
    """The engine ``engine`` stands for on the dataset in ``folder`` ("auto" resolved).

    Examples
    --------
    >>> choose_engine("pandas", Path("."))
    'pandas'
    """
    check_choice("engine", engine, ENGINES)
    if engine != "auto":
        return engine
    src = events_source(folder)
    if src is None:
        return "pandas"  # CSV: pandas reads and checks it
    import pyarrow.parquet as pq
    files = sorted(src.glob("*=*/*.parquet")) if src.is_dir() else [src]
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return "duckdb" if rows >= AUTO_DUCKDB_ROWS else "pandas"


class EarlyScan:
    """The loader's validation scan of Parquet events, started before the members are read.

    Built by :func:`start_scan` and handed to :func:`open_events`, which waits for it instead of
    running the scan. DuckDB runs the query outside the GIL, so pandas reads and validates the
    members and the other small tables meanwhile (at 100,000 members the scan and that
    reading take ~0.3-0.4 s each). When the dataset was opened before, the scan runs on a
    plain DuckDB connection from the SQL Ibis compiled then (:mod:`._scan_cache`) and Ibis is
    not imported: :attr:`events` is then a :class:`._lazy.LazyEvents`. Whatever the loader
    asks of a connection is asked before a query starts on it or on another connection, so
    no connection is used from two threads at once.
    """

    def __init__(self, source: Path, span, week_zone):
        self.source, self.span, self.week_zone = source, span, week_zone
        self.con = self.events = self.numbered = self.row_counts = None
        #: whether the events' ids are text (None: ask the Ibis table)
        self.text_ids = None
        self._future = self._running = None
        #: what :meth:`result` runs when the stored scan failed (e.g. it could not spill)
        self.fallback = None

    def start(self, con, work, *args) -> None:
        """Run ``work(*args)`` in a thread of its own; ``con``: the DuckDB connection it uses
        (interrupted by :meth:`cancel`)."""
        import concurrent.futures as cf
        import threading
        future = cf.Future()

        def run():
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work(*args))
                except BaseException as exc:  # noqa: BLE001 — re-raised by result()
                    future.set_exception(exc)
        self._future, self._running = future, con
        threading.Thread(target=run, name="community-scan", daemon=True).start()

    def result(self) -> dict:
        """The scan's arrays (:func:`helpers.engine.validate.run_group_scan`; waits for them,
        re-raises the scan's error). A failed stored scan is replaced by :attr:`fallback`
        (Ibis' scan, run here), so that only Ibis' own scan can raise."""
        try:
            return self._future.result()
        except Exception:
            if self.fallback is None:
                raise
            work, self.fallback = self.fallback, None
            return work()

    def cancel(self) -> None:
        """Interrupt the query (the load failed or took another path) and wait for its end.

        DuckDB's interrupt stops a running query only, so it is repeated until the thread
        is done (a thread still in Python, before its query starts, would miss a single one).
        """
        import concurrent.futures as cf
        future, self.fallback = self._future, None
        if future is None:
            return
        while not future.done():
            try:
                self._running.interrupt()
            except Exception:  # noqa: BLE001 — nothing to interrupt
                pass
            cf.wait([future], timeout=0.01)
        future.exception()  # retrieved: interrupted, or an error the caller finds again
        self._future = self._running = None


def _stored_scan(plain, entry: dict, week_zone) -> dict:
    """A stored scan (:mod:`._scan_cache`) on a plain DuckDB connection, closed after."""
    from ._scan_cache import run
    from .validate import scan_arrays
    try:
        return scan_arrays(run(plain, entry), week_zone)
    finally:
        plain.close()


def start_scan(source: Path | None, members_file: Path | None, *, engine: str,
               tz: str) -> EarlyScan | None:
    """Start the validation scan of the events before the members are read, or None.

    Only on DuckDB, for Parquet events (a file or a partitioned folder) whose statistics give
    the first and last ``ts`` (the zone's offsets are then known over the whole log), whose
    ``ts`` is stored as a timestamp, and with a Parquet members file of at most
    :data:`FUSED_MEMBERS` rows. Otherwise :func:`open_events` runs the scan itself, after the
    members, exactly as before. When the dataset was opened before (:mod:`._scan_cache`),
    Ibis is not imported: the scan's events are a :class:`._lazy.LazyEvents`.
    """
    if engine != "duckdb" or source is None or members_file is None \
            or members_file.suffix != ".parquet" or not source.exists() \
            or not (source.is_dir() or source.suffix == ".parquet"):
        return None
    try:
        import pyarrow.parquet as pq
        if pq.ParquetFile(members_file).metadata.num_rows > FUSED_MEMBERS:
            return None
    except Exception:  # noqa: BLE001 — the members' reader names the problem
        return None
    from . import _scan_cache as cache
    from . import duckdb as duck
    from .._time import zone_transitions
    plain = con = early = None
    try:
        plain = duck.connect_plain()  # no Ibis yet
        rng = duck.ts_range_from_statistics(plain, source)
        columns = duck.parquet_columns(plain, source)
        kinds = dict(columns or ())
        if rng is None or not str(kinds.get("ts", "")).startswith("TIMESTAMP") \
                or not {"member_id", "event_type"} <= set(kinds):
            plain.close()
            return None
        day = pd.Timedelta(days=1)
        span = (rng[0] - day, rng[1] + day)
        week_zone = zone_transitions(tz, *span)
        early = EarlyScan(source, span, week_zone)
        # missing timestamps/types and negative amounts proven absent by the files' statistics
        early.row_counts = duck.problem_counts_from_statistics(plain, source)
        key = cache.entry_key(source, tz, week_zone, columns)
        stored = cache.read(key, cache.expected_views(source), plain)
        if stored is not None:  # opened before: scan now, no Ibis until an analysis asks
            cache.harden(plain)
            early.start(plain, _stored_scan, plain, stored, week_zone)
            _lazy_tables(early, tz, key, stored, kinds)
            early.fallback = lambda: _ibis_scan(early)
            return early
        plain.close()
        from .validate import group_scan, run_group_scan
        con = duck.connect()
        events = duck.read_events(con, source, tz=tz)
        events = events.select(*_kept_columns(events.columns))
        expr = group_scan(events, week_zone)
        now = cache.compiled(con, expr)
        early.con, early.events, early.numbered = con, events, _numbered(con, source, tz)
        early.start(con.con, run_group_scan, expr, week_zone)
        if now["scan"]:
            cache.write(key, now)
        return early
    except BaseException as exc:
        if early is not None:
            early.cancel()
        for c in (plain, getattr(con, "con", None)):
            try:
                if c is not None:
                    c.close()
            except Exception:  # noqa: BLE001 — closed already (by the stored scan)
                pass
        if isinstance(exc, Exception):
            return None  # open_events reads the events again and names the error
        raise


def _lazy_tables(early: EarlyScan, tz: str, key: str, stored: dict, kinds: dict) -> None:
    """The events (and the numbered events) of a stored scan as :class:`._lazy.LazyEvents`
    sharing one Ibis connection, made on first use; building the events compiles the scan and
    compares it with the stored SQL (a difference is stored over it, the table's cached
    results are forgotten and the build raises: the load must be done again)."""
    import threading

    from ._lazy import LazyEvents
    lock, made = threading.Lock(), []

    def connection():
        with lock:
            if not made:
                from . import duckdb as duck
                made.append(duck.connect())
        return made[0]

    def events():
        from . import duckdb as duck
        t = duck.read_events(connection(), early.source, tz=tz)
        t = t.select(*_kept_columns(t.columns))
        _check_stored(connection(), t, early, tz, key, stored)
        return t

    early.events = LazyEvents(events, _kept_columns(kinds))
    early.numbered = LazyEvents(lambda: _numbered(connection(), early.source, tz))
    early.text_ids = kinds["member_id"] == "VARCHAR"


def _check_stored(con, events, early: EarlyScan, tz: str, key: str, stored: dict) -> None:
    """Compile the scan of ``events`` and compare it with the stored SQL the loader ran.

    Only while the files' columns are those the entry's key was made of: files rewritten
    since the load (another key) are not compared, and nothing is stored for them here."""
    from . import _scan_cache as cache
    from . import duckdb as duck
    from .validate import group_scan
    columns = duck.parquet_columns(con.con, early.source)
    if columns is None or cache.entry_key(early.source, tz, early.week_zone, columns) != key:
        return
    now = cache.compiled(con, group_scan(events, early.week_zone))
    if now["scan"] and now != {k: stored[k] for k in ("scan", "views")}:
        # a dependence the key misses: the load's checks, range and pairs came from other SQL
        from . import api
        cache.write(key, now)
        stored.update(now)  # the next build of this table is Ibis' own
        api.clear_cache(early.events)
        raise RuntimeError(f"the stored validation scan of {early.source} was not what Ibis "
                           "compiles now (it is stored again): load the dataset again — the "
                           "checks and first tables of this load may be wrong")


def _ibis_scan(early: EarlyScan) -> dict:
    """Ibis' own validation scan of a stored scan's events (when the stored one failed)."""
    from .validate import group_scan, run_group_scan
    return run_group_scan(group_scan(early.events.table(), early.week_zone), early.week_zone)


def _kept_columns(columns) -> list[str]:
    """The events' columns an analysis reads, in the files' order (``month``: the partition;
    ``_ts_text``: the unparsed text of a text ``ts``)."""
    return [c for c in columns if c in EVENT_COLUMNS or c in ("month", "_ts_text")]


def open_events(source, members: pd.DataFrame, *, engine: str, tz: str,
                pre_join_events: str = "drop", notes: list[str] | None = None, con=None,
                early: EarlyScan | None = None):
    """The events of ``source`` as a lazy table on ``engine``, checked against the contract.

    Parameters
    ----------
    source : Path or str
        ``events.parquet``, a partitioned ``events/`` folder, a dataset folder holding one of
        them, or (Spark) a table name such as ``db.events``.
    members : DataFrame
        The validated members (their ids and join times are uploaded for the checks).
    engine : {"duckdb", "spark"}
    tz : str
        The dataset's zone (naive timestamps are read in it).
    pre_join_events : {"drop", "error", "keep"}
        As :func:`helpers.data.load_community`; dropping is a filter of the lazy table.
    notes : list of str, optional
        Receives the loader's notes (dropped pre-join events).
    con : Ibis connection, optional
        Default: a new DuckDB connection, or the process's Spark session.
    early : EarlyScan, optional
        The validation scan already started by :func:`start_scan` on ``source`` (its
        connection is used).

    Returns
    -------
    (Ibis table, DataFrame)
        The events (``member_id, ts, event_type`` [, ``activity_id, amount, group_id``,
        ``month``]) and the members (``member_id`` as text when the events' ids are text).
    """
    from . import _run, api
    from . import duckdb as duck
    from . import spark as spk
    from .._time import zone_transitions
    from ._lazy import table_of
    from .validate import check_events

    check_choice("engine", engine, ("duckdb", "spark"))
    p = Path(str(source))
    if p.is_dir() and events_source(p) is not None and p.name != "events":
        p = events_source(p)
    if early is not None and (engine != "duckdb" or early.source != p):
        early.cancel()
        early = None
    if early is not None:
        con, events, numbered = early.con, early.events, early.numbered
    elif engine == "duckdb":
        con = con or duck.connect()
        events = duck.read_events(con, p, tz=tz)
        numbered = _numbered(con, p, tz) if p.exists() else None
    else:
        con = con or spk.connect()
        events = spk.read_events(con, p if p.exists() else str(source), tz=tz)
        numbered = None
    missing = [c for c in ("member_id", "ts", "event_type") if c not in events.columns]
    if missing:
        raise DataError(f"required column(s) {missing} missing from table 'events'; found "
                        f"{list(events.columns)}", file=p, column=missing[0],
                        fix="rename or add the column; 'events' needs ['member_id', 'ts', "
                            "'event_type'] (see data/raw/README.md)")
    if early is None:
        events = events.select(*_kept_columns(events.columns))
    scanned = events
    text = early.text_ids if early is not None else None
    events, members = _align_ids(events, members, text)
    if numbered is not None:
        numbered, _ = _align_ids(numbered, members, text)
    rescan = None
    if early is not None and (events is not scanned or len(members) > FUSED_MEMBERS):
        early.cancel()  # the scan grouped ids of the other type: run it again
        rescan, early = early, None
    if early is not None:
        span, week_zone, row_counts = early.span, early.week_zone, early.row_counts
    else:
        span = _likely_span(members)
        # the weekly pairs of the validation scan: worth it while they are small (about 7
        # weeks a member, 16 bytes a pair); beyond FUSED_MEMBERS the scan groups by member only
        week_zone = zone_transitions(tz, *span) if len(members) <= FUSED_MEMBERS else None
        # missing timestamps/types and negative amounts proven absent by the files' statistics
        if rescan is not None:  # read by start_scan (a plain connection: none here)
            row_counts = rescan.row_counts
        else:
            row_counts = duck.problem_counts_from_statistics(con, p) \
                if engine == "duckdb" and p.exists() and p.suffix != ".csv" else None
    counts = check_events(events, members, file=p, pre_join_events=pre_join_events,
                          numbered=numbered, week_zone=week_zone, row_counts=row_counts,
                          groups=early.result if early is not None else None)
    if counts["pre_join"] and pre_join_events == "drop":
        n = counts["pre_join"]
        if notes is not None:
            notes.append(f"events: {n} event(s) dated before the member joined were dropped")
        warn_at_caller(f"{n} event(s) before the member's joined_at dropped from {p}")
        events = _drop_pre_join(table_of(events), members)
    api.remember_zone(events, tz)
    if not counts["pre_join"] or pre_join_events == "keep":  # else the range is of kept events
        rng = (_instant(counts["lo"]), _instant(counts["hi"]))
        _run.cached(events, "range", lambda: rng)
        inside = rng[0] is None or (span[0] <= rng[0] and rng[1] <= span[1])
        if counts["weekly"] is not None and inside:  # the zone held over the whole log
            api.remember_pairs(events, counts["weekly"], period="W", tz=tz)
            api.remember_pairs(events, counts["monthly"], period="M", tz=tz)
    return events, members


def _likely_span(members: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A window that holds the events of most logs: from a year before the first join to three
    years after the last (the weekly pairs of the validation scan are kept only when the log's
    first and last event fall inside it, so the zone's offsets used for them were right)."""
    joined = utc(members["joined_at"])
    if not len(joined) or joined.isna().all():
        t = pd.Timestamp("2000-01-01", tz="UTC")
        return t, t
    return joined.min() - pd.Timedelta(days=366), joined.max() + pd.Timedelta(days=3 * 366)


def lazy_frame(events: pd.DataFrame, *, engine: str, con=None):
    """A validated events DataFrame (e.g. from CSV) as a table on ``engine``."""
    from . import _run, api
    from . import duckdb as duck
    from . import spark as spk
    frame = events[[c for c in events.columns if c in EVENT_COLUMNS]].copy()
    frame["ts"] = frame["ts"].dt.tz_convert("UTC").dt.as_unit("us")
    for c in ("event_type", "activity_id", "group_id"):
        if c in frame and isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    mod = duck if engine == "duckdb" else spk
    con = con or mod.connect()
    table = mod.from_frame(con, frame, name="events")
    api.remember_zone(table, str(events["ts"].dt.tz))
    if len(frame):
        _run.cached(table, "range", lambda: (frame["ts"].min(), frame["ts"].max()))
    return table


def _instant(v):
    if v is None:
        return None
    return utc_instant(v)


def _numbered(con, p: Path, tz: str):
    """The DuckDB events with ``file_row_number`` (and ``filename`` for a folder)."""
    from . import duckdb as duck
    glob = str(p / "**" / "*.parquet") if p.is_dir() else str(p)
    kw = dict(file_row_number=True)
    if p.is_dir():
        kw.update(hive_partitioning=True, hive_types_autocast=False, filename=True)
    return duck.instants(con, con.read_parquet(glob, **kw), tz=tz)


def _align_ids(events, members: pd.DataFrame, text: bool | None = None):
    """Event and member ids of one type: text on both sides when either is text (``text``:
    whether the events' ids are, when known without asking the table)."""
    ids = members["member_id"]
    ev_text = events.member_id.type().is_string() if text is None else text
    if ev_text and ids.dtype != object:
        members = members.assign(member_id=ids.astype(str))
    elif not ev_text and ids.dtype == object:
        events = events.mutate(member_id=events.member_id.cast("string"))
    return events, members


def _drop_pre_join(events, members: pd.DataFrame):
    """``events`` without the events dated before their member joined (a semi-join)."""
    import ibis
    joined = ibis.memtable(pd.DataFrame({"member_id": members["member_id"].to_numpy(),
                                         "_joined_at": utc(members["joined_at"])}))
    j = events.join(joined, events.member_id == joined.member_id)
    j = j.filter(j.ts >= j._joined_at)
    return j.select(*[c for c in events.columns])


# ----------------------------------------------------------------------------- writers
def as_microseconds(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every datetime column in microseconds (what Spark accepts)."""
    out = df.copy(deep=False)
    for c in out.columns:
        dtype = out[c].dtype
        if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype)
                                                     and dtype.kind == "M"):
            out[c] = out[c].dt.as_unit("us")
    return out


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to one Parquet file with microsecond timestamps."""
    as_microseconds(df).to_parquet(path, index=False, coerce_timestamps="us",
                                   allow_truncated_timestamps=False)
    return Path(path)


def write_events(events: pd.DataFrame, folder: str | Path, *, tz: str, part: int = 0) -> list[Path]:
    """Write events into a hive-partitioned folder ``folder/month=YYYY-MM/part-NNNNN.parquet``.

    ``month`` is the local calendar month of ``ts`` in ``tz``; ``part`` numbers the file within
    each month, so member chunks of a large generation are written one after another in bounded
    memory. Timestamps are written in microseconds.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    codes = period_codes(events["ts"], "M", tz=tz)
    written = []
    for code in np.unique(codes):
        sub = events.loc[codes == code]
        m = f"{1970 + int(code) // 12:04d}-{int(code) % 12 + 1:02d}"
        target = folder / f"month={m}"
        target.mkdir(parents=True, exist_ok=True)
        f = target / f"part-{int(part):05d}.parquet"
        write_parquet(sub, f)
        written.append(f)
    return written
