"""The conversion funnel: joined → active → purchased → repurchased, with honest denominators.

Definition (DESIGN.md §4): steps inside ``[joined_at, joined_at + window_days)``, in order — a
step counts only at or after the time the previous step was reached. Default steps: ``joined``;
``active`` (an active event, ``active_types``); ``purchased`` (a ``purchase`` event);
``repurchased`` (a purchase on a later local calendar day than the first purchase). Custom
``steps``: event types, in order (``joined`` first is implied). Only members with
``joined_at + window_days ≤ observed_until`` are **eligible**: a recent joiner whose window is
not over yet is neither a conversion nor a drop-off. Wilson 95% intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import config
from .._checks import ACTIVE_TYPES_DOC, active_mask, check_alpha
from .._time import DAY_NS, OBSERVED_UNTIL_DOC, as_ns, from_ns, period_codes, utc
from ..engine import identity, is_lazy
from ..engine import step_times as engine_step_times
from ..errors import ParameterError
from ._members import event_positions, scope, wilson

DEFAULT_STEPS = ("joined", "active", "purchased", "repurchased")
FUNNEL_COLUMNS = ["step_index", "step", "eligible", "converted", "rate", "ci_low", "ci_high",
                  "rate_from_previous", "median_days"]
_NEVER = np.iinfo(np.int64).max


def step_times(members: pd.DataFrame, events: pd.DataFrame, *, steps=None, window_days: float = 30,
               observed_until=None, active_types=None) -> tuple[pd.DataFrame, list[str]]:
    """Per member (joined by the end): the time each step was reached inside the window.

    Returns ``(frame, steps)``: ``member_id, joined_at, eligible`` and one column per step with
    nanoseconds since the join (NaN when not reached).
    """
    m, _, end, tz = scope(members, events, observed_until, None)
    names = list(DEFAULT_STEPS) if steps is None else ["joined", *[str(s) for s in steps
                                                                   if str(s) != "joined"]]
    if steps is not None and len(names) < 2:
        raise ParameterError("steps must name at least one event type after joining, e.g. "
                             "['activity_join', 'purchase']")
    if is_lazy(events):  # a lazy table (engine="duckdb"/"spark"): step times from the engine
        return _lazy_step_times(m, events, names, steps=steps, window_days=window_days,
                                end=end, active_types=active_types, tz=tz), names
    n = len(m)
    pos, keep = event_positions(m, events, end)
    join = as_ns(m["joined_at"])
    ts = as_ns(events["ts"])
    win = int(round(window_days * DAY_NS))
    keep[keep] &= ts[keep] < join[pos[keep]] + win
    # every step works on the events inside some member's window only (compact arrays)
    sel = np.flatnonzero(keep)
    pos, ts = pos[sel], ts[sel]
    etype = events["event_type"]
    present = set(map(str, pd.unique(etype.dropna())))
    is_buy = (etype == "purchase").to_numpy()[sel]
    reached = {"joined": join.copy()}
    prev = join.copy()
    for name in names[1:]:
        if steps is None and name == "active":
            act = active_mask(events, active_types)
            mask = np.ones(len(sel), bool) if act is None else act[sel]
        elif steps is None and name == "purchased":
            mask = is_buy.copy()
        elif steps is None and name == "repurchased":
            first_buy = reached["purchased"]
            bought = first_buy != _NEVER
            first_day = np.full(n, _NEVER, dtype=np.int64)
            first_day[bought] = period_codes(from_ns(first_buy[bought], tz), "D", tz=tz)
            mask = is_buy.copy()
            idx = np.flatnonzero(mask)
            day = period_codes(from_ns(ts[idx], tz), "D", tz=tz)
            mask[idx[day <= first_day[pos[idx]]]] = False
        else:
            if name not in present:
                raise ParameterError(f"steps: event type {name!r} never occurs in events; "
                                     f"types present: {', '.join(sorted(present))}")
            mask = (etype == name).to_numpy()[sel]
        p = prev[pos]
        mask &= (p != _NEVER) & (ts >= p)
        first = np.full(n, _NEVER, dtype=np.int64)
        np.minimum.at(first, pos[mask], ts[mask])
        reached[name] = first
        prev = first
    out = m[["member_id", "joined_at"]].copy()
    out["eligible"] = (join + win <= pd.Timestamp(end).value)
    for name in names:
        t = reached[name]
        out[name] = np.where(t == _NEVER, np.nan, (t - join).astype(float))
    return out, names


#: the engine's step times kept per lazy table, members and rules: ``key -> (table op, window
#: days, frame)`` — a funnel with a shorter window is cut from a longer one (see
#: :func:`_engine_times`); a few entries only (a million members' frame is ~40 MB)
_TIMES: dict = {}
TIMES_KEPT = 2


def _members_key(mj: pd.DataFrame) -> tuple:
    """Content key of ``member_id, joined_at`` (the members a funnel follows)."""
    return len(mj), int(pd.util.hash_pandas_object(mj, index=False).to_numpy().sum(
        dtype=np.uint64))


def _engine_times(events, mj: pd.DataFrame, steps, *, window_days, active_types, end, tz
                  ) -> pd.DataFrame:
    """The engine's step times (:func:`helpers.engine.step_times`), one query per table,
    members and rules for every window up to the longest asked so far.

    Each step is the first matching event at or after the previous step inside the window, so
    the steps of a window of ``w`` days are those of any longer window that fall before
    ``joined_at + w`` (and a step that does not, leaves the later ones unreached too): a
    report's funnels of 30 and 90 days cost one query (:func:`prefetch_step_times`).
    """
    types = None if active_types is None else (
        (active_types,) if isinstance(active_types, str) else tuple(active_types))
    me = identity(events)
    key = (id(me), None if steps is None else tuple(steps), pd.Timestamp(end), types,
           str(tz), _members_key(mj))
    hit = _TIMES.get(key)
    if hit is not None and hit[0] is me and hit[1] >= window_days:
        return _cut(hit[2], mj, window_days) if hit[1] > window_days else hit[2]
    t = engine_step_times(events, mj, steps=steps, window_days=window_days,
                          active_types=active_types, until=end, tz=tz)
    while len(_TIMES) >= TIMES_KEPT:
        _TIMES.pop(next(iter(_TIMES)))
    _TIMES[key] = (me, float(window_days), t)
    return t


def _cut(t: pd.DataFrame, mj: pd.DataFrame, window_days: float) -> pd.DataFrame:
    """Step times of a longer window cut to ``window_days``: a step at or after the window's
    end (computed as :func:`helpers.engine.step_times` does) is not reached."""
    start = utc(mj["joined_at"])
    end = (start.as_unit("us") + pd.Timedelta(days=float(window_days))).ceil("us")
    end = pd.Series(end, index=pd.Index(mj["member_id"].to_numpy())).reindex(
        t["member_id"].to_numpy()).to_numpy()
    out = t.copy()
    for c in t.columns[1:]:
        col = pd.DatetimeIndex(t[c])
        inside = np.asarray(utc(col) < end)
        out[c] = col.where(inside)
    return out


def prefetch_step_times(members: pd.DataFrame, events, *, window_days: float,
                        observed_until=None, active_types=None) -> None:
    """Ask the engine once for the default steps over the longest window a report needs (a
    lazy table; nothing for a DataFrame): the report's funnels with shorter windows are cut
    from it."""
    if is_lazy(events):
        step_times(members, events, window_days=window_days, observed_until=observed_until,
                   active_types=active_types)


def _lazy_step_times(m: pd.DataFrame, events, names, *, steps, window_days, end, active_types,
                     tz) -> pd.DataFrame:
    """:func:`step_times`' frame from the engine's per-member step times (same rules)."""
    t = _engine_times(events, m[["member_id", "joined_at"]],
                      None if steps is None else names[1:], window_days=window_days,
                      active_types=active_types, end=end, tz=tz)
    t = t.set_index("member_id").reindex(pd.Index(m["member_id"]))
    join = as_ns(m["joined_at"])
    out = m[["member_id", "joined_at"]].copy()
    out["eligible"] = join + int(round(window_days * DAY_NS)) <= pd.Timestamp(end).value
    out["joined"] = 0.0
    for name in names[1:]:
        out[name] = np.where(t[name].isna().to_numpy(), np.nan,
                             (as_ns(t[name]) - join).astype(float))
    return out


def funnel(members: pd.DataFrame, events: pd.DataFrame, *, steps: Sequence[str] | None = None,
           window_days: float = 30, by=None, observed_until=None, active_types=None,
           alpha: float = config.ALPHA, cohort_period: str = "W") -> pd.DataFrame:
    """Conversion funnel per segment with honest denominators and Wilson intervals.

    Parameters
    ----------
    members, events : DataFrame
        The dataset's tables.
    steps : list of str, optional
        Event types reached in order after joining; default joined → active → purchased →
        repurchased (see the module docstring).
    window_days : float
        Length of the conversion window after joining.
    by : str, list or None
        Member columns, or ``"cohort"`` for the join cohort (``cohort_period``, default ISO week).
    {observed_until}
    {active_types}
    alpha : float
        1 − confidence level.

    Returns
    -------
    DataFrame
        ``*by, step_index, step, eligible, converted, rate, ci_low, ci_high,
        rate_from_previous, median_days``: ``eligible`` members whose window is over;
        ``converted`` of them reached the step; ``rate`` = converted / eligible;
        ``rate_from_previous`` = converted / converted at the previous step;
        ``median_days`` from joining to the step among those converted.

    Examples
    --------
    >>> f = funnel(ds.members, ds.events, by="channel")        # doctest: +SKIP
    """
    check_alpha(alpha)
    if not (isinstance(window_days, (int, float, np.number)) and window_days > 0):
        raise ParameterError(f"window_days must be a positive number of days, got {window_days!r}")
    m, by_cols, end, tz = scope(members, events, observed_until, by, cohort_period=cohort_period)
    times, names = step_times(members, events, steps=steps, window_days=window_days,
                              observed_until=end, active_types=active_types)
    times = times.merge(m[["member_id", *[c for c in by_cols]]], on="member_id", how="left") \
        if by_cols else times
    elig = times[times["eligible"]]
    keys = by_cols or ["_all"]
    elig = elig.assign(_all="all")
    rows = []
    if len(elig):
        levels = [(lvl if isinstance(lvl, tuple) else (lvl,), sub)
                  for lvl, sub in elig.groupby(keys, sort=True, observed=True, dropna=False)]
    else:  # nobody's window is over yet: one row per step with eligible = 0 (no segments)
        levels = [] if by_cols else [(("all",), elig)]
    for lvl, sub in levels:
        prev_conv = None
        for i, name in enumerate(names):
            t = sub[name].to_numpy()
            conv = int(np.isfinite(t).sum())
            row = dict(zip(keys, lvl))
            row.update(step_index=i, step=name, eligible=len(sub), converted=conv,
                       rate_from_previous=(conv / prev_conv) if prev_conv else np.nan,
                       median_days=float(np.median(t[np.isfinite(t)])) / DAY_NS if conv else np.nan)
            rows.append(row)
            prev_conv = conv
    out = pd.DataFrame(rows, columns=[*keys, "step_index", "step", "eligible", "converted",
                                      "rate_from_previous", "median_days"])
    out["rate"] = np.where(out["eligible"] > 0, out["converted"] / out["eligible"].where(
        out["eligible"] > 0, 1), np.nan)
    out["ci_low"], out["ci_high"] = wilson(out["converted"], out["eligible"], alpha)
    out = out.drop(columns=["_all"], errors="ignore")
    for c in ("eligible", "converted", "step_index"):
        out[c] = out[c].astype("int64")
    return out[[*by_cols, *FUNNEL_COLUMNS]].reset_index(drop=True)


funnel.__doc__ = funnel.__doc__.format(observed_until=OBSERVED_UNTIL_DOC,
                                       active_types=ACTIVE_TYPES_DOC)
