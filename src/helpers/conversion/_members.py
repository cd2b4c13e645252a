"""Internals of the conversion package: member positions of events, the members in scope,
Wilson intervals (statsmodels), and the join cohort as a ``by`` column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import as_columns, require_columns
from .._stats import wilson  # noqa: F401  (re-used by the conversion modules)
from .._time import as_ns, period_codes, period_start, resolve_end, tz_of

COHORT = "cohort"  #: ``by`` value naming the join cohort (ISO week of joining, unless a column)


def scope(members: pd.DataFrame, events: pd.DataFrame, observed_until, by, *,
          cohort_period: str = "W"):
    """(members joined by the end with ``by`` columns resolved, by columns, end, tz).

    ``by`` may name member columns and ``"cohort"`` (the period of joining, unless members has a
    column of that name).
    """
    require_columns(members, ["member_id", "joined_at"], "members")
    require_columns(events, ["member_id", "ts", "event_type"], "events")
    tz = tz_of(events["ts"]) or tz_of(members["joined_at"])
    end = resolve_end(observed_until, events, tz)
    wanted = [] if by is None or (isinstance(by, str) and not by.strip()) else (
        [by] if isinstance(by, str) else [b for b in by if b != ""])
    virtual = [b for b in wanted if b == COHORT and COHORT not in members.columns]
    real = as_columns("by", [b for b in wanted if b not in virtual], members)
    m = members.loc[members["joined_at"] <= end, ["member_id", "joined_at", *real]].copy()
    if virtual:
        codes = period_codes(m["joined_at"], cohort_period, tz=tz)
        m[COHORT] = period_start(codes, cohort_period, tz=tz).tz_localize(None).normalize()
    return m.reset_index(drop=True), wanted, end, tz


def member_rows(member_ids, event_ids) -> np.ndarray:
    """Row of each event's member in ``member_ids`` (-1 when unknown).

    Integer ids in a compact range are looked up by offset (no hashing of 10^7 values);
    other ids through ``pd.Index.get_indexer``.
    """
    ids = np.asarray(member_ids)
    ev = event_ids.to_numpy() if hasattr(event_ids, "to_numpy") else np.asarray(event_ids)
    if ids.dtype.kind in "iu" and ev.dtype.kind in "iu" and len(ids) and len(ev):
        lo = int(min(ids.min(), ev.min()))
        hi = int(max(ids.max(), ev.max()))
        if hi - lo < max(4 * (len(ids) + 1), 1 << 20):
            lookup = np.full(hi - lo + 1, -1, dtype=np.int64)
            lookup[ids - lo] = np.arange(len(ids))
            return lookup[ev - lo]
    return pd.Index(ids).get_indexer(ev)


def event_positions(members: pd.DataFrame, events: pd.DataFrame, end) -> tuple[np.ndarray, np.ndarray]:
    """(row position in ``members`` of each event up to ``end`` and from its member's join,
    boolean mask of those events in ``events``)."""
    pos = member_rows(members["member_id"], events["member_id"])
    ts = as_ns(events["ts"])
    join = as_ns(members["joined_at"])
    keep = (pos >= 0) & (ts <= pd.Timestamp(end).value)
    keep[keep] &= ts[keep] >= join[pos[keep]]
    return pos, keep
