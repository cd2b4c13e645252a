"""Renewal of paid memberships: the renewal table and the shifted-beta-geometric curve.

Rules (DESIGN.md §4): a member's periods (``memberships`` rows, ordered by ``starts_at``) form a
chain; period k is **up for renewal** when it ended at least ``grace_days`` before the end of
observation, and **renewed** when the next period starts within ``grace_days`` of its end. A
period still running (or ended less than ``grace_days`` ago) is censored, never counted as lost;
a later re-subscription after a lapse starts nothing new in the chain. The level of a chain
(``by``, default the plan) is that of its first period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import config
from .._checks import as_columns, check_alpha, require_columns
from .._stats import wilson
from .._time import to_timestamp, tz_of
from ..errors import ParameterError
from . import sbg

TABLE_COLUMNS = ["renewal_index", "up_for_renewal", "renewed", "rate", "ci_low", "ci_high"]


@dataclass(frozen=True)
class Renewal:
    """Result of :func:`renewal`.

    Attributes
    ----------
    table : DataFrame
        ``*by, renewal_index, up_for_renewal, renewed, rate, ci_low, ci_high`` (Wilson).
    params : dict
        ``{level: {"alpha": …, "beta": …}}`` of the sBG model per level (maximum likelihood;
        levels where it cannot be fitted are absent and named in ``notes``). The level key is
        the value of the single ``by`` column, a tuple for several, ``"all"`` for none.
    curve : DataFrame
        ``*by, renewal_index, observed_rate, projected_rate, projected_still_subscribed``:
        the fitted curve, projected ``project`` renewals beyond the last observed one.
    members : int
        Chains (members with at least one period started by the end).
    observed_until : Timestamp
    grace_days : float
    notes : tuple of str
        Machine-readable caveats: ``"not_fitted:<level>"`` (nobody lost yet),
        ``"one_renewal_only:<level>"`` (the curve needs at least two renewals observed).
    """

    table: pd.DataFrame
    params: dict
    curve: pd.DataFrame
    members: int
    observed_until: pd.Timestamp
    grace_days: float
    by: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def renewal_chains(memberships: pd.DataFrame, *, observed_until, grace_days: float = 30
                   ) -> pd.DataFrame:
    """One row per (member, period index k) that is up for renewal: ``member_id, renewal_index,
    renewed`` plus the first period's columns (for ``by``)."""
    end = observed_until
    m = memberships[memberships["starts_at"] <= end].sort_values(["member_id", "starts_at"],
                                                                  kind="stable")
    if m.empty:
        return pd.DataFrame(columns=["member_id", "renewal_index", "renewed"])
    grace = pd.Timedelta(days=grace_days)
    mid = m["member_id"].to_numpy()
    same_next = np.r_[mid[1:] == mid[:-1], False]
    next_start = m["starts_at"].shift(-1)
    renewed = same_next & (next_start <= m["ends_at"] + grace).fillna(False).to_numpy()
    # position in the member's run of unbroken renewals: a lapse ends the chain
    first_row = np.r_[True, mid[1:] != mid[:-1]]
    broken_before = np.r_[False, ~renewed[:-1]] & ~first_row  # previous period not renewed
    chain_no = np.cumsum(first_row | broken_before)
    keep = chain_no == pd.Series(chain_no).groupby(mid).transform("min").to_numpy()
    m = m.assign(renewed=renewed)[keep]
    m["renewal_index"] = m.groupby("member_id").cumcount() + 1
    up = (m["ends_at"] <= end - grace).to_numpy()
    first = m[m["renewal_index"] == 1].drop(columns=["renewed", "renewal_index", "starts_at",
                                                     "ends_at"])
    out = m.loc[up, ["member_id", "renewal_index", "renewed"]]
    return out.merge(first, on="member_id", how="left")


def renewal(memberships: pd.DataFrame, *, observed_until=None, by="plan",
            grace_days: float = 30, alpha: float = config.ALPHA, project: int = 6) -> Renewal:
    """Renewal rates by renewal number, and the shifted-beta-geometric (sBG) curve per level.

    Parameters
    ----------
    memberships : DataFrame
        ``member_id, plan, starts_at, ends_at`` (the loader's ``Community.memberships``).
    observed_until : str, Timestamp or None
        End of observation; when None, the latest ``starts_at`` in ``memberships`` (pass the
        dataset's end of observation, the last event, to align with the other reports).
    by : str, list or None
        Columns of ``memberships`` whose value in a member's first period defines the level
        (default ``"plan"``; None or "" for everyone together).
    grace_days : float
        Days after a period's end within which a new period counts as a renewal.
    alpha : float
        1 − confidence level of the Wilson intervals.
    project : int
        Renewals projected past the last observed one in ``curve``.

    Returns
    -------
    Renewal

    Examples
    --------
    >>> ms = pd.DataFrame({"member_id": [1, 1, 2, 3], "plan": ["月卡"] * 4,
    ...     "starts_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", "2026-01-05"]),
    ...     "ends_at": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-02-01", "2026-02-05"])})
    >>> renewal(ms, observed_until="2026-04-15").table[["renewal_index", "up_for_renewal",
    ...                                                 "renewed"]].to_string(index=False)
    ' renewal_index  up_for_renewal  renewed\\n             1               3        1\\n             2               1        0'
    """
    check_alpha(alpha)
    require_columns(memberships, ["member_id", "starts_at", "ends_at"], "memberships")
    if not grace_days >= 0:
        raise ParameterError(f"grace_days must be a number of days ≥ 0, got {grace_days!r}")
    by_cols = as_columns("by", by, memberships, "memberships")
    tz = tz_of(memberships["starts_at"])
    if observed_until is None:
        if memberships.empty:
            raise ParameterError("memberships is empty: there is nothing to measure renewal on")
        end = pd.Timestamp(memberships["starts_at"].max())
    else:
        end = to_timestamp(observed_until, tz, "observed_until")
    chains = renewal_chains(memberships, observed_until=end, grace_days=grace_days)
    started = memberships.loc[memberships["starts_at"] <= end, "member_id"].nunique()
    keys = by_cols or ["_all"]
    chains = chains.assign(_all="all")
    if chains.empty:
        table = pd.DataFrame(columns=[*by_cols, *TABLE_COLUMNS])
    else:
        table = chains.groupby([*keys, "renewal_index"], observed=True, sort=True).agg(
            up_for_renewal=("renewed", "size"), renewed=("renewed", "sum")).reset_index()
        table["renewed"] = table["renewed"].astype(int)
        table["rate"] = table["renewed"] / table["up_for_renewal"]
        table["ci_low"], table["ci_high"] = wilson(table["renewed"], table["up_for_renewal"], alpha)
    params, curves, notes = {}, [], []
    for level, sub in (table.groupby(keys, observed=True, sort=True) if len(table) else []):
        key = level[0] if len(keys) == 1 and isinstance(level, tuple) else level
        n = sub.set_index("renewal_index")
        idx = np.arange(1, int(n.index.max()) + 1)
        up = n["up_for_renewal"].reindex(idx, fill_value=0).to_numpy()
        ren = n["renewed"].reindex(idx, fill_value=0).to_numpy()
        lost = up - ren
        censored = ren - np.r_[up[1:], 0]
        if (up > 0).sum() < 2:  # one renewal seen: the curve's shape is not identified
            notes.append(f"one_renewal_only:{key}")
            continue
        try:
            p = sbg.fit(idx, lost, idx, np.maximum(censored, 0))
        except ParameterError:
            notes.append(f"not_fitted:{key}")
            continue
        params[key] = p
        k = np.arange(1, len(idx) + project + 1)
        c = pd.DataFrame({"renewal_index": k,
                          "observed_rate": n["rate"].reindex(k).to_numpy(),
                          "projected_rate": sbg.retention_rate(p["alpha"], p["beta"], k),
                          "projected_still_subscribed": np.exp(sbg.log_survival(p["alpha"], p["beta"], k))})
        for col, v in zip(keys, level if isinstance(level, tuple) else (level,)):
            c.insert(0, col, v)
        curves.append(c)
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=[*by_cols, "renewal_index", "observed_rate", "projected_rate",
                 "projected_still_subscribed"])
    table = table.drop(columns=["_all"], errors="ignore")
    curve = curve.drop(columns=["_all"], errors="ignore")
    return Renewal(table=table[[*by_cols, *TABLE_COLUMNS]].reset_index(drop=True), params=params,
                   curve=curve, members=int(started), observed_until=end,
                   grace_days=float(grace_days), by=tuple(by_cols), notes=tuple(notes))
