"""One run: execute a notebook with papermill, render its HTML, never raise for a notebook error.

The executed notebook is written beside the target and renamed only on success, so the last
good ``<name>.ipynb`` and ``<name>.html`` survive a failure; the failed notebook is kept as
``<name>.failed.ipynb``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._common import (ANSI, DEFAULT_TIMEOUT, INDEX_NAME, KERNEL_NAME, Status, both_times,
                      write_text)
from .config import Run
from .fonts import missing_glyphs
from .html import (external_resources, render_report, report_title, reviewer_text_problems,
                   visible_text)
from ._messages import translator
from .kernel import worker_kernel
from .provenance import package_versions


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run (one row of the index).

    Attributes
    ----------
    name, notebook, dataset : str
        Output name, source notebook file name, dataset given to the notebook.
    parameters : dict
        Injected parameters.
    status : {"ok", "failed", "not_run"}
    started_at : str
        ISO 8601 start time (UTC).
    duration_s : float
        Execution wall time (kernel start + cells), seconds.
    kernel_s, imports_s, compute_s, overhead_s, render_s : float
        Split of the time: kernel start and shutdown, import cells, the other cells, the rest of
        the execution wall time (papermill reading and saving the notebook, gaps between cells),
        and the HTML export (incl. font subsetting).
    html, executed, failed_notebook : str or None
        File names under the output folder (``html`` may be the last good page of a failed run).
    error : dict or None
        ``where`` (cell), ``ename``, ``evalue`` of a failure.
    warnings : tuple of str
        Caveats found in the output (missing glyphs, external resources).
    fingerprint : str
        The dataset fingerprint.
    last_ok_at : str or None
        Start time of the last successful run of this report.
    language : str
        The report's language (``""``: a notebook without a ``language`` parameter).
    kernel : {"fresh", "reused", ""}
        Whether the run had a new kernel or the worker's warm one (reset between runs).
    title : str
        The report's first heading in its language (the index links it).
    """

    name: str
    notebook: str
    dataset: str
    parameters: dict[str, Any]
    status: Status
    started_at: str | None = None
    duration_s: float | None = None
    kernel_s: float = 0.0
    overhead_s: float = 0.0
    imports_s: float = 0.0
    compute_s: float = 0.0
    render_s: float = 0.0
    html: str | None = None
    executed: str | None = None
    failed_notebook: str | None = None
    error: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    fingerprint: str = ""
    last_ok_at: str | None = None
    language: str = ""
    kernel: str = ""
    title: str = ""

    @property
    def key(self) -> str:
        """``<language>/<name>`` (or ``<name>``), as :attr:`Run.key`."""
        return f"{self.language}/{self.name}" if self.language else self.name

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        d["warnings"] = tuple(d.get("warnings") or ())
        return cls(**d)


def _is_import_cell(source: str) -> bool:
    """A cell that imports and sets up (its first statement an import, no assignment); a cell
    that also loads data or computes (``ds = data.load_community(...)``) is computation."""
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return (bool(body) and isinstance(body[0], (ast.Import, ast.ImportFrom))
            and not any(isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For,
                                       ast.With, ast.If)) for s in body))


def cell_timing(nb) -> dict[str, float]:
    """Where an executed notebook's time went, from papermill's metadata.

    Returns
    -------
    dict
        ``kernel_s`` (notebook start to the first cell, plus last cell to the end: kernel start
        and shutdown), ``imports_s`` (cells whose first statement is an import), ``compute_s``
        (the other code cells).
    """
    imports = compute = 0.0
    starts, ends = [], []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("start_time"):
            starts.append(datetime.fromisoformat(meta["start_time"]))
        if meta.get("end_time"):
            ends.append(datetime.fromisoformat(meta["end_time"]))
        if cell.cell_type != "code":
            continue
        duration = meta.get("duration") or 0.0
        if _is_import_cell(cell.source):
            imports += duration
        else:
            compute += duration
    kernel = 0.0
    nb_meta = nb.get("metadata", {}).get("papermill", {})
    if starts and ends and nb_meta.get("start_time") and nb_meta.get("end_time"):
        kernel = ((min(starts) - datetime.fromisoformat(nb_meta["start_time"]))
                  + (datetime.fromisoformat(nb_meta["end_time"]) - max(ends))).total_seconds()
    return {"kernel_s": max(kernel, 0.0), "imports_s": imports, "compute_s": compute}


def output_warnings(nb, language: str = "") -> list[str]:
    """Caveats visible in the outputs: glyphs missing from a figure's font (tofu in plots),
    in ``language`` (``""``: English)."""
    t = translator(language)
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                if re.search(r"Glyph \d+ .* missing from (current )?font", text):
                    found.append(t("warn_figure_glyphs", cell=i))
    return found


def _failing_cell(nb) -> dict[str, Any]:
    """Where a partially executed notebook stopped, from papermill's per-cell metadata.

    A cell marked ``failed``; else (a timeout or a dead kernel, after which papermill marks
    every cell ``completed``) the last cell that started.
    """
    started = None
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("status") == "failed":
            started = i
            break
        if meta.get("start_time"):
            started = i
    if started is None:
        return {}
    cell = nb.cells[started]
    return {"cell_index": started, "exec_count": cell.get("execution_count"),
            "source": cell.get("source", "")}


def _where(cell_index, exec_count, source, traceback: list[str] | None = None) -> str:
    """``cell In [n] (cell i of the executed notebook), line k: <code>`` for a failure.

    The line is the cell's line that raised (the first ``---->`` frame of IPython's
    traceback), else the cell's first line.
    """
    line_no, line = None, next((ln for ln in (source or "").splitlines() if ln.strip()), "")
    for frame in traceback or []:
        m = re.search(r"^-+> *(\d+) (.*)$", ANSI.sub("", frame), flags=re.MULTILINE)
        if m:
            line_no, line = int(m.group(1)), m.group(2)
            break
    line = line.strip()
    if len(line) > 100:
        line = line[:97] + "..."
    label = f"cell In [{exec_count}]" if exec_count else "a cell"
    index = f" (cell {cell_index} of the executed notebook)" if cell_index is not None else ""
    at = f", line {line_no}" if line_no else ""
    return f"{label}{index}{at}: {line}" if line else f"{label}{index}"


def execute_run(run: Run, *, out_dir: str | Path, with_code: bool = False,
                timeout: int = DEFAULT_TIMEOUT, fingerprint: tuple[str, int] = ("", 0),
                git: str = "unknown", reuse_kernel: bool = True) -> RunResult:
    """Execute one run with papermill and render its HTML; never raises for a notebook error.

    The executed notebook is written to ``.<name>.running.ipynb`` and renamed to
    ``<name>.ipynb`` on success or ``<name>.failed.ipynb`` on failure; the HTML is written
    atomically, so a failure leaves the last good ``<name>.html`` in place. A run with a
    ``language`` writes into ``<out_dir>/<language>/``; file names in the result are relative
    to ``out_dir``.

    Parameters
    ----------
    reuse_kernel : bool
        Run in this process's warm kernel (:mod:`helpers.batch.kernel`: imports done once, the
        namespace reset between runs); False starts and stops a kernel for this run only.

    Returns
    -------
    RunResult
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    root = Path(out_dir)
    out_dir = root / run.language if run.language else root
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{run.language}/" if run.language else ""
    running = out_dir / f".{run.name}.running.ipynb"
    nb_path, failed_path = out_dir / f"{run.name}.ipynb", out_dir / f"{run.name}.failed.ipynb"
    html_path = out_dir / f"{run.name}.html"
    dataset = str(run.parameters.get("dataset", ""))
    common = dict(name=run.name, notebook=run.notebook.name, dataset=dataset,
                  parameters=dict(run.parameters), fingerprint=fingerprint[0],
                  language=run.language)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    error: dict[str, Any] | None = None
    nb = None
    warm = worker_kernel(reuse_kernel)
    reused = False
    acquire_s = 0.0
    try:
        km = warm.acquire(cwd=run.notebook.parent)
        reused = warm.reused
        acquire_s = time.perf_counter() - t0
        nb = pm.execute_notebook(str(run.notebook), str(running), parameters=dict(run.parameters),
                                 kernel_name=KERNEL_NAME, progress_bar=False, km=km,
                                 cwd=str(run.notebook.parent), execution_timeout=timeout,
                                 start_timeout=120)
    except PapermillExecutionError as exc:
        error = {"where": _where(exc.cell_index, exc.exec_count, exc.source, exc.traceback),
                 "ename": exc.ename, "evalue": ANSI.sub("", str(exc.evalue))}
    except Exception as exc:  # kernel death, timeout, unreadable notebook: isolate all of them
        cell = {}
        if running.exists():
            try:
                cell = _failing_cell(nbformat.read(running, as_version=4))
            except Exception:
                cell = {}
        where = _where(cell.get("cell_index"), cell.get("exec_count"), cell.get("source")) \
            if cell else "before or between cells"
        error = {"where": where, "ename": type(exc).__name__,
                 "evalue": ANSI.sub("", str(exc)).strip()[:2000]}
    execute_s = time.perf_counter() - t0
    warm.release(ok=error is None)
    common["kernel"] = "reused" if reused else "fresh"
    if error is not None:
        kept = None
        if running.exists():
            os.replace(running, failed_path)
            kept = prefix + failed_path.name
        return RunResult(**common, status="failed", started_at=started.isoformat(timespec="seconds"),
                         duration_s=execute_s, error=error, failed_notebook=kept,
                         html=prefix + html_path.name if html_path.exists() else None,
                         executed=prefix + nb_path.name if nb_path.exists() else None)

    timing = cell_timing(nb)
    timing["kernel_s"] += acquire_s  # starting (or resetting) the warm kernel is kernel time
    overhead_s = max(execute_s - sum(timing.values()), 0.0)
    params_rows = [{"name": k, "value": repr(run.parameters[k]) if k in run.parameters
                    else default, "source": "batch" if k in run.parameters else "notebook default",
                    "help": run.helps.get(k, "")}
                   for k, default in run.declared.items()]
    provenance = {"name": run.name, "notebook": run.notebook.name, "dataset": dataset or "",
                  "fingerprint": fingerprint[0], "n_files": fingerprint[1], "git_commit": git,
                  "started_at": both_times(started),
                  "duration_s": execute_s, "overhead_s": overhead_s, **timing,
                  "parameters": params_rows, "versions": package_versions()}
    t1 = time.perf_counter()
    t = translator(run.language)
    warnings = output_warnings(nb, run.language)
    try:
        page = render_report(nb, title=run.name, with_code=with_code, provenance=provenance,
                             resources_dir=run.notebook.parent, language=run.language,
                             index_href=("../" if run.language else "") + INDEX_NAME)
        external = external_resources(page)
        boxes = missing_glyphs(visible_text(page))
        if boxes:
            warnings.append(t("warn_page_glyphs", chars=" ".join(
                f"{c} U+{ord(c):04X}" for c in boxes)))
        if external:
            warnings.append(t("warn_external", urls=", ".join(external[:5])))
        warnings.extend(t("warn_text", problem=p) for p in reviewer_text_problems(page))
        write_text(html_path, page)
    except Exception as exc:
        os.replace(running, failed_path)
        return RunResult(**common, status="failed", started_at=started.isoformat(timespec="seconds"),
                         duration_s=execute_s, failed_notebook=prefix + failed_path.name,
                         error={"where": "HTML export", "ename": type(exc).__name__,
                                "evalue": str(exc)[:2000]},
                         html=prefix + html_path.name if html_path.exists() else None,
                         executed=prefix + nb_path.name if nb_path.exists() else None)
    os.replace(running, nb_path)
    failed_path.unlink(missing_ok=True)
    return RunResult(**common, status="ok", started_at=started.isoformat(timespec="seconds"),
                     title=report_title(nb, run.language),
                     duration_s=execute_s, **timing, overhead_s=overhead_s,
                     render_s=time.perf_counter() - t1,
                     html=prefix + html_path.name, executed=prefix + nb_path.name,
                     warnings=tuple(warnings),
                     last_ok_at=started.isoformat(timespec="seconds"))

