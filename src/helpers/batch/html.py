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
from ._common import FONT_PLACEHOLDER, TEMPLATES_DIR, jinja_env
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


def exporter(with_code: bool):
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


def jinja_env():
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
    prov_html = (jinja_env().get_template("provenance.html.j2").render(p=provenance)
                 if provenance else "")
    resources = {"metadata": {"name": title,
                              "path": str(resources_dir or config.NOTEBOOKS_DIR)},
                 "report": {"css": css, "font_placeholder": FONT_PLACEHOLDER,
                            "provenance_html": prov_html}}
    if not with_code:
        nb = reviewer_outputs(nb)
    body, _ = exporter(with_code).from_notebook_node(nb, resources=resources)
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

