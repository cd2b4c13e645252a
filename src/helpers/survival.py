"""Survival analysis of member churn: churn table, Kaplan–Meier, RMST, log-rank, Cox models.

The path from raw community events to survival data is where churn analyses usually go wrong,
so the choices are made here once (DESIGN.md §4) and every function documents its own:

- **Churn** is an explicit exit (``left_at``) or no active event for ``inactivity_days``. The
  churn time is ``left_at`` when there is one, otherwise the last active time. A member whose
  last activity is less than ``inactivity_days`` before the end of observation is *censored* at
  the end of observation: we do not know yet whether they have left.
- **Durations** are in days (floats) from ``joined_at``.
- Kaplan–Meier, log-rank and Cox estimates come from lifelines; what lifelines lacks (RMST
  difference with a CI, a tidy proportional-hazards check, time-varying long format) is
  computed here and validated in ``tests/test_survival.py`` against published numbers, closed
  forms and a bootstrap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import config
from .errors import AnalysisWarning, DataError, ParameterError

__all__ = [
    "member_activity_span", "churn_table", "km_table", "rmst_table", "rmst_difference",
]

ALL = "all"  # group label when no group column is given
DAY_NS = 86_400 * 10**9
PARTICIPATION_TYPE = "activity_join"  # DESIGN.md §3 standard event type for taking part


# ----------------------------------------------------------------------------- validation
def _require_columns(data: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Raise ParameterError naming the parameter when a column is not in ``data``."""
    for param, col in columns.items():
        if col is not None and col not in data.columns:
            raise ParameterError(
                f"{param}={col!r} is not a column of the data; available columns: "
                f"{', '.join(map(str, data.columns))}")


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ParameterError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")


def _survival_frame(data: pd.DataFrame, duration_col: str, event_col: str,
                    group_col: str | None) -> pd.DataFrame:
    """Return a clean frame ``[group, duration, event]`` (copy), validated.

    Rows whose group is missing are dropped with an AnalysisWarning (they belong to no segment).
    """
    _require_columns(data, {"duration_col": duration_col, "event_col": event_col,
                            "group_col": group_col})
    duration = pd.to_numeric(data[duration_col], errors="coerce").astype("float64")
    bad = duration.isna() | (duration < 0) | ~np.isfinite(duration.fillna(0.0))
    if bad.any():
        raise DataError.for_rows("duration missing, negative or infinite", file=None,
                                 column=duration_col, frame=data.reset_index(drop=True),
                                 mask=bad.to_numpy(), fix="durations are days since joining, >= 0")
    event = data[event_col]
    if event.isna().any() or not event.isin([0, 1, True, False]).all():
        raise DataError(f"event indicator must be 0/1 or boolean without missing values",
                        column=event_col, fix="use the 'churned' column of churn_table")
    if group_col is None:
        group = pd.Series(ALL, index=data.index)
    else:
        group = data[group_col]
        missing = group.isna()
        if missing.any():
            warnings.warn(f"{int(missing.sum())} row(s) with a missing {group_col!r} dropped",
                          AnalysisWarning, stacklevel=3)
    out = pd.DataFrame({"group": group, "duration": duration,
                        "event": event.astype(bool)}).dropna(subset=["group"])
    if out.empty:
        raise ParameterError("no rows to analyse (empty data or every group missing)")
    return out.reset_index(drop=True)


def _group_order(groups: pd.Series) -> list:
    """Groups in categorical order if categorical, else sorted (by text for mixed types)."""
    if isinstance(groups.dtype, pd.CategoricalDtype):
        return [g for g in groups.cat.categories if (groups == g).any()]
    uniq = pd.unique(groups)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


# ----------------------------------------------------------------------------- Kaplan–Meier
def km_table(data: pd.DataFrame, *, duration_col: str = "duration_days",
             event_col: str = "churned", group_col: str | None = None,
             alpha: float = config.ALPHA) -> pd.DataFrame:
    """Kaplan–Meier survival curves with confidence bands, one block of rows per group.

    Uses lifelines' ``KaplanMeierFitter``: Greenwood variance with the exponential
    ("log-log") confidence interval, which stays inside [0, 1].

    Parameters
    ----------
    data : DataFrame
        One row per member, e.g. the output of :func:`churn_table`.
    duration_col, event_col : str
        Duration in days and the event indicator (1/True = churned, 0/False = censored).
    group_col : str, optional
        Segment column (channel, arm, …). Without it the whole data is one group ``"all"``.
    alpha : float
        1 − confidence level of the band.

    Returns
    -------
    DataFrame
        ``group, timeline, survival, ci_low, ci_high, at_risk, events, censored``: one row per
        distinct time (starting at 0) and group. ``at_risk`` counts members at risk just before
        ``timeline``; ``events``/``censored`` happen at ``timeline``.

    Examples
    --------
    >>> df = pd.DataFrame({"duration_days": [1, 2, 2, 5], "churned": [1, 1, 0, 1]})
    >>> km_table(df)["survival"].round(3).tolist()
    [1.0, 0.75, 0.5, 0.0]
    """
    from lifelines import KaplanMeierFitter

    _check_alpha(alpha)
    frame = _survival_frame(data, duration_col, event_col, group_col)
    blocks = []
    for g in _group_order(frame["group"]):
        sub = frame[frame["group"] == g]
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub["duration"], sub["event"])
        et = kmf.event_table
        ci = kmf.confidence_interval_survival_function_
        blocks.append(pd.DataFrame({
            "group": g,
            "timeline": kmf.survival_function_.index.to_numpy(dtype=float),
            "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "at_risk": et["at_risk"].reindex(kmf.survival_function_.index).to_numpy(dtype=np.int64),
            "events": et["observed"].reindex(kmf.survival_function_.index).to_numpy(dtype=np.int64),
            "censored": et["censored"].reindex(kmf.survival_function_.index).to_numpy(dtype=np.int64),
        }))
    out = pd.concat(blocks, ignore_index=True)
    # at time 0 lifelines reports 1 with a NaN band: the band is exactly [1, 1] there
    first = out["timeline"].eq(0) & out["survival"].eq(1)
    out.loc[first, ["ci_low", "ci_high"]] = out.loc[first, ["ci_low", "ci_high"]].fillna(1.0)
    return out


# ----------------------------------------------------------------------------- RMST
def _km_arrays(duration: np.ndarray, event: np.ndarray):
    """Distinct event times, at-risk counts, event counts and KM survival just after each."""
    order = np.argsort(duration, kind="stable")
    t, e = duration[order], event[order]
    times, idx, counts = np.unique(t, return_index=True, return_counts=True)
    d = np.add.reduceat(e.astype(np.int64), idx) if len(t) else np.zeros(0, np.int64)
    n = len(t) - idx  # at risk just before each distinct time
    keep = d > 0
    times, n, d = times[keep], n[keep], d[keep]
    surv = np.cumprod(1.0 - d / n)
    return times, n, d, surv


def _rmst_and_variance(duration: np.ndarray, event: np.ndarray, horizon: float):
    """RMST = ∫_0^τ S(t) dt of the KM curve and its Greenwood-type variance.

    Var = Σ_{t_i ≤ τ} A_i² d_i / (n_i (n_i − d_i)) with A_i = ∫_{t_i}^τ S(u) du (Klein &
    Moeschberger 2003, §4.5; the formula of R's survRM2 and ``print.survfit(rmean=)``). A term
    with n_i = d_i has A_i = 0 (the curve is 0 afterwards) and contributes 0.
    """
    times, n, d, surv = _km_arrays(duration, event)
    in_h = times <= horizon
    times, n, d, surv = times[in_h], n[in_h], d[in_h], surv[in_h]
    knots = np.concatenate([[0.0], times, [horizon]])
    steps = np.concatenate([[1.0], surv])  # S on [knots[k], knots[k+1])
    widths = np.diff(knots)
    areas = steps * widths
    rmst = float(areas.sum())
    # A_i = area from t_i to τ = sum of areas of pieces k >= i+1
    tail = np.cumsum(areas[::-1])[::-1]  # tail[k] = sum areas[k:]
    a = tail[1:] if len(times) else np.zeros(0)
    denom = n * (n - d)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denom > 0, a ** 2 * d / np.where(denom > 0, denom, 1), 0.0)
    return rmst, float(terms.sum())


def rmst_table(data: pd.DataFrame, *, duration_col: str = "duration_days",
               event_col: str = "churned", group_col: str | None = None,
               horizon_days: float = config.HORIZON_DAYS,
               alpha: float = config.ALPHA) -> pd.DataFrame:
    """Restricted mean survival time (RMST) up to ``horizon_days`` per group, with a CI.

    RMST(τ) is the area under the Kaplan–Meier curve from 0 to τ: the expected number of days
    a member stays during their first τ days. Its standard error is the Greenwood-type one of
    Klein & Moeschberger (as in R's survRM2). Note that lifelines'
    ``restricted_mean_survival_time(return_variance=True)`` returns the variance of the
    *restricted survival time of one member*, min(T, τ), not the variance of the estimate,
    so it cannot give a confidence interval. If a group's last observation is censored before
    τ, the curve is carried flat to τ (an AnalysisWarning says so).

    Parameters
    ----------
    data : DataFrame
        One row per member (e.g. :func:`churn_table`).
    duration_col, event_col, group_col : str
        As in :func:`km_table`.
    horizon_days : float
        The restriction time τ (> 0).
    alpha : float
        1 − confidence level (normal interval).

    Returns
    -------
    DataFrame
        ``group, horizon_days, n, rmst, se, ci_low, ci_high``.

    Examples
    --------
    >>> df = pd.DataFrame({"duration_days": [1, 2, 2, 5], "churned": [1, 1, 0, 1]})
    >>> float(rmst_table(df, horizon_days=5)["rmst"].iloc[0])   # 1 + 0.75 + 3 × 0.5
    3.25
    """
    _check_alpha(alpha)
    if not (isinstance(horizon_days, (int, float, np.number)) and horizon_days > 0):
        raise ParameterError(f"horizon_days must be a positive number of days, got {horizon_days!r}")
    frame = _survival_frame(data, duration_col, event_col, group_col)
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for g in _group_order(frame["group"]):
        sub = frame[frame["group"] == g]
        dur, ev = sub["duration"].to_numpy(), sub["event"].to_numpy()
        last = dur.max()
        if last < horizon_days and not ev[dur == last].all():
            warnings.warn(f"group {g!r}: last follow-up {last:.1f} d is before the horizon "
                          f"{horizon_days} d; the curve is carried flat to the horizon",
                          AnalysisWarning, stacklevel=2)
        rmst, var = _rmst_and_variance(dur, ev, float(horizon_days))
        se = np.sqrt(var)
        rows.append((g, float(horizon_days), len(sub), rmst, se, rmst - z * se, rmst + z * se))
    return pd.DataFrame(rows, columns=["group", "horizon_days", "n", "rmst", "se", "ci_low",
                                       "ci_high"])


def rmst_difference(data: pd.DataFrame, *, duration_col: str = "duration_days",
                    event_col: str = "churned", group_col: str,
                    horizon_days: float = config.HORIZON_DAYS, reference=None,
                    alpha: float = config.ALPHA) -> pd.DataFrame:
    """Difference in RMST up to ``horizon_days`` between each group and a reference group.

    The groups are independent samples, so Var(difference) = Var(RMST_g) + Var(RMST_ref) with
    the Greenwood-type variances of :func:`rmst_table`; the interval is normal (Wald) and the
    p-value two-sided. lifelines' ``rmst_difference`` test is an unimplemented stub; this one
    is checked against a bootstrap in the tests. Positive ``difference`` = members of ``group``
    stay longer (on average, within the horizon) than members of the reference group.

    Parameters
    ----------
    data : DataFrame
        One row per unit (member), e.g. :func:`churn_table` or one arm per row of an experiment.
    duration_col, event_col : str
        As in :func:`km_table`.
    group_col : str
        Segment or arm column (required).
    horizon_days : float
        Restriction time τ in days.
    reference : optional
        The reference group (e.g. ``"control"``). Default: the first group (categorical order,
        else sorted).
    alpha : float
        1 − confidence level.

    Returns
    -------
    DataFrame
        ``group, reference, horizon_days, rmst, rmst_reference, difference, se, ci_low,
        ci_high, p_value``: one row per non-reference group.

    Raises
    ------
    ParameterError
        If ``reference`` is not a group, or there are fewer than two groups.

    Examples
    --------
    >>> df = pd.DataFrame({"d": [1, 2, 3, 4, 5, 6], "e": [1] * 6, "arm": list("aaabbb")})
    >>> rmst_difference(df, duration_col="d", event_col="e", group_col="arm",
    ...                 horizon_days=10)["difference"].round(3).tolist()
    [3.0]
    """
    if group_col is None:
        raise ParameterError("group_col is required: name the column holding the segments/arms")
    per_group = rmst_table(data, duration_col=duration_col, event_col=event_col,
                           group_col=group_col, horizon_days=horizon_days, alpha=alpha)
    groups = per_group["group"].tolist()
    if len(groups) < 2:
        raise ParameterError(f"rmst_difference needs at least two groups in {group_col!r}; "
                             f"found {groups}")
    if reference is None:
        reference = groups[0]
    elif reference not in groups:
        raise ParameterError(f"reference={reference!r} is not a group of {group_col!r}; "
                             f"allowed values: {groups}")
    ref = per_group.loc[per_group["group"] == reference].iloc[0]
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for _, r in per_group[per_group["group"] != reference].iterrows():
        diff = r["rmst"] - ref["rmst"]
        se = float(np.hypot(r["se"], ref["se"]))
        p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
        rows.append((r["group"], reference, float(horizon_days), r["rmst"], ref["rmst"], diff,
                     se, diff - z * se, diff + z * se, p))
    return pd.DataFrame(rows, columns=["group", "reference", "horizon_days", "rmst",
                                       "rmst_reference", "difference", "se", "ci_low", "ci_high",
                                       "p_value"])


# ----------------------------------------------------------------------------- churn table
def _as_ns(values: pd.Series) -> np.ndarray:
    """int64 nanoseconds since the epoch (UTC) of a datetime Series; NaT -> INT64 min."""
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def _resolve_end(observed_until, events: pd.DataFrame, members: pd.DataFrame) -> pd.Timestamp:
    """The end of observation as a tz-aware Timestamp in the data's zone."""
    tz = getattr(members["joined_at"].dt, "tz", None)
    if observed_until is None:
        if events.empty:
            raise ParameterError("observed_until is required when there are no events")
        end = pd.Timestamp(events["ts"].max())
    else:
        try:
            end = pd.Timestamp(observed_until)
        except (ValueError, TypeError):
            raise ParameterError(f"observed_until must be a date/time such as '2026-08-29' or "
                                 f"None (= last event), got {observed_until!r}") from None
        if end is pd.NaT:
            raise ParameterError("observed_until is NaT; pass None to use the last event time")
    if tz is not None:
        end = end.tz_localize(tz) if end.tzinfo is None else end.tz_convert(tz)
    return end


def _check_active_types(events: pd.DataFrame, active_types) -> list | None:
    if active_types is None:
        return None
    if isinstance(active_types, str):
        active_types = [active_types]
    present = set(map(str, pd.unique(events["event_type"])))
    unknown = [t for t in active_types if t not in present]
    if unknown:
        raise ParameterError(f"active_types contains unknown event type(s) {unknown}; event types "
                             f"in the data: {sorted(present)} (or None for all types)")
    return list(active_types)


def member_activity_span(events: pd.DataFrame, *, active_types: Sequence[str] | None = None,
                         observed_until=None, joined_at: pd.Series | None = None,
                         early_days: float = 7) -> pd.DataFrame:
    """Per-member summary of the event log: the only event-level step of the churn table.

    Everything that scans the (large) event log is here, so an alternative engine (e.g.
    DuckDB) only has to reproduce this function.

    Parameters
    ----------
    events : DataFrame
        ``member_id, ts, event_type`` [, ``activity_id``].
    active_types : sequence of str, optional
        Event types that count as activity (default: all types).
    observed_until : Timestamp, optional
        Events after it are ignored (as if the log ended there).
    joined_at : Series, optional
        Join time indexed by ``member_id``; when given, adds ``early_events`` (active events in
        the first ``early_days`` days after joining).
    early_days : float
        Length of the early-engagement window.

    Returns
    -------
    DataFrame
        ``member_id, first_active_at, last_active_at, n_events, first_participation_at``
        [, ``early_events``]: one row per member with at least one event (active or taking
        part). ``first_participation_at`` is the first ``activity_join`` event (or event with an
        ``activity_id``) whatever ``active_types`` says; NaT when the member never took part.
        Members without active events have NaT activity times and ``n_events`` 0.

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
    ...                    "ts": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02"])})
    >>> member_activity_span(ev)[["member_id", "n_events"]].values.tolist()
    [[1, 2], [2, 1]]
    """
    _require_columns(events, {"events": "member_id", "events ": "ts", "events  ": "event_type"})
    types = _check_active_types(events, active_types)
    ts = _as_ns(events["ts"])
    keep = np.ones(len(events), bool)
    if observed_until is not None:
        keep &= ts <= pd.Timestamp(observed_until).as_unit("ns").value
    etype = events["event_type"]
    part = (etype.astype(str) == PARTICIPATION_TYPE).to_numpy() if not isinstance(
        etype.dtype, pd.CategoricalDtype) else (etype == PARTICIPATION_TYPE).to_numpy()
    if "activity_id" in events.columns:
        part = part | events["activity_id"].notna().to_numpy()
    active = keep & (etype.isin(types).to_numpy() if types is not None else True)
    part &= keep
    codes, uniques = pd.factorize(events["member_id"], sort=False)
    k = len(uniques)
    t_act = np.where(active, ts, np.iinfo(np.int64).max)
    first = pd.Series(t_act).groupby(codes).min().reindex(range(k)).to_numpy()
    t_act = np.where(active, ts, np.iinfo(np.int64).min)
    last = pd.Series(t_act).groupby(codes).max().reindex(range(k)).to_numpy()
    n_events = np.bincount(codes[active], minlength=k)
    t_part = np.where(part, ts, np.iinfo(np.int64).max)
    first_part = pd.Series(t_part).groupby(codes).min().reindex(range(k)).to_numpy()
    seen = (n_events > 0) | (first_part != np.iinfo(np.int64).max)
    tz = getattr(events["ts"].dt, "tz", None)

    def _to_time(ns, valid):
        out = pd.to_datetime(np.where(valid, ns, np.iinfo(np.int64).min), utc=tz is not None)
        return out.tz_convert(tz) if tz is not None else out

    has = n_events > 0
    out = pd.DataFrame({
        "member_id": np.asarray(uniques),
        "first_active_at": _to_time(first, has),
        "last_active_at": _to_time(last, has),
        "n_events": n_events.astype(np.int64),
        "first_participation_at": _to_time(first_part, first_part != np.iinfo(np.int64).max),
    })
    if joined_at is not None:
        pos = pd.Index(joined_at.index).get_indexer(uniques)
        if (pos < 0).any():
            raise DataError("events of members not in the members table", column="member_id",
                            fix="load the data with data.load_community, which checks this")
        j = _as_ns(joined_at)[pos]
        early = active & (ts < j[codes] + int(early_days * DAY_NS))
        out["early_events"] = np.bincount(codes[early], minlength=k).astype(np.int64)
    return out[seen].reset_index(drop=True)


def churn_table(members: pd.DataFrame, events: pd.DataFrame, *,
                inactivity_days: float = config.INACTIVITY_DAYS, observed_until=None,
                active_types: Sequence[str] | None = None, early_days: int = 7,
                participation_days: int = 14) -> pd.DataFrame:
    """One row per member with churn status, duration and covariates (DESIGN.md §4).

    Choices (every one deliberate):

    - **End of observation** ``observed_until`` defaults to the last event. Events after it,
      exits after it and members who joined after it are ignored, so passing an earlier date
      reproduces what we would have seen on that date (useful to back-test the risk list).
    - **Churned** = explicit exit (``left_at`` ≤ end) *or* no active event during the last
      ``inactivity_days`` before the end (gap ≥ ``inactivity_days``).
    - **Churn time** = ``left_at`` for an explicit exit (even if events follow it: the loader
      keeps those, the exit stays the churn time), else the last active time.
    - **Censored** (``churned`` False) members are followed until the end of observation: one
      whose last activity is less than ``inactivity_days`` before the end may still come back,
      so we do not count them as churned even if their gap straddles the end.
    - **Never active** members: their "last activity" is the join itself. Churned (at duration
      0) once ``inactivity_days`` have passed since joining; censored before that.
    - **Duration** = (churn or censoring time − ``joined_at``) in days (float), clipped at 0
      (only possible with events loaded before joining).
    - **Covariates**: ``referred`` (has a ``referrer_id``; False without the column),
      ``early_events_<early_days>d`` (active events in the first ``early_days`` days),
      ``participated_<participation_days>d`` (took part in an activity — an ``activity_join``
      event or an event with an ``activity_id`` — within that many days of joining),
      ``days_to_first_participation`` (NaN if never, for time-varying models),
      ``observed_days`` (end − ``joined_at``: how long we could watch the member).
      The early-engagement covariates are *reverse-causal* for members who churn inside the
      window (they stop acting because they leave) and incomplete for members who joined less
      than the window before the end; use :func:`landmark` before modelling them.

    Parameters
    ----------
    members, events : DataFrame
        Tables of a :class:`helpers.data.Community`.
    inactivity_days : float
        Days without an active event after which a member has churned.
    observed_until : str or Timestamp, optional
        End of observation (naive = the data's time zone). Default: the last event.
    active_types : sequence of str, optional
        Event types that count as activity (default all); unknown types raise ParameterError.
    early_days, participation_days : int
        Windows of the early-engagement and participation covariates.

    Returns
    -------
    DataFrame
        ``member_id, joined_at, last_active_at, churned, duration_days, churn_reason`` (exit,
        inactivity or censored), the other member columns (``channel, group_id, left_at,
        referrer_id``, extra attributes…), then ``n_events, referred, early_events_7d,
        participated_14d, days_to_first_participation, observed_days``.

    Examples
    --------
    >>> from helpers import data                                        # doctest: +SKIP
    >>> ds = data.load_community("demo")                                # doctest: +SKIP
    >>> churn_table(ds.members, ds.events)["churned"].mean()            # doctest: +SKIP
    """
    _require_columns(members, {"members": "member_id", "members ": "joined_at"})
    if not (isinstance(inactivity_days, (int, float, np.number)) and inactivity_days > 0):
        raise ParameterError(f"inactivity_days must be a positive number of days, "
                             f"got {inactivity_days!r}")
    for name, v in (("early_days", early_days), ("participation_days", participation_days)):
        if not (isinstance(v, (int, np.integer)) and v > 0):
            raise ParameterError(f"{name} must be a positive whole number of days, got {v!r}")
    end = _resolve_end(observed_until, events, members)
    end_ns = end.as_unit("ns").value
    m = members.loc[_as_ns(members["joined_at"]) <= end_ns].reset_index(drop=True)
    if m.empty:
        raise ParameterError(f"no member joined on or before observed_until={end}")
    joined = pd.Series(m["joined_at"].to_numpy(), index=m["member_id"])
    span = member_activity_span(events, active_types=active_types, observed_until=end,
                                joined_at=joined, early_days=early_days)
    pos = pd.Index(span["member_id"]).get_indexer(m["member_id"])
    found = pos >= 0
    joined_ns = _as_ns(m["joined_at"])
    nat = np.iinfo(np.int64).min

    def _take(col, fill):
        v = span[col].to_numpy() if col in ("n_events", "early_events") else _as_ns(span[col])
        return np.where(found, v[np.maximum(pos, 0)], fill)

    last_ns = _take("last_active_at", nat)
    n_events = _take("n_events", 0)
    early = _take("early_events", 0)
    part_ns = _take("first_participation_at", nat)
    has_active = last_ns != nat
    ref_ns = np.where(has_active, last_ns, joined_ns)
    if "left_at" in m.columns:
        left_ns = _as_ns(m["left_at"])
        exited = (left_ns != nat) & (left_ns <= end_ns)
    else:
        left_ns = np.full(len(m), nat)
        exited = np.zeros(len(m), bool)
    inactive = (end_ns - ref_ns) >= inactivity_days * DAY_NS
    churned = exited | inactive
    stop_ns = np.where(exited, left_ns, np.where(inactive, ref_ns, end_ns))
    duration = np.maximum((stop_ns - joined_ns) / DAY_NS, 0.0)
    tz = getattr(m["joined_at"].dt, "tz", None)
    last_at = pd.to_datetime(last_ns, utc=tz is not None)
    if tz is not None:
        last_at = last_at.tz_convert(tz)
    reason = np.where(exited, "exit", np.where(inactive, "inactivity", "censored"))
    days_to_part = np.where(part_ns != nat, (part_ns - joined_ns) / DAY_NS, np.nan)
    attrs = [c for c in m.columns if c not in ("member_id", "joined_at")]
    out = pd.DataFrame({
        "member_id": m["member_id"].to_numpy(),
        "joined_at": m["joined_at"].to_numpy(),
        "last_active_at": last_at,
        "churned": churned,
        "duration_days": duration,
        "churn_reason": pd.Categorical(reason, categories=["exit", "inactivity", "censored"]),
    })
    out["joined_at"] = m["joined_at"]  # same RangeIndex: keeps the tz-aware dtype
    for c in attrs:
        out[c] = m[c]
    out["n_events"] = n_events.astype(np.int64)
    out["referred"] = m["referrer_id"].notna().to_numpy() if "referrer_id" in m.columns \
        else np.zeros(len(m), bool)
    out[f"early_events_{early_days}d"] = early.astype(np.int64)
    out[f"participated_{participation_days}d"] = days_to_part < participation_days
    out["days_to_first_participation"] = days_to_part
    out["observed_days"] = (end_ns - joined_ns) / DAY_NS
    return out
