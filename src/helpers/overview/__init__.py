"""The overview report (社群总览): the four indicators first, then the other reports' headlines.

One flat public face over one module per concern:

- ``settings``: :class:`OverviewSettings` (the overview's options and the detail notebooks'
  parameters it reuses);
- ``indicators``: :class:`Indicator` and the growth / activity / retention / conversion figures
  with intervals and the change against the previous period;
- ``report``: :func:`overview_report` → :class:`OverviewReport` (numbers only, from the detail
  reports' public functions);
- ``render``: :func:`tiles_html` (the first screen: ``<div class="kpi-tiles">`` with one
  ``data-indicator=`` tile per indicator) and :func:`sections_markdown` (zh / en catalog).
"""

from .indicators import INDICATORS, Indicator, growth_indicators, join_windows, share_indicator
from .render import CATALOG, render_sections, sections_markdown, tiles_html
from .report import (ChurnRisk, ExperimentLine, LayerMix, OverviewReport, overview_report,
                     report_link)
from .settings import NOTEBOOK_PARAMETERS, OverviewSettings

__all__ = [
    "INDICATORS", "Indicator", "growth_indicators", "join_windows", "share_indicator",
    "ChurnRisk", "ExperimentLine", "LayerMix", "OverviewReport", "overview_report",
    "report_link", "OverviewSettings", "NOTEBOOK_PARAMETERS",
    "CATALOG", "tiles_html", "sections_markdown", "render_sections",
]
