"""The churn report of notebook 02: every analysis run once, collected in a ChurnReport.

:func:`churn_report` computes; :mod:`helpers.survival.render` turns the report into reviewer
text (zh / en). Reasons for skipped or changed sections are kept as data (``notes``: ``Note``
objects of :data:`helpers.survival._messages.NOTES`), never as warning text.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from .._checks import check_alpha, check_choice
from .._i18n import Note
from ..errors import AnalysisWarning, ParameterError
from ._common import check_columns
from ._messages import NOTES, word
from .churn import CENSORING, Censoring, censor_when_detectable, censoring_sensitivity, churn_table
from .cox import CoxResult, cox_model, landmark, ph_check, stratify_violations
from .km import at_risk_table, km_table, rmst_difference, survival_summary
from .logrank import LogrankResult, logrank_tests
from .risk import risk_list
from .time_varying import participation_effects, time_varying_cox, time_varying_long, truth_table

__all__ = ["ChurnSettings", "ChurnReport", "planted_truth", "churn_report", "EARLY_COL"]

EARLY_COL = "early_events_7d"  # the early-activity covariate of the churn table (7-day window)
MIN_MEMBERS = 10  # fewer members (or churns) than this in a subset: the model is skipped


def _positive(name: str, v, allow_none: bool = False):
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not v > 0:
        raise ParameterError(f"{name} must be a positive number, got {v!r}")


@dataclass(frozen=True)
class ChurnSettings:
    """Options of :func:`churn_report` (validated on creation).

    Attributes
    ----------
    inactivity_days : float
        Days without an active event that count as churn.
    observed_until : str, Timestamp or None
        End of observation (None: the last event).
    active_types : tuple of str or None
        Event types that count as activity (None: all; an empty list is refused).
    censoring : {"detectable", "end"}
        Censoring rule of the churn table (see :func:`helpers.survival.churn_table`).
    segment_col : str or None
        Column to compare segments on; None or "" = no segments.
    reference_segment : str or None
        Reference segment for RMST differences and the Cox baseline (None: the largest).
    covariates : tuple of str
        Cox covariates; those that do not vary are dropped with a note.
    cluster_col : str or None
        Cluster-robust standard errors by this column (None or "": none).
    horizon_days, survival_days, at_risk_every, early_landmark_days
        RMST horizon, days at which survival is read, spacing of the at-risk table, landmark.
    risk_horizon_days, risk_active_within_days, risk_top
        Risk-list window, "currently active" window, rows kept (None: all).
    risk_threshold : float
        A member of the risk list counts as "at risk" when the predicted probability of
        churning within ``risk_horizon_days`` is at least this (default 30%; the summary and
        the overview's churn-risk count both read it here).
    cox_resolution_days : float or None
        Durations rounded up to this unit for the static Cox fits (None: exact).
    alpha : float
        Significance level (intervals at 1 − alpha).
    """

    inactivity_days: float = config.INACTIVITY_DAYS
    observed_until: object = None
    active_types: tuple[str, ...] | None = None
    censoring: Censoring = "detectable"
    segment_col: str | None = "channel"
    reference_segment: str | None = None
    covariates: tuple[str, ...] = ("channel", "referred")
    cluster_col: str | None = "group_id"
    horizon_days: float = config.HORIZON_DAYS
    survival_days: tuple[float, ...] = (30, 90, 180)
    at_risk_every: float = 30
    early_landmark_days: int = 7
    risk_horizon_days: float = 30
    risk_active_within_days: float = 7
    risk_top: int | None = None
    cox_resolution_days: float | None = 1 / 24
    alpha: float = config.ALPHA
    risk_threshold: float = 0.3

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        for name in ("segment_col", "reference_segment", "cluster_col"):
            v = getattr(self, name)
            put(name, None if v is None or (isinstance(v, str) and not v.strip()) else str(v))
        if self.observed_until == "":
            put("observed_until", None)
        at = self.active_types
        if at is not None:
            put("active_types", (at,) if isinstance(at, str) else tuple(at))
        cov = self.covariates
        put("covariates", ((cov,) if isinstance(cov, str) else tuple(c for c in cov if c)))
        days = self.survival_days
        put("survival_days", tuple(float(d) for d in ((days,) if np.isscalar(days) else days)))
        check_choice("censoring", self.censoring, CENSORING)
        check_alpha(self.alpha)
        for name in ("inactivity_days", "horizon_days", "at_risk_every", "risk_horizon_days",
                     "risk_active_within_days"):
            _positive(name, getattr(self, name))
        _positive("cox_resolution_days", self.cox_resolution_days, allow_none=True)
        if not (isinstance(self.early_landmark_days, (int, np.integer))
                and self.early_landmark_days > 0):
            raise ParameterError("early_landmark_days must be a positive whole number of days, "
                                 f"got {self.early_landmark_days!r}")
        if self.risk_top is not None and not (isinstance(self.risk_top, (int, np.integer))
                                              and self.risk_top > 0):
            raise ParameterError(f"risk_top must be a positive whole number or None, got "
                                 f"{self.risk_top!r}")
        for d in self.survival_days:
            _positive("survival_days", d)
        if isinstance(self.risk_threshold, bool) or not (
                isinstance(self.risk_threshold, (int, float, np.floating))
                and 0 < float(self.risk_threshold) < 1):
            raise ParameterError(f"risk_threshold={self.risk_threshold!r} must be a probability "
                                 "strictly between 0 and 1, e.g. 0.3")


@dataclass(frozen=True)
class ChurnReport:
    """Everything the churn notebook shows, computed by :func:`churn_report`.

    Tables are tidy DataFrames or results of this package; a section the data cannot support
    is None (or an empty frame) and ``notes`` says why (``_i18n.Note``: English as its text,
    :func:`helpers.survival.render_summary` renders it in the report's language).

    Attributes
    ----------
    settings : ChurnSettings
    churn : DataFrame
        The churn table analysed (:func:`churn_table` with ``settings.censoring``).
    current : DataFrame
        The churn table with ``censoring="end"``: every member as they are at the end (the risk
        list and the member counts use it).
    counts : dict
        ``joined, left, current, silent, recent, analysed, churned, exits, inactive,
        censored, scored`` — the counts the summary reconciles with the cohort report.
    observed_until, follow_until : Timestamp
        End of observation, and the time until which members are followed (``observed_until
        − inactivity_days`` under the detectable rule).
    segment_col, reference : str or None
        The segment column used (None: no segments) and the reference segment.
    covariates, dropped_covariates : tuple of str
        Cox covariates used, and those dropped because they do not vary.
    km, at_risk, overall, by_segment, rmst, censoring
        Kaplan–Meier curves, members at risk, survival of all members and by segment, RMST
        differences, and :func:`censoring_sensitivity` (both rules side by side).
    logrank, cox, ph, cox_stratified, landmark_model, participation, time_varying, truth
        Log-rank tests, Cox model and its PH check and stratified refit, early-activity landmark
        model, participation effects, the time-varying model and the planted truth next to it.
    risk_model, risk : CoxResult, DataFrame
        The model the risk list is scored with (time-varying participation, early activity from
        day 7, static covariates) and the list (all scored members, highest risk first).
    notes : tuple of Note
        Sections skipped or changed, and why.
    """

    settings: ChurnSettings
    churn: pd.DataFrame = field(repr=False)
    current: pd.DataFrame = field(repr=False)
    counts: dict = field(default_factory=dict)
    observed_until: pd.Timestamp | None = None
    follow_until: pd.Timestamp | None = None
    segment_col: str | None = None
    reference: str | None = None
    covariates: tuple[str, ...] = ()
    dropped_covariates: tuple[str, ...] = ()
    km: pd.DataFrame | None = field(default=None, repr=False)
    at_risk: pd.DataFrame | None = field(default=None, repr=False)
    overall: pd.DataFrame | None = field(default=None, repr=False)
    by_segment: pd.DataFrame | None = field(default=None, repr=False)
    rmst: pd.DataFrame | None = field(default=None, repr=False)
    censoring: pd.DataFrame | None = field(default=None, repr=False)
    logrank: LogrankResult | None = field(default=None, repr=False)
    cox: CoxResult | None = field(default=None, repr=False)
    ph: pd.DataFrame | None = field(default=None, repr=False)
    cox_stratified: CoxResult | None = field(default=None, repr=False)
    landmark_model: CoxResult | None = field(default=None, repr=False)
    participation: pd.DataFrame | None = field(default=None, repr=False)
    time_varying: CoxResult | None = field(default=None, repr=False)
    truth: pd.DataFrame | None = field(default=None, repr=False)
    risk_model: CoxResult | None = field(default=None, repr=False)
    risk: pd.DataFrame | None = field(default=None, repr=False)
    notes: tuple = ()

    @property
    def summary(self) -> str:
        """The executive summary in English (:func:`helpers.survival.render_summary`)."""
        from .render import render_summary

        return render_summary(self, "en")

    def to_frame(self) -> pd.DataFrame:
        """The Cox hazard ratios (the headline table; empty when the Cox model was skipped)."""
        return self.cox.to_frame() if self.cox is not None else pd.DataFrame(
            columns=["term", "covariate", "level", "coef", "se", "hazard_ratio", "ci_low",
                     "ci_high", "p_value"])


def planted_truth(dataset) -> dict | None:
    """``truth.json`` of a synthetic dataset (name or folder), or None for real data."""
    path = config.dataset_dir(dataset) / "truth.json"
    if not path.exists():
        return None
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def churn_report(members: pd.DataFrame, events: pd.DataFrame,
                 settings: ChurnSettings | None = None, *, truth: dict | None = None,
                 **options) -> ChurnReport:
    """Run the whole churn analysis of the ``02_churn_survival`` notebook.

    Steps: :func:`churn_table` (members as they are at the end, and the analysed table under
    ``settings.censoring``) → KM by segment, members at risk, survival at given days → RMST
    differences vs the reference segment → log-rank tests → Cox model on the covariates that
    vary (cluster-robust SEs) → PH check and stratified refit if needed → early-activity
    landmark model → participation effects (naive, landmark, time-varying) → planted truth
    (synthetic data) → risk list from a time-varying model (participation so far, early
    activity from day 7, static covariates). Parts the data cannot support are skipped with a
    note (``ChurnReport.notes``): thin exports get a report, not an error.

    Parameters
    ----------
    members, events : DataFrame
        Tables of a Community.
    settings : ChurnSettings, optional
        Options; keyword ``options`` (any ChurnSettings field, e.g. ``segment_col="platform"``)
        replace single fields.
    truth : dict, optional
        ``truth.json`` of a synthetic dataset (:func:`planted_truth`).

    Returns
    -------
    ChurnReport
    """
    with warnings.catch_warnings():
        # caveats reach the report as data: a penalised refit is in CoxResult.penalizer/notes
        warnings.simplefilter("ignore", AnalysisWarning)
        return _churn_report(members, events, settings, truth, options)


def _churn_report(members, events, settings, truth, options) -> ChurnReport:
    st = settings or ChurnSettings()
    if options:
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(ChurnSettings)})
        if unknown:
            raise ParameterError(f"churn_report got unknown option(s) {unknown}; options are "
                                 "the fields of ChurnSettings")
        st = dataclasses.replace(st, **options)
    notes: list[Note] = []
    now = churn_table(members, events, inactivity_days=st.inactivity_days,
                      observed_until=st.observed_until, active_types=st.active_types,
                      censoring="end")
    end = pd.Timestamp(now.attrs["observed_until"])
    ct = censor_when_detectable(now, inactivity_days=st.inactivity_days) \
        if st.censoring == "detectable" else now
    ct = ct.reset_index(drop=True)
    ct.attrs.update(now.attrs, censoring=st.censoring)
    follow_until = end - pd.Timedelta(days=st.inactivity_days) if st.censoring == "detectable" \
        else end
    reasons = now["churn_reason"].astype(str)
    counts = dict(joined=len(now), left=int((reasons == "exit").sum()),
                  silent=int((reasons == "inactivity").sum()),
                  analysed=len(ct), churned=int(ct["churned"].sum()),
                  exits=int((ct["churn_reason"].astype(str) == "exit").sum()),
                  inactive=int((ct["churn_reason"].astype(str) == "inactivity").sum()))
    counts["current"] = counts["joined"] - counts["left"]
    counts["recent"] = counts["current"] - counts["silent"]
    counts["censored"] = counts["analysed"] - counts["churned"]
    base = dict(settings=st, churn=ct, current=now, counts=counts, observed_until=end,
                follow_until=follow_until)
    if ct.empty or ct["duration_days"].max() <= 0:
        notes.append(Note(NOTES, "no_history", inactivity=st.inactivity_days))
        counts["scored"] = 0
        return ChurnReport(**base, notes=tuple(notes))

    # --- segments
    seg_col = st.segment_col
    if seg_col is not None:
        check_columns(ct, {"segment_col": seg_col})
    missing_cov = [c for c in st.covariates if c not in ct.columns]
    check_columns(ct, {f"covariates[{st.covariates.index(c)}]": c for c in missing_cov})
    text_cols = {c for c in (seg_col, *st.covariates) if c is not None
                 and not pd.api.types.is_numeric_dtype(ct[c]) and not
                 pd.api.types.is_bool_dtype(ct[c])}
    seg = ct.assign(**{c: ct[c].astype("string").fillna("unknown").astype(str)
                       for c in text_cols})
    cur = now.assign(**{c: now[c].astype("string").fillna("unknown").astype(str)
                        for c in text_cols})
    reference = None
    levels = []
    if seg_col is None:
        notes.append(Note(NOTES, "no_segments"))
    else:
        sizes = seg[seg_col].value_counts()
        levels = list(sizes.index)
        if st.reference_segment is None:
            reference = levels[0]
        elif st.reference_segment not in levels:
            raise ParameterError(f"reference_segment={st.reference_segment!r} is not a value of "
                                 f"{seg_col!r}; allowed values: {sorted(levels)}")
        else:
            reference = st.reference_segment
        if len(levels) < 2:
            notes.append(Note(NOTES, "one_segment", segment=_words(seg_col), level=levels[0]))
    km = km_table(seg, group_col=seg_col if len(levels) >= 2 else None, alpha=st.alpha)
    last = float(np.ceil(seg["duration_days"].max()))
    at_risk = at_risk_table(km, times=np.arange(0, last + 1e-9, st.at_risk_every))
    overall = survival_summary(seg, times=st.survival_days, alpha=st.alpha)
    by_segment = survival_summary(seg, group_col=seg_col, times=st.survival_days,
                                  alpha=st.alpha) if len(levels) >= 2 else overall
    rmst = logrank = None
    if len(levels) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)  # flat tails: shown in the table
            rmst = rmst_difference(seg, group_col=seg_col, horizon_days=st.horizon_days,
                                   reference=reference, alpha=st.alpha)
        logrank = logrank_tests(seg, group_col=seg_col, alpha=st.alpha)
    censoring = censoring_sensitivity(now.assign(**{c: cur[c] for c in text_cols}),
                                      inactivity_days=st.inactivity_days,
                                      times=st.survival_days, alpha=st.alpha) \
        if (now["observed_days"] > st.inactivity_days).any() else None

    # --- clusters and covariates
    cluster = st.cluster_col
    if cluster is not None:
        if cluster not in ct.columns:
            notes.append(Note(NOTES, "cluster_missing", column=cluster))
            cluster = None
        elif ct[cluster].isna().any() or (ct[cluster].astype(str).str.strip() == "").any():
            notes.append(Note(NOTES, "cluster_blank"))
            cluster = None
        elif ct[cluster].nunique() < 2:
            notes.append(Note(NOTES, "cluster_one"))
            cluster = None
    covariates = [c for c in st.covariates if seg[c].nunique(dropna=False) > 1]
    dropped = tuple(c for c in st.covariates if c not in covariates)
    if dropped:
        notes.append(Note(NOTES, "dropped_covariates",
                          covariates=[_words(c) for c in dropped]))
    baselines = {seg_col: reference} if seg_col in covariates else {}
    cox = ph = cox_stratified = landmark_model = None
    if covariates and seg["churned"].sum() >= MIN_MEMBERS:
        cox = cox_model(seg, covariates=covariates, baselines=baselines, cluster_col=cluster,
                        resolution_days=st.cox_resolution_days, alpha=st.alpha)
        ph = ph_check(cox, alpha=st.alpha)
        strat = stratify_violations(cox, seg, ph, cluster_col=cluster, alpha=st.alpha)
        cox_stratified = None if strat is cox else strat
    else:
        notes.append(Note(NOTES, "no_covariates"))
    lm = landmark(seg, landmark_days=st.early_landmark_days)
    if lm["churned"].sum() >= MIN_MEMBERS and lm[EARLY_COL].nunique() > 1:
        lm_cov = [EARLY_COL, *[c for c in covariates if lm[c].nunique() > 1]]
        landmark_model = cox_model(lm, covariates=lm_cov, baselines=baselines,
                                   cluster_col=cluster, resolution_days=st.cox_resolution_days,
                                   alpha=st.alpha)
    else:
        notes.append(Note(NOTES, "no_landmark", day=st.early_landmark_days))

    # --- participation (time-varying) and planted truth
    participation = tv = truth_tab = None
    took_part = np.isfinite(seg["days_to_first_participation"]) & (
        seg["days_to_first_participation"] < seg["duration_days"])
    if took_part.sum() >= MIN_MEMBERS and (~took_part).sum() >= MIN_MEMBERS \
            and seg["churned"].sum() >= MIN_MEMBERS:
        participation = participation_effects(
            seg, adjust_for=covariates, baselines=baselines, alpha=st.alpha,
            resolution_days=st.cox_resolution_days,
            truth_hr=None if truth is None else truth.get("participation_hazard_ratio"))
        if not covariates:  # nothing to adjust for: the "adjusted" rows would repeat the others
            participation = participation[~participation["adjusted"]].reset_index(drop=True)
        tv = time_varying_cox(time_varying_long(seg, covariates=covariates),
                              covariates=covariates, baselines=baselines, alpha=st.alpha)
    else:
        notes.append(Note(NOTES, "no_participation"))
    if truth is not None and (tv is not None or cox is not None):
        truth_tab = truth_table(tv if tv is not None else cox, truth,
                                segment_col=seg_col or "channel")

    # --- risk list: participation so far, early activity from day 7, static covariates
    delayed = {EARLY_COL: 7} if seg[EARLY_COL].nunique() > 1 else {}
    risk_model = risk = None
    if tv is not None or covariates or delayed:
        long = time_varying_long(seg, covariates=covariates, delayed=delayed)
        indicator = "participated" if tv is not None else None
        risk_model = time_varying_cox(long, covariates=[*covariates, *delayed],
                                      indicator=indicator, baselines=baselines, alpha=st.alpha)
        risk = risk_list(cur, risk_model, horizon_days=st.risk_horizon_days,
                         active_within_days=st.risk_active_within_days, delayed=delayed,
                         top=st.risk_top, alpha=st.alpha)
        if risk.empty:
            notes.append(Note(NOTES, "no_scored", within=st.risk_active_within_days))
    else:
        notes.append(Note(NOTES, "no_risk_model"))
    counts["scored"] = 0 if risk is None else int(risk["churn_risk"].notna().sum())
    return ChurnReport(**base, segment_col=seg_col if len(levels) >= 2 else None,
                       reference=reference if len(levels) >= 2 else None,
                       covariates=tuple(covariates), dropped_covariates=dropped, km=km,
                       at_risk=at_risk, overall=overall, by_segment=by_segment, rmst=rmst,
                       censoring=censoring, logrank=logrank, cox=cox, ph=ph,
                       cox_stratified=cox_stratified, landmark_model=landmark_model,
                       participation=participation, time_varying=tv, truth=truth_tab,
                       risk_model=risk_model, risk=risk, notes=tuple(notes))


def _words(column: str):
    """A column's word for reviewers in the note's language (escaped when it is a raw name)."""
    from .._format import escape_md

    return lambda language: word(column, language, escape=escape_md, prose=True)
