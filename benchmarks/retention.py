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


#: from this many members on, benchmark data are generated in member chunks (bounded memory)
CHUNKED_FROM = 5_000_000
CHUNK = 1_000_000


def _current(folder: Path) -> bool:
    """The folder holds a benchmark dataset written by today's generator (microsecond
    timestamps, which Spark reads; older runs wrote nanoseconds)."""
    import pyarrow.parquet as pq
    events = folder / "events.parquet"
    if not (folder / "members.parquet").exists():
        return False
    if (folder / "events").is_dir():
        parts = sorted((folder / "events").glob("*=*/*.parquet"))
        return bool(parts) and (folder / "truth.json").exists()
    if not events.exists():
        return False
    return str(pq.read_schema(events).field("ts").type).startswith("timestamp[us")


def dataset_for(n: int) -> Path:
    """Folder ``data/raw/bench_<n>/`` with a synthetic community of ``n`` members (made once).

    From :data:`CHUNKED_FROM` members on, the community is generated in chunks of
    :data:`CHUNK` members (independent seeds, member ids offset per chunk) and its events are
    written straight into ``events/month=YYYY-MM/part-<chunk>.parquet``, so memory stays that of
    one chunk; the experiments and assignments are those of the first chunk.
    """
    folder = config.RAW_DIR / f"bench_{n}"
    if not _current(folder):
        t0 = time.perf_counter()
        if n >= CHUNKED_FROM:
            write_chunked(folder, n)
        else:
            synth.write_community(folder, fmt="parquet", n_members=n)
        print(f"generated {folder} in {time.perf_counter() - t0:.1f} s", flush=True)
    return folder


def write_chunked(folder: Path, n: int, chunk: int = CHUNK) -> None:
    """Generate ``n`` members in chunks into the partitioned layout (see :func:`dataset_for`)."""
    import json
    import shutil

    from helpers.data import atomic_path
    from helpers.engine.load import write_events, write_parquet
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "events").mkdir(parents=True)
    members, truth = [], None
    for i, start in enumerate(range(0, n, chunk)):
        size = min(chunk, n - start)
        tables, t = synth.generate(n_members=size, seed=config.DEMO_SEED + i)
        offset = start  # contiguous ids across chunks (the generator numbers from 100001)
        m, ev = tables["members"], tables["events"]
        if i:
            m = m.assign(member_id=m["member_id"] + offset)
            if "referrer_id" in m:
                m["referrer_id"] = m["referrer_id"] + offset
            ev = ev.assign(member_id=ev["member_id"] + offset)
        write_events(ev, folder / "events", tz=config.TIMEZONE, part=i)
        members.append(m)
        if i == 0:
            truth = t
            for name, df in tables.items():
                if name not in ("members", "events"):
                    write_parquet(df, folder / f"{name}.parquet")
        del tables, ev
        print(f"  chunk {i + 1}: {start + size:,} of {n:,} members written", flush=True)
    write_parquet(pd.concat(members, ignore_index=True), folder / "members.parquet")
    with atomic_path(folder / "truth.json", allow_raw=True) as tmp:
        tmp.write_text(json.dumps({"members": n, "chunks": len(members),
                                   "seed": config.DEMO_SEED, "first_chunk": str(truth)[:200]}),
                       encoding="utf-8")


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
    from helpers.engine.load import events_source
    events = pd.read_parquet(events_source(folder), columns=["member_id", "ts", "event_type"])
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
