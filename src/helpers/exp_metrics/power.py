"""How big the next experiment must be: units per arm for given lifts."""

from __future__ import annotations

import pandas as pd

from ..experiments import icc_anova, sample_size
from .analysis import ExperimentReport
from .metrics import METRICS

__all__ = ["power_table"]


def power_table(report: ExperimentReport, *, lifts=(0.03, 0.05, 0.10), power: float = 0.8,
                metric: str | None = None) -> pd.DataFrame:
    """Units per arm needed to detect relative lifts of the primary metric ("how many groups do
    I need to see a 3 % lift?"), from this experiment's control arm: member-level SD, and the
    ICC, mean group size and the spread of group sizes (Kish design effect, as reported by the
    analysis) for group-randomised designs; ``units_per_arm_with_cuped`` uses
    the SD and ICC of the CUPED-adjusted metric (θ pooled as in the analysis).

    Returns
    -------
    DataFrame
        ``metric, relative_lift, absolute_effect, unit, units_per_arm, members_per_arm,
        units_per_arm_with_cuped, units_per_arm_now``; empty when the report was not analysed.

    Examples
    --------
    >>> power_table(report, lifts=[0.03, 0.05])                    # doctest: +SKIP
    """
    cols = ["metric", "relative_lift", "absolute_effect", "unit", "units_per_arm",
            "members_per_arm", "units_per_arm_with_cuped", "units_per_arm_now"]
    metric = metric or report.primary_metric
    spec = METRICS.get(metric)
    if report.data.empty or spec is None or spec.kind == "ratio" or metric not in report.data:
        return pd.DataFrame(columns=cols)
    ctrl = report.data.loc[report.data["arm"] == report.control_arm]
    mean = ctrl[metric].mean()
    if not (mean > 0 and ctrl[metric].std() > 0):
        return pd.DataFrame(columns=cols)
    sizes = ctrl.groupby("group_id").size() if report.unit == "group" else pd.Series([1.0])
    cv = float(sizes.std(ddof=0) / sizes.mean())  # unequal groups: Kish deff (Σm²/Σm)

    def design(values):
        """(sd, icc, mean group size) of member values in the control arm."""
        if report.unit != "group":
            return values.std(), 0.0, 1.0
        icc = icc_anova(ctrl.assign(_v=values), value="_v", group="group_id")
        return values.std(), max(icc, 0.0) if icc == icc else 0.0, float(sizes.mean())

    sd, icc, size = design(ctrl[metric])
    now = int(ctrl["group_id"].nunique()) if report.unit == "group" else len(ctrl)
    adjusted = None
    if spec.pre and spec.pre in ctrl and ctrl[spec.pre].var() > 0:  # CUPED: same θ as analysis
        x = report.data[spec.pre]
        theta = report.data[[metric, spec.pre]].cov().iloc[0, 1] / x.var()
        adjusted = design(ctrl[metric] - theta * ctrl[spec.pre])
    out = []
    for lift in lifts:
        eff = lift * mean
        n = sample_size(eff, sd=sd, power=power, alpha=report.alpha, icc=icc, cluster_size=size,
                        cluster_size_cv=cv)
        n_cuped = sample_size(eff, sd=adjusted[0], power=power, alpha=report.alpha,
                              icc=adjusted[1], cluster_size=adjusted[2],
                              cluster_size_cv=cv) if adjusted else n
        out.append(dict(metric=metric, relative_lift=lift, absolute_effect=eff,
                        unit=report.unit, units_per_arm=n, members_per_arm=int(round(n * size)),
                        units_per_arm_with_cuped=n_cuped, units_per_arm_now=now))
    return pd.DataFrame(out, columns=cols)
