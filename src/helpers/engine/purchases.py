"""Engine entry points of reports 03 and 04: purchases, event counts, activity takers and
before/after windows, for an in-memory DataFrame or a lazy Ibis table.

As in :mod:`.api`: the definitions are those of :mod:`helpers.engine._ibis_reports`; only
per-member, per-(member, day) or per-(member, window) tables come back into pandas, and every
function gives the DataFrame path's numbers (``tests/test_engines_value.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._time import to_timestamp
from ._run import as_until, aware, fetch, ids, is_lazy, resolve_types, times, zone, zone_of


def _floor_us(t):
    """``t`` floored to a microsecond: for microsecond events ``ts <= t`` is unchanged (and no
    nanoseconds are discarded with a warning by the engines' literals)."""
    return None if t is None else pd.Timestamp(t).floor("us")


def _id_values(values) -> np.ndarray:
    """Member ids as the engine's tables hold them (int64 or text)."""
    v = np.asarray(values)
    return v.astype(np.int64) if v.dtype.kind in "iu" else v.astype(object)


def purchase_summary(events, members: pd.DataFrame, *, horizon_days: float,
                     until=None, tz=None) -> pd.DataFrame:
    """Per member of ``members``: purchases from joining up to ``until``, lazily.

    Parameters
    ----------
    events : Ibis table
    members : DataFrame
        ``member_id, joined_at`` of the members to follow.
    horizon_days : float
        The ``window_*`` columns count the purchases in ``[joined_at, joined_at +
        horizon_days)``.
    until : Timestamp, optional
        The end of observation (later events are ignored).

    Returns
    -------
    DataFrame
        ``member_id, purchases, first_purchase_at, last_purchase_at, spend, window_purchases,
        window_spend`` — one row per member of ``members``, sorted by ``member_id`` (0 and NaT
        without a purchase; amounts without a value count as 0; times in ``tz``).
    """
    from . import _ibis_reports
    tz = zone_of(events, tz)
    m = pd.DataFrame({"member_id": _id_values(members["member_id"]),
                      "joined_at": aware(members["joined_at"].array, tz)})
    m["window_end"] = m["joined_at"] + pd.Timedelta(days=float(horizon_days))
    windows = _ibis_reports.windows_table(m, "member_id", "joined_at", "window_end")
    since = m["joined_at"].min() if len(m) else None
    expr = _ibis_reports.purchase_summary(
        events, windows, until=_floor_us(as_until(events, until, tz)), since=since)
    arrow = fetch(expr, ["member_id"])
    got = pd.DataFrame({
        "member_id": ids(arrow.column("member_id")),
        **{c: arrow.column(c).to_numpy(zero_copy_only=False).astype(np.int64)
           for c in ("purchases", "window_purchases")},
        **{c: arrow.column(c).to_numpy(zero_copy_only=False).astype(float)
           for c in ("spend", "window_spend")},
        **{c: times(arrow.column(c), tz) for c in ("first_purchase_at", "last_purchase_at")}})
    order = np.sort(m["member_id"].to_numpy()) if m["member_id"].dtype.kind in "iu" else \
        np.asarray(sorted(m["member_id"]), dtype=object)
    out = got.set_index("member_id").reindex(pd.Index(order, name="member_id")).reset_index()
    for c in ("purchases", "window_purchases"):
        out[c] = out[c].fillna(0).astype(np.int64)
    for c in ("spend", "window_spend"):
        out[c] = out[c].fillna(0.0).astype(float)
    return out[["member_id", "purchases", "first_purchase_at", "last_purchase_at", "spend",
                "window_purchases", "window_spend"]]


def purchase_day_totals(events, *, observed_until=None, tz=None) -> pd.DataFrame:
    """Purchases per (member, local day), lazily: ``member_id, day, purchases, amount``
    (``day``: days since 1970-01-01 on the wall clock; ``amount`` NaN when no purchase of the
    day has one), sorted by ``member_id, day``."""
    from . import _ibis_reports
    tz = zone_of(events, tz)
    expr = _ibis_reports.purchase_day_totals(events, zone=zone(events, tz),
                                             until=_floor_us(as_until(events, observed_until, tz)))
    arrow = fetch(expr, ["member_id", "day"])
    amount = arrow.column("amount").to_pandas().to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame({
        "member_id": ids(arrow.column("member_id")),
        "day": arrow.column("day").to_numpy(zero_copy_only=False).astype(np.int64),
        "purchases": arrow.column("purchases").to_numpy(zero_copy_only=False).astype(np.int64),
        "amount": amount})


def count_events(events, *, event_types=None, until=None, tz=None) -> int:
    """Number of events (of ``event_types``, a type or a list; up to ``until``): a DataFrame
    or a lazy table (one count query).

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 2], "event_type": ["purchase", "message"],
    ...                    "ts": pd.to_datetime(["2026-03-02", "2026-03-03"])})
    >>> count_events(ev, event_types="purchase")
    1
    """
    types = None if event_types is None else (
        [event_types] if isinstance(event_types, str) else list(event_types))
    if not is_lazy(events):
        keep = np.ones(len(events), bool)
        if types is not None:
            keep &= events["event_type"].astype(object).isin(types).to_numpy()
        if until is not None:
            keep &= (events["ts"] <= to_timestamp(until, getattr(events["ts"].dt, "tz", None),
                                                  "until")).to_numpy()
        return int(keep.sum())
    from . import _ibis_reports
    expr = _ibis_reports.count_events(events, types=types,
                                      until=_floor_us(as_until(events, until, tz)))
    return int(expr.to_pyarrow().as_py())


def members_between(events, *, since, before, tz=None) -> np.ndarray:
    """Ids of the members with an event in ``[since, before)`` (sorted), lazily."""
    from . import _ibis_reports
    tz = zone_of(events, tz)
    # rounded up: for microsecond events ``ts >= since`` and ``ts < before`` are unchanged
    expr = _ibis_reports.members_between(events, since=to_timestamp(since, tz, "since").ceil("us"),
                                         before=to_timestamp(before, tz, "before").ceil("us"))
    return np.sort(ids(expr.to_pyarrow().column("member_id")))


def activity_takers(events, activities: pd.DataFrame, *, until=None, tz=None) -> pd.DataFrame:
    """Who took part in each activity during it, lazily (the activity review's rule).

    An activity some event names (``activity_id``): the members with an event naming it in
    ``[starts_at, ends_at)``; an activity no event names: the members with an
    ``activity_join`` event naming no activity in that window.

    Parameters
    ----------
    activities : DataFrame
        ``activity_id, starts_at, ends_at``.
    until : Timestamp, optional
        Events after it are ignored.

    Returns
    -------
    DataFrame
        ``member_id, activity_id`` (text), distinct, sorted.
    """
    from . import _ibis_reports
    tz = zone_of(events, tz)
    until = _floor_us(as_until(events, until, tz))
    acts = pd.DataFrame({"activity_id": activities["activity_id"].astype(str).to_numpy(),
                         "starts_at": aware(activities["starts_at"].array, tz),
                         "ends_at": aware(activities["ends_at"].array, tz)})
    named = _ibis_reports.labelled_activities(events, until=until)
    seen = set() if named is None else set(map(str, named.to_pyarrow().column(0).to_pylist()))
    parts = []
    for labelled, sub in ((True, acts[acts["activity_id"].isin(seen)]),
                          (False, acts[~acts["activity_id"].isin(seen)])):
        if sub.empty:
            continue
        windows = _ibis_reports.windows_table(sub, "activity_id", "starts_at", "ends_at")
        arrow = _ibis_reports.activity_takers(events, windows, until=until,
                                              labelled=labelled).to_pyarrow()
        parts.append(pd.DataFrame({"member_id": ids(arrow.column("member_id")),
                                   "activity_id": np.asarray(
                                       arrow.column("activity_id").to_pylist(), dtype=object)}))
    if not parts:
        return pd.DataFrame({"member_id": pd.Series(dtype=object),
                             "activity_id": pd.Series(dtype=object)})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["member_id", "activity_id"], kind="stable").reset_index(drop=True)


def window_counts(events, windows: pd.DataFrame, *, active_types=None, tz=None) -> pd.DataFrame:
    """Active local days and purchases per member in each of a few windows, in one query.

    Parameters
    ----------
    events : Ibis table
    windows : DataFrame
        ``window_id`` (int), ``start``, ``end``: the windows ``[start, end)``.
    active_types : str, list of str or None
        What counts as an active day.

    Returns
    -------
    DataFrame
        ``window_id, member_id, active_days, purchases`` (int64) for the members with an event
        in a window, sorted by ``window_id, member_id``.
    """
    from . import _ibis_reports
    tz = zone_of(events, tz)
    if windows.empty:
        return pd.DataFrame({"window_id": pd.Series(dtype=np.int64),
                             "member_id": pd.Series(dtype=object),
                             "active_days": pd.Series(dtype=np.int64),
                             "purchases": pd.Series(dtype=np.int64)})
    # bounds rounded up to a microsecond: the same comparisons for microsecond events
    bounds = [(int(i), lo.tz_convert("UTC").ceil("us"), hi.tz_convert("UTC").ceil("us"))
              for i, lo, hi in zip(windows["window_id"], aware(windows["start"].array, tz),
                                   aware(windows["end"].array, tz))]
    expr = _ibis_reports.window_counts(events, bounds, zone=zone(events, tz),
                                       types=resolve_types(events, active_types))
    arrow = fetch(expr, ["window_id", "member_id"])
    return pd.DataFrame({
        "window_id": arrow.column("window_id").to_numpy(zero_copy_only=False).astype(np.int64),
        "member_id": ids(arrow.column("member_id")),
        **{c: arrow.column(c).to_numpy(zero_copy_only=False).astype(np.int64)
           for c in ("active_days", "purchases")}})
