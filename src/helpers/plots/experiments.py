"""Plots for the experiments analyses (see :mod:`helpers.experiments` and
:mod:`helpers.exp_metrics`). Per-arm retention curves: use :func:`helpers.plots.plot_km` on
``exp_metrics.survival_by_arm(...).km``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

from ._base import get_ax

__all__: list[str] = ["plot_lift_forest", "plot_arm_distributions", "plot_segment_effects"]

_SIG = {True: "C2", False: "0.45"}


def _empty(ax, message: str):
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _intervals(ax, labels, est, lo, hi, significant, *, percent: bool, xlabel: str):
    """Horizontal CIs, one row per label; green = significant; a dashed line at 0."""
    y = np.arange(len(labels))[::-1]
    for yi, e, a, b, s in zip(y, est, lo, hi, significant):
        ax.errorbar([e], [yi], xerr=[[e - a], [b - e]], fmt="o", capsize=3, color=_SIG[bool(s)])
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    return ax


def plot_lift_forest(data: pd.DataFrame, *, ax=None, title: str | None = None):
    """Lift of each metric with its confidence interval (green: significant after correction).

    Parameters
    ----------
    data : DataFrame
        ``ExperimentReport.results`` (``metric, role, arm, estimate, ci_low, ci_high,
        significant, relative``). Rows on the absolute scale (e.g. participation when the
        control arm cannot take part) are left out of a relative plot and named in the title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> plot_lift_forest(report.results)                 # doctest: +SKIP
    """
    ax = get_ax(ax, figsize=(8, 0.45 * max(len(data), 1) + 1.6))
    if data is None or data.empty or "estimate" not in data:
        return _empty(ax, "no metric to show")
    rows = data.loc[data["estimate"].notna()]
    rel = rows["relative"].astype(bool) if "relative" in rows else pd.Series(True, rows.index)
    percent = bool(rel.any())
    skipped = list(rows.loc[rel != percent, "metric"])
    rows = rows.loc[rel == percent]
    if rows.empty:
        return _empty(ax, "no metric could be tested")
    many_arms = rows["arm"].nunique() > 1 if "arm" in rows else False
    labels = [f"{m} [{r}]" + (f" · {a}" if many_arms else "")
              for m, r, a in zip(rows["metric"], rows.get("role", ""), rows.get("arm", ""))]
    _intervals(ax, labels, rows["estimate"].to_numpy(float), rows["ci_low"].to_numpy(float),
               rows["ci_high"].to_numpy(float), rows["significant"].fillna(False),
               percent=percent, xlabel="relative lift vs control" if percent
               else "difference vs control")
    t = title or "Lift with confidence interval (green = significant after correction)"
    if skipped:
        t += f"\nnot shown (absolute scale): {', '.join(map(str, skipped))}"
    ax.set_title(t, fontsize="medium")
    return ax


def plot_arm_distributions(data: pd.DataFrame, *, metric: str, arm: str = "arm",
                           control: str = "control", ax=None, title: str | None = None):
    """Distribution of a per-member metric in each arm (share of members per value).

    Counts with few distinct values (e.g. active days 0–14) are drawn as side-by-side bars;
    continuous metrics (spend) as empirical CDFs.

    Parameters
    ----------
    data : DataFrame
        ``ExperimentReport.data`` (one row per member) with ``metric`` and ``arm`` columns.
    control : str
        The control arm, drawn first.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> plot_arm_distributions(report.data, metric="active_days")   # doctest: +SKIP
    """
    ax = get_ax(ax)
    if data is None or data.empty or metric not in data or data[metric].isna().all():
        return _empty(ax, f"no data for {metric}")
    d = data[[metric, arm]].dropna()
    d = d.assign(**{arm: d[arm].astype(str)})
    values = d[metric]
    order = sorted(d[arm].unique(), key=lambda a: (a != control, a))
    if values.nunique() <= 31 and np.allclose(values, values.round()):
        sns.histplot(d, x=metric, hue=arm, hue_order=order, discrete=True, stat="probability",
                     common_norm=False, multiple="dodge", shrink=0.8, ax=ax)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel("share of members")
    else:
        sns.ecdfplot(d, x=metric, hue=arm, hue_order=order, ax=ax)
        ax.set_ylabel("share of members ≤ value")
    means = d.groupby(arm)[metric].mean().reindex(order)
    ax.set_title(title or f"{metric} per member by arm (means: " + ", ".join(
        f"{a} {m:.3g}" for a, m in means.items()) + ")", fontsize="medium")
    return ax


def plot_segment_effects(data: pd.DataFrame, *, segment: str = "segment", ax=None,
                         title: str | None = None):
    """Effect within each segment with CIs (exploratory: see ``segment_effects``).

    Parameters
    ----------
    data : DataFrame
        :func:`helpers.exp_metrics.segment_effects` output.

    Returns
    -------
    matplotlib Axes
    """
    ax = get_ax(ax, figsize=(8, 0.45 * max(len(data), 1) + 1.6))
    if data is None or data.empty:
        return _empty(ax, "no segment large enough to test")
    labels = [f"{s} (n={a:,}/{b:,})" if "n_control" in data else str(s) for s, a, b in zip(
        data[segment], data.get("n_control", data[segment]), data.get("n_treatment", data[segment]))]
    _intervals(ax, labels, data["estimate"].to_numpy(float), data["ci_low"].to_numpy(float),
               data["ci_high"].to_numpy(float), data["significant"].fillna(False),
               percent=True, xlabel="relative lift vs control")
    ax.set_title(title or "Effect by segment — exploratory (green = significant after correction)",
                 fontsize="medium")
    return ax
