"""The churn-risk list: currently active members ranked by their predicted risk of churning in
the next days, from a fitted Cox model, with pseudonymised ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
                                     "days_since_last_active", "relative_hazard",
                                     "main_driver", "beyond_follow_up"])
    tenure = now["duration_days"].to_numpy(dtype=float)
    static = [c for c in model.covariates if c != indicator]
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

