"""Member activity per period and the Wilson interval: the building blocks of every cohort table.

Every aggregation of the package goes through :func:`member_period_activity` (its engine,
``_common.activity_codes``): the one vectorised step from the event log to de-duplicated
(member, period) pairs, with integer period codes computed from the int64 timestamps, so a faster
engine can replace it in one place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import config
from .._time import Period
from ._common import activity_codes, wilson

__all__ = ["member_period_activity", "wilson_interval"]


def member_period_activity(events: pd.DataFrame, *, period: Period = "W", active_types=None,
                           tz=None, until=None) -> pd.DataFrame:
    """De-duplicated (member, period) pairs in which a member was active.

    The single event → activity aggregation behind ``retention``, ``growth``, ``lifecycle`` and
    ``n_day_retention``. Vectorised: integer period codes from the int64 timestamps; member ids
    coded as offsets (compact integer ids) or factorised (any other ids); pairs de-duplicated
    with a dense member × period bitmap (a hash when the bitmap would be too large). No Python
    loop over members or events.

    Parameters
    ----------
    events : DataFrame
        ``member_id, ts, event_type`` (data contract).
    period : {"D", "W", "M"}
        Day, ISO week (Monday start) or calendar month.
    active_types : str, list of str or None, default None
        Event types that count as activity; None = every type. An empty list is refused
        (ParameterError), as is a type that never occurs in the events.
    tz : str or tzinfo, optional
        Zone of the wall clock (default: the zone of ``events.ts``).
    until : Timestamp, optional
        Ignore events after this instant (the observation end).

    Returns
    -------
    DataFrame
        ``member_id`` (same dtype as in ``events``) and ``period`` (int64 code, see
        ``period_codes``), one row per pair, sorted by member code (ascending id for integer
        ids, first appearance otherwise), then period.

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
    ...     "ts": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00", "2026-03-09 08:00"])})
    >>> member_period_activity(ev, period="W").sort_values("member_id").to_numpy().tolist()
    [[1, 2931], [2, 2932]]
    """
    uniques, member, per = activity_codes(events, period=period, active_types=active_types,
                                          tz=tz, until=until)
    return pd.DataFrame({"member_id": uniques[member], "period": per})


def wilson_interval(successes, n, *, alpha: float = config.ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (vectorised).

    Parameters
    ----------
    successes, n : array-like of int
        Counts; cells with ``n == 0`` get NaN bounds.
    alpha : float, default 0.05
        Two-sided significance level; intervals are at 1 - alpha.

    Returns
    -------
    (ci_low, ci_high) : tuple of numpy arrays

    Examples
    --------
    >>> [round(float(x), 4) for x in wilson_interval(3, 10)]
    [0.1078, 0.6032]
    """
    return wilson(successes, n, alpha=alpha)
