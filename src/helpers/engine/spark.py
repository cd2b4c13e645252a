"""The Spark backend (Ibis' pyspark backend): a session and event tables.

Optional: ``pip install -e ".[spark]"`` and Java 17. The same Ibis definitions as on DuckDB
run here; Ibis sets the session zone to UTC, and periods are cut on the dataset's wall clock
by arithmetic (:mod:`helpers.engine._ibis`), so results do not depend on the JVM zone.

Where the session comes from (:func:`session`):

- ``SPARK_REMOTE`` set (e.g. ``sc://spark-master:15002``): Spark Connect to that server;
- else ``master`` or ``SPARK_MASTER`` (e.g. ``spark://host:7077``, ``yarn``);
- else ``local[2]`` (two cores of this machine, UI off, two shuffle partitions).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ParameterError

_SESSION = None


def available() -> bool:
    """True when pyspark imports and a ``java`` is on the PATH (or ``SPARK_REMOTE`` is set)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    if os.environ.get("SPARK_REMOTE"):
        return True
    import shutil
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def session(master: str | None = None, *, app: str = "community-analytics",
            shuffle_partitions: int = 2, driver_memory: str | None = None):
    """The Spark session of this process (created once, then reused).

    Parameters
    ----------
    master : str, optional
        Spark master URL; default ``SPARK_MASTER`` or ``local[2]``. Ignored under
        ``SPARK_REMOTE`` (Spark Connect).
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions`` (2 suits ``local[2]``; use ~2-3x the cluster's cores).
    driver_memory : str, optional
        ``spark.driver.memory`` for a local session (default ``SPARK_DRIVER_MEMORY`` or 2g).
    """
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    if not available():
        raise ParameterError("Spark is not available here: install the extra "
                             "(pip install -e '.[spark]') and Java 17")
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName(app)
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        builder = builder.remote(remote)
    else:
        builder = (builder.master(master or os.environ.get("SPARK_MASTER", "local[2]"))
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.driver.memory",
                           driver_memory or os.environ.get("SPARK_DRIVER_MEMORY", "2g")))
    builder = (builder.config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    _SESSION = builder.getOrCreate()
    if not remote:
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def connect(spark=None):
    """An Ibis connection on ``spark`` (default: :func:`session`)."""
    from ._ibis_import import lazy_compilers
    lazy_compilers()  # before Ibis imports its twenty SQL compilers at once
    import ibis
    return ibis.pyspark.connect(spark or session())


def read_events(con, source: str | Path, *, tz: str):
    """Events of a Parquet file, a hive-partitioned folder or a table name (``db.events``).

    Parquet timestamps must be in microseconds (Spark refuses nanoseconds); the generator and
    :func:`helpers.engine.write_events` write them so. Naive ``ts`` values are read as
    wall-clock times in ``tz``.
    """
    p = Path(str(source))
    if p.exists():
        t = con.read_parquet(str(p))
    elif isinstance(source, str) and "/" not in source:
        db, _, name = source.rpartition(".")
        t = con.table(name, database=db or None)
    else:
        raise ParameterError(f"no Parquet events at {p}")
    if "ts" in t.columns and t.ts.type().is_timestamp() and t.ts.type().timezone is None \
            and _is_ntz(con, t):
        zone = str(tz).replace("'", "''")
        cols = ", ".join(f"`{c}`" for c in t.columns if c != "ts")
        t = con.sql(f"SELECT {cols}, to_utc_timestamp(ts, '{zone}') AS ts FROM {t.get_name()}")
    return t


def _is_ntz(con, t) -> bool:
    """True when Spark holds ``ts`` as TIMESTAMP_NTZ (a naive wall-clock time)."""
    try:
        df = con._session.table(t.get_name())
    except Exception:  # noqa: BLE001 - not a named table: read its schema another way
        return False
    return any(f.name == "ts" and f.dataType.typeName() == "timestamp_ntz"
               for f in df.schema.fields)


def from_frame(con, frame, name: str = "events"):
    """An in-memory DataFrame as a Spark table (the cross-engine tests)."""
    return con.create_table(name, frame, overwrite=True)
