"""Growth and lifecycle per period: joins, exits, members at the end, active members, stickiness,
and PostHog's lifecycle (new, returning, resurrecting, dormant)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._time import Period, check_period, period_codes, period_start
from ._common import activity_positions, fill_doc, in_sorted, period_range, setup

__all__ = ["growth", "lifecycle", "LIFECYCLE_STATUSES"]

LIFECYCLE_STATUSES: tuple[str, ...] = ("new", "returning", "resurrecting", "dormant")


@fill_doc
def growth(members: pd.DataFrame, events: pd.DataFrame, *, period: Period = "W",
           active_types=None, observed_until=None) -> pd.DataFrame:
    """Growth per period: joins, exits, net growth, active members and stickiness.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at`` [, ``left_at``: explicit exits].
    events : DataFrame
        ``member_id, ts, event_type``.
    %(period)s
        ``"D"`` gives DAU, ``"W"`` WAU, ``"M"`` MAU in ``active_members``.
    %(active_types)s
    %(observed_until)s

    Returns
    -------
    DataFrame
        One row per period from the first join to ``observed_until``: ``period`` (tz-aware start),
        ``new_members`` (joined in the period), ``exits`` (explicit ``left_at`` in the period),
        ``net_growth`` = new − exits, ``members_end`` (joined and not exited by the period's end
        or the observation end), ``active_members`` (distinct members active in the period),
        ``mean_daily_active`` (average DAU over the period's observed days), ``stickiness`` =
        mean_daily_active / active_members (DAU/MAU for months, DAU/WAU for weeks),
        ``complete`` (False for the running period).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> growth(members, events, period="W")[["new_members", "exits", "members_end"]].values.tolist()
    [[2, 0, 2], [1, 1, 2], [2, 0, 4], [0, 0, 4]]
    """
    check_period(period)
    tz, until, m = setup(members, events, observed_until,
                          ["left_at"] if "left_at" in members.columns else [])
    cols = ["period", "new_members", "exits", "net_growth", "members_end", "active_members",
            "mean_daily_active", "stickiness", "complete"]
    if len(m) == 0:
        return pd.DataFrame(columns=cols)
    p0, p1 = period_range(m, period, tz, until)
    n = p1 - p0 + 1
    new = np.bincount(period_codes(m["joined_at"], period, tz=tz) - p0, minlength=n)
    exits = np.zeros(n, dtype=np.int64)
    if "left_at" in m.columns:
        left = m["left_at"]
        done = (left.notna() & (left <= until)).to_numpy()
        if done.any():
            exits = np.bincount(period_codes(left[done], period, tz=tz) - p0, minlength=n)
    pos, per = activity_positions(m, events, period=period, active_types=active_types,
                                   until=until, tz=tz)
    inside = per >= p0
    active = np.bincount(per[inside] - p0, minlength=n)
    # DAU over every observed day (zero-activity days count), averaged within each period
    d0 = int(period_codes(period_start([p0], period, tz=tz), "D", tz=tz)[0])
    d1 = int(period_codes(until, "D", tz=tz)[0])
    dpos, dper = activity_positions(m, events, period="D", active_types=active_types,
                                     until=until, tz=tz)
    dau = np.bincount(dper[dper >= d0] - d0, minlength=d1 - d0 + 1)
    day_period = period_codes(period_start(np.arange(d0, d1 + 1), "D", tz=tz), period, tz=tz) - p0
    n_days = np.bincount(day_period, minlength=n)
    mean_dau = np.bincount(day_period, weights=dau, minlength=n) / np.maximum(n_days, 1)
    out = pd.DataFrame({"period": period_start(np.arange(p0, p1 + 1), period, tz=tz),
                        "new_members": new, "exits": exits})
    out["net_growth"] = out["new_members"] - out["exits"]
    out["members_end"] = out["net_growth"].cumsum()
    out["active_members"] = active
    out["mean_daily_active"] = mean_dau
    with np.errstate(invalid="ignore", divide="ignore"):
        out["stickiness"] = np.where(active > 0, mean_dau / active, np.nan)
    out["complete"] = np.arange(p0, p1 + 1) < p1
    return out[cols]


@fill_doc
def lifecycle(members: pd.DataFrame, events: pd.DataFrame, *, period: Period = "W",
              active_types=None, observed_until=None) -> pd.DataFrame:
    """Lifecycle of active members per period, with PostHog's definitions.

    For period t (only members who had joined by ``observed_until``):

    - **new**: active in t and joined in t;
    - **returning**: active in t and in t − 1 (and joined before t);
    - **resurrecting**: active in t, not active in t − 1, joined before t;
    - **dormant**: active in t − 1 but not in t (PostHog draws these below zero).

    new + returning + resurrecting = the active members of t (``growth().active_members``).

    Parameters
    ----------
    members, events : DataFrame
        As for :func:`growth`.
    %(period)s
    %(active_types)s
    %(observed_until)s

    Returns
    -------
    DataFrame
        Tidy: ``period`` (tz-aware start), ``status`` (ordered categorical: new, returning,
        resurrecting, dormant), ``members`` (a non-negative count), ``complete``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> lc = lifecycle(members, events, period="W")
    >>> lc.pivot(index="period", columns="status", values="members").values.tolist()
    [[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 0, 2], [0, 0, 2, 1]]
    """
    check_period(period)
    tz, until, m = setup(members, events, observed_until, [])
    cols = ["period", "status", "members", "complete"]
    if len(m) == 0:
        return pd.DataFrame(columns=cols)
    p0, p1 = period_range(m, period, tz, until)
    n = p1 - p0 + 1
    join = period_codes(m["joined_at"], period, tz=tz)
    pos, per = activity_positions(m, events, period=period, active_types=active_types,
                                   until=until, tz=tz)
    ok = per >= join[pos]
    pos, t = pos[ok], per[ok] - p0
    span = n + 1
    key = np.sort(pos.astype(np.int64) * span + t)  # unique (member, period) keys, sorted
    t = key % span
    member = key // span
    prev_active = (t > 0) & in_sorted(key - 1, key)
    next_active = in_sorted(key + 1, key)
    is_new = (join[member] - p0) == t
    counts = {
        "new": np.bincount(t[is_new], minlength=n),
        "returning": np.bincount(t[~is_new & prev_active], minlength=n),
        "resurrecting": np.bincount(t[~is_new & ~prev_active], minlength=n),
        "dormant": np.bincount(t[~next_active & (t < n - 1)] + 1, minlength=n),
    }
    starts = period_start(np.arange(p0, p1 + 1), period, tz=tz)
    out = pd.concat([pd.DataFrame({"period": starts, "status": s, "members": counts[s]})
                     for s in LIFECYCLE_STATUSES], ignore_index=True)
    out["status"] = pd.Categorical(out["status"], categories=LIFECYCLE_STATUSES, ordered=True)
    out["complete"] = np.tile(np.arange(p0, p1 + 1) < p1, len(LIFECYCLE_STATUSES))
    return out.sort_values(["period", "status"], kind="stable").reset_index(drop=True)[cols]
