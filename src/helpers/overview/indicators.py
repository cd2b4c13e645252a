"""The four indicators of the overview (成员增长, 活跃度, 留存率, 转化率) with their trend.

Every figure is taken from the detail reports' own public functions, called with their
parameters — never recomputed here:

- **growth** and **activity**: :func:`helpers.cohorts.growth` with ``period="W"`` (report 01);
- **retention**: :func:`helpers.cohorts.n_day_retention` with ``days=[30]`` (report 01);
- **conversion**: :func:`helpers.conversion.funnel` with ``window_days=30``, step
  ``purchased`` (report 04).

What the overview adds is the comparison with the period before and an interval for each
figure (see :mod:`helpers.overview._intervals`):

- new members of the last complete week, with the exact Poisson interval of the weekly join
  rate, and the week-on-week ratio with its exact conditional interval;
- active members (WAU) of the last complete week, as a share of the members present that week
  (Wilson interval), with stickiness (DAU/WAU) and the change from the week before;
- D30 retention of the *recent* joiners who have reached day 30 (joined in the last
  ``recent_days`` whole local days before the local midnight at or before
  ``observed_until − 30 days``) against the ``recent_days`` local days before them, Wilson
  intervals, Newcombe interval of the difference;
- 30-day purchase conversion of the recent joiners whose 30-day window has elapsed (the same
  windows), Wilson intervals, Newcombe interval of the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._time import period_codes, period_start, tz_of
from . import _intervals

IndicatorKey = Literal["growth", "activity", "retention", "conversion"]
INDICATORS: tuple[str, ...] = ("growth", "activity", "retention", "conversion")
N_DAY = 30  #: D30 retention and 30-day conversion (the indicators named by issue 14)
WINDOW_COLUMN = "overview_window"  # member column added for the by= of the detail functions
COHORT_COLUMN = "overview_cohort_week"


@dataclass(frozen=True)
class Indicator:
    """One indicator: the current figure, its interval, the previous period's, the change.

    Attributes
    ----------
    key : {"growth", "activity", "retention", "conversion"}
    kind : {"count", "share"}
        ``value`` is a count (new members, active members) or a share in [0, 1].
    value, ci_low, ci_high : float or None
        The figure of the current period and its 95% interval (see ``interval_of``).
    interval_of : str
        What the interval is of: ``"join_rate"`` (the weekly join rate, Poisson exact),
        ``"share_active"`` (share of the week's members who were active, Wilson),
        ``"share"`` (the share among eligible members, Wilson).
    n : int or None
        Denominator of a share (members present / eligible).
    previous, previous_n : float or int or None
        The same figure for the previous period.
    change, change_low, change_high : float or None
        For counts: the ratio current / previous (``change_kind="ratio"``), with an interval
        for new members only; for shares: the difference in share points
        (``change_kind="difference"``) with Newcombe's interval.
    current_start, current_end, previous_start, previous_end : Timestamp or None
        The periods compared (``end`` exclusive); for retention/conversion, join times.
    extra : tuple of (name, value)
        Secondary figures: ``net_growth``, ``exits``, ``previous_net_growth`` (growth);
        ``stickiness``, ``previous_stickiness`` (activity); ``all_rate``, ``all_n`` (the
        figure over every eligible member, as in the detail report).
    trend : tuple of (Timestamp, float)
        Weekly series for the sparkline: per complete week, or per weekly join cohort.
    trend_band : tuple of (float, float)
        For shares: the Wilson interval of each ``trend`` point (empty for counts).
    reason : str or None
        Why the indicator is missing (a message key of the renderer), else None.
    """

    key: str
    kind: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    interval_of: str = ""
    n: int | None = None
    previous: float | None = None
    previous_n: int | None = None
    change: float | None = None
    change_low: float | None = None
    change_high: float | None = None
    change_kind: str = ""
    current_start: pd.Timestamp | None = None
    current_end: pd.Timestamp | None = None
    previous_start: pd.Timestamp | None = None
    previous_end: pd.Timestamp | None = None
    extra: tuple[tuple[str, float], ...] = ()
    trend: tuple[tuple[pd.Timestamp, float], ...] = ()
    trend_band: tuple[tuple[float, float], ...] = ()
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.reason is None and self.value is not None

    def get(self, name: str, default=None):
        """A secondary figure of ``extra`` by name."""
        return dict(self.extra).get(name, default)

    def to_frame(self) -> pd.DataFrame:
        """One row: the indicator's figures (for analysts)."""
        row = {k: getattr(self, k) for k in (
            "key", "kind", "value", "ci_low", "ci_high", "n", "previous", "previous_n",
            "change", "change_low", "change_high", "change_kind", "reason")}
        row.update(dict(self.extra))
        return pd.DataFrame([row])


def _f(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


# ----------------------------------------------------------------------------- weekly growth
def growth_indicators(growth_table: pd.DataFrame, *, trend_weeks: int = 12,
                      alpha: float = 0.05) -> tuple[Indicator, Indicator]:
    """Growth and activity indicators from the weekly growth table of report 01.

    Parameters
    ----------
    growth_table : DataFrame
        :func:`helpers.cohorts.growth` with ``period="W"`` (columns ``period, new_members,
        exits, net_growth, members_end, active_members, stickiness, complete``).
    trend_weeks : int
        Complete weeks kept in the trend.
    alpha : float
        Intervals at ``1 - alpha``.

    Returns
    -------
    (Indicator, Indicator)
        ``growth`` (new members of the last complete week) and ``activity`` (its WAU).
        Without a complete week both carry ``reason="no_complete_week"``.

    Examples
    --------
    >>> g = pd.DataFrame({"period": pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16"]),
    ...     "new_members": [100, 120, 30], "exits": [0, 10, 2], "net_growth": [100, 110, 28],
    ...     "members_end": [100, 210, 238], "active_members": [80, 150, 90],
    ...     "stickiness": [0.4, 0.45, 0.5], "complete": [True, True, False]})
    >>> growth, activity = growth_indicators(g)
    >>> growth.value, growth.previous, round(growth.change, 2)
    (120.0, 100.0, 1.2)
    >>> activity.value, activity.n
    (150.0, 220)
    """
    done = growth_table.loc[growth_table["complete"].astype(bool)].reset_index(drop=True)
    if done.empty:
        return (Indicator("growth", "count", reason="no_complete_week"),
                Indicator("activity", "count", reason="no_complete_week"))
    cur = done.iloc[-1]
    prev = done.iloc[-2] if len(done) >= 2 else None
    start = pd.Timestamp(cur["period"])
    end = start + pd.Timedelta(days=7)
    pstart = None if prev is None else pd.Timestamp(prev["period"])
    recent = done.tail(trend_weeks)
    k1 = int(cur["new_members"])
    lo, hi = _intervals.poisson_interval(k1, alpha)
    change = change_lo = change_hi = None
    if prev is not None:
        k0 = int(prev["new_members"])
        if k0 > 0:
            change = k1 / k0
            change_lo, change_hi = _intervals.rate_ratio_interval(k1, k0, alpha)
            change_hi = _f(change_hi) if np.isfinite(change_hi) else None
    growth = Indicator(
        "growth", "count", value=float(k1), ci_low=lo, ci_high=hi, interval_of="join_rate",
        previous=None if prev is None else float(prev["new_members"]),
        change=change, change_low=change_lo, change_high=change_hi, change_kind="ratio",
        current_start=start, current_end=end, previous_start=pstart, previous_end=start,
        extra=tuple((k, v) for k, v in [
            ("net_growth", float(cur["net_growth"])), ("exits", float(cur["exits"])),
            ("members_end", float(cur["members_end"])),
            ("previous_net_growth", None if prev is None else float(prev["net_growth"]))]
            if v is not None),
        trend=tuple((pd.Timestamp(p), float(v))
                    for p, v in zip(recent["period"], recent["new_members"])))

    def present(row) -> int:
        # members there at some point of the week: at its end, plus those who left during it
        # (explicit exits); the loader keeps events after an exit, so never below the actives
        return max(int(row["members_end"]) + int(row["exits"]), int(row["active_members"]))

    a1, n1 = int(cur["active_members"]), present(cur)
    alo, ahi = _intervals.wilson(a1, n1, alpha) if n1 > 0 else (None, None)
    achange = None
    if prev is not None and int(prev["active_members"]) > 0:
        achange = a1 / int(prev["active_members"])
    stick = _f(cur["stickiness"])
    pstick = None if prev is None else _f(prev["stickiness"])
    activity = Indicator(
        "activity", "count", value=float(a1), ci_low=_f(alo), ci_high=_f(ahi),
        interval_of="share_active", n=n1,
        previous=None if prev is None else float(prev["active_members"]),
        previous_n=None if prev is None else present(prev),
        change=achange, change_kind="ratio",
        current_start=start, current_end=end, previous_start=pstart, previous_end=start,
        extra=tuple((k, v) for k, v in [("stickiness", stick), ("previous_stickiness", pstick)]
                    if v is not None),
        trend=tuple((pd.Timestamp(p), float(v))
                    for p, v in zip(recent["period"], recent["active_members"])))
    return growth, activity


# ----------------------------------------------------------------------------- recent joiners
def local_midnight(ts, tz) -> pd.Timestamp:
    """The local midnight (in ``tz``, the data's zone) that starts the local day of ``ts``.

    ``ts`` may be given in any zone (the lazy engines return UTC instants): the day is cut on
    the wall clock of ``tz``, as the detail reports and the engines' ``local_day`` cut it.

    Examples
    --------
    >>> local_midnight(pd.Timestamp("2026-07-29 15:59:53", tz="UTC"), "Asia/Shanghai")
    Timestamp('2026-07-29 00:00:00+0800', tz='Asia/Shanghai')
    >>> local_midnight(pd.Timestamp("2026-07-29 16:00", tz="UTC"), "Asia/Shanghai")
    Timestamp('2026-07-30 00:00:00+0800', tz='Asia/Shanghai')
    """
    t = pd.Timestamp(ts)
    if tz is None:
        return (t.tz_localize(None) if t.tzinfo is not None else t).normalize()
    t = t.tz_convert(tz) if t.tzinfo is not None else t.tz_localize(tz)
    return _at_midnight(t.tz_localize(None).normalize(), tz)


def _at_midnight(wall: pd.Timestamp, tz) -> pd.Timestamp:
    """A wall-clock midnight as an instant of ``tz`` (a midnight skipped by a clock change
    moves to the first instant of the day; a repeated one is its first occurrence)."""
    if tz is None:
        return wall
    return wall.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def days_before(midnight: pd.Timestamp, days: int, tz) -> pd.Timestamp:
    """The local midnight ``days`` calendar days before ``midnight`` (wall-clock days: across
    a daylight-saving change a day lasts 23 or 25 hours).

    Examples
    --------
    >>> days_before(pd.Timestamp("2026-04-20", tz="Europe/Berlin"), 28, "Europe/Berlin")
    Timestamp('2026-03-23 00:00:00+0100', tz='Europe/Berlin')
    """
    wall = pd.Timestamp(midnight)
    wall = wall.tz_localize(None) if wall.tzinfo is not None else wall
    return _at_midnight(wall.normalize() - pd.Timedelta(days=days), tz)


def join_windows(members: pd.DataFrame, until: pd.Timestamp, *, recent_days: int = 28,
                 n_day: int = N_DAY) -> tuple[pd.DataFrame, dict]:
    """``members`` with a window label and a weekly cohort column for the detail functions' ``by``.

    Windows are whole local days of the data's zone (the zone of ``joined_at``), so a label
    such as "7月1日至7月28日入群" says exactly which join days are counted:

    - ``recent``: joined in ``[start, cut)``, where ``cut`` is the local midnight at or before
      ``until − n_day days`` (so everyone in it has reached day ``n_day``: joined at least
      ``n_day × 24 h`` before ``until``, the detail reports' eligibility rule) and ``start`` is
      ``recent_days`` local days before ``cut``;
    - ``previous``: the ``recent_days`` local days before ``start``;
    - ``earlier`` and ``too_recent`` for the rest.

    The cohort column is the start of the ISO week of joining (in the data's time zone).

    Returns
    -------
    (DataFrame, dict)
        The labelled copy (input not modified; columns ``overview_window`` and
        ``overview_cohort_week`` added) and ``{"recent": (start, end), "previous": (start,
        end)}``: local midnights in the data's zone, start inclusive, end exclusive.

    Examples
    --------
    >>> m = pd.DataFrame({"member_id": [1, 2, 3, 4], "joined_at": pd.to_datetime([
    ...     "2026-05-02 23:30", "2026-05-03 00:30", "2026-05-30 23:30", "2026-05-31 00:30"])
    ...     .tz_localize("Asia/Shanghai")})
    >>> out, w = join_windows(m, pd.Timestamp("2026-06-30 12:00", tz="Asia/Shanghai"))
    >>> out["overview_window"].tolist()
    ['previous', 'recent', 'recent', 'too_recent']
    >>> [f"{t:%m-%d %H:%M}" for t in w["recent"]]
    ['05-03 00:00', '05-31 00:00']
    """
    tz = tz_of(members["joined_at"])
    cut = local_midnight(pd.Timestamp(until) - pd.Timedelta(days=n_day), tz)
    r0 = days_before(cut, recent_days, tz)
    p0 = days_before(r0, recent_days, tz)
    joined = members["joined_at"]
    label = np.select([joined >= cut, joined >= r0, joined >= p0],
                      ["too_recent", "recent", "previous"], default="earlier")
    week = period_start(period_codes(joined, "W", tz=tz), "W", tz=tz)
    out = members.assign(**{WINDOW_COLUMN: label, COHORT_COLUMN: week})
    return out, {"recent": (r0, cut), "previous": (p0, r0)}


def share_indicator(key: str, table: pd.DataFrame, *, windows, overall: pd.Series | None,
                    cohorts: pd.DataFrame | None, cut: pd.Timestamp, count_col: str,
                    n_col: str = "eligible", trend_weeks: int = 12,
                    alpha: float = 0.05) -> Indicator:
    """A share indicator (retention, conversion) from a detail table computed by window.

    Parameters
    ----------
    key : {"retention", "conversion"}
    table : DataFrame
        The detail function's output with ``by=WINDOW_COLUMN`` (one row per window label,
        already restricted to the step / day of interest), with ``count_col`` and ``n_col``.
    windows : dict
        From :func:`join_windows`.
    overall : Series, optional
        The detail report's row over every eligible member (``rate``, ``n_col``).
    cohorts : DataFrame, optional
        The detail table by weekly join cohort (``COHORT_COLUMN``), for the trend.
    cut : Timestamp
        Join times from it on have not reached the window: their cohort weeks are left out of
        the trend unless the whole week is before it.
    count_col, n_col : str
        Column names of the successes and the denominator.
    """
    rows = table.set_index(WINDOW_COLUMN)

    def counts(label):
        if label not in rows.index:
            return 0, 0
        r = rows.loc[label]
        return int(r[count_col]), int(r[n_col])

    x1, n1 = counts("recent")
    x0, n0 = counts("previous")
    extra = []
    if overall is not None and int(overall[n_col]) > 0:
        extra = [("all_rate", float(overall["rate"])), ("all_n", float(overall[n_col]))]
    trend, band = (), ()
    if cohorts is not None and len(cohorts):
        # a cohort week is drawn when all of it lies before the cut (wall-clock week)
        week_end = pd.DatetimeIndex(cohorts[COHORT_COLUMN]) + pd.DateOffset(days=7)
        c = cohorts.loc[(cohorts[n_col] > 0).to_numpy() & (week_end <= cut)]
        c = c.sort_values(COHORT_COLUMN).tail(trend_weeks)
        trend = tuple((pd.Timestamp(w), float(r)) for w, r in zip(c[COHORT_COLUMN], c["rate"]))
        band = tuple((float(lo), float(hi)) for lo, hi in zip(c["ci_low"], c["ci_high"]))
    (r0, r1), (p0, p1) = windows["recent"], windows["previous"]
    common = dict(current_start=r0, current_end=r1, previous_start=p0, previous_end=p1,
                  extra=tuple(extra), trend=trend, trend_band=band, interval_of="share")
    if n1 == 0:
        return Indicator(key, "share", reason="no_recent_eligible", n=0, **common)
    lo, hi = _intervals.wilson(x1, n1, alpha)
    change = clo = chi = None
    if n0 > 0:
        change, clo, chi = _intervals.newcombe_difference(x1, n1, x0, n0, alpha)
    return Indicator(key, "share", value=x1 / n1, ci_low=lo, ci_high=hi, n=n1,
                     previous=None if n0 == 0 else x0 / n0, previous_n=n0 or None,
                     change=change, change_low=clo, change_high=chi, change_kind="difference",
                     **common)


def until_of(events: pd.DataFrame, observed_until, tz=None) -> pd.Timestamp:
    """The end of observation every section uses (the package's one rule), in ``tz`` (the
    data's zone: on the lazy engines the events do not carry it, and the last event would come
    back in UTC — a different local day near midnight)."""
    from .._time import resolve_end

    return resolve_end(observed_until, events, tz)


__all__ = ["Indicator", "INDICATORS", "N_DAY", "growth_indicators", "join_windows",
           "local_midnight", "days_before", "share_indicator"]
