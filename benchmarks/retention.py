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
    """The folder holds a complete benchmark dataset written by today's generator (microsecond
    timestamps, which Spark reads; older runs wrote nanoseconds).

    A chunked dataset is written into a ``.<name>.partial`` folder and renamed into place only
    when every chunk is written, so a crash mid-way never leaves a folder this accepts.
    """
    import pyarrow.parquet as pq
    if not (folder / "members.parquet").exists() or not (folder / "truth.json").exists():
        return False
    if (folder / "events").is_dir():
        parts = sorted((folder / "events").glob("*=*/*.parquet"))
        events = parts[0] if parts else None
    else:
        events = folder / "events.parquet"
    if events is None or not events.exists():
        return False
    return str(pq.read_schema(events).field("ts").type).startswith("timestamp[us")


def dataset_for(n: int) -> Path:
    """Folder ``data/raw/bench_<n>/`` with a synthetic community of ``n`` members (made once).

    From :data:`CHUNKED_FROM` members on, the community is generated in chunks of
    :data:`CHUNK` members by :func:`write_chunked` (bounded memory, partitioned events).
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


def _offset_group(gid: str, chunk_index: int, n_groups: int) -> str:
    """Group ``G07`` of chunk ``i`` as its own group ``G{i * n_groups + 7}`` (chunk 0 unchanged).

    >>> _offset_group("G07", 0, 40), _offset_group("G07", 2, 40)
    ('G07', 'G87')
    """
    return f"G{chunk_index * n_groups + int(gid[1:]):02d}"


def _offset_chunk(tables: dict, i: int, id_offset: int, act_offset: int, n_groups: int) -> dict:
    """The tables of chunk ``i`` with member, group and activity ids moved past earlier chunks'.

    Members and their referrers get ``+ id_offset``; the chunk's groups become groups of their
    own (``G41``… for the second chunk of 40 groups) and its activities ``A{k + act_offset}``,
    so each chunk is a community of its own inside the dataset: a member's group and the
    activities it took part in are the ones its chunk scheduled. Chunk 0 is returned unchanged.
    """
    if i == 0:
        return tables
    out = dict(tables)
    m = tables["members"].copy()
    m["member_id"] = m["member_id"] + id_offset
    if "referrer_id" in m:
        m["referrer_id"] = m["referrer_id"] + id_offset
    groups = {g: _offset_group(g, i, n_groups) for g in pd.unique(m["group_id"])}
    acts = tables["activities"].copy()
    groups.update({g: _offset_group(g, i, n_groups)
                   for g in pd.unique(acts["group_id"].dropna())})
    m["group_id"] = m["group_id"].map(groups)
    out["members"] = m
    ids = {a: f"A{int(a[1:]) + act_offset:04d}" for a in acts["activity_id"]}
    acts["activity_id"] = acts["activity_id"].map(ids)
    has_group = acts["group_id"].notna()
    for old, new in groups.items():  # group activity names carry their group: "分享会（G07）"
        sel = has_group & (acts["group_id"] == old)
        acts.loc[sel, "name"] = acts.loc[sel, "name"].str.replace(f"（{old}）", f"（{new}）",
                                                                  regex=False)
    acts["group_id"] = acts["group_id"].map(groups).where(has_group, None)
    out["activities"] = acts
    ev = tables["events"]
    ev["member_id"] = ev["member_id"] + id_offset  # in place: the chunk's log is large
    ev["activity_id"] = ev["activity_id"].cat.rename_categories(ids)
    out["events"] = ev
    ms = tables["memberships"].copy()
    ms["member_id"] = ms["member_id"] + id_offset
    out["memberships"] = ms
    return out


def write_chunked(folder: Path, n: int, chunk: int = CHUNK) -> dict:
    """Generate ``n`` members in chunks of ``chunk`` into the partitioned layout.

    Each chunk is an independent community from :func:`helpers.synth.generate` (seed
    ``DEMO_SEED + i``), made part of one dataset by :func:`_offset_chunk`: contiguous member
    ids (the generator numbers from 100001), groups and activities of its own. Its events go
    straight into ``events/month=YYYY-MM/part-<i>.parquet`` and its members into a part file,
    so memory stays that of one chunk; the members are joined into ``members.parquet`` at the
    end by streaming the parts (Arrow, no pandas frame of all members). Memberships of every
    chunk are kept. The experiments (and so the assignments, which name only first-chunk
    members and groups) are those of the first chunk; later chunks are generated without
    experiments that change behaviour (only the A/A plan, whose assignments are dropped), so
    nobody outside the first chunk is treated. Chunk 0 equals
    ``synth.write_community(n_members=chunk)``.

    Everything is written into ``.<name>.partial`` beside ``folder`` and renamed into place at
    the end: a crash leaves no ``folder`` that :func:`_current` accepts.

    Returns
    -------
    dict
        What ``truth.json`` records: the generator's truth of the first chunk (the planted
        parameters — channel hazard ratios, participation, purchases, memberships — are the
        same in every chunk; the experiments' truth is the first chunk's, as are its
        assignments) with ``counts``, the channels' ``members`` and ``groups.n`` summed over
        the chunks, and ``chunks``: ``n, size, seeds, layout``.
    """
    import gc
    import json
    import shutil

    import pyarrow.parquet as pq

    from helpers.engine.load import write_events, write_parquet
    folder = Path(folder)
    work = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    (work / "events").mkdir(parents=True)
    (work / "_members").mkdir()
    small = {"activities": [], "memberships": []}
    first_truth, act_offset, seeds = None, 0, []
    counts: dict[str, int] = {}
    channel_members: dict[str, int] = {}
    n_groups = synth.SynthConfig().n_groups
    # later chunks: only the A/A plan (no lift, no activity), whose assignments are dropped; the
    # generator needs at least one experiment
    no_effect = tuple(e for e in synth.SynthConfig().experiments
                      if e.lift == 0 and e.activity_type is None)
    for i, start in enumerate(range(0, n, chunk)):
        size = min(chunk, n - start)
        seed = config.DEMO_SEED + i
        kw = {} if i == 0 else {"experiments": no_effect}
        tables, truth = synth.generate(n_members=size, seed=seed, **kw)
        tables = _offset_chunk(tables, i, start, act_offset, n_groups)
        act_offset += len(tables["activities"])
        for k, v in truth["counts"].items():
            counts[k] = counts.get(k, 0) + int(v)
        for c, v in truth["channels"].items():
            channel_members[c] = channel_members.get(c, 0) + int(v["members"])
        seeds.append(seed)
        write_events(tables["events"], work / "events", tz=config.TIMEZONE, part=i)
        write_parquet(tables["members"], work / "_members" / f"part-{i:05d}.parquet")
        for name in small:
            small[name].append(tables[name])
        if i == 0:
            first_truth = truth
            for name in ("experiments", "assignments"):
                write_parquet(tables[name], work / f"{name}.parquet")
        del tables, truth
        gc.collect()
        print(f"  chunk {i + 1}: {start + size:,} of {n:,} members written "
              f"({counts['events']:,} events)", flush=True)
    for name, frames in small.items():
        write_parquet(pd.concat(frames, ignore_index=True), work / f"{name}.parquet")
    parts = sorted((work / "_members").glob("part-*.parquet"))
    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(work / "members.parquet", schema) as w:
        for p in parts:
            w.write_table(pq.read_table(p).cast(schema))
    shutil.rmtree(work / "_members")
    info = dict(first_truth)
    info["counts"] = counts
    info["channels"] = {c: {**v, "members": channel_members[c]}
                        for c, v in first_truth["channels"].items()}
    info["groups"] = {**first_truth["groups"], "n": n_groups * len(seeds)}
    info["chunks"] = {
        "n": len(seeds), "size": chunk, "seeds": seeds,
        "layout": "chunk i (seed DEMO_SEED + i) is a community of its own: members with ids "
                  "offset by i * size, groups G{i*40+1}…, activities numbered after the earlier "
                  "chunks'; experiments and assignments (and their truth, referral shares, "
                  "latent ICCs) are the first chunk's; later chunks have no behaviour-changing "
                  "experiment"}
    (work / "truth.json").write_text(
        json.dumps(info, ensure_ascii=False, indent=2, default=_json_value), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    return info


def _json_value(o):
    """JSON for the numpy and pandas scalars in a truth dict."""
    import numpy as np
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


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
