"""Time ``helpers.cohorts.retention`` on large synthetic communities (figures, never a test).

Usage::

    .venv/bin/python benchmarks/retention.py                 # 100,000 and 1,000,000 members
    .venv/bin/python benchmarks/retention.py --sizes 100000

The data (about 40 events per member over 180 days) is generated once with ``helpers.synth`` as
Parquet under ``data/raw/bench_<n>/`` and reused on later runs. For each size the script reads the
two Parquet tables directly (tz-aware timestamps, ``event_type`` as a categorical, as the loader
gives them; the full validating loader is timed only with ``--loader``), then times ``member_period_activity`` (the event → (member, period) step every cohort
function shares) and ``retention`` in several configurations, best of ``repeat`` runs.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

from helpers import cohorts, config, data, synth

DEFAULT_SIZES = (100_000, 1_000_000)
CASES = [  # label, function, keyword arguments
    ("member_period_activity W", "activity", dict(period="W")),
    ("retention W classic", "retention", dict(period="W", mode="classic")),
    ("retention W rolling", "retention", dict(period="W", mode="rolling")),
    ("retention M classic by channel", "retention", dict(period="M", by="channel")),
    ("retention D classic", "retention", dict(period="D")),
    ("retention W classic active_types=message", "retention",
     dict(period="W", active_types=["message"])),
]


def dataset_for(n: int) -> Path:
    """Folder ``data/raw/bench_<n>/`` with a synthetic community of ``n`` members (made once)."""
    folder = config.RAW_DIR / f"bench_{n}"
    if not (folder / "events.parquet").exists() or not (folder / "members.parquet").exists():
        t0 = time.perf_counter()
        synth.write_community(folder, fmt="parquet", n_members=n)
        print(f"generated {folder} in {time.perf_counter() - t0:.1f} s", flush=True)
    return folder


def best_times(fn, repeat: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds over ``repeat`` runs (CPU time shows contention)."""
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return best, cpu


def read_tables(folder: Path, *, loader: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(members, events) of a benchmark folder: direct Parquet reads, or ``data.load_community``."""
    if loader:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = data.load_community(folder)
        return ds.members, ds.events
    members = pd.read_parquet(folder / "members.parquet")
    events = pd.read_parquet(folder / "events.parquet", columns=["member_id", "ts", "event_type"])
    events["event_type"] = events["event_type"].astype("category")
    return members, events


def run_cases(sizes, cases_for, *, repeat: int = 2, loader: bool = False) -> pd.DataFrame:
    """Read each size's tables, then time the cases ``cases_for(members, events)`` returns.

    ``cases_for`` gives ``[(label, zero-argument function), ...]``; each function's result is
    counted in ``rows_out``. Shared by the retention and survival benchmarks.
    """
    rows = []
    for n in sizes:
        folder = dataset_for(n)
        t0 = time.perf_counter()
        members, events = read_tables(folder, loader=loader)
        load_s = time.perf_counter() - t0
        n_events = len(events)
        case = "load_community" if loader else "read_parquet"
        rows.append(dict(members=n, events=n_events, case=case, seconds=load_s,
                         cpu_seconds=float("nan"), rows_out=n_events))
        print(f"{n:>10,} members {n_events:>12,} events  {case:<42} {load_s:7.2f} s", flush=True)
        for label, fn in cases_for(members, events):
            out = fn()
            secs, cpu = best_times(fn, repeat)
            rows.append(dict(members=n, events=n_events, case=label, seconds=secs,
                             cpu_seconds=cpu, rows_out=len(out)))
            print(f"{n:>10,} members {n_events:>12,} events  {label:<42} {secs:7.2f} s "
                  f"(CPU {cpu:.2f} s)", flush=True)
        del members, events
    df = pd.DataFrame(rows)
    df["events_per_second"] = df["events"] / df["seconds"]
    return df[["members", "events", "case", "seconds", "cpu_seconds", "events_per_second",
               "rows_out"]]


def cli(run_fn, description: str, argv=None) -> pd.DataFrame:
    """Parse ``--sizes --repeat --loader``, run ``run_fn`` and print its table."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--loader", action="store_true", help="read with data.load_community")
    a = p.parse_args(argv)
    df = run_fn(a.sizes, repeat=a.repeat, loader=a.loader)
    with pd.option_context("display.width", 140, "display.float_format", "{:,.2f}".format):
        print(df.to_string(index=False))
    return df


def _retention_cases(members, events):
    cases = []
    for label, kind, kw in CASES:
        if kind == "activity":
            cases.append((label, lambda kw=kw: cohorts.member_period_activity(events, **kw)))
        else:
            cases.append((label, lambda kw=kw: cohorts.retention(members, events, **kw)))
    return cases


def run(sizes=DEFAULT_SIZES, *, repeat: int = 2, loader: bool = False) -> pd.DataFrame:
    """Time the cases on each size.

    Parameters
    ----------
    sizes : sequence of int
        Member counts.
    repeat : int
        Runs per case; the best time is kept.
    loader : bool
        Read with the validating ``data.load_community`` (slow on big data) instead of Parquet.

    Returns
    -------
    DataFrame
        ``members, events, case, seconds, events_per_second, rows_out``.
    """
    return run_cases(sizes, _retention_cases, repeat=repeat, loader=loader)


def main(argv=None) -> int:
    cli(run, __doc__.splitlines()[0], argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
