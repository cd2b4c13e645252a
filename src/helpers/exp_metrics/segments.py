"""Effects within segments (exploratory), and the segment tables of a report."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pandas as pd

from ..data import Community
from ..errors import AnalysisWarning, ParameterError
from ..experiments import adjust_pvalues
from ._compare import compare_metric
from .analysis import ExperimentReport, corrected_intervals
from .metrics import METRICS, as_list
from .settings import SegmentSettings, settings_with

__all__ = ["segment_effects", "experiment_segments", "segment_tables", "SEGMENT_COLUMNS"]

#: columns of :func:`segment_effects` (plus ``arm`` in :func:`experiment_segments`)
SEGMENT_COLUMNS = ["segment", "n_control", "n_treatment", "estimate", "ci_low", "ci_high",
                   "p_value", "p_adjusted", "significant", "method", "warnings", "relative",
                   "se", "df", "level_corrected", "ci_low_corrected", "ci_high_corrected"]


def segment_effects(data: pd.DataFrame, *, metric: str, segment: str, unit: str = "member",
                    control: str = "control", treatment: str = "treatment",
                    settings: SegmentSettings | None = None, **options) -> pd.DataFrame:
    """Effect of ``treatment`` on ``metric`` within each value of ``segment`` (e.g. channel).

    Corrected across segments (Holm by default), and always with an AnalysisWarning: subgroup
    effects are exploratory; a "winning segment" found by looking at many is likely noise.
    Segments with fewer than ``min_units`` members in an arm are skipped.

    Parameters
    ----------
    data : DataFrame
        A member-level metrics frame (``ExperimentReport.data``).
    settings : SegmentSettings, optional
        ``alpha, correction, relative, cuped, min_units, n_permutations, seed``; keyword
        ``options`` of the same names override it.

    Returns
    -------
    DataFrame
        ``segment, n_control, n_treatment, estimate, ci_low, ci_high, p_value, p_adjusted,
        significant, method, warnings, relative, se, df`` and the intervals at the corrected
        level ``level_corrected, ci_low_corrected, ci_high_corrected``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     seg = segment_effects(report.data, metric="active_days", segment="channel",
    ...                           min_units=10)
    >>> bool(((seg["ci_low_corrected"] > 0) | (seg["ci_high_corrected"] < 0)).eq(
    ...     seg["significant"]).all())
    True
    """
    opts = settings_with(settings, SegmentSettings, options)
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose from {list(METRICS)}")
    if segment not in data.columns:
        raise ParameterError(f"segment column {segment!r} not in data; columns: {list(data.columns)}")
    warnings.warn("segment effects are exploratory (subgroup fishing): only a pre-registered "
                  "segment with a corrected p-value supports a claim", AnalysisWarning, stacklevel=2)
    rows = []
    for seg, sub in data.groupby(segment, observed=True, sort=True):
        nc, nt = int((sub["arm"] == control).sum()), int((sub["arm"] == treatment).sum())
        if min(nc, nt) < opts.min_units:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = compare_metric(sub, METRICS[metric], unit=unit, control=control,
                                 treatment=treatment, settings=opts)
        rows.append(dict(segment=seg, n_control=nc, n_treatment=nt, estimate=res.estimate,
                         ci_low=res.ci_low, ci_high=res.ci_high, p_value=res.p_value,
                         method=res.method, warnings="; ".join(res.warnings),
                         relative=res.relative, se=res.se, df=res.df))
    out = pd.DataFrame(rows, columns=["segment", "n_control", "n_treatment", "estimate",
                                      "ci_low", "ci_high", "p_value", "method", "warnings",
                                      "relative", "se", "df"])
    out.insert(7, "p_adjusted", adjust_pvalues(out["p_value"], method=opts.correction))
    out.insert(8, "significant", out["p_adjusted"] < opts.alpha)
    out = out.join(corrected_intervals(out, opts.alpha)) if len(out) else out.assign(
        level_corrected=pd.Series(dtype=float), ci_low_corrected=pd.Series(dtype=float),
        ci_high_corrected=pd.Series(dtype=float))
    return out[SEGMENT_COLUMNS]


def experiment_segments(report: ExperimentReport, community: Community, *, segment: str,
                        metric: str | None = None, min_units: int = 20,
                        n_permutations: int = 2000) -> pd.DataFrame:
    """Segment effects of a report's primary (or given) metric, ready for the notebook.

    ``segment="layer"`` adds the member layer (核心/活跃/潜在/沉睡) measured just *before* the
    start (a pre-treatment attribute, so the split is not affected by the treatment) with
    :func:`helpers.cohorts.member_layers`; any other name must be a member column (channel,
    platform …). Uses the report's correction and alpha; a report that was not analysed gives
    an empty frame. Warns (AnalysisWarning) that segments are exploratory.

    Returns
    -------
    DataFrame
        As :func:`segment_effects` plus ``arm``; empty when nothing can be tested.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     seg = experiment_segments(report, ds, segment="channel", n_permutations=0)
    >>> "arm" in seg
    True
    """
    cols = [*SEGMENT_COLUMNS, "arm"]
    if report.results.empty or report.data.empty:
        return pd.DataFrame(columns=cols)
    data = report.data
    if segment == "layer" and "layer" not in data:
        from ..cohorts import member_layers

        layers = member_layers(community.members, community.events,
                               as_of=report.starts_at - pd.Timedelta(seconds=1))
        data = data.merge(layers[["member_id", "layer"]], on="member_id", how="left")
        data["layer"] = data["layer"].astype(object).fillna("not yet joined")
    metric = metric or report.primary_metric
    arms = [a for a in report.results["arm"].unique()]
    base = report.settings.segment_settings() if report.settings is not None else \
        SegmentSettings(alpha=report.alpha, correction=report.correction,
                        relative=report.relative)
    opts = replace(base, min_units=min_units, n_permutations=n_permutations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        frames = [segment_effects(data, metric=metric, segment=segment, unit=report.unit,
                                  control=report.control_arm, treatment=arm,
                                  settings=opts).assign(arm=arm)
                  for arm in arms]
    warnings.warn(f"effects by {segment} are exploratory (subgroup fishing): only a "
                  "pre-registered segment with a corrected p-value supports a claim",
                  AnalysisWarning, stacklevel=2)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def segment_tables(report: ExperimentReport, community: Community, *, segments,
                   metric: str | None = None, min_units: int = 20) -> dict[str, pd.DataFrame]:
    """:func:`experiment_segments` for each of ``segments`` (a list, or a comma-separated
    string; None or "" = none); a segment that is neither ``"layer"`` nor a member column
    gives an empty table and a warning rather than an error.

    Returns
    -------
    dict of str -> DataFrame
        One :func:`experiment_segments` table per segment, in the order given.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     tables = segment_tables(report, ds, segments="channel, city")
    >>> list(tables), tables["city"].empty
    (['channel', 'city'], True)
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
