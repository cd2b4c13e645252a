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


# ----------------------------------------------------------------------------- channel colours
#: the demo's channels keep these colours in every report and dataset
PINNED_CHANNEL_COLOURS: dict[str, str] = {
    "海报裂变": "#4C72B0", "邀请码": "#DD8452", "线下活动": "#55A868", "内容营销": "#C44E52",
    "社交广告": "#8172B3", "自然流量": "#937860",
}
#: colours for any other name, chosen by a stable hash of the name (never by sort order)
HASHED_CHANNEL_COLOURS: tuple[str, ...] = (
    "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD", "#1B9E77", "#D95F02", "#7570B3", "#E7298A",
    "#66A61E", "#E6AB02", "#A6761D", "#17BECF", "#BCBD22", "#9467BD", "#FF9896", "#2CA02C",
)
UNKNOWN_COLOUR = "#B0B0B0"


def channel_colour(name) -> str:
    """The one colour of a channel (or any segment) name, the same in every report.

    Known demo channels are pinned; any other name gets a colour from a stable hash of its text
    (MD5, not Python's salted ``hash``), so a channel keeps its colour whatever other channels a
    dataset has and however they sort. Missing names and ``"unknown"`` are grey.

    Examples
    --------
    >>> channel_colour("邀请码")
    '#DD8452'
    >>> channel_colour("Partner X") == channel_colour("Partner X")
    True
    """
    import hashlib

    if name is None or (isinstance(name, float) and name != name) or str(name) == "unknown":
        return UNKNOWN_COLOUR
    text = str(name)
    if text in PINNED_CHANNEL_COLOURS:
        return PINNED_CHANNEL_COLOURS[text]
    digest = hashlib.md5(text.encode("utf-8")).digest()
    return HASHED_CHANNEL_COLOURS[int.from_bytes(digest[:4], "big") % len(HASHED_CHANNEL_COLOURS)]


def channel_palette(names) -> dict[str, str]:
    """``{name: colour}`` for the given channel names (see :func:`channel_colour`).

    Pass it as seaborn's ``palette=`` or look colours up when drawing by hand.

    Examples
    --------
    >>> channel_palette(["自然流量", "海报裂变"])
    {'自然流量': '#937860', '海报裂变': '#4C72B0'}
    """
    return {str(n): channel_colour(n) for n in dict.fromkeys(names)}
