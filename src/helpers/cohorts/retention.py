"""Cohort retention: classic and rolling tables, the cohort matrix, pooled curves, N-day retention.

Definitions (used by every function here):

- **Cohort**: the period of ``joined_at`` (day, ISO week or calendar month in the data's time
  zone), labelled by the tz-aware start of its period. **Period index k**: periods elapsed since
  the cohort's period (k = 0 is the join period itself).
- **Classic** ("on") retention: active *in* period c + k; **rolling** ("on or after"): active in
  c + k or any later observed period.
- A cell (c, k) is *reachable* only if period c + k has started by the end of observation;
  unreachable cells are absent from every table, never zero. The period holding the end is
  reachable but partial (``complete=False``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import config
from .._checks import as_columns
from .._time import Period, check_period, period_codes, period_start
from ..errors import ParameterError
from ._common import (Mode, activity_positions, check_mode, fill_doc, group_ids, last_index,
                      setup, with_ci)

__all__ = ["retention", "retention_matrix", "retention_curve", "n_day_retention",
           "RETENTION_COLUMNS"]

RETENTION_COLUMNS = ["cohort", "period_index", "cohort_size", "retained", "rate", "ci_low",
                      "ci_high", "complete"]


@fill_doc
def retention(members: pd.DataFrame, events: pd.DataFrame, *, period: Period = "W",
              mode: Mode = "classic", by=None, active_types=None, observed_until=None,
              alpha: float = config.ALPHA) -> pd.DataFrame:
    """Cohort retention table: for each cohort and period index, the share of members active.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at`` and the ``by`` columns.
    events : DataFrame
        ``member_id, ts, event_type``.
    %(period)s
    %(mode)s
    %(by)s
    %(active_types)s
    %(observed_until)s
    %(alpha)s

    Returns
    -------
    DataFrame
        One row per *reachable* cell, sorted by ``[*by, cohort, period_index]``:
        ``*by``; ``cohort`` (tz-aware Timestamp: start of the join period); ``period_index``
        (int, k); ``cohort_size`` (members of the cohort); ``retained`` (members active in
        period c + k, or in c + k or later for rolling); ``rate`` = retained / cohort_size;
        ``ci_low``, ``ci_high`` (Wilson); ``complete`` (False for the period still running at
        ``observed_until``). Unreachable cells are absent, never zero.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> r = retention(members, events, period="W")
    >>> r[["period_index", "cohort_size", "retained"]].head(4).values.tolist()
    [[0, 2, 1], [1, 2, 2], [2, 2, 0], [3, 2, 1]]
    """
    check_period(period)
    check_mode(mode)
    by_cols = as_columns("by", by, members)
    tz, until, m = setup(members, events, observed_until, by_cols)
    out_cols = [*by_cols, *RETENTION_COLUMNS]
    if len(m) == 0:
        return pd.DataFrame(columns=out_cols)
    join = period_codes(m["joined_at"], period, tz=tz)
    end = int(period_codes(until, period, tz=tz)[0])
    gid, labels = group_ids(m, by_cols)
    # cohort id = (group, join period)
    c0 = int(join.min())
    ncode = end - c0 + 1
    cid_raw = gid * ncode + (join - c0)
    cid, cohort_keys = pd.factorize(cid_raw, sort=True)
    cohort_keys = np.asarray(cohort_keys, dtype=np.int64)
    n_coh = len(cohort_keys)
    size = np.bincount(cid, minlength=n_coh)
    coh_group = cohort_keys // ncode
    coh_code = cohort_keys % ncode + c0
    K = ncode  # period index 0 … end - c0
    pos, per = activity_positions(m, events, period=period, active_types=active_types,
                                   until=until, tz=tz)
    k = per - join[pos]
    ok = k >= 0  # activity before the join period never counts
    pos, k = pos[ok], k[ok]
    if mode == "classic":
        counts = np.bincount(cid[pos] * K + k, minlength=n_coh * K).reshape(n_coh, K)
    else:
        kmax = last_index(pos, k, len(m))
        hit = kmax >= 0
        hist = np.bincount(cid[hit] * K + kmax[hit], minlength=n_coh * K).reshape(n_coh, K)
        counts = hist[:, ::-1].cumsum(axis=1)[:, ::-1]
    # reachable cells: k = 0 … end - cohort code
    reach = end - coh_code + 1
    rows = np.repeat(np.arange(n_coh), reach)
    kk = np.arange(reach.sum()) - np.repeat(np.cumsum(reach) - reach, reach)
    out = labels.iloc[coh_group[rows]].reset_index(drop=True)
    out["cohort"] = period_start(coh_code[rows], period, tz=tz)
    out["period_index"] = kk.astype(np.int64)
    out["cohort_size"] = size[rows].astype(np.int64)
    out["retained"] = counts[rows, kk].astype(np.int64)
    out = with_ci(out, "retained", "cohort_size", alpha)
    out["complete"] = (coh_code[rows] + kk) < end
    return out[out_cols]


def retention_matrix(table: pd.DataFrame, *, value: str = "rate",
                     complete_only: bool = False) -> pd.DataFrame:
    """Pivot a :func:`retention` table to the familiar cohort × period-index matrix.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`retention`.
    value : str
        Column to spread (``"rate"``, ``"retained"``, ``"ci_low"``, …).
    complete_only : bool, default False
        Leave the cells of the period still running blank too (a partial period understates
        activity and reads as decay).

    Returns
    -------
    DataFrame
        Index ``[*by, cohort, cohort_size]``, columns the period indices 0, 1, …; unreachable
        cells are NaN (and, with ``complete_only``, partial cells).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> retention_matrix(retention(members, events), value="retained").values.tolist()
    [[1.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, nan], [1.0, 1.0, nan, nan]]
    >>> retention_matrix(retention(members, events), value="retained",
    ...                  complete_only=True).values.tolist()
    [[1.0, 2.0, 0.0, nan], [0.0, 0.0, nan, nan], [1.0, nan, nan, nan]]
    """
    if value not in table.columns:
        raise ParameterError(f"value={value!r} is not a column of the table; use one of "
                             f"{', '.join(table.columns)}")
    by_cols = _by_of(table)
    t = table
    if complete_only and "complete" in table.columns:
        t = table.assign(**{value: table[value].where(table["complete"].astype(bool))})
    out = t.pivot_table(index=[*by_cols, "cohort", "cohort_size"], columns="period_index",
                        values=value, aggfunc="first", dropna=False, observed=True)
    keep = table.groupby([*by_cols, "cohort", "cohort_size"], observed=True, dropna=False).size()
    return out.loc[out.index.isin(keep.index)] if complete_only else out.dropna(how="all")


def _by_of(table: pd.DataFrame) -> list[str]:
    known = set(RETENTION_COLUMNS) | {"day", "eligible", "cohorts", "period"}
    return [c for c in table.columns if c not in known]


@fill_doc
def retention_curve(table: pd.DataFrame, *, complete_only: bool = True,
                    alpha: float = config.ALPHA) -> pd.DataFrame:
    """Retention curve: cells pooled over cohorts, weighted by cohort size.

    Only reachable cells exist in ``table``, so at period index k the curve pools exactly the
    cohorts that reached k (rate = Σ retained / Σ cohort_size). With ``complete_only`` (default)
    the period still running at the observation end is left out as well, since a partial
    period understates activity.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`retention` (any ``by``).
    complete_only : bool
        Drop cells whose period is not complete.
    %(alpha)s

    Returns
    -------
    DataFrame
        ``*by, period_index, cohorts`` (cohorts pooled), ``cohort_size`` (Σ members),
        ``retained``, ``rate``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> curve = retention_curve(retention(members, events))
    >>> curve[["period_index", "cohorts", "cohort_size", "retained"]].values.tolist()
    [[0, 3, 5, 2], [1, 2, 3, 2], [2, 1, 2, 0]]
    """
    by_cols = _by_of(table)
    t = table.loc[table["complete"]] if complete_only else table
    out = (t.groupby([*by_cols, "period_index"], dropna=False, observed=True, sort=True)
           .agg(cohorts=("cohort", "size"), cohort_size=("cohort_size", "sum"),
                retained=("retained", "sum")).reset_index())
    return with_ci(out, "retained", "cohort_size", alpha)


@fill_doc
def n_day_retention(members: pd.DataFrame, events: pd.DataFrame, *, days: Sequence[int] = (1, 7, 30),
                    mode: Mode = "classic", by=None, active_types=None, observed_until=None,
                    alpha: float = config.ALPHA) -> pd.DataFrame:
    """N-day retention (D1, D7, D30 …) with honest denominators.

    Day N after joining is the N-th calendar day after the join day (in the data's time zone).
    Classic: active on day N; rolling: active on day N or any later observed day. Only members
    who joined at least N × 24 h before ``observed_until`` are in the denominator of DN.

    Parameters
    ----------
    members, events : DataFrame
        As for :func:`retention`.
    days : sequence of int
        The N values (≥ 0).
    %(mode)s
    %(by)s
    %(active_types)s
    %(observed_until)s
    %(alpha)s

    Returns
    -------
    DataFrame
        ``*by, day`` (N), ``eligible`` (members old enough), ``retained``, ``rate``,
        ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> n_day_retention(members, events, days=[1, 7])[["day", "eligible", "retained"]].values.tolist()
    [[1, 5, 1], [7, 4, 0]]
    """
    check_mode(mode)
    days = [int(d) for d in ([days] if np.isscalar(days) else days)]
    if not days or min(days) < 0:
        raise ParameterError(f"days={days!r}: give one or more non-negative integers, e.g. [1, 7, 30]")
    by_cols = as_columns("by", by, members)
    tz, until, m = setup(members, events, observed_until, by_cols)
    join = period_codes(m["joined_at"], "D", tz=tz)
    pos, per = activity_positions(m, events, period="D", active_types=active_types,
                                   until=until, tz=tz)
    k = per - join[pos]
    kmax = last_index(pos, k, len(m))
    gid, labels = group_ids(m, by_cols)
    G = len(labels)
    joined = m["joined_at"]
    frames = []
    for d in days:
        eligible = (joined <= until - pd.Timedelta(days=d)).to_numpy()
        if mode == "classic":
            hit = np.zeros(len(m), dtype=bool)
            hit[pos[k == d]] = True
        else:
            hit = kmax >= d
        f = labels.copy()
        f["day"] = d
        f["eligible"] = np.bincount(gid[eligible], minlength=G)
        f["retained"] = np.bincount(gid[eligible & hit], minlength=G)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out = with_ci(out, "retained", "eligible", alpha)
    return out.sort_values([*by_cols, "day"], kind="stable").reset_index(drop=True)

