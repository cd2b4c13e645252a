"""Time to first purchase: cumulative incidence with churn as a competing risk.

Every member who joined by the end counts, recent joiners too (unlike the funnel, whose
denominator waits for the window to be over). Per member, from joining: the first ``purchase``
(event of interest), or churn first (the churn table's definition, ``survival.churn_table``: an
explicit exit or ``inactivity_days`` without an active event, at the last active time), or
censored where the churn table stops following the member (end of observation minus
``inactivity_days``: churn after that cannot be seen yet). A purchase at the churn time (the
last activity *was* the purchase) counts as a purchase. Aalen–Johansen estimator (lifelines),
its 95% interval, per segment.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from .._checks import check_alpha
from .._time import DAY_NS, as_ns
from ..errors import ParameterError
from ._members import event_positions, scope

PURCHASE, CHURN, CENSORED = 1, 2, 0


@dataclass(frozen=True)
class TimeToPurchase:
    """Result of :func:`time_to_purchase`.

    Attributes
    ----------
    table : DataFrame
        ``*by, day, members, cumulative_incidence, ci_low, ci_high``: the share of members who
        made a first purchase by day ``day`` after joining (churn competing), per segment.
    outcomes : DataFrame
        ``*by, members, purchased, churned_first, censored`` counts.
    days : tuple of int
    notes : tuple of str
    """

    table: pd.DataFrame
    outcomes: pd.DataFrame
    days: tuple[int, ...]
    by: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def at(self, day: int) -> pd.DataFrame:
        """The rows of ``table`` at ``day``."""
        return self.table[self.table["day"] == day].reset_index(drop=True)


def competing_outcomes(members, events, *, observed_until=None, by=None, active_types=None,
                       inactivity_days: float = config.INACTIVITY_DAYS) -> pd.DataFrame:
    """Per member: ``member_id, *by, duration_days, outcome`` (1 purchase, 2 churn, 0 censored)."""
    from .. import survival  # public API; imported here to keep the package import light

    m, by_cols, end, tz = scope(members, events, observed_until, by)
    churn = survival.churn_table(members, events, inactivity_days=inactivity_days,
                                 observed_until=end, active_types=active_types)
    c = churn[["member_id", "churned", "duration_days"]].merge(
        m[["member_id", "joined_at", *by_cols]], on="member_id", how="inner")
    pos, keep = event_positions(c, events, end)
    buy = keep & (events["event_type"] == "purchase").to_numpy()
    first = np.full(len(c), np.iinfo(np.int64).max)
    np.minimum.at(first, pos[buy], as_ns(events["ts"])[buy])
    has = first != np.iinfo(np.int64).max
    t_buy = np.where(has, (first - as_ns(c["joined_at"])) / DAY_NS, np.inf)
    follow = c["duration_days"].to_numpy(float)
    bought = has & (t_buy <= follow + 1e-9)
    outcome = np.where(bought, PURCHASE, np.where(c["churned"].to_numpy(bool), CHURN, CENSORED))
    dur = np.where(bought, t_buy, follow)
    return pd.DataFrame({"member_id": c["member_id"], **{b: c[b] for b in by_cols},
                         "duration_days": dur, "outcome": outcome})


def time_to_purchase(members: pd.DataFrame, events: pd.DataFrame, *, observed_until=None,
                     by=None, active_types=None, days=(7, 14, 30, 60, 90),
                     inactivity_days: float = config.INACTIVITY_DAYS,
                     alpha: float = config.ALPHA) -> TimeToPurchase:
    """Cumulative incidence of the first purchase by day t since joining (Aalen–Johansen).

    Parameters
    ----------
    members, events : DataFrame
    observed_until : str, Timestamp or None
        End of observation (the last event when None).
    by : str, list or None
        Member columns (or ``"cohort"``) to estimate per segment.
    active_types : as for the churn table.
    days : sequence of int
        Days since joining at which the curve is reported (``table``); the full daily curve up
        to the largest is in ``table`` too when ``days`` is ``"daily"``.
    inactivity_days : float
        The churn table's inactivity threshold.
    alpha : float
        1 − confidence level.

    Returns
    -------
    TimeToPurchase
    """
    from lifelines import AalenJohansenFitter

    check_alpha(alpha)
    if isinstance(days, str):
        if days != "daily":
            raise ParameterError(f"days={days!r}: give day numbers, e.g. [7, 30, 90], or 'daily'")
        grid = list(range(0, 91))
    else:
        grid = sorted(int(d) for d in days)
    data = competing_outcomes(members, events, observed_until=observed_until, by=by,
                              active_types=active_types, inactivity_days=inactivity_days)
    by_cols = [c for c in data.columns if c not in ("member_id", "duration_days", "outcome")]
    keys = by_cols or ["_all"]
    data = data.assign(_all="all")
    rows, counts, notes = [], [], []
    for level, sub in data.groupby(keys, sort=True, observed=True):
        level = level if isinstance(level, tuple) else (level,)
        lab = dict(zip(keys, level))
        counts.append({**lab, "members": len(sub),
                       "purchased": int((sub["outcome"] == PURCHASE).sum()),
                       "churned_first": int((sub["outcome"] == CHURN).sum()),
                       "censored": int((sub["outcome"] == CENSORED).sum())})
        if not (sub["outcome"] == PURCHASE).any():
            for d in grid:
                rows.append({**lab, "day": d, "members": len(sub), "cumulative_incidence": 0.0,
                             "ci_low": np.nan, "ci_high": np.nan})
            continue
        # lifelines jitters tied times; a tiny deterministic spread keeps ties apart instead
        dur = sub["duration_days"].to_numpy(float)
        order = np.argsort(dur, kind="stable")
        spread = np.empty(len(dur))
        spread[order] = np.arange(len(dur)) * 1e-9
        ajf = AalenJohansenFitter(alpha=alpha, calculate_variance=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ajf.fit(np.maximum(dur, 0) + 1e-6 + spread, sub["outcome"].to_numpy(),
                    event_of_interest=PURCHASE)
        cif = ajf.cumulative_density_
        ci = ajf.confidence_interval_
        t = cif.index.to_numpy()
        last = float(dur.max())
        for d in grid:
            j = np.searchsorted(t, d, side="right") - 1
            if d > last + 1e-9:  # beyond the longest follow-up: not estimable
                est = lo = hi = np.nan
            elif j < 0:
                est, lo, hi = 0.0, np.nan, np.nan
            else:
                est = float(cif.iloc[j, 0])
                lo, hi = float(ci.iloc[j, 0]), float(ci.iloc[j, 1])
            rows.append({**lab, "day": d, "members": len(sub), "cumulative_incidence": est,
                         "ci_low": lo, "ci_high": hi})
    table = pd.DataFrame(rows).drop(columns=["_all"], errors="ignore")
    outcomes = pd.DataFrame(counts).drop(columns=["_all"], errors="ignore")
    if data.empty:
        notes.append("no_members")
    return TimeToPurchase(table=table, outcomes=outcomes, days=tuple(grid), by=tuple(by_cols),
                          notes=tuple(notes))
