"""Load a community dataset that meets the data contract, and write derived tables safely.

The contract (``data/raw/README.md``, DESIGN.md §3): one CSV (UTF-8) or Parquet file per table
in a dataset folder. ``members`` and ``events`` are required; ``activities``, ``experiments``,
``assignments`` and ``memberships`` are optional (the A/B notebook needs experiments and
assignments, renewal needs memberships).

Choices made here, once, so every analysis sees the same data:

- **Time zone**: naive timestamps are read in the dataset's zone (default ``Asia/Shanghai``);
  aware ones are converted to it. Every timestamp column comes back tz-aware.
- **Events dated before the member joined** are dropped and counted in ``Community.notes``
  (``pre_join_events="drop"``, the default). They usually come from a member who re-joined with
  the same id, or from clock skew between systems; keeping them would give negative cohort
  periods and activity "before birth" in survival data. Pass ``pre_join_events="error"`` to
  refuse such data instead, or ``"keep"`` to analyse them anyway.
- **Events after an explicit exit** (``left_at``) are kept: the exit time stays the churn time.
- Missing ``channel`` or ``group_id`` values become ``"unknown"`` (counted in ``notes``): an
  export with a few blank channels should not stop a report.
- ``assignments.unit_id`` is always text (it holds member ids or group ids); compare it with
  ``members.member_id.astype(str)``.
- ``events.event_type`` (and ``activity_id``) are categoricals to keep 10^7-row logs small: group
  them with ``observed=True``.
- Files under ``data/raw/`` are only ever read.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from . import config
from ._experiment_tables import parse_split, validate_assignments, validate_experiments  # noqa: F401
from ._tables import (as_category, as_ids, check_utf8, find_table_file,  # noqa: F401  (public
                      parse_timestamps, read_table, require_non_null,
                      require_unique)  # here: the contract's readers)
from .errors import AnalysisWarning, DataError, warn_at_caller

#: required and optional columns of each table (DESIGN.md §3)
SCHEMA: dict[str, dict[str, tuple[str, ...]]] = {
    "members": {"required": ("member_id", "joined_at", "channel", "group_id"),
                "optional": ("left_at", "referrer_id")},
    "events": {"required": ("member_id", "ts", "event_type"),
               "optional": ("group_id", "activity_id", "amount")},
    "activities": {"required": ("activity_id", "activity_type", "starts_at", "ends_at"),
                   "optional": ("name", "group_id")},
    "experiments": {"required": ("experiment_id", "unit", "starts_at", "ends_at"),
                    "optional": ("name", "activity_id", "control_arm", "planned_split")},
    "assignments": {"required": ("experiment_id", "unit_id", "arm"),
                    "optional": ("assigned_at",)},
    "memberships": {"required": ("member_id", "plan", "starts_at", "ends_at"),
                    "optional": ("amount",)},
}
TIME_COLUMNS = {"members": ("joined_at", "left_at"), "events": ("ts",),
                "activities": ("starts_at", "ends_at"), "experiments": ("starts_at", "ends_at"),
                "assignments": ("assigned_at",), "memberships": ("starts_at", "ends_at")}
REQUIRED_TABLES = ("members", "events")
UNKNOWN = "unknown"



@dataclass(frozen=True)
class Community:
    """A validated community dataset.

    Attributes
    ----------
    members : DataFrame
        ``member_id, joined_at, channel, group_id`` [, ``left_at``, ``referrer_id``, attributes…]
    events : DataFrame or Ibis table
        ``member_id, ts, event_type`` [, ``activity_id``, ``amount``, …], sorted by ``ts``; a
        lazy Ibis table (not sorted) on the ``duckdb`` and ``spark`` engines (on DuckDB, for a
        dataset opened before, a ``LazyEvents`` that builds the Ibis table on first use:
        :mod:`helpers.engine._lazy`).
    activities, experiments, assignments : DataFrame
        Empty frames with the contract's columns when the file is absent.
    memberships : DataFrame
        Paid membership periods ``member_id, plan, starts_at, ends_at`` [, ``amount``], sorted
        by member and start; an empty frame with these columns when the file is absent.
    source : Path
        The folder the tables were read from.
    timezone : str
        The zone every timestamp is expressed in.
    notes : tuple of str
        What the loader changed or dropped (shown in reports).
    engine : str
        ``"pandas"``, ``"duckdb"`` or ``"spark"``: where ``events`` lives.
    """

    members: pd.DataFrame
    events: pd.DataFrame
    activities: pd.DataFrame
    experiments: pd.DataFrame
    assignments: pd.DataFrame
    source: Path
    timezone: str = config.TIMEZONE
    notes: tuple[str, ...] = field(default=())
    memberships: pd.DataFrame = field(default_factory=lambda: _empty("memberships",
                                                                      config.TIMEZONE))
    engine: str = "pandas"

    @property
    def name(self) -> str:
        """Dataset name (the folder's name)."""
        return self.source.name

    @property
    def observed_until(self) -> pd.Timestamp:
        """End of observation: the last event timestamp (DESIGN.md §5)."""
        from .engine import last_event
        return last_event(self.events, self.timezone)

    def summary(self) -> pd.DataFrame:
        """One row per table: ``table, rows, columns``."""
        from .engine import n_rows
        rows = [(t, n_rows(getattr(self, t)), ", ".join(map(str, getattr(self, t).columns)))
                for t in config.TABLES]
        return pd.DataFrame(rows, columns=["table", "rows", "columns"])


def _require_columns(df: pd.DataFrame, table: str, file) -> None:
    missing = [c for c in SCHEMA[table]["required"] if c not in df.columns]
    if missing:
        raise DataError(
            f"required column(s) {missing} missing from table '{table}'; found {list(df.columns)}",
            file=file, column=missing[0],
            fix=f"rename or add the column; '{table}' needs {list(SCHEMA[table]['required'])} "
                "(see data/raw/README.md)")


# ----------------------------------------------------------------------------- the loader
def load_community(path: str | Path = config.DEMO_DATASET, *, tz: str = config.TIMEZONE,
                   pre_join_events: Literal["drop", "error", "keep"] = "drop",
                   engine: Literal["auto", "pandas", "duckdb", "spark"] = "auto") -> Community:
    """Read and validate a community dataset.

    Parameters
    ----------
    path : str or Path
        Dataset name under ``data/raw/`` (e.g. ``"demo"``) or a folder path.
    tz : str
        Time zone of naive timestamps, and of every returned timestamp.
    pre_join_events : {"drop", "error", "keep"}
        What to do with events dated before the member's ``joined_at`` (see module docstring).
    engine : {"auto", "pandas", "duckdb", "spark"}
        Where the event log lives: ``"pandas"`` loads it into memory; ``"duckdb"`` (embedded)
        and ``"spark"`` leave it in its Parquet file(s) or table and make ``events`` a lazy
        Ibis table, checked by queries, that every analysis accepts like a DataFrame
        (:mod:`helpers.engine`). ``"auto"``: pandas for CSV and small logs, DuckDB for large
        Parquet logs (one file or ``events/month=YYYY-MM/part-*.parquet``).

    Returns
    -------
    Community
        Validated tables; timestamps tz-aware in ``tz``.

    Raises
    ------
    DataError
        Naming the file, the column, up to five offending rows, and the fix.

    Examples
    --------
    >>> ds = load_community("demo")                       # doctest: +SKIP
    >>> ds.members.columns[:4].tolist()                   # doctest: +SKIP
    ['member_id', 'joined_at', 'channel', 'group_id']
    """
    folder = config.dataset_dir(path)
    if not folder.is_dir():
        hint = ("run `make data` to generate the demo community"
                if Path(path).name == config.DEMO_DATASET else
                "put one file per table (members.csv, events.csv, …) in data/raw/<name>/ "
                "or pass the folder's path")
        raise DataError(f"dataset folder not found (looked for {folder})", file=folder, fix=hint)
    from .engine.load import choose_engine, events_source, start_scan
    engine = choose_engine(engine, folder)
    # DuckDB: the events' validation scan runs while pandas reads the small tables below
    early = None
    try:
        if engine == "duckdb":
            early = start_scan(events_source(folder), find_table_file(folder, "members"),
                               engine=engine, tz=tz)
        return _load(folder, tz=tz, pre_join_events=pre_join_events, engine=engine, early=early)
    except BaseException:
        if early is not None:
            early.cancel()
        raise


def _load(folder: Path, *, tz: str, pre_join_events: str, engine: str, early) -> Community:
    """:func:`load_community` once the folder and the engine are known."""
    from .engine.load import events_source, lazy_frame, open_events
    notes: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, Path | None] = {}
    for table in config.TABLES:
        f = find_table_file(folder, table)
        if table == "events" and (f is None or engine != "pandas"):
            f = events_source(folder) or f  # a partitioned events/ folder, or events.parquet
        files[table] = f
        if table == "events" and engine != "pandas" and f is not None and \
                (f.is_dir() or f.suffix == ".parquet"):
            continue  # the engine reads and checks the events where they are
        if f is None:
            if table in REQUIRED_TABLES:
                raise DataError(f"required table '{table}' not found in {folder} "
                                f"(looked for {table}.parquet, {table}.csv, {table}.csv.gz)",
                                file=folder / f"{table}.csv",
                                fix=f"export the {table} table to {folder}/{table}.csv")
            tables[table] = _empty(table, tz)
            continue
        df = read_table(f) if not f.is_dir() else \
            pd.read_parquet(f).drop(columns=["month"], errors="ignore")
        _require_columns(df, table, f)
        if df.empty and table in REQUIRED_TABLES:
            raise DataError(f"required table '{table}' has a header but no rows", file=f,
                            fix="export the table again with its data")
        for col in TIME_COLUMNS[table]:
            if col in df.columns:
                df[col] = parse_timestamps(df[col], tz=tz, file=f, column=col, frame=df)
        tables[table] = df

    members = _validate_members(tables["members"], files["members"], notes)
    rest = ahead = None
    held: list = []
    if early is not None:  # while DuckDB scans the events: the other tables (their errors and
        with warnings.catch_warnings(record=True) as held:  # warnings held back)
            warnings.simplefilter("always", AnalysisWarning)
            try:
                ahead = _validate_rest(tables, files, members, copy=True)
            except DataError as exc:
                ahead = exc
    if "events" in tables:  # CSV (or engine="pandas"): checked here, then handed over
        events = _validate_events(tables["events"], members, files["events"], notes,
                                  pre_join_events)
        if engine != "pandas":
            events = lazy_frame(events, engine=engine)
    else:
        ids = members["member_id"].dtype
        events, members = open_events(files["events"], members, engine=engine, tz=tz,
                                      pre_join_events=pre_join_events, notes=notes,
                                      early=early)
        if members["member_id"].dtype == ids:  # the ids checked ahead are the members' ids
            rest = ahead
            _warn_again(held)  # after the events' own, as without the early scan
    if isinstance(rest, DataError):
        raise rest  # after the events' own errors, as without the early scan
    rest = rest or _validate_rest(tables, files, members)
    notes.extend(rest.pop("notes"))
    return Community(members=members, events=events, source=folder, timezone=tz,
                     notes=tuple(notes), engine=engine, **rest)


def _warn_again(caught) -> None:
    """Emit warnings recorded by ``warnings.catch_warnings(record=True)``: ours at the
    analyst's line, others where they were raised."""
    for w in caught:
        if issubclass(w.category, AnalysisWarning):
            warn_at_caller(str(w.message), w.category)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _validate_rest(tables: dict, files: dict, members: pd.DataFrame, *,
                   copy: bool = False) -> dict:
    """The activities, experiments, assignments and memberships, validated (against
    ``members``); ``notes``: the notes they add. ``copy``: leave ``tables`` as they are."""
    def get(name):
        return tables[name].copy(deep=False) if copy else tables[name]
    notes: list[str] = []
    activities = _validate_activities(get("activities"), files["activities"])
    experiments = validate_experiments(get("experiments"), files["experiments"])
    return dict(activities=activities, experiments=experiments,
                assignments=validate_assignments(get("assignments"), experiments, members,
                                                 files["assignments"], files["experiments"],
                                                 notes),
                memberships=_validate_memberships(get("memberships"), members,
                                                  files["memberships"]),
                notes=notes)


def _empty(table: str, tz: str) -> pd.DataFrame:
    cols = list(SCHEMA[table]["required"])
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    for c in TIME_COLUMNS[table]:
        if c in df.columns:
            df[c] = pd.Series(dtype=f"datetime64[ns, {tz}]")
    return df


def _validate_members(df: pd.DataFrame, file, notes: list[str]) -> pd.DataFrame:
    require_non_null(df, "member_id", file, "every member needs an id; drop or fill the rows")
    require_non_null(df, "joined_at", file, "every member needs a join time")
    df["member_id"] = as_ids(df["member_id"])
    require_unique(df, "member_id", file, show=["joined_at"],
                   fix="keep one row per member (e.g. the first join) and move re-joins to "
                       "events")
    for col in ("channel", "group_id"):
        blank = df[col].isna()
        if blank.any():
            notes.append(f"members: {int(blank.sum())} blank '{col}' value(s) set to '{UNKNOWN}'")
            df[col] = df[col].fillna(UNKNOWN)
        df[col] = df[col].astype(str)
    if "left_at" in df.columns:
        early = df["left_at"].notna() & (df["left_at"] < df["joined_at"])
        if early.any():
            raise DataError.for_rows("left_at before joined_at", file=file, column="left_at",
                                     frame=df, mask=early, show=["member_id", "joined_at"],
                                     fix="correct the exit or join time of these members")
    else:
        df["left_at"] = pd.Series(pd.NaT, index=df.index, dtype=df["joined_at"].dtype)
    if "referrer_id" in df.columns:
        ref = df["referrer_id"]
        if pd.api.types.is_integer_dtype(df["member_id"]):
            df["referrer_id"] = pd.to_numeric(ref, errors="coerce").astype("Int64")
        else:
            df["referrer_id"] = ref.astype("string").str.strip().astype(object).where(ref.notna(), None)
        if pd.api.types.is_integer_dtype(df["member_id"]):  # integers: compare as numbers
            selfref = (df["referrer_id"] == df["member_id"]).fillna(False).astype(bool)
        else:
            selfref = (df["referrer_id"].astype("string")
                       == df["member_id"].astype("string")).fillna(False)
        if selfref.any():
            raise DataError.for_rows("member refers themself", file=file, column="referrer_id",
                                     frame=df, mask=selfref, show=["member_id"],
                                     fix="blank the referrer_id of these rows")
    return df.reset_index(drop=True)


def _validate_events(df: pd.DataFrame, members: pd.DataFrame, file, notes: list[str],
                     pre_join_events: str) -> pd.DataFrame:
    require_non_null(df, "member_id", file, "drop events without a member")
    require_non_null(df, "ts", file, "drop events without a timestamp or fill it in")
    require_non_null(df, "event_type", file, "give every event a type (message, reaction, …)")
    ids = as_ids(df["member_id"])
    if ids.dtype != members["member_id"].dtype:  # e.g. numeric events, text members
        ids = ids.astype(str)
        if members["member_id"].dtype != object:
            members["member_id"] = members["member_id"].astype(str)
    df["member_id"] = ids
    pos = pd.Index(members["member_id"]).get_indexer(df["member_id"])
    unknown = pos < 0
    if unknown.any():
        raise DataError.for_rows("event of an unknown member (member_id not in members)",
                                 file=file, column="member_id", frame=df, mask=unknown,
                                 show=["ts", "event_type"],
                                 fix="add the members to the members table, or drop their events")
    if "amount" in df.columns:
        amount = pd.to_numeric(df["amount"], errors="coerce")
        bad = amount.isna() & df["amount"].notna()
        if bad.any():
            raise DataError.for_rows("amount is not a number", file=file, column="amount",
                                     frame=df, mask=bad, show=["member_id", "event_type"],
                                     fix="write amounts as plain numbers, e.g. 88.50 (no currency sign)")
        neg = amount < 0
        if neg.any():
            raise DataError.for_rows("negative amount", file=file, column="amount", frame=df,
                                     mask=neg, show=["member_id", "event_type"],
                                     fix="record refunds as their own event_type (e.g. 'refund') "
                                         "with a positive amount, or drop them")
        df["amount"] = amount.astype("float64")
    df["event_type"] = as_category(df["event_type"])
    if "activity_id" in df.columns:
        df["activity_id"] = as_category(df["activity_id"])
    # int64 nanoseconds: .to_numpy() on tz-aware values would build an object array per row
    ts_ns = df["ts"].array.asi8
    early = ts_ns < members["joined_at"].array.asi8[pos]
    if early.any():
        if pre_join_events == "error":
            raise DataError.for_rows("event before the member joined", file=file, column="ts",
                                     frame=df, mask=early, show=["member_id"],
                                     fix="correct joined_at, or load with pre_join_events='drop'")
        if pre_join_events == "drop":
            notes.append(f"events: {int(early.sum())} event(s) dated before the member joined "
                         "were dropped")
            warn_at_caller(f"{int(early.sum())} event(s) before the member's joined_at "
                           f"dropped from {file}")
            df = df.loc[~early]
    ts_ns = df["ts"].array.asi8
    if len(ts_ns) > 1 and (np.diff(ts_ns) < 0).any():
        df = df.iloc[np.argsort(ts_ns, kind="stable")]
    return df.reset_index(drop=True)


def _validate_activities(df: pd.DataFrame, file) -> pd.DataFrame:
    if file is None or df.empty:
        return df
    df["activity_id"] = df["activity_id"].astype(str)
    require_unique(df, "activity_id", file, fix="keep one row per activity")
    bad = df["ends_at"] < df["starts_at"]
    if bad.any():
        raise DataError.for_rows("ends_at before starts_at", file=file, column="ends_at",
                                 frame=df, mask=bad, show=["activity_id", "starts_at"],
                                 fix="swap or correct the times")
    return df


def _validate_memberships(df: pd.DataFrame, members: pd.DataFrame, file) -> pd.DataFrame:
    """Membership periods: known members, ``ends_at`` not before ``starts_at``, and no two
    periods of one member overlapping (a renewal starts when, or after, the previous ends)."""
    if file is None or df.empty:
        return df
    for col, fix in (("member_id", "every period needs a member"),
                     ("plan", "give every period its plan (e.g. 月卡, 年卡)"),
                     ("starts_at", "every period needs a start"),
                     ("ends_at", "every period needs an end (the paid-until date)")):
        require_non_null(df, col, file, fix)
    ids = as_ids(df["member_id"])
    if ids.dtype != members["member_id"].dtype:
        ids = ids.astype(str)
        known = pd.Index(members["member_id"].astype(str))
    else:
        known = pd.Index(members["member_id"])
    df["member_id"] = ids
    unknown = known.get_indexer(df["member_id"]) < 0
    if unknown.any():
        raise DataError.for_rows("membership of an unknown member (member_id not in members)",
                                 file=file, column="member_id", frame=df, mask=unknown,
                                 show=["plan", "starts_at"],
                                 fix="add the members to the members table, or drop these rows")
    df["plan"] = df["plan"].astype(str).str.strip()
    bad = df["ends_at"] < df["starts_at"]
    if bad.any():
        raise DataError.for_rows("ends_at before starts_at", file=file, column="ends_at",
                                 frame=df, mask=bad, show=["member_id", "starts_at"],
                                 fix="swap or correct the period's start and end")
    if "amount" in df.columns:
        amount = pd.to_numeric(df["amount"], errors="coerce")
        wrong = (amount.isna() & df["amount"].notna()) | (amount < 0)
        if wrong.any():
            raise DataError.for_rows("amount is not a number ≥ 0", file=file, column="amount",
                                     frame=df, mask=wrong, show=["member_id", "plan"],
                                     fix="write amounts as plain numbers, e.g. 199.00")
        df["amount"] = amount.astype("float64")
    order = np.lexsort((df["starts_at"].array.asi8, pd.factorize(df["member_id"])[0]))
    s = df.iloc[order]
    same = s["member_id"].to_numpy()[1:] == s["member_id"].to_numpy()[:-1]
    overlap = same & (s["starts_at"].array.asi8[1:] < s["ends_at"].array.asi8[:-1])
    if overlap.any():
        mask = np.zeros(len(df), bool)
        mask[order[1:][overlap]] = True
        mask[order[:-1][overlap]] = True
        raise DataError.for_rows("overlapping membership periods of one member", file=file,
                                 column="starts_at", frame=df, mask=mask,
                                 show=["member_id", "plan", "ends_at"],
                                 fix="a renewal starts when (or after) the previous period ends: "
                                     "merge or correct these periods")
    return s.reset_index(drop=True)


# ----------------------------------------------------------------------------- writing
@contextmanager
def atomic_path(target: str | Path, *, allow_raw: bool = False):
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    A crash or exception leaves ``target`` untouched (the last good file survives). Refuses to
    write inside ``data/raw/`` unless ``allow_raw`` (only the demo generator creates raw files).

    Examples
    --------
    >>> with atomic_path("reports/x.html") as tmp:          # doctest: +SKIP
    ...     tmp.write_text("<html>…</html>")
    """
    target = Path(target).resolve()
    if config.RAW_DIR.resolve() in target.parents and not allow_raw:
        raise PermissionError(f"refusing to write into data/raw/ ({target}): raw data is read-only")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_processed(df: pd.DataFrame, dataset: str | Path, name: str) -> Path:
    """Write a derived table atomically to ``data/processed/<dataset>/<name>.parquet``.

    Returns the path written.
    """
    target = config.processed_dir(dataset) / f"{name}.parquet"
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False)
    return target
