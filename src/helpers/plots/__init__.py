"""Plots for the notebooks: each takes tidy data and ``ax=None`` and returns the axes.

Computation lives in ``cohorts``, ``survival`` and ``experiments``; the functions here only
draw what those return. Never call ``plt.show()`` here: notebooks display figures themselves.
"""

from ._base import CJK_FAMILY, get_ax, set_theme, use_cjk_font
from .cohorts import *  # noqa: F401,F403
from .conversion import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .overview import *  # noqa: F401,F403
from .survival import *  # noqa: F401,F403
from .tables import *  # noqa: F401,F403
