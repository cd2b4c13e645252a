"""The survival outcome of an experiment: Kaplan–Meier per arm and the RMST difference."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..data import Community
from ..engine.api import is_lazy
from ..engine.purchases import members_between
from ..errors import ParameterError
from .._time import resolve_end
from .._format import escape_md
from ._messages import arm_name, note
from .metrics import experiment_population, experiment_row, experiment_status

__all__ = ["ArmSurvival", "survival_by_arm", "active_at_start", "MIN_FOLLOW_UP_FACTOR"]


# ----------------------------------------------------------------------------- survival by arm
#: the survival outcome needs at least this many times ``inactivity_days`` of follow-up after
#: the start: a churn is only seen ``inactivity_days`` after it happens, so a shorter window
#: leaves less visible follow-up than the silence that defines churn
MIN_FOLLOW_UP_FACTOR = 2


@dataclass(frozen=True)
class ArmSurvival:
    """Survival outcome of an experiment.

    ``data`` (one row per analysed member: ``member_id, arm, group_id, duration_days,
    churned``, time from the start), ``km`` (:func:`helpers.survival.km_table` by arm, up to
    the horizon), ``rmst`` (:func:`helpers.survival.rmst_difference` vs control), the horizon
    used, ``follow_up_days`` (start to the end of observation), ``informative`` (the rule of
    :data:`MIN_FOLLOW_UP_FACTOR`), ``excluded`` (per arm: members already gone at the start,
    members assigned) and ``warnings`` (notes).
    """

    data: pd.DataFrame
    km: pd.DataFrame
    rmst: pd.DataFrame
    horizon_days: float
    warnings: tuple[str, ...] = ()
    informative: bool = False
    follow_up_days: float = math.nan
    inactivity_days: float = config.INACTIVITY_DAYS
    unit: str = "member"
    excluded: tuple[tuple[str, int, int], ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.rmst.copy()


def survival_by_arm(community: Community, experiment_id: str, *,
                    horizon_days: float = config.HORIZON_DAYS,
                    inactivity_days: float = config.INACTIVITY_DAYS,
                    alpha: float = config.ALPHA, n_bootstrap: int = 300, seed: int = 0,
                    on_error: str = "raise") -> ArmSurvival:
    """Kaplan–Meier curves per arm and the RMST difference (treatment − control) at a horizon.

    Who and from when: members **active at the start** (not exited, and an active event — or
    the join — within the ``inactivity_days`` before ``starts_at``), followed from the start.
    Members already gone at the start cannot be kept by the treatment; counting them as
    churning on day 0 would mix the arms' pre-start difference into the outcome, so they are
    left out and counted in ``excluded`` (a note says how many per arm). Churn as in
    :func:`helpers.survival.churn_table` (explicit exit or ``inactivity_days`` without
    activity, at the last active time).

    Follow-up: a churn by inactivity is only seen ``inactivity_days`` after it, so the horizon
    is cut to ``follow_up − inactivity_days`` (with a note); the outcome is marked
    ``informative`` only when the follow-up is at least ``MIN_FOLLOW_UP_FACTOR`` (2) ×
    ``inactivity_days`` — below that the report skips the section and says why.

    For group-randomised experiments the RMST difference also gets ``se_groups,
    ci_low_groups, ci_high_groups, p_value_groups`` from ``n_bootstrap`` resamples of groups
    within arms; a note compares that interval with the member-level one.
    On ``engine="duckdb"``/``"spark"`` (lazy ``community.events``) the churn table and the
    members with an event before the start come from the engine; the numbers are the same.
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
    >>> s = survival_by_arm(ds, "exp_checkin_member", horizon_days=30)
    >>> s.horizon_days <= s.follow_up_days - s.inactivity_days
    True
    >>> list(s.rmst.columns[:3]) if len(s.rmst) else ['group', 'reference', 'horizon_days']
    ['group', 'reference', 'horizon_days']
    """
    try:
        return _survival_by_arm(community, experiment_id, horizon_days=horizon_days,
                                inactivity_days=inactivity_days, alpha=alpha,
                                n_bootstrap=n_bootstrap, seed=seed)
    except ParameterError as exc:
        if on_error != "report":
            raise
        status = experiment_status(community, experiment_id)
        if status == "no_experiments":
            why = note("reason.no_experiments")
        elif status == "unknown_experiment":
            why = note("reason.unknown_experiment", eid=str(experiment_id), ids=tuple(
                community.experiments["experiment_id"].astype(str)))
        else:
            why = note("reason.error", why=str(exc))
        return ArmSurvival(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), math.nan, (why,),
                           inactivity_days=float(inactivity_days))


def active_at_start(community: Community, members: pd.DataFrame, start,
                    inactivity_days: float) -> pd.Series:
    """Boolean per row of ``members``: present and active at ``start`` (joined before it, no
    exit before it, and an event or the join within ``inactivity_days`` before it)."""
    since = start - pd.Timedelta(days=float(inactivity_days))
    ev = community.events
    if is_lazy(ev):  # a lazy table (engine="duckdb"/"spark"): the member ids from the engine
        recent = members_between(ev, since=since, before=start, tz=community.timezone)
    else:
        recent = ev.loc[(ev["ts"] >= since) & (ev["ts"] < start), "member_id"]
    ok = members["member_id"].isin(set(recent)) | (
        (members["joined_at"] >= since) & (members["joined_at"] < start))
    ok &= members["joined_at"] < start
    if "left_at" in members:
        ok &= ~(members["left_at"] < start)
    return ok


def _survival_by_arm(community, experiment_id, *, horizon_days, inactivity_days, alpha,
                     n_bootstrap, seed):
    from .. import survival

    exp = experiment_row(community, experiment_id)
    pop = experiment_population(community, experiment_id)
    control = str(exp.get("control_arm") or "control")
    start, end = exp["starts_at"], resolve_end(None, community.events, community.timezone)
    churn = survival.churn_table(community.members, community.events,
                                 inactivity_days=inactivity_days)
    churn = churn[["member_id", "joined_at", "duration_days", "churned"]].merge(
        pop[["member_id", "arm", "group_id"]], on="member_id")
    members = community.members.set_index("member_id").loc[churn["member_id"]].reset_index()
    present = active_at_start(community, members, start, inactivity_days).to_numpy()
    arms_all = [control, *sorted(a for a in churn["arm"].astype(str).unique() if a != control)]
    excluded = tuple((a, int(((churn["arm"].astype(str) == a) & ~present).sum()),
                      int((churn["arm"].astype(str) == a).sum())) for a in arms_all)
    churn = churn.loc[present]
    stop = churn["joined_at"] + pd.to_timedelta(churn["duration_days"], unit="D")
    origin = churn["joined_at"].where(churn["joined_at"] > start, start)
    out = churn.assign(duration_days=((stop - origin).dt.total_seconds() / 86400).clip(lower=0))
    out = out[["member_id", "arm", "group_id", "duration_days", "churned"]]
    warns = []
    if any(n for _, n, _ in excluded):
        warns.append(note("note.gone_at_start", inactivity=float(inactivity_days),
                          excluded=tuple(note("arm_excluded", n=n, total=k, arm=partial(
                              arm_name, a, control, escape=escape_md)).text
                              for a, n, k in excluded)))
    day0 = out["churned"].astype(bool) & (out["duration_days"] <= 0)
    if day0.any():  # last active before the start and never again: churned on day 0
        warns.append(note("note.churned_at_start", inactivity=float(inactivity_days),
                          shares=tuple(note("arm_share", share=float(day0[out["arm"] == a].mean()),
                                            arm=partial(arm_name, a, control, escape=escape_md)
                                            ).text for a in arms_all
                                       if (out["arm"] == a).any())))
    follow_up = (end - start).total_seconds() / 86400
    # the follow-up in the notes, cut (not rounded) to 0.1 day: 79.999 days reads "79.9", so
    # that "79.9 − 30 silent days → a 49-day horizon" adds up (rounded it read "80" beside 49)
    follow = math.floor(follow_up * 10) / 10
    visible = follow_up - float(inactivity_days)
    informative = follow_up >= MIN_FOLLOW_UP_FACTOR * float(inactivity_days)
    horizon = float(horizon_days)
    if visible <= 0:
        horizon = 0.0
        warns.append(note("note.no_follow_up", follow=follow,
                          inactivity=float(inactivity_days)))
    elif horizon > visible:
        horizon = float(math.floor(visible))
        warns.append(note("note.horizon_cut", asked=float(horizon_days), used=horizon,
                          inactivity=float(inactivity_days), follow=follow))
    if 0 < visible and not informative:
        warns.append(note("note.uninformative", follow=follow,
                          inactivity=float(inactivity_days),
                          need=MIN_FOLLOW_UP_FACTOR * float(inactivity_days)))
    arms = [a for a in out["arm"].unique() if a != control]
    out["arm"] = pd.Categorical(out["arm"], categories=[control, *sorted(arms)])
    km = survival.km_table(out, group_col="arm", alpha=alpha) if len(out) else pd.DataFrame()
    if not km.empty and horizon > 0:
        km = km.loc[km["timeline"] <= horizon].reset_index(drop=True)
    rmst = survival.rmst_difference(out, group_col="arm", horizon_days=horizon,
                                    reference=control, alpha=alpha) \
        if horizon > 0 and arms and len(out) else pd.DataFrame()
    if exp["unit"] == "group" and not rmst.empty:
        rmst = _group_bootstrap_rmst(out, rmst, control=control, horizon=horizon, alpha=alpha,
                                     n_bootstrap=n_bootstrap, seed=seed)
        r = rmst.iloc[0]
        key = "note.group_interval_wider" if r["se_groups"] > r["se"] \
            else "note.group_interval_not_wider"
        warns.append(note(key, se_groups=float(r["se_groups"]), se=float(r["se"])))
    return ArmSurvival(out, km, rmst, horizon, tuple(warns), informative=bool(informative),
                       follow_up_days=float(follow_up), inactivity_days=float(inactivity_days),
                       unit=str(exp["unit"]), excluded=excluded)


def _group_bootstrap_rmst(data: pd.DataFrame, rmst: pd.DataFrame, *, control: str,
                          horizon: float, alpha: float, n_bootstrap: int,
                          seed: int) -> pd.DataFrame:
    """Add a cluster-bootstrap SE of each RMST difference: groups resampled within arms."""
    from ..survival import rmst_table  # public name of the survival package

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
