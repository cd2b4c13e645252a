"""Exceptions of the workspace: errors are part of the interface.

Messages name the file, the column, the offending rows and the fix, so an analyst can repair
an export without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

MAX_ROWS_SHOWN = 5


class WorkspaceError(Exception):
    """Base class of the errors this package raises on purpose."""


class DataError(WorkspaceError, ValueError):
    """Raw data breaks the data contract (``data/raw/README.md``).

    Attributes
    ----------
    file : str or None
        The file at fault.
    column : str or None
        The column at fault.
    rows : list of int
        Row numbers at fault, counted as in a spreadsheet (header = row 1, first data row = 2).
    """

    def __init__(self, message: str, *, file: str | Path | None = None,
                 column: str | None = None, rows: Sequence[int] = (), fix: str | None = None):
        self.file = None if file is None else str(file)
        self.column = column
        self.rows = list(rows)
        self.fix = fix
        parts = []
        if self.file:
            parts.append(f"{self.file}")
        if column:
            parts.append(f"column '{column}'")
        head = ": ".join([", ".join(parts), message]) if parts else message
        if fix:
            head += f"\n  How to fix: {fix}"
        super().__init__(head)

    @classmethod
    def for_rows(cls, problem: str, *, file, column, frame: pd.DataFrame, mask,
                 show: Sequence[str] = (), fix: str) -> "DataError":
        """Build an error that lists up to five offending rows of ``frame``.

        ``frame`` must keep the positional order of the file (row ``i`` of the frame is data row
        ``i`` of the file) so the reported row numbers match what a spreadsheet shows.
        """
        positions = pd.Series(mask, copy=False).to_numpy().nonzero()[0]
        rows = [int(p) + 2 for p in positions]
        cols = [c for c in dict.fromkeys([*show, column]) if c in frame.columns]
        lines = []
        for p, r in zip(positions[:MAX_ROWS_SHOWN], rows[:MAX_ROWS_SHOWN]):
            values = ", ".join(f"{c}={frame[c].iloc[p]!r}" for c in cols)
            lines.append(f"    row {r}: {values}")
        more = f"\n    … and {len(rows) - MAX_ROWS_SHOWN} more" if len(rows) > MAX_ROWS_SHOWN else ""
        msg = (f"{problem} in {len(rows)} row(s) (row numbers as in a spreadsheet, header = row 1):\n"
               + "\n".join(lines) + more)
        return cls(msg, file=file, column=column, rows=rows, fix=fix)


class ParameterError(WorkspaceError, ValueError):
    """A helper or notebook parameter is invalid (unknown period, missing column, …)."""


class AnalysisWarning(UserWarning):
    """A result is valid but needs a caveat (few clusters, data dropped, model not converged)."""


def warn_at_caller(message: str, category: type[Warning] = AnalysisWarning) -> None:
    """Warn, pointing at the first frame outside the ``helpers`` package (the analyst's line,
    however deep inside the package the warning is raised)."""
    import sys
    import warnings
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "helpers":
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
