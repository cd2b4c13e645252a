"""Per-member analysis inputs assembled from the engine's window sums (lazy event tables).

The analysis modules keep their numpy paths for DataFrames and hand a lazy table here; the
columns and rules are theirs, written once more only where the engine's per-member sums must be
turned into them (a unit test compares both paths on every engine).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .api import window_metrics


def experiment_columns(pop: pd.DataFrame, events, *, start, end, pre_start, ret_from,
                       observed_until, active_types=None, activity_id=None,
                       tz=None) -> pd.DataFrame:
    """The metric columns of :func:`helpers.exp_metrics.experiment_metrics` for a lazy table.

    Parameters
    ----------
    pop : DataFrame
        The experiment population (``member_id`` [, ``left_at``], …), one row per member.
    events : Ibis table
    start, end, pre_start, ret_from, observed_until : Timestamp
        The window ``[start, end)``, the pre-period start, the retention day and the end of
        observation (``retained`` is NaN when the data end before ``ret_from``).
    activity_id : str, optional
        The experiment's activity (``participation`` is NaN without one).

    Returns
    -------
    DataFrame
        ``pop`` plus ``participation, active_days, messages, retained, converted, spend,
        exited, pre_active_days, pre_messages, pre_converted, pre_spend``.
    """
    act = activity_id if isinstance(activity_id, str) and activity_id.strip() else None
    has_act = act is not None and "activity_id" in events.columns
    w = window_metrics(events, start=start, end=end, pre_start=pre_start, ret_from=ret_from,
                       active_types=active_types, activity_id=act if has_act else None, tz=tz)
    w = w.set_index("member_id").reindex(pd.Index(pop["member_id"])).fillna(0)
    out = pop.copy()
    out["participation"] = (w["joins"].to_numpy() > 0).astype(float) if has_act else np.nan
    out["active_days"] = w["active_days"].to_numpy(float)
    out["messages"] = w["messages"].to_numpy(float)
    out["retained"] = ((w["retained_events"].to_numpy() > 0).astype(float)
                       if ret_from <= observed_until else np.nan)
    out["converted"] = (w["purchases"].to_numpy() > 0).astype(float)
    out["spend"] = w["spend"].to_numpy(float)
    left = out["left_at"] if "left_at" in out else pd.Series(pd.NaT, index=out.index)
    out["exited"] = ((left >= start) & (left < end)).astype(float)
    out["pre_active_days"] = w["pre_active_days"].to_numpy(float)
    out["pre_messages"] = w["pre_messages"].to_numpy(float)
    out["pre_converted"] = (w["pre_purchases"].to_numpy() > 0).astype(float)
    out["pre_spend"] = w["pre_spend"].to_numpy(float)
    return out
