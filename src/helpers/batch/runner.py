"""The batch: runs in a process pool (a failing run never stops the others), progress lines,
the index written at the end, and the closing summary."""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .. import config
from .._format import LANGUAGES, check_language
from ._common import shown_params
from .config import BatchConfig, BatchConfigError, Run, language_runs, select_runs
from .execute import RunResult, execute_run
from .fonts import glyph_coverage
from .html import exporter
from .index import read_manifest, write_index
from .provenance import dataset_fingerprint, git_commit


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a batch.

    Attributes
    ----------
    results : tuple of RunResult
        One per run executed, in configuration order.
    wall_s : float
        Wall time of the whole batch, seconds.
    workers : int
    out_dir : Path
    index : Path
        The written ``index.html``.
    notes : tuple of str
        What the configuration's expansion found (e.g. a fan-out without values: no run).
    languages : tuple of str
        The languages rendered.
    """

    results: tuple[RunResult, ...]
    wall_s: float
    workers: int
    out_dir: Path
    index: Path
    notes: tuple[str, ...] = ()
    languages: tuple[str, ...] = LANGUAGES

    @property
    def failed(self) -> tuple[RunResult, ...]:
        return tuple(r for r in self.results if r.status != "ok")

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_frame(self):
        """One row per run: ``name, language, kernel, status, duration_s, kernel_s, imports_s,
        compute_s, overhead_s, render_s, error``."""
        import pandas as pd

        cols = ["name", "language", "kernel", "status", "duration_s", "kernel_s", "imports_s", "compute_s", "overhead_s",
                "render_s"]
        rows = [{**{c: getattr(r, c) for c in cols},
                 "error": (f"{r.error['where']}: {r.error['ename']}: {r.error['evalue']}"
                           if r.error else "")} for r in self.results]
        return pd.DataFrame(rows, columns=[*cols, "error"])


def _warm_up() -> None:
    """Import the HTML machinery and read the font tables while the first kernel starts."""
    try:
        exporter(False)
        glyph_coverage()
        from fontTools import subset  # noqa: F401
    except Exception:  # only an optimisation: the real call reports any problem
        pass


def _start_worker() -> None:
    import threading

    threading.Thread(target=_warm_up, daemon=True).start()


def _pool(workers: int) -> cf.ProcessPoolExecutor:
    # spawn: a fresh interpreter per worker (no forked threads or event loops from the parent)
    return cf.ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                  mp_context=multiprocessing.get_context("spawn"))


def run_batch(cfg: BatchConfig, *, out_dir: str | Path = config.REPORTS_DIR,
              only: list[str] | None = None, workers: int | None = None,
              with_code: bool = False, log: Callable[[str], None] = print,
              heartbeat_s: float = 15.0, languages: tuple[str, ...] | list[str] = LANGUAGES,
              reuse_kernel: bool = True) -> BatchResult:
    """Execute the runs of ``cfg`` in parallel, render their HTML and write the index.

    Parameters
    ----------
    cfg : BatchConfig
        From :func:`load_config`.
    out_dir : str or Path
        Where reports go (default ``reports/``).
    only : list of str, optional
        Glob patterns of run names (or ``batch.yml`` entry names, or ``zh/<name>``) to run; the
        others keep their last record in the index.
    workers : int, optional
        Parallel runs (default: the number of CPU cores, at most the number of runs).
    with_code : bool
        Keep code cells in the HTML.
    log : callable
        Receives progress lines (default ``print``).
    heartbeat_s : float
        Seconds between "still running" lines.
    languages : sequence of {"zh", "en"}
        Languages of the notebooks with a ``language`` parameter (default both: one report
        each under ``reports/zh/`` and ``reports/en/``).
    reuse_kernel : bool
        Each worker keeps one warm kernel (imports done once, reset between runs; see
        :mod:`helpers.batch.kernel`); False gives every run a fresh kernel.

    Returns
    -------
    BatchResult
    """
    out_dir = Path(out_dir)
    languages = tuple(check_language(lang) for lang in dict.fromkeys(languages))
    if not languages:
        raise BatchConfigError("--language: give at least one of zh, en")
    runs = select_runs(language_runs(cfg.runs, languages), only)
    if workers is not None and workers < 1:
        raise BatchConfigError(f"--workers must be at least 1, got {workers}")
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(runs) or 1))
    fingerprints = {ds: dataset_fingerprint(ds) for ds in
                    {str(r.parameters.get("dataset", cfg.dataset)) for r in runs}}
    git = git_commit()
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    log(f"batch: {len(runs)} run(s) on {n_workers} worker(s) -> {out_dir}")
    results: dict[str, RunResult] = {}
    queue = longest_first(runs, out_dir)
    running: dict[cf.Future, tuple[Run, float]] = {}
    done_count = 0
    with _pool(n_workers) as pool:
        while queue or running:
            while queue and len(running) < n_workers:
                run = queue.pop(0)
                fp = fingerprints[str(run.parameters.get("dataset", cfg.dataset))]
                fut = pool.submit(execute_run, run, out_dir=out_dir, with_code=with_code,
                                  timeout=run.timeout or cfg.timeout, fingerprint=fp, git=git,
                                  reuse_kernel=reuse_kernel)
                running[fut] = (run, time.perf_counter())
                log(f"  start  {run.key}  {json.dumps(shown_params(run.parameters), ensure_ascii=False)}")
            finished, _ = cf.wait(running, timeout=heartbeat_s, return_when=cf.FIRST_COMPLETED)
            if not finished:
                now = time.perf_counter()
                log("  ... still running: " + ", ".join(
                    f"{r.key} ({now - s:.0f} s)" for r, s in running.values()))
            for fut in finished:
                run, _ = running.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # a worker process died: isolate it too
                    res = RunResult(name=run.name, notebook=run.notebook.name,
                                    dataset=str(run.parameters.get("dataset", "")),
                                    parameters=dict(run.parameters), status="failed",
                                    language=run.language,
                                    error={"where": "worker process", "ename": type(exc).__name__,
                                           "evalue": str(exc)})
                results[run.key] = res
                done_count += 1
                log(f"  [{done_count}/{len(runs)}] {_result_line(res)}  "
                    f"(elapsed {time.perf_counter() - t0:.0f} s)")
    wall = time.perf_counter() - t0
    ordered = tuple(results[r.key] for r in runs)
    index = write_index(cfg, ordered, out_dir=out_dir, wall_s=wall, workers=n_workers,
                        started_at=started, git=git, languages=languages)
    return BatchResult(results=ordered, wall_s=wall, workers=n_workers, out_dir=out_dir,
                       index=index, notes=cfg.notes, languages=languages)


def longest_first(runs: list[Run], out_dir: Path) -> list[Run]:
    """The runs ordered by their last recorded duration, longest (or never run) first, so the
    last report to finish does not start last (``batch.json`` of ``out_dir``)."""
    previous = read_manifest(out_dir)[0]

    def last(r: Run) -> float:
        rec = previous.get(r.key)
        return rec.duration_s if rec is not None and rec.duration_s else float("inf")

    return sorted(runs, key=last, reverse=True)


def _result_line(r: RunResult) -> str:
    if r.status == "ok":
        extra = f"  warnings: {len(r.warnings)}" if r.warnings else ""
        return (f"ok     {r.key}  {r.duration_s:.1f} s (kernel {r.kernel_s:.1f} {r.kernel}, imports "
                f"{r.imports_s:.1f}, cells {r.compute_s:.1f}, papermill {r.overhead_s:.1f}) "
                f"+ html {r.render_s:.1f} s{extra}")
    err = r.error or {}
    return f"FAILED {r.key}  {err.get('where', '')}: {err.get('ename', '')}: " \
           f"{(err.get('evalue') or '').splitlines()[0] if err.get('evalue') else ''}"


def summary_text(result: BatchResult) -> str:
    """The closing summary printed by the command line: counts, timing, and each failure."""
    res = result.results
    lines = [f"batch finished in {result.wall_s:.1f} s on {result.workers} worker(s): "
             f"{sum(r.status == 'ok' for r in res)} ok, {len(result.failed)} failed; "
             f"index: {result.index}"]
    lines += [f"note: {note}" for note in result.notes]
    ok = [r for r in res if r.status == "ok"]
    if ok:
        lines.append(
            "time summed over runs: kernel start+stop {:.1f} s, imports {:.1f} s, cells {:.1f} s, "
            "papermill {:.1f} s, html {:.1f} s".format(*(sum(getattr(r, f) for r in ok) for f in (
                "kernel_s", "imports_s", "compute_s", "overhead_s", "render_s"))))
    for r in result.failed:
        err = r.error or {}
        lines.append(f"FAILED {r.key}: {err.get('where', '')}\n    {err.get('ename', '')}: "
                     f"{err.get('evalue', '')}")
        if r.failed_notebook:
            lines.append(f"    executed notebook kept: {result.out_dir / r.failed_notebook}")
        lines.append("    last good HTML kept: " + (str(result.out_dir / r.html) if r.html else "none"))
    return "\n".join(lines)

