"""The data contract of the events table, checked by queries on a lazy table.

The same rules and DataError messages as the pandas loader (:mod:`helpers.data`), computed by
the engine: one aggregate over the events joined to the member ids counts every problem; only
when a count is non-zero are up to five example rows fetched. The table is never loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._time import utc
from ..errors import MAX_ROWS_SHOWN, DataError

#: the loader's problems: (count name, problem text, column, columns shown, fix)
PROBLEMS = (  # in the pandas loader's order: timestamps are parsed before the other checks
    ("bad_ts", "unparseable timestamp", "ts", (),
     "write timestamps as ISO 8601, e.g. 2026-03-02 08:15:00 or 2026-03-02T08:15:00+08:00 "
     "(naive values are read in the dataset's time zone)"),
    ("null_member", "missing value", "member_id", (), "drop events without a member"),
    ("null_ts", "missing value", "ts", (),
     "drop events without a timestamp or fill it in"),
    ("null_type", "missing value", "event_type", (),
     "give every event a type (message, reaction, …)"),
    ("unknown", "event of an unknown member (member_id not in members)", "member_id",
     ("ts", "event_type"), "add the members to the members table, or drop their events"),
    ("bad_amount", "amount is not a number", "amount", ("member_id", "event_type"),
     "write amounts as plain numbers, e.g. 88.50 (no currency sign)"),
    ("negative", "negative amount", "amount", ("member_id", "event_type"),
     "record refunds as their own event_type (e.g. 'refund') with a positive amount, or drop "
     "them"),
)
PRE_JOIN = ("event before the member joined", "ts", ("member_id",),
            "correct joined_at, or load with pre_join_events='drop'")


def _conditions(t, known):
    """Boolean expressions of each problem on ``t``; with ``known`` (``t`` joined to the members'
    ``_joined_at``) also the member problems (unknown member, event before joining)."""
    out = {"null_ts": t.ts.isnull(), "null_type": t.event_type.isnull()}
    if known is not None:
        out.update(null_member=t.member_id.isnull(),
                   unknown=t.member_id.notnull() & known._joined_at.isnull())
    if "_ts_text" in t.columns:  # read from text: blank is missing, other unparsed text is bad
        text = t._ts_text.strip()
        blank = t._ts_text.isnull() | (text == "")
        out["null_ts"] = blank
        out["bad_ts"] = ~blank & t.ts.isnull()
    if "amount" in t.columns:
        if t.amount.type().is_string():
            num = t.amount.try_cast("float64")
            out["bad_amount"] = t.amount.notnull() & num.isnull()
            out["negative"] = (num < 0).fill_null(False)
        else:
            out["negative"] = (t.amount < 0).fill_null(False)
    if known is not None:
        out["pre_join"] = (t.ts < known._joined_at).fill_null(False)
    return out


def group_scan(events, week_zone=None):
    """The validation scan of :func:`check_events` as an expression: per member (with
    ``week_zone``: per member and local ISO week ``_week``, int32) the first and the last
    instant, ``_lo`` and ``_hi``.

    No count per group, so that the hash table stays narrow: the few problem rows are counted
    by queries of their own when a group shows them.
    """
    ev, keys = events, ["member_id"]
    if week_zone is not None:
        from ._ibis import period_code
        ev = events.mutate(_week=period_code(events.ts, "W", week_zone).cast("int32"))
        keys.append("_week")
    return ev.group_by(keys).aggregate(_lo=ev.ts.min(), _hi=ev.ts.max())


def run_group_scan(expr, week_zone=None) -> dict:
    """Run :func:`group_scan`; its columns as numpy arrays.

    Returns
    -------
    dict
        ``member_id``; ``lo`` and ``hi``: the first and last instant in microseconds since the
        epoch (:data:`NO_TIME` where none); with ``_week`` in the scan: ``week`` (int64) and,
        when ``week_zone`` is given and every group has its instants, ``lo_month`` and
        ``hi_month``: the local month codes of ``lo`` and ``hi`` (int32; for the monthly
        pairs, :func:`_monthly_pairs`).
    """
    return scan_arrays(expr.to_pyarrow_batches().read_all(), week_zone)  # streamed: no copy


def scan_arrays(per, week_zone=None) -> dict:
    """The columns of a :func:`group_scan` result (an Arrow table) as :func:`run_group_scan`
    returns them."""
    out = dict(member_id=per.column("member_id").to_numpy(zero_copy_only=False),
               lo=_micros(per.column("_lo")), hi=_micros(per.column("_hi")))
    if "_week" in per.column_names:
        out["week"] = per.column("_week").to_numpy(zero_copy_only=False).astype(np.int64,
                                                                                copy=False)
    del per
    if "week" in out and week_zone is not None and len(out["lo"]) \
            and (out["lo"] != NO_TIME).all() and (out["hi"] != NO_TIME).all():
        out["lo_month"], out["hi_month"] = _local_months(week_zone, out["lo"], out["hi"])
    return out


def check_events(events, members: pd.DataFrame, *, file, pre_join_events: str,
                 numbered=None, week_zone=None, row_counts: dict | None = None,
                 groups=None) -> dict:
    """Count the contract's problems of a lazy events table; raise the first.

    Two scans: a per-member summary (first and last instant, :func:`group_scan`) checked
    against the members in numpy, and the totals of the row problems (skipped when
    ``row_counts`` already proves them, e.g. from Parquet statistics); only when a member's
    first event precedes their join are that member's events counted exactly (a second,
    small query).

    Parameters
    ----------
    events : Ibis table
        ``member_id, ts, event_type`` [, ``amount``] (``_ts_text``: the unparsed text of ``ts``
        when it was read from text).
    members : DataFrame
        The validated members (``member_id, joined_at``).
    file : Path
        Named in the messages.
    pre_join_events : {"drop", "error", "keep"}
    numbered : Ibis table, optional
        The same events with ``file_row_number`` [and ``filename``] (DuckDB), read only to
        number the example rows as a spreadsheet does; without it examples carry no numbers.
    week_zone : tuple, optional
        A zone (:func:`helpers._time.zone_transitions`) valid over the data: the scan
        then groups by (member, local ISO week) and also yields the weekly and the monthly
        activity pairs (every event type, every event).
    row_counts : dict, optional
        ``null_ts, null_type, negative`` known to be these (no totals query); only for a table
        read straight from files whose statistics prove them
        (:func:`helpers.engine.duckdb.problem_counts_from_statistics`).
    groups : callable, optional
        Returns :func:`run_group_scan` of :func:`group_scan` on ``events`` and ``week_zone``,
        already started by the caller (:func:`helpers.engine.load.start_scan` runs it while pandas
        reads the members); it is waited for before any other query of the connection.

    Returns
    -------
    dict
        The counts (``pre_join`` included), plus ``lo`` and ``hi``: the first and last event,
        and ``weekly``/``monthly``: the (``member_id``, ``period``) pairs as DataFrames
        (``None`` without ``week_zone``).

    Raises
    ------
    DataError
        The loader's message for the first problem found, with up to five example rows.
    """
    # first the per-member (with ``week_zone``: per member and local ISO week) first and last
    # event, checked against the members in numpy (no join of the event log)
    per = groups() if groups is not None else run_group_scan(group_scan(events, week_zone),
                                                              week_zone)

    def joined(t):  # the events with their member's join time (for the problems' examples)
        import ibis
        known = ibis.memtable(pd.DataFrame({
            "member_id": members["member_id"].to_numpy(),
            "_joined_at": utc(members["joined_at"])}))
        j = t.left_join(known, t.member_id == known.member_id)
        return j.select(*[t[c] for c in t.columns], known._joined_at)

    # the totals of the row problems (no grouping: cheap; none when ``row_counts`` proves them:
    # the statistics prove nothing of text timestamps, nor of text amounts, see
    # :func:`helpers.engine.duckdb.problem_counts_from_statistics`)
    if row_counts is not None and "_ts_text" not in events.columns:
        counts = {k: int(v) for k, v in row_counts.items()
                  if k != "negative" or "amount" in events.columns}
    else:
        cond = _conditions(events, None)
        totals = events.aggregate(**{k: events.count(where=c) for k, c in cond.items()})
        totals = totals.to_pyarrow()
        counts = {k: int(totals.column(k)[0].as_py() or 0) for k in cond}
    gid, lo_us, hi_us = per["member_id"], per["lo"], per["hi"]
    null_id = np.asarray(pd.isna(gid), dtype=bool)
    if null_id.any() and gid.dtype != object:  # Arrow gives floats for integers with nulls
        gid = np.where(null_id, 0, gid).astype(np.int64)
    pos = pd.Index(members["member_id"]).get_indexer(gid)
    pos[null_id] = -2
    counts["null_member"] = int(events.count(where=events.member_id.isnull()).to_pyarrow()
                                .as_py()) if null_id.any() else 0
    counts["unknown"] = 0
    if (pos == -1).any():  # events of members not in the members table: count them exactly
        j = joined(events)
        counts["unknown"] = int(j.count(where=j.member_id.notnull() & j._joined_at.isnull())
                                .to_pyarrow().as_py())
    # each member's first event, by member position (no events: never before joining)
    first = np.full(len(members), NO_TIME, dtype=np.int64)
    ok = pos >= 0
    if ok.all():
        np.minimum.at(first, pos, lo_us)
    else:
        np.minimum.at(first, pos[ok], lo_us[ok])
    joined_us = -(-utc(members["joined_at"]).asi8 // 1000)  # ceil: "before" exactly as in ns
    early = first < joined_us
    counts["pre_join"] = 0
    if early.any():  # count exactly, over the few members whose first event precedes joining
        import ibis
        few = ibis.memtable(pd.DataFrame({
            "member_id": members["member_id"].to_numpy()[early],
            "_joined_at": utc(members["joined_at"].iloc[np.flatnonzero(early)])}))
        jj = events.join(few, events.member_id == few.member_id)
        counts["pre_join"] = int(jj.filter(jj.ts < jj._joined_at).count().to_pyarrow().as_py())
    for name, problem, column, show, fix in PROBLEMS:
        if counts.get(name, 0):
            raise _error(problem, file=file, column=column, show=show, fix=fix,
                         n=counts[name], rows=_examples(joined, events, name, numbered))
    if counts["pre_join"] and pre_join_events == "error":
        problem, column, show, fix = PRE_JOIN
        raise _error(problem, file=file, column=column, show=show, fix=fix,
                     n=counts["pre_join"], rows=_examples(joined, events, "pre_join", numbered))
    has = lo_us != NO_TIME
    counts["lo"] = pd.Timestamp(int(lo_us[has].min()), unit="us", tz="UTC") if has.any() else None
    counts["hi"] = pd.Timestamp(int(hi_us[has].max()), unit="us", tz="UTC") if has.any() else None
    counts["weekly"] = counts["monthly"] = None
    if "week" in per:  # no null or unknown ids here (raised above)
        counts["weekly"] = pd.DataFrame({
            "member_id": gid if gid.dtype == object else gid.astype(np.int64, copy=False),
            "period": per.pop("week")})
        if "lo_month" not in per:
            per["lo_month"], per["hi_month"] = _local_months(week_zone, lo_us, hi_us)
        counts["monthly"] = _monthly_pairs(members["member_id"].to_numpy(), pos,
                                           per.pop("lo_month"), per.pop("hi_month"))
    return counts


#: "no instant" in the microsecond arrays of :func:`check_events` (later than any event)
NO_TIME = np.iinfo(np.int64).max


def _micros(col) -> np.ndarray:
    """Microseconds since the epoch of an Arrow timestamp column (nulls: :data:`NO_TIME`)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    unit = col.type.unit
    v = col.cast(pa.int64())
    if v.null_count:
        v = pc.fill_null(v, NO_TIME)
    v = v.to_numpy(zero_copy_only=False)
    if unit == "us":
        return v
    scale = {"s": 1_000_000, "ms": 1_000}
    return np.where(v == NO_TIME, v, v * scale[unit] if unit in scale else v // 1000)


def _local_months(zone, lo_us: np.ndarray, hi_us: np.ndarray, chunk: int = 1 << 20
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The local month codes (``(year - 1970) * 12 + month - 1``, int32) of two arrays of
    instants (microseconds, none :data:`NO_TIME`) in ``zone``
    (:func:`helpers._time.zone_transitions`)."""
    first, changes = zone
    at = np.array([c for c, _ in changes], dtype=np.int64) * 1_000_000
    offsets = np.array([first, *[o for _, o in changes]], dtype=np.int64) * 1_000_000
    if not len(lo_us):
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    day_us = 86_400 * 1_000_000
    d0 = (int(lo_us.min()) + int(offsets.min())) // day_us
    d1 = (int(hi_us.max()) + int(offsets.max())) // day_us
    months = np.arange(d0, d1 + 1).astype("datetime64[D]").astype("datetime64[M]").astype(
        np.int32)  # the month of each local day of the log: a gather, not a calendar per row

    def month(us):
        out = np.empty(len(us), dtype=np.int32)
        for i in range(0, len(us), chunk):
            part = us[i:i + chunk]
            local = part + (offsets[np.searchsorted(at, part, side="right")] if len(at)
                            else offsets[0])
            out[i:i + chunk] = months[local // day_us - d0]
        return out
    return month(lo_us), month(hi_us)


def _monthly_pairs(member_ids: np.ndarray, pos: np.ndarray, lo_month: np.ndarray,
                   hi_month: np.ndarray, chunk: int = 1 << 20) -> pd.DataFrame:
    """The (member, local month) pairs of the (member, ISO week) groups of the scan, sorted.

    A week lies within at most two calendar months, and a group's events lie between its first
    and last instant: the months with an event in the group are exactly the months of those
    two instants (``lo_month``, ``hi_month``: :func:`_local_months`). ``pos`` are the groups'
    member positions in ``member_ids``; a bit per (member, month) collects them, a chunk of
    groups at a time (bounded memory).
    """
    if not len(pos):
        return pd.DataFrame({"member_id": member_ids[:0], "period": np.zeros(0, np.int64)})
    m0 = int(min(lo_month.min(), hi_month.min()))
    width = int(max(lo_month.max(), hi_month.max())) - m0 + 1
    seen = np.zeros(len(member_ids) * width, dtype=bool)  # a bit per (member, month)
    for i in range(0, len(pos), chunk):
        base = pos[i:i + chunk].astype(np.int64) * width - m0
        seen[base + lo_month[i:i + chunk]] = True
        seen[base + hi_month[i:i + chunk]] = True
    key = np.flatnonzero(seen)
    return pd.DataFrame({"member_id": member_ids[key // width],
                         "period": key % width + m0})


def _examples(joined, events, name: str, numbered) -> pd.DataFrame:
    """Up to five rows of the problem ``name`` (numbered as in a spreadsheet when possible)."""
    j = joined(numbered if numbered is not None else events)
    cols = [c for c in ("member_id", "ts", "event_type", "amount", "file_row_number",
                        "filename") if c in j.columns]
    rows = j.filter(_conditions(j, j)[name]).select(*cols)
    if "file_row_number" in cols:
        rows = rows.order_by([c for c in ("filename", "file_row_number") if c in cols])
    rows = rows.limit(MAX_ROWS_SHOWN).to_pandas()
    if "file_row_number" in rows.columns:
        rows["row"] = rows.pop("file_row_number") + 2
    if "filename" in rows.columns:
        rows["file"] = rows.pop("filename")
    return rows


def _error(problem: str, *, file, column: str, show, fix: str, n: int,
           rows: pd.DataFrame) -> DataError:
    """A DataError worded as :meth:`helpers.errors.DataError.for_rows` words it."""
    cols = [c for c in dict.fromkeys([*show, column]) if c in rows.columns]
    lines, numbers = [], []
    for i in range(min(len(rows), MAX_ROWS_SHOWN)):
        r = rows.iloc[i]
        values = ", ".join(f"{c}={_value(r[c])!r}" for c in cols)
        if "row" in rows.columns and not pd.isna(r["row"]):
            where = (f"{Path(str(r['file'])).parent.name}/{Path(str(r['file'])).name} "
                     if "file" in rows.columns and rows["file"].nunique() > 1 else "")
            lines.append(f"    {where}row {int(r['row'])}: {values}")
            numbers.append(int(r["row"]))
        else:
            lines.append(f"    example: {values}")
    more = f"\n    … and {n - MAX_ROWS_SHOWN} more" if n > MAX_ROWS_SHOWN else ""
    header = ("(row numbers as in a spreadsheet, header = row 1)" if numbers
              else "(examples)")
    msg = f"{problem} in {n} row(s) {header}:\n" + "\n".join(lines) + more
    return DataError(msg, file=file, column=column, rows=numbers, fix=fix)


def _value(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
