"""Engines for the event-level work: the numpy path in memory, DuckDB embedded, Spark beyond.

Layout
------
- ``_ibis``    the event-level steps defined once as Ibis expressions (activity pairs, member
               spans, experiment window metrics, funnel step times, purchase days);
- ``_ibis_reports`` the reports' own tables as Ibis expressions (report 04's arms and windows,
               member layers, before/after windows, the two-pass funnel), from ``_ibis``'s pieces;
- ``api``      one entry point per step for a DataFrame (numpy path) or a lazy Ibis table;
- ``purchases`` the entry points of reports 03/04 (purchase summaries and day totals, event
               counts, members in a window, activity takers, before/after window counts);
- ``_run``     what the entry points share: lazy-table caches (types, range, the dataset's
               zone), Arrow column conversion, the end/types/zone arguments;
- ``_lazy``    ``LazyEvents``: the loader's events table that imports Ibis on first use;
- ``duckdb``   embedded DuckDB connections and event tables (the default for large Parquet);
- ``spark``    the Spark session (``local[2]``, a master URL or Spark Connect) and its tables;
- ``load``     lazy events for :func:`helpers.data.load_community` (``engine=``), with the data
               contract checked by queries (``validate``; the scan started early, from the
               SQL stored by ``_scan_cache`` when the dataset was opened before), and the
               partitioned Parquet writer;
- ``_ibis_import`` Ibis' SQL compilers imported one by one, as they are asked for;
- ``sql``      the hand-written DuckDB SQL references of the benchmark.

Only per-member and per-(member, period) tables come back into pandas.
"""

from .api import (WINDOW_COLUMNS, activity_pairs, clear_cache, event_types, identity, is_lazy,
                  last_event, member_spans, n_rows, purchase_days, step_times, ts_range,
                  window_metrics)
from .load import ENGINES, choose_engine, open_events, write_events
from .purchases import (activity_takers, count_events, members_between, purchase_day_totals,
                        purchase_summary, window_counts)
from .sql import churn_sql, events_parquet, retention_sql

__all__ = ["ENGINES", "WINDOW_COLUMNS", "activity_pairs", "activity_takers", "choose_engine",
           "churn_sql", "clear_cache", "count_events", "members_between", "purchase_day_totals",
           "purchase_summary", "window_counts",
           "event_types", "events_parquet", "identity", "is_lazy", "last_event", "member_spans",
           "n_rows",
           "open_events", "purchase_days", "retention_sql", "step_times", "ts_range",
           "window_metrics", "write_events"]
