"""Experiments end to end: metrics from the raw tables, the analysis and decision, segments, the
survival outcome, power for the next test, and the reviewer text.

One concern per module, one flat public face (every name is re-exported here):

- :mod:`.metrics` — who is analysed (:func:`experiment_population`) and the per-member metrics
  (:func:`experiment_metrics`, :data:`METRICS`).
- :mod:`.analysis` — :func:`analyse_experiment`: SRM, every metric per arm, the correction and
  the decision rule; the :class:`ExperimentReport`.
- :mod:`.segments` — effects within segments (exploratory).
- :mod:`.arm_survival` — Kaplan–Meier per arm and the RMST difference.
- :mod:`.power` — units per arm the next experiment needs.
- :mod:`.settings` — the settings dataclasses (:class:`AnalysisSettings` …).
- :mod:`.report` — the one renderer of an :class:`ExperimentReport` (reviewer text), with
  :mod:`.tables` (reviewer tables) and :mod:`.views` (the notebook's sections).

The statistics on summary statistics (Welch, CUPED, clusters, SRM, power) live in
:mod:`helpers.experiments`.
"""

from .analysis import *  # noqa: F401,F403
from .analysis import _decide  # noqa: F401  (the tests pin the decision rule through it)
from .arm_survival import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .power import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403
from .segments import *  # noqa: F401,F403
from .settings import *  # noqa: F401,F403
from .tables import *  # noqa: F401,F403
from .views import *  # noqa: F401,F403
from . import (analysis, arm_survival, metrics, power, report, segments, settings,  # noqa: F401
               tables, views)

__all__ = [*analysis.__all__, *arm_survival.__all__, *metrics.__all__, *power.__all__,
           *report.__all__, *segments.__all__, *settings.__all__, *tables.__all__,
           *views.__all__]
