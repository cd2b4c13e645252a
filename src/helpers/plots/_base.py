"""Shared plotting set-up: a CJK font shipped by a Python package, and the house style.

Chinese labels (channel names such as 海报裂变) must render in every report without a system
font, so :func:`use_cjk_font` registers Noto Sans CJK SC from the ``noto-cjk-sans-otc`` package
(a project dependency) and puts it first in matplotlib's sans-serif list.
"""

from __future__ import annotations

import functools

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

CJK_FAMILY = "Noto Sans CJK SC"


@functools.cache
def use_cjk_font() -> str:
    """Register the packaged CJK font with matplotlib (once) and make it the default.

    Returns
    -------
    str
        The family name now first in ``font.sans-serif``.
    """
    from noto_cjk_sans_otc import FONT_PATH

    font_manager.fontManager.addfont(str(FONT_PATH))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [CJK_FAMILY, *[
        f for f in matplotlib.rcParams["font.sans-serif"] if f != CJK_FAMILY]]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    return CJK_FAMILY


def set_theme(**kwargs) -> None:
    """seaborn's whitegrid theme with the CJK font; use at the top of a notebook."""
    import seaborn as sns

    family = use_cjk_font()
    sns.set_theme(style="whitegrid", font=family,
                  rc={"axes.unicode_minus": False, "figure.dpi": 100, **kwargs})


def get_ax(ax=None, figsize=(8, 4.5)):
    """Return ``ax`` or a new axes of ``figsize``; makes sure the CJK font is registered."""
    use_cjk_font()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax
