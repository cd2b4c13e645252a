"""Render the cohort (01) and churn (02) reports on a large benchmark dataset through DuckDB
(figures, never a test).

Usage::

    .venv/bin/python benchmarks/reports_10m.py                    # 10,000,000 members
    .venv/bin/python benchmarks/reports_10m.py --size 1000000     # data/raw/bench_1000000
    .venv/bin/python benchmarks/reports_10m.py --dataset /path/to/folder --only 01_cohort_retention

Each report runs in a fresh process (``--one``) that does what ``make reports`` does for one run:
the run comes from ``notebooks/batch.yml`` (:func:`helpers.batch.load_config`, ``dataset`` set
to the folder, ``engine="duckdb"``, language ``zh``), and :func:`helpers.batch.execute_run`
executes it with papermill in a kernel of its own and renders the reviewer HTML (with the
batch's checks of the page: tracebacks, raw ``nan``, LaTeX, external loads). The parent samples
the resident memory of the whole process tree (the runner and its kernel) with ``psutil``
every 0.2 s and reports the peak of the sum; the kernel's own peak (``getrusage`` in the
runner) is printed beside it. The data are made by ``retention.dataset_for`` when
missing (10,000,000 members: about 430 million events, in member chunks).

``--trace`` writes ``<out>/<report>.trace``: the memory every 10 s and, with ``py-spy`` on
``PATH``, the stack of the largest process (the kernel), to find which function holds the peak.

The output ends with one line per report::

    report 01 at 10,000,000 members: 123.4 s, peak 5,678 MB
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPORTS = ("01_cohort_retention", "02_churn_survival")
DEFAULT_SIZE = 10_000_000
ROOT = Path(__file__).resolve().parents[1]
#: seconds one cell may run (the batch's default is 600; a 10M-member table may take longer)
CELL_TIMEOUT = 3600


# ----------------------------------------------------------------------------- child: one report
def run_one(name: str, dataset: Path, out_dir: Path, *, engine: str = "duckdb",
            language: str = "zh", fingerprint: tuple[str, int] = ("", 0)) -> dict:
    """Execute and render one report as the batch does; the run's record as a dict.

    Returns
    -------
    dict
        :class:`helpers.batch.RunResult` fields (``status, duration_s, html, warnings,
        error`` …) plus ``html_path``, ``summary`` (the first sentences of the page's text),
        ``page_problems`` and the peak resident MB of this process (``runner_peak_mb``) and of
        its kernel (``kernel_peak_mb``: the largest child reaped, from ``getrusage``).
    """
    from helpers import batch

    cfg = batch.load_config(dataset=str(dataset))
    runs = [r for r in batch.language_runs(batch.select_runs(cfg.runs, [name]), (language,))
            if r.language == language]
    if len(runs) != 1:
        raise SystemExit(f"{name}: expected one {language} run in batch.yml, found {len(runs)}")
    run = dataclasses.replace(runs[0], parameters={**runs[0].parameters, "engine": engine,
                                                   "dataset": str(dataset)})
    result = batch.execute_run(run, out_dir=out_dir, reuse_kernel=False, timeout=CELL_TIMEOUT,
                               fingerprint=fingerprint, git=batch.git_commit())
    record = result.to_dict()
    record["runner_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record["kernel_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if result.html:
        page = (out_dir / result.html).read_text(encoding="utf-8")
        record["html_path"] = str(out_dir / result.html)
        record["summary"] = page_summary(page)
        record["page_problems"] = batch.reviewer_text_problems(page)
    return record


def page_summary(page: str, chars: int = 400) -> str:
    """The first ``chars`` characters of a report page's visible text after its title, on one
    line (what a reviewer reads first: the executive summary).

    Examples
    --------
    >>> page_summary("<html><style>p{}</style><h1>留存</h1><p>结论： 留存率 38.9%。</p></html>")
    '留存结论： 留存率 38.9%。'
    """
    from helpers.batch import visible_text

    text = re.sub(r"\s+", " ", visible_text(page)).strip()
    return text[:chars]


# ----------------------------------------------------------------------------- parent: measure
def _tree_rss(proc) -> int:
    """Resident bytes of ``proc`` and all its descendants (0 for processes already gone)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _stack(pid: int, py_spy: str) -> str:
    """The helpers (and innermost library) frames of ``pid``'s main thread, innermost first,
    from ``py-spy dump`` ("" when it fails)."""
    try:
        dump = subprocess.run([py_spy, "dump", "--pid", str(pid)], capture_output=True,
                              text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = [ln.strip() for ln in dump.splitlines() if ln.startswith((" ", "\t"))]
    own = [i for i, ln in enumerate(lines) if re.search(r"[(/]helpers/", ln)]
    lib = lines[:1] if own and own[0] > 0 else []
    return " < ".join(lib + [re.sub(r"\(\S*?helpers/", "(", lines[i]) for i in own])


def measure(cmd: list[str], *, interval: float = 0.2, trace=None, trace_every: float = 10.0,
            py_spy: str | None = None) -> dict:
    """Run ``cmd``; its wall time, exit code, stdout, and the peak resident memory of its
    process tree.

    Parameters
    ----------
    trace : file, optional
        Receives a line every ``trace_every`` seconds: elapsed seconds, the tree's and the
        largest process's resident MB and, with ``py_spy`` (a ``py-spy`` executable), that
        process's stack — which function holds the memory when the peak comes.

    Returns
    -------
    dict
        ``seconds, returncode, stdout, stderr_tail, peak_tree_mb`` (the sampled peak of the
        sum over the tree).
    """
    import psutil

    t0 = time.perf_counter()
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT)
    proc = psutil.Process(popen.pid)
    peak = [0]
    done = threading.Event()

    def sample():
        last = -trace_every
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc))
            now = time.perf_counter() - t0
            if trace is not None and now - last >= trace_every:
                last = now
                try:
                    procs = [proc, *proc.children(recursive=True)]
                    sizes = [(p.memory_info().rss, p.pid) for p in procs]
                except psutil.Error:
                    sizes = []
                if sizes:
                    rss, pid = max(sizes)
                    where = _stack(pid, py_spy) if py_spy else ""
                    trace.write(f"{now:8.1f} s  tree {sum(r for r, _ in sizes) / 2**20:8,.0f} MB"
                                f"  largest {rss / 2**20:8,.0f} MB  {where}\n")
                    trace.flush()
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = popen.communicate()
    done.set()
    sampler.join()
    return {"seconds": time.perf_counter() - t0, "returncode": popen.returncode, "stdout": out,
            "stderr_tail": err[-3000:], "peak_tree_mb": peak[0] / 2**20}


def dataset_folder(size: int) -> Path:
    """``data/raw/bench_<size>/``, generated by ``retention.dataset_for`` when missing."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from retention import dataset_for

    return dataset_for(size)


def event_count(folder: Path) -> int:
    """Rows of the dataset's events (Parquet metadata only)."""
    import pyarrow.parquet as pq

    from helpers.engine.load import events_source

    src = events_source(folder)
    files = sorted(src.glob("*=*/*.parquet")) if src.is_dir() else [src]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help="members (bench_<size>)")
    p.add_argument("--dataset", type=Path, help="a dataset folder (instead of --size)")
    p.add_argument("--only", nargs="+", default=list(REPORTS), choices=REPORTS)
    p.add_argument("--out", type=Path, help="output folder (default /tmp/reports_<size>)")
    p.add_argument("--engine", default="duckdb")
    p.add_argument("--trace", action="store_true",
                   help="write <out>/<report>.trace: memory every 10 s and, when py-spy is on "
                        "PATH, the stack of the largest process (where the memory goes)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # child mode: run one report, print JSON
    p.add_argument("--fingerprint", nargs=2, default=("", "0"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.one:
        record = run_one(a.one, a.dataset, a.out, engine=a.engine,
                         fingerprint=(a.fingerprint[0], int(a.fingerprint[1])))
        print("RESULT " + json.dumps(record, ensure_ascii=False, default=str))
        return 0 if record["status"] == "ok" else 1

    folder = (a.dataset or dataset_folder(a.size)).resolve()
    members = a.size if a.dataset is None else None
    if members is None:
        import pyarrow.parquet as pq
        members = pq.ParquetFile(folder / "members.parquet").metadata.num_rows
    n_events = event_count(folder)
    out = (a.out or Path(f"/tmp/reports_{members}")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"dataset {folder}: {members:,} members, {n_events:,} events; engine {a.engine}; "
          f"HTML under {out}", flush=True)
    from helpers.batch import dataset_fingerprint
    t0 = time.perf_counter()
    fp = dataset_fingerprint(folder)  # as the batch does, once, before the runs (not timed)
    print(f"dataset fingerprint ({fp[1]} files) in {time.perf_counter() - t0:.1f} s", flush=True)
    rows = []
    for name in a.only:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--dataset",
               str(folder), "--out", str(out), "--engine", a.engine, "--fingerprint", fp[0],
               str(fp[1])]
        trace = open(out / f"{name}.trace", "w", encoding="utf-8") if a.trace else None
        try:
            m = measure(cmd, trace=trace, py_spy=shutil.which("py-spy"))
        finally:
            if trace is not None:
                trace.close()
        line = next((ln for ln in m["stdout"].splitlines() if ln.startswith("RESULT ")), None)
        rec = json.loads(line[len("RESULT "):]) if line else {}
        problems = list(rec.get("page_problems") or [])
        rows.append(dict(report=name, status=rec.get("status", "crashed"),
                         seconds=m["seconds"], peak_tree_mb=m["peak_tree_mb"],
                         runner_mb=rec.get("runner_peak_mb"), kernel_mb=rec.get("kernel_peak_mb"),
                         compute_s=rec.get("compute_s"),
                         render_s=rec.get("render_s"), problems=len(problems)))
        print(f"\n== {name}: {rows[-1]['status']} in {m['seconds']:.1f} s, peak "
              f"{m['peak_tree_mb']:,.0f} MB (process tree; kernel alone "
              f"{rec.get('kernel_peak_mb') or 0:,.0f} MB)", flush=True)
        if rec.get("error"):
            print(f"   error at {rec['error'].get('where')}: {rec['error'].get('ename')}: "
                  f"{rec['error'].get('evalue', '')[:1500]}")
        if not rec:
            print("   no result from the child; its stderr ends:\n" + m["stderr_tail"])
        for w in rec.get("warnings") or []:
            print(f"   warning: {w}")
        for prob in problems:
            print(f"   page problem: {prob}")
        if rec.get("html_path"):
            print(f"   page: {rec['html_path']}\n   reads: {rec.get('summary', '')}")
    import pandas as pd
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:,.1f}".format):
        print("\n" + df.to_string(index=False))
    for r in rows:
        print(f"report {r['report'][:2]} at {members:,} members: {r['seconds']:.1f} s, "
              f"peak {r['peak_tree_mb']:,.0f} MB" + ("" if r["status"] == "ok"
                                                     else f" ({r['status']})"))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
