"""The survival outcome of an experiment: Kaplan–Meier per arm and the RMST difference."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..data import Community
from ..errors import ParameterError
from .metrics import experiment_population, experiment_row

__all__ = ["ArmSurvival", "survival_by_arm"]


# ----------------------------------------------------------------------------- survival by arm
@dataclass(frozen=True)
class ArmSurvival:
    """Survival outcome of an experiment: ``data`` (one row per member: ``member_id, arm,
    group_id, duration_days, churned``), ``km`` (:func:`helpers.survival.km_table` by arm),
    ``rmst`` (:func:`helpers.survival.rmst_difference` vs control), the horizon used and
    warnings."""

    data: pd.DataFrame
    km: pd.DataFrame
    rmst: pd.DataFrame
    horizon_days: float
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.rmst.copy()


def survival_by_arm(community: Community, experiment_id: str, *,
                    horizon_days: float = config.HORIZON_DAYS,
                    inactivity_days: float = config.INACTIVITY_DAYS,
                    alpha: float = config.ALPHA, n_bootstrap: int = 300, seed: int = 0,
                    on_error: str = "raise") -> ArmSurvival:
    """Kaplan–Meier curves per arm and the RMST difference (treatment − control) at a horizon.

    Time origin: ``starts_at`` (or the join time of members who joined later, in group
    experiments). Churn as in :func:`helpers.survival.churn_table` (explicit exit or
    ``inactivity_days`` without activity, at the last active time); a member already gone at the
    start has duration 0 — every randomised member stays in (intention to treat). The horizon
    is cut to the follow-up the data allow (with a warning). For group-randomised experiments
    the KM bands and the member-level RMST interval are too narrow (a warning says so); the
    RMST difference then also gets ``se_groups, ci_low_groups, ci_high_groups,
    p_value_groups`` from ``n_bootstrap`` resamples of groups within arms.
    ``on_error="report"`` returns empty tables with the message in ``warnings`` instead of
    raising a ParameterError (unknown experiment, no experiments table, one arm).

    Returns
    -------
    ArmSurvival
        ``km``: ``group, timeline, survival, ci_low, ci_high, at_risk, events, censored``;
        ``rmst``: ``group, reference, horizon_days, rmst, rmst_reference, difference, se,
        ci_low, ci_high, p_value`` [+ the ``*_groups`` columns for group experiments].

    Examples
    --------
    >>> s = survival_by_arm(ds, "exp_checkin_member", horizon_days=30)   # doctest: +SKIP
    >>> s.rmst[["difference", "ci_low", "ci_high"]]                      # doctest: +SKIP
    """
    try:
        return _survival_by_arm(community, experiment_id, horizon_days=horizon_days,
                                inactivity_days=inactivity_days, alpha=alpha,
                                n_bootstrap=n_bootstrap, seed=seed)
    except ParameterError as exc:
        if on_error != "report":
            raise
        return ArmSurvival(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), math.nan, (str(exc),))


def _survival_by_arm(community, experiment_id, *, horizon_days, inactivity_days, alpha,
                     n_bootstrap, seed):
    from ..survival import churn_table, km_table, rmst_difference

    exp = experiment_row(community, experiment_id)
    pop = experiment_population(community, experiment_id)
    control = str(exp.get("control_arm") or "control")
    start, end = exp["starts_at"], community.observed_until
    churn = churn_table(community.members, community.events, inactivity_days=inactivity_days)
    churn = churn[["member_id", "joined_at", "duration_days", "churned"]].merge(
        pop[["member_id", "arm", "group_id"]], on="member_id")
    stop = churn["joined_at"] + pd.to_timedelta(churn["duration_days"], unit="D")
    origin = churn["joined_at"].where(churn["joined_at"] > start, start)
    out = churn.assign(duration_days=((stop - origin).dt.total_seconds() / 86400).clip(lower=0))
    out = out[["member_id", "arm", "group_id", "duration_days", "churned"]]
    warns = []
    follow_up = (end - start).total_seconds() / 86400
    horizon = float(horizon_days)
    if horizon > follow_up:
        horizon = float(math.floor(follow_up))
        warns.append(f"horizon cut from {horizon_days:g} to {horizon:g} days: the data end "
                     f"{follow_up:.0f} days after the start")
    arms = [a for a in out["arm"].unique() if a != control]
    out["arm"] = pd.Categorical(out["arm"], categories=[control, *sorted(arms)])
    km = km_table(out, group_col="arm", alpha=alpha)
    rmst = rmst_difference(out, group_col="arm", horizon_days=horizon, reference=control,
                           alpha=alpha) if horizon > 0 and arms else pd.DataFrame()
    if exp["unit"] == "group" and not rmst.empty:
        rmst = _group_bootstrap_rmst(out, rmst, control=control, horizon=horizon, alpha=alpha,
                                     n_bootstrap=n_bootstrap, seed=seed)
        warns.append("group-randomised: the KM bands and the member-level RMST interval treat "
                     "members as independent and are too narrow; use the interval from the "
                     "bootstrap over groups (ci_low_groups, ci_high_groups, p_value_groups)")
    return ArmSurvival(out, km, rmst, horizon, tuple(warns))


def _group_bootstrap_rmst(data: pd.DataFrame, rmst: pd.DataFrame, *, control: str,
                          horizon: float, alpha: float, n_bootstrap: int,
                          seed: int) -> pd.DataFrame:
    """Add a cluster-bootstrap SE of each RMST difference: groups resampled within arms."""
    from ..survival import rmst_table

    rng = np.random.default_rng(seed)
    rows = {(a, g): idx for (a, g), idx in data.groupby(["arm", "group_id"], observed=True)
            .indices.items()}
    by_arm: dict = {}
    for (a, g), idx in rows.items():
        by_arm.setdefault(a, []).append(idx)
    diffs = {a: [] for a in rmst["group"]}
    for _ in range(n_bootstrap):
        take = np.concatenate([groups[i] for a, groups in by_arm.items()
                               for i in rng.integers(0, len(groups), len(groups))])
        t = rmst_table(data.iloc[take], group_col="arm", horizon_days=horizon).set_index("group")
        for a in diffs:
            diffs[a].append(t.loc[a, "rmst"] - t.loc[control, "rmst"])
    out = rmst.copy()
    z = stats.norm.ppf(1 - alpha / 2)
    se = out["group"].map(lambda a: float(np.std(diffs[a], ddof=1)))
    out["se_groups"] = se
    out["ci_low_groups"] = out["difference"] - z * se
    out["ci_high_groups"] = out["difference"] + z * se
    out["p_value_groups"] = 2 * stats.norm.sf((out["difference"] / se).abs())
    return out
