"""Experiment metrics from the raw tables, and the analysis of one experiment end to end.

Population (who is analysed):

- ``unit = member``: the members listed in ``assignments`` for the experiment (randomised at
  the start; members who churned since still count, with zero activity: dropping them would
  break the randomisation).
- ``unit = group``: every member of an assigned group who joined before ``ends_at``; inference
  is at the group level (:func:`helpers.experiments.cluster_test`).

Metrics per member over the window ``[starts_at, ends_at)`` (DESIGN.md §4), see :data:`METRICS`.
Pre-period values (same metric over the ``cuped_days`` before ``starts_at``) are the CUPED
covariates.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from . import config
from .data import Community, parse_split
from .errors import AnalysisWarning, ParameterError
from .experiments import (CORRECTIONS, MeanStats, ProportionStats, RatioStats,
                          RegressionAdjustedStats, TestResult, adjust_pvalues,
                          chance_to_beat_control, cluster_test, cuped_test, icc_anova,
                          sample_size, srm_test, welch_test)

__all__ = ["MetricSpec", "METRICS", "experiment_population", "experiment_metrics",
           "analyse_experiment", "ExperimentReport", "segment_effects", "summary_markdown",
           "survival_by_arm", "ArmSurvival", "experiment_segments", "segment_tables",
           "power_table"]


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
    MetricSpec("exited", "proportion", -1, "left explicitly (left_at) in the window"),
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
def _experiment_row(community: Community, experiment_id: str) -> pd.Series:
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
    >>> pop = experiment_population(ds, "exp_live_group")          # doctest: +SKIP
    """
    exp = _experiment_row(community, experiment_id)
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
        end of observation); all-NaN when the data end before that day.
    active_types : list of str, optional
        Event types that count as active (default: all).
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
    >>> m = experiment_metrics(ds, "exp_checkin_member")            # doctest: +SKIP
    >>> m.groupby("arm")["active_days"].mean()                     # doctest: +SKIP
    """
    if cuped_days < 0 or retention_days < 1:
        raise ParameterError(f"cuped_days must be >= 0 and retention_days >= 1; got "
                             f"{cuped_days}, {retention_days}")
    exp = _experiment_row(community, experiment_id)
    pop = experiment_population(community, experiment_id, late_joiners=late_joiners)
    start, end = exp["starts_at"], exp["ends_at"]
    pre_start = start - pd.Timedelta(days=cuped_days)
    ret_from = start + pd.Timedelta(days=retention_days)
    ev = community.events
    types = list(ev["event_type"].cat.categories) if hasattr(ev["event_type"], "cat") \
        else sorted(ev["event_type"].unique())
    if active_types is not None:
        unknown = [t for t in active_types if t not in types]
        if unknown:
            raise ParameterError(f"unknown event type(s) {unknown} in active_types; the data "
                                 f"have {types}")
    ts_all = pd.DatetimeIndex(ev["ts"]).as_unit("ns")
    sorted_ts = ts_all.is_monotonic_increasing  # the loader sorts events by ts
    first = int(ts_all.searchsorted(pre_start)) if sorted_ts else 0
    ev = ev.iloc[first:]
    ts_ns = ts_all.asi8[first:]
    pos = pd.Index(pop["member_id"]).get_indexer(ev["member_id"])
    keep = (pos >= 0) & (ts_ns >= pd.Timestamp(pre_start).as_unit("ns").value)
    ev, pos, ts_ns = ev.loc[keep], pos[keep], ts_ns[keep]
    n = len(pop)

    def codes(col):
        """Integer codes of a (categorical) column and a lookup name -> code (-2 if absent)."""
        c = ev[col] if isinstance(ev[col].dtype, pd.CategoricalDtype) else ev[col].astype("category")
        lookup = {str(k): i for i, k in enumerate(c.cat.categories)}
        return c.cat.codes.to_numpy(), lambda name: lookup.get(str(name), -2)

    etype, type_code = codes("event_type")
    active = np.ones(len(ev), bool) if active_types is None else np.isin(
        etype, [type_code(t) for t in active_types])

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
    if ret_from <= community.observed_until:
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
    exp = _experiment_row(community, experiment_id)
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
# emoji font, e.g. on a bare Linux desktop or in headless browsers)
_ICON = {"ship": "✔ **Ship**", "do not ship": "✘ **Do not ship**",
         "inconclusive": "? **Inconclusive**", "do not trust": "⚠ **Do not trust**",
         "not analysed": "⚠ **Not analysed**"}


def summary_markdown(report: ExperimentReport) -> str:
    """Executive summary of an experiment as Markdown, written from the computed numbers.

    Covers: the decision and its reason, the SRM status, the primary metric's lift with CI,
    the guardrails, significant secondary metrics, and the warnings.

    Returns
    -------
    str
        Markdown text (show it with ``IPython.display.Markdown``).

    Examples
    --------
    >>> print(summary_markdown(analyse_experiment(ds, "exp_checkin_member")))  # doctest: +SKIP
    """
    r = report
    lines = [f"### {r.experiment_id}" + (f" — {r.name}" if r.name and r.name != r.experiment_id
                                         else ""),
             "", f"**Decision:** {_ICON.get(r.decision, r.decision)} — {r.reason}.", ""]
    if r.starts_at is not None:
        units = ", ".join(f"{a}: {k:,}" for a, k in r.arm_units)
        what = "groups" if r.unit == "group" else "members"
        lines.append(f"- **Design:** randomised by {r.unit} ({units} {what}); window "
                     f"{r.starts_at:%Y-%m-%d} to {r.ends_at:%Y-%m-%d}; {len(r.data):,} members "
                     "analysed" + ("; inference at the group level (cluster-robust: members of "
                                   "one group behave alike, so the group, not the member, is "
                                   "the unit of evidence)" if r.unit == "group" else "") + ".")
    if r.srm is not None:
        status = ("⚠ **mismatch** — the assignment is broken" if r.srm.alert else "OK")
        lines.append(f"- **Sample ratio (SRM)** — checks that the arms got the planned share of "
                     f"{'groups' if r.unit == 'group' else 'members'}; a mismatch means the "
                     f"assignment or logging is broken: {status} (χ² = {r.srm.statistic:.2f}, "
                     f"p = {r.srm.p_value:.3g}; alert below {r.srm.alpha:g}).")
    res = r.results
    level = 1 - r.alpha
    if not res.empty:
        for _, row in res.loc[res["role"] == "primary"].iterrows():
            kind = row.get("kind", "mean")
            cuped = "cuped" in str(row.get("method", "")).lower()
            extra = ""
            if row.get("variance_reduction", math.nan) == row.get("variance_reduction", math.nan):
                extra = (f". CUPED (adjusting for the same metric in the {r.unit}s' "
                         f"pre-period, before the start) cut the noise (variance) by "
                         f"{row['variance_reduction']:.0%}")
            if r.unit == "group" and row.get("icc") == row.get("icc"):
                extra += (f". ICC {row['icc']:.3f} (how alike members of one group are: 0 = no "
                          f"more than strangers) gives a design effect of "
                          f"{row['design_effect']:.1f} (this design needs "
                          f"{row['design_effect']:.1f}× the members of a member-randomised one "
                          "for the same precision)")
            lines.append(f"- **Primary metric — {row['label']}** ({row['arm']} vs "
                         f"{r.control_arm}{', CUPED-adjusted means' if cuped else ''}): "
                         f"{_mean(row['control_mean'], kind)} → "
                         f"{_mean(row['treatment_mean'], kind)}, lift {_effect(row, level)}, "
                         f"adjusted p = {row['p_adjusted']:.3g}{extra}.")
        for _, row in res.loc[res["role"] == "guardrail"].iterrows():
            kind = row.get("kind", "mean")
            worse = row["p_value"] < r.alpha and row["estimate"] * row["direction"] < 0
            lines.append(f"- **Guardrail — {row['label']}** (must not get worse): "
                         f"{_mean(row['control_mean'], kind)} → "
                         f"{_mean(row['treatment_mean'], kind)}, change {_effect(row, level)}; "
                         + ("**significantly worse**." if worse else "no significant harm."))
        sec = res.loc[(res["role"] == "secondary") & res["significant"]]
        if len(sec):
            lines.append("- **Other significant metrics** (after correction): " + "; ".join(
                f"{x['label']} {_fmt(x['estimate'], bool(x['relative']), x.get('kind', 'mean'))}"
                + ("" if x["relative"] or x.get("kind") == "proportion" else " (absolute)")
                for _, x in sec.iterrows()) + ".")
    if r.warnings:
        lines.append("- **Caveats:** " + " · ".join(r.warnings) + ".")
    if not res.empty:
        lines.append("- **Where to look below:** the lift plot (section 1: green intervals are "
                     "significant after correction; an interval crossing 0 means not enough "
                     "evidence either way), then the guardrail row and the distribution per arm "
                     "(section 3) to see whether a shift of everyone or a few heavy users drives "
                     "the lift.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- segments
def segment_effects(data: pd.DataFrame, *, metric: str, segment: str, unit: str = "member",
                    control: str = "control", treatment: str = "treatment",
                    alpha: float = config.ALPHA, correction: str = "holm",
                    relative: bool = True, cuped: bool = True, min_units: int = 20,
                    n_permutations: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Effect of ``treatment`` on ``metric`` within each value of ``segment`` (e.g. channel).

    Corrected across segments (Holm by default), and always with an AnalysisWarning: subgroup
    effects are exploratory; a "winning segment" found by looking at many is likely noise.
    Segments with fewer than ``min_units`` members in an arm are skipped.

    Returns
    -------
    DataFrame
        ``segment, n_control, n_treatment, estimate, ci_low, ci_high, p_value, p_adjusted,
        significant, method, warnings``.

    Examples
    --------
    >>> segment_effects(report.data, metric="active_days", segment="channel")  # doctest: +SKIP
    """
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose from {list(METRICS)}")
    if segment not in data.columns:
        raise ParameterError(f"segment column {segment!r} not in data; columns: {list(data.columns)}")
    warnings.warn("segment effects are exploratory (subgroup fishing): only a pre-registered "
                  "segment with a corrected p-value supports a claim", AnalysisWarning, stacklevel=2)
    rows = []
    for seg, sub in data.groupby(segment, observed=True, sort=True):
        nc, nt = int((sub["arm"] == control).sum()), int((sub["arm"] == treatment).sum())
        if min(nc, nt) < min_units:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = _test_metric(sub, METRICS[metric], unit=unit, control=control,
                               treatment=treatment, relative=relative, alpha=alpha,
                               cuped=cuped, n_permutations=n_permutations, seed=seed)
        rows.append(dict(segment=seg, n_control=nc, n_treatment=nt, estimate=res.estimate,
                         ci_low=res.ci_low, ci_high=res.ci_high, p_value=res.p_value,
                         method=res.method, warnings="; ".join(res.warnings)))
    out = pd.DataFrame(rows, columns=["segment", "n_control", "n_treatment", "estimate",
                                      "ci_low", "ci_high", "p_value", "method", "warnings"])
    out.insert(7, "p_adjusted", adjust_pvalues(out["p_value"], method=correction))
    out.insert(8, "significant", out["p_adjusted"] < alpha)
    return out


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
    from .survival import churn_table, km_table, rmst_difference

    exp = _experiment_row(community, experiment_id)
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
    from .survival import rmst_table

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


# ----------------------------------------------------------------------------- report helpers
def experiment_segments(report: ExperimentReport, community: Community, *, segment: str,
                        metric: str | None = None, min_units: int = 20,
                        n_permutations: int = 2000) -> pd.DataFrame:
    """Segment effects of a report's primary (or given) metric, ready for the notebook.

    ``segment="layer"`` adds the member layer (核心/活跃/潜在/沉睡) measured just *before* the
    start (a pre-treatment attribute, so the split is not affected by the treatment) with
    :func:`helpers.cohorts.member_layers`; any other name must be a member column (channel,
    platform …). Uses the report's correction and alpha; a report that was not analysed gives
    an empty frame.

    Returns
    -------
    DataFrame
        As :func:`segment_effects` plus ``arm``; empty when nothing can be tested.

    Examples
    --------
    >>> experiment_segments(report, ds, segment="channel")           # doctest: +SKIP
    """
    cols = ["segment", "n_control", "n_treatment", "estimate", "ci_low", "ci_high", "p_value",
            "p_adjusted", "significant", "method", "warnings", "arm"]
    if report.results.empty or report.data.empty:
        return pd.DataFrame(columns=cols)
    data = report.data
    if segment == "layer" and "layer" not in data:
        from .cohorts import member_layers

        layers = member_layers(community.members, community.events,
                               as_of=report.starts_at - pd.Timedelta(seconds=1))
        data = data.merge(layers[["member_id", "layer"]], on="member_id", how="left")
        data["layer"] = data["layer"].astype(object).fillna("not yet joined")
    metric = metric or report.primary_metric
    arms = [a for a in report.results["arm"].unique()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        frames = [segment_effects(data, metric=metric, segment=segment, unit=report.unit,
                                  control=report.control_arm, treatment=arm,
                                  alpha=report.alpha, correction=report.correction,
                                  relative=report.relative, min_units=min_units,
                                  n_permutations=n_permutations).assign(arm=arm)
                  for arm in arms]
    warnings.warn(f"effects by {segment} are exploratory (subgroup fishing): only a "
                  "pre-registered segment with a corrected p-value supports a claim",
                  AnalysisWarning, stacklevel=2)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def segment_tables(report: ExperimentReport, community: Community, *, segments,
                   metric: str | None = None, min_units: int = 20) -> dict[str, pd.DataFrame]:
    """:func:`experiment_segments` for each of ``segments`` (a list, or a comma-separated
    string); a segment that is neither ``"layer"`` nor a member column gives an empty table
    and a warning rather than an error.

    Returns
    -------
    dict of str -> DataFrame
        One :func:`experiment_segments` table per segment, in the order given.

    Examples
    --------
    >>> segment_tables(report, ds, segments=["channel", "layer"])   # doctest: +SKIP
    """
    out = {}
    for seg in as_list(segments) or []:
        if seg != "layer" and not report.data.empty and seg not in report.data:
            warnings.warn(f"segment {seg!r} is not a member column; columns: "
                          f"{list(report.data.columns)}", AnalysisWarning, stacklevel=2)
            out[seg] = experiment_segments(replace(report, results=pd.DataFrame()), community,
                                           segment=seg)
            continue
        out[seg] = experiment_segments(report, community, segment=seg, metric=metric,
                                       min_units=min_units)
    return out


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
