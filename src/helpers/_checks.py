"""Shared argument checks: required columns, alpha, choices, column lists, active event types.

One definition of each rule for every analysis; messages name the parameter and the fix.

Rules
-----
- **Active event types** (``active_types``): ``None`` means every event type counts as active.
  A string is one type; a list names the types. An **empty list is refused** with a
  ParameterError everywhere ("no event type would count as active"), and so is a type that never
  occurs in the events. See :func:`active_types` and :func:`active_mask`.
- **alpha**: a number strictly between 0 and 1.
- **Column lists** (``by``, ``segment``): None or ``""`` mean none; a string is one column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .errors import ParameterError

#: the multiple-testing correction vocabulary, shared by log-rank tests and experiments
Correction = Literal["holm", "bh", "none"]
CORRECTIONS: tuple[str, ...] = get_args(Correction)

#: the standard event type for taking part in an activity (DESIGN.md section 3)
PARTICIPATION_TYPE = "activity_join"

#: the one text of the ``active_types`` parameter, reused in docstrings
ACTIVE_TYPES_DOC = """active_types : str, list of str or None, default None
        Event types that count as activity; None = every type. An empty list is refused
        (ParameterError), as is a type that never occurs in the events."""

#: the one text of the ``alpha`` parameter
ALPHA_DOC = """alpha : float, default 0.05
        Two-sided significance level; intervals are at 1 - alpha."""


def check_alpha(alpha) -> float:
    """Return ``alpha`` or raise ParameterError unless 0 < alpha < 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
            or not (0 < alpha < 1):
        raise ParameterError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def check_correction(correction) -> str:
    """Return ``correction`` or raise ParameterError unless it is one of :data:`CORRECTIONS`."""
    return check_choice("correction", correction, CORRECTIONS)


def check_choice(name: str, value, allowed: Sequence[str]):
    """Return ``value`` or raise ParameterError listing the allowed values."""
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not allowed; use one of "
                             f"{', '.join(map(repr, allowed))}")
    return value


def require_columns(frame: pd.DataFrame, cols: Sequence[str], table: str) -> None:
    """Raise ParameterError when ``frame`` (the table named ``table``) lacks required columns."""
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(f"{table} lacks required column(s) {', '.join(map(repr, missing))}; "
                             f"it has: {', '.join(map(str, frame.columns))}")


def column_param(param: str, col: str | None, frame: pd.DataFrame) -> None:
    """Raise ParameterError naming the parameter when column ``col`` is not in ``frame``."""
    if col is not None and col not in frame.columns:
        raise ParameterError(f"{param}={col!r} is not a column of the data; available columns: "
                             f"{', '.join(map(str, frame.columns))}")


def as_columns(name: str, value, frame: pd.DataFrame, table: str = "members") -> list[str]:
    """Normalise ``by``-like parameters (None, ``""``, a name or a list) to existing columns.

    Examples
    --------
    >>> f = pd.DataFrame({"channel": [], "city": []})
    >>> as_columns("by", None, f), as_columns("by", "", f), as_columns("by", "channel", f)
    ([], [], ['channel'])
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return []
    cols = [value] if isinstance(value, str) else [c for c in value if c != ""]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(f"{name}={value!r}: no column {', '.join(map(repr, missing))} in "
                             f"{table}; available: {', '.join(map(str, frame.columns))}")
    return cols


def _present_types(event_type: pd.Series) -> set[str]:
    if isinstance(event_type.dtype, pd.CategoricalDtype):
        codes = event_type.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(event_type.cat.categories))
        return {str(c) for c, n in zip(event_type.cat.categories, counts) if n > 0}
    return set(map(str, pd.unique(event_type.dropna())))


def active_types(active, present: set[str] | Sequence[str] | None = None) -> list[str] | None:
    """The one rule for ``active_types``: None (all types), or a validated list of types.

    Parameters
    ----------
    active : None, str or sequence of str
        The caller's ``active_types``.
    present : set of str, optional
        Event types that occur in the data; when given, unknown types are refused.

    Raises
    ------
    ParameterError
        For an empty list, or (with ``present``) a type that never occurs.

    Examples
    --------
    >>> active_types(None) is None
    True
    >>> active_types("message")
    ['message']
    >>> active_types([])
    Traceback (most recent call last):
    ...
    helpers.errors.ParameterError: active_types=[] names no event type, so no member would ever count as active; pass None to count every event type, or list the types
    """
    if active is None:
        return None
    wanted = [active] if isinstance(active, str) else [str(t) for t in active]
    if not wanted:
        raise ParameterError(f"active_types={active!r} names no event type, so no member would "
                             "ever count as active; pass None to count every event type, or "
                             "list the types")
    if present is not None:
        present = set(present)
        unknown = [t for t in wanted if t not in present]
        if unknown:
            raise ParameterError(
                f"active_types={active!r}: event type(s) {', '.join(map(repr, unknown))} never "
                f"occur in events; event types present: {', '.join(sorted(present))} "
                "(or None for all types)")
    return wanted


def active_mask(events: pd.DataFrame, active) -> np.ndarray | None:
    """Boolean mask of the active events of ``events`` (None = every event is active).

    Applies :func:`active_types` against the types present in ``events["event_type"]``.
    """
    if active is None:
        return None
    et = events["event_type"]
    wanted = active_types(active, _present_types(et))
    if isinstance(et.dtype, pd.CategoricalDtype):
        wanted_codes = np.flatnonzero(et.cat.categories.astype(str).isin(wanted))
        return np.isin(et.cat.codes.to_numpy(), wanted_codes)
    return et.astype(str).isin(wanted).to_numpy() if et.dtype != object else et.isin(wanted).to_numpy()
