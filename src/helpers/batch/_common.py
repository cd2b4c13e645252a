"""Internals shared by the modules of :mod:`helpers.batch`: file names, the template folder,
atomic writes, the Jinja environment and the time format of the pages."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .. import config
from ..data import atomic_path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
MANIFEST_NAME = "batch.json"
INDEX_NAME = "index.html"
DEFAULT_TIMEOUT = 600  # seconds per cell
KERNEL_NAME = "python3"
#: replaced in every page by the ``@font-face`` rules of the embedded font subsets
FONT_PLACEHOLDER = "/* @@embedded-font@@ */"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

Status = Literal["ok", "failed", "not_run"]


def write_text(target: Path, text: str) -> None:
    """Write ``text`` atomically (the old file survives a crash), readable by everyone like any
    report (``atomic_path``'s temporary file is private)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)


def jinja_env():
    """The Jinja environment of the batch's own templates (autoescaping on: data is text)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                              autoescape=True, trim_blocks=False)


def both_times(t: datetime) -> str:
    """``2026-11-22 11:16:19 UTC (2026-11-22 19:16 Asia/Shanghai)``: UTC and the data's zone."""
    local = t.astimezone(ZoneInfo(config.TIMEZONE))
    return f"{t.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC ({local:%Y-%m-%d %H:%M} {config.TIMEZONE})"


def shown_params(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as listed in progress lines and the index (the dataset has its own column)."""
    return {k: v for k, v in parameters.items() if k != "dataset"}
