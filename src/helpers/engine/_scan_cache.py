"""The loader's validation scan as compiled SQL, kept on disk to run before Ibis is imported.

Opening a dataset on DuckDB costs a fresh process two things in a row: importing Ibis (~0.3 s,
pure Python, holding the GIL) and the scan of the events (DuckDB, outside the GIL). The scan's
SQL is what Ibis compiles from :func:`helpers.engine.validate.group_scan`; when the same
dataset was opened before, that SQL is known, so the scan can start on a plain DuckDB
connection at once and Ibis is imported meanwhile.

The stored SQL is only a guess at what Ibis compiles: once Ibis is imported, the loader
compiles the scan again and uses the early result only if the two texts are equal (the views
the scan reads included); otherwise it runs the scan Ibis compiled and stores that. A wrong,
stale or foreign entry can cost time, never a wrong number.

Entries are small JSON files under ``COMMUNITY_CACHE_DIR``, else
``$XDG_CACHE_HOME/community-analytics/scans`` (``~/.cache/...``); set
``COMMUNITY_CACHE_DIR=off`` to keep none. A folder that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

FORMAT = 1  #: bump when the entries' layout changes
_VIEW = "community_scan_view_{}"
_NAME = re.compile(r"\bibis_[a-z_]+_[a-z0-9]{20,}\b")


def cache_dir() -> Path | None:
    """The folder of the entries, or None when caching is off."""
    env = os.environ.get("COMMUNITY_CACHE_DIR", "").strip()
    if env.lower() in ("off", "0", "none", "false"):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "community-analytics" / "scans"


def entry_key(source: Path, tz: str, week_zone) -> str:
    """The key of the scan of ``source`` in ``tz`` (with the zone's offsets over the data and
    the DuckDB and Ibis versions installed)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        versions = [version("duckdb"), version("ibis-framework")]
    except PackageNotFoundError:
        versions = []
    raw = json.dumps([FORMAT, str(Path(source).resolve()), str(tz), week_zone, versions],
                     default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def read(key: str) -> dict | None:
    """The stored entry (``views``: the views' SQL, ``scan``: the scan's SQL), or None."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        entry = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("scan"), str) \
            or not isinstance(entry.get("views"), list):
        return None
    return entry


def write(key: str, entry: dict) -> None:
    """Store ``entry`` (atomically: a reader sees the old file or the new one); silent when
    the folder cannot be written."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".scan-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass


def compiled(con, expr) -> dict:
    """What Ibis runs for ``expr`` on the DuckDB connection ``con``: the SQL, and the SQL of
    the views it reads (Ibis' generated names replaced by fixed ones, in order of appearance).

    Returns
    -------
    dict
        ``scan`` (str) and ``views`` (list of str): an entry of the cache.
    """
    sql = str(con.compile(expr))
    names = list(dict.fromkeys(_NAME.findall(sql)))
    rows = dict(con.raw_sql("SELECT view_name, sql FROM duckdb_views() "
                            "WHERE NOT internal").fetchall()) if names else {}
    views = []
    for name in names:
        if name not in rows or _NAME.findall(rows[name]) != [name]:
            return {"scan": "", "views": []}  # a view reading other views: not kept
        views.append(rows[name])

    def fixed(text: str) -> str:
        for i, name in enumerate(names):
            text = re.sub(rf"\b{name}\b", _VIEW.format(i), text)
        return text
    return {"scan": fixed(sql), "views": [fixed(v) for v in views]}


def run(plain, entry: dict):
    """Run a stored scan on a plain DuckDB connection; its result as an Arrow table."""
    for view in entry["views"]:
        plain.execute(view)
    return plain.execute(entry["scan"]).fetch_record_batch().read_all()
