"""Survival analysis of member churn: churn table, Kaplan–Meier, RMST, log-rank, Cox models.

One estimator family per module, one flat public face (as lifelines' ``fitters/``):

- :mod:`.churn` — the churn table (raw members and events → one survival row per member) and
  the censoring rules (``censoring="detectable"`` by default, ``"end"`` as the alternative);
- :mod:`.km` — Kaplan–Meier curves, survival at given days, members at risk, RMST;
- :mod:`.logrank` — log-rank tests with the shared multiple-testing correction vocabulary;
- :mod:`.cox` — Cox proportional hazards, the PH check, stratified refits, landmarks;
- :mod:`.time_varying` — time-varying participation (no immortal time) and planted truth;
- :mod:`.risk` — the churn-risk list (pseudonymised ids, :mod:`helpers.pseudonym`);
- :mod:`.report` — ``churn_report`` (the notebook's analyses) and the ChurnReport object;
- :mod:`.render` — the one renderer of a ChurnReport into reviewer text (zh / en): summary and
  section notes; :mod:`.views` — its tables, plot rows and plot text (wording shared in
  ``_text``, sentences in ``_messages``).

Kaplan–Meier, log-rank and Cox estimates come from lifelines; what lifelines lacks (RMST
difference with a CI, a tidy proportional-hazards check, time-varying long format) is computed
here and validated in ``tests/test_survival.py`` against published numbers, closed forms and a
bootstrap.
"""

from .._checks import PARTICIPATION_TYPE
from .._time import DAY_NS
from ..errors import AnalysisWarning
from ..pseudonym import SALT_ENV, id_salt, pseudonymise
from ._common import ALL
from .churn import *  # noqa: F401,F403
from .cox import *  # noqa: F401,F403
from .km import *  # noqa: F401,F403
from .logrank import *  # noqa: F401,F403
from .render import *  # noqa: F401,F403
from .views import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403
from .risk import *  # noqa: F401,F403
from .time_varying import *  # noqa: F401,F403
from . import churn, cox, km, logrank, render, report, risk, time_varying, views  # noqa: E402

__all__ = ["DAY_NS", "PARTICIPATION_TYPE", "ALL", "AnalysisWarning", "SALT_ENV", "id_salt",
           "pseudonymise", *churn.__all__, *km.__all__, *logrank.__all__, *cox.__all__,
           *time_varying.__all__, *risk.__all__, *report.__all__, *render.__all__, *views.__all__]
