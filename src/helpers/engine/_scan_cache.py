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

Stored text is run before it is compared, so an entry is run only when (1) the folder and
the file belong to the user and nobody else may write them (POSIX; elsewhere nothing is
stored), (2) its view is exactly the ``read_parquet`` view Ibis creates for this dataset
(:func:`expected_views`), and (3) its scan is a single ``SELECT``; the plain connection loads
no extension and its settings are locked (:func:`harden`).

Entries are small JSON files under ``COMMUNITY_CACHE_DIR``, else
``$XDG_CACHE_HOME/community-analytics/scans`` (``~/.cache/...``); set
``COMMUNITY_CACHE_DIR=off`` to keep none. A folder that cannot be written is skipped; the
newest :data:`MAX_ENTRIES` are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

FORMAT = 1  #: bump when the entries' layout changes
MAX_ENTRIES = 256  #: entries kept (the newest); one per dataset and zone
_VIEW = "community_scan_view_{}"
_NAME = re.compile(r"\bibis_[a-z_]+_[a-z0-9]{20,}\b")


def cache_dir() -> Path | None:
    """The folder of the entries, or None when caching is off (or there is no home folder,
    or the system has no file owners to check)."""
    env = os.environ.get("COMMUNITY_CACHE_DIR", "").strip()
    if env.lower() in ("off", "0", "none", "false") or not hasattr(os, "getuid"):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError, OSError):  # no home folder: keep nothing
            return None
    return Path(base) / "community-analytics" / "scans"


def _private(path: Path) -> bool:
    """``path`` belongs to the user and neither its group nor others may write it."""
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def expected_views(source: Path) -> list[str]:
    """The view Ibis' DuckDB backend creates for ``read_events(source)`` (as
    :func:`compiled` names it): the only view text a stored entry may hold."""
    source = Path(source)
    glob = os.path.abspath(str(source / "**" / "*.parquet") if source.is_dir() else str(source))
    if "'" in glob or "\\" in glob:
        return []  # quoting Ibis might write otherwise: no stored scan for such a path
    hive = (", (hive_partitioning = CAST('t' AS BOOLEAN)), "
            "(hive_types_autocast = CAST('f' AS BOOLEAN))") if source.is_dir() else ""
    return [f"CREATE TEMP VIEW {_VIEW.format(0)} AS SELECT * FROM "
            f"read_parquet(main.list_value('{glob}'){hive});"]


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


def read(key: str, views: list[str], plain) -> dict | None:
    """The stored entry (``views``: the views' SQL, ``scan``: the scan's SQL), or None.

    None unless the folder and the file are the user's own (:func:`_private`), the entry's
    views are ``views`` (:func:`expected_views`) and its scan is one ``SELECT`` statement
    (parsed by the plain DuckDB connection ``plain``, not run)."""
    folder = cache_dir()
    if folder is None or not views:
        return None
    path = folder / f"{key}.json"
    if not (_private(folder) and _private(path)):
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("scan"), str) \
            or entry.get("views") != views:
        return None
    try:
        statements = plain.extract_statements(entry["scan"])
    except Exception:  # noqa: BLE001 — not SQL DuckDB parses: not run
        return None
    if len(statements) != 1 or statements[0].type.name != "SELECT":
        return None
    return entry


def write(key: str, entry: dict) -> None:
    """Store ``entry`` (atomically: a reader sees the old file or the new one) in a folder
    only the user may read; silent when the folder cannot be written."""
    folder = cache_dir()
    if folder is None:
        return
    tmp = None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".scan-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, folder / f"{key}.json")
        tmp = None
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-MAX_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def harden(plain) -> None:
    """A plain connection that runs stored text: no extension installed or loaded on demand,
    its settings locked."""
    plain.execute("SET autoinstall_known_extensions = false")
    plain.execute("SET autoload_known_extensions = false")
    plain.execute("SET lock_configuration = true")


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
