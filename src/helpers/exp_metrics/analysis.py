"""The analysis of one experiment: SRM, every metric per arm, the correction and the decision."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import pandas as pd
from scipy import stats

from .. import config
from ..data import Community, parse_split
from ..errors import ParameterError
from ..experiments import (CORRECTIONS, MeanStats, ProportionStats, RatioStats,
                           RegressionAdjustedStats, TestResult, adjust_pvalues,
                           chance_to_beat_control, cluster_test, cuped_test, srm_test, welch_test)
from .metrics import (DEFAULT_GUARDRAILS, DEFAULT_METRICS, METRICS, MetricSpec, as_list,
                      experiment_metrics, experiment_row)

__all__ = ["ExperimentReport", "analyse_experiment"]

_Z80 = stats.norm.ppf(0.8)


# ----------------------------------------------------------------------------- one metric
def _test_metric(frame: pd.DataFrame, spec: MetricSpec, **kw) -> TestResult:
    """Test one metric at the unit of randomisation; when the relative lift is undefined
    (a zero mean, a zero standard error) report the absolute difference instead."""
    res = _test_metric_once(frame, spec, **kw)
    if kw["relative"] and math.isnan(res.estimate):
        alt = _test_metric_once(frame, spec, **{**kw, "relative": False})
        if not math.isnan(alt.estimate):
            return _with(alt, warnings=alt.warnings + (
                f"{'; '.join(res.warnings)}: absolute difference reported instead",))
    return res


def _test_metric_once(frame: pd.DataFrame, spec: MetricSpec, *, unit: str, control: str,
                      treatment: str, relative: bool, alpha: float, cuped: bool,
                      n_permutations: int, seed: int) -> TestResult:
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
                            relative=relative, alpha=alpha, n_permutations=n_permutations,
                            seed=seed)
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


def _with(res: TestResult, **changes) -> TestResult:
    return replace(res, **changes)


def _result_row(res: TestResult, spec: MetricSpec, arm: str, role: str) -> dict:
    row = res.to_frame().iloc[0].to_dict()
    row.update(metric=spec.name, label=spec.label, kind=spec.kind, direction=spec.direction,
               arm=arm, role=role, chance_to_beat_control=(
                   chance_to_beat_control(res) if spec.direction > 0
                   else 1 - chance_to_beat_control(res)),
               mde=float((stats.norm.ppf(1 - res.alpha / 2) + _Z80) * res.se))
    return row


# ----------------------------------------------------------------------------- the experiment
@dataclass(frozen=True)
class ExperimentReport:
    """Everything the A/B notebook shows about one experiment.

    ``results`` has one row per (treatment arm, metric): ``metric, label, role`` (primary,
    secondary, guardrail), ``arm, kind, direction, control_mean, treatment_mean, estimate,
    ci_low, ci_high, p_value, p_adjusted, significant, se, df, method, mde, chance_to_beat_control``
    and method extras (``variance_reduction, theta, icc, design_effect, naive_p_value,
    permutation_p, n_groups``); ``data`` is the member-level metrics frame.
    """

    experiment_id: str
    name: str
    unit: str
    starts_at: pd.Timestamp | None
    ends_at: pd.Timestamp | None
    control_arm: str
    primary_metric: str
    alpha: float
    correction: str
    relative: bool
    decision: str
    reason: str
    srm: object | None = None
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    arm_units: tuple[tuple[str, int], ...] = ()
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The per-metric results table."""
        return self.results.copy()


def analyse_experiment(community: Community, experiment_id: str, *,
                       metrics: list[str] | tuple[str, ...] | None = None,
                       primary_metric: str = "active_days",
                       guardrails: list[str] | tuple[str, ...] = DEFAULT_GUARDRAILS,
                       alpha: float = config.ALPHA, correction: str = "holm",
                       relative: bool = True, cuped: bool = True,
                       cuped_days: int = config.CUPED_DAYS, retention_days: int = 14,
                       n_permutations: int = 2000, seed: int = 0,
                       late_joiners: bool = False,
                       on_error: str = "raise") -> ExperimentReport:
    """Analyse one experiment: SRM, every metric per treatment arm, correction, decision.

    Holm (or BH) is applied across the primary and secondary metrics (× treatment arms);
    guardrails are tested uncorrected (a harm signal should not be diluted).
    Decision: SRM alert → "do not trust"; a guardrail significantly worse → "do not ship";
    primary significant after correction in the good direction → "ship" (bad direction →
    "do not ship"); otherwise "inconclusive" (with the MDE at 80 % power).

    Parameters
    ----------
    metrics : list of str, optional
        Names from :data:`METRICS` (default ``DEFAULT_METRICS``); the primary is added.
    late_joiners : bool
        Group experiments: also analyse members who joined during the window (secondary
        analysis; see :func:`experiment_population`).
    on_error : {"raise", "report"}
        "report" turns a ParameterError (unknown id, no experiments table …) into a report
        with decision "not analysed" and the message as reason, so a batch never crashes.

    Returns
    -------
    ExperimentReport

    Examples
    --------
    >>> rep = analyse_experiment(ds, "exp_checkin_member")         # doctest: +SKIP
    >>> rep.decision, rep.results[["metric", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    if on_error not in ("raise", "report"):
        raise ParameterError(f"on_error must be 'raise' or 'report'; got {on_error!r}")
    try:
        return _analyse(community, experiment_id, metrics=metrics, primary_metric=primary_metric,
                        guardrails=guardrails, alpha=alpha, correction=correction,
                        relative=relative, cuped=cuped, cuped_days=cuped_days,
                        retention_days=retention_days, n_permutations=n_permutations, seed=seed,
                        late_joiners=late_joiners)
    except ParameterError as exc:
        if on_error == "raise":
            raise
        return ExperimentReport(str(experiment_id), "", "", None, None, "control",
                                primary_metric, alpha, correction, relative, "not analysed",
                                str(exc), warnings=(str(exc),))


def _analyse(community, experiment_id, *, metrics, primary_metric, guardrails, alpha,
             correction, relative, cuped, cuped_days, retention_days, n_permutations, seed,
             late_joiners):
    if correction not in CORRECTIONS:
        raise ParameterError(f"correction must be one of {CORRECTIONS}; got {correction!r}")
    metrics = as_list(DEFAULT_METRICS if metrics is None else metrics)
    guardrails = as_list(guardrails)
    names = list(dict.fromkeys([primary_metric, *metrics, *guardrails]))
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ParameterError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
    exp = experiment_row(community, experiment_id)
    unit, control = str(exp["unit"]), str(exp.get("control_arm") or "control")
    data = experiment_metrics(community, experiment_id, cuped_days=cuped_days,
                              retention_days=retention_days, late_joiners=late_joiners)
    a = community.assignments
    a = a.loc[a["experiment_id"].astype(str) == str(experiment_id)]
    counts = a["arm"].astype(str).value_counts().sort_index()
    planned = parse_split(exp.get("planned_split")) if "planned_split" in exp else None
    arms = list(dict.fromkeys([control, *counts.index, *(planned or {})]))
    arm_units = tuple((arm, int(counts.get(arm, 0))) for arm in arms)
    warns: list[str] = []
    srm = None
    try:
        observed = {arm: n for arm, n in arm_units}
        srm = srm_test(observed, planned or {arm: 1.0 for arm in arms})
        if srm.alert:
            warns.append(f"sample-ratio mismatch (p = {srm.p_value:.2g} < {srm.alpha}): the "
                         "assignment is broken; do not trust the results")
    except ParameterError as exc:
        warns.append(f"SRM check not possible: {exc}")
    empty = [arm for arm, k in arm_units if k == 0]
    if empty:
        warns.append(f"arm(s) {empty} have zero units")
    treatments = [arm for arm, k in arm_units if arm != control and k > 0]
    base = dict(experiment_id=str(experiment_id), name=str(exp.get("name") or experiment_id),
                unit=unit, starts_at=exp["starts_at"], ends_at=exp["ends_at"],
                control_arm=control, primary_metric=primary_metric, alpha=alpha,
                correction=correction, relative=relative, srm=srm, data=data,
                arm_units=arm_units)
    if dict(arm_units).get(control, 0) == 0 or not treatments:
        why = (f"control arm {control!r} has no units" if dict(arm_units).get(control, 0) == 0
               else f"only one arm ({[a for a, k in arm_units if k]}): nothing to compare")
        return ExperimentReport(**base, decision="not analysed", reason=why,
                                warnings=tuple(warns + [why]))
    rows = []
    for arm in treatments:
        for m in names:
            spec = METRICS[m]
            role = "primary" if m == primary_metric else (
                "guardrail" if m in guardrails else "secondary")
            col = spec.numerator if spec.kind == "ratio" else m
            if data[col].isna().all():
                why = {"participation": "the experiment has no activity_id",
                       "retained": f"the data end before day {retention_days} after the start"}
                warns.append(f"{m}: not available ({why.get(m, 'no data')})")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = _test_metric(data, spec, unit=unit, control=control, treatment=arm,
                                   relative=relative, alpha=alpha, cuped=cuped,
                                   n_permutations=n_permutations, seed=seed)
            rows.append(_result_row(res, spec, arm, role))
    results = pd.DataFrame(rows)
    if results.empty:
        return ExperimentReport(**base, decision="not analysed", reason="no metric could be "
                                "computed", results=results, warnings=tuple(warns))
    results["label"] = results["label"].str.replace("day N", f"day {retention_days}")
    tested = results["role"] != "guardrail"
    results["p_adjusted"] = results["p_value"]
    results.loc[tested, "p_adjusted"] = adjust_pvalues(results.loc[tested, "p_value"],
                                                      method=correction)
    results["significant"] = results["p_adjusted"] < alpha
    for m, w in zip(results["metric"], results["warnings"]):
        if w:
            warns.append(f"{m}: {w}")
    decision, reason = _decide(results, srm, alpha=alpha, correction=correction)
    front = ["metric", "label", "role", "arm", "control_mean", "treatment_mean", "estimate",
             "ci_low", "ci_high", "p_value", "p_adjusted", "significant"]
    results = results[front + [c for c in results.columns if c not in front]]
    return ExperimentReport(**base, decision=decision, reason=reason, results=results,
                            warnings=tuple(dict.fromkeys(warns)))


def _fmt(v: float, relative: bool, kind: str = "mean") -> str:
    """A lift: relative in %, an absolute difference of a proportion in percentage points."""
    if relative:
        return f"{v:+.1%}"
    return f"{100 * v:+.1f} percentage points" if kind == "proportion" else f"{v:+.3g}"


def _effect(r, level: float) -> str:
    """'+11.4% (95% CI +5.4% to +17.5%)' from a results row."""
    rel, kind = bool(r["relative"]), r.get("kind", "mean")
    if not rel and kind == "proportion":
        return (f"{_fmt(r['estimate'], rel, kind)} ({level:.0%} CI "
                f"{100 * r['ci_low']:+.1f} to {100 * r['ci_high']:+.1f})")
    return (f"{_fmt(r['estimate'], rel)} ({level:.0%} CI {_fmt(r['ci_low'], rel)} to "
            f"{_fmt(r['ci_high'], rel)})")


def _mean(v: float, kind: str) -> str:
    """An arm mean for the summary: a share in % for proportions, two decimals otherwise."""
    if v != v:
        return "n/a"
    return f"{v:.1%}" if kind == "proportion" else f"{v:,.2f}"


def _decide(results: pd.DataFrame, srm, *, alpha: float, correction: str) -> tuple[str, str]:
    if srm is not None and srm.alert:
        return "do not trust", (f"sample-ratio mismatch (SRM p = {srm.p_value:.2g}): the arms "
                                "are not the planned split, so the comparison is biased")
    level = 1 - alpha
    g = results.loc[(results["role"] == "guardrail") & (results["p_value"] < alpha)
                    & (results["estimate"] * results["direction"] < 0)]
    if len(g):
        r = g.iloc[0]
        return "do not ship", (f"guardrail '{r.get('label') or r['metric']}' is significantly worse: "
                               f"{_effect(r, level)}, p = {r['p_value']:.2g}")
    p = results.loc[results["role"] == "primary"]
    if p.empty:
        return "inconclusive", "the primary metric could not be computed"
    good = p.loc[p["significant"] & (p["estimate"] * p["direction"] > 0)]
    bad = p.loc[p["significant"] & (p["estimate"] * p["direction"] < 0)]
    corr = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"}[correction]
    if len(good):
        r = good.iloc[0]
        return "ship", (f"primary metric '{r.get('label') or r['metric']}' improved by {_effect(r, level)}, "
                        f"significant after {corr} correction (adjusted p = {r['p_adjusted']:.2g})")
    if len(bad):
        r = bad.iloc[0]
        return "do not ship", (f"primary metric '{r.get('label') or r['metric']}' got worse: {_effect(r, level)}, "
                               f"adjusted p = {r['p_adjusted']:.2g}")
    r = p.iloc[0]
    if math.isnan(r["estimate"]):
        return "inconclusive", f"primary metric '{r.get('label') or r['metric']}' could not be tested ({r['warnings']})"
    # the primary wins only after correction: quote the MDE at the (conservative) Bonferroni
    # level alpha/m of the corrected family, not at alpha
    m = int(results["role"].isin(["primary", "secondary"]).sum()) if correction != "none" else 1
    mde_value = (stats.norm.ppf(1 - alpha / (2 * max(m, 1))) + _Z80) * float(r["se"])
    mde = f"±{abs(mde_value):.1%}" if r["relative"] else f"±{abs(mde_value):.3g}"
    level_text = f" at the corrected level (α/{m})" if m > 1 else ""
    return "inconclusive", (f"primary metric '{r.get('label') or r['metric']}': {_effect(r, level)} is not "
                            f"significant after {corr} correction; with this sample the "
                            f"experiment could detect about {mde} with 80% power{level_text}")


# plain symbols that the reports' embedded fonts draw (colour emoji show as boxes without an
