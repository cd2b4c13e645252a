"""Tables as a reviewer reads them: the display counterpart of the plots.

Raw DataFrames in an HTML report show ``2026-03-02 00:00:00+08:00`` for a week start, ``NaN``
for cells that do not exist, 6-decimal floats and a meaningless 0, 1, 2 … index.
:func:`show_table` returns a pandas ``Styler`` that renders the same numbers readably, without
changing the data (the frame itself stays available to an analyst).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["show_table"]


def _date_text(v) -> str:
    if pd.isna(v):
        return ""
    t = pd.Timestamp(v)
    return f"{t:%Y-%m-%d}" if t == t.normalize() else f"{t:%Y-%m-%d %H:%M}"


def show_table(df: pd.DataFrame, *, percent=(), digits: int = 2, na: str = "",
               max_rows: int | None = 50, caption: str | None = None):
    """A DataFrame formatted for a report: dates without midnight times and time zones,
    shares as percentages, numbers rounded, missing values blank, no positional index.

    Parameters
    ----------
    df : DataFrame
        Any tidy table (not modified).
    percent : list of str, or True
        Columns holding shares in [0, 1], shown as ``12.3%``; True for every float column
        (e.g. a retention matrix).
    digits : int
        Decimals of the other float columns (integers stay integers).
    na : str
        Text for missing values (blank by default: "not reached", not zero).
    max_rows : int, optional
        Show only the first ``max_rows`` rows (the caption says how many there are).
    caption : str, optional
        Text above the table.

    Returns
    -------
    pandas.io.formats.style.Styler

    Examples
    --------
    >>> show_table(growth_table, percent=["stickiness"])            # doctest: +SKIP
    """
    if percent is True:
        percent = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    missing = [c for c in percent if c not in df.columns]
    if missing:
        from ..errors import ParameterError

        raise ParameterError(f"percent columns {missing} are not in the table; columns: "
                             f"{list(df.columns)}")
    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)
    if max_rows is not None and len(df) > max_rows:
        note = f"first {max_rows:,} of {len(df):,} rows"
        caption = f"{caption} ({note})" if caption else note.capitalize()
    formats = {}
    for c in shown.columns:
        s = shown[c]
        if c in percent:
            formats[c] = lambda v: "" if pd.isna(v) else f"{v:.1%}"
        elif pd.api.types.is_datetime64_any_dtype(s):
            formats[c] = _date_text
        elif pd.api.types.is_float_dtype(s):
            formats[c] = (lambda v, d=digits: na if pd.isna(v) else f"{v:,.{d}f}")
    sty = shown.style.format(formats, na_rep=na)
    # short labels (channel names such as 社交广告) must not break across lines in narrow columns
    textual = [c for c in shown.columns
               if pd.api.types.is_object_dtype(shown[c]) or pd.api.types.is_string_dtype(shown[c])
               or isinstance(shown[c].dtype, pd.CategoricalDtype)]
    short = [c for c in textual if len(shown) and shown[c].astype(str).str.len().max() <= 24]
    if short:
        sty = sty.set_properties(subset=short, **{"white-space": "nowrap"})
    if isinstance(shown.index, pd.RangeIndex):
        sty = sty.hide(axis="index")
    else:
        sty = sty.format_index(lambda v: _date_text(v) if isinstance(v, pd.Timestamp) else v,
                               axis="index")
    if any(isinstance(c, pd.Timestamp) for c in shown.columns):
        sty = sty.format_index(lambda v: _date_text(v) if isinstance(v, pd.Timestamp) else v,
                               axis="columns")
    if caption:
        sty = sty.set_caption(caption)
    return sty
