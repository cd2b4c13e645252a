"""Self-contained HTML for reviewers: nbconvert's lab template without CDN scripts (require.js,
MathJax, Mermaid, widgets), code cells hidden unless asked, markdown images inlined, the fonts
embedded, a provenance section at the end; and the checks a page is held to (external loads,
visible text)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from .. import config
from .._format import LANGUAGES, check_language
from ._common import FONT_PLACEHOLDER, TEMPLATES_DIR, jinja_env
from ._messages import HTML_LANG, translator
from .fonts import embed_font

#: cell tags honoured when rendering (the jupyter-book convention)
REMOVE_CELL_TAGS = ("remove-cell", "remove_cell")
REMOVE_INPUT_TAGS = ("remove-input", "remove_input", "hide-input")
REMOVE_OUTPUT_TAGS = ("remove-output", "remove_output")


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


def visible_text(page: str) -> str:
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


def language_tags(language: str) -> tuple[str, ...]:
    """Cell tags removed when rendering ``language``: the other languages' prose cells.

    Examples
    --------
    >>> language_tags("zh"), language_tags("")
    (('lang-en',), ())
    """
    return tuple(f"lang-{other}" for other in LANGUAGES if language and other != language)


def exporter(with_code: bool, language: str = ""):
    """nbconvert's HTML exporter with our template; removes tagged cells (and the other
    language's prose cells: ``TagRemovePreprocessor``)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES_DIR)],
                            exclude_input=not with_code, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=REMOVE_CELL_TAGS + language_tags(language),
                              remove_input_tags=REMOVE_INPUT_TAGS,
                              remove_all_outputs_tags=REMOVE_OUTPUT_TAGS), enabled=True)
    return exporter


def render_report(nb, *, title: str, with_code: bool = False,
                  provenance: dict[str, Any] | None = None,
                  resources_dir: str | Path | None = None, language: str = "",
                  index_href: str | None = None) -> str:
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
    language : {"zh", "en", ""}
        The report's language: cells tagged ``lang-<other>`` are removed, ``<html lang>`` and
        the provenance words follow it; ``""`` (a notebook without languages) keeps every cell
        and writes English furniture.
    index_href : str, optional
        Link back to the index at the top of the page (e.g. ``../index.html``).

    Returns
    -------
    str
        The HTML page: no scripts from CDNs, figures as embedded PNG, a font subset embedded.
    """
    if language:
        check_language(language)
    t = translator(language)
    css = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    prov_html = (jinja_env().get_template("provenance.html.j2").render(p=provenance, t=t)
                 if provenance else "")
    resources = {"metadata": {"name": title,
                              "path": str(resources_dir or config.NOTEBOOKS_DIR)},
                 "language_code": HTML_LANG[language or "en"],
                 "report": {"css": css, "font_placeholder": FONT_PLACEHOLDER,
                            "provenance_html": prov_html, "index_href": index_href,
                            "back_label": t("back_to_index")}}
    if not with_code:
        nb = reviewer_outputs(nb)
    body, _ = exporter(with_code, language).from_notebook_node(nb, resources=resources)
    # nbconvert's language_code takes ISO 639-1 codes only ("zh", not "zh-CN"): set it here
    body = re.sub(r'<html lang="[^"]*"', f'<html lang="{HTML_LANG[language or "en"]}"', body,
                  count=1)
    return embed_font(body)[0]


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



_LATEX = re.compile(r"\$\$|\\(?:frac|sum|alpha|beta|theta|sigma|mu|hat|bar|sqrt|cdot|times|"
                    r"leq|geq|le|ge|approx|mathrm|text|operatorname|left|right)\b|\$[^$\n]*[\\^_{][^$\n]*\$")
_INTERNAL = re.compile(r"\b[\w/.-]+\.(?:md|py)\b|\bhelpers\.\w+|\bDESIGN\b|§\s*\d")
_RAW_VALUE = re.compile(r"(?<![\w.])(?:nan|NaN|NaT|inf|-inf|<NA>)(?![\w.])")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\b\w+Error: ")


def reviewer_text_problems(page: str) -> list[str]:
    """What a reviewer should not read in a report page (above its provenance section):
    LaTeX source, internal file or module references, raw ``nan``/``inf`` values, tracebacks.
    (Warning streams are checked on the executed notebook: :func:`helpers.batch.output_warnings`
    and the thin-export tests.)

    Returns
    -------
    list of str
        One sentence per kind of problem, quoting up to three examples; empty when clean.

    Examples
    --------
    >>> reviewer_text_problems("<p>lift $\\\\hat\\\\theta$ see DESIGN.md §4, rate nan</p>")[0][:40]
    'LaTeX source shown as text: $\\\\hat\\\\theta$'
    >>> reviewer_text_problems("<p>留存率 38.9%（95% 置信区间 36.1%–41.8%）</p>")
    []
    """
    cut = page.find('id="provenance"')
    text = visible_text(page[:cut] if cut >= 0 else page)
    found = []
    for label, pattern in (("LaTeX source shown as text", _LATEX),
                           ("internal file or module reference", _INTERNAL),
                           ("raw missing or infinite value", _RAW_VALUE),
                           ("traceback", _TRACEBACK)):
        hits = list(dict.fromkeys(m.group(0) for m in pattern.finditer(text)))
        if hits:
            found.append(f"{label}: " + ", ".join(repr(h) if len(h) < 3 else h for h in hits[:3]))
    return found


def report_title(nb, language: str = "") -> str:
    """The first level-1 heading of the notebook's prose in ``language`` (cells tagged for
    another language skipped), as plain text; ``""`` when there is none.

    Examples
    --------
    >>> from nbformat.v4 import new_markdown_cell, new_notebook
    >>> nb = new_notebook(cells=[new_markdown_cell("# Retention", metadata={"tags": ["lang-en"]}),
    ...                          new_markdown_cell("# 留存 **分析**", metadata={"tags": ["lang-zh"]})])
    >>> report_title(nb, "zh"), report_title(nb, "en")
    ('留存 分析', 'Retention')
    """
    drop = set(language_tags(language)) | set(REMOVE_CELL_TAGS)
    for cell in nb.cells:
        if cell.cell_type != "markdown" or drop & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return re.sub(r"[*_`]+", "", line[2:]).strip()
    return ""
