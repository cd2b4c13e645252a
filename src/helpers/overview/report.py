"""The overview report: every figure of the first page, computed by the detail reports' functions.

:func:`overview_report` calls, with the detail notebooks' parameters (:class:`OverviewSettings`):

- report 01: :func:`helpers.cohorts.cohort_report` (weekly growth and stickiness, D30 of all
  eligible members, the layer mix and transitions), and :func:`helpers.cohorts.n_day_retention`
  for the D30 of recent joiners;
- report 02: :func:`helpers.survival.churn_report` (its risk list: the churn-risk count);
- report 03: :func:`helpers.exp_metrics.analyse_experiment` for each experiment (decisions);
- report 04: :func:`helpers.conversion.funnel` (30-day purchase conversion) and
  :func:`helpers.conversion.channel_scorecard`.

It returns an :class:`OverviewReport` (numbers only); :mod:`helpers.overview.render` turns it
into reviewer text. A section the data cannot support carries a ``reason`` (a message key)
instead of numbers; caveats raised by the detail functions are kept in ``warnings``.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import cohorts
from ..config import safe_name
from ..errors import AnalysisWarning, WorkspaceError
from .._time import tz_of
from .indicators import (COHORT_COLUMN, INDICATORS, N_DAY, WINDOW_COLUMN, Indicator,
                         growth_indicators, join_windows, share_indicator, until_of)
from .settings import OverviewSettings

PURCHASE = "purchase"  # the data contract's purchase event type (DESIGN §3)
SCORECARD_BY = "channel"  # the channel scorecard compares acquisition channels
PERIOD = "W"  # weekly indicators: report 01's default period


# ----------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class LayerMix:
    """Member layers now and one layer window before, and how members moved between them.

    ``layers`` are the English keys (core, active, potential, dormant …) in report 01's order.
    Everything comes from report 01's :func:`helpers.cohorts.cohort_report`: ``now`` is its
    layer mix of the current members at the end of observation (``left``: members who had left
    by then, in no layer); the moves are its layer transitions over its transition window
    (``since`` → ``as_of``: members current at both ends; ``left_since`` of those current at
    ``since`` left in between); ``before`` is the mix at ``since`` with the same rules
    (:func:`helpers.cohorts.member_layers` and :func:`helpers.cohorts.layer_mix`).
    """

    layers: tuple[str, ...] = ()
    now: tuple[int, ...] = ()
    before: tuple[int, ...] = ()
    left: int = 0
    left_since: int = 0
    moved_up: int = 0
    moved_down: int = 0
    stayed: int = 0
    as_of: pd.Timestamp | None = None
    since: pd.Timestamp | None = None
    reason: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """``layer, members_now, share_now, members_before, share_before``."""
        now, before = np.asarray(self.now, float), np.asarray(self.before, float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.DataFrame({
                "layer": list(self.layers), "members_now": list(self.now),
                "share_now": now / now.sum() if now.sum() else np.nan,
                "members_before": list(self.before),
                "share_before": before / before.sum() if before.sum() else np.nan})


@dataclass(frozen=True)
class ExperimentLine:
    """One experiment's decision, as report 03 states it, and the link to that report.

    ``decision`` is the decision rule's outcome, ``verdict`` the same for a normal experiment
    and ``aa_passed`` / ``aa_failed`` for an A/A test (``ExperimentReport.verdict``);
    ``experiment`` is report 03's :class:`~helpers.exp_metrics.ExperimentReport` itself (its
    renderer words the decision and the metric).
    """

    experiment_id: str
    name: str
    decision: str
    unit: str
    starts_at: pd.Timestamp | None
    ends_at: pd.Timestamp | None
    primary_label: str = ""
    relative: bool = True
    kind: str = "mean"
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_adjusted: float | None = None
    link: str = ""
    verdict: str = ""
    metric: str = ""
    experiment: object | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ChurnRisk:
    """The churn-risk count of report 02: currently active members its risk list scores (those
    with a predicted risk) and those at or above ``threshold`` probability of churning within
    ``horizon_days`` — the figures of report 02's summary (``threshold`` is report 02's
    :attr:`helpers.survival.ChurnSettings.risk_threshold`)."""

    scored: int = 0
    at_risk: int = 0
    threshold: float | None = None
    horizon_days: int = 30
    active_within_days: float = 7
    median_risk: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class OverviewReport:
    """Everything the overview shows (numbers; the renderer writes the text).

    Attributes
    ----------
    dataset : str
        The dataset's name.
    observed_until : Timestamp
        End of observation of every section.
    members : int
        Current members then (joined, not left: ``growth().members_end`` at the end).
    indicators : tuple of Indicator
        growth, activity, retention, conversion (in that order).
    layers : LayerMix
    experiments : tuple of ExperimentLine
        Latest first; ``experiments_reason`` says why there are none.
    churn : ChurnRisk
    scorecard : DataFrame or None
        :func:`helpers.conversion.channel_scorecard` by channel (report 04's table), with
        ``scorecard_leaders`` (:func:`helpers.conversion.scorecard_leaders`: best and worst
        only where intervals do not overlap); ``scorecard_reason`` when missing.
    warnings : tuple of str
        Caveats raised by the detail functions (shown in the detail reports).
    """

    dataset: str
    observed_until: pd.Timestamp
    members: int
    settings: OverviewSettings
    indicators: tuple[Indicator, ...]
    layers: LayerMix
    experiments: tuple[ExperimentLine, ...] = ()
    experiments_reason: str | None = None
    churn: ChurnRisk = field(default_factory=ChurnRisk)
    scorecard: pd.DataFrame | None = field(default=None, repr=False)
    scorecard_leaders: pd.DataFrame | None = field(default=None, repr=False)
    scorecard_reason: str | None = None
    warnings: tuple[str, ...] = ()

    def indicator(self, key: str) -> Indicator:
        """The indicator ``key`` (growth, activity, retention, conversion)."""
        for ind in self.indicators:
            if ind.key == key:
                return ind
        raise KeyError(f"no indicator {key!r}; indicators: {', '.join(INDICATORS)}")

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator with its figures (for analysts)."""
        return pd.DataFrame([i.to_frame().iloc[0].to_dict() for i in self.indicators])


@contextmanager
def _collect(notes: list[str]):
    """Catch the warnings raised inside the block: the analyses' caveats (AnalysisWarning) go
    into ``notes`` (``report.warnings``, for analysts; the detail reports state them to
    reviewers), library noise (deprecations, resource warnings) is dropped here — the detail
    report that calls the same function shows it to its owner."""
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in log:
                if issubclass(w.category, AnalysisWarning) and str(w.message) not in notes:
                    notes.append(str(w.message))


def _float(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def report_link(experiment_id: str) -> str:
    """File name of an experiment's A/B report in the same language folder (the batch's
    ``03_ab_{experiment_id}`` run name, made file-name safe by :func:`helpers.config.safe_name`,
    the rule the batch uses).

    Examples
    --------
    >>> report_link("exp/live 2")
    '03_ab_exp_live_2.html'
    """
    return f"{safe_name(f'03_ab_{experiment_id}')}.html"


# ----------------------------------------------------------------------------- the sections
def _cohort_report(ds, s: OverviewSettings):
    """Report 01's :func:`helpers.cohorts.cohort_report`, called as its notebook calls it
    (weekly periods: the notebook's default)."""
    return cohorts.cohort_report(ds.members, ds.events, period=PERIOD, mode=s.retention_mode,
                                 by=s.retention_by or None, active_types=_types(s),
                                 observed_until=s.observed_until)


def _layer_mix(ds, s: OverviewSettings, cr) -> LayerMix:
    now = cr.layers
    if now is None or now.current == 0:
        return LayerMix(reason="no_members")
    cats = [str(c) for c in now.table["layer"]]
    keys = tuple(cohorts.LAYER_ALIASES.get(c, c) for c in cats)
    common = dict(layers=keys, now=tuple(int(v) for v in now.table["members"]),
                  left=int(now.left), as_of=pd.Timestamp(now.as_of))
    moves = cr.transitions
    if moves is None or cr.transition_window is None:
        return LayerMix(**common)
    t0, t1 = cr.transition_window
    before = cohorts.layer_mix(
        cohorts.member_layers(ds.members, ds.events, as_of=t0, active_types=_types(s)),
        ds.members, as_of=t0)
    b = before.table.set_index(before.table["layer"].astype(str))["members"]
    by_dir = moves.groupby("direction")["members"].sum()
    return LayerMix(before=tuple(int(v) for v in b.reindex(cats, fill_value=0)),
                    left_since=int(cr.transition_left),
                    moved_up=int(by_dir.get("up", 0)), moved_down=int(by_dir.get("down", 0)),
                    stayed=int(by_dir.get("same", 0)), since=pd.Timestamp(t0), **common)


def _types(s: OverviewSettings):
    return None if s.active_types is None else list(s.active_types)


def _experiments(ds, s: OverviewSettings, notes) -> tuple[tuple[ExperimentLine, ...], str | None]:
    from .. import exp_metrics

    table = getattr(ds, "experiments", None)
    if table is None or len(table) == 0:
        return (), "no_experiments"
    if getattr(ds, "assignments", None) is None or len(ds.assignments) == 0:
        return (), "no_assignments"
    t = table.copy()
    order = t["ends_at"] if "ends_at" in t else pd.Series(pd.NaT, index=t.index)
    t = t.assign(_end=order).sort_values("_end", ascending=False, kind="stable",
                                          na_position="last")
    lines = []
    for eid in t["experiment_id"].astype(str).head(s.max_experiments):
        with _collect(notes):
            rep = exp_metrics.analyse_experiment(
                ds, eid, metrics=list(s.metrics), primary_metric=s.primary_metric,
                guardrails=list(s.guardrails), alpha=s.alpha, correction=s.correction,
                cuped=s.cuped, cuped_days=s.cuped_days, retention_days=s.retention_days,
                on_error="report")
        row = {}
        res = rep.results
        if res is not None and not res.empty and "role" in res:
            prim = res.loc[res["role"] == "primary"]
            if len(prim):
                row = prim.iloc[0].to_dict()
        lines.append(ExperimentLine(
            experiment_id=str(rep.experiment_id), name=str(rep.name or ""),
            decision=str(rep.decision), unit=str(rep.unit or ""),
            starts_at=rep.starts_at, ends_at=rep.ends_at,
            primary_label=str(row.get("label") or row.get("metric") or ""),
            relative=bool(row.get("relative", True)), kind=str(row.get("kind", "mean")),
            estimate=_float(row.get("estimate")), ci_low=_float(row.get("ci_low")),
            ci_high=_float(row.get("ci_high")), p_adjusted=_float(row.get("p_adjusted")),
            link=report_link(str(rep.experiment_id)),
            verdict=str(getattr(rep, "verdict", rep.decision)), metric=str(row.get("metric", "")),
            experiment=rep))
    return tuple(lines), None


def _churn_settings(s: OverviewSettings):
    """Report 02's :class:`~helpers.survival.ChurnSettings`, built as its notebook builds it."""
    from .. import survival

    return survival.ChurnSettings(
        inactivity_days=s.inactivity_days, observed_until=s.observed_until,
        active_types=_types(s), censoring=s.censoring, segment_col=s.segment_col,
        reference_segment=None, covariates=list(s.covariates), cluster_col=s.cluster_col,
        horizon_days=s.horizon_days, survival_days=list(s.survival_days),
        risk_horizon_days=s.risk_horizon_days)


def _churn_risk(ds, s: OverviewSettings, until, notes) -> ChurnRisk:
    from .. import survival

    settings = _churn_settings(s)
    base = dict(threshold=float(settings.risk_threshold), horizon_days=s.risk_horizon_days,
                active_within_days=float(settings.risk_active_within_days))
    # with the detectable rule, churn by inactivity is followed only inactivity_days before the
    # end: when nobody joined before that, no member carries information
    followed = ds.members["joined_at"] <= until - pd.Timedelta(days=s.inactivity_days)
    if s.censoring == "detectable" and not followed.any():
        return ChurnRisk(reason="too_short", **base)
    try:
        with _collect(notes):
            rep = survival.churn_report(ds.members, ds.events, settings)
    except (WorkspaceError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        notes.append(f"churn report not computed: {exc}")
        return ChurnRisk(reason="churn_failed", **base)
    risk = rep.risk
    # scored: the listed members with a risk (past the longest follow-up a risk is unknown)
    r = (pd.Series(dtype=float) if risk is None or len(risk) == 0
         else pd.to_numeric(risk["churn_risk"], errors="coerce").dropna())
    if r.empty:
        return ChurnRisk(reason="no_active_members", **base)
    return ChurnRisk(scored=int(len(r)), at_risk=int((r >= settings.risk_threshold).sum()),
                     median_risk=_float(r.median()), **base)


def _has_purchases(events) -> bool:
    """Whether ``events`` (a DataFrame or the engines' lazy table) hold a purchase."""
    from .. import engine

    if engine.is_lazy(events):
        return PURCHASE in engine.event_types(events)
    return bool((events["event_type"].astype(str) == PURCHASE).any())


def _conversion(ds, s: OverviewSettings, labelled, windows, until, notes) -> Indicator:
    events = ds.events
    has_purchase = _has_purchases(events)
    (r0, r1), (p0, p1) = windows["recent"], windows["previous"]
    common = dict(current_start=r0, current_end=r1, previous_start=p0, previous_end=p1)
    if not has_purchase:
        return Indicator("conversion", "share", reason="no_purchases", **common)
    try:
        from .. import conversion
    except ImportError:
        conversion = None
    if not hasattr(conversion, "funnel"):
        return Indicator("conversion", "share", reason="conversion_unavailable", **common)
    opts = dict(window_days=N_DAY, observed_until=s.observed_until, active_types=_types(s))
    with _collect(notes):
        overall = conversion.funnel(ds.members, events, **opts)
        by_window = conversion.funnel(labelled, events, by=WINDOW_COLUMN, **opts)
        by_cohort = conversion.funnel(labelled, events, by=COHORT_COLUMN, **opts)
    step = "purchased"
    pick = overall.loc[overall["step"] == step]
    return share_indicator(
        "conversion", by_window.loc[by_window["step"] == step], windows=windows,
        overall=pick.iloc[0] if len(pick) else None,
        cohorts=by_cohort.loc[by_cohort["step"] == step], cut=windows["recent"][1],
        count_col="converted", trend_weeks=s.trend_weeks, alpha=0.05)


def _retention(ds, s: OverviewSettings, labelled, windows, overall, notes) -> Indicator:
    """D30 of the recent joiners (the same function as report 01, by join window and weekly
    cohort); ``overall`` is report 01's own D30 table (all eligible members)."""
    opts = dict(mode=s.retention_mode, active_types=_types(s), observed_until=s.observed_until)
    with _collect(notes):
        by_window = cohorts.n_day_retention(labelled, ds.events, days=[N_DAY],
                                            by=WINDOW_COLUMN, **opts)
        by_cohort = cohorts.n_day_retention(labelled, ds.events, days=[N_DAY],
                                            by=COHORT_COLUMN, **opts)
    pick = overall.loc[overall["day"] == N_DAY]
    return share_indicator(
        "retention", by_window, windows=windows, overall=pick.iloc[0] if len(pick) else None,
        cohorts=by_cohort, cut=windows["recent"][1], count_col="retained",
        trend_weeks=s.trend_weeks, alpha=0.05)


def _scorecard(ds, s: OverviewSettings, until, notes):
    try:
        from ..conversion import channel_scorecard, scorecard_leaders
    except ImportError:  # the conversion package not installed yet
        return None, None, "scorecard_unavailable"
    if SCORECARD_BY not in ds.members.columns:
        return None, None, "no_channels"
    # report 04's rules: a scorecard compares two channels or more, and is left out while no
    # figure has been measured for two channels yet
    joined = ds.members.loc[ds.members["joined_at"] <= until, SCORECARD_BY]
    if joined.nunique() < 2:
        return None, None, "one_channel"
    with _collect(notes):
        table = channel_scorecard(ds.members, ds.events, by=SCORECARD_BY,
                                  observed_until=s.observed_until, active_types=_types(s),
                                  inactivity_days=s.inactivity_days, alpha=0.05)
    leaders = scorecard_leaders(table, SCORECARD_BY)
    if (leaders["levels"] < 2).all():
        return None, None, "scorecard_too_recent"
    return table, leaders, None


# ----------------------------------------------------------------------------- the report
def overview_report(ds, settings: OverviewSettings | None = None) -> OverviewReport:
    """Compute the overview of a community (numbers only; see :mod:`helpers.overview.render`).

    Parameters
    ----------
    ds : Community
        From :func:`helpers.data.load_community`.
    settings : OverviewSettings, optional
        The overview's options and the detail reports' parameters (defaults: the detail
        notebooks' defaults).

    Returns
    -------
    OverviewReport

    Examples
    --------
    >>> rep = overview_report(ds)
    >>> [i.key for i in rep.indicators]
    ['growth', 'activity', 'retention', 'conversion']
    >>> rep.indicator("retention").kind, 0 <= rep.indicator("retention").value <= 1
    ('share', True)
    """
    s = settings or OverviewSettings()
    notes: list[str] = []
    with _collect(notes):
        # the end in the data's zone (the zone of joined_at), on every engine: the lazy
        # engines' last event is a UTC instant, whose date can be the day before
        until = until_of(ds.events, s.observed_until, tz_of(ds.members["joined_at"]))
        cr = _cohort_report(ds, s)
        current = int(cohorts.current_members(ds.members, until).sum())
        growth, activity = growth_indicators(cr.growth, trend_weeks=s.trend_weeks, alpha=0.05)
        labelled, windows = join_windows(ds.members, until, recent_days=s.recent_days)
        retention = _retention(ds, s, labelled, windows, cr.n_day, notes)
        conversion = _conversion(ds, s, labelled, windows, until, notes)
        layers = _layer_mix(ds, s, cr)
        experiments, why_no_exp = _experiments(ds, s, notes)
        churn = _churn_risk(ds, s, until, notes)
        scorecard, leaders, why_no_card = _scorecard(ds, s, until, notes)
    return OverviewReport(
        dataset=str(getattr(ds, "name", "")), observed_until=until, members=current, settings=s,
        indicators=(growth, activity, retention, conversion), layers=layers,
        experiments=experiments, experiments_reason=why_no_exp, churn=churn,
        scorecard=scorecard, scorecard_leaders=leaders, scorecard_reason=why_no_card,
        warnings=tuple(notes))
