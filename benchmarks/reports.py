"""Per report: wall time and peak resident memory of a fresh process that renders it, at each
size and on each engine (figures, never a test).

Usage::

    .venv/bin/python benchmarks/reports.py                                  # 100k and 1M, pandas + duckdb
    .venv/bin/python benchmarks/reports.py --sizes 100000 --engines pandas,duckdb,spark
    .venv/bin/python benchmarks/reports.py --sizes 1000000 --engines duckdb --only '03_*' 04
    .venv/bin/python benchmarks/reports.py --size 10000000                  # reports 01/02, DuckDB
    .venv/bin/python benchmarks/reports.py --dataset /path/to/folder --only 01_cohort_retention

The reports are the runs of ``notebooks/batch.yml`` (00 overview, 01 cohorts, 02 churn, one 03
A/B report per experiment of the dataset, 04 conversion/value); ``--only`` takes run names,
glob patterns (``'03_*'``) or the two-digit prefixes (``01``). At more than 1,000,000 members
the default reports are 01 and 02 (the cohort and churn reports the issue asks for at 10M).

Each (report, size, engine) runs in a fresh process (``--one``) that does what ``make reports``
does for one run: the run comes from ``notebooks/batch.yml`` (:func:`helpers.batch.load_config`,
``dataset`` set to the folder, the ``engine`` parameter set, language ``zh``), and
:func:`helpers.batch.execute_run` executes it with papermill in a kernel of its own and renders
the reviewer HTML (with the batch's checks of the page: tracebacks, raw ``nan``, LaTeX, external
loads). The parent samples the resident memory of the whole process tree (the runner and its
kernel) with ``psutil`` every 0.2 s and reports the peak of the sum; the kernel's own peak
(``getrusage`` in the runner) is printed beside it. A process tree above ``--max-mb`` is killed
(status ``killed``: the machine is shared). The data are ``data/raw/bench_<size>`` (made by
``retention.dataset_for`` when missing; never rewritten).

Engines: pandas holds the whole event log in memory, so it runs only up to ``--pandas-max``
members (1,000,000: ~43 million events, ~5 GB; at 10,000,000 the ~430 million events do not fit
in 24 GB) — beyond it the output says it was skipped. Spark runs only when asked
(``--engines ...,spark``): each fresh process starts a JVM and a ``local[2]`` session (11–22 s
before the first query), and it is slower than DuckDB at these sizes.

``--trace`` writes ``<out>/<report>.trace``: the memory every 10 s and, with ``py-spy`` on
``PATH``, the stack of the largest process (the kernel), to find which function holds the peak.

The output ends with a table (report, members, engine, seconds, peak MB, status) and one line
per measurement::

    report 01 at 1,000,000 members (duckdb): 123.4 s, peak 5,678 MB
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

#: the batch's reports at most sizes, and beyond ``LARGE`` members (what the issue asks at 10M)
REPORTS = ("00_overview", "01_cohort_retention", "02_churn_survival", "03_ab_*",
           "04_conversion_value")
LARGE_REPORTS = ("01_cohort_retention", "02_churn_survival")
LARGE = 1_000_000
DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_ENGINES = ("pandas", "duckdb")
ENGINES = ("pandas", "duckdb", "spark")
#: largest community the pandas engine is run on (its event log lives in memory)
PANDAS_MAX = 1_000_000
#: a process tree above this many MB is killed (three workloads share 24 GB)
MAX_MB = 17_000
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
    if result.executed and (out_dir / result.executed).exists():
        record["slowest_cells"] = slowest_cells(out_dir / result.executed)
    if result.html:
        page = (out_dir / result.html).read_text(encoding="utf-8")
        record["html_path"] = str(out_dir / result.html)
        record["summary"] = page_summary(page)
        record["page_problems"] = batch.reviewer_text_problems(page)
    return record


def slowest_cells(notebook: Path, n: int = 3) -> list[tuple[float, str]]:
    """The ``n`` slowest code cells of an executed notebook: (seconds, its first line)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = [(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0),
              _first_call(c.source))
             for c in nb.cells if c.cell_type == "code"]
    return sorted(cells, reverse=True)[:n]


def _first_call(source: str) -> str:
    """The first line of a cell that is not an import, a comment or blank (else its first).

    Examples
    --------
    >>> _first_call(chr(10).join(["from helpers import data", "", "ds = data.load_community(x)"]))
    'ds = data.load_community(x)'
    """
    lines = [ln for ln in source.splitlines() if ln.strip()]
    calls = [ln for ln in lines if not ln.lstrip().startswith(("import ", "from ", "#"))]
    return (calls or lines or [""])[0].strip()


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
            py_spy: str | None = None, max_mb: float | None = None) -> dict:
    """Run ``cmd``; its wall time, exit code, stdout, and the peak resident memory of its
    process tree.

    Parameters
    ----------
    trace : file, optional
        Receives a line every ``trace_every`` seconds: elapsed seconds, the tree's and the
        largest process's resident MB and, with ``py_spy`` (a ``py-spy`` executable), that
        process's stack — which function holds the memory when the peak comes.
    max_mb : float, optional
        Kill the process tree (its processes, by pid) when its resident memory passes this.

    Returns
    -------
    dict
        ``seconds, returncode, stdout, stderr_tail, peak_tree_mb`` (the sampled peak of the
        sum over the tree) and ``killed`` (True when ``max_mb`` was passed).
    """
    import psutil

    t0 = time.perf_counter()
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT)
    proc = psutil.Process(popen.pid)
    peak = [0]
    killed = [False]
    done = threading.Event()

    def sample():
        last = -trace_every
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc))
            if max_mb is not None and peak[0] > max_mb * 2**20 and not killed[0]:
                killed[0] = True
                try:
                    victims = [*proc.children(recursive=True), proc]
                except psutil.Error:
                    victims = [proc]
                for v in victims:
                    try:
                        v.kill()
                    except psutil.Error:
                        pass
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
            "stderr_tail": err[-3000:], "peak_tree_mb": peak[0] / 2**20, "killed": killed[0]}


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


# ----------------------------------------------------------------------------- pure parts
def parse_sizes(text: str) -> list[int]:
    """Member counts from ``"100000,1000000"`` (``_`` and ``k``/``m`` suffixes allowed).

    Examples
    --------
    >>> parse_sizes("100000, 1_000_000")
    [100000, 1000000]
    >>> parse_sizes("100k,10m")
    [100000, 10000000]
    """
    out = []
    for part in str(text).replace("_", "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        number = part[:-1] if scale > 1 else part
        if not number.isdigit() or int(number) * scale <= 0:
            raise argparse.ArgumentTypeError(f"not a member count: {part!r} (e.g. 100000,1000000)")
        out.append(int(number) * scale)
    if not out:
        raise argparse.ArgumentTypeError("no sizes given (e.g. --sizes 100000,1000000)")
    return out


def parse_engines(text: str) -> list[str]:
    """Engines from ``"pandas,duckdb"`` (in the order given, without repeats).

    Examples
    --------
    >>> parse_engines("duckdb, pandas,duckdb")
    ['duckdb', 'pandas']
    >>> parse_engines("polars")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: unknown engine 'polars'; engines are pandas, duckdb, spark
    """
    out = []
    for part in str(text).split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part not in ENGINES:
            raise argparse.ArgumentTypeError(f"unknown engine {part!r}; engines are "
                                             + ", ".join(ENGINES))
        if part not in out:
            out.append(part)
    if not out:
        raise argparse.ArgumentTypeError("no engines given (e.g. --engines pandas,duckdb)")
    return out


def report_patterns(only: list[str] | None, members: int) -> list[str]:
    """The ``--only`` patterns for :func:`helpers.batch.select_runs`: a two-digit prefix
    (``01``) stands for every run whose name starts with it; no ``--only`` means every report,
    or 01 and 02 beyond ``LARGE`` members.

    Examples
    --------
    >>> report_patterns(["01", "03_*"], 100_000)
    ['01_*', '03_*']
    >>> report_patterns(None, 10_000_000)
    ['01_cohort_retention', '02_churn_survival']
    """
    if not only:
        return list(REPORTS if members <= LARGE else LARGE_REPORTS)
    return [f"{p}_*" if re.fullmatch(r"\d\d", p) else p for p in only]


def skip_reason(engine: str, members: int, pandas_max: int = PANDAS_MAX) -> str | None:
    """Why ``engine`` is not run at ``members`` (None: it is).

    Examples
    --------
    >>> skip_reason("pandas", 10_000_000) is not None, skip_reason("duckdb", 10_000_000)
    (True, None)
    """
    if engine == "pandas" and members > pandas_max:
        return (f"pandas skipped at {members:,} members: it holds the whole event log in memory "
                f"(about 110 bytes an event at its peak; runs up to {pandas_max:,} members, "
                f"--pandas-max)")
    return None


def report_label(name: str) -> str:
    """``"01"`` for ``01_cohort_retention``; a fanned-out run keeps its subject
    (``"03 exp_live_group"`` for ``03_ab_exp_live_group``).

    Examples
    --------
    >>> report_label("04_conversion_value"), report_label("03_ab_exp_live_group")
    ('04', '03 exp_live_group')
    """
    m = re.match(r"(\d\d)_ab_(.+)", name)
    return f"{m.group(1)} {m.group(2)}" if m else name[:2]


def result_line(row: dict) -> str:
    """The closing line of one measurement.

    Examples
    --------
    >>> result_line(dict(report="01_cohort_retention", members=1_000_000, engine="duckdb",
    ...                  seconds=123.44, peak_mb=5678.2, status="ok"))
    'report 01 at 1,000,000 members (duckdb): 123.4 s, peak 5,678 MB'
    >>> result_line(dict(report="04_conversion_value", members=100_000, engine="pandas",
    ...                  seconds=9.0, peak_mb=900.0, status="failed"))
    'report 04 at 100,000 members (pandas): 9.0 s, peak 900 MB (failed)'
    """
    return (f"report {report_label(row['report'])} at {row['members']:,} members "
            f"({row['engine']}): {row['seconds']:.1f} s, peak {row['peak_mb']:,.0f} MB"
            + ("" if row["status"] == "ok" else f" ({row['status']})"))


def results_table(rows: list[dict]) -> str:
    """The table of measurements: report, members, engine, seconds, peak MB, status (one row
    each; skipped combinations show their status and no figures).

    Examples
    --------
    >>> print(results_table([dict(report="01_cohort_retention", members=100_000,
    ...     engine="duckdb", seconds=30.25, peak_mb=1234.5, status="ok")]))
    report               members  engine  seconds  peak MB  status
    01_cohort_retention  100,000  duckdb     30.2    1,234  ok
    """
    head = ["report", "members", "engine", "seconds", "peak MB", "status"]
    cells = [[r["report"], f"{r['members']:,}", r["engine"],
              "" if r.get("seconds") is None else f"{r['seconds']:.1f}",
              "" if r.get("peak_mb") is None else f"{r['peak_mb']:,.0f}", r["status"]]
             for r in rows]
    right = {1, 3, 4}
    widths = [max(len(str(x)) for x in col) for col in zip(head, *cells)]

    def fmt(row):
        return "  ".join((str(x).rjust(w) if i in right else str(x).ljust(w))
                         for i, (x, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([fmt(head), *map(fmt, cells)])


def runs_for(folder: Path, patterns: list[str], language: str = "zh") -> list[str]:
    """Names of the batch's runs on ``folder`` matching ``patterns`` (the foreach expanded over
    the dataset: one 03 run per experiment)."""
    from helpers import batch

    cfg = batch.load_config(dataset=str(folder))
    return [r.name for r in batch.language_runs(batch.select_runs(cfg.runs, patterns),
                                                (language,)) if r.language == language]


def members_of(folder: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(folder / "members.parquet").metadata.num_rows


def measure_report(name: str, folder: Path, members: int, engine: str, out: Path,
                   fp: tuple[str, int], *, trace: bool, max_mb: float) -> dict:
    """Run one report in a fresh process and print what happened; its row of the table."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--dataset",
           str(folder), "--out", str(out), "--engine", engine, "--fingerprint", fp[0],
           str(fp[1])]
    trace_file = (open(out / f"{name}.{engine}.trace", "w", encoding="utf-8") if trace
                  else None)
    try:
        m = measure(cmd, trace=trace_file, py_spy=shutil.which("py-spy"), max_mb=max_mb)
    finally:
        if trace_file is not None:
            trace_file.close()
    line = next((ln for ln in m["stdout"].splitlines() if ln.startswith("RESULT ")), None)
    rec = json.loads(line[len("RESULT "):]) if line else {}
    status = "killed" if m["killed"] else rec.get("status", "crashed")
    problems = list(rec.get("page_problems") or [])
    row = dict(report=name, members=members, engine=engine, seconds=m["seconds"],
               peak_mb=m["peak_tree_mb"], status=status, kernel_mb=rec.get("kernel_peak_mb"),
               problems=len(problems))
    print(f"\n== {name} at {members:,} members ({engine}): {status} in {m['seconds']:.1f} s, "
          f"peak {m['peak_tree_mb']:,.0f} MB (process tree; kernel alone "
          f"{rec.get('kernel_peak_mb') or 0:,.0f} MB)", flush=True)
    if m["killed"]:
        print(f"   killed: the process tree passed {max_mb:,.0f} MB (--max-mb)")
    if rec.get("error"):
        print(f"   error at {rec['error'].get('where')}: {rec['error'].get('ename')}: "
              f"{rec['error'].get('evalue', '')[:1500]}")
    if not rec and not m["killed"]:
        print("   no result from the child; its stderr ends:\n" + m["stderr_tail"])
    if rec.get("slowest_cells"):
        print("   slowest cells: " + "; ".join(f"{sec:.1f} s {line[:60]}"
                                               for sec, line in rec["slowest_cells"]))
    for w in rec.get("warnings") or []:
        print(f"   warning: {w}")
    for prob in problems:
        print(f"   page problem: {prob}")
    if rec.get("html_path"):
        print(f"   page: {rec['html_path']}\n   reads: {rec.get('summary', '')}", flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                   help="member counts, comma-separated (data/raw/bench_<size>; default "
                        "100000,1000000)")
    p.add_argument("--size", type=int, help="one member count (same as --sizes N)")
    p.add_argument("--dataset", type=Path, help="a dataset folder (instead of --sizes)")
    p.add_argument("--engines", type=parse_engines, default=list(DEFAULT_ENGINES),
                   help="comma-separated: pandas, duckdb, spark (default pandas,duckdb; Spark "
                        "only when named: slow)")
    p.add_argument("--engine", help=argparse.SUPPRESS)  # the child's engine; also = --engines X
    p.add_argument("--only", nargs="+", help="run names, patterns ('03_*') or prefixes (01)")
    p.add_argument("--out", type=Path, help="output folder (default /tmp/reports_<size>)")
    p.add_argument("--pandas-max", type=int, default=PANDAS_MAX,
                   help=f"largest community run on pandas (default {PANDAS_MAX:,})")
    p.add_argument("--max-mb", type=float, default=MAX_MB,
                   help=f"kill a report whose process tree passes this (default {MAX_MB:,})")
    p.add_argument("--trace", action="store_true",
                   help="write <out>/<report>.<engine>.trace: memory every 10 s and, when py-spy "
                        "is on PATH, the stack of the largest process (where the memory goes)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # child mode: run one report, print JSON
    p.add_argument("--fingerprint", nargs=2, default=("", "0"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.one:
        record = run_one(a.one, a.dataset, a.out, engine=a.engine or "duckdb",
                         fingerprint=(a.fingerprint[0], int(a.fingerprint[1])))
        print("RESULT " + json.dumps(record, ensure_ascii=False, default=str))
        return 0 if record["status"] == "ok" else 1

    engines = [a.engine] if a.engine else a.engines
    if a.dataset is not None:
        datasets = [a.dataset.resolve()]
    else:
        datasets = [dataset_folder(n).resolve() for n in ([a.size] if a.size else a.sizes)]
    if "spark" in engines:
        print("spark: each report starts a JVM and a local[2] session (11-22 s before its first "
              "query) and is slower than DuckDB at these sizes", flush=True)
    else:
        print("spark not run (slow: a JVM per process; add it with --engines ...,spark)",
              flush=True)
    from helpers.batch import dataset_fingerprint

    rows: list[dict] = []
    for folder in datasets:
        members = members_of(folder)
        out = (a.out or Path(f"/tmp/reports_{members}")).resolve()
        out.mkdir(parents=True, exist_ok=True)
        names = runs_for(folder, report_patterns(a.only, members))
        print(f"\ndataset {folder}: {members:,} members, {event_count(folder):,} events; "
              f"reports {', '.join(names)}; HTML under {out}", flush=True)
        t0 = time.perf_counter()
        fp = dataset_fingerprint(folder)  # as the batch does, once, before the runs (not timed)
        print(f"dataset fingerprint ({fp[1]} files) in {time.perf_counter() - t0:.1f} s",
              flush=True)
        for engine in engines:
            why = skip_reason(engine, members, a.pandas_max)
            if why:
                print(why, flush=True)
                rows.extend(dict(report=n, members=members, engine=engine, seconds=None,
                                 peak_mb=None, status="skipped") for n in names)
                continue
            for name in names:
                rows.append(measure_report(name, folder, members, engine, out, fp,
                                           trace=a.trace, max_mb=a.max_mb))
    print("\n" + results_table(rows))
    for r in rows:
        if r["status"] != "skipped":
            print(result_line(r))
    return 0 if all(r["status"] in ("ok", "skipped") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
