"""Reading raw table files and coercing their values: the loader's shared internals.

Used by :mod:`helpers.data` (members, events, activities, memberships) and
:mod:`helpers._experiment_tables` (experiments, assignments); the public names are re-exported
by :mod:`helpers.data`.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

FIX_ENCODING = ("re-save the file as UTF-8: in Excel 'Save as → CSV UTF-8', or on the command "
                 "line `iconv -f GB18030 -t UTF-8 in.csv > out.csv`")


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
                    file=path, rows=[line], fix=FIX_ENCODING) from None
            offset += len(chunk)
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError("file is not UTF-8 text: it ends inside a multi-byte character",
                            file=path, fix=FIX_ENCODING) from None


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
        raise DataError("file is not UTF-8 text", file=path, fix=FIX_ENCODING) from None
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


def as_ids(values: pd.Series) -> pd.Series:
    """Integers when every non-null id is an integer without leading zeros, else text."""
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64")
    text = values.astype("string").str.strip()
    if text.notna().all() and text.str.fullmatch(r"-?(0|[1-9]\d{0,17})").all():
        return text.astype("int64")
    return text.astype(object).where(text.notna(), None)


def as_category(values: pd.Series) -> pd.Series:
    """A categorical with stripped text categories; works per category, not per row (fast)."""
    cat = values.astype("category")
    labels = cat.cat.categories.astype(str).str.strip()
    if labels.is_unique:
        return cat.cat.rename_categories(labels)
    codes = cat.cat.codes.to_numpy()
    merged = pd.Categorical(np.asarray(labels, dtype=object)[codes])
    merged[codes < 0] = np.nan
    return pd.Series(merged, index=values.index)


def require_non_null(df: pd.DataFrame, column: str, file, fix: str) -> None:
    bad = df[column].isna()
    if bad.any():
        raise DataError.for_rows("missing value", file=file, column=column, frame=df,
                                 mask=bad, fix=fix)


def require_unique(df: pd.DataFrame, column: str, file, fix: str, show=()) -> None:
    """Raise "duplicate <column>" naming every row of a repeated value (up to five shown,
    with the ``show`` columns)."""
    dup = df[column].duplicated(keep=False)
    if dup.any():
        raise DataError.for_rows(f"duplicate {column}", file=file, column=column, frame=df,
                                 mask=dup, show=list(show), fix=fix)
