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
from .._time import DAY_SECONDS, utc, utc_instant

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


def step_times(events, windows, *, zone, steps: Sequence[tuple[str, object]],
               until: pd.Timestamp | None = None, since=None):
    """Funnel step times per member: each step the first matching event inside the member's
    window at or after the time the previous step was reached (the funnel's ordered rule).

    ``windows``: a table ``member_id, window_start, window_end`` (join time and join time +
    ``window_days``). ``steps``: ``(name, rule)`` in order, a rule being ``("active", types)``
    (an active event), ``("type", event_type)`` or ``("later_day", event_type)`` (that type on a
    later local day than the previous step: the repurchase). Events after ``until`` are ignored;
    ``since`` (the earliest window start) and ``until`` prune month partitions.

    Returns ``member_id`` and one timestamp column per step (null when not reached), for every
    member of ``windows``.
    """
    ev = until_filter(prune(events, since=since), until)
    ev = ev.join(windows, ev.member_id == windows.member_id).select(
        ev.member_id, ev.ts, ev.event_type, windows.window_start, windows.window_end)
    ev = ev.filter((ev.ts >= ev.window_start) & (ev.ts < ev.window_end))
    prev = windows.select("member_id", _at=windows.window_start)
    out = windows.select("member_id")
    for name, (kind, arg) in steps:
        j = ev.join(prev, ev.member_id == prev.member_id).select(
            ev.member_id, ev.ts, ev.event_type, prev._at)
        if kind == "active":
            cond = is_active(j, arg)
        elif kind == "later_day":
            cond = (j.event_type == arg) & (local_day(j.ts, zone) > local_day(j._at, zone))
        else:
            cond = j.event_type == arg
        j = j.filter(cond & (j.ts >= j._at))
        prev = j.group_by("member_id").aggregate(_at=j.ts.min())
        out = out.left_join(prev, out.member_id == prev.member_id).select(
            *[out[c] for c in out.columns], **{name: prev._at})
    return out


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


# ----------------------------------------------------------------------------- report 04, arms
def windows_table(frame: pd.DataFrame, key: str, start: str, end: str):
    """A memtable ``key, window_start, window_end`` of instants (UTC, microseconds, rounded up:
    for microsecond events ``ts >= window_start`` and ``ts < window_end`` are the comparisons
    with the exact nanosecond bounds)."""
    def micros(values):
        return utc(values).ceil("us").as_unit("us")
    return ibis.memtable(pd.DataFrame({key: frame[key].to_numpy(),
                                       "window_start": micros(frame[start]),
                                       "window_end": micros(frame[end])}))


def purchase_summary(events, windows, *, until: pd.Timestamp | None = None, since=None,
                     purchase_type: str = PURCHASE_TYPE):
    """Per member of ``windows`` (``member_id, window_start, window_end``: join time and join
    time + horizon): their purchases from ``window_start`` up to ``until``.

    Returns ``member_id, purchases, first_purchase_at, last_purchase_at, spend,
    window_purchases, window_spend`` for the members with such a purchase (``window_*``:
    purchases in ``[window_start, window_end)``; amounts without a value count as 0).
    ``since`` (the earliest window start) and ``until`` prune month partitions.
    """
    ev = until_filter(prune(events, since=since), until)
    ev = ev.filter(ev.event_type == purchase_type)
    amount = ev.amount.cast("float64").fill_null(0.0) if "amount" in ev.columns \
        else ibis.literal(0.0)
    ev = ev.select(ev.member_id, ev.ts, _amount=amount)
    j = ev.join(windows, ev.member_id == windows.member_id).select(
        ev.member_id, ev.ts, ev._amount, windows.window_start, windows.window_end)
    j = j.filter(j.ts >= j.window_start)
    inside = j.ts < j.window_end
    return j.group_by("member_id").aggregate(
        purchases=j.count(), first_purchase_at=j.ts.min(), last_purchase_at=j.ts.max(),
        spend=j._amount.sum(), window_purchases=inside.cast("int64").sum(),
        window_spend=ibis.cases((inside, j._amount), else_=0.0).sum())


def purchase_day_totals(events, *, zone, until: pd.Timestamp | None = None,
                        purchase_type: str = PURCHASE_TYPE):
    """Purchases per (member, local day) with the day's amount as SQL sums it: ``member_id,
    day, purchases, amount`` (``amount`` null when no purchase of the day has one, or without
    an ``amount`` column: the repeat-purchase model's "no monetary value")."""
    ev = until_filter(events, until)
    ev = ev.filter(ev.event_type == purchase_type)
    amount = ev.amount.cast("float64") if "amount" in ev.columns \
        else ibis.null().cast("float64")
    ev = ev.mutate(day=local_day(ev.ts, zone), _amount=amount)
    return ev.group_by(["member_id", "day"]).aggregate(purchases=ev.count(),
                                                      amount=ev._amount.sum())


def count_events(events, *, types: Sequence[str] | None = None,
                 until: pd.Timestamp | None = None):
    """Scalar expression: the number of events (of ``types``; up to ``until``)."""
    ev = until_filter(events, until)
    if types is not None:
        ev = ev.filter(is_active(ev, types))
    return ev.count()


def members_between(events, *, since: pd.Timestamp, before: pd.Timestamp,
                    types: Sequence[str] | None = None):
    """Distinct ``member_id`` with an event (of ``types``) in ``[since, before)``."""
    ev = prune(events, since=since, until=before)
    ev = ev.filter((ev.ts >= ts_literal(ev, since)) & (ev.ts < ts_literal(ev, before)))
    if types is not None:
        ev = ev.filter(is_active(ev, types))
    return ev.select("member_id").distinct()


def labelled_activities(events, *, until: pd.Timestamp | None = None):
    """Distinct ``activity_id`` (as text) of the events that name one, up to ``until``."""
    if "activity_id" not in events.columns:
        return None
    ev = until_filter(events, until)
    ev = ev.filter(ev.activity_id.notnull())
    return ev.select(activity_id=ev.activity_id.cast("string")).distinct()


def activity_takers(events, windows, *, until: pd.Timestamp | None = None,
                    labelled: bool = True):
    """Distinct ``member_id, activity_id`` of members who took part in an activity of
    ``windows`` (``activity_id, window_start, window_end``: its start and end) during it.

    ``labelled``: events naming the activity (``activity_id``); otherwise ``activity_join``
    events that name none, matched to every activity of ``windows`` by time only (the activity
    review's rule for activities no event names). Events after ``until`` are ignored.
    """
    ev = until_filter(events, until)
    if labelled:
        ev = ev.filter(ev.activity_id.notnull())
        ev = ev.select(ev.member_id, ev.ts, _aid=ev.activity_id.cast("string"))
        j = ev.join(windows, ev._aid == windows.activity_id)
    else:
        cond = ev.event_type == PARTICIPATION_TYPE
        if "activity_id" in ev.columns:
            cond = cond & ev.activity_id.isnull()
        ev = ev.filter(cond).select("member_id", "ts")
        j = ev.cross_join(windows)
    j = j.filter((j.ts >= j.window_start) & (j.ts < j.window_end))
    return j.select("member_id", "activity_id").distinct()


def window_counts(events, windows: Sequence[tuple[int, pd.Timestamp, pd.Timestamp]], *, zone,
                  types: Sequence[str] | None):
    """Per (window, member): active local days and purchases in the window, for a few windows
    ``(window_id, start, end)`` (``[start, end)``) in one query.

    A union of one filtered aggregate per window (measured on 4 million events and 20 windows:
    0.7 s on DuckDB, against 11 s for a range join of the events with a table of windows).

    Returns ``window_id, member_id, active_days, purchases`` for the members with an event in
    a window.
    """
    parts = []
    for wid, lo, hi in windows:
        ev = prune(events, since=lo, until=hi)
        ev = ev.filter((ev.ts >= ts_literal(ev, lo)) & (ev.ts < ts_literal(ev, hi)))
        active = is_active(ev, types)
        parts.append(ev.group_by("member_id").aggregate(
            active_days=local_day(ev.ts, zone).nunique(where=active),
            purchases=(ev.event_type == PURCHASE_TYPE).cast("int64").sum(),
        ).mutate(window_id=ibis.literal(int(wid), type="int64")))
    out = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return out.select("window_id", "member_id", "active_days", "purchases")


# ----------------------------------------------------------------------------- member layers
def layer_figures(events, cuts: Sequence[tuple[pd.Timestamp, int]], *, zone,
                  types: Sequence[str] | None, window_days: int,
                  purchase_type: str = PURCHASE_TYPE):
    """The member layers' RFM figures at several measurement times in one query.

    ``cuts``: ``(instant, local day code)`` per measurement time ``i``. For each ``i``, per
    member: ``last_i`` the last active event at or before the instant; ``days_i`` the active
    local days among the ``window_days`` days ending with the instant's day (events of that
    day up to the instant only); ``spend_i`` the ``amount`` of the purchases in that window
    up to the instant (amounts without a value are not counted).

    Last times: one plain maximum over the events before the earliest time (they precede every
    time) and a filtered maximum per time over the events from it to the latest; spends: a
    filtered sum per time over the purchases of the windows; active days: the first active
    event of each (member, local day) since the earliest window, counted per window (no
    distinct aggregate per time). Members without an event up to the latest time have no row;
    ``days_i`` is null for members without an active day since the earliest window.
    """
    n = len(cuts)
    lo = min(t for t, _ in cuts)
    hi = max(t for t, _ in cuts)
    first_day = min(d for _, d in cuts) - int(window_days) + 1
    ev = until_filter(events, hi)
    since = lo - pd.Timedelta(days=int(window_days) + 1)  # before every window's first day
    null_ts = ibis.null().cast(ev.ts.type())
    # last active times: before the earliest time (one maximum), then per time
    old = ev.filter(ev.ts < ts_literal(ev, lo))
    if types is not None:
        old = old.filter(is_active(old, types))
    old = old.group_by("member_id").aggregate(_last=old.ts.max())
    old = old.select("member_id", *[old._last.name(f"last_{i}") for i in range(n)],
                     *[ibis.literal(0.0).name(f"spend_{i}") for i in range(n)])
    new = prune(ev, since=lo)
    new = new.filter(new.ts >= ts_literal(new, lo))
    if types is not None:
        new = new.filter(is_active(new, types))
    new = new.group_by("member_id").aggregate(
        **{f"last_{i}": new.ts.max(where=new.ts <= ts_literal(new, t))
           for i, (t, _) in enumerate(cuts)})
    new = new.select("member_id", *[new[f"last_{i}"] for i in range(n)],
                     *[ibis.literal(0.0).name(f"spend_{i}") for i in range(n)])
    parts = [old, new]
    if "amount" in ev.columns:
        buy = prune(ev, since=since)
        buy = buy.filter((buy.event_type == purchase_type) & buy.amount.notnull())
        buy = buy.mutate(_day=local_day(buy.ts, zone), _amount=buy.amount.cast("float64"))
        buy = buy.filter(buy._day >= first_day)
        spend = {}
        for i, (t, d) in enumerate(cuts):
            inside = (buy.ts <= ts_literal(buy, t)) & (buy._day > d - int(window_days))
            spend[f"spend_{i}"] = ibis.cases((inside, buy._amount), else_=0.0).sum()
        buy = buy.group_by("member_id").aggregate(**spend)
        parts.append(buy.select("member_id", *[null_ts.name(f"last_{i}") for i in range(n)],
                                *[buy[f"spend_{i}"] for i in range(n)]))
    both = ibis.union(*parts)
    per_member = both.group_by("member_id").aggregate(
        **{f"last_{i}": both[f"last_{i}"].max() for i in range(n)},
        **{f"spend_{i}": both[f"spend_{i}"].sum() for i in range(n)})
    recent = prune(ev, since=since)
    if types is not None:
        recent = recent.filter(is_active(recent, types))
    recent = recent.mutate(_day=local_day(recent.ts, zone))
    recent = recent.filter(recent._day >= first_day)
    daily = recent.group_by(["member_id", "_day"]).aggregate(_first=recent.ts.min())
    counts = {}
    for i, (t, d) in enumerate(cuts):
        keep = (daily._day > d - int(window_days)) & (
            (daily._day < d) | ((daily._day == d) & (daily._first <= ts_literal(ev, t))))
        counts[f"days_{i}"] = keep.cast("int64").sum()
    days = daily.group_by("member_id").aggregate(**counts)
    j = per_member.left_join(days, per_member.member_id == days.member_id)
    return j.select(per_member.member_id, *[per_member[f"last_{i}"] for i in range(n)],
                    *[j[f"days_{i}"] for i in range(n)],
                    *[per_member[f"spend_{i}"] for i in range(n)])


# ----------------------------------------------------------------------------- before/after windows
def window_active_days(events, windows: Sequence[tuple[int, pd.Timestamp, pd.Timestamp, int, int]],
                       *, zone, types: Sequence[str] | None):
    """Active local days per member in each of several windows ``[start, end)``, one scan.

    ``windows``: ``(window_id, start, end, start day, end day)`` with the local day codes of
    the bounds, the start's day before the end's (windows of a day or more). The events of the
    windows' union are grouped once by (member, local day) with the first and last active time
    of the day; a window counts the days strictly between its bounds' days, its start day when
    the day's last active time is at or after the start, and its end day when the day's first
    active time is before the end.

    Returns ``member_id, days_<window_id>…`` (int64) for the members with an active event in the
    union.
    """
    lo = min(w[1] for w in windows)
    hi = max(w[2] for w in windows)
    ev = prune(events, since=lo, until=hi)
    ev = ev.filter((ev.ts >= ts_literal(ev, lo)) & (ev.ts < ts_literal(ev, hi)))
    if types is not None:
        ev = ev.filter(is_active(ev, types))
    ev = ev.mutate(_day=local_day(ev.ts, zone))
    daily = ev.group_by(["member_id", "_day"]).aggregate(_first=ev.ts.min(), _last=ev.ts.max())
    counts = {}
    for wid, start, end, d0, d1 in windows:
        inside = ((daily._day > d0) & (daily._day < d1)) \
            | ((daily._day == d0) & (daily._last >= ts_literal(ev, start))) \
            | ((daily._day == d1) & (daily._first < ts_literal(ev, end)))
        counts[f"days_{int(wid)}"] = inside.cast("int64").sum()
    return daily.group_by("member_id").aggregate(**counts)


def window_purchases(events, windows: Sequence[tuple[int, pd.Timestamp, pd.Timestamp]],
                     purchase_type: str = PURCHASE_TYPE):
    """Purchases per member in each of several windows ``[start, end)``, one scan of the
    purchases of their union: ``member_id, buys_<window_id>…`` (int64) for the members with a
    purchase in the union."""
    lo = min(w[1] for w in windows)
    hi = max(w[2] for w in windows)
    ev = prune(events, since=lo, until=hi)
    ev = ev.filter((ev.ts >= ts_literal(ev, lo)) & (ev.ts < ts_literal(ev, hi))
                   & (ev.event_type == purchase_type))
    return ev.group_by("member_id").aggregate(**{
        f"buys_{int(wid)}": ((ev.ts >= ts_literal(ev, start)) & (ev.ts < ts_literal(ev, end)))
        .cast("int64").sum() for wid, start, end in windows})


# ----------------------------------------------------------------------------- funnel, two passes
def _in_windows(events, windows, *, until, since, types=None):
    """Events of ``types`` (an event-type list; None: all) inside their member's window."""
    ev = until_filter(prune(events, since=since), until)
    if types is not None:
        ev = ev.filter(ev.event_type.isin(list(types)))
    ev = ev.join(windows, ev.member_id == windows.member_id).select(
        ev.member_id, ev.ts, ev.event_type, windows.window_start, windows.window_end)
    return ev.filter((ev.ts >= ev.window_start) & (ev.ts < ev.window_end))


def first_step(events, windows, *, rule: tuple[str, object], until=None, since=None):
    """The first funnel step per member: the first event matching ``rule`` (``("active",
    types)`` or ``("type", event_type)``) inside the member's window: ``member_id, _at`` for the
    members who reached it (the first pass of :func:`later_steps`)."""
    kind, arg = rule
    types = (None if arg is None else list(arg)) if kind == "active" else [arg]
    ev = _in_windows(events, windows, until=until, since=since, types=types)
    return ev.group_by("member_id").aggregate(_at=ev.ts.min())


def later_steps(events, windows, first, *, zone, steps: Sequence[tuple[str, object]],
                until=None, since=None):
    """The funnel steps after the first, from the first step's times (``first``: a table
    ``member_id, _at``) and only the events of the steps' types (``("type", t)`` and
    ``("later_day", t)`` rules): :func:`step_times`' rules, without scanning every event of
    every window again. Returns ``member_id`` and one column per step (null when not reached)
    for the members of ``first``."""
    types = sorted({str(arg) for _, (_, arg) in steps})
    ev = _in_windows(events, windows, until=until, since=since, types=types)
    prev = first
    out = first.select("member_id")
    for name, (kind, arg) in steps:
        j = ev.join(prev, ev.member_id == prev.member_id).select(
            ev.member_id, ev.ts, ev.event_type, prev._at)
        cond = j.event_type == arg
        if kind == "later_day":
            cond = cond & (local_day(j.ts, zone) > local_day(j._at, zone))
        j = j.filter(cond & (j.ts >= j._at))
        prev = j.group_by("member_id").aggregate(_at=j.ts.min())
        out = out.left_join(prev, out.member_id == prev.member_id).select(
            *[out[c] for c in out.columns], **{name: prev._at})
    return out
