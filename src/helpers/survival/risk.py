"""The churn-risk list: currently active members ranked by their predicted risk of churning in
the next days, from a fitted Cox model, with pseudonymised ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import config
from .._checks import check_alpha
from .._time import DAY_SECONDS
from ..errors import ParameterError
from ..pseudonym import pseudonymise
from ._common import check_columns
from ._design import design_matrix
from .cox import CoxResult

__all__ = ["risk_list"]


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
              delayed: dict[str, float] | None = None, top: int | None = 50,
              salt: str | None = None, alpha: float = config.ALPHA,
              min_driver_factor: float = 1.1) -> pd.DataFrame:
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
        :func:`churn_table` output with ``censoring="end"`` (members as they are at the end of
        observation; the default table follows members only until churn is detectable, so it
        cannot say who is here now) (needs ``member_id, joined_at, last_active_at, churned,
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
    delayed : dict, optional
        Covariates the model used from a day of tenure on (:func:`time_varying_long`'s
        ``delayed``, e.g. ``{"early_events_7d": 7}``): 0 for members younger than that.
    top : int, optional
        Keep the ``top`` highest risks (None = all).
    salt : str, optional
        Salt for :func:`pseudonymise`.
    alpha : float
        Only covariates with at least one term significant at ``alpha`` can be drivers.
    min_driver_factor : float
        A driver must raise the member's hazard over the window by at least this factor
        relative to the average scored member.

    Drivers
    -------
    The member's expected churn over the window is ΔH0(t) · exp(x'β). Relative to the *average*
    scored member (not to an arbitrary baseline level), its logarithm splits into one part per
    covariate, Σ_k∈c β_k (x_k − x̄_k) over the covariate's significant terms (x̄: the mean over
    the members scored), and a **tenure** part, log ΔH0(t) − mean log ΔH0 (new members are at a
    higher baseline risk). ``drivers`` lists the parts that raise the member's risk by at least
    ``min_driver_factor``, largest first; a member of the baseline channel can have a channel
    driver too (when the baseline channel is riskier than average).

    Returns
    -------
    DataFrame
        ``member_key, churn_risk, tenure_days, days_since_last_active, <covariates…>,
        relative_hazard, drivers, driver_factors, main_driver, beyond_follow_up`` sorted by
        ``churn_risk`` (highest first). ``member_key`` is the pseudonymised id (raw ids never
        appear); ``relative_hazard`` is exp((x − x̄)'β) against the average scored member;
        ``drivers`` a tuple of covariate names (``"tenure"`` for tenure), ``driver_factors``
        the factor each multiplies the risk by; ``main_driver`` the first driver ("" if none).
    """
    check_alpha(alpha)
    if not (isinstance(horizon_days, (int, float)) and horizon_days > 0):
        raise ParameterError(
            f"horizon_days must be a positive number of days, got {horizon_days!r}")
    if data.attrs.get("censoring") == "detectable":
        raise ParameterError("risk_list scores the members as they are at the end of observation: "
                             "pass churn_table(..., censoring='end') (the model may be fitted on "
                             "the default table)")
    needed = ["member_id", "joined_at", "last_active_at", "churned", "duration_days",
              "observed_days"]
    check_columns(data, {f"data[{c}]": c for c in needed})
    fitter = model.fitter
    days_since = data["observed_days"] - (
        data["last_active_at"] - data["joined_at"]).dt.total_seconds() / DAY_SECONDS
    now = data.loc[~data["churned"].astype(bool) & (days_since <= active_within_days)].copy()
    now["days_since_last_active"] = days_since[now.index]
    if now.empty:
        return pd.DataFrame(columns=["member_key", "churn_risk", "tenure_days",
                                     "days_since_last_active", "relative_hazard", "drivers",
                                     "driver_factors", "main_driver", "beyond_follow_up"])
    tenure = now["duration_days"].to_numpy(dtype=float)
    delayed = dict(delayed or {})
    static = [c for c in model.covariates if c != indicator and c not in delayed]
    for c, day in delayed.items():
        if c in model.covariates:
            now[c] = np.where(tenure >= day, pd.to_numeric(now[c], errors="coerce"), 0.0)
    if indicator in model.covariates:
        check_columns(data, {"data[days_to_first_participation]":
                             "days_to_first_participation"})
        now[indicator] = (now["days_to_first_participation"] < tenure).astype(np.int8)
    check_columns(now, {f"model covariate {c}": c for c in model.covariates})
    X, info, _ = design_matrix(now.reset_index(drop=True), list(model.covariates), model.baselines)
    params = fitter.params_
    X = X.reindex(columns=params.index, fill_value=0.0)
    ph = np.asarray(fitter.predict_partial_hazard(X), dtype=float)
    h0 = _cumulative_baseline(fitter, tenure + horizon_days) - _cumulative_baseline(fitter, tenure)
    risk = -np.expm1(-h0 * ph)
    drivers, factors, rel = _drivers(X, params, model, h0, alpha=alpha,
                                     min_factor=min_driver_factor)
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
    out["relative_hazard"] = rel
    out["drivers"] = drivers
    out["driver_factors"] = factors
    out["main_driver"] = [d[0] if d else "" for d in drivers]
    out["beyond_follow_up"] = tenure + horizon_days > max_t
    out.loc[tenure >= max_t, "churn_risk"] = np.nan  # no churn ever seen at such tenure
    out = out.sort_values("churn_risk", ascending=False, kind="stable").reset_index(drop=True)
    return out if top is None else out.head(int(top))



def _drivers(X: pd.DataFrame, params: pd.Series, model: CoxResult, h0: np.ndarray, *,
             alpha: float, min_factor: float):
    """Per member: covariates (and tenure) raising the risk vs the average member, largest first."""
    hr = model.hazard_ratios.set_index("term")
    sig = hr["p_value"].reindex(params.index).fillna(1.0).to_numpy() < alpha
    cov_of = hr["covariate"].reindex(params.index).fillna(pd.Series(params.index,
                                                                    index=params.index))
    centred = (X.to_numpy() - X.to_numpy().mean(axis=0)) * params.to_numpy()
    rel = np.exp(centred.sum(axis=1))
    parts, names = [], []
    for c in dict.fromkeys(cov_of):
        cols = (cov_of.to_numpy() == c) & sig
        if cols.any():
            parts.append(centred[:, cols].sum(axis=1))
            names.append(str(c))
    with np.errstate(divide="ignore"):
        log_h0 = np.log(h0)
    ok = np.isfinite(log_h0)
    if ok.sum() > 1:
        parts.append(np.where(ok, log_h0 - log_h0[ok].mean(), -np.inf))
        names.append("tenure")
    drivers, factors = [], []
    if not parts:
        return [()] * len(X), [()] * len(X), rel
    P = np.column_stack(parts)
    order = np.argsort(-P, axis=1)
    for i in range(len(X)):
        keep = [j for j in order[i] if P[i, j] >= np.log(min_factor)]
        drivers.append(tuple(names[j] for j in keep))
        factors.append(tuple(float(np.exp(P[i, j])) for j in keep))
    return drivers, factors, rel
