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
from .._format import LANGUAGES
from ._messages import HTML_LANG, LANGUAGE_NAMES, translator
from .config import BatchConfig, Run, language_runs
from .execute import RunResult
from .fonts import embed_font


def read_manifest(out_dir: str | Path) -> tuple[dict[str, RunResult], dict[str, Any]]:
    """The recorded runs (by :attr:`RunResult.key`) and the last batch's summary (empty when
    absent or damaged)."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}, {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ({k: RunResult.from_dict(v) for k, v in raw.get("runs", {}).items()},
                dict(raw.get("batch") or {}))
    except (ValueError, TypeError, AttributeError):
        return {}, {}  # a damaged manifest only loses history; the reports themselves are intact


def _row(run: Run, manifest: dict[str, RunResult], out_dir: Path, zone: ZoneInfo) -> dict:
    """One row of the index: the run's latest record (or ``not run``), ready for the template."""
    r = manifest.get(run.key) or RunResult(
        name=run.name, notebook=run.notebook.name, language=run.language,
        dataset=str(run.parameters.get("dataset", "")), parameters=dict(run.parameters),
        status="not_run")
    if r.html and not (out_dir / r.html).exists():
        r = dataclasses.replace(r, html=None)
    started = (f"{datetime.fromisoformat(r.started_at).astimezone(zone):%Y-%m-%d %H:%M}"
               if r.started_at else "")
    params = {k: v for k, v in shown_params(r.parameters).items() if k != "language"}
    return {**r.to_dict(), "parameters": params, "started_at": started,
            "subject": subject(run),
            "dataset_name": Path(r.dataset).name if r.dataset else "",
            "anchor": "run-" + r.key.replace("/", "-")}


def subject(run: Run) -> str:
    """What a fan-out run is about, in words: its ``foreach`` values by their names in the
    data (:attr:`Run.labels`: an experiment's name from the experiments table), so that the
    index's entries of one notebook (every A/B report has the same title) each name their
    experiment; ``""`` when there are none.

    Examples
    --------
    >>> from pathlib import Path
    >>> subject(Run(name="03_ab_e1", notebook=Path("03.ipynb"),
    ...             labels=(("experiment_id", "打卡挑战（成员随机）"),)))
    '打卡挑战（成员随机）'
    """
    return " · ".join(dict.fromkeys(text for _, text in run.labels if text))


def _section(language: str, runs: list[Run], skipped, manifest, out_dir: Path, zone) -> dict:
    """The index's part in one language (``""``: notebooks without a language parameter)."""
    rows = [_row(r, manifest, out_dir, zone) for r in runs]
    counts = {"total": len(rows), "ok": sum(r["status"] == "ok" for r in rows),
              "failed": sum(r["status"] == "failed" for r in rows),
              "not_run": sum(r["status"] == "not_run" for r in rows)}
    return {"language": language, "lang": HTML_LANG[language or "en"],
            "id": f"lang-{language}" if language else "other-reports",
            "t": translator(language), "rows": rows, "counts": counts,
            "skipped": [s for s in skipped if s.multilingual == bool(language)]}


def write_index(cfg: BatchConfig, results: tuple[RunResult, ...] | list[RunResult], *,
                out_dir: str | Path = config.REPORTS_DIR, wall_s: float = 0.0, workers: int = 1,
                started_at: datetime | None = None, git: str = "unknown",
                languages: tuple[str, ...] | list[str] = LANGUAGES) -> Path:
    """Merge ``results`` into ``batch.json`` and write a self-contained ``index.html``.

    Every run of ``cfg`` gets a row: the latest result of this batch, else the last recorded
    one, else ``not run``. A failed run keeps a link to its last good HTML when it exists.
    Notebooks with a ``language`` parameter are listed once per language, Chinese first, each
    part in its own words with a switch between them (plain links and CSS, no script);
    ``languages`` are the parts shown besides those with a recorded run. A ``foreach`` that
    found no values (a dataset without experiments) is said in words, not as a failure.
    Every value from the data is escaped (Jinja autoescaping).

    Returns
    -------
    Path
        The index written.
    """
    out_dir = Path(out_dir)
    manifest, last_batch = read_manifest(out_dir)
    for r in results:
        previous = manifest.get(r.key)
        if r.status != "ok" and previous is not None and previous.last_ok_at:
            r = dataclasses.replace(r, last_ok_at=previous.last_ok_at)
        manifest[r.key] = r
    zone = ZoneInfo(config.TIMEZONE)
    multi = [r for r in cfg.runs if r.multilingual]
    recorded = {r.language for r in manifest.values()}
    shown = [lang for lang in LANGUAGES if lang in languages or lang in recorded]
    sections = []
    if multi or any(s.multilingual for s in cfg.skipped):
        sections = [_section(lang, language_runs(multi, (lang,)), cfg.skipped, manifest,
                             out_dir, zone) for lang in shown]
    plain = [r for r in cfg.runs if not r.multilingual]
    if plain or any(not s.multilingual for s in cfg.skipped) or not sections:
        sections.append(_section("", plain, cfg.skipped, manifest, out_dir, zone))
    if results or not last_batch:
        last_batch = {"started_at": (started_at or datetime.now(timezone.utc)).isoformat(),
                      "wall_s": wall_s, "workers": workers, "git_commit": git}
    first = sections[0]["language"]
    page = jinja_env().get_template("batch_index.html.j2").render(
        sections=sections, zone=config.TIMEZONE, html_lang=HTML_LANG[first or "en"],
        switch=[(s["id"], LANGUAGE_NAMES[s["language"]]) for s in sections if s["language"]],
        title=" · ".join(dict.fromkeys(s["t"]("index_title") for s in sections)),
        titles={lang: translator(lang)("index_title") for lang in LANGUAGES},
        font_placeholder=FONT_PLACEHOLDER,
        css=(TEMPLATES_DIR / "report.css").read_text(encoding="utf-8"),
        batch={**last_batch,
               "started_at": both_times(datetime.fromisoformat(last_batch["started_at"]))})
    write_text(out_dir / MANIFEST_NAME, json.dumps(
        {"batch": last_batch, "runs": {k: v.to_dict() for k, v in manifest.items()}},
        ensure_ascii=False, indent=1))
    index = out_dir / INDEX_NAME
    write_text(index, embed_font(page)[0])
    return index
