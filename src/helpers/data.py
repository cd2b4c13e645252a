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

import codecs
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
from .errors import AnalysisWarning, DataError

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
_FIX_ENCODING = ("re-save the file as UTF-8: in Excel 'Save as → CSV UTF-8', or on the command "
                 "line `iconv -f GB18030 -t UTF-8 in.csv > out.csv`")


@dataclass(frozen=True)
class Community:
    """A validated community dataset.

    Attributes
    ----------
    members : DataFrame
        ``member_id, joined_at, channel, group_id`` [, ``left_at``, ``referrer_id``, attributes…]
    events : DataFrame or Ibis table
        ``member_id, ts, event_type`` [, ``activity_id``, ``amount``, …], sorted by ``ts``; a
        lazy Ibis table (not sorted) on the ``duckdb`` and ``spark`` engines.
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


# ----------------------------------------------------------------------------- reading files
def find_table_file(folder: Path, table: str) -> Path | None:
    """Return ``folder/<table>.parquet`` or ``.csv`` (or ``.csv.gz``), whichever exists."""
    for ext in (".parquet", ".csv", ".csv.gz"):
        p = folder / f"{table}{ext}"
        if p.exists():
            return p
    return None


def check_utf8(path: Path, chunk_size: int = 1 << 24) -> None:
    """Raise a DataError if ``path`` is not UTF-8 text, saying when it looks like GBK/GB18030.

    Decodes incrementally, so memory stays flat on large exports.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_at = exc.start
                line += chunk[:bad_at].count(b"\n")
                sample = chunk[max(0, bad_at - 40): bad_at + 40]
                gbk = _looks_like_gb18030(sample)
                what = ("it looks like GBK/GB18030 (the default of Excel and many Chinese "
                        "exports)" if gbk else "the encoding is not recognised")
                raise DataError(
                    f"file is not UTF-8 text: byte 0x{chunk[bad_at]:02X} at byte {offset + bad_at} "
                    f"(line {line}) cannot be decoded; {what}",
                    file=path, rows=[line], fix=_FIX_ENCODING) from None
            offset += len(chunk)
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError("file is not UTF-8 text: it ends inside a multi-byte character",
                            file=path, fix=_FIX_ENCODING) from None


def _looks_like_gb18030(sample: bytes) -> bool:
    """True if ``sample`` decodes as GB18030 and yields CJK characters."""
    for trim_start in range(0, 4):
        for trim_end in range(0, 4):
            piece = sample[trim_start: len(sample) - trim_end]
            try:
                text = piece.decode("gb18030")
            except UnicodeDecodeError:
                continue
            return any("\u4e00" <= ch <= "\u9fff" for ch in text)
    return False


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read one raw table (CSV or Parquet) without interpreting values.

    CSV identifiers are read as text so leading zeros survive (``"007"``); integer-looking
    ``member_id`` columns are converted back to integers by :func:`load_community` when every
    value is an integer, which keeps large event logs compact.
    """
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path, columns=columns)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise DataError(f"cannot read Parquet file ({exc})", file=path,
                            fix="re-export the table; check that the file is complete") from None
    if path.suffix == ".csv":
        check_utf8(path)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                           encoding="utf-8-sig", usecols=columns)
    except UnicodeDecodeError:
        raise DataError("file is not UTF-8 text", file=path, fix=_FIX_ENCODING) from None
    except pd.errors.EmptyDataError:
        raise DataError("file is empty (no header row)", file=path,
                        fix="export the table again with its header row") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse CSV ({exc})", file=path,
                        fix="check quoting and the number of fields on the line named") from None


# ----------------------------------------------------------------------------- coercion
def parse_timestamps(values: pd.Series, *, tz: str, file, column: str,
                     frame: pd.DataFrame) -> pd.Series:
    """Parse ISO 8601 values to tz-aware timestamps in ``tz``; name unparseable rows."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # Parquet: any unit, loaded as ns
        return values.dt.tz_convert(tz).dt.as_unit("ns")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward") \
            .dt.as_unit("ns")
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=False) \
        if not text.str.contains(r"[+-]\d\d:?\d\d$|Z$", regex=True, na=False).any() \
        else pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    bad = parsed.isna() & text.notna()
    if bad.any():
        raise DataError.for_rows(
            "unparseable timestamp", file=file, column=column, frame=frame, mask=bad,
            fix="write timestamps as ISO 8601, e.g. 2026-03-02 08:15:00 or "
                "2026-03-02T08:15:00+08:00 (naive values are read in the dataset's time zone)")
    if parsed.dt.tz is None:
        return parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return parsed.dt.tz_convert(tz)


def _as_ids(values: pd.Series) -> pd.Series:
    """Integers when every non-null id is an integer without leading zeros, else text."""
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64")
    text = values.astype("string").str.strip()
    if text.notna().all() and text.str.fullmatch(r"-?(0|[1-9]\d{0,17})").all():
        return text.astype("int64")
    return text.astype(object).where(text.notna(), None)


def _as_category(values: pd.Series) -> pd.Series:
    """A categorical with stripped text categories; works per category, not per row (fast)."""
    cat = values.astype("category")
    labels = cat.cat.categories.astype(str).str.strip()
    if labels.is_unique:
        return cat.cat.rename_categories(labels)
    codes = cat.cat.codes.to_numpy()
    merged = pd.Categorical(np.asarray(labels, dtype=object)[codes])
    merged[codes < 0] = np.nan
    return pd.Series(merged, index=values.index)


def _require_columns(df: pd.DataFrame, table: str, file) -> None:
    missing = [c for c in SCHEMA[table]["required"] if c not in df.columns]
    if missing:
        raise DataError(
            f"required column(s) {missing} missing from table '{table}'; found {list(df.columns)}",
            file=file, column=missing[0],
            fix=f"rename or add the column; '{table}' needs {list(SCHEMA[table]['required'])} "
                "(see data/raw/README.md)")


def _require_non_null(df: pd.DataFrame, column: str, file, fix: str) -> None:
    bad = df[column].isna()
    if bad.any():
        raise DataError.for_rows("missing value", file=file, column=column, frame=df,
                                 mask=bad, fix=fix)


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
    from .engine.load import choose_engine, events_source, lazy_frame, open_events
    engine = choose_engine(engine, folder)
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
    if "events" in tables:  # CSV (or engine="pandas"): checked here, then handed over
        events = _validate_events(tables["events"], members, files["events"], notes,
                                  pre_join_events)
        if engine != "pandas":
            events = lazy_frame(events, engine=engine)
    else:
        events, members = open_events(files["events"], members, engine=engine, tz=tz,
                                      pre_join_events=pre_join_events, notes=notes)
    activities = _validate_activities(tables["activities"], files["activities"])
    experiments = _validate_experiments(tables["experiments"], files["experiments"])
    assignments = _validate_assignments(tables["assignments"], experiments, members,
                                        files["assignments"], files["experiments"], notes)
    memberships = _validate_memberships(tables["memberships"], members, files["memberships"])
    return Community(members=members, events=events, activities=activities,
                     experiments=experiments, assignments=assignments, source=folder,
                     timezone=tz, notes=tuple(notes), memberships=memberships, engine=engine)


def _empty(table: str, tz: str) -> pd.DataFrame:
    cols = list(SCHEMA[table]["required"])
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    for c in TIME_COLUMNS[table]:
        if c in df.columns:
            df[c] = pd.Series(dtype=f"datetime64[ns, {tz}]")
    return df


def _validate_members(df: pd.DataFrame, file, notes: list[str]) -> pd.DataFrame:
    _require_non_null(df, "member_id", file, "every member needs an id; drop or fill the rows")
    _require_non_null(df, "joined_at", file, "every member needs a join time")
    df["member_id"] = _as_ids(df["member_id"])
    dup = df["member_id"].duplicated(keep=False)
    if dup.any():
        raise DataError.for_rows("duplicate member_id", file=file, column="member_id", frame=df,
                                 mask=dup, show=["joined_at"],
                                 fix="keep one row per member (e.g. the first join) and move "
                                     "re-joins to events")
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
    _require_non_null(df, "member_id", file, "drop events without a member")
    _require_non_null(df, "ts", file, "drop events without a timestamp or fill it in")
    _require_non_null(df, "event_type", file, "give every event a type (message, reaction, …)")
    ids = _as_ids(df["member_id"])
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
    df["event_type"] = _as_category(df["event_type"])
    if "activity_id" in df.columns:
        df["activity_id"] = _as_category(df["activity_id"])
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
            warnings.warn(f"{int(early.sum())} event(s) before the member's joined_at dropped "
                          f"from {file}", AnalysisWarning, stacklevel=3)
            df = df.loc[~early]
    ts_ns = df["ts"].array.asi8
    if len(ts_ns) > 1 and (np.diff(ts_ns) < 0).any():
        df = df.iloc[np.argsort(ts_ns, kind="stable")]
    return df.reset_index(drop=True)


def _validate_activities(df: pd.DataFrame, file) -> pd.DataFrame:
    if file is None or df.empty:
        return df
    df["activity_id"] = df["activity_id"].astype(str)
    dup = df["activity_id"].duplicated(keep=False)
    if dup.any():
        raise DataError.for_rows("duplicate activity_id", file=file, column="activity_id",
                                 frame=df, mask=dup, fix="keep one row per activity")
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
        _require_non_null(df, col, file, fix)
    ids = _as_ids(df["member_id"])
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


def parse_split(text: str | None) -> dict[str, float] | None:
    """Parse ``"control:0.5,treatment:0.5"`` into ``{"control": 0.5, "treatment": 0.5}``.

    Weights are normalised to sum to 1. Returns None for a blank value.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
        return None
    out: dict[str, float] = {}
    for part in str(text).split(","):
        arm, _, w = part.partition(":")
        out[arm.strip()] = float(w)
    total = sum(out.values())
    if total <= 0 or any(v < 0 for v in out.values()):
        raise ValueError(f"weights must be positive: {text!r}")
    return {k: v / total for k, v in out.items()}


def _validate_experiments(df: pd.DataFrame, file) -> pd.DataFrame:
    if file is None or df.empty:
        return df
    df["experiment_id"] = df["experiment_id"].astype(str)
    dup = df["experiment_id"].duplicated(keep=False)
    if dup.any():
        raise DataError.for_rows("duplicate experiment_id", file=file, column="experiment_id",
                                 frame=df, mask=dup, fix="keep one row per experiment")
    df["unit"] = df["unit"].astype(str).str.strip().str.lower()
    bad = ~df["unit"].isin(["member", "group"])
    if bad.any():
        raise DataError.for_rows("unit must be 'member' or 'group'", file=file, column="unit",
                                 frame=df, mask=bad, show=["experiment_id"],
                                 fix="set unit to the level at which arms were assigned")
    bad = df["ends_at"] <= df["starts_at"]
    if bad.any():
        raise DataError.for_rows("ends_at not after starts_at", file=file, column="ends_at",
                                 frame=df, mask=bad, show=["experiment_id", "starts_at"],
                                 fix="correct the experiment window")
    if "control_arm" not in df.columns:
        df["control_arm"] = "control"
    df["control_arm"] = df["control_arm"].fillna("control").astype(str)
    if "planned_split" in df.columns:
        for i, text in enumerate(df["planned_split"]):
            try:
                parse_split(text)
            except ValueError as exc:
                raise DataError.for_rows(f"planned_split is not 'arm:weight,…' ({exc})",
                                         file=file, column="planned_split", frame=df,
                                         mask=np.arange(len(df)) == i, show=["experiment_id"],
                                         fix="write e.g. control:0.5,treatment:0.5") from None
    return df


def _stripped_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels) of a text column: ``labels`` the distinct stripped texts, ``codes`` each
    row's position in them. Works per distinct value, in Arrow (fast on millions of rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    codes, uniques = pd.factorize(values, sort=False)
    arr = pa.array(np.asarray(uniques, dtype=object).astype(str), type=pa.string())
    stripped = pc.utf8_trim_whitespace(arr)
    if not pc.all(pc.equal(arr, stripped)).as_py():  # " a" and "a": one label
        enc = pc.dictionary_encode(stripped).combine_chunks() \
            if isinstance(stripped, pa.ChunkedArray) else pc.dictionary_encode(stripped)
        codes = enc.indices.to_numpy().astype(np.int64)[codes]
        stripped = enc.dictionary
    return codes.astype(np.int64), np.asarray(stripped.to_pylist(), dtype=object)


def _text_isin(labels: np.ndarray, values) -> np.ndarray:
    """Which ``labels`` (text) occur among ``values`` read as text (Arrow's hash lookup)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    vals = pa.array(np.asarray(values)) if not isinstance(values, pa.Array) else values
    vals = vals.cast(pa.string()) if not pa.types.is_string(vals.type) else vals
    return pc.is_in(pa.array(labels, type=pa.string()), value_set=vals).to_numpy(
        zero_copy_only=False)


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) pair of non-negative codes."""
    return a * (int(b.max(initial=0)) + 1) + b


def _validate_assignments(df: pd.DataFrame, experiments: pd.DataFrame, members: pd.DataFrame,
                          file, experiments_file, notes: list[str]) -> pd.DataFrame:
    if file is None:
        return df
    if experiments_file is None:
        raise DataError("assignments given but no experiments table", file=file,
                        fix="add experiments.csv describing each experiment_id")
    codes, labels = {}, {}
    for col in ("experiment_id", "unit_id", "arm"):
        _require_non_null(df, col, file, "every assignment needs an experiment, a unit and an arm")
        codes[col], labels[col] = _stripped_text(df[col])
        df[col] = labels[col][codes[col]]  # plain text, stripped (a take, not a per-row parse)
    known_exp = _text_isin(labels["experiment_id"], experiments["experiment_id"].astype(str))
    unknown = ~known_exp[codes["experiment_id"]]
    if unknown.any():
        raise DataError.for_rows("assignment to an unknown experiment", file=file,
                                 column="experiment_id", frame=df, mask=unknown,
                                 show=["unit_id", "arm"],
                                 fix=f"use an experiment_id from {experiments_file.name} "
                                     f"({', '.join(experiments['experiment_id'][:5])}…) or add it")
    unit_key = _pair_key(codes["experiment_id"], codes["unit_id"])
    first = ~pd.Series(_pair_key(unit_key, codes["arm"])).duplicated().to_numpy()
    if not first.all():
        df = df.loc[first].reset_index(drop=True)
        unit_key = unit_key[first]
        codes = {k: v[first] for k, v in codes.items()}
    two_arms = pd.Series(unit_key).duplicated(keep=False).to_numpy()
    if two_arms.any():
        raise DataError.for_rows("unit assigned to two arms of one experiment", file=file,
                                 column="unit_id", frame=df, mask=two_arms,
                                 show=["experiment_id", "arm"],
                                 fix="a unit must stay in one arm: drop the later assignment "
                                     "(and analyse by first assignment)")
    unit_of = experiments.set_index("experiment_id")["unit"]
    is_member_exp = pd.Index(labels["experiment_id"]).map(unit_of).to_numpy() == "member"
    is_member_unit = is_member_exp[codes["experiment_id"]]
    ids = members["member_id"]
    known = _text_isin(labels["unit_id"], ids.astype(str) if ids.dtype == object else
                       ids.to_numpy())
    unknown_member = is_member_unit & ~known[codes["unit_id"]]
    if unknown_member.any():
        raise DataError.for_rows("unit_id is not a known member (the experiment's unit is "
                                 "'member')", file=file, column="unit_id", frame=df,
                                 mask=unknown_member, show=["experiment_id"],
                                 fix="check the experiment's unit and the member ids exported")
    # groups have no table of their own: a group without members in this export is possible
    has_members = _text_isin(labels["unit_id"], pd.unique(members["group_id"]).astype(str))
    empty_group = ~is_member_unit & ~has_members[codes["unit_id"]]
    if empty_group.any():
        names = sorted(df.loc[empty_group, "unit_id"].unique())[:5]
        notes.append(f"assignments: {int(empty_group.sum())} assigned group(s) have no members "
                     f"in members ({', '.join(names)}); they contribute no data")
        warnings.warn(notes[-1], AnalysisWarning, stacklevel=3)
    if "assigned_at" in df.columns and not isinstance(df["assigned_at"].dtype, pd.DatetimeTZDtype):
        df["assigned_at"] = pd.to_datetime(df["assigned_at"])
    return df


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
