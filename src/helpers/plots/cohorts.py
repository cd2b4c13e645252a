"""Plots for the cohorts analyses (see ``helpers.cohorts``): each takes a tidy frame returned
there and ``ax=None``, and returns the axes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._base import get_ax

__all__ = ["plot_retention_heatmap", "plot_retention_curves", "plot_lifecycle",
           "plot_layer_transitions"]

_LIFECYCLE_COLOURS = {"new": "#4C72B0", "returning": "#55A868", "resurrecting": "#DD8452",
                      "dormant": "#C44E52"}


def _date_label(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


_PERIOD_WORDS = {"D": "days", "W": "weeks", "M": "months"}


def _index_label(period: str | None) -> str:
    """x-axis label of a period index: in the period's unit when it is known."""
    if period is None:
        return "period index k (periods since joining)"
    if period not in _PERIOD_WORDS:
        raise ParameterError(f"period={period!r} is not allowed; use 'D', 'W' or 'M'")
    return f"{_PERIOD_WORDS[period]} since joining (k; 0 = the join {_PERIOD_WORDS[period][:-1]})"


def plot_retention_heatmap(table: pd.DataFrame, *, value: str = "rate", max_periods: int | None = None,
                           annot: bool = True, cmap: str = "YlGnBu", period: str | None = None,
                           ax=None):
    """Cohort × period-index heatmap of a :func:`helpers.cohorts.retention` table.

    Rows are cohorts labelled with their start and size (``n=…``); unreachable cells stay blank
    (they are absent from the table, never zero).

    Parameters
    ----------
    table : DataFrame
        Retention table of ONE segment (filter a ``by`` table first, e.g.
        ``table[table.channel == "邀请码"]``).
    value : str
        Column to colour by (``"rate"`` default).
    max_periods : int, optional
        Show period indices 0 … max_periods − 1 only.
    annot : bool
        Write the values (percentages for rates) in the cells.
    cmap : str
        Matplotlib colour map.
    period : {"D", "W", "M"}, optional
        The table's period: names the x axis in days, weeks or months.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import seaborn as sns

    for c in ("cohort", "period_index", "cohort_size", value):
        if c not in table.columns:
            raise ParameterError(f"table lacks column {c!r}: pass the output of cohorts.retention")
    if table.duplicated(["cohort", "period_index"]).any():
        raise ParameterError("table holds several segments (a `by` table): filter one segment "
                             "first, or use plot_retention_curves(..., hue=...)")
    t = table if max_periods is None else table.loc[table["period_index"] < max_periods]
    mat = t.pivot(index="cohort", columns="period_index", values=value).sort_index()
    sizes = t.drop_duplicates("cohort").set_index("cohort")["cohort_size"].reindex(mat.index)
    ax = get_ax(ax, figsize=(max(6, 0.55 * mat.shape[1] + 3), max(3, 0.32 * mat.shape[0] + 1.5)))
    is_rate = value in ("rate", "ci_low", "ci_high")
    sns.heatmap(mat.astype(float), mask=mat.isna(), ax=ax, cmap=cmap,
                vmin=0 if is_rate else None, vmax=1 if is_rate else None,
                annot=annot and mat.size <= 600, fmt=".0%" if is_rate else ".0f",
                annot_kws={"fontsize": 7},
                cbar_kws={"label": "share of the cohort active" if value == "rate" else value},
                linewidths=0.3)
    ax.set_yticks(np.arange(len(mat)) + 0.5)
    ax.set_yticklabels([f"{_date_label(c)}  n={int(n)}" for c, n in zip(mat.index, sizes)],
                       rotation=0, fontsize=8)
    ax.set_xlabel(_index_label(period))
    ax.set_ylabel("cohort (join period) and size")
    ax.set_facecolor("white")
    ax.grid(False)  # blank (unreachable) cells stay blank
    return ax


def plot_retention_curves(curve: pd.DataFrame, *, hue: str | None = None, ci: bool = True,
                          period: str | None = None, ax=None):
    """Retention curves (rate by period index) with Wilson CI bands, one line per segment.

    Parameters
    ----------
    curve : DataFrame
        Output of :func:`helpers.cohorts.retention_curve` (``period_index, rate, ci_low,
        ci_high`` and the segment column).
    hue : str, optional
        Segment column (e.g. ``"channel"``); None for a single curve.
    ci : bool
        Draw the confidence bands.
    period : {"D", "W", "M"}, optional
        The curve's period: names the x axis in days, weeks or months.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    for c in ("period_index", "rate", "ci_low", "ci_high"):
        if c not in curve.columns:
            raise ParameterError(f"curve lacks column {c!r}: pass cohorts.retention_curve output")
    if hue is not None and hue not in curve.columns:
        raise ParameterError(f"hue={hue!r} is not a column of curve; columns: "
                             f"{', '.join(curve.columns)}")
    ax = get_ax(ax)
    groups = [(None, curve)] if hue is None else curve.groupby(hue, sort=True, observed=True)
    for name, g in groups:
        g = g.sort_values("period_index")
        (line,) = ax.plot(g["period_index"], g["rate"], marker="o", markersize=3,
                          label=None if name is None else str(name))
        if ci:
            ax.fill_between(g["period_index"], g["ci_low"], g["ci_high"], alpha=0.15,
                            color=line.get_color(), linewidth=0)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel(_index_label(period))
    ax.set_ylabel("retained share (95% CI)")
    if hue is not None:
        ax.legend(title=hue, fontsize=8, ncols=2)
    return ax


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def plot_lifecycle(table: pd.DataFrame, *, ax=None):
    """Lifecycle stacked bars: new, returning, resurrecting above zero; dormant below.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`helpers.cohorts.lifecycle` (``period, status, members``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    for c in ("period", "status", "members"):
        if c not in table.columns:
            raise ParameterError(f"table lacks column {c!r}: pass cohorts.lifecycle output")
    wide = table.pivot_table(index="period", columns="status", values="members", aggfunc="sum",
                             observed=False).fillna(0).sort_index()
    ax = get_ax(ax, figsize=(max(8, 0.3 * len(wide) + 4), 4.5))
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for s in ("new", "returning", "resurrecting"):
        if s in wide.columns:
            ax.bar(x, wide[s], bottom=bottom, color=_LIFECYCLE_COLOURS[s], label=s, width=0.8)
            bottom += wide[s].to_numpy()
    if "dormant" in wide.columns:
        ax.bar(x, -wide["dormant"], color=_LIFECYCLE_COLOURS["dormant"], label="dormant", width=0.8)
    ax.axhline(0, color="black", linewidth=0.8)
    step = max(1, len(wide) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([_date_label(p) for p in wide.index[::step]], rotation=45, ha="right",
                       fontsize=8)
    ax.set_xlabel("period start")
    ax.set_ylabel("members (dormant below zero)")
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    return ax


def plot_layer_transitions(table: pd.DataFrame, *, value: str = "share", cmap: str = "Blues",
                           ax=None):
    """Heatmap of layer transitions (rows: layer at the start, columns: layer at the end).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`helpers.cohorts.layer_transitions`.
    value : {"share", "members"}
        Colour by the row share (default) or the count; cells show share and count.
    cmap : str
        Matplotlib colour map.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import seaborn as sns

    if value not in ("share", "members"):
        raise ParameterError(f"value={value!r} is not allowed; use 'share' or 'members'")
    for c in ("layer_from", "layer_to", "members", "share"):
        if c not in table.columns:
            raise ParameterError(f"table lacks column {c!r}: pass cohorts.layer_transitions output")
    mat = table.pivot_table(index="layer_from", columns="layer_to", values=value,
                            aggfunc="sum", observed=False)
    counts = table.pivot_table(index="layer_from", columns="layer_to", values="members",
                               aggfunc="sum", observed=False)
    shares = table.pivot_table(index="layer_from", columns="layer_to", values="share",
                               aggfunc="sum", observed=False)
    labels = np.vectorize(lambda s, n: f"{s:.0%}\n({int(n)})" if np.isfinite(s) else f"({int(n)})")(
        shares.to_numpy(dtype=float), counts.to_numpy(dtype=float))
    ax = get_ax(ax, figsize=(6, 5))
    sns.heatmap(mat.astype(float), annot=labels, fmt="", cmap=cmap, ax=ax, linewidths=0.5,
                vmin=0, vmax=1 if value == "share" else None, cbar_kws={"label": value})
    ax.grid(False)
    ax.set_xlabel("layer at the end")
    ax.set_ylabel("layer at the start")
    ax.tick_params(axis="y", rotation=0)
    return ax
