"""Plots for the experiments analyses (see :mod:`helpers.experiments` and
:mod:`helpers.exp_metrics`). Per-arm retention curves: use :func:`helpers.plots.plot_km` on
``exp_metrics.survival_by_arm(...).km``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

from ._base import get_ax

__all__: list[str] = ["plot_lift_forest", "plot_arm_distributions", "plot_segment_effects",
                      "arm_colours", "recolour_arms"]

_SIG = {True: "C2", False: "0.45"}

#: the words of these plots; callers pass their own language's words (the report renderers do)
TEXT_EN = {
    "xlabel_relative": "relative lift vs control", "xlabel_absolute": "difference vs control",
    "corrected": "interval at the corrected level (green = significant after correction)",
    "uncorrected": "95% interval, uncorrected (thin)",
    "not_shown": "not shown (absolute scale)", "empty": "no metric to show",
    "untested": "no metric could be tested", "no_segment": "no segment large enough to test",
    "share": "share of members", "share_cdf": "share of members ≤ value", "arm": "arm",
    "lift_title": "Lift with confidence interval (green = significant after correction)",
    "segment_title": "Effect by segment — exploratory (green = significant after correction)",
}


def _plain(text) -> str:
    """A name from the data as plain plot text ("$" would start matplotlib's mathtext)."""
    return str(text).replace("$", r"\$")


def _empty(ax, message: str):
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _intervals(ax, labels, est, lo, hi, significant, *, percent: bool, xlabel: str,
               corrected=None, text=None):
    """Horizontal CIs, one row per label; a dashed line at 0.

    With ``corrected`` (low, high arrays at the corrected level) the corrected interval is
    drawn thick and coloured (green = significant after correction: it excludes 0) and the
    uncorrected one thin and grey behind it, so colour and drawn interval always agree.
    """
    text = {**TEXT_EN, **(text or {})}
    y = np.arange(len(labels))[::-1]
    for i, (yi, e, a, b, s) in enumerate(zip(y, est, lo, hi, significant)):
        if corrected is None:
            ax.errorbar([e], [yi], xerr=[[e - a], [b - e]], fmt="o", capsize=3,
                        color=_SIG[bool(s)])
            continue
        ca, cb = corrected[0][i], corrected[1][i]
        ax.errorbar([e], [yi], xerr=[[e - a], [b - e]], fmt="none", capsize=2, color="0.7",
                    lw=1, label=text["uncorrected"] if i == 0 else None)
        ax.errorbar([e], [yi], xerr=[[e - ca], [cb - e]], fmt="o", capsize=4, lw=2.4,
                    color=_SIG[bool(s)], label=text["corrected"] if i == 0 else None)
    if corrected is not None and len(labels):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="x-small",
                  frameon=False)
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels([_plain(v) for v in labels])
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    return ax


def plot_lift_forest(data: pd.DataFrame, *, ax=None, title: str | None = None,
                     text: dict | None = None):
    """Lift of each metric with its confidence interval (green: significant after correction).

    Parameters
    ----------
    data : DataFrame
        ``ExperimentReport.results`` (``metric, role, arm, estimate, ci_low, ci_high,
        significant, relative`` [, ``ci_low_corrected, ci_high_corrected``: then drawn thick,
        with the uncorrected interval thin behind; ``display``: the row labels]). Rows on the
        absolute scale (e.g. participation when the control arm cannot take part) are left out
        of a relative plot and named in the title.
    ax : matplotlib Axes, optional
    text : dict, optional
        The plot's words in the report's language (keys of :data:`TEXT_EN`).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> rows = pd.DataFrame({"metric": ["active_days"], "estimate": [0.11], "ci_low": [0.05],
    ...                      "ci_high": [0.17], "ci_low_corrected": [0.03],
    ...                      "ci_high_corrected": [0.19], "significant": [True],
    ...                      "relative": [True], "role": ["primary"], "arm": ["treatment"]})
    >>> len(plot_lift_forest(rows).get_legend().get_texts())
    2
    """
    text = {**TEXT_EN, **(text or {})}
    ax = get_ax(ax, figsize=(8, 0.45 * max(len(data), 1) + 1.6))
    if data is None or data.empty or "estimate" not in data:
        return _empty(ax, text["empty"])
    rows = data.loc[data["estimate"].notna()]
    rel = rows["relative"].astype(bool) if "relative" in rows else pd.Series(True, rows.index)
    percent = bool(rel.any())
    names = rows["display"] if "display" in rows else rows["metric"]
    skipped = list(names.loc[rel != percent])
    rows, names = rows.loc[rel == percent], names.loc[rel == percent]
    if rows.empty:
        return _empty(ax, text["untested"])
    many_arms = rows["arm"].nunique() > 1 if "arm" in rows else False
    roles = rows["role_display"] if "role_display" in rows else rows.get("role", "")
    labels = [f"{m} [{r}]" + (f" · {a}" if many_arms else "")
              for m, r, a in zip(names, roles, rows.get("arm", ""))]
    corrected = (rows["ci_low_corrected"].to_numpy(float),
                 rows["ci_high_corrected"].to_numpy(float)) \
        if "ci_low_corrected" in rows else None
    _intervals(ax, labels, rows["estimate"].to_numpy(float), rows["ci_low"].to_numpy(float),
               rows["ci_high"].to_numpy(float), rows["significant"].fillna(False),
               percent=percent, xlabel=text["xlabel_relative"] if percent
               else text["xlabel_absolute"], corrected=corrected, text=text)
    t = title or text["lift_title"]
    if skipped:
        colon, comma = text.get("colon", ": "), "、" if text.get("colon") == "：" else ", "
        t += f"\n{text['not_shown']}{colon}{comma.join(map(str, skipped))}"
    ax.set_title(_plain(t), fontsize="medium")
    return ax


def arm_colours(arms, control: str = "control") -> dict[str, str]:
    """One colour per experiment arm, the control first: the colours of the arm histogram
    (seaborn's default cycle), used for the survival curves too — arm names are not channels,
    and their channel colours ("control", "treatment") were two near greens.

    Examples
    --------
    >>> arm_colours(["treatment", "control"])
    {'control': '#4C72B0', 'treatment': '#DD8452'}
    """
    order = sorted(dict.fromkeys(str(a) for a in arms), key=lambda a: (a != str(control), a))
    cycle = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]
    return {a: cycle[i % len(cycle)] for i, a in enumerate(order)}


def recolour_arms(ax, colours: dict[str, str]):
    """Give the curves (and their bands) of an axes drawn per arm the colours of
    :func:`arm_colours`, matched by legend label; the legend is redrawn."""
    bands = [c for c in ax.collections]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in colours]
    for i, ln in enumerate(lines):
        ln.set_color(colours[ln.get_label()])
        if i < len(bands):
            bands[i].set_color(colours[ln.get_label()])
    if ax.get_legend() is not None:
        ax.legend(loc="lower left")  # survival curves start at the top
    return ax


def plot_arm_distributions(data: pd.DataFrame, *, metric: str, arm: str = "arm",
                           control: str = "control", ax=None, title: str | None = None,
                           text: dict | None = None, xlabel: str | None = None):
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
    >>> d = pd.DataFrame({"active_days": [0, 1, 2, 3, 1, 2], "arm": ["control"] * 3 + ["treatment"] * 3})
    >>> plot_arm_distributions(d, metric="active_days", title="active days").get_title()
    'active days'
    """
    text = {**TEXT_EN, **(text or {})}
    ax = get_ax(ax)
    if data is None or data.empty or metric not in data or data[metric].isna().all():
        return _empty(ax, text["empty"])
    d = data[[metric, arm]].dropna()
    d = d.assign(**{arm: d[arm].astype(str).map(_plain)})
    values = d[metric]
    order = sorted(d[arm].unique(), key=lambda a: (a != _plain(control), a))
    if values.nunique() <= 31 and np.allclose(values, values.round()):
        sns.histplot(d, x=metric, hue=arm, hue_order=order, discrete=True, stat="probability",
                     common_norm=False, multiple="dodge", shrink=0.8, ax=ax,
                     palette=arm_colours(order, _plain(control)))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel(text["share"])
    else:
        sns.ecdfplot(d, x=metric, hue=arm, hue_order=order, ax=ax,
                     palette=arm_colours(order, _plain(control)))
        ax.set_ylabel(text["share_cdf"])
    if xlabel:
        ax.set_xlabel(xlabel)
    legend = ax.get_legend()
    if legend is not None:
        legend.set_title(text.get("arm", "arm"))
    means = d.groupby(arm)[metric].mean().reindex(order)
    ax.set_title(_plain(title or f"{metric} per member by arm (means: " + ", ".join(
        f"{a} {m:.3g}" for a, m in means.items()) + ")"), fontsize="medium")
    return ax


def plot_segment_effects(data: pd.DataFrame, *, segment: str = "segment", ax=None,
                         title: str | None = None, text: dict | None = None):
    """Effect within each segment with CIs (exploratory: see ``segment_effects``).

    Parameters
    ----------
    data : DataFrame
        :func:`helpers.exp_metrics.segment_effects` output (with the corrected intervals:
        drawn thick, the uncorrected ones thin).
    text : dict, optional
        The plot's words in the report's language (keys of :data:`TEXT_EN`).

    Returns
    -------
    matplotlib Axes
    """
    text = {**TEXT_EN, **(text or {})}
    ax = get_ax(ax, figsize=(8, 0.45 * max(len(data), 1) + 1.6))
    if data is None or data.empty:
        return _empty(ax, text["no_segment"])
    labels = [f"{s} (n={a:,}/{b:,})" if "n_control" in data else str(s) for s, a, b in zip(
        data[segment], data.get("n_control", data[segment]), data.get("n_treatment", data[segment]))]
    _intervals(ax, labels, data["estimate"].to_numpy(float), data["ci_low"].to_numpy(float),
               data["ci_high"].to_numpy(float), data["significant"].fillna(False),
               percent=bool(data["relative"].astype(bool).all()) if "relative" in data else True,
               xlabel=text["xlabel_relative"] if "relative" not in data
               or data["relative"].astype(bool).all() else text["xlabel_absolute"],
               corrected=(data["ci_low_corrected"].to_numpy(float),
                          data["ci_high_corrected"].to_numpy(float))
               if "ci_low_corrected" in data else None, text=text)
    ax.set_title(_plain(title or text["segment_title"]), fontsize="medium")
    return ax
