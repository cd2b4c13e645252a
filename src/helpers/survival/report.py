"""The churn report of notebook 02: every analysis run once, collected in a ChurnReport."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from ..errors import AnalysisWarning, ParameterError
from ._common import check_columns
from .churn import censor_when_detectable, churn_table
from .cox import CoxResult, cox_model, landmark, ph_check, stratify_violations
from .km import at_risk_table, km_table, rmst_difference, survival_summary
from .logrank import LogrankResult, logrank_tests
from .risk import risk_list
from .time_varying import participation_effects, time_varying_cox, time_varying_long, truth_table

__all__ = ["summary_markdown", "ChurnReport", "planted_truth", "churn_report"]


def _fmt_ci(est, lo, hi, digits=0, unit=""):
    def f(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "n/a"
        if np.isinf(v):
            return "not reached"
        return f"{v:.{digits}f}{unit}"
    return f"{f(est)} (95% CI {f(lo)}–{f(hi)})"


def summary_markdown(churn: pd.DataFrame, *, overall: pd.DataFrame, rmst: pd.DataFrame,
                     logrank: LogrankResult, cox: CoxResult,
                     participation: pd.DataFrame | None = None,
                     risk: pd.DataFrame | None = None, ph: pd.DataFrame | None = None,
                     stratified: CoxResult | None = None, segment_col: str = "channel",
                     inactivity_days: float = 30, risk_horizon_days: float = 30,
                     horizon_days: float = config.HORIZON_DAYS,
                     alpha: float = config.ALPHA) -> str:
    """Executive summary of the churn notebook, written from computed values.

    Parameters
    ----------
    churn : DataFrame
        :func:`churn_table` output.
    overall : DataFrame
        :func:`survival_summary` of all members (``group == "all"``).
    rmst : DataFrame
        :func:`rmst_difference` by segment.
    logrank : LogrankResult
        By segment.
    cox : CoxResult
        The adjusted model whose hazard ratios are reported.
    participation : DataFrame, optional
        :func:`participation_effects`.
    risk : DataFrame, optional
        :func:`risk_list` (all currently active members, or the top of it).
    ph : DataFrame, optional
        :func:`ph_check` of ``cox`` (violations are listed as caveats).
    stratified : CoxResult, optional
        :func:`stratify_violations` refit, when there is one.

    Returns
    -------
    str
        Markdown: a heading and bullet points (numbers, the decision-relevant findings,
        caveats).

    Examples
    --------
    >>> md = summary_markdown(ct, overall=s, rmst=d, logrank=lr, cox=res)   # doctest: +SKIP
    """
    n = len(churn)
    churned = int(churn["churned"].sum())
    reasons = churn["churn_reason"].value_counts()
    lines = ["## Executive summary", ""]
    lines.append(
        f"- **{n:,} members**, {churned:,} churned ({churned / n:.0%}): "
        f"{int(reasons.get('exit', 0)):,} left explicitly, {int(reasons.get('inactivity', 0)):,} "
        f"went silent for ≥ {inactivity_days:g} days; {n - churned:,} are still followed "
        f"(censored: active recently, so we do not know yet when they will leave).")
    med = overall[overall["quantity"] == "median_days"].iloc[0]
    median = _fmt_ci(med["estimate"], med["ci_low"], med["ci_high"], 0, " days")
    lines.append(f"- **Median time to churn**: {median}.")
    surv = overall[overall["quantity"] == "survival"].dropna(subset=["estimate"])
    if not surv.empty:
        parts = [f"day {t:g}: {e:.0%} ({lo:.0%}–{hi:.0%})" for t, e, lo, hi in
                 surv[["time", "estimate", "ci_low", "ci_high"]].itertuples(index=False)]
        lines.append("- **Still here** " + "; ".join(parts) + ".")
    if not rmst.empty:
        best = rmst.loc[rmst["difference"].idxmax()]
        worst = rmst.loc[rmst["difference"].idxmin()]
        ref = best["reference"]
        lines.append(
            f"- **By {segment_col}** (RMST, restricted mean survival time: the average number "
            f"of days a member stays within the first {horizon_days:g}): reference "
            f"{ref} {best['rmst_reference']:.1f} d; best {best['group']} "
            f"{best['difference']:+.1f} d (CI {best['ci_low']:+.1f} to {best['ci_high']:+.1f}), "
            f"worst {worst['group']} {worst['difference']:+.1f} d (CI {worst['ci_low']:+.1f} to "
            f"{worst['ci_high']:+.1f}). Log-rank test (do the segments' survival curves differ at "
            f"all?): χ² = {logrank.statistic:.1f} "
            f"on {logrank.df} df, p = {logrank.p_value:.2g}; "
            f"{int(logrank.pairwise['significant'].sum())} of {len(logrank.pairwise)} pairs differ "
            f"after {logrank.method.title()} correction.")
    hr = cox.hazard_ratios
    sig = hr[(hr["ci_low"] > 1) | (hr["ci_high"] < 1)]
    if not sig.empty:
        up = sig.loc[sig["hazard_ratio"].idxmax()]
        down = sig.loc[sig["hazard_ratio"].idxmin()]
        items = []
        if up["hazard_ratio"] > 1:
            hr_up = _fmt_ci(up["hazard_ratio"], up["ci_low"], up["ci_high"], 2)
            items.append(f"highest risk {up['term']} HR {hr_up}")
        if down["hazard_ratio"] < 1:
            hr_down = _fmt_ci(down["hazard_ratio"], down["ci_low"], down["ci_high"], 2)
            items.append(f"most protective {down['term']} HR {hr_down}")
        base = ", ".join(f"{k} = {v}" for k, v in cox.baselines.items())
        lines.append(f"- **Cox model** (hazard ratio, HR: the risk of leaving at any moment "
                     f"relative to the baseline {base or 'none'}, other covariates held equal; "
                     f"HR 0.5 = half the risk, 2 = double): " + "; ".join(items) + ".")
    else:
        lines.append("- **Cox model** (hazard ratio, HR: the risk of leaving at any moment "
                     "relative to the baseline, other covariates held equal): no covariate has a "
                     "hazard ratio clearly different from 1.")
    if participation is not None and not participation.empty:
        tv = participation[(participation["model"] == "time-varying") & participation["adjusted"]]
        nv = participation[participation["model"].str.startswith("naive")
                           & participation["adjusted"]]
        if not tv.empty and not nv.empty:
            tv, nv = tv.iloc[0], nv.iloc[0]
            truth = "" if pd.isna(tv["truth"]) else f" (planted truth {tv['truth']:.2f})"
            verb = ("lowers" if tv["ci_high"] < 1 else "raises" if tv["ci_low"] > 1
                    else "has no clear effect on")
            lines.append(
                f"- **Taking part in an activity** {verb} the churn hazard: HR "
                f"{_fmt_ci(tv['hazard_ratio'], tv['ci_low'], tv['ci_high'], 2)} when counted from "
                f"the day members take part{truth}. The naive 'ever took part' comparison says "
                f"{nv['hazard_ratio']:.2f}: it is biased towards a benefit (immortal time).")
    if risk is not None and not risk.empty:
        high = int((risk["churn_risk"] >= 0.3).sum())
        drivers = risk.loc[risk["main_driver"] != "", "main_driver"]
        top_driver = drivers.mode().iloc[0] if len(drivers) else "none"
        lines.append(
            f"- **Risk list**: {len(risk):,} currently active members scored; median risk of "
            f"churning in the next {risk_horizon_days:g} days "
            f"{risk['churn_risk'].median():.0%}, {high:,} at ≥ 30%. "
            f"Top driver: {top_driver}.")
    caveats = [*cox.notes]
    if ph is not None and ph["violated"].any():
        remedy = (f"a model stratified on {', '.join(stratified.strata)} is shown below"
                  if stratified is not None else "read those hazard ratios as averages over time")
        caveats.append("proportional hazards doubtful for "
                       + ", ".join(ph.loc[ph["violated"], "term"]) + f" (see the PH table; "
                       f"{remedy})")
    if caveats:
        lines.append("- **Caveats**: " + "; ".join(caveats) + ".")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ChurnReport:
    """Everything the churn notebook shows, computed by :func:`churn_report`.

    Attributes are tidy DataFrames or results of this module; ``summary`` is the executive
    summary in Markdown; ``notes`` lists analyses skipped and why (e.g. no activity data).
    """

    churn: pd.DataFrame = field(repr=False)
    km: pd.DataFrame = field(repr=False)
    at_risk: pd.DataFrame = field(repr=False)
    overall: pd.DataFrame = field(repr=False)
    by_segment: pd.DataFrame = field(repr=False)
    rmst: pd.DataFrame = field(repr=False)
    logrank: LogrankResult = field(repr=False)
    cox: CoxResult = field(repr=False)
    ph: pd.DataFrame = field(repr=False)
    cox_stratified: CoxResult | None = field(repr=False)
    landmark_model: CoxResult | None = field(repr=False)
    participation: pd.DataFrame | None = field(repr=False)
    time_varying: CoxResult | None = field(repr=False)
    truth: pd.DataFrame | None = field(repr=False)
    risk: pd.DataFrame = field(repr=False)
    summary: str = ""
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The adjusted Cox hazard ratios (the headline table)."""
        return self.cox.to_frame()


def planted_truth(dataset) -> dict | None:
    """``truth.json`` of a synthetic dataset (name or folder), or None for real data."""
    path = config.dataset_dir(dataset) / "truth.json"
    if not path.exists():
        return None
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def churn_report(members: pd.DataFrame, events: pd.DataFrame, *,
                 inactivity_days: float = config.INACTIVITY_DAYS, observed_until=None,
                 active_types: Sequence[str] | None = None, segment_col: str = "channel",
                 reference_segment=None, covariates: Sequence[str] = ("channel", "referred"),
                 cluster_col: str | None = "group_id",
                 horizon_days: float = config.HORIZON_DAYS,
                 survival_days: Sequence[float] = (30, 90, 180), at_risk_every: float = 30,
                 early_landmark_days: int = 7, risk_horizon_days: float = 30,
                 risk_top: int | None = None, truth: dict | None = None,
                 cox_resolution_days: float | None = 1 / 24,
                 alpha: float = config.ALPHA) -> ChurnReport:
    """Run the whole churn analysis of the ``02_churn_survival`` notebook.

    Steps: :func:`churn_table` → KM by segment (:func:`km_table`, :func:`at_risk_table`,
    :func:`survival_summary`) → RMST differences vs the reference segment → log-rank tests →
    Cox model on ``covariates`` with cluster-robust SEs → PH check and stratified refit if
    needed → early-engagement landmark model → participation effects (naive, landmark,
    time-varying) → planted truth (synthetic data) → risk list from the time-varying model.
    Parts that the data cannot support (no activity participation, one segment…) are skipped
    and listed in ``notes``.

    Parameters
    ----------
    members, events : DataFrame
        Tables of a Community.
    segment_col : str
        Column of the churn table to compare segments on (channel, group_id, platform…).
    reference_segment : optional
        Reference level for RMST differences and the Cox baseline (default: largest segment).
    covariates : sequence of str
        Cox covariates (columns of the churn table).
    cluster_col : str, optional
        Cluster-robust SEs by this column (skipped if absent).
    truth : dict, optional
        ``truth.json`` of a synthetic dataset (:func:`planted_truth`).
    cox_resolution_days : float, optional
        Durations rounded up to this unit for the Cox fits (default: hours; None = exact), which
        keeps a million-member report interactive (see :func:`cox_model`).
    Other parameters are passed to the steps of the same name.

    Returns
    -------
    ChurnReport
    """
    notes = []
    now = churn_table(members, events, inactivity_days=inactivity_days,
                      observed_until=observed_until, active_types=active_types, censoring="end")
    ct = censor_when_detectable(now, inactivity_days=inactivity_days)
    check_columns(ct, {"segment_col": segment_col,
                       **{f"covariates[{i}]": c for i, c in enumerate(covariates)}})
    if cluster_col is not None and cluster_col not in ct.columns:
        notes.append(f"cluster column {cluster_col!r} not found: model-based standard errors")
        cluster_col = None
    sizes = ct[segment_col].astype(str).value_counts()
    if reference_segment in (None, ""):
        reference_segment = sizes.index[0]
    elif str(reference_segment) not in sizes.index:
        raise ParameterError(f"reference_segment={reference_segment!r} is not a value of "
                             f"{segment_col!r}; allowed values: {sorted(sizes.index)}")
    reference_segment = str(reference_segment)
    seg = ct.assign(**{segment_col: ct[segment_col].astype(str)})
    km = km_table(seg, group_col=segment_col, alpha=alpha)
    last = float(np.ceil(seg["duration_days"].max()))
    at_risk = at_risk_table(km, times=np.arange(0, last + 1e-9, at_risk_every))
    overall = survival_summary(seg, times=survival_days, alpha=alpha)
    by_segment = survival_summary(seg, group_col=segment_col, times=survival_days, alpha=alpha)
    if len(sizes) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            rmst = rmst_difference(seg, group_col=segment_col, horizon_days=horizon_days,
                                   reference=reference_segment, alpha=alpha)
        logrank = logrank_tests(seg, group_col=segment_col, alpha=alpha)
    else:
        notes.append(f"only one {segment_col}: no segment comparison")
        rmst = pd.DataFrame(columns=["group", "reference", "horizon_days", "rmst",
                                     "rmst_reference", "difference", "se", "ci_low",
                                     "ci_high", "p_value"])
        logrank = LogrankResult(np.nan, 0, np.nan, pd.DataFrame(
            columns=["group_a", "group_b", "statistic", "p_value", "p_adjusted", "significant"]))
    covariates = [c for c in covariates if seg[c].nunique() > 1]
    baselines = {segment_col: reference_segment} if segment_col in covariates else {}
    cox = cox_model(seg, covariates=covariates, baselines=baselines, cluster_col=cluster_col,
                    resolution_days=cox_resolution_days, alpha=alpha)
    ph = ph_check(cox, alpha=alpha)
    strat = stratify_violations(cox, seg, ph, cluster_col=cluster_col, alpha=alpha)
    cox_stratified = None if strat is cox else strat
    early_col = "early_events_7d"
    lm = landmark(seg, landmark_days=early_landmark_days)
    landmark_model = None
    if lm["churned"].sum() >= 10 and lm[early_col].nunique() > 1:
        landmark_model = cox_model(lm, covariates=[early_col, *covariates], baselines=baselines,
                                   cluster_col=cluster_col, resolution_days=cox_resolution_days,
                                   alpha=alpha)
    else:
        notes.append(f"too few members/churns after day {early_landmark_days} for the "
                     "early-engagement landmark model")
    participation = tv = truth_tab = None
    took_part = np.isfinite(seg["days_to_first_participation"])
    adjust = [c for c in covariates if c != "participated"]
    if took_part.sum() >= 10 and (~took_part).sum() >= 10:
        participation = participation_effects(
            seg, adjust_for=adjust, baselines=baselines, alpha=alpha,
            truth_hr=None if truth is None else truth.get("participation_hazard_ratio"))
        tv = time_varying_cox(time_varying_long(seg, covariates=adjust), covariates=adjust,
                              baselines=baselines, alpha=alpha)
        risk_model = tv
    else:
        notes.append("too few members took part in an activity (activity_join events) to "
                     "model participation; the risk list uses the static Cox model")
        risk_model = cox
    if truth is not None:
        truth_tab = truth_table(tv if tv is not None else cox, truth, segment_col=segment_col)
    risk = risk_list(now.assign(**{segment_col: now[segment_col].astype(str)}), risk_model,
                     horizon_days=risk_horizon_days, top=risk_top)
    summary = summary_markdown(ct, overall=overall, rmst=rmst, logrank=logrank, cox=cox,
                               participation=participation, risk=risk, ph=ph,
                               stratified=cox_stratified, segment_col=segment_col,
                               inactivity_days=inactivity_days,
                               risk_horizon_days=risk_horizon_days,
                               horizon_days=horizon_days, alpha=alpha)
    if notes:
        summary += "- **Skipped**: " + "; ".join(notes) + ".\n"
    return ChurnReport(churn=ct, km=km, at_risk=at_risk, overall=overall, by_segment=by_segment,
                       rmst=rmst, logrank=logrank, cox=cox, ph=ph,
                       cox_stratified=cox_stratified, landmark_model=landmark_model,
                       participation=participation, time_varying=tv, truth=truth_tab, risk=risk,
                       summary=summary, notes=tuple(notes))

