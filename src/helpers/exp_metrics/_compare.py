"""Internal: one metric of an experiment tested at its unit of randomisation."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from ..experiments import (ClusterSettings, MeanStats, ProportionStats, RatioStats,
                           RegressionAdjustedStats, TestResult, cluster_test, cuped_test,
                           welch_test)
from ._messages import note
from .metrics import MetricSpec
from .settings import TestSettings


def compare_metric(frame: pd.DataFrame, spec: MetricSpec, *, unit: str, control: str,
                   treatment: str, settings: TestSettings) -> TestResult:
    """Test one metric at the unit of randomisation; when the relative lift is undefined
    (a zero mean, a zero standard error) report the absolute difference instead."""
    kw = dict(unit=unit, control=control, treatment=treatment, relative=settings.relative,
              alpha=settings.alpha, cuped=settings.cuped,
              n_permutations=settings.n_permutations, seed=settings.seed)
    res = _test_metric_once(frame, spec, **kw)
    if kw["relative"] and math.isnan(res.estimate):
        alt = _test_metric_once(frame, spec, **{**kw, "relative": False})
        if not math.isnan(alt.estimate):
            why = [n.text if hasattr(n, "text") else str(n) for n in res.warnings]
            return replace(alt, warnings=alt.warnings + tuple(
                note("note.absolute_instead", why=w) for w in why))
    return res


def _test_metric_once(frame: pd.DataFrame, spec: MetricSpec, *, unit: str, control: str,
                      treatment: str, relative: bool, alpha: float, cuped: bool,
                      n_permutations: int, seed: int) -> TestResult:  # noqa: PLR0913
    """Test one metric of a member-level metrics frame, at the unit of randomisation."""
    sub = frame.loc[frame["arm"].isin([control, treatment])]
    use_pre = cuped and spec.pre is not None and spec.pre in sub and sub[spec.pre].var() > 0
    if spec.kind == "ratio":
        if unit == "group":
            g = sub.groupby(["arm", "group_id"], observed=True)[
                [spec.numerator, spec.denominator]].sum().reset_index()
        else:
            g = sub
        parts = [RatioStats.from_values(g.loc[g["arm"] == a, spec.numerator],
                                        g.loc[g["arm"] == a, spec.denominator])
                 for a in (control, treatment)]
        return welch_test(*parts, relative=relative, alpha=alpha)
    y = sub[spec.name].astype(float)
    arm = sub["arm"].to_numpy()
    if unit == "group":
        return cluster_test(sub.assign(_y=y), value="_y", group="group_id", control=control,
                            treatment=treatment, covariate=spec.pre if use_pre else None,
                            settings=ClusterSettings(relative=relative, alpha=alpha,
                                                     n_permutations=n_permutations, seed=seed))
    if use_pre:
        x = sub[spec.pre].astype(float)
        parts = [RegressionAdjustedStats.from_values(y[arm == a], x[arm == a])
                 for a in (control, treatment)]
        return cuped_test(*parts, relative=relative, alpha=alpha)
    cls = ProportionStats if spec.kind == "proportion" else MeanStats
    parts = []
    for a in (control, treatment):
        v = y[arm == a]
        parts.append(cls(int(v.size), float(v.sum())) if cls is ProportionStats
                     else MeanStats.from_values(v))
    return welch_test(*parts, relative=relative, alpha=alpha)
