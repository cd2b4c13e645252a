"""Cohort retention, growth, lifecycle, member layers and fission (裂变) of a community.

Definitions (DESIGN.md §4), used by every function here:

- **Periods** ``"D"`` (calendar day), ``"W"`` (ISO week, Monday to Sunday) and ``"M"`` (calendar
  month), all in the time zone of the timestamps (the dataset's zone; Asia/Shanghai in the demo).
- **Active in a period**: at least one *active* event in it. ``active_types`` lists the event
  types that count (default: all types present).
- **Cohort**: the period of ``joined_at``; a cohort is labelled by the *start of its period* as a
  tz-aware ``Timestamp`` (a Monday 00:00 for weeks, the 1st for months). **Period index k**:
  periods elapsed since the cohort's period (k = 0 is the join period itself).
- **Observation end** ``observed_until`` (default: the last event): events after it are ignored,
  members who joined after it are not counted, and a cell (cohort c, index k) is *reachable* only
  if period c + k has started by then. Unreachable cells are absent from every table, never zero.
  The period holding ``observed_until`` is reachable but partial (``complete=False``).

Every aggregation goes through :func:`member_period_activity`, the one vectorised step from the
event log to de-duplicated (member, period) pairs (integer period codes computed from the int64
timestamps), so a faster engine can replace it in one place.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from . import config
from .errors import AnalysisWarning, ParameterError

__all__ = [
    "PERIODS", "MODES", "LAYERS", "LAYER_ALIASES", "LIFECYCLE_STATUSES",
    "period_codes", "period_start", "member_period_activity", "wilson_interval",
    "retention", "retention_matrix", "retention_curve", "n_day_retention",
    "growth", "lifecycle", "member_layers", "layer_transitions",
    "invites_per_inviter", "referral_share", "k_factor", "fission_table", "summary_markdown",
]

Period = Literal["D", "W", "M"]
Mode = Literal["classic", "rolling"]
PERIODS: tuple[str, ...] = ("D", "W", "M")
MODES: tuple[str, ...] = ("classic", "rolling")
PERIOD_NAMES = {"D": "day", "W": "week", "M": "month"}
PERIOD_ADJECTIVES = {"D": "daily", "W": "weekly", "M": "monthly"}
#: member layers, best first, with their English aliases
LAYERS: tuple[str, ...] = ("核心", "活跃", "潜在", "沉睡")
LAYER_ALIASES: dict[str, str] = {"核心": "core", "活跃": "active", "潜在": "potential",
                                 "沉睡": "dormant"}
LIFECYCLE_STATUSES: tuple[str, ...] = ("new", "returning", "resurrecting", "dormant")
_NS_PER_DAY = 86_400 * 10**9
_EPOCH_THURSDAY_SHIFT = 3  # 1970-01-01 was a Thursday; day + 3 counts from Monday 1969-12-29


# ----------------------------------------------------------------------------- parameter checks
def _check_choice(name: str, value, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
    return value


def _as_columns(name: str, value, frame: pd.DataFrame, table: str = "members") -> list[str]:
    """Normalise ``by``-like parameters to a list of existing columns of ``frame``."""
    if value is None:
        return []
    cols = [value] if isinstance(value, str) else list(value)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(f"{name}={value!r}: no column {', '.join(map(repr, missing))} in "
                             f"{table}; available: {', '.join(map(str, frame.columns))}")
    return cols


def _require(frame: pd.DataFrame, cols: Sequence[str], table: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(f"{table} lacks required column(s) {', '.join(map(repr, missing))} "
                             f"(data contract, DESIGN.md §3)")


def _tz_of(ts: pd.Series):
    return ts.dt.tz if isinstance(ts.dtype, pd.DatetimeTZDtype) else None


def _to_timestamp(value, tz, name: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name}={value!r} is not a timestamp ({exc}); write e.g. "
                             "'2026-08-01' or '2026-08-01 12:00'") from None
    if tz is not None:
        t = t.tz_localize(tz) if t.tzinfo is None else t.tz_convert(tz)
    elif t.tzinfo is not None:
        t = t.tz_localize(None)
    return t


def _observed_until(events: pd.DataFrame, observed_until, tz) -> pd.Timestamp:
    if observed_until is None:
        if len(events) == 0:
            raise ParameterError("events is empty: pass observed_until explicitly")
        return events["ts"].max()
    return _to_timestamp(observed_until, tz, "observed_until")


# ----------------------------------------------------------------------------- period codes
def _wall_ns(ts, tz=None) -> np.ndarray:
    """Wall-clock nanoseconds (int64) of ``ts`` in its own (or the given) time zone.

    When the zone's UTC offset is constant over the data's range (Asia/Shanghai today, or any
    zone between DST switches) the offset is added to the UTC nanoseconds directly, which is
    several times faster than a general conversion on 10^7 timestamps.
    """
    if isinstance(ts, pd.Timestamp):
        ts = pd.DatetimeIndex([ts])
    s = pd.DatetimeIndex(ts) if not isinstance(ts, pd.Series) else pd.DatetimeIndex(ts.array)
    if s.tz is None:
        return s.asi8 if s.unit == "ns" else s.as_unit("ns").asi8
    if tz is not None:
        s = s.tz_convert(tz)
    if s.unit != "ns":
        s = s.as_unit("ns")
    utc = s.asi8
    if len(utc) > 10_000:
        lo, hi = pd.Timestamp(int(utc.min()), tz="UTC"), pd.Timestamp(int(utc.max()), tz="UTC")
        grid = pd.date_range(lo.floor("h"), hi.ceil("h"), freq="h").tz_convert(s.tz)
        offsets = grid.tz_localize(None).asi8 - grid.asi8
        if len(grid) and (offsets == offsets[0]).all():
            return utc + offsets[0]
    return s.tz_localize(None).asi8


def period_codes(ts, period: Period = "W", *, tz=None) -> np.ndarray:
    """Integer period codes of timestamps, computed on the wall clock of their time zone.

    Parameters
    ----------
    ts : Series, DatetimeIndex or Timestamp
        Tz-aware (converted to ``tz`` if given) or naive (taken as wall-clock time).
    period : {"D", "W", "M"}
        Day (days since 1970-01-01), ISO week starting Monday (weeks since Monday
        1969-12-29) or calendar month (months since 1970-01).

    Returns
    -------
    numpy.ndarray of int64
        One code per timestamp; consecutive periods have consecutive codes.

    Examples
    --------
    >>> period_codes(pd.Series(pd.to_datetime(["2026-03-01", "2026-03-02"])), "W").tolist()
    [2930, 2931]
    """
    _check_choice("period", period, PERIODS)
    day = _wall_ns(ts, tz) // _NS_PER_DAY
    if period == "D":
        return day
    if period == "W":
        return (day + _EPOCH_THURSDAY_SHIFT) // 7
    if len(day) > 1000:  # months of the few distinct days, then a gather (10x faster)
        d0, d1 = int(day.min()), int(day.max())
        if d1 - d0 < 1_000_000:
            table = np.arange(d0, d1 + 1).astype("datetime64[D]").astype("datetime64[M]")
            return table.astype(np.int64)[day - d0]
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def period_start(codes, period: Period = "W", *, tz=None) -> pd.DatetimeIndex:
    """Start (00:00 wall clock, in ``tz``) of the periods with the given integer codes.

    Inverse of :func:`period_codes`. Returns a DatetimeIndex (tz-aware when ``tz`` is given).

    Examples
    --------
    >>> period_start([2931], "W", tz="Asia/Shanghai")[0]
    Timestamp('2026-03-02 00:00:00+0800', tz='Asia/Shanghai')
    """
    _check_choice("period", period, PERIODS)
    codes = np.asarray(codes, dtype=np.int64)
    if period == "D":
        days = codes
    elif period == "W":
        days = codes * 7 - _EPOCH_THURSDAY_SHIFT
    else:
        days = codes.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    idx = pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]"))
    if tz is not None:
        idx = idx.tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
    return idx


# ----------------------------------------------------------------------------- the one aggregation
def _active_mask(events: pd.DataFrame, active_types) -> np.ndarray | None:
    """Boolean mask of active events (None = all), or a ParameterError for unknown types."""
    if active_types is None:
        return None
    wanted = [active_types] if isinstance(active_types, str) else list(active_types)
    et = events["event_type"]
    if isinstance(et.dtype, pd.CategoricalDtype):
        counts = np.bincount(et.cat.codes.to_numpy()[et.cat.codes.to_numpy() >= 0],
                             minlength=len(et.cat.categories))
        present = {c for c, n in zip(et.cat.categories, counts) if n > 0}
    else:
        present = set(pd.unique(et.dropna()))
    unknown = [t for t in wanted if t not in present]
    if unknown or not wanted:
        raise ParameterError(
            f"active_types={active_types!r}: event type(s) {', '.join(map(repr, unknown)) or '(none)'}"
            f" never occur in events; event types present: {', '.join(sorted(map(str, present)))}")
    if isinstance(et.dtype, pd.CategoricalDtype):
        wanted_codes = np.flatnonzero(et.cat.categories.isin(wanted))
        return np.isin(et.cat.codes.to_numpy(), wanted_codes)
    return et.isin(wanted).to_numpy()


def member_period_activity(events: pd.DataFrame, *, period: Period = "W", active_types=None,
                           tz=None, until=None) -> pd.DataFrame:
    """De-duplicated (member, period) pairs in which a member was active.

    The single event → activity aggregation behind :func:`retention`, :func:`growth`,
    :func:`lifecycle` and :func:`n_day_retention`. Vectorised: integer period codes from the
    int64 timestamps; member ids coded as offsets (compact integer ids) or factorised (any
    other ids); pairs de-duplicated with a dense member × period bitmap (a hash when the
    bitmap would exceed ``_BITMAP_LIMIT`` bytes). No Python loop over members or events.

    Parameters
    ----------
    events : DataFrame
        ``member_id, ts, event_type`` (data contract).
    period : {"D", "W", "M"}
        Day, ISO week (Monday start) or calendar month.
    active_types : list of str, optional
        Event types that count as active (default: all). Unknown types raise ParameterError.
    tz : str or tzinfo, optional
        Zone of the wall clock (default: the zone of ``events.ts``).
    until : Timestamp, optional
        Ignore events after this instant (the observation end).

    Returns
    -------
    DataFrame
        ``member_id`` (same dtype as in ``events``) and ``period`` (int64 code, see
        :func:`period_codes`), one row per pair, sorted by member code (ascending id for
        integer ids, first appearance otherwise), then period.

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
    ...     "ts": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00", "2026-03-09 08:00"])})
    >>> member_period_activity(ev, period="W").sort_values("member_id").to_numpy().tolist()
    [[1, 2931], [2, 2932]]
    """
    uniques, member, per = _activity_codes(events, period=period, active_types=active_types,
                                           tz=tz, until=until)
    return pd.DataFrame({"member_id": uniques[member], "period": per})


#: largest member × period bitmap used for de-duplication (bytes); larger inputs use hashing
_BITMAP_LIMIT = 600_000_000


def _member_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, ids by code): integer ids in a compact range skip hashing."""
    if ids.dtype.kind in "iu" and len(ids):
        lo, hi = int(ids.min()), int(ids.max())
        if hi - lo < max(min(4 * len(ids), 1 << 25), 1 << 20):
            return (ids - lo).astype(np.int64), np.arange(lo, hi + 1, dtype=ids.dtype)
    codes, uniques = pd.factorize(ids)
    return codes.astype(np.int64), np.asarray(uniques)


def _activity_codes(events: pd.DataFrame, *, period, active_types, tz, until
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The engine of :func:`member_period_activity`.

    Returns ``(uniques, member, period)``: ids by code, then one (member code, period code)
    pair per member-period with activity, sorted by member code then period.
    """
    _check_choice("period", period, PERIODS)
    _require(events, ["member_id", "ts", "event_type"], "events")
    mask = _active_mask(events, active_types)
    ts = events["ts"]
    if until is not None:
        until = _to_timestamp(until, _tz_of(ts), "until")
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
    codes = period_codes(ts, period, tz=tz)
    mcode, uniques = _member_codes(ids)
    lo = int(codes.min())
    span = int(codes.max()) - lo + 1
    key = mcode * span + (codes - lo)
    if len(uniques) * span <= _BITMAP_LIMIT:  # dense bitmap: linear time, no hashing
        seen = np.zeros(len(uniques) * span, dtype=bool)
        seen[key] = True
        key = np.flatnonzero(seen)
    else:
        key = np.sort(pd.unique(key))
    return uniques, key // span, key % span + lo


# ----------------------------------------------------------------------------- Wilson interval
def wilson_interval(successes, n, *, alpha: float = config.ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (vectorised).

    Parameters
    ----------
    successes, n : array-like of int
        Counts; cells with ``n == 0`` get NaN bounds.
    alpha : float
        Two-sided level (0.05 gives a 95 % interval).

    Returns
    -------
    (ci_low, ci_high) : tuple of numpy arrays

    Examples
    --------
    >>> [round(float(x), 4) for x in wilson_interval(3, 10)]
    [0.1078, 0.6032]
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.clip(centre - half, 0, 1)
        high = np.clip(centre + half, 0, 1)
    low = np.where(x <= 0, 0.0, low)  # exact at the edges (avoids -1e-17)
    high = np.where(x >= n, 1.0, high)
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def _with_ci(df: pd.DataFrame, k: str, n: str, alpha: float) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        df["rate"] = df[k].to_numpy() / df[n].to_numpy()
    df["ci_low"], df["ci_high"] = wilson_interval(df[k].to_numpy(), df[n].to_numpy(), alpha=alpha)
    return df


# ----------------------------------------------------------------------------- retention
def _group_ids(frame: pd.DataFrame, by_cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group id per row and the label frame (row g = labels of group g)."""
    if not by_cols:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=range(1))
    gid = frame.groupby(by_cols, dropna=False, observed=True, sort=True).ngroup().to_numpy()
    ug, first = np.unique(gid, return_index=True)
    labels = frame[by_cols].iloc[first].reset_index(drop=True)
    return gid.astype(np.int64), labels


def _members_until(members: pd.DataFrame, until: pd.Timestamp, cols: Sequence[str]) -> pd.DataFrame:
    keep = (members["joined_at"] <= until).to_numpy()
    return members.loc[keep, list(dict.fromkeys(["member_id", "joined_at", *cols]))]


def _setup(members: pd.DataFrame, events: pd.DataFrame, observed_until, cols: Sequence[str]):
    """Shared preamble: check members, resolve the time zone and observation end, and keep the
    members who joined by then (with ``cols``). Returns ``(tz, until, members)``."""
    _require(members, ["member_id", "joined_at"], "members")
    tz = _tz_of(members["joined_at"])
    until = _observed_until(events, observed_until, tz)
    return tz, until, _members_until(members, until, cols)


def _activity_positions(members: pd.DataFrame, events: pd.DataFrame, *, period, active_types,
                        until, tz) -> tuple[np.ndarray, np.ndarray]:
    """(row position in ``members``, period code) of each active pair of a member in ``members``.

    Pairs come sorted by member (in the order of the engine's member codes), then period.
    """
    uniques, member, per = _activity_codes(events, period=period, active_types=active_types,
                                           tz=tz, until=until)
    # look up only the ids that occur (``member`` is sorted, so first rows are cheap to find)
    first = np.flatnonzero(np.r_[True, member[1:] != member[:-1]]) if len(member) else member
    present = member[first]
    lookup = np.full(len(uniques), -1, dtype=np.int64)
    lookup[present] = pd.Index(members["member_id"]).get_indexer(uniques[present])
    pos = lookup[member]
    keep = pos >= 0
    return pos[keep], per[keep]


def _last_index(pos: np.ndarray, k: np.ndarray, n: int) -> np.ndarray:
    """Largest ``k`` per member position (−1 if none), for pairs grouped by member with ``k``
    ascending within a member (the order of :func:`_activity_positions`): the last row of each
    block, no scatter-max needed."""
    out = np.full(n, -1, dtype=np.int64)
    if len(pos):
        last = np.r_[pos[1:] != pos[:-1], True]
        out[pos[last]] = k[last]
    return out


_RETENTION_COLUMNS = ["cohort", "period_index", "cohort_size", "retained", "rate", "ci_low",
                      "ci_high", "complete"]


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
    period : {"D", "W", "M"}
        Cohort and activity period: calendar day, ISO week (Monday start) or calendar month, in
        the time zone of the timestamps.
    mode : {"classic", "rolling"}
        ``"classic"`` (bracket, "on"): active *in* period c + k. ``"rolling"`` ("on or after",
        unbounded): active in period c + k *or any later observed period*.
    by : str or list of str, optional
        Member column(s) to segment cohorts by (``"channel"``, ``["channel", "platform"]``).
        Missing values form their own group.
    active_types : list of str, optional
        Event types that count as active (default: all).
    observed_until : Timestamp or str, optional
        Observation end (default: the last event). Events after it are ignored; members who
        joined after it are left out.
    alpha : float
        Level of the Wilson intervals.

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
    >>> ds = data.load_community("demo")                                    # doctest: +SKIP
    >>> retention(ds.members, ds.events, period="W", by="channel").head()   # doctest: +SKIP
    """
    _check_choice("period", period, PERIODS)
    _check_choice("mode", mode, MODES)
    by_cols = _as_columns("by", by, members)
    tz, until, m = _setup(members, events, observed_until, by_cols)
    out_cols = [*by_cols, *_RETENTION_COLUMNS]
    if len(m) == 0:
        return pd.DataFrame(columns=out_cols)
    join = period_codes(m["joined_at"], period, tz=tz)
    end = int(period_codes(until, period, tz=tz)[0])
    gid, labels = _group_ids(m, by_cols)
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
    pos, per = _activity_positions(m, events, period=period, active_types=active_types,
                                   until=until, tz=tz)
    k = per - join[pos]
    ok = k >= 0  # activity before the join period never counts
    pos, k = pos[ok], k[ok]
    if mode == "classic":
        counts = np.bincount(cid[pos] * K + k, minlength=n_coh * K).reshape(n_coh, K)
    else:
        kmax = _last_index(pos, k, len(m))
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
    out = _with_ci(out, "retained", "cohort_size", alpha)
    out["complete"] = (coh_code[rows] + kk) < end
    return out[out_cols]


def retention_matrix(table: pd.DataFrame, *, value: str = "rate") -> pd.DataFrame:
    """Pivot a :func:`retention` table to the familiar cohort × period-index matrix.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`retention`.
    value : str
        Column to spread (``"rate"``, ``"retained"``, ``"ci_low"``, …).

    Returns
    -------
    DataFrame
        Index ``[*by, cohort, cohort_size]``, columns the period indices 0, 1, …; unreachable
        cells are NaN.

    Examples
    --------
    >>> retention_matrix(retention(ds.members, ds.events))                  # doctest: +SKIP
    """
    if value not in table.columns:
        raise ParameterError(f"value={value!r} is not a column of the table; use one of "
                             f"{', '.join(table.columns)}")
    by_cols = _by_of(table)
    return table.pivot_table(index=[*by_cols, "cohort", "cohort_size"], columns="period_index",
                             values=value, aggfunc="first", dropna=False, observed=True
                             ).dropna(how="all")


def _by_of(table: pd.DataFrame) -> list[str]:
    known = set(_RETENTION_COLUMNS) | {"day", "eligible", "cohorts", "period"}
    return [c for c in table.columns if c not in known]


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
    alpha : float
        Level of the Wilson intervals (they treat members as independent).

    Returns
    -------
    DataFrame
        ``*by, period_index, cohorts`` (cohorts pooled), ``cohort_size`` (Σ members),
        ``retained``, ``rate``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> retention_curve(retention(ds.members, ds.events, by="channel"))     # doctest: +SKIP
    """
    by_cols = _by_of(table)
    t = table.loc[table["complete"]] if complete_only else table
    out = (t.groupby([*by_cols, "period_index"], dropna=False, observed=True, sort=True)
           .agg(cohorts=("cohort", "size"), cohort_size=("cohort_size", "sum"),
                retained=("retained", "sum")).reset_index())
    return _with_ci(out, "retained", "cohort_size", alpha)


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
    mode, by, active_types, observed_until, alpha
        As for :func:`retention`.

    Returns
    -------
    DataFrame
        ``*by, day`` (N), ``eligible`` (members old enough), ``retained``, ``rate``,
        ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> n_day_retention(ds.members, ds.events, days=[7, 30], by="channel")   # doctest: +SKIP
    """
    _check_choice("mode", mode, MODES)
    days = [int(d) for d in ([days] if np.isscalar(days) else days)]
    if not days or min(days) < 0:
        raise ParameterError(f"days={days!r}: give one or more non-negative integers, e.g. [1, 7, 30]")
    by_cols = _as_columns("by", by, members)
    tz, until, m = _setup(members, events, observed_until, by_cols)
    join = period_codes(m["joined_at"], "D", tz=tz)
    pos, per = _activity_positions(m, events, period="D", active_types=active_types,
                                   until=until, tz=tz)
    k = per - join[pos]
    kmax = _last_index(pos, k, len(m))
    gid, labels = _group_ids(m, by_cols)
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
    out = _with_ci(out, "retained", "eligible", alpha)
    return out.sort_values([*by_cols, "day"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- growth & lifecycle
def _period_range(members: pd.DataFrame, period, tz, until) -> tuple[int, int]:
    start = int(period_codes(members["joined_at"], period, tz=tz).min())
    return start, int(period_codes(until, period, tz=tz)[0])


def growth(members: pd.DataFrame, events: pd.DataFrame, *, period: Period = "W",
           active_types=None, observed_until=None) -> pd.DataFrame:
    """Growth per period: joins, exits, net growth, active members and stickiness.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at`` [, ``left_at``: explicit exits].
    events : DataFrame
        ``member_id, ts, event_type``.
    period : {"D", "W", "M"}
        ``"D"`` gives DAU, ``"W"`` WAU, ``"M"`` MAU in ``active_members``.
    active_types, observed_until
        As for :func:`retention`.

    Returns
    -------
    DataFrame
        One row per period from the first join to ``observed_until``: ``period`` (tz-aware start),
        ``new_members`` (joined in the period), ``exits`` (explicit ``left_at`` in the period),
        ``net_growth`` = new − exits, ``members_end`` (joined and not exited by the period's end
        or the observation end), ``active_members`` (distinct members active in the period),
        ``mean_daily_active`` (average DAU over the period's observed days), ``stickiness`` =
        mean_daily_active / active_members (DAU/MAU for months, DAU/WAU for weeks),
        ``complete`` (False for the running period).

    Examples
    --------
    >>> growth(ds.members, ds.events, period="M")                            # doctest: +SKIP
    """
    _check_choice("period", period, PERIODS)
    tz, until, m = _setup(members, events, observed_until,
                          ["left_at"] if "left_at" in members.columns else [])
    cols = ["period", "new_members", "exits", "net_growth", "members_end", "active_members",
            "mean_daily_active", "stickiness", "complete"]
    if len(m) == 0:
        return pd.DataFrame(columns=cols)
    p0, p1 = _period_range(m, period, tz, until)
    n = p1 - p0 + 1
    new = np.bincount(period_codes(m["joined_at"], period, tz=tz) - p0, minlength=n)
    exits = np.zeros(n, dtype=np.int64)
    if "left_at" in m.columns:
        left = m["left_at"]
        done = (left.notna() & (left <= until)).to_numpy()
        if done.any():
            exits = np.bincount(period_codes(left[done], period, tz=tz) - p0, minlength=n)
    pos, per = _activity_positions(m, events, period=period, active_types=active_types,
                                   until=until, tz=tz)
    inside = per >= p0
    active = np.bincount(per[inside] - p0, minlength=n)
    # DAU over every observed day (zero-activity days count), averaged within each period
    d0 = int(period_codes(period_start([p0], period, tz=tz), "D", tz=tz)[0])
    d1 = int(period_codes(until, "D", tz=tz)[0])
    dpos, dper = _activity_positions(m, events, period="D", active_types=active_types,
                                     until=until, tz=tz)
    dau = np.bincount(dper[dper >= d0] - d0, minlength=d1 - d0 + 1)
    day_period = period_codes(period_start(np.arange(d0, d1 + 1), "D", tz=tz), period, tz=tz) - p0
    n_days = np.bincount(day_period, minlength=n)
    mean_dau = np.bincount(day_period, weights=dau, minlength=n) / np.maximum(n_days, 1)
    out = pd.DataFrame({"period": period_start(np.arange(p0, p1 + 1), period, tz=tz),
                        "new_members": new, "exits": exits})
    out["net_growth"] = out["new_members"] - out["exits"]
    out["members_end"] = out["net_growth"].cumsum()
    out["active_members"] = active
    out["mean_daily_active"] = mean_dau
    with np.errstate(invalid="ignore", divide="ignore"):
        out["stickiness"] = np.where(active > 0, mean_dau / active, np.nan)
    out["complete"] = np.arange(p0, p1 + 1) < p1
    return out[cols]


def lifecycle(members: pd.DataFrame, events: pd.DataFrame, *, period: Period = "W",
              active_types=None, observed_until=None) -> pd.DataFrame:
    """Lifecycle of active members per period, with PostHog's definitions.

    For period t (only members who had joined by ``observed_until``):

    - **new**: active in t and joined in t;
    - **returning**: active in t and in t − 1 (and joined before t);
    - **resurrecting**: active in t, not active in t − 1, joined before t;
    - **dormant**: active in t − 1 but not in t (PostHog draws these below zero).

    new + returning + resurrecting = the active members of t (``growth().active_members``).

    Parameters
    ----------
    members, events, period, active_types, observed_until
        As for :func:`growth`.

    Returns
    -------
    DataFrame
        Tidy: ``period`` (tz-aware start), ``status`` (ordered categorical: new, returning,
        resurrecting, dormant), ``members`` (a non-negative count), ``complete``.

    Examples
    --------
    >>> lifecycle(ds.members, ds.events, period="W")                          # doctest: +SKIP
    """
    _check_choice("period", period, PERIODS)
    tz, until, m = _setup(members, events, observed_until, [])
    cols = ["period", "status", "members", "complete"]
    if len(m) == 0:
        return pd.DataFrame(columns=cols)
    p0, p1 = _period_range(m, period, tz, until)
    n = p1 - p0 + 1
    join = period_codes(m["joined_at"], period, tz=tz)
    pos, per = _activity_positions(m, events, period=period, active_types=active_types,
                                   until=until, tz=tz)
    ok = per >= join[pos]
    pos, t = pos[ok], per[ok] - p0
    span = n + 1
    key = np.sort(pos.astype(np.int64) * span + t)  # unique (member, period) keys, sorted
    t = key % span
    member = key // span
    prev_active = (t > 0) & _in_sorted(key - 1, key)
    next_active = _in_sorted(key + 1, key)
    is_new = (join[member] - p0) == t
    counts = {
        "new": np.bincount(t[is_new], minlength=n),
        "returning": np.bincount(t[~is_new & prev_active], minlength=n),
        "resurrecting": np.bincount(t[~is_new & ~prev_active], minlength=n),
        "dormant": np.bincount(t[~next_active & (t < n - 1)] + 1, minlength=n),
    }
    starts = period_start(np.arange(p0, p1 + 1), period, tz=tz)
    out = pd.concat([pd.DataFrame({"period": starts, "status": s, "members": counts[s]})
                     for s in LIFECYCLE_STATUSES], ignore_index=True)
    out["status"] = pd.Categorical(out["status"], categories=LIFECYCLE_STATUSES, ordered=True)
    out["complete"] = np.tile(np.arange(p0, p1 + 1) < p1, len(LIFECYCLE_STATUSES))
    return out.sort_values(["period", "status"], kind="stable").reset_index(drop=True)[cols]


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    i = np.searchsorted(sorted_keys, values)
    i = np.minimum(i, len(sorted_keys) - 1)
    return sorted_keys[i] == values if len(sorted_keys) else np.zeros(len(values), dtype=bool)


# ----------------------------------------------------------------------------- member layers
def member_layers(members: pd.DataFrame, events: pd.DataFrame, *, as_of=None,
                  window_days: int = 30, recent_days: int = 7, core_frequency: int = 12,
                  active_frequency: int = 4, core_monetary: float | None = 300.0,
                  active_types=None, labels: Literal["zh", "en"] = "zh") -> pd.DataFrame:
    """Member layers 核心 / 活跃 / 潜在 / 沉睡 (core / active / potential / dormant) from RFM.

    Measured at ``as_of`` over the window of the last ``window_days`` calendar days (the day of
    ``as_of`` included), for members who joined by ``as_of``:

    - **recency_days**: days from the last active event to ``as_of`` (NaN if never active);
    - **frequency**: active days in the window;
    - **monetary**: sum of ``amount`` of events in the window (0 without an ``amount`` column).

    Layers, first rule that applies:

    - **核心 core**: active within ``recent_days`` and (frequency ≥ ``core_frequency`` or
      monetary ≥ ``core_monetary``);
    - **活跃 active**: active within ``recent_days`` and frequency ≥ ``active_frequency``;
    - **潜在 potential**: active in the window but not recently or not often;
    - **沉睡 dormant**: no active event in the window (or never active).

    Defaults suit a daily-chat community (about 12 active days a month for an engaged member);
    tune them per community. Explicit exits (``left_at``) are not treated specially: a member
    who left stops acting and slides to 沉睡.

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables (``events.amount`` optional).
    as_of : Timestamp or str, optional
        When to measure (default: the last event).
    window_days, recent_days, core_frequency, active_frequency : int
        Thresholds described above (``recent_days`` ≤ ``window_days``).
    core_monetary : float or None
        Spend in the window that makes a recent member core (None: spend is ignored).
    active_types : list of str, optional
        Event types that count as active (default: all).
    labels : {"zh", "en"}
        Chinese labels (default; 核心, 活跃, 潜在, 沉睡) or the English aliases (core, active,
        potential, dormant) in the ``layer`` column.

    Returns
    -------
    DataFrame
        One row per member: ``member_id``, ``layer`` (ordered categorical, best first),
        ``recency_days`` (float), ``frequency`` (int), ``monetary`` (float).

    Examples
    --------
    >>> member_layers(ds.members, ds.events, as_of="2026-08-01")["layer"].value_counts()  # doctest: +SKIP
    """
    _check_choice("labels", labels, ("zh", "en"))
    for name, v in [("window_days", window_days), ("recent_days", recent_days)]:
        if int(v) < 1:
            raise ParameterError(f"{name}={v!r} must be a positive number of days")
    if recent_days > window_days:
        raise ParameterError(f"recent_days={recent_days} must not exceed window_days={window_days}")
    _require(members, ["member_id", "joined_at"], "members")
    _require(events, ["member_id", "ts", "event_type"], "events")
    tz = _tz_of(members["joined_at"])
    until = _observed_until(events, as_of, tz)
    m = members.loc[(members["joined_at"] <= until).to_numpy(), ["member_id"]]
    ids = pd.Index(m["member_id"])
    n = len(m)
    mask = _active_mask(events, active_types)
    ev_ok = (events["ts"] <= until).to_numpy()
    sel = ev_ok if mask is None else ev_ok & mask
    pos = ids.get_indexer(events["member_id"].to_numpy()[sel])
    ts_ns = _wall_ns(events["ts"][sel], tz)
    hit = pos >= 0
    pos, ts_ns = pos[hit], ts_ns[hit]
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, pos, ts_ns)
    until_ns = int(_wall_ns(until, tz)[0])
    recency = np.where(last > np.iinfo(np.int64).min, (until_ns - last) / _NS_PER_DAY, np.nan)
    # frequency: distinct active days in the window
    until_day = until_ns // _NS_PER_DAY
    day = ts_ns // _NS_PER_DAY
    inwin = day > until_day - window_days
    pairs = pd.unique(pos[inwin].astype(np.int64) * (window_days + 1) + (until_day - day[inwin]))
    frequency = np.bincount(pairs // (window_days + 1), minlength=n)
    monetary = np.zeros(n)
    if "amount" in events.columns:
        amt_sel = ev_ok & events["amount"].notna().to_numpy()
        apos = ids.get_indexer(events["member_id"].to_numpy()[amt_sel])
        aday = _wall_ns(events["ts"][amt_sel], tz) // _NS_PER_DAY
        keep = (apos >= 0) & (aday > until_day - window_days)
        monetary = np.bincount(apos[keep], weights=events["amount"].to_numpy()[amt_sel][keep],
                               minlength=n)
    recent = recency <= recent_days  # NaN compares False
    in_window = frequency > 0
    spend_core = (monetary >= core_monetary) if core_monetary is not None else np.zeros(n, bool)
    layer_idx = np.select([recent & ((frequency >= core_frequency) | spend_core),
                           recent & (frequency >= active_frequency),
                           in_window], [0, 1, 2], default=3)
    names = list(LAYERS) if labels == "zh" else [LAYER_ALIASES[x] for x in LAYERS]
    return pd.DataFrame({
        "member_id": m["member_id"].to_numpy(),
        "layer": pd.Categorical.from_codes(layer_idx, categories=names, ordered=True),
        "recency_days": recency,
        "frequency": frequency.astype(np.int64),
        "monetary": monetary,
    })


def layer_transitions(members: pd.DataFrame, events: pd.DataFrame, *, start=None, end=None,
                      **layer_options) -> pd.DataFrame:
    """Transition matrix of member layers between two dates (who moved up, who slipped).

    Members who had joined by ``start`` are counted (later joiners have no ``from`` layer).

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables.
    start, end : Timestamp or str, optional
        The two measurement times (``start`` < ``end``). ``end`` defaults to the last event,
        ``start`` to ``end`` minus the layers' window (``window_days``, 30 by default), so the
        default compares two consecutive, non-overlapping windows.
    **layer_options
        Passed to :func:`member_layers` (thresholds, ``active_types``, ``labels``).

    Returns
    -------
    DataFrame
        All layer pairs (zeros included): ``layer_from``, ``layer_to`` (ordered categoricals),
        ``members``, ``share`` (of the ``layer_from`` row), ``direction`` (``"up"``,
        ``"same"``, ``"down"``; up = towards 核心).

    Examples
    --------
    >>> layer_transitions(ds.members, ds.events, start="2026-07-01", end="2026-08-01")  # doctest: +SKIP
    """
    tz = _tz_of(members["joined_at"])
    t1 = _observed_until(events, end, tz)
    t0 = (t1 - pd.Timedelta(days=int(layer_options.get("window_days", 30))) if start is None
          else _to_timestamp(start, tz, "start"))
    if not t0 < t1:
        raise ParameterError(f"start={start!r} must be before end={end!r}")
    a = member_layers(members, events, as_of=t0, **layer_options)
    b = member_layers(members, events, as_of=t1, **layer_options)
    cats = a["layer"].cat.categories
    to = b.set_index("member_id")["layer"].reindex(a["member_id"].to_numpy())
    k = len(cats)
    counts = np.bincount(a["layer"].cat.codes.to_numpy() * k + to.cat.codes.to_numpy(),
                         minlength=k * k).reshape(k, k)
    i, j = np.divmod(np.arange(k * k), k)
    out = pd.DataFrame({"layer_from": pd.Categorical.from_codes(i, cats, ordered=True),
                        "layer_to": pd.Categorical.from_codes(j, cats, ordered=True),
                        "members": counts.ravel()})
    row = counts.sum(axis=1)[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(row > 0, out["members"] / row, np.nan)
    out["direction"] = np.select([j < i, j == i], ["up", "same"], default="down")
    return out


# ----------------------------------------------------------------------------- fission (裂变)
def _require_referrer(members: pd.DataFrame) -> None:
    if "referrer_id" not in members.columns:
        raise ParameterError("members has no referrer_id column: fission (裂变) needs who "
                             "invited whom (DESIGN.md §3, optional column referrer_id)")


def invites_per_inviter(members: pd.DataFrame, *, attributes=("channel",)) -> pd.DataFrame:
    """Members invited per inviter.

    Parameters
    ----------
    members : DataFrame
        ``member_id`` and ``referrer_id`` (blank = not referred).
    attributes : sequence of str
        Inviter columns to attach (``"unknown"`` when the inviter is not in ``members``).

    Returns
    -------
    DataFrame
        One row per inviter, most invitations first: ``referrer_id``, ``invited``, then the
        inviter's ``attributes``.

    Examples
    --------
    >>> invites_per_inviter(ds.members).head()                                # doctest: +SKIP
    """
    _require_referrer(members)
    attrs = _as_columns("attributes", list(attributes), members)
    ref = members["referrer_id"].dropna()
    out = ref.value_counts().rename_axis("referrer_id").reset_index(name="invited")
    info = members.set_index("member_id")[attrs]
    info = info.reindex(out["referrer_id"].to_numpy())
    for c in attrs:
        out[c] = info[c].to_numpy()
        out[c] = out[c].where(pd.notna(out[c]), "unknown")
    return out.sort_values(["invited", "referrer_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def referral_share(members: pd.DataFrame, *, period: Period = "M", by=None, observed_until=None,
                   alpha: float = config.ALPHA) -> pd.DataFrame:
    """Share of joins that came by referral (a ``referrer_id``), per join period.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at, referrer_id`` and the ``by`` columns.
    period : {"D", "W", "M"}
        Join period.
    by : str or list of str, optional
        Segment columns (e.g. ``"channel"``).
    observed_until : Timestamp or str, optional
        Ignore members who joined later (default: keep all).
    alpha : float
        Level of the Wilson interval.

    Returns
    -------
    DataFrame
        ``*by, period`` (tz-aware start), ``joined``, ``referred``, ``rate`` (share),
        ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> referral_share(ds.members, period="M")                                 # doctest: +SKIP
    """
    _check_choice("period", period, PERIODS)
    _require_referrer(members)
    by_cols = _as_columns("by", by, members)
    tz = _tz_of(members["joined_at"])
    m = members
    if observed_until is not None:
        m = m.loc[(m["joined_at"] <= _to_timestamp(observed_until, tz, "observed_until")).to_numpy()]
    f = m[by_cols].copy()
    f["period"] = period_start(period_codes(m["joined_at"], period, tz=tz), period, tz=tz)
    f["referred"] = m["referrer_id"].notna().to_numpy().astype(np.int64)
    out = (f.groupby([*by_cols, "period"], dropna=False, observed=True, sort=True)
           .agg(joined=("referred", "size"), referred=("referred", "sum")).reset_index())
    return _with_ci(out, "referred", "joined", alpha)


def k_factor(members: pd.DataFrame, *, period: Period = "M", by="channel",
             observed_until=None) -> pd.DataFrame:
    """Viral K-factor per period: referred joins per member who could invite.

    ``k_factor(t) = referred joins in t / members at the start of t`` (joined before t and not
    exited), i.e. invitations sent × conversion, per existing member. With ``by`` the joins are
    attributed to the *inviter's* segment (e.g. the inviter's channel) and divided by that
    segment's members, so each segment's K says how many new members one of its members brings
    per period. Referred joins whose inviter is not in ``members`` count as ``"unknown"``.
    The first period has no base (K is NaN). K ≥ 1 sustained over periods means self-growth.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at, referrer_id`` [, ``left_at``] and the ``by`` column(s).
    period : {"D", "W", "M"}
        Period length.
    by : str or list of str, optional
        Inviter segment columns (default ``"channel"``; None for the whole community).
    observed_until : Timestamp or str, optional
        Last instant counted (default: the last join).

    Returns
    -------
    DataFrame
        ``*by, period`` (tz-aware start), ``base_members``, ``referred_joins``, ``k_factor``.

    Examples
    --------
    >>> k_factor(ds.members, period="M", by="channel")                         # doctest: +SKIP
    """
    _check_choice("period", period, PERIODS)
    _require_referrer(members)
    by_cols = _as_columns("by", by, members)
    tz = _tz_of(members["joined_at"])
    until = (members["joined_at"].max() if observed_until is None
             else _to_timestamp(observed_until, tz, "observed_until"))
    m = members.loc[(members["joined_at"] <= until).to_numpy()]
    if len(m) == 0:
        return pd.DataFrame(columns=[*by_cols, "period", "base_members", "referred_joins",
                                     "k_factor"])
    gid, labels = _group_ids(m, by_cols)
    G = len(labels)
    p0, p1 = _period_range(m, period, tz, until)
    n = p1 - p0 + 1
    join = period_codes(m["joined_at"], period, tz=tz) - p0
    # base at the start of t: joined before t, minus exited before t
    joins = np.bincount(gid * n + join, minlength=G * n).reshape(G, n)
    base = np.cumsum(joins, axis=1) - joins
    if "left_at" in m.columns:
        left = m["left_at"]
        done = (left.notna() & (left <= until)).to_numpy()
        lcode = period_codes(left[done], period, tz=tz) - p0
        ex = np.bincount(gid[done] * n + lcode, minlength=G * n).reshape(G, n)
        base = base - (np.cumsum(ex, axis=1) - ex)
    # referred joins attributed to the inviter's segment
    referred = m["referrer_id"].notna().to_numpy()
    inviter = pd.Index(m["member_id"]).get_indexer(m["referrer_id"].to_numpy()[referred])
    known = inviter >= 0
    ref_counts = np.bincount(gid[inviter[known]] * n + join[referred][known],
                             minlength=G * n).reshape(G, n)
    rows = np.repeat(np.arange(G), n)
    tt = np.tile(np.arange(n), G)
    out = labels.iloc[rows].reset_index(drop=True)
    out["period"] = period_start(tt + p0, period, tz=tz)
    out["base_members"] = base.ravel()
    out["referred_joins"] = ref_counts.ravel()
    if (~known).any():
        unk = pd.DataFrame({c: "unknown" for c in by_cols}, index=range(n))
        unk["period"] = period_start(np.arange(p0, p1 + 1), period, tz=tz)
        unk["base_members"] = 0
        unk["referred_joins"] = np.bincount(join[referred][~known], minlength=n)
        out = pd.concat([out, unk], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["k_factor"] = np.where(out["base_members"] > 0,
                                   out["referred_joins"] / out["base_members"], np.nan)
    return out


FISSION_COLUMNS = ["period", "joined", "referred", "referral_share", "inviters",
                   "base_members", "referred_joins", "invites_per_inviter", "k_factor"]


def fission_table(members: pd.DataFrame, *, period: Period = "M", by="channel",
                  observed_until=None) -> pd.DataFrame:
    """Fission (裂变) per period and segment: referral share, invites per inviter, K-factor.

    Two views of one segment column side by side: ``joined``, ``referred`` and
    ``referral_share`` describe the members who *joined* in the segment (see
    :func:`referral_share`); ``inviters``, ``base_members``, ``referred_joins``,
    ``invites_per_inviter`` and ``k_factor`` describe invitations *sent* by members of the
    segment (see :func:`k_factor`). Without a ``referrer_id`` column it returns an empty frame
    (and warns), so a report still runs on data without fission.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at`` [, ``referrer_id``, ``left_at``] and the ``by`` column(s).
    period : {"D", "W", "M"}
        Period length.
    by : str or list of str, optional
        Segment columns (default ``"channel"``).
    observed_until : Timestamp or str, optional
        Last instant counted (default: the last join).

    Returns
    -------
    DataFrame
        ``*by, period, joined, referred, referral_share, inviters`` (distinct members of the
        segment who brought someone in the period), ``base_members``, ``referred_joins``,
        ``invites_per_inviter`` = referred_joins / inviters, ``k_factor``.

    Examples
    --------
    >>> fission_table(ds.members, period="M", by="channel")                    # doctest: +SKIP
    """
    by_cols = _as_columns("by", by, members)
    if "referrer_id" not in members.columns:
        warnings.warn("members has no referrer_id column: no fission (裂变) figures",
                      AnalysisWarning, stacklevel=2)
        return pd.DataFrame(columns=[*by_cols, *FISSION_COLUMNS])
    tz = _tz_of(members["joined_at"])
    until = (members["joined_at"].max() if observed_until is None
             else _to_timestamp(observed_until, tz, "observed_until"))
    k = k_factor(members, period=period, by=by_cols or None, observed_until=until)
    rs = referral_share(members, period=period, by=by_cols or None, observed_until=until)
    rs = rs.rename(columns={"rate": "referral_share"}).drop(columns=["ci_low", "ci_high"])
    # distinct inviters per (inviter segment, period of the referred join)
    m = members.loc[(members["joined_at"] <= until).to_numpy()]
    ref = m.loc[m["referrer_id"].notna().to_numpy()]
    inviter = m.set_index("member_id").reindex(ref["referrer_id"].to_numpy())
    inv = pd.DataFrame({c: inviter[c].to_numpy() for c in by_cols})
    for c in by_cols:
        inv[c] = inv[c].where(pd.notna(inv[c]), "unknown")
    inv["period"] = period_start(period_codes(ref["joined_at"], period, tz=tz), period, tz=tz)
    inv["referrer_id"] = ref["referrer_id"].to_numpy()
    inviters = (inv.groupby([*by_cols, "period"], dropna=False, sort=True)["referrer_id"]
                .nunique().rename("inviters").reset_index())
    keys = [*by_cols, "period"]
    out = k.merge(rs, on=keys, how="outer").merge(inviters, on=keys, how="left")
    for c in ("joined", "referred", "inviters", "base_members", "referred_joins"):
        out[c] = out[c].fillna(0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["invites_per_inviter"] = np.where(out["inviters"] > 0,
                                              out["referred_joins"] / out["inviters"], np.nan)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)[[*by_cols, *FISSION_COLUMNS]]


# ----------------------------------------------------------------------------- executive summary
def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def _ci(row) -> str:
    return f"{_pct(row['rate'])} (95% CI {_pct(row['ci_low'])}–{_pct(row['ci_high'])}, n={int(row['eligible'])})"


def summary_markdown(*, growth_table: pd.DataFrame, n_day: pd.DataFrame,
                     n_day_by: pd.DataFrame | None = None, layers: pd.DataFrame | None = None,
                     fission: pd.DataFrame | None = None, period: Period = "W",
                     mode: Mode = "classic", min_eligible: int = 30) -> str:
    """Executive summary of the cohort analysis, written from computed values.

    Parameters
    ----------
    growth_table : DataFrame
        Output of :func:`growth`.
    n_day : DataFrame
        Output of :func:`n_day_retention` without ``by`` (rows for days 7 and 30 are used when
        present, otherwise whatever days it has).
    n_day_by : DataFrame, optional
        :func:`n_day_retention` with ``by``; gives the best and worst segment on the largest day
        (segments with at least ``min_eligible`` eligible members).
    layers : DataFrame, optional
        Output of :func:`member_layers`.
    fission : DataFrame, optional
        Output of :func:`fission_table` (any ``by``; pooled here).
    period : {"D", "W", "M"}
        Period of ``growth_table`` (for wording).
    mode : {"classic", "rolling"}
        Mode the N-day tables were computed with (for wording).
    min_eligible : int
        Smallest segment ranked.

    Returns
    -------
    str
        Markdown bullet list.

    Examples
    --------
    >>> print(summary_markdown(growth_table=g, n_day=nd))                     # doctest: +SKIP
    """
    unit = PERIOD_NAMES[_check_choice("period", period, PERIODS)]
    lines = []
    g = growth_table.loc[growth_table["complete"]] if "complete" in growth_table else growth_table
    if len(g) >= 2:
        half = max(len(g) // 2, 1)
        first, last = g["new_members"].iloc[:half].mean(), g["new_members"].iloc[-half:].mean()
        trend = "growing" if last > 1.1 * first else "shrinking" if last < 0.9 * first else "flat"
        lines.append(f"**Cohort size** is {trend}: {first:.0f} new members per {unit} on average "
                     f"in the first {half} complete {unit}s vs {last:.0f} in the last {half}.")
    elif len(growth_table):
        lines.append(f"**Cohort size**: {int(growth_table['new_members'].sum())} members joined "
                     f"(fewer than two complete {unit}s observed).")
    if len(n_day):
        parts = [f"D{int(r['day'])} {_ci(r)}" for _, r in n_day.iterrows()]
        lines.append(f"**N-day retention** ({_check_choice('mode', mode, MODES)}, overall): "
                     + "; ".join(parts) + ".")
    if n_day_by is not None and len(n_day_by):
        by_cols = [c for c in n_day_by.columns if c not in
                   ("day", "eligible", "retained", "rate", "ci_low", "ci_high")]
        usable = n_day_by.loc[n_day_by["eligible"] >= min_eligible]
        if by_cols and not len(usable):
            lines.append(f"**By {' / '.join(by_cols)}**: no segment has {min_eligible} members "
                         "old enough for N-day retention; segments are not ranked.")
        if len(usable) and by_cols:
            d = int(usable["day"].max())
            at = usable.loc[usable["day"] == d].sort_values("rate", ascending=False)
            name = lambda r: " / ".join(str(r[c]) for c in by_cols)  # noqa: E731
            best, worst = at.iloc[0], at.iloc[-1]
            overlap = best["ci_low"] <= worst["ci_high"]
            lines.append(
                f"**By {' / '.join(by_cols)}** (D{d}): best {name(best)} {_ci(best)}; worst "
                f"{name(worst)} {_ci(worst)}"
                + ("; their intervals overlap, so the ranking is not conclusive." if overlap
                   else "; the intervals do not overlap."))
    if len(g):
        last = g.iloc[-1]
        sticky = ("" if period == "D" else
                  f"; stickiness (mean daily active / {PERIOD_ADJECTIVES[period]} active) "
                  f"{_pct(last['stickiness'])}")
        lines.append(
            f"**Growth** in the last complete {unit} ({last['period']:%Y-%m-%d}): "
            f"{int(last['new_members'])} joined, {int(last['exits'])} left explicitly, "
            f"{int(last['active_members'])} active{sticky}.")
    if layers is not None and len(layers):
        mix = layers["layer"].value_counts(normalize=True, sort=False)
        lines.append("**Member layers**: " + ", ".join(
            f"{k} {_pct(v)}" for k, v in mix.items()) + f" of {len(layers)} members.")
    if fission is not None and len(fission) and fission["joined"].sum() > 0:
        per = fission.groupby("period", sort=True)[["joined", "referred", "base_members",
                                                    "referred_joins"]].sum()
        share = per["referred"].sum() / per["joined"].sum()
        last = per.loc[per["base_members"] > 0].iloc[-1] if (per["base_members"] > 0).any() else None
        k_text = ("" if last is None else
                  f"; K-factor in the last period ({last.name:%Y-%m-%d}, possibly partial) "
                  f"{last['referred_joins'] / last['base_members']:.2f} new members per existing member")
        lines.append(f"**Fission (裂变)**: {_pct(share)} of members joined by referral{k_text}.")
    if not lines:
        return "_No members or events in the selected window._"
    caveats = []
    if "complete" in growth_table and len(growth_table) and not bool(growth_table["complete"].iloc[-1]):
        caveats.append(f"the last {unit} ({growth_table['period'].iloc[-1]:%Y-%m-%d}) is still "
                       "running: it is left out of the trend and the growth figures")
    if len(n_day):
        caveats.append("N-day rates count only members who joined long enough ago (n = those "
                       "members); a difference between segments whose 95% intervals overlap "
                       "may be chance")
    if caveats:
        lines.append("**Caveats**: " + "; ".join(caveats) + ".")
    lines.append("**Where to look below**: the heatmap for cohorts whose row fades faster than "
                 "their neighbours, the curves by segment for bands that do not overlap, and the "
                 "lifecycle bars for dormant members outgrowing new plus resurrecting ones.")
    return "\n".join(f"- {x}" for x in lines)
