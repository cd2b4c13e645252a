"""The analysis of one experiment: SRM, every metric per arm, the correction and the decision.

The decision rule, fixed in advance: SRM alert → "do not trust"; a guardrail significantly worse
(uncorrected) → "do not ship"; the primary metric significant after the correction in the good
direction → "ship" (bad direction → "do not ship"); otherwise "inconclusive", with the minimum
detectable effect at the level the decision uses (α/m for m corrected metrics). An A/A test
(:func:`~helpers.exp_metrics.settings.looks_like_aa`) passes when no metric differs after one
correction over all of them, and is "do not trust" otherwise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from ..data import Community, parse_split
from ..errors import ParameterError
from ..experiments import TestResult, adjust_pvalues, chance_to_beat_control, srm_test
from ._compare import compare_metric
from ._messages import effect_of, label_of, mde_text, note, pvalue_of, words
from .metrics import METRICS, MetricSpec, experiment_metrics, experiment_row, experiment_status
from .power import Design, design_parameters
from .settings import AnalysisSettings, looks_like_aa, settings_with

__all__ = ["ExperimentReport", "analyse_experiment", "decide", "decision_alpha",
           "corrected_intervals"]

_Z80 = stats.norm.ppf(0.8)


def decision_alpha(alpha: float, role: str, family_size: int, correction: str) -> float:
    """The level a metric is judged at: α/m for the m corrected metrics (Bonferroni, the
    conservative bound of Holm and BH), α for guardrails or without a correction.

    Examples
    --------
    >>> decision_alpha(0.05, "primary", 5, "holm"), decision_alpha(0.05, "guardrail", 5, "holm")
    (0.01, 0.05)
    """
    if role == "guardrail" or correction == "none":
        return alpha
    return alpha / max(int(family_size), 1)


def _mde(se: float, level_alpha: float) -> float:
    """Minimum detectable effect at 80% power and two-sided level ``level_alpha``."""
    return float((stats.norm.ppf(1 - level_alpha / 2) + _Z80) * se)


def corrected_intervals(frame: pd.DataFrame, alpha: float, *, p_col: str = "p_value",
                        adjusted_col: str = "p_adjusted") -> pd.DataFrame:
    """Intervals at the corrected level, so that an interval excludes 0 exactly when the
    adjusted p-value is below ``alpha``.

    The level of each row is ``α · p / p_adjusted`` (α/m for Bonferroni, α/(m − rank + 1) for
    Holm, α·rank/m for BH), the interval ``estimate ± q · se`` with the test's own quantile
    (t with its df, or normal). The agreement holds by construction (for any p > 0 the interval
    excludes 0 iff p < α·p/p_adjusted iff p_adjusted < α); these are the levels the correction
    applies to each metric, not simultaneous intervals (Bonferroni's α/m would be, and can
    disagree with Holm). With a permutation p-value (fewer than 30 groups) the interval stays
    asymptotic and can disagree: in ~10% of simulated 12-group experiments with a +15% lift.

    Returns
    -------
    DataFrame
        ``level_corrected`` (confidence, e.g. 0.99), ``ci_low_corrected, ci_high_corrected``,
        indexed like ``frame``.

    Examples
    --------
    >>> f = pd.DataFrame({"estimate": [1.0], "se": [0.5], "df": [np.inf], "p_value": [0.0455],
    ...                   "p_adjusted": [0.091]})
    >>> corrected_intervals(f, 0.05)["ci_low_corrected"].round(3).tolist()
    [-0.121]
    """
    p = frame[p_col].astype(float).to_numpy()
    adj = frame[adjusted_col].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where((adj > 0) & (p > 0), alpha * p / adj, alpha)
    a = np.clip(np.nan_to_num(a, nan=alpha), 1e-300, alpha)
    df = frame["df"].astype(float).to_numpy() if "df" in frame else np.full(len(frame), np.inf)
    q = np.where(np.isfinite(df), stats.t.ppf(1 - a / 2, np.where(np.isfinite(df), df, 1)),
                 stats.norm.ppf(1 - a / 2))
    est, se = frame["estimate"].astype(float).to_numpy(), frame["se"].astype(float).to_numpy()
    return pd.DataFrame({"level_corrected": 1 - a, "ci_low_corrected": est - q * se,
                         "ci_high_corrected": est + q * se}, index=frame.index)


def _result_row(res: TestResult, spec: MetricSpec, arm: str, role: str) -> dict:
    row = res.to_frame().iloc[0].to_dict()
    row.update(metric=spec.name, label=spec.label, kind=spec.kind, direction=spec.direction,
               arm=arm, role=role, chance_to_beat_control=(
                   chance_to_beat_control(res) if spec.direction > 0
                   else 1 - chance_to_beat_control(res)), notes=tuple(res.warnings))
    return row


# ----------------------------------------------------------------------------- the experiment
@dataclass(frozen=True)
class ExperimentReport:
    """Everything the A/B notebook shows about one experiment.

    ``results`` has one row per (treatment arm, metric): ``metric, label, role`` (primary,
    secondary, guardrail), ``arm, kind, direction, control_mean, treatment_mean, estimate,
    ci_low, ci_high, p_value, p_adjusted, significant, se, df, method, mde`` (80% power at
    ``mde_alpha``, the level the decision uses), ``mde_alpha, chance_to_beat_control,
    level_corrected, ci_low_corrected, ci_high_corrected`` (intervals at the corrected level,
    see :func:`corrected_intervals`), ``notes`` and method extras (``variance_reduction, theta,
    icc`` (truncated at 0), ``icc_estimate, design_effect, naive_p_value, permutation_p,
    n_groups``); ``data`` is the member-level metrics frame.

    ``status`` is "analysed", "no_experiments", "unknown_experiment", "not_comparable" or
    "no_metric"; ``reason`` (a :class:`~helpers._i18n.Note`) says why the decision was taken;
    ``warnings`` are the caveats as notes; ``design`` the primary metric's SD and ICC (raw and
    after CUPED) that the summary and the power table both use; ``family_size`` the number of
    metrics corrected together; ``groups_in_community`` how many groups the community has.
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
    status: str = "analysed"
    is_aa: bool = False
    family_size: int = 1
    retention_days: int = 14
    design: Design | None = None
    members_in_community: int = 0
    groups_in_community: int = 0
    settings: AnalysisSettings | None = None

    @property
    def analysed(self) -> bool:
        """True when there are results to show."""
        return self.status == "analysed" and not self.results.empty

    @property
    def verdict(self) -> str:
        """The decision, or "aa_passed" / "aa_failed" for an A/A test."""
        if self.is_aa and self.analysed and self.decision in ("inconclusive", "do not trust") \
                and not (self.srm is not None and self.srm.alert):
            return "aa_passed" if self.decision == "inconclusive" else "aa_failed"
        return self.decision

    def to_frame(self) -> pd.DataFrame:
        """The per-metric results table."""
        return self.results.copy()


def analyse_experiment(community: Community, experiment_id: str,
                       settings: AnalysisSettings | None = None, *, on_error: str = "raise",
                       **options) -> ExperimentReport:
    """Analyse one experiment: SRM, every metric per treatment arm, correction, decision.

    Holm (or BH) is applied across the primary and secondary metrics (× treatment arms);
    guardrails are tested uncorrected (a harm signal should not be diluted). The decision rule
    is in the module docstring.

    Parameters
    ----------
    community : Community
    experiment_id : str
    settings : AnalysisSettings, optional
        What to measure and how to test it; keyword ``options`` of the same names
        (``metrics, primary_metric, guardrails, alpha, correction, relative, cuped,
        cuped_days, retention_days, n_permutations, seed, late_joiners, active_types, aa``)
        override it.
    on_error : {"raise", "report"}
        "report" turns a ParameterError (unknown id, no experiments table, a bad option …)
        into a report with decision "not analysed" and the reason, so a batch never crashes.

    Returns
    -------
    ExperimentReport

    Examples
    --------
    >>> rep = analyse_experiment(ds, "exp_checkin_member", cuped=False)
    >>> rep.decision in ("ship", "do not ship", "inconclusive", "do not trust")
    True
    >>> list(rep.results[["metric", "estimate", "ci_low", "ci_high"]].columns)
    ['metric', 'estimate', 'ci_low', 'ci_high']
    >>> analyse_experiment(ds, "nope", on_error="report").status
    'unknown_experiment'
    """
    if on_error not in ("raise", "report"):
        raise ParameterError(f"on_error must be 'raise' or 'report'; got {on_error!r}")
    status = experiment_status(community, experiment_id)
    try:
        opts = settings_with(settings, AnalysisSettings, options)
        if status != "ok" and on_error == "report":
            return _not_found(community, experiment_id, status, opts)
        return _analyse(community, str(experiment_id), opts)
    except ParameterError as exc:
        if on_error == "raise":
            raise
        why = note("reason.error", why=str(exc))
        base = settings if isinstance(settings, AnalysisSettings) else AnalysisSettings()
        return ExperimentReport(str(experiment_id), "", "", None, None, "control",
                                str(options.get("primary_metric", base.primary_metric)),
                                base.alpha, base.correction, base.relative, "not analysed", why,
                                warnings=(why,), status="error")


def _not_found(community, experiment_id, status, opts) -> ExperimentReport:
    if status == "no_experiments":
        why = note("reason.no_experiments")
    else:
        ids = tuple(community.experiments["experiment_id"].astype(str))
        why = note("reason.unknown_experiment", eid=str(experiment_id), ids=ids)
    return ExperimentReport(str(experiment_id), "", "", None, None, "control",
                            opts.primary_metric, opts.alpha, opts.correction, opts.relative,
                            "not analysed", why, warnings=(why,), status=status,
                            settings=opts)


def _analyse(community: Community, experiment_id: str, opts: AnalysisSettings):
    names = opts.names
    exp = experiment_row(community, experiment_id)
    unit, control = str(exp["unit"]), str(exp.get("control_arm") or "control")
    data = experiment_metrics(community, experiment_id, cuped_days=opts.cuped_days,
                              retention_days=opts.retention_days,
                              active_types=list(opts.active_types) if opts.active_types else None,
                              late_joiners=opts.late_joiners)
    a = community.assignments
    a = a.loc[a["experiment_id"].astype(str) == experiment_id]
    counts = a["arm"].astype(str).value_counts().sort_index()
    planned = parse_split(exp.get("planned_split")) if "planned_split" in exp else None
    arms = list(dict.fromkeys([control, *counts.index, *(planned or {})]))
    arm_units = tuple((arm, int(counts.get(arm, 0))) for arm in arms)
    warns: list[str] = []
    srm = None
    try:
        srm = srm_test(dict(arm_units), planned or {arm: 1.0 for arm in arms})
        if srm.alert:
            warns.append(note("note.srm", p=pvalue_of(srm.p_value), alpha=srm.alpha))
    except ParameterError as exc:
        warns.append(note("note.srm_impossible", why=str(exc)))
    empty = [arm for arm, k in arm_units if k == 0]
    if empty:
        warns.append(note("note.empty_arms", arms=tuple(empty)))
    treatments = [arm for arm, k in arm_units if arm != control and k > 0]
    members = community.members
    groups = members["group_id"] if "group_id" in members else pd.Series(dtype=object)
    groups = groups.dropna().astype(str).str.strip()
    is_aa = opts.aa if opts.aa is not None else looks_like_aa(experiment_id, exp.get("name"))
    base = dict(experiment_id=experiment_id, name=str(exp.get("name") or experiment_id),
                unit=unit, starts_at=exp["starts_at"], ends_at=exp["ends_at"],
                control_arm=control, primary_metric=opts.primary_metric, alpha=opts.alpha,
                correction=opts.correction, relative=opts.relative, srm=srm, data=data,
                arm_units=arm_units, is_aa=bool(is_aa), retention_days=opts.retention_days,
                members_in_community=int(len(members)),
                groups_in_community=int(groups[groups != ""].nunique()), settings=opts)
    if dict(arm_units).get(control, 0) == 0 or not treatments:
        why = (note("reason.no_control", arm=control) if dict(arm_units).get(control, 0) == 0
               else note("reason.one_arm", arms=tuple(a for a, k in arm_units if k)))
        return ExperimentReport(**base, decision="not analysed", reason=why,
                                warnings=tuple(warns + [why]), status="not_comparable")
    rows = []
    for arm in treatments:
        for m in names:
            spec = METRICS[m]
            label = label_of(m, opts.retention_days)
            col = spec.numerator if spec.kind == "ratio" else m
            if data[col].isna().all():
                key = {"participation": "note.participation_na",
                       "retained": "note.retained_na"}.get(m, "note.metric_na")
                warns.append(note(key, metric=label, days=opts.retention_days))
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = compare_metric(data, spec, unit=unit, control=control, treatment=arm,
                                     settings=opts)
            rows.append(_result_row(res, spec, arm, opts.role(m)))
            warns.extend(note("note.metric", metric=label, why=w.text if hasattr(w, "text")
                              else str(w)) for w in res.warnings)
    results = pd.DataFrame(rows)
    if results.empty:
        why = note("reason.no_metric")
        return ExperimentReport(**base, decision="not analysed", reason=why, results=results,
                                warnings=tuple(warns), status="no_metric")
    results["label"] = results["label"].str.replace("day N", f"day {opts.retention_days}")
    results = _correct(results, opts, is_aa=bool(is_aa))
    negative = results.loc[results["icc_estimate"] < 0, "metric"].unique().tolist() \
        if "icc_estimate" in results else []
    if negative:
        warns.append(note("note.negative_icc", metrics=tuple(
            label_of(m, opts.retention_days) for m in negative)))
    family = int(results.attrs.get("family_size", 1))
    decision, reason = decide(results, srm, alpha=opts.alpha, correction=opts.correction,
                              is_aa=bool(is_aa), retention_days=opts.retention_days)
    front = ["metric", "label", "role", "arm", "control_mean", "treatment_mean", "estimate",
             "ci_low", "ci_high", "p_value", "p_adjusted", "significant"]
    results = results[front + [c for c in results.columns if c not in front]]
    design = design_parameters(data, control=control, unit=unit,
                               spec=METRICS[opts.primary_metric])
    return ExperimentReport(**base, decision=decision, reason=reason, results=results,
                            warnings=tuple(dict.fromkeys(warns)), family_size=family,
                            design=design)


def _correct(results: pd.DataFrame, opts: AnalysisSettings, is_aa: bool = False) -> pd.DataFrame:
    """Adjusted p-values, significance, the decision-level MDE, corrected intervals, ICC ≥ 0.

    An A/A test is one family: every metric, guardrails included, corrected together (there
    is no harm direction when both arms are treated alike)."""
    results = results.copy()
    tested = results["role"] != "guardrail" if not is_aa else results["role"].notna()
    correction = "holm" if is_aa and opts.correction == "none" else opts.correction
    results["p_adjusted"] = results["p_value"]
    results.loc[tested, "p_adjusted"] = adjust_pvalues(results.loc[tested, "p_value"],
                                                      method=correction)
    results["significant"] = results["p_adjusted"] < opts.alpha
    family = int(results.loc[tested, "p_value"].notna().sum())
    results["mde_alpha"] = [decision_alpha(opts.alpha, "secondary" if is_aa else r, family,
                                           correction) for r in results["role"]]
    results["mde"] = [_mde(se, a) for se, a in zip(results["se"], results["mde_alpha"])]
    results = results.join(corrected_intervals(results, opts.alpha))
    if "icc" in results:
        results["icc_estimate"] = results["icc"]
        neg = results["icc"] < 0
        results.loc[neg, "icc"] = 0.0
        results.loc[neg, "design_effect"] = 1.0
    results.attrs["family_size"] = max(family, 1)
    return results


def decide(results: pd.DataFrame, srm, *, alpha: float, correction: str, is_aa: bool = False,
           retention_days: int = 14) -> tuple[str, str]:
    """The decision and its reason (a :class:`~helpers._i18n.Note`) from a results table.

    Returns
    -------
    (str, Note)
        One of "ship", "do not ship", "inconclusive", "do not trust", and why.
    """
    if srm is not None and srm.alert:
        return "do not trust", note("reason.srm", p=pvalue_of(srm.p_value))
    level = 1 - alpha

    def label(r):
        return label_of(r["metric"], retention_days) if r["metric"] in METRICS \
            else str(r.get("label") or r["metric"])

    tested = results if is_aa else results.loc[results["role"].isin(["primary", "secondary"])]
    m = int(tested["p_value"].notna().sum()) if correction != "none" or is_aa else 1
    m = max(m, 1)

    def level_text(language):
        return "" if m == 1 else note("level.corrected", m=m).text(language)

    if is_aa:  # one family: every metric corrected together (Holm when no correction is set)
        p_all = adjust_pvalues(results["p_value"], method=correction if correction != "none"
                               else "holm")
        hit = np.flatnonzero(np.nan_to_num(p_all, nan=1.0) < alpha)
        if hit.size:
            r = results.iloc[int(hit[np.argmin(p_all[hit])])]
            return "do not trust", note("reason.aa_failed", metric=label(r),
                                        effect=effect_of(r, level),
                                        p=pvalue_of(float(p_all[hit].min())))
        p = results.loc[results["role"] == "primary"]
        if not p.empty and not math.isnan(p.iloc[0]["se"]):
            r = p.iloc[0]
            mde = _mde(float(r["se"]), alpha / m)
            return "inconclusive", note(
                "reason.aa_passed", n=int(results["p_value"].notna().sum()), metric=label(r),
                mde=_partial_mde(mde, bool(r["relative"]), str(r.get("kind", "mean"))),
                level=level_text)
    g = results.loc[(results["role"] == "guardrail") & (results["p_value"] < alpha)
                    & (results["estimate"] * results["direction"] < 0)]
    if len(g):
        r = g.iloc[0]
        return "do not ship", note("reason.guardrail", metric=label(r),
                                   effect=effect_of(r, level), p=pvalue_of(r["p_value"]))
    p = results.loc[results["role"] == "primary"]
    if p.empty:
        return "inconclusive", note("reason.no_primary")
    good = p.loc[p["significant"] & (p["estimate"] * p["direction"] > 0)]
    bad = p.loc[p["significant"] & (p["estimate"] * p["direction"] < 0)]
    corr = words(f"correction.{correction}")
    if len(good):
        r = good.iloc[0]
        return "ship", note("reason.ship", metric=label(r), effect=effect_of(r, level),
                            correction=corr, p=pvalue_of(r["p_adjusted"]))
    if len(bad):
        r = bad.iloc[0]
        return "do not ship", note("reason.worse", metric=label(r), effect=effect_of(r, level),
                                   p=pvalue_of(r["p_adjusted"]))
    r = p.iloc[0]
    if math.isnan(r["estimate"]):
        why = tuple(n.text if hasattr(n, "text") else str(n) for n in r.get("notes", ()))
        return "inconclusive", note("reason.untestable", metric=label(r), why=why)
    # the primary wins only after correction: quote the MDE at the (conservative) Bonferroni
    # level alpha/m of the corrected family, not at alpha
    mde = _mde(float(r["se"]), alpha / m)
    return "inconclusive", note("reason.inconclusive", metric=label(r), effect=effect_of(r, level),
                                correction=corr, mde=_partial_mde(
                                    mde, bool(r["relative"]), str(r.get("kind", "mean"))),
                                level=level_text)


def _partial_mde(value, relative, kind):
    return partial(mde_text, value, relative, kind)


def _decide(results, srm, *, alpha, correction):
    """The decision and its English reason (kept for the tests of the rule)."""
    d, why = decide(results, srm, alpha=alpha, correction=correction)
    return d, str(why)
