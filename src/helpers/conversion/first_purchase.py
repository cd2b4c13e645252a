"""Time to first purchase: cumulative incidence with churn as a competing risk.

Every member who joined by the end counts, recent joiners too (unlike the funnel, whose
denominator waits for the window to be over). Per member, from joining: the first ``purchase``
(event of interest), or churn first (the churn table's definition, ``survival.churn_table``: an
explicit exit or ``inactivity_days`` without an active event, at the last active time), or
censored where the churn table stops following the member (end of observation minus
``inactivity_days``: churn after that cannot be seen yet). A purchase at the churn time (the
last activity *was* the purchase) counts as a purchase. Aalen–Johansen estimator with
lifelines' variance and log(−log) 95% interval (:func:`aalen_johansen`, checked against
lifelines' ``AalenJohansenFitter``), per segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from .._checks import check_alpha
from .._time import DAY_NS, as_ns
from ..engine import event_types, is_lazy
from ..engine import step_times as engine_step_times
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
                       inactivity_days: float = config.INACTIVITY_DAYS,
                       churn: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per member: ``member_id, *by, duration_days, outcome`` (1 purchase, 2 churn, 0 censored).

    ``churn``: the churn table of these arguments (``survival.churn_table``) when already
    computed."""
    from .. import survival  # public API; imported here to keep the package import light

    m, by_cols, end, tz = scope(members, events, observed_until, by)
    if churn is None:
        churn = survival.churn_table(members, events, inactivity_days=inactivity_days,
                                     observed_until=end, active_types=active_types)
    c = churn[["member_id", "churned", "duration_days"]].merge(
        m[["member_id", "joined_at", *by_cols]], on="member_id", how="inner")
    first = np.full(len(c), np.iinfo(np.int64).max)
    if is_lazy(events):  # a lazy table (engine="duckdb"/"spark"): first purchases from the engine
        if "purchase" in event_types(events) and len(c):
            span = (pd.Timestamp(end) - c["joined_at"].min()) / pd.Timedelta(days=1) + 1
            t = engine_step_times(events, c[["member_id", "joined_at"]], steps=["purchase"],
                                  window_days=span, until=end, tz=tz)
            t = t.set_index("member_id")["purchase"].reindex(pd.Index(c["member_id"]))
            first = np.where(t.isna().to_numpy(), first, as_ns(t))
    else:
        pos, keep = event_positions(c, events, end)
        buy = keep & (events["event_type"] == "purchase").to_numpy()
        np.minimum.at(first, pos[buy], as_ns(events["ts"])[buy])
    has = first != np.iinfo(np.int64).max
    t_buy = np.where(has, (first - as_ns(c["joined_at"])) / DAY_NS, np.inf)
    follow = c["duration_days"].to_numpy(float)
    bought = has & (t_buy <= follow + 1e-9)
    outcome = np.where(bought, PURCHASE, np.where(c["churned"].to_numpy(bool), CHURN, CENSORED))
    dur = np.where(bought, t_buy, follow)
    return pd.DataFrame({"member_id": c["member_id"], **{b: c[b] for b in by_cols},
                         "duration_days": dur, "outcome": outcome})


def aalen_johansen(durations, outcome, event_of_interest: int = PURCHASE, *,
                   alpha: float = config.ALPHA) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of one event type with competing events.

    The estimator and its variance are lifelines' ``AalenJohansenFitter`` (Collett's
    Greenwood-type variance, log(−log) intervals), computed with cumulative sums instead of a
    Python loop, and with tied times kept together instead of jittered (the estimator handles
    ties; the tests check equality with lifelines on untied data).

    Parameters
    ----------
    durations : array-like
        Time to the first event or censoring.
    outcome : array-like of int
        0 = censored, ``event_of_interest``, any other positive value = a competing event.

    Returns
    -------
    DataFrame
        ``time, at_risk, cumulative_incidence, ci_low, ci_high`` at each distinct time
        (time 0 first, incidence 0).

    Examples
    --------
    >>> aalen_johansen([1, 2, 3, 4], [1, 2, 1, 0])["cumulative_incidence"].round(3).tolist()
    [0.0, 0.25, 0.25, 0.5, 0.5]
    """
    from scipy import stats

    d = np.asarray(durations, float)
    o = np.asarray(outcome, int)
    times, inv = np.unique(d, return_inverse=True)
    removed = np.bincount(inv, minlength=len(times)).astype(float)
    ev = np.bincount(inv, weights=(o > 0).astype(float), minlength=len(times))
    ev1 = np.bincount(inv, weights=(o == event_of_interest).astype(float), minlength=len(times))
    n = len(d) - np.r_[0.0, np.cumsum(removed)[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1 - ev / n)
        lag = np.r_[1.0, surv[:-1]]
        F = np.cumsum(lag * ev1 / n)
        a = np.where(ev > 0, ev / (n * (n - ev)), 0.0)
        b = lag * ev1 / n ** 2
        c2 = lag ** 2 * ev1 * (n - ev1) / n ** 3
        A, B, C = np.cumsum(a), np.cumsum(a * F), np.cumsum(a * F ** 2)
        E, G, Dd = np.cumsum(b), np.cumsum(b * F), np.cumsum(c2)
        var = F ** 2 * A - 2 * F * B + C + Dd - 2 * (F * E - G)
        z = stats.norm.ppf(1 - alpha / 2)
        se = np.sqrt(np.maximum(var, 0)) / (F * np.abs(np.log(F)))
        ll = np.log(-np.log(F))
        lo, hi = np.exp(-np.exp(ll + z * se)), np.exp(-np.exp(ll - z * se))
    ok = (F > 0) & (F < 1) & np.isfinite(var)
    lo, hi = np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
    out = pd.DataFrame({"time": np.r_[0.0, times], "at_risk": np.r_[len(d), n],
                        "cumulative_incidence": np.r_[0.0, F], "ci_low": np.r_[np.nan, lo],
                        "ci_high": np.r_[np.nan, hi]})
    return out.drop_duplicates("time", keep="last").reset_index(drop=True) if times[0] == 0 \
        else out


def cumulative_incidence(outcomes: pd.DataFrame, *, by=(), days=(7, 14, 30, 60, 90),
                         alpha: float = config.ALPHA) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, outcome counts) of :func:`aalen_johansen` per segment of ``outcomes``
    (:func:`competing_outcomes`) at the given days."""
    by_cols = [by] if isinstance(by, str) else list(by or ())
    keys = by_cols or ["_all"]
    data = outcomes.assign(_all="all")
    rows, counts = [], []
    grid = np.asarray(sorted(days), float)
    for level, sub in data.groupby(keys, sort=True, observed=True):
        level = level if isinstance(level, tuple) else (level,)
        lab = dict(zip(keys, level))
        counts.append({**lab, "members": len(sub),
                       "purchased": int((sub["outcome"] == PURCHASE).sum()),
                       "churned_first": int((sub["outcome"] == CHURN).sum()),
                       "censored": int((sub["outcome"] == CENSORED).sum())})
        aj = aalen_johansen(sub["duration_days"], sub["outcome"], alpha=alpha)
        j = np.searchsorted(aj["time"].to_numpy(), grid, side="right") - 1
        dur = sub["duration_days"].to_numpy(float)
        last = float(dur.max())
        est = aj["cumulative_incidence"].to_numpy()[j]
        lo, hi = aj["ci_low"].to_numpy()[j], aj["ci_high"].to_numpy()[j]
        # past the longest follow-up the curve is unknown, unless everyone's outcome is known
        # by then (the last member had an event: nobody is left to purchase later)
        open_end = bool((sub["outcome"].to_numpy()[dur >= last - 1e-12] == CENSORED).any())
        beyond = (grid > last + 1e-9) & open_end
        est, lo, hi = (np.where(beyond, np.nan, v) for v in (est, lo, hi))
        block = pd.DataFrame({**{k: [v] * len(grid) for k, v in lab.items()},
                              "day": grid.astype(int), "members": len(sub),
                              "cumulative_incidence": est, "ci_low": lo, "ci_high": hi})
        rows.append(block)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[*keys, "day", "members", "cumulative_incidence", "ci_low", "ci_high"])
    return (table.drop(columns=["_all"], errors="ignore"),
            pd.DataFrame(counts).drop(columns=["_all"], errors="ignore"))


def time_to_purchase(members: pd.DataFrame, events: pd.DataFrame, *, observed_until=None,
                     by=None, active_types=None, days=(7, 14, 30, 60, 90),
                     inactivity_days: float = config.INACTIVITY_DAYS,
                     alpha: float = config.ALPHA, outcomes: pd.DataFrame | None = None
                     ) -> TimeToPurchase:
    """Cumulative incidence of the first purchase by day t since joining (Aalen–Johansen).

    Parameters
    ----------
    members, events : DataFrame
    observed_until : str, Timestamp or None
        End of observation (the last event when None).
    by : str, list or None
        Member columns (or ``"cohort"``) to estimate per segment.
    active_types : as for the churn table.
    days : sequence of int or "daily"
        Days since joining at which the curve is reported; ``"daily"`` = every day 0–90.
    inactivity_days : float
        The churn table's inactivity threshold.
    alpha : float
        1 − confidence level.
    outcomes : DataFrame, optional
        :func:`competing_outcomes` already computed (with the ``by`` columns), to reuse.

    Returns
    -------
    TimeToPurchase
    """
    check_alpha(alpha)
    if isinstance(days, str):
        if days != "daily":
            raise ParameterError(f"days={days!r}: give day numbers, e.g. [7, 30, 90], or 'daily'")
        grid = list(range(0, 91))
    else:
        grid = sorted(int(d) for d in days)
    if outcomes is None:
        outcomes = competing_outcomes(members, events, observed_until=observed_until, by=by,
                                      active_types=active_types, inactivity_days=inactivity_days)
    by_cols = [] if by is None or by == "" else ([by] if isinstance(by, str) else list(by))
    table, counts = cumulative_incidence(outcomes, by=by_cols, days=grid, alpha=alpha)
    notes = ("no_members",) if outcomes.empty else ()
    return TimeToPurchase(table=table, outcomes=counts, days=tuple(grid), by=tuple(by_cols),
                          notes=notes)
