"""DuckDB over a DataFrame or raw Parquet files (kept for existing callers; see :mod:`helpers.engine`).

A thin layer over the engine package: :func:`member_period_activity` and
:func:`member_activity_span` run the Ibis definitions of :mod:`helpers.engine._ibis` on an
embedded DuckDB, from either an in-memory events DataFrame or a Parquet file / dataset folder
(read as it is: the loader's cleaning, such as dropping pre-join events, is not applied — use
``data.load_community(..., engine="duckdb")`` for a checked lazy dataset). The ``*_sql``
functions are the hand-written SQL references of the benchmark (:mod:`helpers.engine.sql`).

Results are identical to the numpy engine's (``tests/test_scale.py``); rows come sorted by
``member_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from . import config
from .engine import api
from .engine.sql import churn_sql, connect, events_parquet, retention_sql

__all__ = ["connect", "events_parquet", "member_period_activity", "member_activity_span",
           "retention_sql", "churn_sql"]


def _table(events, tz, con):
    """(lazy events table, zone of its wall clock, whether the input times were naive)."""
    import ibis

    from .engine import duckdb as duck
    icon = ibis.duckdb.from_connection(con) if con is not None else duck.connect()
    icon.raw_sql("SET TimeZone = 'UTC'")
    if isinstance(events, pd.DataFrame):
        missing = [c for c in ("member_id", "ts", "event_type") if c not in events.columns]
        if missing:
            from .errors import ParameterError
            raise ParameterError(f"events lacks column(s) {missing}; it has "
                                 f"{list(events.columns)}")
        cols = [c for c in ("member_id", "ts", "event_type", "activity_id") if c in events]
        frame = events[cols].copy()
        naive = getattr(frame["ts"].dt, "tz", None) is None
        zone = tz if tz is not None else ("UTC" if naive else str(frame["ts"].dt.tz))
        frame["ts"] = (frame["ts"].dt.tz_localize("UTC") if naive
                       else frame["ts"].dt.tz_convert("UTC")).dt.as_unit("us")
        for c in ("event_type", "activity_id"):
            if c in frame and isinstance(frame[c].dtype, pd.CategoricalDtype):
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        return icon.create_table("_duck_events", frame, temp=True, overwrite=True), zone, naive
    path = events_parquet(events)
    zone = tz or config.TIMEZONE
    return duck.read_events(icon, path, tz=zone), zone, False


def member_period_activity(events, *, period: str = "W", active_types=None, tz=None,
                           until=None, con=None) -> pd.DataFrame:
    """De-duplicated (member, period) activity pairs computed by DuckDB.

    Same definitions and output as :func:`helpers.cohorts.member_period_activity`, sorted by
    ``member_id`` then ``period``.

    Parameters
    ----------
    events : DataFrame, str or Path
        An events frame, or a Parquet file / dataset folder / dataset name (read directly).
    period : {"D", "W", "M"}
    active_types : str, list of str or None
        The active-types rule (unknown types raise ParameterError).
    tz : str, optional
        Zone of the wall clock (default: that of ``events.ts``; Parquet: Asia/Shanghai).
    until : Timestamp, optional
        Ignore events after this instant.
    con : duckdb connection, optional

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [1, 1, 2], "event_type": ["message"] * 3,
    ...     "ts": pd.to_datetime(["2026-03-02 09:00", "2026-03-03 10:00", "2026-03-09 08:00"])})
    >>> member_period_activity(ev, period="W").to_numpy().tolist()
    [[1, 2931], [2, 2932]]
    """
    from ._checks import check_choice
    from ._time import PERIODS
    check_choice("period", period, PERIODS)
    table, zone, naive = _table(events, tz, con)
    if until is not None and naive:
        until = pd.Timestamp(until).tz_localize("UTC") if pd.Timestamp(until).tzinfo is None \
            else until
    return api.activity_pairs(table, period=period, active_types=active_types, tz=zone,
                              until=until)


def member_activity_span(events, *, active_types: Sequence[str] | None = None,
                         observed_until=None, joined_at: pd.Series | None = None,
                         early_days: float = 7, tz=None, con=None) -> pd.DataFrame:
    """Per-member first/last active time, counts and first participation, by DuckDB.

    Same definitions and output as :func:`helpers.survival.member_activity_span`, sorted by
    ``member_id``; timestamps in ``tz`` (default: that of ``events.ts``; Parquet: Asia/Shanghai).

    Examples
    --------
    >>> ev = pd.DataFrame({"member_id": [7, 7, 9], "event_type": ["message", "reaction", "activity_join"],
    ...                    "ts": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02"])})
    >>> span = member_activity_span(ev, active_types=["message"])
    >>> span["n_events"].tolist(), span["first_participation_at"].notna().tolist()
    ([1, 0], [False, True])
    """
    table, zone, naive = _table(events, tz, con)
    if naive:
        if observed_until is not None and pd.Timestamp(observed_until).tzinfo is None:
            observed_until = pd.Timestamp(observed_until).tz_localize("UTC")
        if joined_at is not None and getattr(joined_at.dt, "tz", None) is None:
            joined_at = joined_at.dt.tz_localize("UTC")
    out = api.member_spans(table, active_types=active_types, observed_until=observed_until,
                           joined_at=joined_at, early_days=early_days, tz=zone)
    if naive:
        for c in ("first_active_at", "last_active_at", "first_participation_at"):
            out[c] = out[c].dt.tz_localize(None)
    return out
