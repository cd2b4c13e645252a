"""The event-level steps of the reports' own tables, as Ibis expressions: report 04's arms
and windows (purchase summaries, day totals, activity takers, window counts), the member
layers' figures, the before/after windows of report 03 and the two-pass funnel.

Built from the shared pieces of :mod:`._ibis` (local days, partition pruning, zoned literals,
the active-types rule); nothing is executed here (see :mod:`helpers.engine.api` and
:mod:`helpers.engine.purchases`).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from .._checks import PARTICIPATION_TYPE
from .._time import utc
from ._ibis import (PURCHASE_TYPE, is_active, local_day, prune, ts_literal, until_filter)


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
