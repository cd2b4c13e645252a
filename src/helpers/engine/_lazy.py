"""An event table that imports Ibis only when an analysis needs it.

A dataset opened on DuckDB before has its validation scan stored as SQL
(:mod:`._scan_cache`); the scan then runs on a plain DuckDB connection and yields the weekly
and monthly activity pairs, so the first retention table needs neither Ibis nor a second
query. Importing Ibis costs a fresh process ~0.3-0.5 s of CPU, as much as the scan of 100,000
members' events. :class:`LazyEvents` is the loader's events table in that case: it answers
``columns`` and the engine's caches (:func:`helpers.engine._run.identity`) by itself and
builds the real Ibis table on first use of anything else, once.

For the analyst it is the Ibis table: attributes, ``t["col"]``, ``len``, display, and
``isinstance(t, ibis.Table)`` (once Ibis is imported) all go to the real table, and Ibis
accepts it wherever it accepts a table (``a.join(t, ...)``).
"""

from __future__ import annotations

import sys
import threading


class LazyEvents:
    """The events of a dataset as an Ibis table built on first use.

    Parameters
    ----------
    build : callable
        Returns the Ibis table (called once, on first use).
    columns : sequence of str
        The table's columns (what ``build`` will return), known without building it.

    Examples
    --------
    >>> t = LazyEvents(lambda: None, ["member_id", "ts", "event_type"])
    >>> t.columns, t.built
    (('member_id', 'ts', 'event_type'), False)
    """

    __slots__ = ("_build", "_table", "_lock", "columns", "__weakref__")

    def __init__(self, build, columns):
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_table", None)
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "columns", tuple(columns))

    @property
    def built(self) -> bool:
        """Whether the Ibis table exists yet."""
        return self._table is not None

    def table(self):
        """The Ibis table (built now if it was not)."""
        if self._table is None:
            with self._lock:
                if self._table is None:
                    object.__setattr__(self, "_table", self._build())
                    object.__setattr__(self, "_build", None)
        return self._table

    # ---- the Ibis table for everything else
    def __getattr__(self, name):
        if name.startswith("_ipython") or name in ("_build", "_table", "_lock"):
            raise AttributeError(name)  # IPython's probes (an Ibis table has none but the
            # completions above) and unset slots: no build
        return getattr(self.table(), name)

    def __setattr__(self, name, value):
        setattr(self.table(), name, value)

    @property
    def __class__(self):
        # isinstance(t, ibis.Table) holds once Ibis is imported (Ibis checks it where a table
        # is an argument); before, nobody can ask it, and nothing is built for other checks
        if "ibis" in sys.modules:
            return type(self.table())
        return LazyEvents

    def _ipython_key_completions_(self):
        return list(self.columns)

    def __getitem__(self, key):
        return self.table()[key]

    def __contains__(self, key):
        return key in self.table()

    def __iter__(self):
        return iter(self.table())

    def __len__(self):
        return len(self.table())

    def __bool__(self):
        return bool(self.table())

    def __dir__(self):
        return dir(self.table())

    def __repr__(self):
        return repr(self.table())

    def __str__(self):
        return str(self.table())

    def __copy__(self):
        return self  # immutable, as the Ibis table is (a copy keeps the zone and the caches)

    def __deepcopy__(self, memo):
        return self

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table().__arrow_c_stream__(requested_schema)

    def __dataframe__(self, *args, **kwargs):
        return self.table().__dataframe__(*args, **kwargs)

    def __array__(self, *args, **kwargs):
        return self.table().__array__(*args, **kwargs)

    def __reduce_ex__(self, protocol):
        return self.table().__reduce_ex__(protocol)


def table_of(events):
    """The Ibis table behind ``events`` (built if lazy); anything else unchanged.

    Examples
    --------
    >>> table_of(3)
    3
    """
    return events.table() if type(events) is LazyEvents else events
