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
    columns : sequence of str, optional
        The table's columns (what ``build`` will return), known without building it; without
        them ``columns`` builds the table.

    Examples
    --------
    >>> t = LazyEvents(lambda: None, ["member_id", "ts", "event_type"])
    >>> t.columns, t.built
    (('member_id', 'ts', 'event_type'), False)
    """

    __slots__ = ("_build", "_table", "_lock", "_columns", "__weakref__")

    def __init__(self, build, columns=None):
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_table", None)
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_columns", None if columns is None else tuple(columns))

    @property
    def columns(self) -> tuple:
        """The table's columns (without a build when they were given)."""
        return self._columns if self._columns is not None else tuple(self.table().columns)

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
        if name.startswith("_ipython") or name in self.__slots__:
            raise AttributeError(name)  # IPython's probes (an Ibis table has none but the
            # key completions below) and unset slots: no build
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

    def __copy__(self):
        return self  # immutable, as the Ibis table is (a copy keeps the zone and the caches)

    def __deepcopy__(self, memo):
        return self


def _forwarded(name: str):
    def method(self, *args, **kwargs):
        return getattr(self.table(), name)(*args, **kwargs)
    method.__name__ = name
    return method


#: the special methods Python looks up on the type (so ``__getattr__`` never sees them): the
#: Ibis table's own, called on the built table
FORWARDED = ("__getitem__", "__contains__", "__iter__", "__len__", "__bool__", "__dir__",
             "__repr__", "__str__", "__arrow_c_stream__", "__dataframe__", "__array__",
             "__reduce_ex__")
for _name in FORWARDED:
    setattr(LazyEvents, _name, _forwarded(_name))
del _name


def table_of(events):
    """The Ibis table behind ``events`` (built if lazy); anything else unchanged.

    Examples
    --------
    >>> table_of(3)
    3
    """
    return events.table() if type(events) is LazyEvents else events
