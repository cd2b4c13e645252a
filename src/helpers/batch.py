"""Batch reports for reviewers: run the notebooks listed in ``notebooks/batch.yml`` with
papermill, render self-contained HTML, and write ``reports/index.html``.

``python -m helpers.batch`` is what ``make reports`` calls::

    python -m helpers.batch                      # every run of notebooks/batch.yml on its dataset
    python -m helpers.batch --only 02_churn_survival --dataset data/raw/acme --workers 1
    python -m helpers.batch --only '03_ab_*' --with-code
    python -m helpers.batch --list               # show the expanded runs and exit

Choices made here, once:

- **Validate first.** ``batch.yml`` is parsed and checked (YAML syntax, keys, notebooks exist,
  parameter names against the notebook's ``parameters`` cell read by papermill's
  ``inspect_notebook``, simple types, fan-out sources, duplicate output names) and every problem
  is reported in one :class:`BatchConfigError` before any kernel starts (papermill itself only
  warns about unknown parameters).
- **Fan-out.** A run's ``foreach`` maps a parameter to a list of values or to ``table.column``
  of the dataset (``experiments.experiment_id``: one report per experiment). The run ``name``
  is a template (``03_ab_{experiment_id}``); characters unsafe in file names become ``_``.
- **Dataset.** The file's ``dataset`` (or ``--dataset``, which wins over everything) is given to
  every notebook that has a ``dataset`` parameter.
- **Failure isolation.** Runs execute in a process pool; a failing run never stops the others.
  The executed notebook is written beside the target and renamed only on success, so the last
  good ``<name>.ipynb`` and ``<name>.html`` survive a failure; the failed notebook is kept as
  ``<name>.failed.ipynb``. The exit code is 1 when any run failed, 2 on a configuration error.
- **HTML for reviewers.** nbconvert's lab template without the CDN scripts (require.js,
  MathJax, Mermaid, widgets) — LaTeX therefore shows as source text; code cells hidden unless
  ``--with-code``; markdown images inlined; a subset of the packaged Noto Sans CJK SC font
  embedded as a ``data:`` URI so Chinese text renders without system fonts; a provenance
  section at the end (parameters, dataset fingerprint, package versions, git commit, start time,
  duration).
- **Index.** ``reports/batch.json`` keeps the latest record of every run (so ``--only`` updates
  one row); ``reports/index.html`` is rebuilt from it for the runs the configuration lists.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures as cf
import dataclasses
import fnmatch
import functools
import hashlib
import io
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Callable, Literal
from zoneinfo import ZoneInfo

from . import config
from .data import atomic_path, find_table_file, read_table
from .errors import DataError, ParameterError

DEFAULT_CONFIG = config.NOTEBOOKS_DIR / "batch.yml"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MANIFEST_NAME = "batch.json"
INDEX_NAME = "index.html"
DEFAULT_TIMEOUT = 600  # seconds per cell
KERNEL_NAME = "python3"
#: the family name of the embedded font subset (see ``templates/report.css``)
EMBEDDED_FONT_FAMILY = "Report Sans CJK"
SYMBOLS_FONT_FAMILY = "Report Symbols"
FONT_PLACEHOLDER = "/* @@embedded-font@@ */"
#: packages named in each report's provenance
PROVENANCE_PACKAGES = ("community-analytics", "pandas", "numpy", "scipy", "statsmodels",
                       "lifelines", "matplotlib", "seaborn", "pyarrow", "papermill",
                       "nbconvert", "ipykernel")
#: cell tags honoured when rendering (the jupyter-book convention)
REMOVE_CELL_TAGS = ("remove-cell", "remove_cell")
REMOVE_INPUT_TAGS = ("remove-input", "remove_input", "hide-input")
REMOVE_OUTPUT_TAGS = ("remove-output", "remove_output")

_RUN_KEYS = {"name", "notebook", "parameters", "foreach", "timeout"}
_TOP_KEYS = {"dataset", "timeout", "runs"}
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float),
                                              "bool": (bool,)}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")

Status = Literal["ok", "failed", "not_run"]


class BatchConfigError(ParameterError):
    """``batch.yml`` or a command-line option is invalid; lists every problem found."""


# ============================================================================ configuration
@dataclass(frozen=True)
class Run:
    """One report to render: a notebook with its injected parameters.

    Attributes
    ----------
    name : str
        Output name: ``reports/<name>.html`` and ``reports/<name>.ipynb``.
    notebook : Path
        The source notebook.
    parameters : dict
        Values injected by papermill (only names the notebook's ``parameters`` cell declares).
    entry : str
        The name template of the ``batch.yml`` entry it comes from (for ``--only``).
    declared : dict
        Every parameter of the notebook and its default as written (for the provenance).
    timeout : int, optional
        Seconds one cell may run, when the run sets its own (else the file's ``timeout``).
    """

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    entry: str = ""
    declared: dict[str, str] = field(default_factory=dict)
    timeout: int | None = None


@dataclass(frozen=True)
class BatchConfig:
    """A validated, expanded ``batch.yml``.

    Attributes
    ----------
    path : Path
        The configuration file.
    dataset : str
        The dataset every notebook with a ``dataset`` parameter receives.
    timeout : int
        Seconds a single cell may run.
    runs : tuple of Run
        Every run, fan-outs expanded, in file order.
    notes : tuple of str
        What the expansion found worth saying (e.g. a fan-out with no values).
    """

    path: Path
    dataset: str
    timeout: int
    runs: tuple[Run, ...]
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """One row per run: ``name, notebook, parameters``."""
        import pandas as pd

        return pd.DataFrame([{"name": r.name, "notebook": r.notebook.name,
                              "parameters": json.dumps(r.parameters, ensure_ascii=False)}
                             for r in self.runs], columns=["name", "notebook", "parameters"])


def safe_name(text: str) -> str:
    """Make ``text`` a file-name-safe report name (letters incl. CJK, digits, ``_ . -``).

    Examples
    --------
    >>> safe_name("03_ab_exp/live 2")
    '03_ab_exp_live_2'
    """
    return _UNSAFE_NAME.sub("_", str(text)).strip("._") or "_"


def notebook_parameters(notebook: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell (papermill's inspection).

    Returns
    -------
    dict
        ``{name: {"name", "inferred_type_name", "default", "help"}}``; empty when the notebook
        has no cell tagged ``parameters``.
    """
    import papermill as pm

    return pm.inspect_notebook(str(notebook))


def _fanout_values(source: Any, dataset: str, where: str, problems: list[str]) -> list[Any]:
    """Values of a ``foreach`` entry: a list literal, or ``table.column`` of the dataset."""
    if isinstance(source, list):
        if not source:
            problems.append(f"{where}: the list of values is empty")
        return source
    if not isinstance(source, str) or not re.fullmatch(r"\w+\.\w+", source):
        problems.append(f"{where}: expected a list of values or 'table.column' "
                        f"(e.g. experiments.experiment_id), got {source!r}")
        return []
    table, column = source.split(".")
    if table not in config.TABLES:
        problems.append(f"{where}: unknown table '{table}' in {source!r}; "
                        f"allowed tables: {', '.join(config.TABLES)}")
        return []
    folder = config.dataset_dir(dataset)
    path = find_table_file(folder, table)
    if path is None:
        return []  # an optional table that is absent: no runs (said in notes)
    try:
        frame = read_table(path)
    except DataError as exc:
        problems.append(f"{where}: cannot read {path}: {exc}")
        return []
    if column not in frame.columns:
        problems.append(f"{where}: column '{column}' not in {path} "
                        f"(columns: {', '.join(map(str, frame.columns))})")
        return []
    values = frame[column].dropna().drop_duplicates().tolist()
    return sorted(values, key=str)


def _type_problem(value: Any, spec: dict[str, Any]) -> str | None:
    """A message when ``value`` does not fit the simple annotated type of a parameter."""
    type_name = (spec.get("inferred_type_name") or "").strip()
    allowed = _SIMPLE_TYPES.get(type_name)
    if allowed is None:
        return None
    if isinstance(value, bool) and bool not in allowed:
        return f"expects {type_name}, got {value!r}"
    if not isinstance(value, allowed):
        return f"expects {type_name}, got {type(value).__name__} {value!r}"
    return None


def load_config(path: str | Path = DEFAULT_CONFIG, *, dataset: str | Path | None = None) -> BatchConfig:
    """Read, validate and expand a batch configuration.

    Parameters
    ----------
    path : str or Path
        The YAML file (default ``notebooks/batch.yml``). Notebook paths in it are relative to
        its folder.
    dataset : str or Path, optional
        Overrides the file's ``dataset`` for every run (``--dataset``).

    Returns
    -------
    BatchConfig
        With ``runs``: one :class:`Run` per report (``name, notebook, parameters``).

    Raises
    ------
    BatchConfigError
        Listing every problem: bad YAML (with line), unknown keys, missing notebooks, unknown
        parameter names (with the allowed ones), wrong simple types, bad fan-out sources,
        duplicate output names, a missing dataset folder.

    Examples
    --------
    >>> cfg = load_config("notebooks/batch.yml")                      # doctest: +SKIP
    >>> [r.name for r in cfg.runs]                                    # doctest: +SKIP
    ['01_cohort_retention', '02_churn_survival', '03_ab_exp_checkin_member', ...]
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BatchConfigError(f"batch configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BatchConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise BatchConfigError(f"{path}: expected a mapping with keys {sorted(_TOP_KEYS)}, "
                               f"got {type(raw).__name__}")
    for key in sorted(set(raw) - _TOP_KEYS):
        problems.append(f"unknown top-level key '{key}'; allowed: {', '.join(sorted(_TOP_KEYS))}")
    ds = str(dataset if dataset is not None else raw.get("dataset", config.DEMO_DATASET))
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"timeout: expected a positive number of seconds, got {timeout!r}")
        timeout = DEFAULT_TIMEOUT
    folder = config.dataset_dir(ds)
    if not folder.is_dir():
        problems.append(f"dataset '{ds}': folder {folder} not found (run `make data` for the "
                        "demo, or pass --dataset NAME_OR_PATH)")
    entries = raw.get("runs")
    if not isinstance(entries, list) or not entries:
        problems.append("runs: expected a non-empty list of runs (each with name and notebook)")
        entries = []

    runs: list[Run] = []
    notes: list[str] = []
    for i, entry in enumerate(entries, start=1):
        where = f"runs[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping, got {entry!r}")
            continue
        where = f"runs[{i}] ({entry.get('name', '?')})"
        for key in sorted(set(entry) - _RUN_KEYS):
            problems.append(f"{where}: unknown key '{key}'; allowed: {', '.join(sorted(_RUN_KEYS))}")
        name_t, nb_name = entry.get("name"), entry.get("notebook")
        if not isinstance(name_t, str) or not name_t.strip():
            problems.append(f"{where}: 'name' is required (a string; may use {{parameter}})")
            continue
        if not isinstance(nb_name, str):
            problems.append(f"{where}: 'notebook' is required (a file in {path.parent})")
            continue
        notebook = (path.parent / nb_name).resolve()
        if not notebook.is_file():
            available = sorted(p.name for p in path.parent.glob("*.ipynb"))
            problems.append(f"{where}: notebook '{nb_name}' not found in {path.parent} "
                            f"(available: {', '.join(available) or 'none'})")
            continue
        try:
            declared = notebook_parameters(notebook)
        except Exception as exc:  # nbformat raises several types for a broken file
            problems.append(f"{where}: cannot read notebook {nb_name}: {exc}")
            continue
        run_timeout = entry.get("timeout")
        if run_timeout is not None and (not isinstance(run_timeout, int)
                                        or isinstance(run_timeout, bool) or run_timeout <= 0):
            problems.append(f"{where}: timeout: expected a positive number of seconds, "
                            f"got {run_timeout!r}")
            run_timeout = None
        params = entry.get("parameters") or {}
        foreach = entry.get("foreach") or {}
        if not isinstance(params, dict) or not isinstance(foreach, dict):
            problems.append(f"{where}: 'parameters' and 'foreach' must be mappings")
            continue
        allowed = ", ".join(declared) or "none (the notebook has no cell tagged 'parameters')"
        for key in [*params, *foreach]:
            if key not in declared:
                problems.append(f"{where}: unknown parameter '{key}' for {nb_name}; "
                                f"allowed: {allowed}")
        for key, value in params.items():
            if key in declared and (msg := _type_problem(value, declared[key])):
                problems.append(f"{where}: parameter '{key}' {msg}")
        base = dict(params)
        if "dataset" in declared and (dataset is not None or "dataset" not in base):
            base["dataset"] = ds
        fan: dict[str, list[Any]] = {}
        for key, source in foreach.items():
            values = _fanout_values(source, base.get("dataset", ds), f"{where}: foreach {key}",
                                    problems)
            if key in declared and (declared[key].get("inferred_type_name") or "") == "str":
                values = [str(v) for v in values]
            for v in values:
                if key in declared and (msg := _type_problem(v, declared[key])):
                    problems.append(f"{where}: foreach '{key}' value {msg}")
                    break
            fan[key] = values
        combos: list[dict[str, Any]] = [{}]
        for key, values in fan.items():
            combos = [{**c, key: v} for c in combos for v in values]
        if fan and not combos:
            empty = [k for k, v in fan.items() if not v]
            notes.append(f"{name_t}: no values for {', '.join(empty)} in dataset '{ds}' "
                         f"({', '.join(str(foreach[k]) for k in empty)}): no report rendered")
        for combo in combos:
            values = {**base, **combo}
            try:
                name = safe_name(name_t.format(**values))
            except (KeyError, IndexError, ValueError) as exc:
                problems.append(f"{where}: name template {name_t!r} cannot be filled ({exc!r}); "
                                f"it may use {', '.join('{' + k + '}' for k in values) or 'no fields'}")
                break
            runs.append(Run(name=name, notebook=notebook, parameters=values, entry=name_t,
                            declared={k: str(v.get("default")) for k, v in declared.items()},
                            timeout=run_timeout))
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.name] = seen.get(r.name, 0) + 1
    dupes = sorted(n for n, c in seen.items() if c > 1)
    if dupes:
        problems.append(f"duplicate output names: {', '.join(dupes)} (give each run a distinct "
                        "name; a fan-out name needs its {parameter} in it)")
    if problems:
        raise BatchConfigError(f"{path}: {len(problems)} problem(s), nothing was run:\n  - "
                               + "\n  - ".join(problems))
    return BatchConfig(path=path, dataset=ds, timeout=timeout, runs=tuple(runs),
                       notes=tuple(notes))


def select_runs(runs: tuple[Run, ...] | list[Run], only: list[str] | None) -> list[Run]:
    """The runs whose name (or ``batch.yml`` entry name) matches one of ``only`` (glob patterns).

    Raises
    ------
    BatchConfigError
        When a pattern matches nothing; the message lists the run names.
    """
    if not only:
        return list(runs)
    chosen, unmatched = [], []
    for pattern in only:
        hits = [r for r in runs if fnmatch.fnmatchcase(r.name, pattern) or r.entry == pattern]
        if not hits:
            unmatched.append(pattern)
        chosen.extend(h for h in hits if h not in chosen)
    if unmatched:
        raise BatchConfigError(f"--only {', '.join(unmatched)}: no such run; runs are: "
                               + ", ".join(r.name for r in runs))
    return [r for r in runs if r in chosen]


# ============================================================================ provenance
def dataset_fingerprint(dataset: str | Path) -> tuple[str, int]:
    """SHA-256 over the raw files of a dataset (relative name, size and bytes, sorted by name).

    Returns
    -------
    (str, int)
        ``"sha256:<hex>"`` and the number of files hashed.
    """
    folder = config.dataset_dir(dataset)
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    for p in files:
        digest.update(f"{p.relative_to(folder).as_posix()}\0{p.stat().st_size}\0".encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}", len(files)


def git_commit(repo: str | Path = config.PROJECT_DIR) -> str:
    """``HEAD``'s hash, with ``+uncommitted changes`` when tracked files differ; or ``unknown``."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (+uncommitted changes)" if dirty else head


def package_versions(names: tuple[str, ...] = PROVENANCE_PACKAGES) -> dict[str, str]:
    """``{"python": …, package: version}`` for the packages named (``not installed`` if absent)."""
    versions = {"python": sys.version.split()[0]}
    for n in names:
        try:
            versions[n] = importlib_metadata.version(n)
        except importlib_metadata.PackageNotFoundError:
            versions[n] = "not installed"
    return versions


# ============================================================================ HTML
def _cjk_font_path_and_index() -> tuple[str, int]:
    """The packaged Noto Sans CJK collection and the index of its Simplified Chinese face."""
    from fontTools.ttLib import TTCollection
    from noto_cjk_sans_otc import FONT_PATH

    collection = TTCollection(str(FONT_PATH), lazy=True)
    for i, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == "Noto Sans CJK SC":
            return str(FONT_PATH), i
    return str(FONT_PATH), 2  # the documented position of the SC face


def _symbols_font_path() -> str:
    """DejaVu Sans, shipped with matplotlib: arrows, math and dingbats Noto Sans CJK lacks."""
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def _subset_face(path: str, index: int, codepoints: set[int], family: str) -> str:
    """An ``@font-face`` rule with the glyphs of ``codepoints`` from one face, as a data: URI."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    options = subset.Options()
    options.hinting = False
    # horizontal text needs no OpenType layout or vertical metrics: half the size, twice as fast
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    fmt = "opentype" if "CFF " in font else "truetype"
    return (f'@font-face{{font-family:"{family}";src:url(data:font/{"otf" if fmt == "opentype" else "ttf"};'
            f'base64,{data}) format("{fmt}");font-display:block;}}')


def _is_drawn(ch: str) -> bool:
    """Whether a character needs a glyph (not a control, space, or default-ignorable mark)."""
    import unicodedata

    return not (unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn")
                or 0xFE00 <= ord(ch) <= 0xFE0F)


def embedded_fonts(text: str) -> tuple[str, list[str]]:
    """``@font-face`` rules embedding the glyphs ``text`` uses, and the characters left without.

    Noto Sans CJK SC (the packaged font, ``Report Sans CJK``) draws Latin and Chinese; DejaVu
    Sans (shipped with matplotlib, ``Report Symbols``) draws arrows and symbols it lacks. Both
    are subset with fontTools to the characters of ``text`` (plus printable ASCII) and embedded
    as ``data:`` URIs, so the page needs no system font and no network.

    Returns
    -------
    (str, list of str)
        The CSS, and the characters neither font has (e.g. colour emoji such as ✅): they are
        drawn as boxes where the reader has no font for them.

    Examples
    --------
    >>> css, missing = embedded_fonts("留存率 ✅")
    >>> css.startswith('@font-face{font-family:"Report Sans CJK"'), missing
    (True, ['✅'])
    """
    path, index = _cjk_font_path_and_index()
    noto, dejavu = _coverage()
    wanted = {ord(c) for c in text if ord(c) >= 0x80 and _is_drawn(c)}
    rest = wanted - noto
    rules = [_subset_face(path, index, (wanted - rest) | set(range(0x20, 0x7F)),
                         EMBEDDED_FONT_FAMILY)]
    if rest & dejavu:
        rules.append(_subset_face(_symbols_font_path(), 0, rest & dejavu, SYMBOLS_FONT_FAMILY))
    return "\n".join(rules), [chr(c) for c in sorted(rest - dejavu)]


@functools.cache
def _coverage() -> tuple[frozenset[int], frozenset[int]]:
    """Code points of the two embedded fonts (Noto Sans CJK SC, DejaVu Sans)."""
    from fontTools.ttLib import TTFont

    path, index = _cjk_font_path_and_index()
    noto = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
    dejavu = TTFont(_symbols_font_path(), lazy=True).getBestCmap()
    return frozenset(noto), frozenset(dejavu)


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` that neither embedded font can draw (e.g. colour emoji).

    Examples
    --------
    >>> missing_glyphs("留存率 → ✅ ⚠️")
    ['✅']
    """
    noto, dejavu = _coverage()
    return sorted({c for c in text if ord(c) >= 0x80 and _is_drawn(c)
                   and ord(c) not in noto and ord(c) not in dejavu})


def font_face_css(text: str) -> str:
    """The ``@font-face`` rules of :func:`embedded_fonts` (CSS only).

    Examples
    --------
    >>> font_face_css("留存率").startswith('@font-face{font-family:"Report Sans CJK"')
    True
    """
    return embedded_fonts(text)[0]


def _embed_font(page: str) -> tuple[str, list[str]]:
    """Replace the font placeholder of a rendered page by subsets of the characters it uses.

    Returns the page and the characters no embedded font can draw.
    """
    css, missing = embedded_fonts(page)
    return page.replace(FONT_PLACEHOLDER, css, 1), missing


class _ResourceFinder(HTMLParser):
    """Collect URLs an HTML page would fetch when opened (not plain links)."""

    _LOADING = {"script": "src", "img": "src", "iframe": "src", "frame": "src", "embed": "src",
                "video": "src", "audio": "src", "source": "src", "track": "src",
                "object": "data", "input": "src"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        attr = self._LOADING.get(tag)
        if attr and a.get(attr):
            self.urls.append(a[attr])
        if tag == "link" and a.get("href") and (a.get("rel") or "") not in ("", "canonical"):
            self.urls.append(a["href"])
        for key in ("srcset", "poster", "background"):
            if a.get(key):
                self.urls.append(a[key])
        if a.get("style"):
            self.urls.extend(_css_urls(a["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls.extend(_css_urls(data))


class _TextExtractor(HTMLParser):
    """The text a page shows (no style or script content)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible_text(page: str) -> str:
    parser = _TextExtractor()
    parser.feed(page)
    return "".join(parser.parts)


def _css_urls(css: str) -> list[str]:
    found = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    found += re.findall(r"@import\s+['\"]([^'\"]+)", css)
    return found


def external_resources(page: str) -> list[str]:
    """URLs a page would load from outside itself when opened (scripts, styles, images, fonts).

    ``data:`` URIs and in-page anchors are self-contained; plain links (``<a href>``) are not
    loads. Anything else (``http(s)://``, ``//host``, relative files) is returned.

    Examples
    --------
    >>> external_resources('<script src="https://cdn.example/x.js"></script><a href="https://x">x</a>')
    ['https://cdn.example/x.js']
    """
    finder = _ResourceFinder()
    finder.feed(page)
    return [u for u in finder.urls
            if not u.strip().lower().startswith(("data:", "#", "about:blank"))]


def _exporter(with_code: bool):
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES_DIR)],
                            exclude_input=not with_code, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=REMOVE_CELL_TAGS,
                              remove_input_tags=REMOVE_INPUT_TAGS,
                              remove_all_outputs_tags=REMOVE_OUTPUT_TAGS), enabled=True)
    return exporter


def _jinja():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                              autoescape=True, trim_blocks=False)


def render_report(nb, *, title: str, with_code: bool = False,
                  provenance: dict[str, Any] | None = None,
                  resources_dir: str | Path | None = None) -> str:
    """Render an executed notebook as one self-contained HTML page for reviewers.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.
    title : str
        The page title (``<title>``) when the notebook's metadata has none.
    with_code : bool
        Keep code cells (default: outputs and markdown only).
    provenance : dict, optional
        Fields of ``templates/provenance.html.j2`` (see :func:`execute_run`); omitted if None.
    resources_dir : str or Path, optional
        Folder relative markdown images are read from (the notebook's folder).

    Returns
    -------
    str
        The HTML page: no scripts from CDNs, figures as embedded PNG, a font subset embedded.
    """
    css = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    prov_html = (_jinja().get_template("provenance.html.j2").render(p=provenance)
                 if provenance else "")
    resources = {"metadata": {"name": title,
                              "path": str(resources_dir or config.NOTEBOOKS_DIR)},
                 "report": {"css": css, "font_placeholder": FONT_PLACEHOLDER,
                            "provenance_html": prov_html}}
    if not with_code:
        nb = reviewer_outputs(nb)
    body, _ = _exporter(with_code).from_notebook_node(nb, resources=resources)
    return _embed_font(body)[0]


_WARNING_LINE = re.compile(r"^\S.*?:\d+: (?P<category>\w+(?:Warning|Error)): (?P<message>.*)$")


def tidy_warnings(text: str) -> str:
    r"""Python warnings in a stream, as a reviewer should read them: ``Category: message``.

    ``warnings`` prints ``/tmp/ipykernel_1/123.py:4: AnalysisWarning: message`` and then the
    source line that triggered it; the file name and the code mean nothing to a reviewer (and
    the code must not appear in a report without ``--with-code``).

    Examples
    --------
    >>> tidy_warnings("/tmp/ipykernel_7/1.py:2: AnalysisWarning: few groups\n  x = f(a)\nok\n")
    'AnalysisWarning: few groups\nok\n'
    """
    out, skip_source = [], False
    for line in text.splitlines(keepends=True):
        m = _WARNING_LINE.match(line.rstrip("\n"))
        if m:
            out.append(f"{m['category']}: {m['message']}\n")
            skip_source = True
            continue
        if skip_source and line.startswith("  "):
            skip_source = False
            continue
        skip_source = False
        out.append(line)
    return "".join(out)


def reviewer_outputs(nb):
    """A copy of ``nb`` whose stderr streams show warnings without file names or code."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                out["text"] = tidy_warnings(out.get("text", ""))
    return nb


# ============================================================================ execution
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
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return bool(lines) and lines[0].startswith(("import ", "from "))


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


def output_warnings(nb) -> list[str]:
    """Caveats visible in the outputs: glyphs missing from a figure's font (tofu in plots)."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                if re.search(r"Glyph \d+ .* missing from (current )?font", text):
                    found.append(f"cell {i}: a figure has glyphs missing from its font "
                                 "(drawn as boxes); call plots.set_theme() before plotting")
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
        m = re.search(r"^-+> *(\d+) (.*)$", _ANSI.sub("", frame), flags=re.MULTILINE)
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
                git: str = "unknown") -> RunResult:
    """Execute one run with papermill and render its HTML; never raises for a notebook error.

    The executed notebook is written to ``.<name>.running.ipynb`` and renamed to
    ``<name>.ipynb`` on success or ``<name>.failed.ipynb`` on failure; the HTML is written
    atomically, so a failure leaves the last good ``<name>.html`` in place.

    Returns
    -------
    RunResult
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    running = out_dir / f".{run.name}.running.ipynb"
    nb_path, failed_path = out_dir / f"{run.name}.ipynb", out_dir / f"{run.name}.failed.ipynb"
    html_path = out_dir / f"{run.name}.html"
    dataset = str(run.parameters.get("dataset", ""))
    common = dict(name=run.name, notebook=run.notebook.name, dataset=dataset,
                  parameters=dict(run.parameters), fingerprint=fingerprint[0])
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    error: dict[str, Any] | None = None
    nb = None
    try:
        nb = pm.execute_notebook(str(run.notebook), str(running), parameters=dict(run.parameters),
                                 kernel_name=KERNEL_NAME, progress_bar=False,
                                 cwd=str(run.notebook.parent), execution_timeout=timeout,
                                 start_timeout=120)
    except PapermillExecutionError as exc:
        error = {"where": _where(exc.cell_index, exc.exec_count, exc.source, exc.traceback),
                 "ename": exc.ename, "evalue": _ANSI.sub("", str(exc.evalue))}
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
                 "evalue": _ANSI.sub("", str(exc)).strip()[:2000]}
    execute_s = time.perf_counter() - t0
    if error is not None:
        kept = None
        if running.exists():
            os.replace(running, failed_path)
            kept = failed_path.name
        return RunResult(**common, status="failed", started_at=started.isoformat(timespec="seconds"),
                         duration_s=execute_s, error=error, failed_notebook=kept,
                         html=html_path.name if html_path.exists() else None,
                         executed=nb_path.name if nb_path.exists() else None)

    timing = cell_timing(nb)
    overhead_s = max(execute_s - sum(timing.values()), 0.0)
    params_rows = [{"name": k, "value": repr(run.parameters[k]) if k in run.parameters
                    else default, "source": "batch" if k in run.parameters else "notebook default"}
                   for k, default in run.declared.items()]
    provenance = {"name": run.name, "notebook": run.notebook.name, "dataset": dataset or "",
                  "fingerprint": fingerprint[0], "n_files": fingerprint[1], "git_commit": git,
                  "started_at": _both_times(started),
                  "duration_s": execute_s, "overhead_s": overhead_s, **timing,
                  "parameters": params_rows, "versions": package_versions()}
    t1 = time.perf_counter()
    warnings = output_warnings(nb)
    try:
        page = render_report(nb, title=run.name, with_code=with_code, provenance=provenance,
                             resources_dir=run.notebook.parent)
        external = external_resources(page)
        boxes = missing_glyphs(_visible_text(page))
        if boxes:
            warnings.append("no embedded font draws " + " ".join(
                f"{c} U+{ord(c):04X}" for c in boxes) + " (boxes where the reader lacks a "
                "font for it, e.g. colour emoji)")
        if external:
            warnings.append("the page loads external resources: " + ", ".join(external[:5]))
        _write_text(html_path, page)
    except Exception as exc:
        os.replace(running, failed_path)
        return RunResult(**common, status="failed", started_at=started.isoformat(timespec="seconds"),
                         duration_s=execute_s, failed_notebook=failed_path.name,
                         error={"where": "HTML export", "ename": type(exc).__name__,
                                "evalue": str(exc)[:2000]},
                         html=html_path.name if html_path.exists() else None,
                         executed=nb_path.name if nb_path.exists() else None)
    os.replace(running, nb_path)
    failed_path.unlink(missing_ok=True)
    return RunResult(**common, status="ok", started_at=started.isoformat(timespec="seconds"),
                     duration_s=execute_s, **timing, overhead_s=overhead_s,
                     render_s=time.perf_counter() - t1,
                     html=html_path.name, executed=nb_path.name, warnings=tuple(warnings),
                     last_ok_at=started.isoformat(timespec="seconds"))


# ============================================================================ the batch
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
    """

    results: tuple[RunResult, ...]
    wall_s: float
    workers: int
    out_dir: Path
    index: Path

    @property
    def failed(self) -> tuple[RunResult, ...]:
        return tuple(r for r in self.results if r.status != "ok")

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_frame(self):
        """One row per run: ``name, status, duration_s, kernel_s, imports_s, compute_s,
        overhead_s, render_s, error``."""
        import pandas as pd

        cols = ["name", "status", "duration_s", "kernel_s", "imports_s", "compute_s", "overhead_s",
                "render_s"]
        rows = [{**{c: getattr(r, c) for c in cols},
                 "error": (f"{r.error['where']}: {r.error['ename']}: {r.error['evalue']}"
                           if r.error else "")} for r in self.results]
        return pd.DataFrame(rows, columns=[*cols, "error"])


def _warm_up() -> None:
    """Import the HTML machinery and read the font tables while the first kernel starts."""
    try:
        _exporter(False)
        _coverage()
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
              heartbeat_s: float = 15.0) -> BatchResult:
    """Execute the runs of ``cfg`` in parallel, render their HTML and write the index.

    Parameters
    ----------
    cfg : BatchConfig
        From :func:`load_config`.
    out_dir : str or Path
        Where reports go (default ``reports/``).
    only : list of str, optional
        Glob patterns of run names (or ``batch.yml`` entry names) to run; the others keep their
        last record in the index.
    workers : int, optional
        Parallel runs (default: the number of CPU cores, at most the number of runs).
    with_code : bool
        Keep code cells in the HTML.
    log : callable
        Receives progress lines (default ``print``).
    heartbeat_s : float
        Seconds between "still running" lines.

    Returns
    -------
    BatchResult
    """
    out_dir = Path(out_dir)
    runs = select_runs(cfg.runs, only)
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
    queue = list(runs)
    running: dict[cf.Future, tuple[Run, float]] = {}
    done_count = 0
    with _pool(n_workers) as pool:
        while queue or running:
            while queue and len(running) < n_workers:
                run = queue.pop(0)
                fp = fingerprints[str(run.parameters.get("dataset", cfg.dataset))]
                fut = pool.submit(execute_run, run, out_dir=out_dir, with_code=with_code,
                                  timeout=run.timeout or cfg.timeout, fingerprint=fp, git=git)
                running[fut] = (run, time.perf_counter())
                log(f"  start  {run.name}  {json.dumps(_shown_params(run.parameters), ensure_ascii=False)}")
            finished, _ = cf.wait(running, timeout=heartbeat_s, return_when=cf.FIRST_COMPLETED)
            if not finished:
                now = time.perf_counter()
                log("  ... still running: " + ", ".join(
                    f"{r.name} ({now - s:.0f} s)" for r, s in running.values()))
            for fut in finished:
                run, _ = running.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # a worker process died: isolate it too
                    res = RunResult(name=run.name, notebook=run.notebook.name,
                                    dataset=str(run.parameters.get("dataset", "")),
                                    parameters=dict(run.parameters), status="failed",
                                    error={"where": "worker process", "ename": type(exc).__name__,
                                           "evalue": str(exc)})
                results[run.name] = res
                done_count += 1
                log(f"  [{done_count}/{len(runs)}] {_result_line(res)}  "
                    f"(elapsed {time.perf_counter() - t0:.0f} s)")
    wall = time.perf_counter() - t0
    ordered = tuple(results[r.name] for r in runs)
    index = write_index(cfg, ordered, out_dir=out_dir, wall_s=wall, workers=n_workers,
                        started_at=started, git=git)
    return BatchResult(results=ordered, wall_s=wall, workers=n_workers, out_dir=out_dir,
                       index=index)


def _shown_params(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as listed in progress lines and the index (the dataset has its own column)."""
    return {k: v for k, v in parameters.items() if k != "dataset"}


def _result_line(r: RunResult) -> str:
    if r.status == "ok":
        extra = f"  warnings: {len(r.warnings)}" if r.warnings else ""
        return (f"ok     {r.name}  {r.duration_s:.1f} s (kernel {r.kernel_s:.1f}, imports "
                f"{r.imports_s:.1f}, cells {r.compute_s:.1f}, papermill {r.overhead_s:.1f}) "
                f"+ html {r.render_s:.1f} s{extra}")
    err = r.error or {}
    return f"FAILED {r.name}  {err.get('where', '')}: {err.get('ename', '')}: " \
           f"{(err.get('evalue') or '').splitlines()[0] if err.get('evalue') else ''}"


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
    page = _jinja().get_template("batch_index.html.j2").render(
        rows=[{**r.to_dict(), "parameters": _shown_params(r.parameters),
               "dataset_name": Path(r.dataset).name if r.dataset else "",
               "started_at": f"{datetime.fromisoformat(r.started_at).astimezone(zone):%Y-%m-%d %H:%M}"
               if r.started_at else ""} for r in rows],
        zone=config.TIMEZONE,
        counts=counts, notes=cfg.notes, font_placeholder=FONT_PLACEHOLDER,
        css=(TEMPLATES_DIR / "report.css").read_text(encoding="utf-8"),
        batch={**last_batch,
               "started_at": _both_times(datetime.fromisoformat(last_batch["started_at"]))})
    _write_text(out_dir / MANIFEST_NAME, json.dumps(
        {"batch": last_batch, "runs": {k: v.to_dict() for k, v in manifest.items()}},
        ensure_ascii=False, indent=1))
    index = out_dir / INDEX_NAME
    _write_text(index, _embed_font(page)[0])
    return index


def _both_times(t: datetime) -> str:
    """``2026-11-22 11:16:19 UTC (2026-11-22 19:16 Asia/Shanghai)``: UTC and the data's zone."""
    local = t.astimezone(ZoneInfo(config.TIMEZONE))
    return f"{t.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC ({local:%Y-%m-%d %H:%M} {config.TIMEZONE})"


def _write_text(target: Path, text: str) -> None:
    """Write ``text`` atomically (the old file survives a crash), readable by everyone like any
    report (``atomic_path``'s temporary file is private)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)


def summary_text(result: BatchResult) -> str:
    """The closing summary printed by the command line: counts, timing, and each failure."""
    res = result.results
    lines = [f"batch finished in {result.wall_s:.1f} s on {result.workers} worker(s): "
             f"{sum(r.status == 'ok' for r in res)} ok, {len(result.failed)} failed; "
             f"index: {result.index}"]
    ok = [r for r in res if r.status == "ok"]
    if ok:
        lines.append(
            "time summed over runs: kernel start+stop {:.1f} s, imports {:.1f} s, cells {:.1f} s, "
            "papermill {:.1f} s, html {:.1f} s".format(*(sum(getattr(r, f) for r in ok) for f in (
                "kernel_s", "imports_s", "compute_s", "overhead_s", "render_s"))))
    for r in result.failed:
        err = r.error or {}
        lines.append(f"FAILED {r.name}: {err.get('where', '')}\n    {err.get('ename', '')}: "
                     f"{err.get('evalue', '')}")
        if r.failed_notebook:
            lines.append(f"    executed notebook kept: {result.out_dir / r.failed_notebook}")
        lines.append("    last good HTML kept: " + (str(result.out_dir / r.html) if r.html else "none"))
    return "\n".join(lines)


# ============================================================================ command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m helpers.batch",
                                description="Render the reports of notebooks/batch.yml to HTML "
                                            "(reports/index.html lists them).")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="batch file (default: %(default)s)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this report (glob pattern or batch.yml entry name; repeatable)")
    p.add_argument("--dataset", metavar="NAME",
                   help="dataset for every run: a folder under data/raw/ or a path")
    p.add_argument("--workers", type=int, metavar="N",
                   help="parallel runs (default: number of CPU cores)")
    p.add_argument("--with-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--out", default=str(config.REPORTS_DIR),
                   help="output folder (default: %(default)s)")
    p.add_argument("--list", action="store_true", help="print the expanded runs and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 a run failed, 2 bad config)."""
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config, dataset=args.dataset)
        runs = select_runs(cfg.runs, args.only)
        if args.list:
            for r in runs:
                print(f"{r.name}\t{r.notebook.name}\t{json.dumps(r.parameters, ensure_ascii=False)}")
            return 0
        for note in cfg.notes:
            print(f"note: {note}")
        result = run_batch(cfg, out_dir=args.out, only=args.only, workers=args.workers,
                           with_code=args.with_code, log=lambda s: print(s, flush=True))
    except (BatchConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary_text(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
