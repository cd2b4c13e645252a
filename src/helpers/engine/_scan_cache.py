"""The loader's validation scan as compiled SQL, kept on disk to run without Ibis.

Opening a dataset on DuckDB costs a fresh process two things: importing Ibis (~0.3-0.5 s of
CPU, pure Python) and the scan of the events (DuckDB, outside the GIL). The scan's SQL is
what Ibis compiles from :func:`helpers.engine.validate.group_scan`; when the same dataset was
opened before, that SQL is known, so the scan runs on a plain DuckDB connection and Ibis is
imported only when an analysis needs the table (:class:`helpers.engine._lazy.LazyEvents`).

An entry is found by a key of everything the compiled SQL depends on (:func:`entry_key`): the
dataset's path, zone and the zone's offsets over the data, the columns and types DuckDB reads
from the files (:func:`helpers.engine.duckdb.parquet_columns`), the versions of DuckDB, Ibis and
sqlglot, and the source of this package (:func:`code_hash`; a process whose source changed
after it started keeps no entries). A change to any of them is another key: the scan is
compiled again and stored. When the table is built later, the loader compiles the scan anyway
and compares (:func:`helpers.engine.load.open_events`); a difference (a dependence the key
misses: a bug) is stored over the entry, the load's cached results are dropped and the build
raises, asking for the dataset to be loaded again.

Stored text is run before Ibis sees it, so an entry is run only when (1) the folder and
the file belong to the user and nobody else may write them (POSIX; elsewhere nothing is
stored), (2) it names its own key and carries its checksum, (3) its view is exactly the
``read_parquet`` view Ibis creates for this dataset (:func:`expected_views`), and (4) its
scan is a single ``SELECT``; the plain connection loads no extension and its settings are
locked (:func:`harden`).

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
import time
from pathlib import Path

FORMAT = 2  #: bump when the entries' layout changes
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


def entry_key(source: Path, tz: str, week_zone, columns) -> str | None:
    """The key of the scan of ``source`` in ``tz``: the zone's offsets over the data
    (``week_zone``), the files' ``columns`` (name, DuckDB type), the DuckDB, Ibis and sqlglot
    versions installed and :func:`code_hash`; None when this process keeps no entries (its
    code may not be the files', see :func:`code_hash`)."""
    code = code_hash()
    if code is None:
        return None
    raw = json.dumps([FORMAT, str(Path(source).resolve()), str(tz), week_zone,
                      [list(c) for c in columns], _versions(), code], default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version
    out = []
    for name in ("duckdb", "ibis-framework", "sqlglot"):
        try:
            out.append(version(name))
        except PackageNotFoundError:
            out.append("")
    return out


_CODE: dict = {}  #: "files": the sources' (path, mtime, size) when hashed, "hash"
_IMPORTED = time.time()


def _process_start() -> float:
    """When this process started (Linux: from /proc), else when this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return _IMPORTED


def _sources(root: str) -> tuple:
    """``(path relative to root, mtime_ns, size)`` of the package's ``.py`` files, sorted."""
    out, todo = [], [root]
    while todo:
        with os.scandir(todo.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        todo.append(e.path)
                elif e.name.endswith(".py"):
                    st = e.stat()
                    out.append((os.path.relpath(e.path, root), st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


def code_hash() -> str | None:
    """A hash of the source of the ``helpers`` package (any change to the code that builds the
    scan is a new key; ~5 ms for the ~1 MB of source, once a process), or None.

    None when a source file changed after this process started, or since the hash was made:
    the code running (imported before, or reloaded after, the change) may not be the files',
    so this process neither runs nor stores an entry. Checked at every load (a ``stat`` of
    each file, ~1 ms).
    """
    root = Path(__file__).resolve().parents[1]
    try:
        files = _sources(str(root))
    except OSError:
        return None
    if "files" in _CODE:
        return _CODE["hash"] if files == _CODE["files"] else None
    if max((m for _, m, _ in files), default=0) / 1e9 > _process_start() - 1:
        return None  # changed after the start (a second's margin: the boot time is in seconds)
    h = hashlib.sha256()
    for name, _, _ in files:
        h.update(name.encode())
        try:
            h.update((root / name).read_bytes())
        except OSError:
            return None
    _CODE.update(files=files, hash=h.hexdigest())
    return _CODE["hash"]


def read(key: str, views: list[str], plain) -> dict | None:
    """The stored entry (``key``, ``views``: the views' SQL, ``scan``: the scan's SQL), or None.

    None unless the folder and the file are the user's own (:func:`_private`), the entry
    names ``key``, its views are ``views`` (:func:`expected_views`) and its scan is one
    ``SELECT`` statement (parsed by the plain DuckDB connection ``plain``, not run)."""
    folder = cache_dir()
    if folder is None or not views or key is None:
        return None
    path = folder / f"{key}.json"
    if not (_private(folder) and _private(path)):
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("scan"), str) \
            or entry.get("key") != key or entry.get("views") != views \
            or entry.get("sum") != _sum(key, entry):
        return None
    try:
        statements = plain.extract_statements(entry["scan"])
    except Exception:  # noqa: BLE001 — not SQL DuckDB parses: not run
        return None
    if len(statements) != 1 or statements[0].type.name != "SELECT":
        return None
    return entry


def _sum(key: str, entry: dict) -> str:
    """The checksum an entry carries (an entry edited or damaged since it was written fails it)."""
    raw = json.dumps([key, entry.get("views"), entry.get("scan")])
    return hashlib.sha256(raw.encode()).hexdigest()


def write(key: str, entry: dict) -> None:
    """Store ``entry`` (atomically: a reader sees the old file or the new one) in a folder
    only the user may read; silent when the folder cannot be written."""
    folder = cache_dir()
    if folder is None or key is None:
        return
    tmp = None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".scan-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(dict(entry, key=key, sum=_sum(key, entry)), f)
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
