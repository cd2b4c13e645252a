"""The event-level steps, defined once as Ibis expressions (compiled to DuckDB or Spark).

Every function here takes an Ibis table of events (``member_id, ts, event_type`` [,
``activity_id``, ``amount``]) and returns an Ibis table with one row per member or per
(member, period); nothing is executed here (see :mod:`helpers.engine.api` for that).

Time: ``ts`` is an instant (DuckDB: ``timestamp('UTC')``; Spark: its session-zone
``timestamp``, the session being UTC). The wall clock of the dataset's zone is computed as
integer microseconds: ``epoch microseconds + UTC offset``, where the offset is a constant when
the zone has no transition over the data's range (Asia/Shanghai) and a ``CASE`` over the few
transitions otherwise (daylight-saving zones). This is the "zone-less local timestamp first"
rule in arithmetic form: it does not depend on the session, OS or JVM zone of either engine.
Day codes are ``local microseconds // 86400e6``, ISO weeks ``(day + 3) // 7``, months
``(year - 1970) * 12 + month - 1`` of the local date (:func:`helpers._time.period_codes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from .._checks import PARTICIPATION_TYPE
from .._time import DAY_SECONDS, utc_instant

PURCHASE_TYPE = "purchase"  #: the standard event type of a purchase (DESIGN.md section 3)


# ----------------------------------------------------------------------------- time
@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts) -> int:
    """DuckDB: microseconds since the epoch of a TIMESTAMPTZ (no zone conversion)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_epoch_us(ts) -> int:
    """Spark: microseconds since the epoch of a TIMESTAMP (an instant)."""


DAY_US = DAY_SECONDS * 1_000_000


def epoch_micros(ts):
    """Microseconds since the epoch (UTC) of an instant column, as an integer.

    The one backend-specific primitive of the definitions: DuckDB's ``epoch_us`` and Spark's
    ``unix_micros`` read the instant directly (Ibis' ``epoch_seconds`` would cast DuckDB's
    TIMESTAMPTZ through the session zone first, three times slower).
    """
    backend = ts._find_backend().name
    if backend == "duckdb":
        return _duckdb_epoch_us(ts)
    if backend == "pyspark":
        return _spark_epoch_us(ts)
    return (ts.epoch_seconds() * 1_000_000).cast("int64")  # other backends: whole seconds


def local_micros(ts, zone: tuple[int, list[tuple[int, int]]]):
    """Wall-clock microseconds of ``ts`` in ``zone``
    (:func:`helpers._time.zone_transitions`)."""
    us = epoch_micros(ts)
    first, changes = zone
    if not changes:
        return us + first * 1_000_000
    # offsets by interval: the last change at or before the instant wins
    cases = [(us >= at * 1_000_000, off * 1_000_000) for at, off in reversed(changes)]
    return us + ibis.cases(*cases, else_=first * 1_000_000)


def period_code(ts, period: str, zone):
    """Integer period code (as :func:`helpers._time.period_codes`) of an instant column."""
    day = local_micros(ts, zone) // DAY_US  # exact: a float quotient of integers < 2**53
    if period == "D":
        return day.cast("int64")
    if period == "W":
        return ((day + 3) // 7).cast("int64")
    date = ibis.date(1970, 1, 1) + day.as_interval("D")
    return ((date.year() - 1970) * 12 + date.month() - 1).cast("int64")


def local_day(ts, zone):
    """Local calendar day code (days since 1970-01-01 on the zone's wall clock)."""
    return (local_micros(ts, zone) // DAY_US).cast("int64")


def ts_literal(events, value: pd.Timestamp):
    """``value`` as a literal comparable with ``events.ts`` on its backend (aware UTC on
    DuckDB, naive UTC on Spark's UTC session)."""
    t = utc_instant(value)
    if events.ts.type().timezone is None:
        return ibis.literal(t.tz_localize(None).to_pydatetime(), type="timestamp")
    return ibis.literal(t.to_pydatetime(), type="timestamp('UTC')")


# ----------------------------------------------------------------------------- flags
def is_active(events, types: Sequence[str] | None):
    """Boolean expression: the event counts as active (``None`` = every event)."""
    return ibis.literal(True) if types is None else events.event_type.isin(list(types))


def is_participation(events):
    """Boolean expression: taking part (``activity_join``, or an event with an ``activity_id``)."""
    part = events.event_type == PARTICIPATION_TYPE
    if "activity_id" in events.columns:
        part = part | events.activity_id.notnull()
    return part.fill_null(False)


def _month(t: pd.Timestamp) -> str:
    t = pd.Timestamp(t)
    return (t.tz_convert("UTC") if t.tzinfo is not None else t).strftime("%Y-%m")


def prune(events, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None):
    """Keep only the month partitions (``month=YYYY-MM`` folders) that can hold events in
    ``[since, until]`` (a day's margin each side covers any zone); other tables unchanged."""
    if "month" not in events.columns:
        return events
    if until is not None:
        events = events.filter(events.month <= _month(pd.Timestamp(until) + pd.Timedelta(days=1)))
    if since is not None:
        events = events.filter(events.month >= _month(pd.Timestamp(since) - pd.Timedelta(days=1)))
    return events


def until_filter(events, until: pd.Timestamp | None):
    """``events`` without the events after ``until`` (the end of observation; partitions after
    it are not read)."""
    if until is None:
        return events
    events = prune(events, until=until)
    return events.filter(events.ts <= ts_literal(events, until))


# ----------------------------------------------------------------------------- the steps
def activity_pairs(events, *, period: str, zone, types: Sequence[str] | None,
                   until: pd.Timestamp | None = None, since: pd.Timestamp | None = None):
    """De-duplicated (member, period) activity pairs: ``member_id, period``."""
    ev = until_filter(events, until)
    if since is not None:
        ev = prune(ev, since=since)
        ev = ev.filter(ev.ts >= ts_literal(ev, since))
    if types is not None:
        ev = ev.filter(is_active(ev, types))
    return ev.select(member_id=ev.member_id, period=period_code(ev.ts, period, zone)).distinct()


def member_spans(events, *, types: Sequence[str] | None, until: pd.Timestamp | None = None,
                 early=None):
    """Per-member first/last active time, active count and first participation.

    ``early``: an optional table ``member_id, early_until`` (join time + early window); adds
    ``early_events`` (active events before ``early_until``) and ``_rows`` (the member's events
    that met ``early``: an inner join, several times cheaper than a left join of the log; a
    member missing from ``early`` has no row, which :func:`span_rows` lets the caller detect).

    Returns ``member_id, first_active_at, last_active_at, n_events, first_participation_at``
    [, ``early_events, _rows``] for members with an active or participation event.
    """
    ev = span_rows(events, types=types, until=until)
    if types is None:  # every event is active: plain aggregates, no filter (the common case)
        first, last, n = ev.ts.min(), ev.ts.max(), ev.count()
    else:
        first, last = ev.ts.min(where=ev._active), ev.ts.max(where=ev._active)
        n = ev._active.cast("int64").sum()
    if early is None:
        return ev.group_by("member_id").aggregate(
            first_active_at=first, last_active_at=last, n_events=n,
            first_participation_at=ev.ts.min(where=ev._part))
    j = ev.join(early, ev.member_id == early.member_id)
    j = j.select(*[j[c] for c in ev.columns if c in ("member_id", "ts", "_active", "_part")],
                 j.early_until)
    if types is None:
        first, last, n = j.ts.min(), j.ts.max(), j.count()
        early_n = j.count(where=j.ts < j.early_until)
    else:
        first, last = j.ts.min(where=j._active), j.ts.max(where=j._active)
        n = j._active.cast("int64").sum()
        early_n = (j._active & (j.ts < j.early_until)).fill_null(False).cast("int64").sum()
    return j.group_by("member_id").aggregate(
        first_active_at=first, last_active_at=last, n_events=n,
        first_participation_at=j.ts.min(where=j._part), early_events=early_n, _rows=j.count())


def span_rows(events, *, types: Sequence[str] | None, until: pd.Timestamp | None = None):
    """The events :func:`member_spans` aggregates (``_part`` [, ``_active``] added): its
    ``_rows`` summed over the members equal this table's count when every member is known."""
    ev = until_filter(events, until)
    if types is None:
        return ev.mutate(_part=is_participation(ev))
    ev = ev.mutate(_active=is_active(ev, types), _part=is_participation(ev))
    return ev.filter(ev._active | ev._part)


def window_metrics(events, *, zone, types: Sequence[str] | None, start, end, pre_start,
                   activity_id: str | None = None):
    """Per-member experiment metrics over ``[start, end)`` and the pre-period
    ``[pre_start, start)``: one scan of the events in ``[pre_start, end)`` only.

    Returns ``member_id, active_days, messages, joins, purchases, spend, pre_active_days,
    pre_messages, pre_purchases, pre_spend`` for members with an event in ``[pre_start, end)``
    (counts are int64, spend float64; absent members have zeros). Retention after the window is
    :func:`active_counts` (a second, cheaper scan: the window's many conditional aggregates
    are not evaluated over every later event).
    """
    ev = prune(events, since=pre_start, until=end)
    lit = lambda v: ts_literal(ev, v)  # noqa: E731
    ev = ev.filter((ev.ts >= lit(pre_start)) & (ev.ts < lit(end)))
    win, pre = ev.ts >= lit(start), ev.ts < lit(start)
    active = is_active(ev, types)
    day = local_day(ev.ts, zone)
    msg = ev.event_type == "message"
    buy = ev.event_type == PURCHASE_TYPE
    amount = ev.amount.cast("float64").fill_null(0.0) if "amount" in ev.columns \
        else ibis.literal(0.0)
    if activity_id is not None and "activity_id" in ev.columns:
        join = win & (ev.event_type == PARTICIPATION_TYPE) & (ev.activity_id == activity_id)
    else:  # no such activity: nobody joined it (a column expression, so it aggregates)
        join = ev.member_id.isnull() & ev.member_id.notnull()

    def count(cond):  # COUNT(*) FILTER (…): cheaper than summing a cast per row
        return ev.count(where=cond.fill_null(False))

    def spend(cond):
        return amount.sum(where=cond.fill_null(False)).fill_null(0.0)

    return ev.group_by("member_id").aggregate(
        active_days=day.nunique(where=win & active),
        messages=count(win & msg), joins=count(join), purchases=count(win & buy),
        spend=spend(win & buy), pre_active_days=day.nunique(where=pre & active),
        pre_messages=count(pre & msg), pre_purchases=count(pre & buy), pre_spend=spend(pre & buy))


def active_counts(events, *, types: Sequence[str] | None, since):
    """Active events per member from ``since`` on: ``member_id, n`` (members with one)."""
    ev = prune(events, since=since)
    ev = ev.filter(ev.ts >= ts_literal(ev, since))
    if types is not None:
        ev = ev.filter(is_active(ev, types))
    return ev.group_by("member_id").aggregate(n=ev.count())


def purchase_days(events, *, zone, until: pd.Timestamp | None = None,
                  purchase_type: str = PURCHASE_TYPE):
    """Purchases per (member, local day): ``member_id, day, purchases, amount, first_at``."""
    ev = until_filter(events, until)
    ev = ev.filter(ev.event_type == purchase_type)
    amount = ev.amount.cast("float64").fill_null(0.0) if "amount" in ev.columns \
        else ibis.literal(0.0)
    ev = ev.mutate(day=local_day(ev.ts, zone), _amount=amount)
    return ev.group_by(["member_id", "day"]).aggregate(
        purchases=ev.count(), amount=ev._amount.sum(), first_at=ev.ts.min())
