"""The benchmark suite behind ``make bench``: the workspace's pipeline against DuckDB SQL.

Usage::

    .venv/bin/python benchmarks/run.py             # 10,000 / 100,000 / 1,000,000 members
    .venv/bin/python benchmarks/run.py --quick     # the two smaller sizes
    .venv/bin/python benchmarks/run.py --sizes 100000 --repeat 3
    .venv/bin/python benchmarks/run.py --detail    # also the per-engine-step scripts

For each size a synthetic community (``helpers.synth``, about 40 events per member over 180
days) is generated once as Parquet under ``data/raw/bench_<n>/`` (1,000,000 members: 43 million
events, about 3 minutes) and reused. Then two fresh subprocesses run, one after the other:

- **helpers**: the pipeline an analyst's notebooks run: ``data.load_community`` (read +
  validate), ``cohorts.retention`` (W and M, classic and rolling), ``survival.churn_table``,
  ``exp_metrics.experiment_metrics`` for one member-randomised experiment, and
  ``survival.cox_model`` (channel + referred) on the churn table with hourly durations, as
  ``survival.churn_report`` fits it (the exact-time fit is timed as an extra row);
- **duckdb**: the references a skilled analyst would write instead, plain DuckDB SQL reading
  the same Parquet files (``helpers.duck.retention_sql`` and ``helpers.duck.churn_sql``).

The full suite takes about 6 minutes on an idle 2-core machine (the exact Cox fit at 1,000,000
members alone about 2), plus the one-off data generation. Times are wall-clock seconds, best of ``--repeat`` runs (load and the Cox fit run once), with
CPU seconds beside them (CPU ≪ wall means the machine was busy). **Peak memory** is the peak
resident set size of the stage's process *during the stage* (Linux: the kernel's high-water
mark ``VmHWM``, reset before each stage through ``/proc/self/clear_refs``; elsewhere the
process's ``ru_maxrss`` so far), so it includes the tables already loaded: it is what must fit
in the machine. The pipeline's peak is the largest stage peak. Each size runs in its own processes, so sizes do not share memory.

The two sides' results are compared: retention counts (cohort sizes and retained members,
every non-empty cell) and the churn table (churned, n_events, early events, participation)
must be identical, durations equal to 1e-9 days. The script prints the table (stage, size,
seconds, peak MB, ratio to DuckDB), the log-log slope of time against size per stage, and ends
with ``max ratio vs duckdb: X.XX``. It writes ``reports/bench/bench.csv`` and
``reports/bench/bench.png`` (log-log plot). It never fails on speed; it exits 1 if the two
sides disagree.
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
QUICK_SIZES = SIZES[:2]
RETENTION_CASES = [(p, m) for p in ("W", "M") for m in ("classic", "rolling")]
COX_COVARIATES = ["channel", "referred"]
CHURN_EXACT = [("churned", "churned"), ("n_events", "n_events"),
               ("early_events_7d", "early_events"), ("participated_14d", "participated")]
#: informational stages, not part of the pipeline total: the Cox fit on exact times, against the
#: pipeline's fit on hourly durations (what churn_report does: lifelines' Efron fit loops in
#: Python over distinct times, and 1M members have ~1M of them)
EXTRA_STAGES = ("cox fit, exact times (extra)",)
OUT_DIR = config.REPORTS_DIR / "bench"
TARGETS = dict(ratio=2.0, pipeline_seconds=60.0, peak_mb=6000.0)


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
def worker_helpers(folder: Path, result: Path, repeat: int) -> dict:
    """The workspace's pipeline on one dataset; writes its outputs under ``result``."""
    from helpers import cohorts, data, exp_metrics, survival

    mem, rows = PeakMemory(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loader notes, Cox convergence chatter
        ds = _timed_once(rows, mem, "load", lambda: data.load_community(folder))
        for period, mode in RETENTION_CASES:
            tab = _timed(rows, mem, _retention_stage(period, mode), lambda p=period, m=mode:
                         cohorts.retention(ds.members, ds.events, period=p, mode=m), repeat)
            tab = tab.loc[tab["retained"] > 0, ["cohort", "period_index", "cohort_size",
                                                 "retained"]]
            tab.to_parquet(result / f"retention_{period}_{mode}.parquet", index=False)
        ct = _timed(rows, mem, "churn table",
                    lambda: survival.churn_table(ds.members, ds.events, censoring="end"), repeat)
        ct[["member_id", "duration_days", *[a for a, _ in CHURN_EXACT]]].to_parquet(
            result / "churn.parquet", index=False)
        exps = ds.experiments
        if len(exps):
            member_exps = exps.loc[exps["unit"] == "member", "experiment_id"]
            exp_id = (member_exps if len(member_exps) else exps["experiment_id"]).iloc[0]
            _timed(rows, mem, "experiment metrics",
                   lambda: exp_metrics.experiment_metrics(ds, exp_id), repeat)
        approx = _timed_once(rows, mem, "cox fit", lambda: survival.cox_model(
            ct, covariates=COX_COVARIATES, resolution_days=1 / 24)).hazard_ratios.set_index("term")
        exact = _timed_once(rows, mem, EXTRA_STAGES[0], lambda: survival.cox_model(
            ct, covariates=COX_COVARIATES)).hazard_ratios.set_index("term")
        shift = ((approx["coef"] - exact["coef"]).abs() / exact["se"]).max()
    return dict(rows=rows, events=len(ds.events), members=len(ds.members),
                memory_method=mem.method, cox_hourly_shift_se=float(shift))


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


def _spawn(kind: str, n: int, result: Path, repeat: int) -> dict:
    """Run one worker in a fresh interpreter (its own memory), return its JSON report."""
    report = result / f"{kind}.json"
    cmd = [sys.executable, __file__, "--worker", kind, "--sizes", str(n), "--result",
           str(result), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed for {n:,} members:\n{proc.stderr[-3000:]}")
    return json.loads(report.read_text())


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
            rows.append(dict(stage=h["stage"], members=r["members"], events=r["events"],
                             seconds=h["seconds"], cpu_seconds=h["cpu_seconds"],
                             peak_mb=h["peak_mb"], duckdb_seconds=d.get("seconds", np.nan),
                             duckdb_peak_mb=d.get("peak_mb", np.nan)))
        core = [h for h in r["helpers"]["rows"] if h["stage"] not in EXTRA_STAGES]
        rows.append(dict(stage="whole pipeline", members=r["members"], events=r["events"],
                         seconds=sum(h["seconds"] for h in core),
                         cpu_seconds=sum(h["cpu_seconds"] for h in core),
                         peak_mb=max(h["peak_mb"] for h in r["helpers"]["rows"]),
                         duckdb_seconds=np.nan,
                         duckdb_peak_mb=np.nan))
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
    for stage, g in table.groupby("stage", sort=False):
        g = g.sort_values("members")
        n = g["members"].to_numpy(float)
        if len(np.unique(n)) < 2:
            continue
        t, d = g["seconds"].to_numpy(float), g["duckdb_seconds"].to_numpy(float)
        out.append(dict(stage=stage, slope=_slope(n, t), slope_top=_slope(n[-2:], t[-2:]),
                        duckdb_slope=_slope(n, d)))
    return pd.DataFrame(out, columns=["stage", "slope", "slope_top", "duckdb_slope"])


def plot(table: pd.DataFrame, path: Path) -> None:
    """Log-log plot of seconds against members per stage (DuckDB references dashed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for i, (stage, g) in enumerate(table[~table["stage"].isin(EXTRA_STAGES)]
                                   .groupby("stage", sort=False)):
        colour = f"C{i % 10}"
        ax.plot(g["members"], g["seconds"], "o-", color=colour, label=stage,
                lw=2.5 if stage == "whole pipeline" else 1.5)
        if g["duckdb_seconds"].notna().any():
            ax.plot(g["members"], g["duckdb_seconds"], "x--", color=colour, alpha=0.7)
    sizes = np.sort(table["members"].unique())
    if len(sizes) > 1:  # a slope-1 guide through the smallest pipeline time
        base = table.loc[(table["stage"] == "whole pipeline") & (table["members"] == sizes[0]),
                         "seconds"].iloc[0]
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


def run(sizes=SIZES, *, repeat: int = 2, out_dir: Path = OUT_DIR) -> tuple[pd.DataFrame, list]:
    """Run the suite; return the table and the list of disagreements (empty = all agree)."""
    results, problems = [], []
    for n in sizes:
        dataset_for(n)  # generate the dataset here, once, before the timed subprocesses read it
        tmp = Path(tempfile.mkdtemp(prefix=f"bench_{n}_"))
        try:
            (tmp / "helpers").mkdir()
            (tmp / "duckdb").mkdir()
            print(f"{n:>10,} members: helpers pipeline… (load average {_load_average()})",
                  flush=True)
            h = _spawn("helpers", n, tmp / "helpers", repeat)
            print(f"{n:>10,} members: DuckDB SQL references…", flush=True)
            d = _spawn("duckdb", n, tmp / "duckdb", repeat)
            bad = compare(tmp / "helpers", tmp / "duckdb")
            print(f"{n:>10,} members, {h['events']:,} events: results "
                  f"{'IDENTICAL' if not bad else 'DIFFER: ' + '; '.join(bad)}", flush=True)
            problems += [f"{n:,} members: {b}" for b in bad]
            print(f"{n:>10,} members: Cox fit on hourly times moves coefficients by at most "
                  f"{h['cox_hourly_shift_se']:.4f} standard errors", flush=True)
            results.append(dict(members=n, events=h["events"], helpers=h, duckdb=d))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    table = build_table(results)
    with atomic_path(out_dir / "bench.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    plot(table, out_dir / "bench.png")
    if results:
        print(f"peak memory: {results[0]['helpers']['memory_method']}; DuckDB threads: "
              f"{results[0]['duckdb']['threads']}; load average now {_load_average()}")
    return table, problems


def print_report(table: pd.DataFrame, out_dir: Path = OUT_DIR) -> float:
    """Print the table, slopes and targets; return the max ratio vs DuckDB."""
    show = table[["stage", "members", "seconds", "cpu_seconds", "peak_mb", "duckdb_seconds",
                  "ratio_vs_duckdb"]]
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(show.to_string(index=False, float_format=lambda v: f"{v:,.2f}",
                             formatters={"members": "{:,}".format,
                                         "peak_mb": "{:,.0f}".format}))
    sl = slopes(table)
    if len(sl):
        print("\nlog-log slope of time against size (1.00 = linear; slope_top: between the two "
              "largest sizes):")
        print(sl.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    big = table[table["members"] == table["members"].max()]
    sec = big.set_index("stage")
    n_big = int(big["members"].iloc[0])
    pipe, peak = sec.loc["whole pipeline", "seconds"], big["peak_mb"].max()
    ratio = float(big["ratio_vs_duckdb"].max())

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"\ntargets at {n_big:,} members: max ratio vs DuckDB {ratio:.2f} (≤ "
          f"{TARGETS['ratio']:.1f}: {verdict(ratio <= TARGETS['ratio'])}); whole pipeline "
          f"{pipe:.1f} s (< {TARGETS['pipeline_seconds']:.0f} s: "
          f"{verdict(pipe < TARGETS['pipeline_seconds'])}); peak memory {peak:,.0f} MB (< "
          f"{TARGETS['peak_mb']:,.0f} MB: {verdict(peak < TARGETS['peak_mb'])})")
    if EXTRA_STAGES[0] in sec.index:
        alt = pipe - sec.loc["cox fit", "seconds"] + sec.loc[EXTRA_STAGES[0], "seconds"]
        print(f"whole pipeline with the Cox fit on exact times instead: {alt:.1f} s")
    first = sec.loc["load", "seconds"] + sec.loc["retention W classic", "seconds"]
    ref = sec.loc["retention W classic", "duckdb_seconds"]
    print(f"a fresh session's first table (load + retention W classic) vs DuckDB's query: "
          f"{first:.1f} s vs {ref:.1f} s (ratio {first / ref:.2f}); later tables reuse the "
          "loaded data")
    print(f"wrote {out_dir / 'bench.csv'} and {out_dir / 'bench.png'}")
    print(f"max ratio vs duckdb: {ratio:.2f}")
    return ratio


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only the two smaller sizes")
    p.add_argument("--sizes", type=int, nargs="+", help="member counts (default 10k 100k 1M)")
    p.add_argument("--repeat", type=int, default=2, help="runs per stage, best kept (load and "
                   "Cox fit run once)")
    p.add_argument("--detail", action="store_true", help="then run benchmarks/retention.py and "
                   "benchmarks/survival.py (engine steps) on the same sizes")
    p.add_argument("--worker", choices=["helpers", "duckdb"], help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    sizes = a.sizes or (QUICK_SIZES if a.quick else SIZES)
    if a.worker:  # internal: one side on one size, in its own process
        fn = worker_helpers if a.worker == "helpers" else worker_duckdb
        report = fn(dataset_for(sizes[0]), a.result, a.repeat)
        (a.result / f"{a.worker}.json").write_text(json.dumps(report))
        return 0
    table, problems = run(sizes, repeat=a.repeat)
    if a.detail:
        import retention
        import survival
        retention.run(sizes, repeat=a.repeat)
        survival.run(sizes, repeat=a.repeat)
    if problems:
        print("DISAGREEMENT between the helpers and the DuckDB references:\n  "
              + "\n  ".join(problems))
    print_report(table)  # ends with the line `max ratio vs duckdb: X.XX`
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
