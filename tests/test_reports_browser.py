"""Reports as a reviewer sees them: opened in headless Chromium with networking off.

For each page (``index.html`` and every report) the browser must show: no request leaving the
machine, nothing that failed to load, no script error, the embedded CJK font loaded, and Chinese
characters drawn as glyphs, not as boxes ("tofu"). Screenshots go to ``reports/screenshots/``.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it). Without it the tests are
skipped with the reason printed; under ``CI=true`` a missing Chromium is a failure.

The browser is driven through the DevTools protocol over ``--remote-debugging-pipe`` (JSON
messages separated by NUL bytes on file descriptors 3 and 4): stdlib only, no websocket client.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import batch, config, plots

SCREENSHOTS = config.REPORTS_DIR / "screenshots"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    # networking off: every http(s) request goes to a proxy that does not exist, and no host
    # name resolves, so anything a page tries to fetch from outside fails (and is reported)
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--window-size=1280,900", "--remote-debugging-pipe",
]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
CJK_SAMPLE = "社群留存率海报裂变邀请码自然流量实验摘要"

# ----------------------------------------------------------------------------- the browser

def chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


class Chromium:
    """A headless Chromium driven over the DevTools pipe (a minimal CDP client)."""

    def __init__(self, exe: str, user_data_dir: Path, log_path: Path):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # move the child's ends above 10 so bash can place them on 3 and 4 without clashes
        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        self._log = open(log_path, "wb")
        cmd = ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{hi_r} 4>&{hi_w} {hi_r}<&- {hi_w}>&-', exe,
               *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"]
        self.proc = subprocess.Popen(cmd, pass_fds=(hi_r, hi_w), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        os.close(hi_r)
        os.close(hi_w)
        self._w = os.fdopen(to_child_w, "wb", buffering=0)
        self._r = os.fdopen(from_child_r, "rb", buffering=0)
        self._id = 0
        self._replies: dict[int, queue.Queue] = {}
        self.events: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        buf = b""
        while True:
            chunk = self._r.read(1 << 16)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    self.events.put(msg)

    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 60.0) -> dict:
        with self._lock:
            self._id += 1
            mid = self._id
            q = self._replies[mid] = queue.Queue()
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._w.write(json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no reply to {method} within {timeout} s") from None
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def open_page(self, url: str, *, screenshot: Path | None = None,
                  settle_s: float = 0.5, timeout: float = 60.0,
                  probe_js: str | None = None) -> dict:
        """Load ``url`` in a new tab; return what went wrong and what the page shows.

        Returns
        -------
        dict
            ``requests`` (every URL requested), ``external`` (requests leaving the machine),
            ``failed`` (loads that failed), ``errors`` (script exceptions, console and log
            errors), ``fonts`` (FontFace family -> status), ``glyphs`` (the tofu check),
            ``title``, and ``extra``: the value of ``probe_js`` (an expression returning
            something JSON-serialisable) when given.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        while not self.events.empty():  # forget events of earlier pages
            self.events.get_nowait()
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        requests: dict[str, str] = {}
        failed, errors = [], []
        loaded = False
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            try:
                ev = self.events.get(timeout=0.1)
            except queue.Empty:
                if loaded and quiet_since is None:
                    quiet_since = time.monotonic()
                if loaded and time.monotonic() - quiet_since >= settle_s:
                    break
                continue
            quiet_since = None
            if ev.get("sessionId") != session:
                continue
            method, p = ev["method"], ev.get("params", {})
            if method == "Page.loadEventFired":
                loaded = True
            elif method == "Network.requestWillBeSent":
                requests[p["requestId"]] = p["request"]["url"]
            elif method == "Network.loadingFailed":
                failed.append(f"{requests.get(p['requestId'], '?')[:120]}: {p.get('errorText')}")
            elif method == "Network.responseReceived" and p["response"].get("status", 200) >= 400:
                failed.append(f"{p['response']['url'][:120]}: HTTP {p['response']['status']}")
            elif method == "Runtime.exceptionThrown":
                errors.append(json.dumps(p["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
                errors.append(json.dumps(p.get("args"))[:300])
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(p["entry"].get("text", "")[:300])
        if not loaded:
            raise TimeoutError(f"{url} did not finish loading within {timeout} s")
        probe = self.send("Runtime.evaluate", {"expression": _PROBE_JS, "awaitPromise": True,
                                               "returnByValue": True}, session=session)
        if "exceptionDetails" in probe:
            raise RuntimeError(f"probe script failed: {probe['exceptionDetails']}")
        result = probe["result"]["value"]
        if probe_js is not None:
            extra = self.send("Runtime.evaluate", {"expression": probe_js, "awaitPromise": True,
                                                   "returnByValue": True}, session=session)
            if "exceptionDetails" in extra:
                raise RuntimeError(f"probe script failed: {extra['exceptionDetails']}")
            result["extra"] = extra["result"].get("value")
        if screenshot is not None:
            size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = self.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": min(size["width"], 1280),
                         "height": min(size["height"], 8000), "scale": 1}}, session=session)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        self.send("Target.closeTarget", {"targetId": target})
        urls = list(requests.values())
        return {**result, "requests": urls, "failed": failed, "errors": errors,
                "external": [u for u in urls if not u.startswith(LOCAL_SCHEMES)]}


# Runs in the page: which fonts loaded, and whether characters are drawn as real glyphs.
# Each distinct non-ASCII character of the page (up to 400) is drawn on a canvas in the body's
# font stack and compared with a character no font has (U+10FFFD, drawn as the .notdef box or
# nothing): a character drawn as a box ("tofu") looks exactly like it. The same check in plain
# 'sans-serif' is the negative control (boxes, on a machine without CJK fonts).
_PROBE_JS = r"""
(async () => {
  await document.fonts.ready;
  const fonts = {};
  document.fonts.forEach(f => { fonts[f.family.replace(/"/g, '')] = f.status; });
  const family = getComputedStyle(document.body).fontFamily;
  const text = document.body.innerText;
  const chars = [...new Set([...text].filter(c => c.codePointAt(0) > 127
                                          && /[\p{L}\p{N}\p{P}\p{S}]/u.test(c)))].slice(0, 400);
  const draw = (ch, fam) => {
    const c = document.createElement('canvas'); c.width = 48; c.height = 48;
    const ctx = c.getContext('2d'); ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 48, 48);
    ctx.fillStyle = '#000'; ctx.font = '40px ' + fam; ctx.textBaseline = 'top';
    ctx.fillText(ch, 2, 2);
    const d = ctx.getImageData(0, 0, 48, 48).data; let ink = 0, h = 0;
    for (let i = 0; i < d.length; i += 4) { if (d[i] < 128) { ink++; h = (h * 31 + i) | 0; } }
    return {ink, sig: ink + ':' + h};
  };
  const check = fam => {
    const tofu = draw(String.fromCodePoint(0x10FFFD), fam).sig;
    const boxes = chars.filter(ch => { const s = draw(ch, fam); return s.sig === tofu || s.ink === 0; });
    return {n: chars.length, boxes: boxes.join('')};
  };
  return {title: document.title, fonts, family, chars: chars.join(''), text,
          glyphs: check(family), fallback: check('sans-serif'),
          images: [...document.images].map(i => i.complete && i.naturalWidth > 0)};
})()
"""
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def require_chromium() -> str:
    """Chromium's path; else skip with the reason printed, or fail under ``CI=true``."""
    exe = chromium_path()
    if exe is None:
        reason = ("chromium not found (install Debian's package: apt-get install -y chromium); "
                  "the reports were not checked in a browser")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    return exe


def test_missing_chromium_skips_on_a_laptop_and_fails_under_ci(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not found"):
        require_chromium()
    assert "SKIPPED: chromium not found" in capsys.readouterr().out
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but chromium not found"):
        require_chromium()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = require_chromium()
    folder = tmp_path_factory.mktemp("chromium")
    b = Chromium(exe, folder / "profile", folder / "chromium.log")
    try:
        b.send("Browser.getVersion", timeout=60)
        yield b
    finally:
        b.close()


def assert_renders_offline(page: dict, name: str) -> None:
    """The reviewer's view of one page: everything local, loaded, and CJK drawn as glyphs."""
    assert page["external"] == [], f"{name}: requests leaving the machine: {page['external']}"
    assert page["failed"] == [], f"{name}: failed to load: {page['failed']}"
    assert page["errors"] == [], f"{name}: errors in the page: {page['errors']}"
    assert all(page["images"]), f"{name}: an image did not load"
    assert page["fonts"].get(batch.EMBEDDED_FONT_FAMILY) == "loaded", \
        f"{name}: embedded font not loaded: {page['fonts']}"
    boxes = page["glyphs"]["boxes"]
    assert CJK.search(page["chars"]), f"{name}: no Chinese text found on the page"
    assert not CJK.search(boxes), \
        f"{name}: Chinese drawn as boxes: {boxes!r} in font {page['family']}"
    # other characters may lack a font only if the batch said so (a warning in the index)
    assert set(boxes) <= set(batch.missing_glyphs(page["text"])), \
        f"{name}: drawn as boxes without a warning from the batch: {boxes!r}"
    if boxes:
        print(f"{name}: drawn as boxes in this browser (no font has them; the batch warns): "
              f"{boxes}")


# ----------------------------------------------------------------------------- tiny reports
def _png_with_chinese_labels() -> str:
    plots.set_theme()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["海报裂变", "邀请码", "自然流量"], [0.42, 0.35, 0.28])
    ax.set_title("30 日留存率（按渠道）")
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def executed_notebook() -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: summary, table and a figure with Chinese labels."""
    table = pd.DataFrame({"渠道": ["海报裂变", "邀请码"], "留存率": [0.42, 0.35]})
    cells = [
        new_markdown_cell("# 社群留存 Tiny report\n这份报告只用于测试。"),
        new_code_cell('dataset: str = "demo"  # dataset', metadata={"tags": ["parameters"]},
                      execution_count=1),
        new_code_cell("Markdown(summary)", execution_count=2, outputs=[new_output(
            "display_data", data={"text/markdown": "## 摘要 Summary\n✅ 实验组的留存率**提升 12%**"
                                                   "（χ² → 95% CI −1.2 ≤ x）。",
                                  "text/plain": "<Markdown>"})]),
        new_code_cell("table", execution_count=3, outputs=[new_output(
            "execute_result", execution_count=3,
            data={"text/html": table.to_html(), "text/plain": table.to_string()})]),
        new_code_cell("plots.plot_something(data)", execution_count=4, outputs=[new_output(
            "display_data", data={"image/png": _png_with_chinese_labels(),
                                  "text/plain": "<Figure>"})]),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


@pytest.fixture(scope="module")
def tiny_reports(tmp_path_factory):
    """One report rendered from a hand-made executed notebook, and an index listing it."""
    out = tmp_path_factory.mktemp("tiny_reports")
    nb_file = out / "tiny.ipynb"
    nbformat.write(executed_notebook(), nb_file)
    page = batch.render_report(executed_notebook(), title="tiny", provenance=None)
    (out / "tiny.html").write_text(page, encoding="utf-8")
    run = batch.Run(name="tiny", notebook=nb_file, parameters={"dataset": "demo"})
    cfg = batch.BatchConfig(path=out / "batch.yml", dataset="demo", timeout=60, runs=(run,))
    result = batch.RunResult(name="tiny", notebook="tiny.ipynb", dataset="demo",
                             parameters={"dataset": "demo"}, status="ok", duration_s=1.0,
                             html="tiny.html")
    batch.write_index(cfg, [result], out_dir=out)
    return out


def test_tiny_report_and_index_render_offline_with_chinese(browser, tiny_reports):
    for name in ("index.html", "tiny.html"):
        page = browser.open_page((tiny_reports / name).as_uri(),
                                 screenshot=SCREENSHOTS / f"tiny_{name}.png")
        assert_renders_offline(page, name)
    assert (SCREENSHOTS / "tiny_tiny.html.png").stat().st_size > 5_000


def test_the_checks_can_fail(browser, tmp_path):
    """Negative controls: a CDN script is caught, and CJK without the embedded font is tofu."""
    page = tmp_path / "cdn.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8">'
                    '<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/'
                    'require.min.js"></script></head><body><p>社群留存率报告</p></body></html>',
                    encoding="utf-8")
    seen = browser.open_page(page.as_uri())
    assert seen["external"] and seen["failed"], seen
    assert seen["fonts"] == {}
    if not _system_has_cjk_font():
        # no embedded font and no system CJK font: the probe must see boxes
        assert seen["glyphs"]["boxes"] == seen["chars"] == "社群留存率报告"


def _system_has_cjk_font() -> bool:
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # unknown: do not assert the negative control
    return bool(out.strip())


# ----------------------------------------------------------------------------- the real batch
REAL_NOTEBOOKS = ("01_cohort_retention.ipynb", "02_churn_survival.ipynb",
                  "03_activity_ab_test.ipynb")
ALL_NOTEBOOKS = sorted(p.name.removesuffix(".ipynb") for p in config.NOTEBOOKS_DIR.glob("*.ipynb"))
LANGS = ("zh", "en")


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory, demo_dir):
    """The whole demo batch, both languages (reports/zh, reports/en and one index)."""
    missing = [n for n in REAL_NOTEBOOKS if not (config.NOTEBOOKS_DIR / n).exists()]
    if missing:
        pytest.skip(f"notebooks not written yet: {', '.join(missing)}")
    out = tmp_path_factory.mktemp("demo_reports")
    cfg = batch.load_config(batch.DEFAULT_CONFIG, dataset=str(demo_dir))
    result = batch.run_batch(cfg, out_dir=out, log=print)
    print(batch.summary_text(result))
    return result


def test_demo_batch_renders_and_opens_offline(browser, demo_batch):
    result = demo_batch
    assert result.ok, batch.summary_text(result)
    names = [r.name for r in result.results]
    assert any(n.startswith("01_") for n in names) and any(n.startswith("02_") for n in names)
    for lang in {r.language for r in result.results if r.name.startswith("03_ab_")}:
        ab = [r for r in result.results if r.name.startswith("03_ab_") and r.language == lang]
        assert len(ab) == 3  # one per demo experiment (in each language)
    pages = ["index.html", *(r.html for r in result.results)]
    for name in pages:
        seen = browser.open_page((result.out_dir / name).as_uri(),
                                 screenshot=SCREENSHOTS / f"demo_{name.replace('/', '_')}.png")
        assert_renders_offline(seen, name)
        html = (result.out_dir / name).read_text(encoding="utf-8")
        if name != "index.html":
            assert not re.search(r'<div class="[^"]*\bjp-InputArea-editor\b', html), \
                f"{name}: code cells in a reviewer report"
            assert 'id="provenance"' in html


def _demo_run(result, stem: str, language: str):
    runs = [r for r in result.results if r.notebook == f"{stem}.ipynb"
            and r.language in (language, "")]
    if not runs:
        pytest.skip(f"{stem} is not in the batch")
    return runs


_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def chinese_share(text: str) -> float:
    """Share of Chinese characters among the letters of ``text`` (a word of Latin counts once)."""
    han = len(_HAN.findall(text))
    words = len(re.findall(r"[A-Za-z]+", text))
    return han / (han + words) if han + words else 0.0


@pytest.mark.parametrize("stem", ALL_NOTEBOOKS)
@pytest.mark.parametrize("language", LANGS)
def test_each_report_in_its_language_without_latex_or_internal_references(demo_batch, stem,
                                                                          language):
    """zh pages are mostly Chinese and say so (<html lang="zh-CN">), en pages lang="en"; no
    page shows LaTeX source, an internal file reference, nan/inf or a traceback."""
    for r in _demo_run(demo_batch, stem, language):
        assert r.status == "ok", batch.summary_text(demo_batch)
        page = (demo_batch.out_dir / r.html).read_text(encoding="utf-8")
        problems = batch.reviewer_text_problems(page)
        assert not problems, f"{r.html}: " + "; ".join(problems)
        if not r.language:
            pytest.xfail(f"{stem} has no language parameter yet (one page, its own language)")
        lang = re.search(r'<html lang="([^"]+)"', page).group(1)
        assert lang == {"zh": "zh-CN", "en": "en"}[language], r.html
        # the prose: tables hold names from the data (Chinese channel names on English pages)
        prose = re.sub(r"<table\b.*?</table>", " ", page[:page.find('id="provenance"')], flags=re.S)
        share = chinese_share(batch.visible_text(prose))
        if language == "zh":
            assert share > 0.6, f"{r.html}: only {share:.0%} of the text is Chinese"
        else:
            assert share < 0.3, f"{r.html}: {share:.0%} of the English page is Chinese"


_LAYOUT_JS = """
(() => {
  const shown = [...document.querySelectorAll('section')].filter(
      s => getComputedStyle(s).display !== 'none').map(s => s.id);
  const tiles = [...document.querySelectorAll('.kpi-tile')].map(e => {
      const b = e.getBoundingClientRect(); return {key: e.dataset.indicator, bottom: b.bottom}; });
  return {shown, tiles, scrollWidth: document.documentElement.scrollWidth,
          lang: document.documentElement.lang};
})()
"""


def test_index_switches_language_and_fits_a_laptop_screen(browser, demo_batch):
    index = demo_batch.out_dir / "index.html"
    zh = browser.open_page(index.as_uri(), probe_js=_LAYOUT_JS,
                           screenshot=SCREENSHOTS / "demo_index_zh.png")["extra"]
    assert zh["scrollWidth"] <= 1280, f"the index is {zh['scrollWidth']} px wide"
    if not any(r.language for r in demo_batch.results):
        pytest.skip("no notebook has a language parameter yet")
    assert zh["lang"] == "zh-CN" and zh["shown"][0] == "lang-zh" and "lang-en" not in zh["shown"]
    en = browser.open_page(index.as_uri() + "#lang-en", probe_js=_LAYOUT_JS,
                           screenshot=SCREENSHOTS / "demo_index_en.png")["extra"]
    assert "lang-en" in en["shown"] and "lang-zh" not in en["shown"]
    page = index.read_text(encoding="utf-8")
    for r in demo_batch.results:
        assert f'href="{r.html}"' in page
    text = batch.visible_text(page)
    assert "社群分析报告" in text and "Community analytics reports" in text
    assert "报告" in text and "状态" in text and "Status" in text  # table headers in words


@pytest.mark.parametrize("language", LANGS)
def test_overview_indicators_are_on_the_first_screen(browser, demo_batch, language):
    runs = _demo_run(demo_batch, "00_overview", language)
    seen = browser.open_page((demo_batch.out_dir / runs[0].html).as_uri(), probe_js=_LAYOUT_JS,
                             screenshot=SCREENSHOTS / f"demo_overview_{language}.png")
    assert_renders_offline(seen, runs[0].html)
    tiles = seen["extra"]["tiles"]
    assert len(tiles) >= 4, f"indicator tiles found: {tiles}"
    assert max(t["bottom"] for t in tiles) <= 800, f"below the first 800 px: {tiles}"


# ----------------------------------------------------------------------------- hostile names
XSS = {
    "script": '<script>window.__xss=(window.__xss||0)+1</script>',
    "img": '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
    "iframe": '<iframe src="javascript:parent.__xss=(parent.__xss||0)+1"></iframe>',
    "handler": '<b onmouseover="window.__xss=1" onclick="window.__xss=1">x</b>',
    "svg": '<svg onload="window.__xss=(window.__xss||0)+1"></svg>',
}
ODD = {"emoji": "🎉 拼团 🎉", "spaces": "  邀 请  ", "markdown": "a|b *c* _d_ $5"}


def hostile_dataset(folder: Path) -> dict[str, str]:
    """The small synthetic community with hostile and odd names in every name column.

    Returns the names used: ``{kind: name}``.
    """
    from helpers import synth

    synth.write_community(folder, n_members=600, days=120, n_groups=12, seed=7)
    members = pd.read_csv(folder / "members.csv", dtype=str, keep_default_na=False)
    channels = sorted(members["channel"].unique())
    names = {}
    mapping = {}
    order = ["script", "img", "emoji", "markdown", "iframe", "handler", "spaces", "svg"]
    payloads = {**XSS, **ODD}
    for ch, kind in zip(channels, order):
        payload = payloads[kind]
        mapping[ch] = f"{payload}{ch}" if kind in XSS else payload
        names[f"channel_{kind}"] = mapping[ch]
    members["channel"] = members["channel"].map(lambda c: mapping.get(c, c))
    groups = sorted(members["group_id"].unique())
    gmap = {groups[0]: XSS["img"] + "群", groups[1]: XSS["script"] + "群"}
    members["group_id"] = members["group_id"].map(lambda g: gmap.get(g, g))
    if "platform" in members:
        members["platform"] = members["platform"].replace({members["platform"].iloc[0]:
                                                           XSS["handler"] + "平台"})
    members.to_csv(folder / "members.csv", index=False)
    exps = pd.read_csv(folder / "experiments.csv", dtype=str, keep_default_na=False)
    emap = {e: f"{XSS['script']}{e}" if i == 0 else e for i, e in enumerate(exps["experiment_id"])}
    exps["experiment_id"] = exps["experiment_id"].map(emap)
    exps["name"] = XSS["iframe"] + exps["name"]
    names["experiment_id"] = exps["experiment_id"].iloc[0]
    exps.to_csv(folder / "experiments.csv", index=False)
    asg = pd.read_csv(folder / "assignments.csv", dtype=str, keep_default_na=False)
    asg["experiment_id"] = asg["experiment_id"].map(emap)
    asg.loc[asg["unit_id"].isin(list(gmap)), "unit_id"] = asg["unit_id"].map(gmap)
    asg.to_csv(folder / "assignments.csv", index=False)
    acts = pd.read_csv(folder / "activities.csv", dtype=str, keep_default_na=False)
    acts["name"] = XSS["svg"] + acts["name"]
    acts.loc[acts["group_id"].isin(list(gmap)), "group_id"] = acts["group_id"].map(gmap)
    acts.to_csv(folder / "activities.csv", index=False)
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    if "group_id" in events:
        events["group_id"] = events["group_id"].map(lambda g: gmap.get(g, g))
        events.to_csv(folder / "events.csv", index=False)
    return names


_INJECTED_JS = """
(() => {
  const onAttrs = [...document.querySelectorAll('*')].filter(
      e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).map(e => e.tagName);
  return {xss: window.__xss || 0,
          scripts: document.querySelectorAll('script').length,
          iframes: document.querySelectorAll('iframe, frame, object, embed').length,
          svg_handlers: document.querySelectorAll('svg[onload]').length,
          on_attrs: onAttrs,
          foreign_images: [...document.images].map(i => i.getAttribute('src') || '')
                          .filter(s => !s.startsWith('data:')),
          text: document.body.innerText};
})()
"""


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    missing = [n for n in REAL_NOTEBOOKS if not (config.NOTEBOOKS_DIR / n).exists()]
    if missing:
        pytest.skip(f"notebooks not written yet: {', '.join(missing)}")
    root = tmp_path_factory.mktemp("hostile")
    names = hostile_dataset(root / "data")
    cfg = batch.load_config(batch.DEFAULT_CONFIG, dataset=str(root / "data"))
    result = batch.run_batch(cfg, out_dir=root / "reports", log=print, languages=("zh",))
    print(batch.summary_text(result))
    return result, names


def test_hostile_names_are_text_never_markup(browser, hostile_batch):
    """Reports built from names carrying <script>, <img onerror>, <iframe>, <svg onload> and
    event-handler attributes: no script ran, no injected element exists, the names read as
    text; odd but honest names (emoji, spaces, | * _ $) display as written."""
    result, names = hostile_batch
    pages = ["index.html", *(r.html for r in result.results if r.html)]
    texts = {}
    for name in pages:
        seen = browser.open_page((result.out_dir / name).as_uri(), probe_js=_INJECTED_JS,
                                 screenshot=SCREENSHOTS / f"hostile_{name.replace('/', '_')}.png")
        x = seen["extra"]
        assert x["xss"] == 0, f"{name}: an injected script ran"
        assert x["scripts"] == 0 and x["iframes"] == 0 and x["svg_handlers"] == 0, (name, x)
        assert x["on_attrs"] == [], f"{name}: elements with event handlers: {x['on_attrs']}"
        assert x["foreign_images"] == [], f"{name}: images from outside: {x['foreign_images']}"
        assert seen["errors"] == [] and seen["failed"] == [], (name, seen["errors"], seen["failed"])
        texts[name] = x["text"]
    # the names are readable: the experiment id in the index, the channels in the reports
    assert names["experiment_id"] in texts["index.html"]
    reports = "\n".join(v for k, v in texts.items() if k != "index.html")
    for kind in ("channel_script", "channel_img", "channel_emoji", "channel_markdown"):
        if kind in names:
            assert names[kind] in reports, f"{names[kind]!r} is not shown as written"
    assert result.ok, batch.summary_text(result)
