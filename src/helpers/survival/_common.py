"""Internals shared by the survival modules: the clean survival frame, group order, columns.

Only the modules of ``helpers.survival`` import from here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._checks import column_param
from ..errors import AnalysisWarning, DataError, ParameterError

ALL = "all"  # group label when no group column is given


def check_columns(data: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Raise ParameterError naming the parameter when a column is not in ``data``.

    ``columns`` maps parameter names (as the caller wrote them) to column names; None is skipped.
    """
    for param, col in columns.items():
        column_param(param, col, data)


def survival_frame(data: pd.DataFrame, duration_col: str, event_col: str,
                   group_col: str | None) -> pd.DataFrame:
    """Return a clean frame ``[group, duration, event]`` (copy), validated.

    Rows whose group is missing are dropped with an AnalysisWarning (they belong to no segment).
    """
    check_columns(data, {"duration_col": duration_col, "event_col": event_col,
                         "group_col": group_col})
    duration = pd.to_numeric(data[duration_col], errors="coerce").astype("float64")
    bad = duration.isna() | (duration < 0) | ~np.isfinite(duration.fillna(0.0))
    if bad.any():
        raise DataError.for_rows("duration missing, negative or infinite", file=None,
                                 column=duration_col, frame=data.reset_index(drop=True),
                                 mask=bad.to_numpy(), fix="durations are days since joining, >= 0")
    event = data[event_col]
    if event.isna().any() or not event.isin([0, 1, True, False]).all():
        raise DataError("event indicator must be 0/1 or boolean without missing values",
                        column=event_col, fix="use the 'churned' column of churn_table")
    if group_col is None:
        group = pd.Series(ALL, index=data.index)
    else:
        group = data[group_col]
        missing = group.isna()
        if missing.any():
            warnings.warn(f"{int(missing.sum())} row(s) with a missing {group_col!r} dropped",
                          AnalysisWarning, stacklevel=3)
    out = pd.DataFrame({"group": group, "duration": duration,
                        "event": event.astype(bool)}).dropna(subset=["group"])
    if out.empty:
        raise ParameterError("no rows to analyse (empty data or every group missing)")
    return out.reset_index(drop=True)


def group_order(groups: pd.Series) -> list:
    """Groups in categorical order if categorical, else sorted (by text for mixed types)."""
    if isinstance(groups.dtype, pd.CategoricalDtype):
        return [g for g in groups.cat.categories if (groups == g).any()]
    uniq = pd.unique(groups)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)

