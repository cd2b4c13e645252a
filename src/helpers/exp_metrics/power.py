"""How big the next experiment must be: the design figures of a metric (SD, ICC, design effect,
raw and after CUPED) and the units per arm for given lifts, at the level the decision uses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..experiments import design_effect, icc_anova, mde, sample_size
from .metrics import METRICS, MetricSpec

if TYPE_CHECKING:  # the report type only (analysis imports this module)
    from .analysis import ExperimentReport

__all__ = ["Design", "design_parameters", "power_table", "planning_gap"]


@dataclass(frozen=True)
class Design:
    """Design figures of one metric in the control arm, the ones the summary quotes and the
    power table uses.

    ``mean, sd`` of the control arm's member values; for group experiments ``icc`` (ANOVA
    over the groups of both arms, within arms — the definition :func:`cluster_test` reports,
    so the summary, the power table and the analyst table show one figure; truncated at 0,
    ``icc_estimate`` before truncation) and ``design_effect`` (Kish, 1 + (Σm²/Σm − 1)·ICC over
    every group), ``group_size`` (mean members per group), ``size_cv`` (spread of group sizes);
    the same after CUPED (``sd_cuped, icc_cuped, icc_cuped_estimate, design_effect_cuped``; NaN
    without a pre-period); ``units`` the control arm's units (members or groups).
    """

    metric: str
    unit: str
    mean: float
    sd: float
    units: int
    group_size: float = 1.0
    size_cv: float = 0.0
    icc: float = 0.0
    icc_estimate: float = 0.0
    design_effect: float = 1.0
    sd_cuped: float = math.nan
    icc_cuped: float = math.nan
    icc_cuped_estimate: float = math.nan
    design_effect_cuped: float = math.nan

    @property
    def has_cuped(self) -> bool:
        return not math.isnan(self.sd_cuped)


def design_parameters(data: pd.DataFrame, *, control: str, unit: str,
                      spec: MetricSpec) -> Design | None:
    """:class:`Design` of ``spec`` from the control arm of a member-level metrics frame
    (θ of CUPED pooled over both arms, as in the analysis); None for ratio metrics or a
    metric without spread.

    Examples
    --------
    >>> d = design_parameters(report.data, control="control", unit="member",
    ...                       spec=METRICS["active_days"])
    >>> d.design_effect, d.units == dict(report.arm_units)["control"]
    (1.0, True)
    """
    metric = spec.name
    if data.empty or spec.kind == "ratio" or metric not in data:
        return None
    ctrl = data.loc[data["arm"] == control]
    mean, sd = float(ctrl[metric].mean()), float(ctrl[metric].std())
    if not (mean > 0 and sd > 0):
        return None
    group = unit == "group"
    # the groups of both arms: the ICC within arms (arm means removed) as cluster_test reports
    # it; with 20 groups per arm the control arm alone gives a much noisier figure
    keep = data["arm"].notna().to_numpy()
    both = data.loc[keep] if group else ctrl
    sizes = both.groupby("group_id").size() if group else pd.Series([1.0])
    cv = float(sizes.std(ddof=0) / sizes.mean()) if group else 0.0  # Kish deff (Σm²/Σm)

    def icc_of(values):
        if not group:
            return 0.0, 0.0, 1.0
        v = pd.Series(np.asarray(values, dtype=float)[keep])
        centred = v - v.groupby(both["arm"].to_numpy()).transform("mean")
        est = icc_anova(pd.DataFrame({"_v": centred.to_numpy(),
                                      "group_id": both["group_id"].to_numpy()}),
                        value="_v", group="group_id")
        est = est if est == est else 0.0
        icc = max(est, 0.0)
        return icc, est, design_effect(icc, sizes.to_numpy())

    icc, est, deff = icc_of(data[metric])
    out = dict(metric=metric, unit=unit, mean=mean, sd=sd,
               units=int(ctrl["group_id"].nunique()) if group else int(len(ctrl)),
               group_size=float(sizes.mean()) if group else 1.0, size_cv=cv, icc=icc,
               icc_estimate=est, design_effect=deff)
    if spec.pre and spec.pre in ctrl and ctrl[spec.pre].var() > 0:  # CUPED: same θ as analysis
        x = data[spec.pre]
        theta = data[[metric, spec.pre]].cov().iloc[0, 1] / x.var()
        adj = data[metric] - theta * data[spec.pre]
        i2, e2, d2 = icc_of(adj)
        out.update(sd_cuped=float(adj[(data["arm"] == control).to_numpy()].std()), icc_cuped=i2, icc_cuped_estimate=e2,
                   design_effect_cuped=d2)
    return Design(**out)


def power_table(report: ExperimentReport, *, lifts=(0.03, 0.05, 0.10), power: float = 0.8,
                metric: str | None = None) -> pd.DataFrame:
    """Units per arm needed to detect relative lifts of the primary metric ("how many groups do
    I need to see a 3 % lift?"), from this experiment's control arm (:class:`Design`: SD, and
    for group experiments the ICC, mean group size and spread of group sizes — Kish design
    effect), at the level the decision uses (the metric's ``mde_alpha``: ``alpha / m`` for m
    metrics corrected together, since the primary must be significant after the correction
    to ship).

    ``units_per_arm`` uses the raw metric's SD and ICC, ``units_per_arm_with_cuped`` those of
    the CUPED-adjusted metric; ``reachable`` is False when both arms together need more units
    (members or groups) than the community has (``units_in_community``).

    Returns
    -------
    DataFrame
        ``metric, relative_lift, absolute_effect, unit, alpha, units_per_arm,
        members_per_arm, units_per_arm_with_cuped, units_per_arm_now, units_in_community,
        reachable, reachable_with_cuped, icc, design_effect, icc_cuped,
        design_effect_cuped``; empty when the report was not analysed.

    Examples
    --------
    >>> p = power_table(report, lifts=[0.03, 0.05])
    >>> bool(p["units_per_arm"].is_monotonic_decreasing), bool(p["alpha"].iloc[0] < 0.05)
    (True, True)
    """
    cols = ["metric", "relative_lift", "absolute_effect", "unit", "alpha", "units_per_arm",
            "members_per_arm", "units_per_arm_with_cuped", "units_per_arm_now",
            "units_in_community", "reachable", "reachable_with_cuped", "icc", "design_effect",
            "icc_cuped", "design_effect_cuped"]
    metric = metric or report.primary_metric
    spec = METRICS.get(metric)
    if report.data.empty or spec is None or metric not in report.data:
        return pd.DataFrame(columns=cols)
    d = report.design if report.design is not None and report.design.metric == metric else \
        design_parameters(report.data, control=report.control_arm, unit=report.unit, spec=spec)
    if d is None:
        return pd.DataFrame(columns=cols)
    prim = report.results.loc[report.results["metric"] == metric] \
        if "mde_alpha" in report.results else pd.DataFrame()
    alpha = float(prim["mde_alpha"].iloc[0]) if len(prim) else report.alpha  # the decision's level
    group = report.unit == "group"
    available = getattr(report, "groups_in_community" if group else "members_in_community", 0)
    n_arms = max(len([a for a, k in report.arm_units if k > 0]), 2)
    out = []
    for lift in lifts:
        eff = lift * d.mean
        n = sample_size(eff, sd=d.sd, power=power, alpha=alpha, icc=d.icc,
                        cluster_size=d.group_size, cluster_size_cv=d.size_cv)
        n_cuped = sample_size(eff, sd=d.sd_cuped, power=power, alpha=alpha, icc=d.icc_cuped,
                              cluster_size=d.group_size, cluster_size_cv=d.size_cv) \
            if d.has_cuped else n
        out.append(dict(metric=metric, relative_lift=lift, absolute_effect=eff,
                        unit=report.unit, alpha=alpha, units_per_arm=n,
                        members_per_arm=int(round(n * d.group_size)),
                        units_per_arm_with_cuped=n_cuped, units_per_arm_now=d.units,
                        units_in_community=int(available),
                        reachable=not available or n * n_arms <= available,
                        reachable_with_cuped=not available or n_cuped * n_arms <= available,
                        icc=d.icc, design_effect=d.design_effect, icc_cuped=d.icc_cuped,
                        design_effect_cuped=d.design_effect_cuped))
    return pd.DataFrame(out, columns=cols)


def planning_gap(report: ExperimentReport, *, threshold: float = 1.1) -> dict | None:
    """How far the power table's model is from this experiment's own precision.

    The power table sizes the next test from the control arm's spread (and the ICC); this
    experiment's own MDE (the summary's "could detect") comes from its estimate, whose variance
    also holds the treatment arm's extra spread when members (or groups) respond unequally, the
    t reference of few groups and the delta method of a relative lift. When the own MDE exceeds
    the model's MDE at this experiment's size by more than ``threshold``, returns
    ``planned, observed`` (relative MDEs), ``factor`` ((observed / planned)², how many times the
    table's sizes the same precision may need), ``sd_control, sd_treatment`` (of the metric as
    tested, CUPED-adjusted where used); otherwise None.

    Examples
    --------
    >>> planning_gap(report) is None or planning_gap(report)["factor"] > 1
    True
    """
    d, res = report.design, report.results
    if d is None or res.empty or "mde" not in res:
        return None
    prim = res.loc[(res["metric"] == d.metric) & (res["role"] == "primary")]
    if prim.empty or not bool(prim.iloc[0]["relative"]) or not d.mean > 0:
        return None
    r = prim.iloc[0]
    cuped = d.has_cuped and "cuped" in str(r.get("method", "")).lower()
    sd = d.sd_cuped if cuped else d.sd
    icc = (d.icc_cuped if cuped else d.icc) if report.unit == "group" else 0.0
    planned = mde(n_per_arm=d.units, sd=sd, alpha=float(r["mde_alpha"]), icc=icc,
                  cluster_size=d.group_size, cluster_size_cv=d.size_cv) / d.mean
    observed = float(r["mde"])
    if not (planned > 0 and observed > threshold * planned):
        return None
    data = report.data
    spec = METRICS[d.metric]
    values = data[d.metric].astype(float)
    if cuped:
        theta = data[[d.metric, spec.pre]].cov().iloc[0, 1] / data[spec.pre].var()
        values = values - theta * data[spec.pre]
    treated = data["arm"].notna() & (data["arm"] != report.control_arm)
    return dict(planned=float(planned), observed=observed, factor=(observed / planned) ** 2,
                sd_control=float(values[data["arm"] == report.control_arm].std()),
                sd_treatment=float(values[treated].std()))
