"""Shared internals of the engine entry points (:mod:`.api`, :mod:`.purchases`): what a lazy
table is, the per-table caches (event types, time range, the dataset's zone), the conversion of
fetched Arrow columns, and the end/types/zone arguments every step resolves the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import config
from .._checks import active_types as _resolve_types
from .._time import to_timestamp, utc
from ._lazy import LazyEvents

_CACHE: dict = {}


def is_lazy(obj) -> bool:
    """True for an Ibis table (a lazy event log, :class:`._lazy.LazyEvents` included), False
    for a DataFrame or anything else.

    Examples
    --------
    >>> is_lazy(pd.DataFrame())
    False
    """
    if type(obj) is LazyEvents:
        return True
    return type(obj).__module__.startswith("ibis.") and hasattr(obj, "to_pyarrow")


def identity(events):
    """What the per-table caches key a lazy table by: the table's operation (equal tables from
    one definition share it), or the :class:`._lazy.LazyEvents` itself (so that a cached answer
    needs no Ibis)."""
    return events if type(events) is LazyEvents else events.op()


def cached(events, key, compute):
    me = identity(events)
    k = (id(me), key)
    hit = _CACHE.get(k)
    if hit is not None and hit[0] is me:
        return hit[1]
    value = compute()
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[k] = (me, value)
    return value


def event_types(events) -> list[str]:
    """Distinct non-null event types of a lazy table, sorted (one small query, cached)."""
    def compute():
        col = events.select("event_type").filter(events.event_type.notnull()).distinct()
        return sorted(map(str, col.to_pyarrow().column(0).to_pylist()))
    return cached(events, "types", compute)


def ts_range(events) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """(first, last) event instant of a lazy table, UTC (cached)."""
    def compute():
        row = events.aggregate(lo=events.ts.min(), hi=events.ts.max()).to_pyarrow()
        lo, hi = (instants(row.column(c)) for c in ("lo", "hi"))
        return (lo[0] if len(lo) and not pd.isna(lo[0]) else None,
                hi[0] if len(hi) and not pd.isna(hi[0]) else None)
    return cached(events, "range", compute)


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
        me = identity(events)
        hit = _ZONES.get(id(me))
        if hit is not None and hit[0] is me:
            return hit[1]
    return config.TIMEZONE


_ZONES: dict = {}  #: id(identity) -> (identity, zone): metadata of loaded tables, never cleared


def remember_zone(events, tz) -> None:
    """Record ``tz`` as the dataset zone of the lazy table ``events`` (see :func:`zone_of`)."""
    if len(_ZONES) > 256:
        _ZONES.clear()
    me = identity(events)
    _ZONES[id(me)] = (me, tz)


def zone(events, tz):
    from .._time import zone_transitions
    lo, hi = ts_range(events)
    return zone_transitions(zone_of(events, tz), lo, hi)


def aware(values, tz) -> pd.DatetimeIndex:
    """Timestamps as instants (naive values are wall-clock times in ``tz``)."""
    idx = pd.DatetimeIndex(values)
    return idx.tz_localize(tz) if idx.tz is None else idx


def instants(col) -> pd.DatetimeIndex:
    """A pyarrow timestamp column as UTC instants (naive values are UTC: Spark's session)."""
    return utc(pd.DatetimeIndex(col.to_pandas()).as_unit("ns"))


def times(col, tz) -> pd.DatetimeIndex:
    idx = instants(col)
    return idx.tz_convert(tz) if tz is not None else idx.tz_localize(None)


def ids(col) -> np.ndarray:
    values = col.to_numpy(zero_copy_only=False)
    return values.astype(np.int64) if values.dtype.kind in "iu" else values.astype(object)


def as_until(events, until, tz):
    if until is None:
        return None
    return to_timestamp(until, zone_of(events, tz), "until")


def as_end(events, until, tz):
    """``until`` as an instant, or None when it is at or after the last event (no filter)."""
    until = as_until(events, until, tz)
    hi = ts_range(events)[1] if until is not None else None
    return None if until is not None and hi is not None and until >= hi else until


def resolve_types(events, active_types):
    return None if active_types is None else _resolve_types(active_types, event_types(events))


def fetch(expr, order: Sequence[str]):
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



def forget(cache: dict, events=None) -> None:
    """Empty a per-table cache (entries ``(id, ...) -> (identity, ...)``), or drop the entries
    of ``events`` only."""
    if events is None:
        cache.clear()
        return
    me = identity(events)
    for k in [k for k, v in cache.items() if v[0] is me]:
        del cache[k]


def clear(events=None) -> None:
    """Forget the cached event types and time ranges (the recorded zones stay): of every
    table, or of ``events`` only."""
    forget(_CACHE, events)
