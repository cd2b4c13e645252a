"""Plots for the survival analyses (see ``helpers.survival``): they draw, never compute."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ._base import channel_palette, get_ax

__all__: list[str] = ["plot_km", "plot_forest"]


def _text(v) -> str:
    """A data string as literal matplotlib text (a ``$`` would start mathtext)."""
    return str(v).replace("$", r"\$")


def plot_km(km: pd.DataFrame, *, at_risk: pd.DataFrame | None = None, ax=None,
            ci: bool = True, title: str | None = None, xlabel: str = "days since joining",
            ylabel: str = "share still in the community",
            at_risk_label: str = "number at risk", all_label: str = "all members"):
    """Kaplan–Meier curves with confidence bands and, optionally, an at-risk table below.

    Each group keeps its fixed colour (``plots._base.channel_palette``: the same channel has the
    same colour in every report and dataset); group names are drawn as written.

    Parameters
    ----------
    km : DataFrame
        :func:`helpers.survival.km_table` output (``group, timeline, survival, ci_low,
        ci_high``).
    at_risk : DataFrame, optional
        :func:`helpers.survival.at_risk_table` output (``group, time, at_risk``): printed under
        the x axis, one line per group, in the curve's colour.
    ax : matplotlib Axes, optional
        Where to draw (a new figure otherwise).
    ci : bool
        Draw the confidence band.
    title, xlabel, ylabel, at_risk_label, all_label : str
        Text in the report's language (``survival.plot_text(report, "km", language)``);
        ``all_label`` names the single curve of all members.

    Returns
    -------
    matplotlib Axes
    """
    groups = list(dict.fromkeys(km["group"]))
    n_rows = 0 if at_risk is None else len(groups)
    ax = get_ax(ax, figsize=(9, 5 + 0.25 * n_rows))
    names = {g: (all_label if g == "all" and len(groups) == 1 else _text(g)) for g in groups}
    palette = channel_palette([str(g) for g in groups])
    colours = {g: ("#4C72B0" if len(groups) == 1 else palette[str(g)]) for g in groups}
    for g in groups:
        c = km[km["group"] == g]
        ax.step(c["timeline"], c["survival"], where="post", color=colours[g], label=names[g],
                lw=1.6)
        if ci:
            ax.fill_between(c["timeline"], c["ci_low"], c["ci_high"], step="post",
                            color=colours[g], alpha=0.15, lw=0)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))  # as the tables: 67.4%
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(groups) > 1 or groups != ["all"]:
        ax.legend(title=None, loc="lower left", fontsize="small", frameon=True)
    if at_risk is not None and not at_risk.empty:
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        xmax = ax.get_xlim()[1]
        times = sorted(t for t in at_risk["time"].unique() if t <= xmax)
        tab = make_axes_locatable(ax).append_axes("bottom", size=0.22 * n_rows + 0.2,
                                                  pad=0.55, sharex=ax)
        for i, g in enumerate(groups):
            rows = at_risk[(at_risk["group"] == g) & (at_risk["time"] <= xmax)]
            for t, n in rows[["time", "at_risk"]].itertuples(index=False):
                tab.text(t, n_rows - 1 - i, f"{int(n):,}", ha="center", va="center",
                         fontsize="small", color=colours[g])
        tab.set_ylim(-0.6, n_rows - 0.4)
        tab.set_yticks(range(n_rows))
        tab.set_yticklabels([names[g] for g in groups][::-1], fontsize="small")
        for lab, g in zip(tab.get_yticklabels(), groups[::-1]):
            lab.set_color(colours[g])
        tab.grid(False)
        tab.tick_params(axis="both", length=0)
        tab.tick_params(axis="y", pad=26)
        tab.tick_params(axis="x", labelbottom=False)
        for spine in tab.spines.values():
            spine.set_visible(False)
        tab.set_title(at_risk_label, fontsize="small", loc="left")
        ax.set_xticks(times)
        ax.set_xlim(0, xmax)
    return ax


def plot_forest(table: pd.DataFrame, *, label: str = "term", estimate: str = "hazard_ratio",
                ci_low: str = "ci_low", ci_high: str = "ci_high", truth: str | None = None,
                ax=None, title: str | None = None, xlabel: str = "hazard ratio (log scale)",
                reference: float = 1.0, estimate_label: str = "estimate (95% CI)",
                truth_label: str = "planted truth"):
    """Forest plot of hazard ratios with CIs on a log axis (one row per line of ``table``).

    Parameters
    ----------
    table : DataFrame
        E.g. ``CoxResult.hazard_ratios``, :func:`helpers.survival.truth_table` or
        :func:`helpers.survival.participation_effects` (with ``label="model"``).
    label, estimate, ci_low, ci_high : str
        Column names.
    truth : str, optional
        Column with a known true value, drawn as an orange diamond (synthetic data).
    ax : matplotlib Axes, optional
    reference : float
        Vertical reference line (HR = 1: no effect).
    title, xlabel, estimate_label, truth_label : str
        Text in the report's language (``survival.plot_text(report, "cox", language)``; the
        rows themselves from ``survival.forest_rows``, labelled in words).

    Returns
    -------
    matplotlib Axes
    """
    rows = table.reset_index(drop=True)
    ax = get_ax(ax, figsize=(8, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    est = rows[estimate].to_numpy(dtype=float)
    lo, hi = rows[ci_low].to_numpy(dtype=float), rows[ci_high].to_numpy(dtype=float)
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="C0", ecolor="C0",
                capsize=3, label=estimate_label)
    if truth is not None and truth in rows.columns:
        ax.scatter(rows[truth].to_numpy(dtype=float), y, marker="D", color="C1", zorder=3,
                   label=truth_label)
    ax.axvline(reference, color="0.4", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([_text(v) for v in rows[label]])
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ticks = [t for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10)
             if np.nanmin(lo) / 1.2 <= t <= np.nanmax(hi) * 1.2 or t == reference]
    if ticks:
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
    if title:
        ax.set_title(title)
    if truth is not None:
        ax.legend(loc="best", fontsize="small")
    return ax
