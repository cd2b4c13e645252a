"""Experiment metrics per member from the raw tables: the population of an experiment and its metrics.

Population (who is analysed):

- ``unit = member``: the members listed in ``assignments`` for the experiment (randomised at
  the start; members who churned since still count, with zero activity: dropping them would
  break the randomisation).
- ``unit = group``: every member of an assigned group who joined before ``ends_at``; inference
  is at the group level (:func:`helpers.experiments.cluster_test`).

Metrics per member over the window ``[starts_at, ends_at)``, see :data:`METRICS`.
Pre-period values (same metric over the ``cuped_days`` before ``starts_at``) are the CUPED
covariates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from .._checks import ACTIVE_TYPES_DOC, active_mask
from .._time import resolve_end
from ..data import Community
from ..engine import is_lazy
from ..engine.metrics import experiment_columns
from ..errors import ParameterError
from ..experiments import cluster_test

__all__ = ["MetricSpec", "METRICS", "DEFAULT_METRICS", "DEFAULT_GUARDRAILS", "DECISIONS", "as_list",
           "experiment_row", "experiment_status", "experiment_population", "experiment_metrics"]


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is tested: ``kind`` (mean, proportion, ratio), ``direction`` (+1 = higher
    is better, −1 = lower is better), its pre-period column (CUPED) and its label."""

    name: str
    kind: str
    direction: int
    label: str
    pre: str | None = None
    numerator: str | None = None
    denominator: str | None = None


#: metrics computed per member by :func:`experiment_metrics`
METRICS: dict[str, MetricSpec] = {m.name: m for m in [
    MetricSpec("participation", "proportion", +1, "took part in the experiment's activity"),
    MetricSpec("active_days", "mean", +1, "active days in the window", pre="pre_active_days"),
    MetricSpec("messages", "mean", +1, "messages in the window", pre="pre_messages"),
    MetricSpec("messages_per_active_day", "ratio", +1, "messages per active day",
               numerator="messages", denominator="active_days"),
    MetricSpec("retained", "proportion", +1, "active on or after day N from the start"),
    MetricSpec("converted", "proportion", +1, "made a purchase in the window",
               pre="pre_converted"),
    MetricSpec("spend", "mean", +1, "purchase amount in the window", pre="pre_spend"),
    MetricSpec("exited", "proportion", -1, "left the community explicitly in the window"),
]}
DEFAULT_METRICS = ("active_days", "messages", "participation", "retained", "converted", "spend")
DEFAULT_GUARDRAILS = ("exited",)
DECISIONS = ("ship", "do not ship", "inconclusive", "do not trust", "not analysed")
_Z80 = stats.norm.ppf(0.8)


def as_list(value) -> list[str] | None:
    """A list parameter as a list: None stays None; a string (as papermill ``-p`` passes it) is
    read as comma-separated names, brackets and quotes ignored (``'["a", "b"]'`` or ``"a,b"``).

    Examples
    --------
    >>> as_list('["messages", "spend"]')
    ['messages', 'spend']
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().strip("[]()")
        return [v.strip().strip("'\"").strip() for v in text.split(",") if v.strip().strip("'\"")]
    return [str(v) for v in value]


# ----------------------------------------------------------------------------- population & metrics
def experiment_status(community: Community, experiment_id: str) -> str:
    """"ok", "no_experiments" (no experiments table, or an empty one) or "unknown_experiment".

    Examples
    --------
    >>> experiment_status(ds, "exp_live_group"), experiment_status(ds, "nope")
    ('ok', 'unknown_experiment')
    """
    exps = community.experiments
    if exps is None or exps.empty or "experiment_id" not in exps:
        return "no_experiments"
    ids = set(exps["experiment_id"].astype(str))
    return "ok" if str(experiment_id) in ids else "unknown_experiment"


def experiment_row(community: Community, experiment_id: str) -> pd.Series:
    """The experiments-table row of ``experiment_id`` (ParameterError naming the valid ids)."""
    exps = community.experiments
    if exps is None or exps.empty:
        raise ParameterError(f"dataset {community.name!r} has no experiments table: add "
                             "experiments.csv and assignments.csv to analyse an experiment")
    ids = list(exps["experiment_id"].astype(str))
    if str(experiment_id) not in ids:
        raise ParameterError(f"unknown experiment_id {experiment_id!r}; valid ids: {ids}")
    return exps.loc[exps["experiment_id"].astype(str) == str(experiment_id)].iloc[0]


def experiment_population(community: Community, experiment_id: str, *,
                          late_joiners: bool = False) -> pd.DataFrame:
    """Members analysed in an experiment, with their randomisation unit and arm.

    Member experiments: the assigned members. Group experiments: members of the assigned groups
    who were present at ``starts_at`` (joined before it, not exited before it), like the
    members a member experiment would randomise. Members who join a group during the window are
    left out by default: a treatment that attracts (or repels) newcomers would change who is
    measured in each arm, a recruitment bias of cluster-randomised trials. ``late_joiners=True``
    adds them (members who joined before ``ends_at``) as a secondary analysis.

    Returns
    -------
    DataFrame
        One row per member: ``member_id, unit_id, arm`` and the member columns
        (``joined_at, channel, group_id, left_at`` and attributes).

    Examples
    --------
    >>> pop = experiment_population(ds, "exp_live_group")
    >>> list(pop.columns[:3]), bool(pop["unit_id"].eq(pop["group_id"]).all())
    (['member_id', 'unit_id', 'arm'], True)
    """
    exp = experiment_row(community, experiment_id)
    a = community.assignments
    a = a.loc[a["experiment_id"].astype(str) == str(experiment_id), ["unit_id", "arm"]]
    members = community.members
    if exp["unit"] == "member":
        key = members["member_id"].astype(str)
        pop = members.assign(unit_id=key).merge(a, on="unit_id", how="inner")
    else:
        cutoff = exp["ends_at"] if late_joiners else exp["starts_at"]
        present = members["joined_at"] < cutoff
        if "left_at" in members.columns and not late_joiners:
            present &= ~(members["left_at"] < exp["starts_at"])
        pop = members.loc[present].merge(
            a.rename(columns={"unit_id": "group_id"}), on="group_id", how="inner")
        pop["unit_id"] = pop["group_id"]
    cols = ["member_id", "unit_id", "arm"]
    return pop[cols + [c for c in pop.columns if c not in cols]].reset_index(drop=True)


def experiment_metrics(community: Community, experiment_id: str, *,
                       cuped_days: int = config.CUPED_DAYS, retention_days: int = 14,
                       active_types: list[str] | None = None,
                       late_joiners: bool = False) -> pd.DataFrame:
    """Per-member metrics of an experiment from the raw tables.

    Parameters
    ----------
    community : Community
    experiment_id : str
    cuped_days : int
        Length of the pre-period before ``starts_at`` for the CUPED covariates (0 = none).
    retention_days : int
        ``retained`` = an active event on or after ``starts_at + retention_days`` (up to the
        end of observation: the last event); all-NaN when the data end before that day.
    {active_types}
    late_joiners : bool
        Group experiments: also analyse members who joined during the window
        (see :func:`experiment_population`).

    Returns
    -------
    DataFrame
        The columns of :func:`experiment_population` plus ``participation`` (NaN without an
        ``activity_id``), ``active_days, messages, retained, converted, spend, exited`` and
        ``pre_active_days, pre_messages, pre_converted, pre_spend``.

    Examples
    --------
    >>> m = experiment_metrics(ds, "exp_checkin_member")
    >>> sorted(m["arm"].unique()), bool(m["active_days"].between(0, 14).all())
    (['control', 'treatment'], True)
    """
    if cuped_days < 0 or retention_days < 1:
        raise ParameterError(f"cuped_days must be >= 0 and retention_days >= 1; got "
                             f"{cuped_days}, {retention_days}")
    exp = experiment_row(community, experiment_id)
    pop = experiment_population(community, experiment_id, late_joiners=late_joiners)
    start, end = exp["starts_at"], exp["ends_at"]
    pre_start = start - pd.Timedelta(days=cuped_days)
    ret_from = start + pd.Timedelta(days=retention_days)
    ev = community.events
    observed_until = resolve_end(None, ev)
    if is_lazy(ev):  # a lazy table (engine="duckdb"/"spark"): per-member sums from the engine
        return experiment_columns(pop, ev, start=start, end=end, pre_start=pre_start,
                                  ret_from=ret_from, observed_until=observed_until,
                                  active_types=active_types, activity_id=exp.get("activity_id"),
                                  tz=community.timezone)
    active_all = active_mask(ev, active_types)  # the one active-types rule (None = all)
    ts_all = pd.DatetimeIndex(ev["ts"]).as_unit("ns")
    sorted_ts = ts_all.is_monotonic_increasing  # the loader sorts events by ts
    first = int(ts_all.searchsorted(pre_start)) if sorted_ts else 0
    ev = ev.iloc[first:]
    ts_ns = ts_all.asi8[first:]
    pos = pd.Index(pop["member_id"]).get_indexer(ev["member_id"])
    keep = (pos >= 0) & (ts_ns >= pd.Timestamp(pre_start).as_unit("ns").value)
    ev, pos, ts_ns = ev.loc[keep], pos[keep], ts_ns[keep]
    active = np.ones(len(ev), bool) if active_all is None else active_all[first:][keep]
    n = len(pop)

    def codes(col):
        """Integer codes of a (categorical) column and a lookup name -> code (-2 if absent)."""
        c = ev[col] if isinstance(ev[col].dtype, pd.CategoricalDtype) else ev[col].astype("category")
        lookup = {str(k): i for i, k in enumerate(c.cat.categories)}
        return c.cat.codes.to_numpy(), lambda name: lookup.get(str(name), -2)

    etype, type_code = codes("event_type")

    def ns(t):
        return pd.Timestamp(t).as_unit("ns").value

    in_win = (ts_ns >= ns(start)) & (ts_ns < ns(end))
    in_pre = ts_ns < ns(start)
    day = ev["ts"].dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)  # local date

    def count(mask):
        return np.bincount(pos[mask], minlength=n).astype(float)

    def days(mask):
        """Distinct local dates per member among the masked events."""
        if not mask.any():
            return np.zeros(n)
        d = day[mask] - day[mask].min()
        span = int(d.max()) + 1
        member = np.unique(pos[mask].astype(np.int64) * span + d) // span
        return np.bincount(member, minlength=n).astype(float)

    def amount(mask):
        a = ev["amount"].to_numpy(float) if "amount" in ev.columns else np.zeros(len(ev))
        return np.bincount(pos[mask], weights=np.nan_to_num(a[mask]), minlength=n)

    out = pop.copy()
    act_id = exp.get("activity_id")
    if act_id is not None and isinstance(act_id, str) and act_id.strip() and "activity_id" in ev:
        act_codes, act_code = codes("activity_id")
        joins = in_win & (etype == type_code("activity_join")) & (act_codes == act_code(act_id))
        out["participation"] = (count(joins) > 0).astype(float)
    else:
        out["participation"] = np.nan
    buy = etype == type_code("purchase")
    out["active_days"] = days(in_win & active)
    out["messages"] = count(in_win & (etype == type_code("message")))
    if ret_from <= observed_until:
        out["retained"] = (count(active & (ts_ns >= ns(ret_from))) > 0).astype(float)
    else:
        out["retained"] = np.nan
    out["converted"] = (count(in_win & buy) > 0).astype(float)
    out["spend"] = amount(in_win & buy)
    left = out["left_at"] if "left_at" in out else pd.Series(pd.NaT, index=out.index)
    out["exited"] = ((left >= start) & (left < end)).astype(float)
    out["pre_active_days"] = days(in_pre & active)
    out["pre_messages"] = count(in_pre & (etype == type_code("message")))
    out["pre_converted"] = (count(in_pre & buy) > 0).astype(float)
    out["pre_spend"] = amount(in_pre & buy)
    return out


experiment_metrics.__doc__ = experiment_metrics.__doc__.replace("{active_types}",
                                                                ACTIVE_TYPES_DOC)
