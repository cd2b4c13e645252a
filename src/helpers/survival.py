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

import hashlib
import os
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import config
from .data import atomic_path
from .errors import AnalysisWarning, DataError, ParameterError

__all__ = [
    "member_activity_span", "churn_table", "km_table", "rmst_table", "rmst_difference",
    "survival_summary", "at_risk_table", "LogrankResult", "logrank_tests",
    "CoxResult", "cox_model", "ph_check", "stratify_violations", "time_varying_long",
    "time_varying_cox", "landmark", "participation_effects", "truth_table", "pseudonymise",
    "risk_list", "summary_markdown", "ChurnReport", "planted_truth", "churn_report",
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
        raise DataError("event indicator must be 0/1 or boolean without missing values",
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
        idx = kmf.survival_function_.index
        blocks.append(pd.DataFrame({
            "group": g,
            "timeline": kmf.survival_function_.index.to_numpy(dtype=float),
            "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "at_risk": et["at_risk"].reindex(idx).to_numpy(dtype=np.int64),
            "events": et["observed"].reindex(idx).to_numpy(dtype=np.int64),
            "censored": et["censored"].reindex(idx).to_numpy(dtype=np.int64),
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
        raise ParameterError(
            f"horizon_days must be a positive number of days, got {horizon_days!r}")
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
    idx = pd.DatetimeIndex(values)
    return (idx if idx.unit == "ns" else idx.as_unit("ns")).asi8


def _member_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of member ids and the id of each code (codes index ``uniques``).

    Integer ids in a compact range (the usual auto-increment ids) are coded by offset, which
    avoids hashing tens of millions of values; ``uniques`` may then contain ids without events
    (callers drop codes with no events). Other ids go through ``pd.factorize``.
    """
    if pd.api.types.is_integer_dtype(ids.dtype) and not isinstance(
            ids.dtype, pd.api.extensions.ExtensionDtype) and len(ids):
        values = ids.to_numpy()
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < max(4 * len(values), 1_000_000):
            return values - lo, np.arange(lo, hi + 1, dtype=values.dtype)
    codes, uniques = pd.factorize(ids, sort=False)
    return codes, np.asarray(uniques)


def _from_ns(ns: np.ndarray, tz) -> pd.DatetimeIndex:
    """Inverse of :func:`_as_ns`: int64 ns (INT64 min = NaT) to timestamps in ``tz``."""
    idx = pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]"))
    return idx.tz_localize("UTC").tz_convert(tz) if tz is not None else idx


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
    if observed_until is not None:
        keep = ts <= pd.Timestamp(observed_until).as_unit("ns").value
        if not keep.all():  # drop later events first (their members may not have joined yet)
            events, ts = events.loc[keep], ts[keep]
    etype = events["event_type"]
    part = (etype == PARTICIPATION_TYPE).to_numpy() if isinstance(
        etype.dtype, pd.CategoricalDtype) else (etype.astype(str) == PARTICIPATION_TYPE).to_numpy()
    if "activity_id" in events.columns:
        part |= events["activity_id"].notna().to_numpy()
    active = None if types is None else etype.isin(types).to_numpy()  # None: every event
    codes, uniques = _member_codes(events["member_id"])
    k = len(uniques)
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    ca, ta = (codes, ts) if active is None else (codes[active], ts[active])
    # unbuffered ufunc.at: one pass over the events, no sort and no second hashing of the ids
    first = np.full(k, big)
    last = np.full(k, small)
    first_part = np.full(k, big)
    np.minimum.at(first, ca, ta)
    np.maximum.at(last, ca, ta)
    np.minimum.at(first_part, codes[part], ts[part])
    n_events = np.bincount(ca, minlength=k)
    seen = (n_events > 0) | (first_part != big)
    tz = getattr(events["ts"].dt, "tz", None)
    has = n_events > 0
    out = pd.DataFrame({
        "member_id": np.asarray(uniques)[seen],
        "first_active_at": _from_ns(np.where(has, first, small)[seen], tz),
        "last_active_at": _from_ns(np.where(has, last, small)[seen], tz),
        "n_events": n_events[seen].astype(np.int64),
        "first_participation_at": _from_ns(np.where(first_part != big, first_part,
                                                    small)[seen], tz),
    })
    if joined_at is not None:
        pos = np.full(k, -1, np.int64)
        pos[seen] = pd.Index(joined_at.index).get_indexer(out["member_id"])
        if (pos[seen] < 0).any():
            raise DataError("events of members not in the members table", column="member_id",
                            fix="load the data with data.load_community, which checks this")
        j = _as_ns(joined_at)[np.maximum(pos, 0)]
        limit = j + int(early_days * DAY_NS)
        early = ta < limit[ca]
        out["early_events"] = np.bincount(ca[early], minlength=k)[seen].astype(np.int64)
    return out


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
    joined = pd.Series(m["joined_at"].array, index=pd.Index(m["member_id"]))
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
    last_at = _from_ns(last_ns, tz)
    reason = np.where(exited, "exit", np.where(inactive, "inactivity", "censored"))
    days_to_part = np.where(part_ns != nat, (part_ns - joined_ns) / DAY_NS, np.nan)
    attrs = [c for c in m.columns if c not in ("member_id", "joined_at")]
    out = pd.DataFrame({
        "member_id": m["member_id"].to_numpy(),
        "last_active_at": last_at,
        "churned": churned,
        "duration_days": duration,
        "churn_reason": pd.Categorical(reason, categories=["exit", "inactivity", "censored"]),
    })
    out.insert(1, "joined_at", m["joined_at"])  # same RangeIndex: keeps the tz-aware dtype
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


def censor_when_detectable(table: pd.DataFrame, *,
                           inactivity_days: float = config.INACTIVITY_DAYS) -> pd.DataFrame:
    """Re-censor a churn table where churn becomes *detectable*: ``inactivity_days`` before the end.

    With churn defined by inactivity, a churn in the last ``inactivity_days`` of observation
    cannot be seen yet: DESIGN.md §4 censors those members at the end, which counts them as at
    risk (and surviving) for up to ``inactivity_days`` after they really left, so survival is
    overstated. Here everyone is followed only until ``end − inactivity_days``, when every churn
    before it is visible: churns (exits included) after that point become censored there, and
    members who joined after it carry no information and are dropped. On a synthetic community
    analysed 60 days before its data end, KM survival at 30/60/90 days was 0.746/0.632/0.556
    with end-censoring, 0.716/0.579/0.485 with this rule, and 0.693/0.560/0.486 in truth.

    Parameters
    ----------
    table : DataFrame
        :func:`churn_table` output (needs ``churned, duration_days, observed_days``).
    inactivity_days : float
        The value used to build ``table``.

    Returns
    -------
    DataFrame
        A copy with ``churned`` and ``duration_days`` recomputed and ``churn_reason`` set to
        ``censored`` where the churn is no longer counted; members who joined within
        ``inactivity_days`` of the end are left out.

    Examples
    --------
    >>> t = pd.DataFrame({"churned": [True, True, False], "duration_days": [5.0, 50.0, 60.0],
    ...                   "observed_days": [100.0, 70.0, 60.0]})
    >>> censor_when_detectable(t, inactivity_days=30)[["churned", "duration_days"]].values.tolist()
    [[True, 5.0], [False, 40.0], [False, 30.0]]
    """
    missing = {"churned", "duration_days", "observed_days"} - set(table.columns)
    if missing:
        raise ParameterError(f"censor_when_detectable needs churn_table columns {sorted(missing)}")
    visible_until = table["observed_days"].to_numpy(float) - inactivity_days
    out = table.loc[visible_until > 0].copy()
    visible_until = visible_until[visible_until > 0]
    churned = out["churned"].to_numpy(bool) & (out["duration_days"].to_numpy(float) <= visible_until)
    out["duration_days"] = np.where(churned, out["duration_days"].to_numpy(float), visible_until)
    if "churn_reason" in out.columns:
        out["churn_reason"] = out["churn_reason"].where(churned, "censored")
    out["churned"] = churned
    return out


def censoring_sensitivity(table: pd.DataFrame, *, inactivity_days: float = config.INACTIVITY_DAYS,
                          times: Sequence[float] = (30, 90, 180),
                          alpha: float = config.ALPHA) -> pd.DataFrame:
    """Survival at ``times`` under the two censoring rules, side by side.

    Returns
    -------
    DataFrame
        ``censoring`` ("at the end (DESIGN §4)" or "where churn is detectable"), ``members,
        churned, time, survival, ci_low, ci_high``.
    """
    rows = []
    for label, t in (("at the end (DESIGN §4)", table),
                     ("where churn is detectable", censor_when_detectable(
                         table, inactivity_days=inactivity_days))):
        s = survival_summary(t, times=times, alpha=alpha)
        s = s[s["quantity"] == "survival"]
        rows.append(pd.DataFrame({"censoring": label, "members": len(t),
                                  "churned": int(t["churned"].sum()), "time": s["time"].to_numpy(),
                                  "survival": s["estimate"].to_numpy(),
                                  "ci_low": s["ci_low"].to_numpy(),
                                  "ci_high": s["ci_high"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


# ----------------------------------------------------------------------------- KM summaries
def survival_summary(data: pd.DataFrame, *, duration_col: str = "duration_days",
                     event_col: str = "churned", group_col: str | None = None,
                     times: Sequence[float] = (30, 90, 180),
                     alpha: float = config.ALPHA) -> pd.DataFrame:
    """Median survival and survival at given days, with confidence intervals, per group.

    The median's interval is where the KM confidence band crosses 0.5 (lifelines'
    ``median_survival_times`` of the band, Brookmeyer–Crowley style); ``inf`` means the curve
    (or its band) never falls to 0.5 within follow-up. Survival at day ``t`` is NaN when the
    group's follow-up ends (censored) before ``t``: the KM curve is not defined there.

    Parameters
    ----------
    data, duration_col, event_col, group_col, alpha
        As in :func:`km_table`.
    times : sequence of float
        Days at which to read the curve.

    Returns
    -------
    DataFrame
        ``group, n, events, quantity, time, estimate, ci_low, ci_high`` in long format:
        ``quantity`` is ``"median_days"`` (``time`` NaN) or ``"survival"`` (at ``time``).

    Examples
    --------
    >>> df = pd.DataFrame({"duration_days": [1, 2, 3, 4], "churned": [1, 1, 1, 1]})
    >>> survival_summary(df, times=[2]).set_index("quantity")["estimate"].tolist()
    [2.0, 0.5]
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    _check_alpha(alpha)
    frame = _survival_frame(data, duration_col, event_col, group_col)
    km = km_table(data, duration_col=duration_col, event_col=event_col, group_col=group_col,
                  alpha=alpha)
    rows = []
    for g in _group_order(frame["group"]):
        sub = frame[frame["group"] == g]
        n, ev = len(sub), int(sub["event"].sum())
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub["duration"], sub["event"])
        med = float(kmf.median_survival_time_)
        ci = median_survival_times(kmf.confidence_interval_).iloc[0]
        rows.append((g, n, ev, "median_days", np.nan, med, float(ci.iloc[0]), float(ci.iloc[1])))
        curve = km[km["group"] == g]
        last = sub["duration"].max()
        ends_with_event = bool(sub.loc[sub["duration"] == last, "event"].all())
        for t in times:
            if t > last and not (ends_with_event and curve["survival"].iloc[-1] == 0):
                rows.append((g, n, ev, "survival", float(t), np.nan, np.nan, np.nan))
                continue
            r = curve[curve["timeline"] <= t].iloc[-1]
            rows.append((g, n, ev, "survival", float(t), r["survival"], r["ci_low"], r["ci_high"]))
    return pd.DataFrame(rows, columns=["group", "n", "events", "quantity", "time", "estimate",
                                       "ci_low", "ci_high"])


def at_risk_table(km: pd.DataFrame, *, times: Sequence[float]) -> pd.DataFrame:
    """Members still at risk at given days, per group, from a :func:`km_table` result.

    The number at risk at day ``t`` is the number with duration ≥ ``t`` (followed up to ``t``
    and not churned before it), as printed under published KM plots.

    Returns
    -------
    DataFrame
        ``group, time, at_risk, events_before, censored_before``: cumulative churn events and
        censorings strictly before ``time``.

    Examples
    --------
    >>> km = km_table(pd.DataFrame({"duration_days": [1, 2, 2, 5], "churned": [1, 1, 0, 1]}))
    >>> at_risk_table(km, times=[0, 2, 6])["at_risk"].tolist()
    [4, 3, 0]
    """
    _require_columns(km, {"km": "group", "km ": "timeline", "km  ": "at_risk"})
    rows = []
    for g, curve in km.groupby("group", sort=False, observed=True):
        n0 = int(curve["at_risk"].iloc[0])
        for t in times:
            before = curve[curve["timeline"] < t]
            ev, cens = int(before["events"].sum()), int(before["censored"].sum())
            rows.append((g, float(t), n0 - ev - cens, ev, cens))
    return pd.DataFrame(rows, columns=["group", "time", "at_risk", "events_before",
                                       "censored_before"])


# ----------------------------------------------------------------------------- log-rank
@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test across all groups, and pairwise tests with a multiplicity correction.

    Attributes
    ----------
    statistic, df, p_value : float
        The overall chi-square test (k − 1 degrees of freedom).
    pairwise : DataFrame
        ``group_a, group_b, statistic, p_value, p_adjusted, significant``.
    method : str
        Multiplicity correction of the pairwise p-values (``holm`` by default).
    """

    statistic: float
    df: int
    p_value: float
    pairwise: pd.DataFrame = field(repr=False)
    method: str = "holm"
    alpha: float = config.ALPHA

    def to_frame(self) -> pd.DataFrame:
        """One row: ``test, statistic, df, p_value``."""
        return pd.DataFrame([("log-rank (all groups)", self.statistic, self.df, self.p_value)],
                            columns=["test", "statistic", "df", "p_value"])


def logrank_tests(data: pd.DataFrame, *, duration_col: str = "duration_days",
                  event_col: str = "churned", group_col: str, p_adjust: str = "holm",
                  alpha: float = config.ALPHA) -> LogrankResult:
    """Log-rank test of equal survival across segments, and all pairs with Holm correction.

    Parameters
    ----------
    data, duration_col, event_col, alpha
        As in :func:`km_table`.
    group_col : str
        Segment column (at least two groups).
    p_adjust : {"holm", "bonferroni", "fdr_bh", "none"}
        Correction of the pairwise p-values (statsmodels ``multipletests``).

    Returns
    -------
    LogrankResult
        ``statistic, df, p_value`` and a ``pairwise`` frame
        ``group_a, group_b, statistic, p_value, p_adjusted, significant``.

    Examples
    --------
    >>> res = logrank_tests(df, group_col="channel")                  # doctest: +SKIP
    >>> res.pairwise.sort_values("p_adjusted").head()                 # doctest: +SKIP
    """
    from itertools import combinations

    from lifelines.statistics import logrank_test, multivariate_logrank_test
    from statsmodels.stats.multitest import multipletests

    allowed = ("holm", "bonferroni", "fdr_bh", "none")
    if p_adjust not in allowed:
        raise ParameterError(f"p_adjust={p_adjust!r} is not supported; allowed values: {allowed}")
    _check_alpha(alpha)
    frame = _survival_frame(data, duration_col, event_col, group_col)
    groups = _group_order(frame["group"])
    if len(groups) < 2:
        raise ParameterError(f"log-rank tests need at least two groups in {group_col!r}; "
                             f"found {groups}")
    overall = multivariate_logrank_test(frame["duration"], frame["group"], frame["event"])
    rows = []
    for a, b in combinations(groups, 2):
        A, B = frame[frame["group"] == a], frame[frame["group"] == b]
        r = logrank_test(A["duration"], B["duration"], A["event"], B["event"])
        rows.append((a, b, float(r.test_statistic), float(r.p_value)))
    pw = pd.DataFrame(rows, columns=["group_a", "group_b", "statistic", "p_value"])
    if p_adjust == "none":
        pw["p_adjusted"] = pw["p_value"]
    else:
        pw["p_adjusted"] = multipletests(pw["p_value"], alpha=alpha, method=p_adjust)[1]
    pw["significant"] = pw["p_adjusted"] < alpha
    return LogrankResult(statistic=float(overall.test_statistic), df=len(groups) - 1,
                         p_value=float(overall.p_value), pairwise=pw, method=p_adjust,
                         alpha=alpha)


# ----------------------------------------------------------------------------- Cox models
PENALIZER_ON_FAILURE = 0.1  # ridge penalty of the automatic retry after a failed fit


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model, reduced to what reports need.

    Attributes
    ----------
    hazard_ratios : DataFrame
        ``term, covariate, level, coef, se, hazard_ratio, ci_low, ci_high, p_value`` — one row
        per model term; ``level`` is the category of a dummy (vs ``baselines[covariate]``).
    baselines : dict
        Reference level of each categorical covariate.
    n, events : int
        Rows (members, or intervals for time-varying models: ``n`` counts members) and events.
    concordance : float
        Harrell's C of the fitted model.
    penalizer : float
        Ridge penalty used (0 = plain partial likelihood; > 0 after a failed first fit).
    robust : bool
        Whether the standard errors are cluster-robust (sandwich) — ``cluster_col`` given.
    strata : tuple of str
        Covariates stratified on (own baseline hazard per level, no HR reported).
    notes : tuple of str
        What went wrong and what was done about it (non-convergence, separation…).
    fitter : lifelines fitter
        The fitted lifelines object, for predictions.
    """

    hazard_ratios: pd.DataFrame = field(repr=False)
    baselines: dict
    n: int
    events: int
    concordance: float
    penalizer: float = 0.0
    robust: bool = False
    strata: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    fitter: object = field(default=None, repr=False, compare=False)
    training_data: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The hazard-ratio table."""
        return self.hazard_ratios.copy()


def _design(data: pd.DataFrame, covariates: Sequence[str], baselines: dict | None):
    """Numeric design matrix: dummies for text/categorical/boolean-like columns.

    Returns (X, term_info, baselines) where term_info maps term -> (covariate, level).
    """
    baselines = dict(baselines or {})
    cols, info = {}, {}
    for c in covariates:
        v = data[c]
        if isinstance(v.dtype, pd.CategoricalDtype) or v.dtype == object or \
                pd.api.types.is_string_dtype(v.dtype):
            if v.isna().any():
                raise DataError(f"covariate has {int(v.isna().sum())} missing value(s)",
                                column=c, fix="fill them (e.g. 'unknown') or drop the covariate")
            counts = v.astype(str).value_counts()
            levels = list(counts.index)
            base = baselines.get(c)
            if base is None:
                base = levels[0]  # the largest segment: the most precise reference
            elif str(base) not in levels:
                raise ParameterError(f"baseline {base!r} of covariate {c!r} is not one of its "
                                     f"levels: {sorted(levels)}")
            baselines[c] = str(base)
            text = v.astype(str).to_numpy()
            for lev in sorted(levels):
                if lev == str(base):
                    continue
                term = f"{c}[{lev}]"
                cols[term] = (text == lev).astype(float)
                info[term] = (c, lev)
        else:
            num = pd.to_numeric(v, errors="coerce").astype(float)
            if num.isna().any():
                raise DataError(f"covariate has {int(num.isna().sum())} missing or non-numeric "
                                f"value(s)", column=c, fix="fill or drop them")
            cols[c] = num.to_numpy()
            info[c] = (c, None)
    return pd.DataFrame(cols, index=data.index), info, baselines


def _diagnose(X: pd.DataFrame, event: np.ndarray) -> list[str]:
    """Likely causes of a Cox fit failure: constant, collinear or separating columns."""
    causes = []
    for c in X.columns:
        x = X[c].to_numpy()
        if np.nanstd(x) == 0:
            causes.append(f"'{c}' is constant")
            continue
        if event.any() and (~event).any():
            if np.var(x[event]) == 0 or np.var(x[~event]) == 0:
                causes.append(f"'{c}' separates the data (it takes a single value among "
                              f"{'churned' if np.var(x[event]) == 0 else 'censored'} members)")
    if X.shape[1] > 1:
        rank = np.linalg.matrix_rank(np.column_stack([np.ones(len(X)), X.to_numpy()]))
        if rank < X.shape[1] + 1:
            causes.append("some covariates are collinear (one is a combination of others, "
                          "e.g. a segment and a flag that always goes with it)")
    return causes


def _tidy_summary(fitter, info: dict, alpha: float) -> pd.DataFrame:
    s = fitter.summary
    z = stats.norm.ppf(1 - alpha / 2)
    out = pd.DataFrame({
        "term": s.index.astype(str),
        "covariate": [info.get(t, (t, None))[0] for t in s.index],
        "level": [info.get(t, (t, None))[1] for t in s.index],
        "coef": s["coef"].to_numpy(),
        "se": s["se(coef)"].to_numpy(),
    })
    out["hazard_ratio"] = np.exp(out["coef"])
    out["ci_low"] = np.exp(out["coef"] - z * out["se"])
    out["ci_high"] = np.exp(out["coef"] + z * out["se"])
    out["p_value"] = s["p"].to_numpy()
    return out


def _fit_with_retry(fit, X: pd.DataFrame, event: np.ndarray, penalizer: float):
    """Run ``fit(penalizer)``; on failure or diverging coefficients warn and retry penalised."""
    from lifelines.exceptions import ConvergenceError

    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines' ConvergenceWarnings: diagnosed below
            fitter = fit(penalizer)
        bad = ~np.isfinite(fitter.summary["se(coef)"]) | (fitter.summary["se(coef)"] > 50) \
            | (fitter.summary["coef"].abs() > 15)
        if not bad.any() or penalizer > 0:
            return fitter, penalizer, notes
        problem = f"coefficients diverge ({', '.join(map(str, fitter.summary.index[bad]))})"
    except (ConvergenceError, np.linalg.LinAlgError) as exc:
        problem = f"the fit did not converge ({str(exc).splitlines()[0][:120]})"
        if penalizer > 0:
            raise ParameterError(f"Cox model: {problem} even with penalizer={penalizer}; "
                                 f"likely cause: {'; '.join(_diagnose(X, event)) or 'unknown'}. "
                                 "Drop or merge the covariates named.") from None
    causes = _diagnose(X, event)
    cause = "; ".join(causes) or "unknown (check for tiny segments and extreme values)"
    msg = (f"Cox model: {problem}; likely cause: {cause}. Refitted with a ridge penalty "
           f"penalizer={PENALIZER_ON_FAILURE}: estimates are shrunk towards HR = 1.")
    warnings.warn(msg, AnalysisWarning, stacklevel=3)
    notes.append(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter = fit(PENALIZER_ON_FAILURE)
    except (ConvergenceError, np.linalg.LinAlgError):
        raise ParameterError(f"Cox model: {problem}, also with a penalty; likely cause: "
                             f"{'; '.join(causes) or 'unknown'}. Drop or merge the covariates "
                             "named.") from None
    return fitter, PENALIZER_ON_FAILURE, notes


def cox_model(data: pd.DataFrame, *, covariates: Sequence[str],
              duration_col: str = "duration_days", event_col: str = "churned",
              baselines: dict | None = None, strata: Sequence[str] = (),
              cluster_col: str | None = None, penalizer: float = 0.0,
              resolution_days: float | None = None,
              alpha: float = config.ALPHA) -> CoxResult:
    """Cox proportional-hazards model of churn with tidy hazard ratios (lifelines CoxPHFitter).

    Text and categorical covariates become dummies against a baseline level (default: the
    largest segment). Durations of 0 (members who never acted) are kept: only the order of
    times enters the partial likelihood, so they are simply the earliest events.

    When the fit fails (lifelines' "delta contains nan" / singular-matrix ConvergenceError) or
    coefficients diverge (complete separation: e.g. a segment in which nobody churned), an
    AnalysisWarning names the likely cause (constant, separating or collinear covariates) and
    the model is refitted with a ridge penalty (``penalizer=0.1``), recorded in ``notes``.

    Parameters
    ----------
    data : DataFrame
        One row per member (e.g. :func:`churn_table`, or a :func:`landmark` subset).
    covariates : sequence of str
        Columns to model (text/categorical → dummies; booleans and numbers as they are).
    duration_col, event_col : str
        As in :func:`km_table`.
    baselines : dict, optional
        ``{covariate: reference level}`` for categorical covariates.
    strata : sequence of str
        Columns to stratify on (each level gets its own baseline hazard; the remedy when a
        covariate breaks proportional hazards). Not in ``covariates``.
    cluster_col : str, optional
        Cluster-robust (sandwich) standard errors by this column, e.g. ``"group_id"``: members
        of one group share unobserved influences.
    penalizer : float
        Ridge penalty (0 = none).
    resolution_days : float, optional
        Round durations *up* to multiples of this before fitting (ties handled by Efron's
        method). lifelines' fit loops in Python over distinct times, about one per member:
        at 1,000,000 members hours (``1 / 24``) take 9 s instead of 125 s and move the
        coefficients by < 0.003 standard errors (``make bench`` prints both). None = exact.
    alpha : float
        1 − confidence level of the hazard-ratio intervals.

    Returns
    -------
    CoxResult
        ``hazard_ratios`` with columns ``term, covariate, level, coef, se, hazard_ratio,
        ci_low, ci_high, p_value``.

    Examples
    --------
    >>> res = cox_model(ct, covariates=["channel", "referred"],              # doctest: +SKIP
    ...                 baselines={"channel": "自然流量"}, cluster_col="group_id")
    >>> res.hazard_ratios[["term", "hazard_ratio", "ci_low", "ci_high"]]     # doctest: +SKIP
    """
    from lifelines import CoxPHFitter

    covariates, strata = list(covariates), list(strata)
    _check_alpha(alpha)
    if not covariates:
        raise ParameterError("covariates must name at least one column")
    if resolution_days is not None:
        if not (isinstance(resolution_days, (int, float)) and resolution_days > 0):
            raise ParameterError(f"resolution_days must be a positive number or None, got "
                                 f"{resolution_days!r}")
        if duration_col in data.columns:
            data = data.assign(**{duration_col: np.ceil(
                data[duration_col].to_numpy(float) / resolution_days) * resolution_days})
    _require_columns(data, {**{f"covariates[{i}]": c for i, c in enumerate(covariates)},
                            **{f"strata[{i}]": c for i, c in enumerate(strata)},
                            "cluster_col": cluster_col})
    frame = _survival_frame(data, duration_col, event_col, None)
    X, info, baselines = _design(data.reset_index(drop=True), covariates, baselines)
    df = X.copy()
    df["_T"], df["_E"] = frame["duration"].to_numpy(), frame["event"].to_numpy()
    for s in strata:
        df[s] = data[s].astype(str).to_numpy()
    if cluster_col:
        df["_cluster"] = data[cluster_col].astype(str).to_numpy()

    def fit(pen):
        return CoxPHFitter(penalizer=pen, alpha=alpha).fit(
            df, "_T", "_E", strata=strata or None,
            cluster_col="_cluster" if cluster_col else None)

    fitter, pen, notes = _fit_with_retry(fit, X, frame["event"].to_numpy(), penalizer)
    return CoxResult(hazard_ratios=_tidy_summary(fitter, info, alpha), baselines=baselines,
                     n=len(df), events=int(df["_E"].sum()),
                     concordance=float(fitter.concordance_index_), penalizer=pen,
                     robust=bool(cluster_col), strata=tuple(strata), notes=tuple(notes),
                     covariates=tuple(covariates), fitter=fitter, training_data=df)


def ph_check(result: CoxResult, *, alpha: float = config.ALPHA) -> pd.DataFrame:
    """Proportional-hazards check of a fitted :func:`cox_model`, as a table.

    lifelines' ``check_assumptions`` only prints; this runs its Schoenfeld-residual test
    (``proportional_hazard_test`` with the rank time transform, the one ``check_assumptions``
    uses) and returns one row per term.

    Returns
    -------
    DataFrame
        ``term, covariate, statistic, p_value, violated, remedy``: ``violated`` when
        ``p_value < alpha``; ``remedy`` suggests stratifying on a violating categorical
        covariate (see :func:`stratify_violations`) or an interaction with time otherwise.
    """
    from lifelines.statistics import proportional_hazard_test

    if result.training_data is None or not hasattr(result.fitter, "compute_residuals"):
        raise ParameterError("ph_check needs a CoxResult from cox_model (static covariates)")
    _check_alpha(alpha)
    info = {t: (c, lev) for t, c, lev in result.hazard_ratios[["term", "covariate", "level"]]
            .itertuples(index=False)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = proportional_hazard_test(result.fitter, result.training_data.copy(),
                                        time_transform="rank")
    s = test.summary
    out = pd.DataFrame({"term": s.index.astype(str),
                        "covariate": [info.get(t, (t, None))[0] for t in s.index],
                        "statistic": s["test_statistic"].to_numpy(),
                        "p_value": s["p"].to_numpy()})
    out["violated"] = out["p_value"] < alpha
    categorical = {c for t, (c, lev) in info.items() if lev is not None}
    out["remedy"] = np.where(~out["violated"], "",
                             np.where(out["covariate"].isin(categorical),
                                      "stratify on " + out["covariate"],
                                      "add an interaction with time or split follow-up"))
    return out


def stratify_violations(result: CoxResult, data: pd.DataFrame, ph: pd.DataFrame, *,
                        duration_col: str = "duration_days", event_col: str = "churned",
                        cluster_col: str | None = None, alpha: float = config.ALPHA) -> CoxResult:
    """Refit ``result`` stratified on the categorical covariates that break PH in ``ph``.

    Returns ``result`` itself when nothing is violated (or only numeric covariates are).
    A stratified covariate gets its own baseline hazard, so it has no hazard ratio any more.
    """
    to_strata = sorted(set(ph.loc[ph["violated"] & ph["remedy"].str.startswith("stratify"),
                                  "covariate"]))
    if not to_strata:
        return result
    keep = [c for c in result.covariates if c not in to_strata]
    if not keep:
        return result
    return cox_model(data, covariates=keep, duration_col=duration_col, event_col=event_col,
                     baselines={k: v for k, v in result.baselines.items() if k in keep},
                     strata=[*result.strata, *to_strata], cluster_col=cluster_col,
                     penalizer=result.penalizer, alpha=alpha)


# ----------------------------------------------------------------------------- time-varying
def _zero_duration_floor(duration: np.ndarray) -> float:
    """Half the smallest positive duration: the stand-in for durations of exactly 0.

    Members who never acted churn at ``joined_at`` (duration 0), but time-varying Cox needs
    ``start < stop``. Only the order of times enters the partial likelihood, so moving the zeros
    to any time before the first positive duration leaves the estimates unchanged.
    """
    pos = duration[duration > 0]
    return float(pos.min() / 2) if pos.size else 0.5


def time_varying_long(data: pd.DataFrame, *, covariates: Sequence[str] = (),
                      change_col: str = "days_to_first_participation",
                      indicator: str = "participated", duration_col: str = "duration_days",
                      event_col: str = "churned", id_col: str = "member_id",
                      resolution_days: float | None = 1.0) -> pd.DataFrame:
    """Long (start, stop] format with a 0→1 time-varying indicator, for CoxTimeVaryingFitter.

    Each member's follow-up is split at ``change_col`` (days from joining to the first activity
    participation): before it the indicator is 0, from it on 1. A member who never took part, or
    took part only after their churn/censoring time, keeps one interval with indicator 0. The
    churn event is on the last interval only. This is how "took part in an activity" avoids
    immortal-time bias: members are credited with participation only from the moment it happens.
    Durations of 0 are moved to half the smallest positive duration (see
    :func:`_zero_duration_floor`: the partial likelihood is unchanged).

    ``resolution_days`` rounds every time *up* to a whole number of that unit (default: whole
    days of tenure): community churn is a daily process, and lifelines' CoxTimeVaryingFitter
    loops over distinct event times, so daily resolution is ~9× faster than exact timestamps.
    Participation on the churn day itself then no longer counts as "before" the churn. Pass
    None for exact times. Measured on the synthetic generator (12 seeds × 3,000 members): mean
    participation log-HR error −0.10 with days, −0.14 with hours; on the demo coef −0.472 (days)
    vs −0.518 (hours) vs −0.520 (exact), planted −0.511. The cross-seed error comes mostly from
    the generator (members never churn on the day they take part, a short immune window after
    participation that continuous-time estimation credits to participation), not from rounding.

    Returns
    -------
    DataFrame
        ``<id_col>, start, stop, <indicator>, <event_col>, *covariates``.

    Examples
    --------
    >>> df = pd.DataFrame({"member_id": [1, 2], "duration_days": [10.0, 5.0],
    ...                    "churned": [True, False], "days_to_first_participation": [4.0, None]})
    >>> time_varying_long(df)[["start", "stop", "participated", "churned"]].values.tolist()
    [[0.0, 4.0, 0, False], [4.0, 10.0, 1, True], [0.0, 5.0, 0, False]]
    """
    covariates = list(covariates)
    _require_columns(data, {"change_col": change_col, "id_col": id_col,
                            **{f"covariates[{i}]": c for i, c in enumerate(covariates)}})
    frame = _survival_frame(data, duration_col, event_col, None)
    dur = frame["duration"].to_numpy()
    dur = np.where(dur > 0, dur, _zero_duration_floor(dur))
    ev = frame["event"].to_numpy()
    change = pd.to_numeric(data[change_col], errors="coerce").to_numpy(dtype=float)
    change = np.where(change < 0, 0.0, change)
    if resolution_days is not None:
        if not (isinstance(resolution_days, (int, float)) and resolution_days > 0):
            raise ParameterError(f"resolution_days must be a positive number or None, got "
                                 f"{resolution_days!r}")
        dur = np.ceil(frame["duration"].to_numpy() / resolution_days) * resolution_days
        # never-active members (duration 0) just after 0, before every real churn time (and
        # before the tenure of any member who has acted, which keeps risk_list conditional
        # survival free of their mass)
        dur = np.where(dur > 0, dur, resolution_days / 1000)
        change = np.ceil(change / resolution_days) * resolution_days
    split = np.isfinite(change) & (change > 0) & (change < dur)
    from_start = np.isfinite(change) & (change <= 0)
    n = len(dur)
    row = np.concatenate([np.arange(n), np.flatnonzero(split)])
    first = np.concatenate([np.ones(n, bool), np.zeros(int(split.sum()), bool)])
    start = np.where(first, 0.0, change[row])
    stop = np.where(first & split[row], change[row], dur[row])
    ind = np.where(first, from_start[row], True).astype(np.int8)
    event = np.where(first & split[row], False, ev[row])
    order = np.lexsort((start, row))
    row, start, stop, ind, event = row[order], start[order], stop[order], ind[order], event[order]
    src = data.reset_index(drop=True)
    out = pd.DataFrame({id_col: src[id_col].to_numpy()[row], "start": start, "stop": stop,
                        indicator: ind, event_col: event})
    for c in covariates:
        out[c] = src[c].to_numpy()[row]
    return out


def time_varying_cox(long: pd.DataFrame, *, covariates: Sequence[str] = (),
                     indicator: str = "participated", event_col: str = "churned",
                     id_col: str = "member_id", baselines: dict | None = None,
                     penalizer: float = 0.0, alpha: float = config.ALPHA) -> CoxResult:
    """Cox model with a time-varying indicator (lifelines CoxTimeVaryingFitter).

    Parameters
    ----------
    long : DataFrame
        Output of :func:`time_varying_long`.
    covariates : sequence of str
        Time-fixed adjustment covariates (text → dummies, as in :func:`cox_model`).
    indicator, event_col, id_col : str
        Column names in ``long``.
    baselines, penalizer, alpha
        As in :func:`cox_model` (same retry with a ridge penalty on failure).

    Returns
    -------
    CoxResult
        Terms ``<indicator>`` and the adjustment dummies. Standard errors are model-based
        (CoxTimeVaryingFitter has no cluster-robust option).

    Examples
    --------
    >>> long = time_varying_long(ct, covariates=["channel"])                 # doctest: +SKIP
    >>> time_varying_cox(long, covariates=["channel"]).hazard_ratios         # doctest: +SKIP
    """
    from lifelines import CoxTimeVaryingFitter

    covariates = list(covariates)
    _check_alpha(alpha)
    _require_columns(long, {"indicator": indicator, "event_col": event_col, "id_col": id_col,
                            "long": "start", "long ": "stop",
                            **{f"covariates[{i}]": c for i, c in enumerate(covariates)}})
    X, info, baselines = _design(long.reset_index(drop=True), [indicator, *covariates], baselines)
    df = X.copy()
    df["_id"] = pd.factorize(long[id_col])[0]
    df["_start"], df["_stop"] = long["start"].to_numpy(), long["stop"].to_numpy()
    df["_E"] = long[event_col].astype(bool).to_numpy()

    def fit(pen):
        return CoxTimeVaryingFitter(penalizer=pen, alpha=alpha).fit(
            df, id_col="_id", event_col="_E", start_col="_start", stop_col="_stop",
            show_progress=False)

    fitter, pen, notes = _fit_with_retry(fit, X, df["_E"].to_numpy(), penalizer)
    return CoxResult(hazard_ratios=_tidy_summary(fitter, info, alpha), baselines=baselines,
                     n=int(df["_id"].nunique()), events=int(df["_E"].sum()),
                     concordance=float("nan"), penalizer=pen, robust=False, strata=(),
                     notes=tuple(notes), covariates=(indicator, *covariates), fitter=fitter,
                     training_data=df)


def landmark(data: pd.DataFrame, *, landmark_days: float,
             duration_col: str = "duration_days") -> pd.DataFrame:
    """Members still at risk at ``landmark_days``, with time re-measured from the landmark.

    The honest way to model early-engagement covariates (events in the first 7 days,
    participation in the first 14 days): members who churn inside the window stop acting
    *because* they leave, which makes "few early events" look deadly (reverse causation), and
    members who joined recently have incomplete windows. Keeping only members with
    ``duration > landmark_days`` (followed and not churned by then) removes both problems.

    Returns
    -------
    DataFrame
        The rows of ``data`` with ``duration > landmark_days``; ``duration_col`` is reduced by
        ``landmark_days`` and ``landmark_days`` is added as a column.

    Examples
    --------
    >>> df = pd.DataFrame({"duration_days": [3.0, 10.0, 30.0], "churned": [1, 1, 0]})
    >>> landmark(df, landmark_days=7)["duration_days"].tolist()
    [3.0, 23.0]
    """
    if not (isinstance(landmark_days, (int, float, np.number)) and landmark_days >= 0):
        raise ParameterError(f"landmark_days must be a number of days >= 0, got {landmark_days!r}")
    _require_columns(data, {"duration_col": duration_col})
    out = data.loc[data[duration_col] > landmark_days].copy()
    out[duration_col] = out[duration_col] - landmark_days
    out["landmark_days"] = float(landmark_days)
    return out.reset_index(drop=True)


def participation_effects(data: pd.DataFrame, *, adjust_for: Sequence[str] = ("channel",),
                          baselines: dict | None = None, landmark_days: int = 14,
                          truth_hr: float | None = None,
                          alpha: float = config.ALPHA) -> pd.DataFrame:
    """The activity-participation hazard ratio estimated four ways, to show immortal-time bias.

    - **naive static**: ``took part ever during follow-up`` as a fixed covariate. Biased
      towards benefit: a member must survive until they take part, and that survival time is
      credited to the "took part" group (immortal time).
    - **landmark**: participation within the first ``landmark_days`` days, among members still
      at risk then, time from the landmark (unbiased for that question; later participation
      ignored, so diluted towards 1).
    - **time-varying**: the indicator switches on at the first participation (correct).
    each unadjusted and adjusted for ``adjust_for`` (participation is confounded by
    acquisition channel in practice).

    Returns
    -------
    DataFrame
        ``model, adjusted, hazard_ratio, ci_low, ci_high, p_value, label, truth,
        covers_truth`` (``label`` = model name with "(adjusted)", for plots)
        (``truth``/``covers_truth`` NaN unless ``truth_hr`` is given, e.g. from
        ``truth.json``).
    """
    adjust_for = list(adjust_for)
    _require_columns(data, {"data": "days_to_first_participation", "data ": "duration_days",
                            **{f"adjust_for[{i}]": c for i, c in enumerate(adjust_for)}})
    d = data.copy()
    d["took_part_ever"] = d["days_to_first_participation"] < d["duration_days"]
    lm = landmark(d, landmark_days=landmark_days)
    lm["took_part_by_landmark"] = lm["days_to_first_participation"] < landmark_days
    long = time_varying_long(d, covariates=adjust_for)
    rows = []
    for adjusted in (False, True):
        adj = adjust_for if adjusted else []
        specs = [("naive static (ever took part)", "took_part_ever", d, None),
                 (f"landmark at day {landmark_days}", "took_part_by_landmark", lm, None),
                 ("time-varying", "participated", long, "tv")]
        for model, col, frame, kind in specs:
            if kind == "tv":
                res = time_varying_cox(frame, covariates=adj, baselines=baselines, alpha=alpha)
            else:
                res = cox_model(frame, covariates=[col, *adj], baselines=baselines, alpha=alpha)
            r = res.hazard_ratios.set_index("term").loc[col]
            rows.append((model, adjusted, r["hazard_ratio"], r["ci_low"], r["ci_high"],
                         r["p_value"]))
    out = pd.DataFrame(rows, columns=["model", "adjusted", "hazard_ratio", "ci_low", "ci_high",
                                      "p_value"])
    out["label"] = out["model"] + np.where(out["adjusted"], " (adjusted)", "")
    out["truth"] = np.nan if truth_hr is None else float(truth_hr)
    out["covers_truth"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"]) \
        if truth_hr is not None else np.nan
    return out


def truth_table(result: CoxResult, truth: dict, *, segment_col: str = "channel",
                indicator: str = "participated") -> pd.DataFrame:
    """Planted hazard ratios of a synthetic dataset next to the estimates of ``result``.

    ``truth`` is ``synth.load_truth(...)``; its channel HRs are relative to its own baseline
    channel and are re-based here to the model's baseline, so any baseline can be used.

    Returns
    -------
    DataFrame
        ``term, hazard_ratio, ci_low, ci_high, truth, covers_truth`` for the channel dummies
        and the participation indicator found in ``result``.
    """
    hr = result.hazard_ratios.set_index("term")
    rows = []
    channels = {c: v["churn_hazard_ratio"] for c, v in truth.get("channels", {}).items()}
    base = result.baselines.get(segment_col)
    if base in channels:
        for c, v in channels.items():
            term = f"{segment_col}[{c}]"
            if term in hr.index:
                rows.append((term, v / channels[base]))
    if indicator in hr.index and "participation_hazard_ratio" in truth:
        rows.append((indicator, truth["participation_hazard_ratio"]))
    out = pd.DataFrame(rows, columns=["term", "truth"])
    out = hr.loc[out["term"], ["hazard_ratio", "ci_low", "ci_high"]].reset_index().assign(
        truth=out["truth"].to_numpy())
    out["covers_truth"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out


# ----------------------------------------------------------------------------- risk list
SALT_ENV = "HELPERS_ID_SALT"


def id_salt() -> str:
    """The secret salt for pseudonyms: ``$HELPERS_ID_SALT``, else a random per-workspace salt.

    The workspace salt is created once (``data/.id_salt``, git-ignored) so pseudonyms stay stable
    from one report to the next on this machine, but it is never published: member ids are
    often sequential numbers, and a public salt would let anyone hash every id and reverse them.
    """
    if os.environ.get(SALT_ENV):
        return os.environ[SALT_ENV]
    path = config.DATA_DIR / ".id_salt"
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_text(secrets.token_hex(16), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def pseudonymise(ids, *, salt: str | None = None, length: int = 12) -> pd.Series:
    """Stable pseudonyms for member ids: ``"m_" + sha256(salt + id)[:length]``.

    The same id and salt always give the same pseudonym (reports can be compared over time),
    and the id cannot be read back without the salt. Set a secret salt in the environment
    variable ``HELPERS_ID_SALT`` to share pseudonyms across machines; otherwise a random secret
    salt of this workspace is used (:func:`id_salt`).
    ``7`` and ``"7"`` give the same pseudonym (ids are hashed as text).

    Returns
    -------
    Series of str
        Pseudonyms in the order of ``ids``.

    Examples
    --------
    >>> pseudonymise([100001, "100001"], salt="s").nunique()
    1
    """
    if salt is None:
        salt = id_salt()
    if not (isinstance(length, int) and 6 <= length <= 64):
        raise ParameterError(f"length must be an integer between 6 and 64, got {length!r}")
    values = pd.Series(ids).astype(str)
    prefix = salt.encode("utf-8")
    return pd.Series(["m_" + hashlib.sha256(prefix + v.encode("utf-8")).hexdigest()[:length]
                      for v in values], index=values.index, dtype=object)


def _cumulative_baseline(fitter, t: np.ndarray) -> np.ndarray:
    """Breslow cumulative baseline hazard of a lifelines Cox fitter, as a step function at t."""
    h0 = fitter.baseline_cumulative_hazard_
    if h0.shape[1] != 1:
        raise ParameterError("risk_list needs a model without strata (one baseline hazard)")
    times, values = h0.index.to_numpy(dtype=float), h0.iloc[:, 0].to_numpy()
    i = np.searchsorted(times, t, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], 0.0)


def risk_list(data: pd.DataFrame, model: CoxResult, *, horizon_days: float = 30,
              active_within_days: float = 7, indicator: str = "participated",
              top: int | None = 50, salt: str | None = None) -> pd.DataFrame:
    """Currently active members ranked by predicted probability of churning in the next days.

    P(churn in (t, t + h] | still here at t) = 1 − S(t + h | x) / S(t | x)
    = 1 − exp(−[H0(t + h) − H0(t)] · exp((x − x̄)'β)), with t the member's current tenure,
    H0 the model's Breslow cumulative baseline hazard and x the member's covariates *now* (for
    a time-varying model: whether they have taken part in an activity by now). Beyond the
    last churn time the model has seen H0 is flat (censored follow-up goes on longer, but adds
    no hazard), so risks whose window reaches past it are lower bounds (flag
    ``beyond_follow_up``), and NaN (listed last) once the tenure itself is past it.

    Parameters
    ----------
    data : DataFrame
        :func:`churn_table` output (needs ``member_id, joined_at, last_active_at, churned,
        duration_days, days_to_first_participation`` and the model's covariates).
    model : CoxResult
        From :func:`time_varying_cox` (indicator = participation so far) or :func:`cox_model`
        (static covariates), fitted without strata.
    horizon_days : float
        Prediction window h.
    active_within_days : float
        "Currently active": not churned and last active within this many days of the end.
    indicator : str
        Name of the time-varying participation term in ``model`` (if any).
    top : int, optional
        Keep the ``top`` highest risks (None = all).
    salt : str, optional
        Salt for :func:`pseudonymise`.

    Returns
    -------
    DataFrame
        ``member_key, churn_risk, tenure_days, days_since_last_active, <covariates…>,
        relative_hazard, main_driver, beyond_follow_up`` sorted by ``churn_risk`` (highest
        first). ``member_key`` is the pseudonymised id (raw ids never appear);
        ``relative_hazard`` is exp(x'β) against a member with every baseline level;
        ``main_driver`` is the term that raises the hazard most (empty if none does).
    """
    if not (isinstance(horizon_days, (int, float)) and horizon_days > 0):
        raise ParameterError(
            f"horizon_days must be a positive number of days, got {horizon_days!r}")
    needed = ["member_id", "joined_at", "last_active_at", "churned", "duration_days",
              "observed_days"]
    _require_columns(data, {f"data[{c}]": c for c in needed})
    fitter = model.fitter
    days_since = data["observed_days"] - (
        data["last_active_at"] - data["joined_at"]).dt.total_seconds() / 86400
    now = data.loc[~data["churned"].astype(bool) & (days_since <= active_within_days)].copy()
    now["days_since_last_active"] = days_since[now.index]
    if now.empty:
        return pd.DataFrame(columns=["member_key", "churn_risk", "tenure_days",
                                     "days_since_last_active", "relative_hazard",
                                     "main_driver", "beyond_follow_up"])
    tenure = now["duration_days"].to_numpy(dtype=float)
    static = [c for c in model.covariates if c != indicator]
    if indicator in model.covariates:
        _require_columns(data, {"data[days_to_first_participation]":
                                "days_to_first_participation"})
        now[indicator] = (now["days_to_first_participation"] < tenure).astype(np.int8)
    _require_columns(now, {f"model covariate {c}": c for c in model.covariates})
    X, info, _ = _design(now.reset_index(drop=True), list(model.covariates), model.baselines)
    params = fitter.params_
    X = X.reindex(columns=params.index, fill_value=0.0)
    ph = np.asarray(fitter.predict_partial_hazard(X), dtype=float)
    h0 = _cumulative_baseline(fitter, tenure + horizon_days) - _cumulative_baseline(fitter, tenure)
    risk = -np.expm1(-h0 * ph)
    contrib = X.to_numpy() * params.to_numpy()
    best = contrib.argmax(axis=1)
    driver = np.where(contrib.max(axis=1) > 0,
                      [f"{params.index[j]} (HR {np.exp(params.iloc[j]):.2f})" for j in best], "")
    # last churn time seen: where H0 last increases (CoxPHFitter's H0 also has a knot at every
    # censoring time, so its index runs past the last event)
    h0_all = fitter.baseline_cumulative_hazard_.iloc[:, 0]
    rises = np.flatnonzero(np.diff(np.r_[0.0, h0_all.to_numpy(dtype=float)]) > 0)
    max_t = float(h0_all.index[rises[-1]]) if rises.size else 0.0
    out = pd.DataFrame({"member_key": pseudonymise(now["member_id"], salt=salt).to_numpy(),
                        "churn_risk": risk, "tenure_days": tenure,
                        "days_since_last_active": now["days_since_last_active"].to_numpy()})
    for c in static + ([indicator] if indicator in model.covariates else []):
        out[c] = now[c].to_numpy()
    out["relative_hazard"] = np.exp(contrib.sum(axis=1))
    out["main_driver"] = driver
    out["beyond_follow_up"] = tenure + horizon_days > max_t
    out.loc[tenure >= max_t, "churn_risk"] = np.nan  # no churn ever seen at such tenure
    out = out.sort_values("churn_risk", ascending=False, kind="stable").reset_index(drop=True)
    return out if top is None else out.head(int(top))


# ----------------------------------------------------------------------------- summary
def _fmt_ci(est, lo, hi, digits=0, unit=""):
    def f(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "n/a"
        if np.isinf(v):
            return "not reached"
        return f"{v:.{digits}f}{unit}"
    return f"{f(est)} (95% CI {f(lo)}–{f(hi)})"


def summary_markdown(churn: pd.DataFrame, *, overall: pd.DataFrame, rmst: pd.DataFrame,
                     logrank: LogrankResult, cox: CoxResult,
                     participation: pd.DataFrame | None = None,
                     risk: pd.DataFrame | None = None, ph: pd.DataFrame | None = None,
                     stratified: CoxResult | None = None, segment_col: str = "channel",
                     inactivity_days: float = 30, risk_horizon_days: float = 30,
                     horizon_days: float = config.HORIZON_DAYS,
                     alpha: float = config.ALPHA) -> str:
    """Executive summary of the churn notebook, written from computed values.

    Parameters
    ----------
    churn : DataFrame
        :func:`churn_table` output.
    overall : DataFrame
        :func:`survival_summary` of all members (``group == "all"``).
    rmst : DataFrame
        :func:`rmst_difference` by segment.
    logrank : LogrankResult
        By segment.
    cox : CoxResult
        The adjusted model whose hazard ratios are reported.
    participation : DataFrame, optional
        :func:`participation_effects`.
    risk : DataFrame, optional
        :func:`risk_list` (all currently active members, or the top of it).
    ph : DataFrame, optional
        :func:`ph_check` of ``cox`` (violations are listed as caveats).
    stratified : CoxResult, optional
        :func:`stratify_violations` refit, when there is one.

    Returns
    -------
    str
        Markdown: a heading and bullet points (numbers, the decision-relevant findings,
        caveats).

    Examples
    --------
    >>> md = summary_markdown(ct, overall=s, rmst=d, logrank=lr, cox=res)   # doctest: +SKIP
    """
    n = len(churn)
    churned = int(churn["churned"].sum())
    reasons = churn["churn_reason"].value_counts()
    lines = ["## Executive summary", ""]
    lines.append(
        f"- **{n:,} members**, {churned:,} churned ({churned / n:.0%}): "
        f"{int(reasons.get('exit', 0)):,} left explicitly, {int(reasons.get('inactivity', 0)):,} "
        f"went silent for ≥ {inactivity_days:g} days; {n - churned:,} are still followed "
        f"(censored: active recently, so we do not know yet when they will leave).")
    med = overall[overall["quantity"] == "median_days"].iloc[0]
    median = _fmt_ci(med["estimate"], med["ci_low"], med["ci_high"], 0, " days")
    lines.append(f"- **Median time to churn**: {median}.")
    surv = overall[overall["quantity"] == "survival"].dropna(subset=["estimate"])
    if not surv.empty:
        parts = [f"day {t:g}: {e:.0%} ({lo:.0%}–{hi:.0%})" for t, e, lo, hi in
                 surv[["time", "estimate", "ci_low", "ci_high"]].itertuples(index=False)]
        lines.append("- **Still here** " + "; ".join(parts) + ".")
    if not rmst.empty:
        best = rmst.loc[rmst["difference"].idxmax()]
        worst = rmst.loc[rmst["difference"].idxmin()]
        ref = best["reference"]
        lines.append(
            f"- **By {segment_col}** (RMST, restricted mean survival time: the average number "
            f"of days a member stays within the first {horizon_days:g}): reference "
            f"{ref} {best['rmst_reference']:.1f} d; best {best['group']} "
            f"{best['difference']:+.1f} d (CI {best['ci_low']:+.1f} to {best['ci_high']:+.1f}), "
            f"worst {worst['group']} {worst['difference']:+.1f} d (CI {worst['ci_low']:+.1f} to "
            f"{worst['ci_high']:+.1f}). Log-rank test (do the segments' survival curves differ at "
            f"all?): χ² = {logrank.statistic:.1f} "
            f"on {logrank.df} df, p = {logrank.p_value:.2g}; "
            f"{int(logrank.pairwise['significant'].sum())} of {len(logrank.pairwise)} pairs differ "
            f"after {logrank.method.title()} correction.")
    hr = cox.hazard_ratios
    sig = hr[(hr["ci_low"] > 1) | (hr["ci_high"] < 1)]
    if not sig.empty:
        up = sig.loc[sig["hazard_ratio"].idxmax()]
        down = sig.loc[sig["hazard_ratio"].idxmin()]
        items = []
        if up["hazard_ratio"] > 1:
            hr_up = _fmt_ci(up["hazard_ratio"], up["ci_low"], up["ci_high"], 2)
            items.append(f"highest risk {up['term']} HR {hr_up}")
        if down["hazard_ratio"] < 1:
            hr_down = _fmt_ci(down["hazard_ratio"], down["ci_low"], down["ci_high"], 2)
            items.append(f"most protective {down['term']} HR {hr_down}")
        base = ", ".join(f"{k} = {v}" for k, v in cox.baselines.items())
        lines.append(f"- **Cox model** (hazard ratio, HR: the risk of leaving at any moment "
                     f"relative to the baseline {base or 'none'}, other covariates held equal; "
                     f"HR 0.5 = half the risk, 2 = double): " + "; ".join(items) + ".")
    else:
        lines.append("- **Cox model**: no covariate has a hazard ratio clearly different from 1.")
    if participation is not None and not participation.empty:
        tv = participation[(participation["model"] == "time-varying") & participation["adjusted"]]
        nv = participation[participation["model"].str.startswith("naive")
                           & participation["adjusted"]]
        if not tv.empty and not nv.empty:
            tv, nv = tv.iloc[0], nv.iloc[0]
            truth = "" if pd.isna(tv["truth"]) else f" (planted truth {tv['truth']:.2f})"
            verb = ("lowers" if tv["ci_high"] < 1 else "raises" if tv["ci_low"] > 1
                    else "has no clear effect on")
            lines.append(
                f"- **Taking part in an activity** {verb} the churn hazard: HR "
                f"{_fmt_ci(tv['hazard_ratio'], tv['ci_low'], tv['ci_high'], 2)} when counted from "
                f"the day members take part{truth}. The naive 'ever took part' comparison says "
                f"{nv['hazard_ratio']:.2f}: it is biased towards a benefit (immortal time).")
    if risk is not None and not risk.empty:
        high = int((risk["churn_risk"] >= 0.3).sum())
        drivers = risk.loc[risk["main_driver"] != "", "main_driver"]
        top_driver = drivers.mode().iloc[0] if len(drivers) else "none"
        lines.append(
            f"- **Risk list**: {len(risk):,} currently active members scored; median risk of "
            f"churning in the next {risk_horizon_days:g} days "
            f"{risk['churn_risk'].median():.0%}, {high:,} at ≥ 30%. "
            f"Top driver: {top_driver}.")
    caveats = [*cox.notes]
    if ph is not None and ph["violated"].any():
        remedy = (f"a model stratified on {', '.join(stratified.strata)} is shown below"
                  if stratified is not None else "read those hazard ratios as averages over time")
        caveats.append("proportional hazards doubtful for "
                       + ", ".join(ph.loc[ph["violated"], "term"]) + f" (see the PH table; "
                       f"{remedy})")
    if caveats:
        lines.append("- **Caveats**: " + "; ".join(caveats) + ".")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class ChurnReport:
    """Everything the churn notebook shows, computed by :func:`churn_report`.

    Attributes are tidy DataFrames or results of this module; ``summary`` is the executive
    summary in Markdown; ``notes`` lists analyses skipped and why (e.g. no activity data).
    """

    churn: pd.DataFrame = field(repr=False)
    km: pd.DataFrame = field(repr=False)
    at_risk: pd.DataFrame = field(repr=False)
    overall: pd.DataFrame = field(repr=False)
    by_segment: pd.DataFrame = field(repr=False)
    rmst: pd.DataFrame = field(repr=False)
    logrank: LogrankResult = field(repr=False)
    cox: CoxResult = field(repr=False)
    ph: pd.DataFrame = field(repr=False)
    cox_stratified: CoxResult | None = field(repr=False)
    landmark_model: CoxResult | None = field(repr=False)
    participation: pd.DataFrame | None = field(repr=False)
    time_varying: CoxResult | None = field(repr=False)
    truth: pd.DataFrame | None = field(repr=False)
    risk: pd.DataFrame = field(repr=False)
    summary: str = ""
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The adjusted Cox hazard ratios (the headline table)."""
        return self.cox.to_frame()


def planted_truth(dataset) -> dict | None:
    """``truth.json`` of a synthetic dataset (name or folder), or None for real data."""
    path = config.dataset_dir(dataset) / "truth.json"
    if not path.exists():
        return None
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def churn_report(members: pd.DataFrame, events: pd.DataFrame, *,
                 inactivity_days: float = config.INACTIVITY_DAYS, observed_until=None,
                 active_types: Sequence[str] | None = None, segment_col: str = "channel",
                 reference_segment=None, covariates: Sequence[str] = ("channel", "referred"),
                 cluster_col: str | None = "group_id",
                 horizon_days: float = config.HORIZON_DAYS,
                 survival_days: Sequence[float] = (30, 90, 180), at_risk_every: float = 30,
                 early_landmark_days: int = 7, risk_horizon_days: float = 30,
                 risk_top: int | None = None, truth: dict | None = None,
                 cox_resolution_days: float | None = 1 / 24,
                 alpha: float = config.ALPHA) -> ChurnReport:
    """Run the whole churn analysis of the ``02_churn_survival`` notebook.

    Steps: :func:`churn_table` → KM by segment (:func:`km_table`, :func:`at_risk_table`,
    :func:`survival_summary`) → RMST differences vs the reference segment → log-rank tests →
    Cox model on ``covariates`` with cluster-robust SEs → PH check and stratified refit if
    needed → early-engagement landmark model → participation effects (naive, landmark,
    time-varying) → planted truth (synthetic data) → risk list from the time-varying model.
    Parts that the data cannot support (no activity participation, one segment…) are skipped
    and listed in ``notes``.

    Parameters
    ----------
    members, events : DataFrame
        Tables of a Community.
    segment_col : str
        Column of the churn table to compare segments on (channel, group_id, platform…).
    reference_segment : optional
        Reference level for RMST differences and the Cox baseline (default: largest segment).
    covariates : sequence of str
        Cox covariates (columns of the churn table).
    cluster_col : str, optional
        Cluster-robust SEs by this column (skipped if absent).
    truth : dict, optional
        ``truth.json`` of a synthetic dataset (:func:`planted_truth`).
    cox_resolution_days : float, optional
        Durations rounded up to this unit for the Cox fits (default: hours; None = exact), which
        keeps a million-member report interactive (see :func:`cox_model`).
    Other parameters are passed to the steps of the same name.

    Returns
    -------
    ChurnReport
    """
    notes = []
    ct = churn_table(members, events, inactivity_days=inactivity_days,
                     observed_until=observed_until, active_types=active_types)
    _require_columns(ct, {"segment_col": segment_col,
                          **{f"covariates[{i}]": c for i, c in enumerate(covariates)}})
    if cluster_col is not None and cluster_col not in ct.columns:
        notes.append(f"cluster column {cluster_col!r} not found: model-based standard errors")
        cluster_col = None
    sizes = ct[segment_col].astype(str).value_counts()
    if reference_segment in (None, ""):
        reference_segment = sizes.index[0]
    elif str(reference_segment) not in sizes.index:
        raise ParameterError(f"reference_segment={reference_segment!r} is not a value of "
                             f"{segment_col!r}; allowed values: {sorted(sizes.index)}")
    reference_segment = str(reference_segment)
    seg = ct.assign(**{segment_col: ct[segment_col].astype(str)})
    km = km_table(seg, group_col=segment_col, alpha=alpha)
    last = float(np.ceil(seg["duration_days"].max()))
    at_risk = at_risk_table(km, times=np.arange(0, last + 1e-9, at_risk_every))
    overall = survival_summary(seg, times=survival_days, alpha=alpha)
    by_segment = survival_summary(seg, group_col=segment_col, times=survival_days, alpha=alpha)
    if len(sizes) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            rmst = rmst_difference(seg, group_col=segment_col, horizon_days=horizon_days,
                                   reference=reference_segment, alpha=alpha)
        logrank = logrank_tests(seg, group_col=segment_col, alpha=alpha)
    else:
        notes.append(f"only one {segment_col}: no segment comparison")
        rmst = pd.DataFrame(columns=["group", "reference", "horizon_days", "rmst",
                                     "rmst_reference", "difference", "se", "ci_low",
                                     "ci_high", "p_value"])
        logrank = LogrankResult(np.nan, 0, np.nan, pd.DataFrame(
            columns=["group_a", "group_b", "statistic", "p_value", "p_adjusted", "significant"]))
    covariates = [c for c in covariates if seg[c].nunique() > 1]
    baselines = {segment_col: reference_segment} if segment_col in covariates else {}
    cox = cox_model(seg, covariates=covariates, baselines=baselines, cluster_col=cluster_col,
                    resolution_days=cox_resolution_days, alpha=alpha)
    ph = ph_check(cox, alpha=alpha)
    strat = stratify_violations(cox, seg, ph, cluster_col=cluster_col, alpha=alpha)
    cox_stratified = None if strat is cox else strat
    early_col = "early_events_7d"
    lm = landmark(seg, landmark_days=early_landmark_days)
    landmark_model = None
    if lm["churned"].sum() >= 10 and lm[early_col].nunique() > 1:
        landmark_model = cox_model(lm, covariates=[early_col, *covariates], baselines=baselines,
                                   cluster_col=cluster_col, resolution_days=cox_resolution_days,
                                   alpha=alpha)
    else:
        notes.append(f"too few members/churns after day {early_landmark_days} for the "
                     "early-engagement landmark model")
    participation = tv = truth_tab = None
    took_part = np.isfinite(seg["days_to_first_participation"])
    adjust = [c for c in covariates if c != "participated"]
    if took_part.sum() >= 10 and (~took_part).sum() >= 10:
        participation = participation_effects(
            seg, adjust_for=adjust, baselines=baselines, alpha=alpha,
            truth_hr=None if truth is None else truth.get("participation_hazard_ratio"))
        tv = time_varying_cox(time_varying_long(seg, covariates=adjust), covariates=adjust,
                              baselines=baselines, alpha=alpha)
        risk_model = tv
    else:
        notes.append("too few members took part in an activity (activity_join events) to "
                     "model participation; the risk list uses the static Cox model")
        risk_model = cox
    if truth is not None:
        truth_tab = truth_table(tv if tv is not None else cox, truth, segment_col=segment_col)
    risk = risk_list(seg, risk_model, horizon_days=risk_horizon_days, top=risk_top)
    summary = summary_markdown(ct, overall=overall, rmst=rmst, logrank=logrank, cox=cox,
                               participation=participation, risk=risk, ph=ph,
                               stratified=cox_stratified, segment_col=segment_col,
                               inactivity_days=inactivity_days,
                               risk_horizon_days=risk_horizon_days,
                               horizon_days=horizon_days, alpha=alpha)
    if notes:
        summary += "- **Skipped**: " + "; ".join(notes) + ".\n"
    return ChurnReport(churn=ct, km=km, at_risk=at_risk, overall=overall, by_segment=by_segment,
                       rmst=rmst, logrank=logrank, cox=cox, ph=ph,
                       cox_stratified=cox_stratified, landmark_model=landmark_model,
                       participation=participation, time_varying=tv, truth=truth_tab, risk=risk,
                       summary=summary, notes=tuple(notes))
