"""One entry point per event-level step, for an in-memory DataFrame or a lazy Ibis table.

A DataFrame goes through the numpy path of its analysis module (the fastest for a log already in
memory); a lazy table (``Community.events`` on ``engine="duckdb"`` or ``"spark"``) through the
Ibis definitions of :mod:`helpers.engine._ibis`, compiled by its own backend. Only per-member or
per-(member, period) tables come back into pandas; the event log never does.

Results are identical on every engine (``tests/test_engines.py``); rows come sorted by
``member_id`` (then ``period``/``day``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import config
from .._checks import active_types as _resolve_types
from .._checks import check_choice
from .._time import PERIODS, to_timestamp
from ..errors import DataError, ParameterError

_CACHE: dict = {}


def is_lazy(obj) -> bool:
    """True for an Ibis table (a lazy event log), False for a DataFrame or anything else.

    Examples
    --------
    >>> is_lazy(pd.DataFrame())
    False
    """
    return type(obj).__module__.startswith("ibis.") and hasattr(obj, "to_pyarrow")


def n_rows(table) -> int:
    """Number of rows of a DataFrame or a lazy table (one count query).

    Examples
    --------
    >>> n_rows(pd.DataFrame({"a": [1, 2]}))
    2
    """
    if not is_lazy(table):
        return len(table)
    return int(table.count().to_pyarrow().as_py())


def _cached(events, key, compute):
    k = (id(events.op()), key)
    hit = _CACHE.get(k)
    if hit is not None and hit[0] is events.op():
        return hit[1]
    value = compute()
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[k] = (events.op(), value)
    return value


def event_types(events) -> list[str]:
    """Distinct non-null event types of a lazy table, sorted (one small query, cached)."""
    def compute():
        col = events.select("event_type").filter(events.event_type.notnull()).distinct()
        return sorted(map(str, col.to_pyarrow().column(0).to_pylist()))
    return _cached(events, "types", compute)


def ts_range(events) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """(first, last) event instant of a lazy table, UTC (cached)."""
    def compute():
        row = events.aggregate(lo=events.ts.min(), hi=events.ts.max()).to_pyarrow()
        lo, hi = (_instants(row.column(c)) for c in ("lo", "hi"))
        return (lo[0] if len(lo) and not pd.isna(lo[0]) else None,
                hi[0] if len(hi) and not pd.isna(hi[0]) else None)
    return _cached(events, "range", compute)


def zone_of(events, tz=None):
    """``tz`` if given, else the zone of the dataset a lazy table was loaded from (the loader
    records it), else ``config.TIMEZONE`` — so a caller that omits ``tz`` on a Berlin dataset
    still cuts Berlin days.

    Examples
    --------
    >>> zone_of(pd.DataFrame(), "Europe/Berlin")
    'Europe/Berlin'
    """
    if tz is not None:
        return tz
    if is_lazy(events):
        hit = _ZONES.get(id(events.op()))
        if hit is not None and hit[0] is events.op():
            return hit[1]
    return config.TIMEZONE


_ZONES: dict = {}  #: id(table op) -> (op, zone): metadata of loaded tables, never cleared


def remember_zone(events, tz) -> None:
    """Record ``tz`` as the dataset zone of the lazy table ``events`` (see :func:`zone_of`)."""
    if len(_ZONES) > 256:
        _ZONES.clear()
    _ZONES[id(events.op())] = (events.op(), tz)


def last_event(events, tz=None) -> pd.Timestamp:
    """The last event instant (the default end of observation), in ``tz`` when given."""
    if not is_lazy(events):
        end = pd.Timestamp(events["ts"].max())
    else:
        end = ts_range(events)[1]
        if end is None:
            end = pd.NaT
        tz = zone_of(events, tz)
    if tz is not None and not pd.isna(end) and end.tzinfo is not None:
        end = end.tz_convert(tz)
    return end


def _zone(events, tz):
    from ._ibis import zone_transitions
    lo, hi = ts_range(events)
    return zone_transitions(zone_of(events, tz), lo, hi)


def _instants(col) -> pd.DatetimeIndex:
    """A pyarrow timestamp column as UTC instants (naive values are UTC: Spark's session)."""
    idx = pd.DatetimeIndex(col.to_pandas())
    idx = idx.as_unit("ns")
    return idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")


def _times(col, tz) -> pd.DatetimeIndex:
    idx = _instants(col)
    return idx.tz_convert(tz) if tz is not None else idx.tz_localize(None)


def _ids(col) -> np.ndarray:
    values = col.to_numpy(zero_copy_only=False)
    return values.astype(np.int64) if values.dtype.kind in "iu" else values.astype(object)


def _until(events, until, tz):
    if until is None:
        return None
    return to_timestamp(until, zone_of(events, tz), "until")


def _end(events, until, tz):
    """``until`` as an instant, or None when it is at or after the last event (no filter)."""
    until = _until(events, until, tz)
    hi = ts_range(events)[1] if until is not None else None
    return None if until is not None and hi is not None and until >= hi else until


def _types(events, active_types):
    return None if active_types is None else _resolve_types(active_types, event_types(events))


def _fetch(expr, order: Sequence[str]):
    """Run ``expr``; its rows sorted by ``order`` (numpy's lexsort on integer keys, which is
    several times faster than sorting in Arrow or in the engine)."""
    import pyarrow as pa
    arrow = expr.to_pyarrow()
    if arrow.num_rows < 2:
        return arrow
    keys = [arrow.column(c).to_numpy(zero_copy_only=False) for c in order]
    if any(k.dtype.kind not in "iu" for k in keys):
        keys = [pd.factorize(k, sort=True)[0] if k.dtype.kind not in "iu" else k for k in keys]
    idx = np.lexsort(keys[::-1])
    if (np.diff(idx) == 1).all():
        return arrow
    return arrow.take(pa.array(idx))


# ----------------------------------------------------------------------------- steps
def activity_pairs(events, *, period: str = "W", active_types=None, tz=None, until=None,
                   since=None, sort: bool = True) -> pd.DataFrame:
    """De-duplicated (member, period) activity pairs, on any engine.

    Same definition and output as :func:`helpers.cohorts.member_period_activity` (which a
    DataFrame goes through).

    Parameters
    ----------
    events : DataFrame or Ibis table
    period : {"D", "W", "M"}
    active_types : str, list of str or None
        The active-types rule (:func:`helpers._checks.active_types`).
    tz : str, optional
        Zone of the wall clock (default for lazy tables: the dataset's zone, :func:`zone_of`).
    until, since : Timestamp, optional
        Ignore events after ``until`` / before ``since`` (naive values are read in ``tz``).
    sort : bool
        Sort the rows (``False``: the engine's order, for callers that code and sort the pairs
        themselves — a lazy table's pairs then skip a sort of millions of rows).

    Returns
    -------
    DataFrame
        ``member_id, period`` (int64 code), sorted by ``member_id`` then ``period``.

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
    ...     "ts": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00", "2026-03-09 08:00"])})
    >>> activity_pairs(ev, period="W").to_numpy().tolist()
    [[1, 2931], [2, 2932]]
    """
    check_choice("period", period, PERIODS)
    if not is_lazy(events):
        from ..cohorts import member_period_activity
        ev = events
        if since is not None:
            ev = ev.loc[ev["ts"] >= to_timestamp(since, getattr(ev["ts"].dt, "tz", None), "since")]
        out = member_period_activity(ev, period=period, active_types=active_types, tz=tz,
                                     until=until)
        if not sort:
            return out
        return out.sort_values(["member_id", "period"], kind="stable").reset_index(drop=True)
    from . import _ibis
    types, until, since = (_types(events, active_types), _end(events, until, tz),
                           _until(events, since, tz))
    key = _pairs_key(events, period, types, until, since, tz)
    out = _recall_pairs(events, key)
    if out is None:
        expr = _ibis.activity_pairs(events, period=period, zone=_zone(events, tz), types=types,
                                    until=until, since=since)
        arrow = expr.to_pyarrow()
        out = pd.DataFrame({"member_id": _ids(arrow.column("member_id")),
                            "period": arrow.column("period").to_numpy().astype(np.int64)})
        _remember(events, key, out)
    if not sort or len(out) < 2:
        return out
    order = np.lexsort([out["period"].to_numpy(), out["member_id"].to_numpy()]
                       if out["member_id"].dtype != object else
                       [out["period"].to_numpy(), pd.factorize(out["member_id"], sort=True)[0]])
    return out.iloc[order].reset_index(drop=True)


#: the (member, period) pair tables kept per lazy event table (each is ~16 bytes a pair: a
#: million members' weekly pairs are ~100 MB), most recent last
_PAIRS: dict = {}
PAIRS_KEPT = 3


def _pairs_key(events, period: str, types, until, since, tz) -> tuple:
    """The cache key of a pairs query; an end at or after the last event and a type list
    covering every type present are the same query as none."""
    hi = ts_range(events)[1]
    if until is not None and hi is not None and until >= hi:
        until = None
    if types is not None and set(types) >= set(event_types(events)):
        types = None
    return (period, None if types is None else tuple(sorted(types)), until, since,
            str(zone_of(events, tz)))


def remember_pairs(events, pairs: pd.DataFrame, *, period: str, tz) -> None:
    """Keep ``pairs`` (``member_id, period``: every event, every type) as the answer of
    :func:`activity_pairs` on ``events`` for ``period`` in ``tz`` (the loader's validation scan
    yields the weekly pairs this way, so the first weekly table needs no second scan)."""
    _remember(events, (period, None, None, None, str(zone_of(events, tz))), pairs)


def _remember(events, key: tuple, pairs: pd.DataFrame) -> None:
    """Keep the pairs of ``events`` for ``key`` (:func:`_pairs_key`), at most
    :data:`PAIRS_KEPT` tables per process (the oldest is dropped)."""
    k = (id(events.op()), key)
    _PAIRS.pop(k, None)
    _PAIRS[k] = (events.op(), pairs)
    while len(_PAIRS) > PAIRS_KEPT:
        _PAIRS.pop(next(iter(_PAIRS)))


def _recall_pairs(events, key: tuple) -> pd.DataFrame | None:
    hit = _PAIRS.get((id(events.op()), key))
    return hit[1] if hit is not None and hit[0] is events.op() else None


def clear_cache() -> None:
    """Forget every cached result of lazy tables (pairs, types, ranges) in this process."""
    _PAIRS.clear()
    _CACHE.clear()


def member_spans(events, *, active_types=None, observed_until=None,
                 joined_at: pd.Series | None = None, early_days: float = 7,
                 tz=None) -> pd.DataFrame:
    """Per-member first/last active time, counts and first participation, on any engine.

    Same definitions and output as :func:`helpers.survival.member_activity_span` (which a
    DataFrame goes through), sorted by ``member_id``.

    Parameters
    ----------
    events : DataFrame or Ibis table
    active_types : str, list of str or None
    observed_until : Timestamp, optional
        Events after it are ignored.
    joined_at : Series, optional
        Join time indexed by ``member_id``; adds ``early_events``. An event of a member not in
        it raises DataError.
    early_days : float
    tz : str, optional
        Zone of the returned timestamps (lazy tables; default: the dataset's zone).

    Returns
    -------
    DataFrame
        ``member_id, first_active_at, last_active_at, n_events, first_participation_at``
        [, ``early_events``].
    """
    if not is_lazy(events):
        from ..survival import member_activity_span
        out = member_activity_span(events, active_types=active_types,
                                   observed_until=observed_until, joined_at=joined_at,
                                   early_days=early_days)
        return out.sort_values("member_id", kind="stable").reset_index(drop=True)
    import ibis

    from . import _ibis
    tz = zone_of(events, tz)
    early = None
    if joined_at is not None:
        ends = (pd.DatetimeIndex(joined_at.array) + pd.Timedelta(days=float(early_days))).ceil("us")
        early = ibis.memtable(pd.DataFrame({
            "member_id": np.asarray(joined_at.index),
            "early_until": ends.tz_convert("UTC") if ends.tz is not None
            else ends.tz_localize(tz).tz_convert("UTC")}))
    expr = _ibis.member_spans(events, types=_types(events, active_types),
                              until=_end(events, observed_until, tz), early=early)
    arrow = _fetch(expr, ["member_id"])
    n = arrow.column("n_events").to_numpy(zero_copy_only=False)
    out = pd.DataFrame({
        "member_id": _ids(arrow.column("member_id")),
        "first_active_at": _times(arrow.column("first_active_at"), tz),
        "last_active_at": _times(arrow.column("last_active_at"), tz),
        "n_events": np.nan_to_num(n.astype(float)).astype(np.int64),
        "first_participation_at": _times(arrow.column("first_participation_at"), tz),
    })
    if joined_at is not None:
        known = arrow.column("known").to_numpy(zero_copy_only=False)
        if len(known) and not (known.astype(float) == 1).all():
            raise DataError("events of members not in the members table", column="member_id",
                            fix="load the data with data.load_community, which checks this")
        out["early_events"] = arrow.column("early_events").to_numpy(
            zero_copy_only=False).astype(np.int64)
    return out


WINDOW_COLUMNS = ("active_days", "messages", "joins", "purchases", "spend", "retained_events",
                  "pre_active_days", "pre_messages", "pre_purchases", "pre_spend")


def window_metrics(events, *, start, end, pre_start=None, ret_from=None, active_types=None,
                   activity_id: str | None = None, tz=None) -> pd.DataFrame:
    """Per-member experiment metrics over ``[start, end)`` and the pre-period, on a lazy table.

    Returns
    -------
    DataFrame
        ``member_id`` and :data:`WINDOW_COLUMNS` (see :func:`helpers.engine._ibis.window_metrics`),
        members with an event since ``pre_start``, sorted by ``member_id``.
    """
    from . import _ibis
    tz = zone_of(events, tz)
    start, end = (to_timestamp(v, tz, n) for v, n in ((start, "start"), (end, "end")))
    pre_start = start if pre_start is None else to_timestamp(pre_start, tz, "pre_start")
    ret_from = end if ret_from is None else to_timestamp(ret_from, tz, "ret_from")
    expr = _ibis.window_metrics(events, zone=_zone(events, tz), types=_types(events, active_types),
                                start=start, end=end, pre_start=pre_start, ret_from=ret_from,
                                activity_id=activity_id)
    arrow = _fetch(expr, ["member_id"])
    out = {"member_id": _ids(arrow.column("member_id"))}
    for c in WINDOW_COLUMNS:
        v = arrow.column(c).to_numpy(zero_copy_only=False).astype(float)
        out[c] = np.nan_to_num(v) if "spend" in c else np.nan_to_num(v).astype(np.int64)
    return pd.DataFrame(out)


DEFAULT_STEPS = ("active", "purchased", "repurchased")


def step_times(events, members: pd.DataFrame, *, steps: Sequence[str] | None = None,
               window_days: float = 30, active_types=None, until=None,
               tz=None) -> pd.DataFrame:
    """Funnel step times per member inside ``[joined_at, joined_at + window_days)``, lazily.

    The funnel's rules (:mod:`helpers.conversion.funnel`): each step is the first matching event
    at or after the previous step; default steps ``active`` (an active event), ``purchased`` (a
    ``purchase``) and ``repurchased`` (a purchase on a later local day than the first); custom
    ``steps`` name event types in order.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at`` of the members to follow.
    until : Timestamp, optional
        The end of observation (later events are ignored).

    Returns
    -------
    DataFrame
        ``member_id`` and one column per step (timestamps in ``tz``; NaT when not reached), one
        row per member of ``members``, sorted by ``member_id``.
    """
    import ibis

    from . import _ibis
    tz = zone_of(events, tz)
    if steps is None:
        names = list(DEFAULT_STEPS)
        rules = [("active", _types(events, active_types)), ("type", _ibis.PURCHASE_TYPE),
                 ("later_day", _ibis.PURCHASE_TYPE)]
    else:
        names = [str(s) for s in steps]
        present = event_types(events)
        unknown = [s for s in names if s not in present]
        if unknown:
            raise ParameterError(f"steps: event type {unknown[0]!r} never occurs in events; "
                                 f"types present: {', '.join(present)}")
        rules = [("type", s) for s in names]
    start = pd.DatetimeIndex(members["joined_at"].array)
    start = start.tz_convert("UTC") if start.tz is not None else start.tz_localize(tz).tz_convert("UTC")
    start = start.as_unit("us")
    end = (start + pd.Timedelta(days=float(window_days))).ceil("us")  # ts < end, ts in µs
    windows = ibis.memtable(pd.DataFrame({
        "member_id": members["member_id"].to_numpy(), "window_start": start,
        "window_end": end}))
    expr = _ibis.step_times(events, windows, zone=_zone(events, tz), steps=list(zip(names, rules)),
                            until=_end(events, until, tz),
                            since=start.min() if len(start) else None)
    arrow = _fetch(expr, ["member_id"])
    return pd.DataFrame({"member_id": _ids(arrow.column("member_id")),
                         **{c: _times(arrow.column(c), tz) for c in names}})


def purchase_days(events, *, observed_until=None, tz=None) -> pd.DataFrame:
    """Purchases per (member, local day), lazily: ``member_id, day, purchases, amount,
    first_at`` (``day``: days since 1970-01-01 on the wall clock), sorted."""
    from . import _ibis
    tz = zone_of(events, tz)
    expr = _ibis.purchase_days(events, zone=_zone(events, tz),
                               until=_end(events, observed_until, tz))
    arrow = _fetch(expr, ["member_id", "day"])
    return pd.DataFrame({
        "member_id": _ids(arrow.column("member_id")),
        "day": arrow.column("day").to_numpy(zero_copy_only=False).astype(np.int64),
        "purchases": arrow.column("purchases").to_numpy(zero_copy_only=False).astype(np.int64),
        "amount": arrow.column("amount").to_numpy(zero_copy_only=False).astype(float),
        "first_at": _times(arrow.column("first_at"), tz)})


# ----------------------------------------------------------------------------- report 04, arms
def _aware(values, tz) -> pd.DatetimeIndex:
    """Timestamps as instants (naive values are wall-clock times in ``tz``)."""
    idx = pd.DatetimeIndex(values)
    return idx.tz_localize(tz) if idx.tz is None else idx


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
    from . import _ibis
    tz = tz or config.TIMEZONE
    m = pd.DataFrame({"member_id": _id_values(members["member_id"]),
                      "joined_at": _aware(members["joined_at"].array, tz)})
    m["window_end"] = m["joined_at"] + pd.Timedelta(days=float(horizon_days))
    windows = _ibis.windows_table(m, "member_id", "joined_at", "window_end")
    since = m["joined_at"].min() if len(m) else None
    expr = _ibis.purchase_summary(events, windows, until=_floor_us(_until(events, until, tz)),
                                  since=since)
    arrow = _fetch(expr, ["member_id"])
    got = pd.DataFrame({
        "member_id": _ids(arrow.column("member_id")),
        **{c: arrow.column(c).to_numpy(zero_copy_only=False).astype(np.int64)
           for c in ("purchases", "window_purchases")},
        **{c: arrow.column(c).to_numpy(zero_copy_only=False).astype(float)
           for c in ("spend", "window_spend")},
        **{c: _times(arrow.column(c), tz) for c in ("first_purchase_at", "last_purchase_at")}})
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
    from . import _ibis
    tz = tz or config.TIMEZONE
    expr = _ibis.purchase_day_totals(events, zone=_zone(events, tz),
                                     until=_floor_us(_until(events, observed_until, tz)))
    arrow = _fetch(expr, ["member_id", "day"])
    amount = arrow.column("amount").to_pandas().to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame({
        "member_id": _ids(arrow.column("member_id")),
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
    from . import _ibis
    expr = _ibis.count_events(events, types=types, until=_floor_us(_until(events, until, tz)))
    return int(expr.to_pyarrow().as_py())


def members_between(events, *, since, before, tz=None) -> np.ndarray:
    """Ids of the members with an event in ``[since, before)`` (sorted), lazily."""
    from . import _ibis
    tz = tz or config.TIMEZONE
    # rounded up: for microsecond events ``ts >= since`` and ``ts < before`` are unchanged
    expr = _ibis.members_between(events, since=to_timestamp(since, tz, "since").ceil("us"),
                                 before=to_timestamp(before, tz, "before").ceil("us"))
    return np.sort(_ids(expr.to_pyarrow().column("member_id")))


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
    from . import _ibis
    tz = tz or config.TIMEZONE
    until = _floor_us(_until(events, until, tz))
    acts = pd.DataFrame({"activity_id": activities["activity_id"].astype(str).to_numpy(),
                         "starts_at": _aware(activities["starts_at"].array, tz),
                         "ends_at": _aware(activities["ends_at"].array, tz)})
    named = _ibis.labelled_activities(events, until=until)
    seen = set() if named is None else set(map(str, named.to_pyarrow().column(0).to_pylist()))
    parts = []
    for labelled, sub in ((True, acts[acts["activity_id"].isin(seen)]),
                          (False, acts[~acts["activity_id"].isin(seen)])):
        if sub.empty:
            continue
        windows = _ibis.windows_table(sub, "activity_id", "starts_at", "ends_at")
        arrow = _ibis.activity_takers(events, windows, until=until,
                                      labelled=labelled).to_pyarrow()
        parts.append(pd.DataFrame({"member_id": _ids(arrow.column("member_id")),
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
    from . import _ibis
    tz = tz or config.TIMEZONE
    if windows.empty:
        return pd.DataFrame({"window_id": pd.Series(dtype=np.int64),
                             "member_id": pd.Series(dtype=object),
                             "active_days": pd.Series(dtype=np.int64),
                             "purchases": pd.Series(dtype=np.int64)})
    # bounds rounded up to a microsecond: the same comparisons for microsecond events
    bounds = [(int(i), lo.tz_convert("UTC").ceil("us"), hi.tz_convert("UTC").ceil("us"))
              for i, lo, hi in zip(windows["window_id"], _aware(windows["start"].array, tz),
                                   _aware(windows["end"].array, tz))]
    expr = _ibis.window_counts(events, bounds, zone=_zone(events, tz),
                               types=_types(events, active_types))
    arrow = _fetch(expr, ["window_id", "member_id"])
    return pd.DataFrame({
        "window_id": arrow.column("window_id").to_numpy(zero_copy_only=False).astype(np.int64),
        "member_id": _ids(arrow.column("member_id")),
        **{c: arrow.column(c).to_numpy(zero_copy_only=False).astype(np.int64)
           for c in ("active_days", "purchases")}})
