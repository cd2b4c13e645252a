"""Kaplan–Meier curves, survival at given days, members at risk, and RMST (with differences).

Kaplan–Meier and medians come from lifelines (exponential Greenwood band); the RMST and its
Greenwood-type variance (Klein & Moeschberger 2003, §4.5, as R's survRM2) are computed here and
checked against R's published numbers, a bootstrap and closed forms in ``tests/test_survival.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from .._checks import check_alpha
from ..errors import AnalysisWarning, ParameterError
from ._common import check_columns, group_order, survival_frame

__all__ = ["km_table", "rmst_table", "rmst_difference", "survival_summary", "at_risk_table"]


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

    check_alpha(alpha)
    frame = survival_frame(data, duration_col, event_col, group_col)
    blocks = []
    for g in group_order(frame["group"]):
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
    check_alpha(alpha)
    if not (isinstance(horizon_days, (int, float, np.number)) and horizon_days > 0):
        raise ParameterError(
            f"horizon_days must be a positive number of days, got {horizon_days!r}")
    frame = survival_frame(data, duration_col, event_col, group_col)
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for g in group_order(frame["group"]):
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

    check_alpha(alpha)
    frame = survival_frame(data, duration_col, event_col, group_col)
    km = km_table(data, duration_col=duration_col, event_col=event_col, group_col=group_col,
                  alpha=alpha)
    rows = []
    for g in group_order(frame["group"]):
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
    check_columns(km, {"km": "group", "km ": "timeline", "km  ": "at_risk"})
    rows = []
    for g, curve in km.groupby("group", sort=False, observed=True):
        n0 = int(curve["at_risk"].iloc[0])
        for t in times:
            before = curve[curve["timeline"] < t]
            ev, cens = int(before["events"].sum()), int(before["censored"].sum())
            rows.append((g, float(t), n0 - ev - cens, ev, cens))
    return pd.DataFrame(rows, columns=["group", "time", "at_risk", "events_before",
                                       "censored_before"])

