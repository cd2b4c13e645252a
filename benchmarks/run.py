"""The benchmark suite behind ``make bench``: the workspace's pipeline on each engine against DuckDB SQL.

Usage::

    .venv/bin/python benchmarks/run.py             # 10,000 / 100,000 / 1,000,000 members
    .venv/bin/python benchmarks/run.py --quick     # the two smaller sizes
    .venv/bin/python benchmarks/run.py --sizes 100000 --repeat 3 --engines duckdb
    .venv/bin/python benchmarks/run.py --spark     # also Spark local[2] (at 100,000 members)
    .venv/bin/python benchmarks/run.py --sizes 10000000 --engines duckdb   # ~430 million events
    .venv/bin/python benchmarks/run.py --detail    # also the per-engine-step scripts

For each size a synthetic community (``helpers.synth``, about 40 events per member over 180
days) is generated once as Parquet under ``data/raw/bench_<n>/`` (1,000,000 members: 43 million
events, about 3 minutes) and reused; from 5,000,000 members on it is generated in chunks of
1,000,000 members straight into the partitioned layout ``events/month=YYYY-MM/part-*.parquet``
(bounded memory). Then fresh subprocesses run, one after the other:

- **helpers** (once per engine: ``pandas``, ``duckdb``, optionally ``spark``): the pipeline an
  analyst's notebooks run: ``data.load_community(engine=...)`` (read + validate; lazy on duckdb
  and spark), ``cohorts.retention`` (W and M, classic and rolling), ``survival.churn_table``,
  ``exp_metrics.experiment_metrics`` for one member-randomised experiment, and
  ``survival.cox_model`` (channel + referred) on the churn table with hourly durations, as
  ``survival.churn_report`` fits it (the exact-time fit is timed as an extra row);
- **first table** and **first reference**: a fresh process that opens the dataset and makes
  the first weekly retention table, against a fresh process that runs the DuckDB SQL
  reference of that table (timed from the worker's start: this module's numpy and pandas
  imports are outside on both sides, every other import inside; the whole processes, from
  the interpreter's start, are printed too); :data:`FIRST_RUNS` of each, alternating, the
  median reported. The dataset was opened before (by the pipeline), so the loader's stored
  scan runs without Ibis (:mod:`helpers.engine._scan_cache`);
  one more process opens it with nothing stored (a dataset's first opening, printed too). The
  stored scans live in a folder of the run, never the user's;
- **duckdb**: the references a skilled analyst would write instead, plain DuckDB SQL reading
  the same Parquet files (``helpers.duck.retention_sql`` and ``helpers.duck.churn_sql``).

Times are wall-clock seconds, with CPU seconds beside them (CPU ≪ wall means the machine was
busy). The helpers pipeline runs each stage **once, in a notebook's order, in one process** —
what an analyst waits for: results a lazy table's engine already computed stay cached in the
process (the loader's validation scan yields the weekly pairs, so "retention W classic" runs no
query; "W rolling" and "M rolling" reuse the pairs of the stage before), so a repeated call
would time the cache, not the work. The DuckDB SQL references (no cache) are the best of
``--repeat`` runs, which favours them. **Peak memory** is the peak
resident set size of the stage's process *during the stage* (Linux: the kernel's high-water
mark ``VmHWM``, reset before each stage through ``/proc/self/clear_refs``; elsewhere the
process's ``ru_maxrss`` so far), so it includes the tables already loaded: it is what must fit
in the machine. DuckDB's and Spark's own threads count (they run in the process; Spark's JVM is
a child process and is not counted). Each size and engine runs in its own processes.

The two sides' results are compared: retention counts (cohort sizes and retained members,
every non-empty cell) and the churn table (churned, n_events, early events, participation)
must be identical on every engine, durations equal to 1e-9 days. The script prints the table
(engine, stage, size, seconds, peak MB, ratio to DuckDB), the log-log slope of time against
size per stage, and ends with the lines ``max ratio vs duckdb: X.XX`` (the DuckDB engine's
stages, else pandas'), ``first table vs duckdb: X.XX`` (largest size) and ``peak MB at N
members: M`` (the DuckDB engine's pipeline at the largest size). It writes
``reports/bench/bench.csv`` and ``reports/bench/bench.png`` (log-log plot). It never fails on
speed; it exits 1 if the sides disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retention import best_times, dataset_for  # noqa: E402  (shared conventions)

from helpers import config  # noqa: E402
from helpers.data import atomic_path  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
#: fresh processes per side for the first table (the median is reported)
FIRST_RUNS = 3
#: the first table of a process that opens a dataset never opened before (no stored scan)
FIRST_COLD = "first table, dataset never opened before"
QUICK_SIZES = SIZES[:2]
ENGINES = ("pandas", "duckdb")
SPARK_SIZES = (100_000,)  #: Spark local[2] runs these sizes only (its queries cost seconds)
RETENTION_CASES = [(p, m) for p in ("W", "M") for m in ("classic", "rolling")]
COX_COVARIATES = ["channel", "referred"]
CHURN_EXACT = [("churned", "churned"), ("n_events", "n_events"),
               ("early_events_7d", "early_events"), ("participated_14d", "participated")]
#: informational stages, not part of the pipeline total: the Cox fit on exact times, against the
#: pipeline's fit on hourly durations (what churn_report does: lifelines' Efron fit loops in
#: Python over distinct times, and 1M members have ~1M of them)
EXTRA_STAGES = ("cox fit, exact times (extra)",)
OUT_DIR = config.REPORTS_DIR / "bench"
TARGETS = dict(ratio=1.0, pipeline_seconds=30.0, peak_mb=2000.0)  # issue 12, DuckDB engine


# ----------------------------------------------------------------------------- memory
class PeakMemory:
    """Peak RSS (MB) of this process during a block; see the module docstring for the method."""

    _clear = Path("/proc/self/clear_refs")
    _status = Path("/proc/self/status")

    def __init__(self):
        self.method = "VmHWM (reset per stage)"
        try:
            self._clear.write_text("5")
            self._hwm()
        except OSError:
            self.method = "ru_maxrss (cumulative)"

    def _hwm(self) -> float:
        for line in self._status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise OSError("no VmHWM")

    def reset(self) -> None:
        if self.method.startswith("VmHWM"):
            self._clear.write_text("5")

    def peak_mb(self) -> float:
        if self.method.startswith("VmHWM"):
            return self._hwm()
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(rows: list, mem: PeakMemory, stage: str, fn, repeat: int):
    """Run ``fn`` ``repeat`` times (best time kept), append a result row, return its output."""
    box = {}

    def call():
        box["out"] = fn()

    mem.reset()
    secs, cpu = best_times(call, max(repeat, 1))
    rows.append(dict(stage=stage, seconds=secs, cpu_seconds=cpu, peak_mb=mem.peak_mb()))
    return box["out"]


def _timed_once(rows: list, mem: PeakMemory, stage: str, fn):
    mem.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    rows.append(dict(stage=stage, seconds=time.perf_counter() - t0,
                     cpu_seconds=time.process_time() - c0, peak_mb=mem.peak_mb()))
    return out


def _retention_stage(period: str, mode: str) -> str:
    return f"retention {period} {mode}"


# ----------------------------------------------------------------------------- workers
def worker_helpers(folder: Path, result: Path, repeat: int, engine: str = "pandas") -> dict:
    """The workspace's pipeline on one dataset and engine; writes its outputs under ``result``."""
    from helpers import cohorts, data, exp_metrics, survival
    from helpers.engine import n_rows

    mem, rows = PeakMemory(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loader notes, Cox convergence chatter
        ds = _timed_once(rows, mem, "load", lambda: data.load_community(folder, engine=engine))
        for period, mode in RETENTION_CASES:
            tab = _timed_once(rows, mem, _retention_stage(period, mode), lambda p=period, m=mode:
                              cohorts.retention(ds.members, ds.events, period=p, mode=m))
            tab = tab.loc[tab["retained"] > 0, ["cohort", "period_index", "cohort_size",
                                                 "retained"]]
            tab.to_parquet(result / f"retention_{period}_{mode}.parquet", index=False)
        ct = _timed_once(rows, mem, "churn table",
                         lambda: survival.churn_table(ds.members, ds.events, censoring="end"))
        ct[["member_id", "duration_days", *[a for a, _ in CHURN_EXACT]]].to_parquet(
            result / "churn.parquet", index=False)
        exps = ds.experiments
        if len(exps):
            member_exps = exps.loc[exps["unit"] == "member", "experiment_id"]
            exp_id = (member_exps if len(member_exps) else exps["experiment_id"]).iloc[0]
            _timed_once(rows, mem, "experiment metrics",
                        lambda: exp_metrics.experiment_metrics(ds, exp_id))
        approx = _timed_once(rows, mem, "cox fit", lambda: survival.cox_model(
            ct, covariates=COX_COVARIATES, resolution_days=1 / 24)).hazard_ratios.set_index("term")
        shift = np.nan
        if engine == "pandas":  # per-member work, the same on every engine: timed once
            exact = _timed_once(rows, mem, EXTRA_STAGES[0], lambda: survival.cox_model(
                ct, covariates=COX_COVARIATES)).hazard_ratios.set_index("term")
            shift = ((approx["coef"] - exact["coef"]).abs() / exact["se"]).max()
    return dict(rows=rows, events=n_rows(ds.events), members=len(ds.members),
                memory_method=mem.method, cox_hourly_shift_se=float(shift))


def worker_first(folder: Path, result: Path, repeat: int, engine: str = "duckdb") -> dict:
    """A fresh process's first table: open the dataset, make the weekly retention table."""
    mem = PeakMemory()
    t0, c0 = time.perf_counter(), time.process_time()
    if engine == "reference":
        from helpers.engine.sql import connect, retention_sql
        tab = retention_sql(folder, period="W", mode="classic", con=connect())
    else:
        from helpers import cohorts, data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = data.load_community(folder, engine=engine)
            tab = cohorts.retention(ds.members, ds.events, period="W")
    return dict(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0,
                peak_mb=mem.peak_mb(), cells=int(len(tab)))


def worker_duckdb(folder: Path, result: Path, repeat: int) -> dict:
    """The DuckDB SQL references on the same Parquet files; writes their outputs."""
    from helpers import duck

    mem, rows = PeakMemory(), []
    con = duck.connect()
    for period, mode in RETENTION_CASES:
        tab = _timed(rows, mem, _retention_stage(period, mode), lambda p=period, m=mode:
                     duck.retention_sql(folder, period=p, mode=m, con=con), repeat)
        tab.to_parquet(result / f"retention_{period}_{mode}.parquet", index=False)
    ch = _timed(rows, mem, "churn table", lambda: duck.churn_sql(folder, con=con), repeat)
    ch.to_parquet(result / "churn.parquet", index=False)
    return dict(rows=rows, memory_method=mem.method, threads=int(con.execute(
        "SELECT current_setting('threads')").fetchone()[0]))


def _spawn(kind: str, n: int, result: Path, repeat: int, engine: str = "pandas",
           cache: Path | None = None) -> dict:
    """Run one worker in a fresh interpreter (its own memory), return its JSON report.

    ``cache``: the folder of the loader's stored scans for the worker
    (``COMMUNITY_CACHE_DIR``, :mod:`helpers.engine._scan_cache`)."""
    report = result / f"{kind}_{engine}.json"
    cmd = [sys.executable, __file__, "--worker", kind, "--sizes", str(n), "--result",
           str(result), "--repeat", str(repeat), "--engines", engine]
    env = dict(os.environ, **({"COMMUNITY_CACHE_DIR": str(cache)} if cache else {}))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker ({engine}) failed for {n:,} members:\n"
                           f"{proc.stderr[-3000:]}")
    # the whole process: the interpreter's start and every import included
    return dict(json.loads(report.read_text()), process_seconds=wall)


def _first_tables(n: int, out: Path, ref_dir: Path, engine: str, cache: Path,
                  runs: int = FIRST_RUNS) -> tuple[dict, dict]:
    """The first table on ``engine`` and the DuckDB SQL reference, ``runs`` fresh processes
    each, alternating (a passing load on the machine falls on both sides); the median run of
    each side (seconds, CPU seconds and peak memory of that run)."""
    mine, refs = [], []
    for _ in range(runs):
        refs.append(_spawn("first", n, ref_dir, 1, "reference"))
        mine.append(_spawn("first", n, out, 1, engine, cache=cache))

    def median(reports: list[dict]) -> dict:
        ranked = sorted(reports, key=lambda r: r["seconds"])
        return dict(ranked[len(ranked) // 2], runs=[r["seconds"] for r in reports])
    return median(mine), median(refs)


# ----------------------------------------------------------------------------- checks
def compare(helpers_dir: Path, duck_dir: Path) -> list[str]:
    """Differences between the two sides' outputs (empty list = identical numbers)."""
    problems = []
    for period, mode in RETENTION_CASES:
        name = f"retention_{period}_{mode}.parquet"
        a = pd.read_parquet(helpers_dir / name).reset_index(drop=True)
        b = pd.read_parquet(duck_dir / name).reset_index(drop=True)
        a["cohort"] = a["cohort"].dt.tz_convert("UTC").astype("int64")
        b["cohort"] = b["cohort"].dt.tz_convert("UTC").astype("int64")
        if a.shape != b.shape or not (a.to_numpy() == b.to_numpy()).all():
            problems.append(f"{_retention_stage(period, mode)}: {len(a)} helper cells vs "
                            f"{len(b)} DuckDB cells differ")
    a = pd.read_parquet(helpers_dir / "churn.parquet")
    b = pd.read_parquet(duck_dir / "churn.parquet")
    if len(a) != len(b) or not (a["member_id"].to_numpy() == b["member_id"].to_numpy()).all():
        problems.append(f"churn table: {len(a)} vs {len(b)} members, or different ids")
        return problems
    for ca, cb in CHURN_EXACT:
        bad = int((a[ca].to_numpy() != b[cb].to_numpy()).sum())
        if bad:
            problems.append(f"churn table: {ca} differs for {bad} members")
    gap = float(np.max(np.abs(a["duration_days"].to_numpy() - b["duration_days"].to_numpy()),
                       initial=0.0))
    if gap > 1e-9:
        problems.append(f"churn table: duration_days differs by up to {gap:.3g} days")
    return problems


# ----------------------------------------------------------------------------- report
def build_table(results: list[dict]) -> pd.DataFrame:
    """One row per (stage, size): helpers vs DuckDB seconds, peak MB and the ratio."""
    rows = []
    for r in results:
        duck_rows = {d["stage"]: d for d in r["duckdb"]["rows"]}
        for h in r["helpers"]["rows"]:
            d = duck_rows.get(h["stage"], {})
            rows.append(dict(engine=r.get("engine", "pandas"), stage=h["stage"],
                             members=r["members"], events=r["events"],
                             seconds=h["seconds"], cpu_seconds=h["cpu_seconds"],
                             peak_mb=h["peak_mb"], duckdb_seconds=d.get("seconds", np.nan),
                             duckdb_peak_mb=d.get("peak_mb", np.nan)))
        core = [h for h in r["helpers"]["rows"] if h["stage"] not in EXTRA_STAGES]
        rows.append(dict(engine=r.get("engine", "pandas"), stage="whole pipeline",
                         members=r["members"], events=r["events"],
                         seconds=sum(h["seconds"] for h in core),
                         cpu_seconds=sum(h["cpu_seconds"] for h in core),
                         peak_mb=max(h["peak_mb"] for h in r["helpers"]["rows"]),
                         duckdb_seconds=np.nan,
                         duckdb_peak_mb=np.nan))
        if "first" in r:  # fresh process: open the dataset + the first weekly table
            f, ref = r["first"], r["first_reference"]
            rows.append(dict(engine=r.get("engine", "pandas"), stage="first table (fresh process)",
                             members=r["members"], events=r["events"], seconds=f["seconds"],
                             cpu_seconds=f["cpu_seconds"], peak_mb=f["peak_mb"],
                             duckdb_seconds=ref["seconds"], duckdb_peak_mb=ref["peak_mb"],
                             process_seconds=f.get("process_seconds", np.nan),
                             duckdb_process_seconds=ref.get("process_seconds", np.nan)))
            if "cold_seconds" in f:
                rows.append(dict(engine=r.get("engine", "pandas"), stage=FIRST_COLD,
                                 members=r["members"], events=r["events"],
                                 seconds=f["cold_seconds"], cpu_seconds=np.nan,
                                 peak_mb=np.nan, duckdb_seconds=ref["seconds"],
                                 duckdb_peak_mb=ref["peak_mb"]))
    df = pd.DataFrame(rows)
    df["ratio_vs_duckdb"] = df["seconds"] / df["duckdb_seconds"]
    return df


def _slope(members: np.ndarray, seconds: np.ndarray) -> float:
    ok = np.isfinite(seconds) & (seconds > 0)
    if len(np.unique(members[ok])) < 2:
        return np.nan
    return float(np.polyfit(np.log(members[ok]), np.log(seconds[ok]), 1)[0])


def slopes(table: pd.DataFrame) -> pd.DataFrame:
    """Slope of log(seconds) on log(members) per stage (1 = linear): least squares over all
    sizes, and between the two largest sizes (fixed costs flatten the small end)."""
    out = []
    table = table if "engine" in table else table.assign(engine="pandas")
    for (eng, stage), g in table.groupby(["engine", "stage"], sort=False):
        g = g.sort_values("members")
        n = g["members"].to_numpy(float)
        if len(np.unique(n)) < 2:
            continue
        t, d = g["seconds"].to_numpy(float), g["duckdb_seconds"].to_numpy(float)
        out.append(dict(engine=eng, stage=stage, slope=_slope(n, t),
                        slope_top=_slope(n[-2:], t[-2:]), duckdb_slope=_slope(n, d)))
    cols = ["engine", "stage", "slope", "slope_top", "duckdb_slope"]
    frame = pd.DataFrame(out, columns=cols)
    return frame if frame["engine"].nunique() > 1 else frame.drop(columns="engine")


def plot(table: pd.DataFrame, path: Path) -> None:
    """Log-log plot of seconds against members per stage (DuckDB references dashed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    table = table if "engine" in table else table.assign(engine="pandas")
    for i, ((eng, stage), g) in enumerate(table[~table["stage"].isin(EXTRA_STAGES)]
                                          .groupby(["engine", "stage"], sort=False)):
        colour = f"C{i % 10}"
        ax.plot(g["members"], g["seconds"], "o-", color=colour, label=f"{eng}: {stage}",
                lw=2.5 if stage == "whole pipeline" else 1.5)
        if g["duckdb_seconds"].notna().any():
            ax.plot(g["members"], g["duckdb_seconds"], "x--", color=colour, alpha=0.7)
    sizes = np.sort(table["members"].unique())
    if len(sizes) > 1:  # a slope-1 guide through the smallest pipeline time
        base = table.loc[(table["stage"] == "whole pipeline") & (table["members"] == sizes[0]),
                         "seconds"].min()
        ax.plot(sizes, base * sizes / sizes[0], ":", color="grey", label="linear (slope 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("members")
    ax.set_ylabel("seconds (wall, best of runs)")
    ax.set_title("Pipeline stages (solid) vs DuckDB SQL references (dashed, ×)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run(sizes=SIZES, *, repeat: int = 2, out_dir: Path = OUT_DIR, engines=ENGINES,
        spark_sizes=()) -> tuple[pd.DataFrame, list]:
    """Run the suite; return the table and the list of disagreements (empty = all agree)."""
    results, problems = [], []
    for n in sizes:
        dataset_for(n)  # generate the dataset here, once, before the timed subprocesses read it
        tmp = Path(tempfile.mkdtemp(prefix=f"bench_{n}_"))
        try:
            (tmp / "duckdb").mkdir()
            print(f"{n:>10,} members: DuckDB SQL references… (load average {_load_average()})",
                  flush=True)
            d = _spawn("duckdb", n, tmp / "duckdb", repeat)
            cache = tmp / "scans"  # the loader's stored scans: this run's own, none at first
            for eng in [*engines, *(["spark"] if n in spark_sizes else [])]:
                out = tmp / f"helpers_{eng}"
                out.mkdir()
                print(f"{n:>10,} members: helpers pipeline on {eng}… (load average "
                      f"{_load_average()})", flush=True)
                cold = _spawn("first", n, out, 1, eng, cache=tmp / f"empty_{eng}") \
                    if eng != "pandas" else None  # pandas stores no scan
                h = _spawn("helpers", n, out, repeat, eng, cache=cache)
                first, ref = _first_tables(n, out, tmp / "duckdb", eng, cache)
                if cold is not None:
                    first["cold_seconds"] = cold["seconds"]
                bad = compare(out, tmp / "duckdb")
                print(f"{n:>10,} members, {h['events']:,} events, {eng}: results "
                      f"{'IDENTICAL' if not bad else 'DIFFER: ' + '; '.join(bad)}", flush=True)
                problems += [f"{n:,} members, {eng}: {b}" for b in bad]
                results.append(dict(members=n, events=h["events"], engine=eng, helpers=h,
                                    duckdb=d, first=first, first_reference=ref))
            shifts = [r["helpers"]["cox_hourly_shift_se"] for r in results
                      if r["members"] == n and np.isfinite(r["helpers"]["cox_hourly_shift_se"])]
            if shifts:
                print(f"{n:>10,} members: Cox fit on hourly times moves coefficients by at most "
                      f"{shifts[0]:.4f} standard errors", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    table = build_table(results)
    with atomic_path(out_dir / "bench.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    plot(table, out_dir / "bench.png")
    if results:
        print(f"peak memory: {results[0]['helpers']['memory_method']}; DuckDB threads: "
              f"{results[0]['duckdb']['threads']}; load average now {_load_average()} "
              f"(on {os.cpu_count()} cores: above that, the figures were taken under load)")
    return table, problems


def print_report(table: pd.DataFrame, out_dir: Path = OUT_DIR) -> float:
    """Print the table, slopes and targets; return the max ratio vs DuckDB (DuckDB engine)."""
    show = table[["engine", "stage", "members", "seconds", "cpu_seconds", "peak_mb",
                  "duckdb_seconds", "ratio_vs_duckdb"]]
    with pd.option_context("display.width", 170, "display.max_rows", 400):
        print(show.to_string(index=False, float_format=lambda v: f"{v:,.2f}",
                             formatters={"members": "{:,}".format,
                                         "peak_mb": "{:,.0f}".format}))
    sl = slopes(table)
    if len(sl):
        print("\nlog-log slope of time against size (1.00 = linear; slope_top: between the two "
              "largest sizes):")
        print(sl.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    n_big = int(table["members"].max())
    main_engine = "duckdb" if (table["engine"] == "duckdb").any() else table["engine"].iloc[0]
    big = table[(table["members"] == n_big) & (table["engine"] == main_engine)]
    sec = big.set_index("stage")
    pipe = sec.loc["whole pipeline", "seconds"]
    peak = big.loc[~big["stage"].isin(["first table (fresh process)", FIRST_COLD]),
                   "peak_mb"].max()
    stages = big[~big["stage"].isin([*EXTRA_STAGES, "whole pipeline", "load",
                                     "first table (fresh process)", FIRST_COLD])]
    ratio = float(stages["ratio_vs_duckdb"].max())
    first = sec.loc["first table (fresh process)"] if "first table (fresh process)" in sec.index \
        else None

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"\ntargets at {n_big:,} members on the {main_engine} engine: whole pipeline "
          f"{pipe:.1f} s (< {TARGETS['pipeline_seconds']:.0f} s: "
          f"{verdict(pipe < TARGETS['pipeline_seconds'])}); peak memory {peak:,.0f} MB (≤ "
          f"{TARGETS['peak_mb']:,.0f} MB: {verdict(peak <= TARGETS['peak_mb'])})")
    if first is not None:
        print(f"first table (fresh process: open the dataset + weekly retention; median of "
              f"{FIRST_RUNS}) {first['seconds']:.2f} s vs the DuckDB SQL reference's fresh "
              f"process {first['duckdb_seconds']:.2f} s (≤ {TARGETS['ratio']:.1f}×: "
              f"{verdict(first['ratio_vs_duckdb'] <= TARGETS['ratio'])})")
        if np.isfinite(first.get("process_seconds", np.nan)):
            print(f"  the same processes timed whole (interpreter start, numpy and pandas "
                  f"imports included): {first['process_seconds']:.2f} s vs "
                  f"{first['duckdb_process_seconds']:.2f} s = "
                  f"{first['process_seconds'] / first['duckdb_process_seconds']:.2f}×")
        if FIRST_COLD in sec.index:
            cold = sec.loc[FIRST_COLD]
            print(f"  the dataset's first opening (no stored scan: Ibis is imported and the "
                  f"scan compiled): {cold['seconds']:.2f} s = "
                  f"{cold['ratio_vs_duckdb']:.2f}× the reference")
    if EXTRA_STAGES[0] in sec.index:
        alt = pipe - sec.loc["cox fit", "seconds"] + sec.loc[EXTRA_STAGES[0], "seconds"]
        print(f"whole pipeline with the Cox fit on exact times instead: {alt:.1f} s")
    print(f"wrote {out_dir / 'bench.csv'} and {out_dir / 'bench.png'}")
    print(f"max ratio vs duckdb: {ratio:.2f}")
    if first is not None:
        print(f"first table vs duckdb: {first['ratio_vs_duckdb']:.2f}")
    print(f"peak MB at {n_big:,} members: {peak:,.0f}")
    return ratio


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only the two smaller sizes")
    p.add_argument("--sizes", type=int, nargs="+", help="member counts (default 10k 100k 1M)")
    p.add_argument("--repeat", type=int, default=2, help="runs per stage of the DuckDB SQL "
                   "references, best kept (the helpers pipeline runs each stage once)")
    p.add_argument("--engines", nargs="+", default=list(ENGINES),
                   choices=["pandas", "duckdb", "spark", "reference"],
                   help="engines of the helpers pipeline (default pandas duckdb)")
    p.add_argument("--spark", action="store_true", help="also Spark local[2], at "
                   f"{', '.join(f'{n:,}' for n in SPARK_SIZES)} members (needs the [spark] extra)")
    p.add_argument("--detail", action="store_true", help="then run benchmarks/retention.py and "
                   "benchmarks/survival.py (engine steps) on the same sizes")
    p.add_argument("--worker", choices=["helpers", "duckdb", "first"], help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    sizes = a.sizes or (QUICK_SIZES if a.quick else SIZES)
    if a.worker:  # internal: one side on one size, in its own process
        eng = a.engines[0]
        folder = dataset_for(sizes[0])
        if a.worker == "duckdb":
            report = worker_duckdb(folder, a.result, a.repeat)
        elif a.worker == "first":
            report = worker_first(folder, a.result, a.repeat, eng)
        else:
            report = worker_helpers(folder, a.result, a.repeat, eng)
        (a.result / f"{a.worker}_{eng}.json").write_text(json.dumps(report))
        return 0
    spark_sizes = tuple(n for n in sizes if n in SPARK_SIZES) if a.spark else ()
    if a.spark and not spark_sizes:
        spark_sizes = (min(sizes),)
    table, problems = run(sizes, repeat=a.repeat, engines=a.engines, spark_sizes=spark_sizes)
    if a.detail:
        import retention
        import survival
        retention.run(sizes, repeat=a.repeat)
        survival.run(sizes, repeat=a.repeat)
    if problems:
        print("DISAGREEMENT between the helpers and the DuckDB references:\n  "
              + "\n  ".join(problems))
    print_report(table)  # ends with `max ratio vs duckdb`, `first table vs duckdb`, `peak MB at`
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
