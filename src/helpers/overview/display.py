"""What the overview notebook displays for a section that is a table (the channel scorecard)."""

from __future__ import annotations

from .render import scorecard_markdown
from .report import OverviewReport


def scorecard_view(report: OverviewReport, language: str = "zh"):
    """The channel scorecard as a reviewer table, or the sentence saying why there is none.

    Returns
    -------
    IPython.display.Markdown or pandas Styler
    """
    from IPython.display import Markdown

    if report.scorecard is None:
        return Markdown(scorecard_markdown(report, language))
    from .. import conversion, plots

    table = report.scorecard
    view = getattr(conversion, "scorecard_view", None)
    if view is not None:
        return view(table, language=language)
    return plots.show_table(table)
