"""Small multiples of the overview's four indicators over recent weeks.

Draws the weekly series the :class:`helpers.overview.OverviewReport` carries (``trend`` of each
indicator: new members and active members per complete week, from zero; D30 retention and 30-day
purchase conversion per weekly join cohort, with each cohort's 95% Wilson interval as a band).
Titles and axis labels come from the overview's catalog in the report's language.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ._base import use_cjk_font

__all__ = ["plot_overview_trends"]


def plot_overview_trends(report, *, language: str = "zh", axes=None):
    """Four small panels (one per indicator) of the last weeks' values.

    Parameters
    ----------
    report : OverviewReport
        From :func:`helpers.overview.overview_report`.
    language : {"zh", "en"}
        Language of titles and labels.
    axes : array of 4 Axes, optional
        Where to draw (default: a new 1 × 4 figure).

    Returns
    -------
    numpy.ndarray of Axes
        Panels without data say so in the language instead of drawing; when no indicator has
        two weeks to draw, an empty array (the figure is one line saying so).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from helpers.overview import growth_indicators
    >>> weeks = pd.DataFrame({"period": pd.date_range("2026-03-02", periods=4, freq="7D"),
    ...     "new_members": [90, 100, 120, 30], "exits": [0, 0, 10, 2],
    ...     "net_growth": [90, 100, 110, 28], "members_end": [90, 190, 300, 328],
    ...     "active_members": [70, 150, 200, 90], "stickiness": [0.4, 0.45, 0.5, 0.5],
    ...     "complete": [True, True, True, False]})
    >>> axes = plot_overview_trends(SimpleNamespace(indicators=growth_indicators(weeks)),
    ...                             language="en")
    >>> len(axes), axes[0].get_title()
    (4, 'New members (weekly)')
    """
    from .. import _format as F
    from ..overview import CATALOG

    F.check_language(language)
    use_cjk_font()
    if axes is None and not any(len(i.trend) >= 2 for i in report.indicators):
        fig = plt.figure(figsize=(13, 0.6))  # nothing to draw: one line saying so
        fig.text(0.01, 0.5, CATALOG.t("plot.no_trend", language), va="center", fontsize=10,
                 color="#444")
        return np.array([], dtype=object)
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(13, 2.8), constrained_layout=True)
    for ax, ind in zip(list(axes), report.indicators):
        ax.set_title(CATALOG.t(f"title.{ind.key}", language), fontsize=10)
        if len(ind.trend) < 2:
            ax.text(0.5, 0.5, CATALOG.t("plot.no_trend", language), ha="center", va="center",
                    transform=ax.transAxes, fontsize=9, color="#666")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        x = [pd.Timestamp(t).tz_localize(None) if pd.Timestamp(t).tzinfo else pd.Timestamp(t)
             for t, _ in ind.trend]
        y = [v for _, v in ind.trend]
        ax.plot(x, y, marker="o", markersize=3, linewidth=1.6, color="#4c72b0")
        if ind.trend_band and len(ind.trend_band) == len(x):
            ax.fill_between(x, [lo for lo, _ in ind.trend_band], [hi for _, hi in ind.trend_band],
                            color="#4c72b0", alpha=0.15, linewidth=0)
        else:
            ax.set_ylim(bottom=0)  # counts: from zero, so a small change looks small
        if ind.kind == "share":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: F.pct(v, 0, language)))
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: F.count(v, language)))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: _short_date(v, language)))
        key = "plot.x_cohort" if ind.key in ("retention", "conversion") else "plot.x_week"
        ax.set_xlabel(CATALOG.t(key, language), fontsize=9)
        ax.tick_params(labelsize=8)
    return axes


def _short_date(v, language: str) -> str:
    from matplotlib.dates import num2date

    t = num2date(v)
    return f"{t.month}月{t.day}日" if language == "zh" else f"{t:%m-%d}"
