"""``reports/batch.json`` (the latest record of every run, so ``--only`` updates one row) and
``reports/index.html``, rebuilt from it for the runs the configuration lists."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import config
from ._common import (FONT_PLACEHOLDER, INDEX_NAME, MANIFEST_NAME, TEMPLATES_DIR, both_times,
                      jinja_env, shown_params, write_text)
from .config import BatchConfig
from .execute import RunResult
from .fonts import embed_font


def _read_manifest(out_dir: Path) -> tuple[dict[str, RunResult], dict[str, Any]]:
    """The recorded runs and the last batch's summary (empty when absent or damaged)."""
    path = out_dir / MANIFEST_NAME
    if not path.is_file():
        return {}, {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ({k: RunResult.from_dict(v) for k, v in raw.get("runs", {}).items()},
                dict(raw.get("batch") or {}))
    except (ValueError, TypeError, AttributeError):
        return {}, {}  # a damaged manifest only loses history; the reports themselves are intact


def write_index(cfg: BatchConfig, results: tuple[RunResult, ...] | list[RunResult], *,
                out_dir: str | Path = config.REPORTS_DIR, wall_s: float = 0.0, workers: int = 1,
                started_at: datetime | None = None, git: str = "unknown") -> Path:
    """Merge ``results`` into ``batch.json`` and write a self-contained ``index.html``.

    Every run of ``cfg`` gets a row: the latest result of this batch, else the last recorded
    one, else ``not run``. A failed run keeps a link to its last good HTML when it exists.

    Returns
    -------
    Path
        The index written.
    """
    out_dir = Path(out_dir)
    manifest, last_batch = _read_manifest(out_dir)
    for r in results:
        previous = manifest.get(r.name)
        if r.status != "ok" and previous is not None and previous.last_ok_at:
            r = dataclasses.replace(r, last_ok_at=previous.last_ok_at)
        manifest[r.name] = r
    rows = []
    for run in cfg.runs:
        r = manifest.get(run.name) or RunResult(
            name=run.name, notebook=run.notebook.name,
            dataset=str(run.parameters.get("dataset", "")), parameters=dict(run.parameters),
            status="not_run")
        if r.html and not (out_dir / r.html).exists():
            r = dataclasses.replace(r, html=None)
        rows.append(r)
    counts = {"total": len(rows), "ok": sum(r.status == "ok" for r in rows),
              "failed": sum(r.status == "failed" for r in rows),
              "not_run": sum(r.status == "not_run" for r in rows)}
    zone = ZoneInfo(config.TIMEZONE)
    if results or not last_batch:
        last_batch = {"started_at": (started_at or datetime.now(timezone.utc)).isoformat(),
                      "wall_s": wall_s, "workers": workers, "git_commit": git}
    page = jinja_env().get_template("batch_index.html.j2").render(
        rows=[{**r.to_dict(), "parameters": shown_params(r.parameters),
               "dataset_name": Path(r.dataset).name if r.dataset else "",
               "started_at": f"{datetime.fromisoformat(r.started_at).astimezone(zone):%Y-%m-%d %H:%M}"
               if r.started_at else ""} for r in rows],
        zone=config.TIMEZONE,
        counts=counts, notes=cfg.notes, font_placeholder=FONT_PLACEHOLDER,
        css=(TEMPLATES_DIR / "report.css").read_text(encoding="utf-8"),
        batch={**last_batch,
               "started_at": both_times(datetime.fromisoformat(last_batch["started_at"]))})
    write_text(out_dir / MANIFEST_NAME, json.dumps(
        {"batch": last_batch, "runs": {k: v.to_dict() for k, v in manifest.items()}},
        ensure_ascii=False, indent=1))
    index = out_dir / INDEX_NAME
    write_text(index, embed_font(page)[0])
    return index
