"""Pseudonyms for member ids: a stable salted hash, with a secret per-workspace salt.

Reports never show raw member ids; the churn-risk list (``survival.risk_list``) and any other
member-level table use :func:`pseudonymise`.
"""

from __future__ import annotations

import hashlib
import os
import secrets

import pandas as pd

from . import config
from .data import atomic_path
from .errors import ParameterError

__all__ = ["SALT_ENV", "id_salt", "pseudonymise"]


SALT_ENV = "HELPERS_ID_SALT"


def id_salt() -> str:
    """The secret salt for pseudonyms: ``$HELPERS_ID_SALT``, else a random per-workspace salt.

    The workspace salt is created once (``data/.id_salt``, git-ignored) so pseudonyms stay stable
    from one report to the next on this machine, but it is never published: member ids are
    often sequential numbers, and a public salt would let anyone hash every id and reverse them.
    """
    if os.environ.get(SALT_ENV):
        return os.environ[SALT_ENV]
    path = config.DATA_DIR / ".id_salt"
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_text(secrets.token_hex(16), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def pseudonymise(ids, *, salt: str | None = None, length: int = 12) -> pd.Series:
    """Stable pseudonyms for member ids: ``"m_" + sha256(salt + id)[:length]``.

    The same id and salt always give the same pseudonym (reports can be compared over time),
    and the id cannot be read back without the salt. Set a secret salt in the environment
    variable ``HELPERS_ID_SALT`` to share pseudonyms across machines; otherwise a random secret
    salt of this workspace is used (:func:`id_salt`).
    ``7`` and ``"7"`` give the same pseudonym (ids are hashed as text).

    Returns
    -------
    Series of str
        Pseudonyms in the order of ``ids``.

    Examples
    --------
    >>> pseudonymise([100001, "100001"], salt="s").nunique()
    1
    """
    if salt is None:
        salt = id_salt()
    if not (isinstance(length, int) and 6 <= length <= 64):
        raise ParameterError(f"length must be an integer between 6 and 64, got {length!r}")
    values = pd.Series(ids).astype(str)
    prefix = salt.encode("utf-8")
    return pd.Series(["m_" + hashlib.sha256(prefix + v.encode("utf-8")).hexdigest()[:length]
                      for v in values], index=values.index, dtype=object)

