"""Internals shared by the modules of ``helpers.cohorts`` (not a public interface).

The one vectorised step from the event log to de-duplicated (member, period) pairs
(:func:`activity_codes`), the Wilson columns, segment ids, and the common preamble that resolves
the time zone, the end of observation and the members counted. Period codes, the end of
observation, active types and column lists come from the package-wide ``_time`` / ``_checks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .. import config
from .._stats import wilson  # noqa: F401  (the one Wilson interval; used by activity)
from .._checks import ACTIVE_TYPES_DOC, ALPHA_DOC, active_mask, check_choice, require_columns
from ..engine import activity_pairs, is_lazy
from .._time import (OBSERVED_UNTIL_DOC, check_period, member_codes, period_codes, resolve_end,
                     to_timestamp, tz_of)

Mode = Literal["classic", "rolling"]
MODES: tuple[str, ...] = ("classic", "rolling")
PERIOD_NAMES = {"D": "day", "W": "week", "M": "month"}
PERIOD_ADJECTIVES = {"D": "daily", "W": "weekly", "M": "monthly"}

#: largest member × period bitmap used for de-duplication (bytes); larger inputs use hashing
BITMAP_LIMIT = 600_000_000


#: parameter texts written once (``%(name)s`` in a docstring, filled by :func:`fill_doc`)
DOCS = {
    "observed_until": OBSERVED_UNTIL_DOC,
    "active_types": ACTIVE_TYPES_DOC,
    "alpha": ALPHA_DOC,
    "period": """period : {"D", "W", "M"}, default "W"
        Calendar day, ISO week (Monday start) or calendar month, on the wall clock of the
        data's time zone.""",
    "mode": """mode : {"classic", "rolling"}, default "classic"
        ``"classic"`` (bracket, "on"): active *in* period c + k. ``"rolling"`` ("on or after",
        unbounded): active in period c + k *or any later observed period*.""",
    "by": """by : str, list of str or None, default None
        Member column(s) to segment by (``"channel"``, ``["channel", "platform"]``); None or
        ``""`` for none. Missing values form their own group.""",
}


def fill_doc(func):
    """Put the shared parameter texts of :data:`DOCS` into ``func``'s docstring."""
    doc = func.__doc__ or ""
    for name, text in DOCS.items():
        doc = doc.replace(f"%({name})s", text)
    func.__doc__ = doc
    return func


def check_mode(mode) -> str:
    return check_choice("mode", mode, MODES)


# ----------------------------------------------------------------------------- the one aggregation
def activity_codes(events: pd.DataFrame, *, period, active_types, tz, until
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The engine of ``member_period_activity``.

    Returns ``(uniques, member, period)``: ids by code, then one (member code, period code)
    pair per member-period with activity, sorted by member code then period.
    """
    check_period(period)
    require_columns(events, ["member_id", "ts", "event_type"], "events")
    if is_lazy(events):  # a lazy table (engine="duckdb"/"spark"): the pairs come from the engine
        pairs = activity_pairs(events, period=period, active_types=active_types, tz=tz,
                               until=until, sort=False)  # unsorted: coded and sorted below
        return pair_codes(pairs["member_id"].to_numpy(), pairs["period"].to_numpy())
    mask = active_mask(events, active_types)
    ts = events["ts"]
    if until is not None:
        until = to_timestamp(until, tz_of(ts), "until")
        late = (ts > until).to_numpy()
        if late.any():
            mask = ~late if mask is None else mask & ~late
    ids = events["member_id"].to_numpy()
    if mask is not None:
        ids = ids[mask]
        ts = ts[mask]
    if len(ids) == 0:
        empty = np.empty(0, dtype=np.int64)
        return events["member_id"].iloc[:0].to_numpy(), empty, empty
    return pair_codes(ids, period_codes(ts, period, tz=tz))


def pair_codes(ids: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(uniques, member, period)`` of (member id, period code) rows: distinct pairs sorted by
    member code then period (a dense bitmap when it fits: linear time, no hashing; beyond it a
    sort and a comparison of neighbours, no hash table — at 10,000,000 members the ~230
    million daily pairs made ``pd.unique`` grow past 21 GB and the kernel was killed).

    Examples
    --------
    >>> u, m, p = pair_codes(np.array([7, 5, 7, 7]), np.array([3, 1, 2, 3]))
    >>> u[m].tolist(), p.tolist()
    ([5, 7, 7], [1, 2, 3])
    """
    if len(ids) == 0:
        empty = np.empty(0, dtype=np.int64)
        return np.asarray(ids), empty, empty
    mcode, uniques = member_codes(ids)
    lo = int(codes.min())
    span = int(codes.max()) - lo + 1
    key = mcode * span + (codes - lo)
    if len(uniques) * span <= BITMAP_LIMIT:  # dense bitmap: linear time, no hashing
        seen = np.zeros(len(uniques) * span, dtype=bool)
        seen[key] = True
        key = np.flatnonzero(seen)
    else:
        key = np.sort(key)
        key = key[np.r_[True, key[1:] != key[:-1]]]
    return uniques, key // span, key % span + lo


# ----------------------------------------------------------------------------- Wilson interval
def with_ci(df: pd.DataFrame, k: str, n: str, alpha: float) -> pd.DataFrame:
    """Add ``rate`` = k / n and its Wilson ``ci_low``, ``ci_high`` to ``df`` (in place)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        df["rate"] = df[k].to_numpy() / df[n].to_numpy()
    df["ci_low"], df["ci_high"] = wilson(df[k].to_numpy(), df[n].to_numpy(), alpha=alpha)
    return df


# ----------------------------------------------------------------------------- shared preamble
def group_ids(frame: pd.DataFrame, by_cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group id per row and the label frame (row g = labels of group g)."""
    if not by_cols:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=range(1))
    gid = frame.groupby(by_cols, dropna=False, observed=True, sort=True).ngroup().to_numpy()
    ug, first = np.unique(gid, return_index=True)
    labels = frame[by_cols].iloc[first].reset_index(drop=True)
    return gid.astype(np.int64), labels


def members_until(members: pd.DataFrame, until: pd.Timestamp, cols: Sequence[str]) -> pd.DataFrame:
    keep = (members["joined_at"] <= until).to_numpy()
    return members.loc[keep, list(dict.fromkeys(["member_id", "joined_at", *cols]))]


def setup(members: pd.DataFrame, events: pd.DataFrame, observed_until, cols: Sequence[str]):
    """Check members, resolve the time zone and the end of observation (``_time.resolve_end``),
    and keep the members who joined by then (with ``cols``). Returns ``(tz, until, members)``."""
    require_columns(members, ["member_id", "joined_at"], "members")
    tz = tz_of(members["joined_at"])
    until = resolve_end(observed_until, events, tz)
    return tz, until, members_until(members, until, cols)


def activity_positions(members: pd.DataFrame, events: pd.DataFrame, *, period, active_types,
                       until, tz) -> tuple[np.ndarray, np.ndarray]:
    """(row position in ``members``, period code) of each active pair of a member in ``members``.

    Pairs come sorted by member (in the order of the engine's member codes), then period.
    """
    uniques, member, per = activity_codes(events, period=period, active_types=active_types,
                                          tz=tz, until=until)
    # look up only the ids that occur (``member`` is sorted, so first rows are cheap to find)
    first = np.flatnonzero(np.r_[True, member[1:] != member[:-1]]) if len(member) else member
    present = member[first]
    lookup = np.full(len(uniques), -1, dtype=np.int64)
    lookup[present] = pd.Index(members["member_id"]).get_indexer(uniques[present])
    pos = lookup[member]
    keep = pos >= 0
    return pos[keep], per[keep]


def last_index(pos: np.ndarray, k: np.ndarray, n: int) -> np.ndarray:
    """Largest ``k`` per member position (−1 if none), for pairs grouped by member with ``k``
    ascending within a member (the order of :func:`activity_positions`): the last row of each
    block, no scatter-max needed."""
    out = np.full(n, -1, dtype=np.int64)
    if len(pos):
        last = np.r_[pos[1:] != pos[:-1], True]
        out[pos[last]] = k[last]
    return out


def period_range(members: pd.DataFrame, period, tz, until) -> tuple[int, int]:
    """Codes of the first join period and of the period holding ``until``."""
    start = int(period_codes(members["joined_at"], period, tz=tz).min())
    return start, int(period_codes(until, period, tz=tz)[0])


def in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Membership of ``values`` in the sorted array ``sorted_keys``."""
    i = np.searchsorted(sorted_keys, values)
    i = np.minimum(i, len(sorted_keys) - 1)
    return sorted_keys[i] == values if len(sorted_keys) else np.zeros(len(values), dtype=bool)
