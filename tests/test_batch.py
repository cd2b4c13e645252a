"""The batch runner: configuration checks, fan-out, parallel execution, failure isolation,
self-contained HTML and the index. Uses tiny notebooks written into temporary folders, so it does
not depend on the real notebooks (one test validates notebooks/batch.yml against them when they
exist)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from fontTools.ttLib import TTFont
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import batch, config
from helpers.batch import BatchConfigError

PARAMS_CELL = ('dataset: str = "demo"  # folder under data/raw/ or a path\n'
               'experiment_id: str = "none"  # experiment to report\n'
               'fail_on: str = ""  # experiment_id that raises on purpose (failure isolation)\n'
               'repeats: int = 1  # how often to repeat the summary line\n'
               'sleep_s: float = 0.0  # seconds the last cell sleeps (tests the cell timeout)')


def tiny_notebook(*, params: str | None = PARAMS_CELL) -> nbformat.NotebookNode:
    """A thin report: title, parameters, imports, a summary, a failing-on-demand cell, a figure."""
    cells = [new_markdown_cell("# 小报告 Tiny report\nA notebook for the batch tests.")]
    if params is not None:
        cells.append(new_code_cell(params, metadata={"tags": ["parameters"]}))
    cells += [
        new_code_cell("import matplotlib.pyplot as plt\nfrom IPython.display import Markdown\n"
                      "from helpers import plots\nplots.set_theme()"),
        new_code_cell('Markdown(f"## 摘要 Summary\\n实验 **{experiment_id}**：留存率提升 12%。" * repeats)'),
        new_code_cell('import warnings\nif experiment_id == fail_on:\n'
                      '    raise ValueError("planned failure 故意失败")\n'
                      'warnings.warn("样本较小 small sample", UserWarning)'),
        new_code_cell('fig, ax = plt.subplots(figsize=(3, 2))\n'
                      'ax.bar(["海报裂变", "邀请码"], [2, 1])\nax.set_title("渠道")\nplt.show()'),
        new_code_cell("import time\ntime.sleep(sleep_s)"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def write_project(folder: Path, yml: str, **notebooks) -> Path:
    """Write ``batch.yml`` and notebooks (name -> NotebookNode) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "batch.yml").write_text(yml, encoding="utf-8")
    return folder / "batch.yml"


# ----------------------------------------------------------------------------- configuration
def test_fanout_over_dataset_column_and_dataset_injection(tmp_path, small_dir, small_community):
    yml = f"""
dataset: {small_dir}
runs:
  - name: "ab_{{experiment_id}}"
    notebook: tiny.ipynb
    foreach:
      experiment_id: experiments.experiment_id
  - name: fixed
    notebook: tiny.ipynb
    parameters: {{experiment_id: "x y/z", repeats: 2}}
"""
    cfg = batch.load_config(write_project(tmp_path, yml, tiny=tiny_notebook()))
    expected = sorted(small_community.experiments["experiment_id"].astype(str))
    assert [r.name for r in cfg.runs] == [f"ab_{e}" for e in expected] + ["fixed"]
    assert [r.parameters["experiment_id"] for r in cfg.runs[:-1]] == expected
    assert all(r.parameters["dataset"] == str(small_dir) for r in cfg.runs)
    assert cfg.runs[-1].parameters == {"experiment_id": "x y/z", "repeats": 2,
                                       "dataset": str(small_dir)}
    # --dataset wins over the file, also over a run's own dataset
    cfg2 = batch.load_config(tmp_path / "batch.yml", dataset="demo")
    assert {r.parameters["dataset"] for r in cfg2.runs} == {"demo"}


def _foreach_config(tmp_path, data):
    """The config of a project on ``data``: one A/B run per experiment, then one other run."""
    yml = f"""
dataset: {data}
runs:
  - {{name: "ab_{{experiment_id}}", notebook: tiny.ipynb, foreach: {{experiment_id: experiments.experiment_id}}}}
  - {{name: other, notebook: tiny.ipynb}}
"""
    return batch.load_config(write_project(tmp_path / "p", yml, tiny=tiny_notebook()))


def test_fanout_over_a_missing_optional_table_gives_no_runs_and_a_note(tmp_path, small_dir):
    data = tmp_path / "no_experiments"
    data.mkdir()
    for table in ("members", "events"):
        shutil.copy(batch.find_table_file(small_dir, table), data)
    cfg = _foreach_config(tmp_path, data)
    assert [r.name for r in cfg.runs] == ["other"]
    assert "no values for experiment_id" in cfg.notes[0]


BAD_CONFIGS = {
    "bad yaml": ("runs:\n  - name: a\n    notebook: [tiny.ipynb\n", ["invalid YAML at line"]),
    "unknown notebook": ("runs:\n  - {name: a, notebook: nope.ipynb}\n",
                         ["notebook 'nope.ipynb' not found", "available: tiny.ipynb"]),
    "unknown parameter": ("runs:\n  - {name: a, notebook: tiny.ipynb, parameters: {alpah: 0.1}}\n",
                          ["unknown parameter 'alpah'",
                           "allowed: dataset, experiment_id, fail_on, repeats, sleep_s"]),
    "unknown foreach parameter": (
        "runs:\n  - {name: 'a_{x}', notebook: tiny.ipynb, foreach: {x: [1, 2]}}\n",
        ["unknown parameter 'x'"]),
    "wrong type": ("runs:\n  - {name: a, notebook: tiny.ipynb, parameters: {repeats: 'two'}}\n",
                   ["parameter 'repeats' expects int"]),
    "duplicate names": ("runs:\n  - {name: a, notebook: tiny.ipynb}\n"
                        "  - {name: a, notebook: tiny.ipynb, parameters: {repeats: 2}}\n",
                        ["duplicate output names: a"]),
    "fan-out without placeholder": (
        "runs:\n  - {name: a, notebook: tiny.ipynb, foreach: {repeats: [1, 2]}}\n",
        ["duplicate output names: a"]),
    "bad foreach source": (
        "runs:\n  - {name: 'a_{repeats}', notebook: tiny.ipynb, foreach: {repeats: members}}\n",
        ["expected a list of values or 'table.column'"]),
    "unknown column": (
        "runs:\n  - {name: 'a_{experiment_id}', notebook: tiny.ipynb, "
        "foreach: {experiment_id: members.nope}}\n", ["column 'nope' not in"]),
    "unknown keys": ("workers: 3\nruns:\n  - {name: a, notebook: tiny.ipynb, params: {}}\n",
                     ["unknown top-level key 'workers'", "unknown key 'params'"]),
    "bad name template": ("runs:\n  - {name: 'a_{segment}', notebook: tiny.ipynb}\n",
                          ["name template 'a_{segment}' cannot be filled"]),
    "no runs": ("", ["runs: expected a non-empty list"]),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_configuration_is_one_clear_error_before_anything_runs(tmp_path, small_dir, case):
    body, expected = BAD_CONFIGS[case]
    path = write_project(tmp_path, f"dataset: {small_dir}\n{body}", tiny=tiny_notebook())
    with pytest.raises(BatchConfigError) as err:
        batch.load_config(path)
    for text in expected:
        assert text in str(err.value)
    assert not list(tmp_path.glob("*.html")) and not (tmp_path / "reports").exists()


def test_several_problems_are_listed_together_and_a_missing_dataset_is_named(tmp_path):
    yml = ("dataset: no_such_dataset_here\nruns:\n"
           "  - {name: a, notebook: tiny.ipynb, parameters: {nope: 1}}\n"
           "  - {name: b, notebook: missing.ipynb}\n")
    with pytest.raises(BatchConfigError) as err:
        batch.load_config(write_project(tmp_path, yml, tiny=tiny_notebook()))
    msg = str(err.value)
    assert "3 problem(s), nothing was run" in msg
    assert "no_such_dataset_here" in msg and "'nope'" in msg and "missing.ipynb" in msg


def test_a_notebook_without_parameters_cell_accepts_no_parameters(tmp_path, small_dir):
    nb = tiny_notebook(params=None)
    path = write_project(tmp_path, f"dataset: {small_dir}\nruns:\n  - {{name: a, notebook: t.ipynb,"
                                   " parameters: {dataset: demo}}\n", t=nb)
    with pytest.raises(BatchConfigError, match="has no cell tagged 'parameters'"):
        batch.load_config(path)
    path.write_text(f"dataset: {small_dir}\nruns:\n  - {{name: a, notebook: t.ipynb}}\n")
    assert batch.load_config(path).runs[0].parameters == {}  # dataset only given when declared


def test_select_runs_by_name_glob_and_entry():
    runs = tuple(batch.Run(name=n, notebook=Path("x.ipynb"), entry=e) for n, e in
                 [("01_a", "01_a"), ("03_ab_x", "03_ab_{experiment_id}"),
                  ("03_ab_y", "03_ab_{experiment_id}")])
    assert [r.name for r in batch.select_runs(runs, ["03_ab_*"])] == ["03_ab_x", "03_ab_y"]
    assert [r.name for r in batch.select_runs(runs, ["03_ab_{experiment_id}", "01_a"])] == \
        ["01_a", "03_ab_x", "03_ab_y"]
    with pytest.raises(BatchConfigError, match="no such run; runs are: 01_a, 03_ab_x, 03_ab_y"):
        batch.select_runs(runs, ["02*"])


def test_safe_name_keeps_chinese_and_replaces_separators():
    assert batch.safe_name("03_ab_线下/活动 1") == "03_ab_线下_活动_1"
    assert batch.safe_name("../x") == "x"


def test_safe_name_is_the_one_rule_of_config():
    """The batch and the overview's links share one file-name rule (helpers.config); the
    overview does not import the batch (the batch runs the overview)."""
    import ast

    from helpers import overview

    assert batch.safe_name is config.safe_name
    assert overview.report_link("exp/live 2") == f"{config.safe_name('03_ab_exp/live 2')}.html"
    root = Path(overview.__file__).parent
    for f in root.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                mod = "." * node.level + (node.module or "")
                assert "batch" not in mod.split("."), f"{f.name} imports {mod}"


def test_index_entries_of_one_notebook_each_name_their_experiment(tmp_path, small_dir,
                                                                   small_community):
    """Every A/B report has the notebook's title: the index adds the experiment's name from
    the experiments table (escaped), so two entries never read the same."""
    ex = small_community.experiments.assign(experiment_id=lambda d: d["experiment_id"].astype(str))
    data = tmp_path / "named"
    data.mkdir()
    for table in ("members", "events", "assignments"):
        shutil.copy(batch.find_table_file(small_dir, table), data)
    names = ["打卡挑战（成员随机）", "<b>直播</b>", ""][:len(ex)] + ["x"] * max(0, len(ex) - 3)
    ex.assign(name=names).to_csv(data / "experiments.csv", index=False)
    cfg = _foreach_config(tmp_path, data)
    by_id = dict(zip(ex["experiment_id"], names))
    for r in cfg.runs[:-1]:
        name = by_id[r.parameters["experiment_id"]]
        assert r.labels == ((("experiment_id", name),) if name else ())
    assert cfg.runs[-1].labels == ()
    results = [batch.RunResult(name=r.name, notebook=r.notebook.name, dataset=str(data),
                               parameters=r.parameters, status="ok", title="小报告 Tiny report")
               for r in cfg.runs]
    out = tmp_path / "reports"
    page = batch.write_index(cfg, results, out_dir=out, languages=()).read_text("utf-8")
    titles = re.findall(r'class="report-title">([^<]*(?:&lt;[^<]*)*)</span>', page)
    assert "小报告 Tiny report · 打卡挑战（成员随机）" in titles
    assert "小报告 Tiny report · &lt;b&gt;直播&lt;/b&gt;" in titles and "<b>直播" not in page
    ab = [t for t in titles if t.startswith("小报告 Tiny report · ")]
    assert len(ab) == sum(bool(n) for n in names) and len(set(ab)) == len(ab)
    assert "小报告 Tiny report" in titles  # the run without foreach: its title alone


def test_real_batch_yml_is_valid_for_the_real_notebooks(demo_dir, demo_community):
    nbs = [config.NOTEBOOKS_DIR / n for n in ("01_cohort_retention.ipynb",
                                             "02_churn_survival.ipynb",
                                             "03_activity_ab_test.ipynb")]
    if not all(p.exists() for p in nbs):
        pytest.skip("the three notebooks are not all written yet")
    cfg = batch.load_config(batch.DEFAULT_CONFIG, dataset=str(demo_dir))
    ab = [r for r in cfg.runs if r.notebook.name == "03_activity_ab_test.ipynb"]
    assert sorted(r.parameters["experiment_id"] for r in ab) == \
        sorted(demo_community.experiments["experiment_id"].astype(str))
    # every notebook of notebooks/ is in the batch (00 and 04 joined the three first ones)
    assert {r.notebook.name for r in cfg.runs} == {p.name for p in config.NOTEBOOKS_DIR.glob("*.ipynb")}
    assert cfg.runs[0].notebook.name == "00_overview.ipynb" or \
        not (config.NOTEBOOKS_DIR / "00_overview.ipynb").exists()  # the overview first


# ----------------------------------------------------------------------------- provenance
def test_dataset_fingerprint_changes_with_any_raw_byte(tmp_path, small_dir):
    copy = tmp_path / "copy"
    shutil.copytree(small_dir, copy)
    fp, n = batch.dataset_fingerprint(copy)
    assert fp == batch.dataset_fingerprint(small_dir)[0] and n == len(list(small_dir.iterdir()))
    members = copy / "members.csv"
    members.write_bytes(members.read_bytes().replace(b",", b";", 1))
    assert batch.dataset_fingerprint(copy)[0] != fp


# ----------------------------------------------------------------------------- HTML
def test_embedded_font_is_a_subset_with_the_page_characters():
    css = batch.font_face_css("留存率 海报裂变")
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)\)", css).group(1))
    font = TTFont(io.BytesIO(data))
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in "留存率海报裂变Aa1%")
    assert ord("社") not in cmap and len(cmap) < 200
    assert font["name"].getDebugName(1) == "Noto Sans CJK SC"
    assert len(data) < 60_000


def test_external_resources_finds_loads_not_links():
    page = ('<link rel="stylesheet" href="https://x/y.css"><style>@import "a.css"; '
            'body{background:url(data:image/png;base64,AA)} p{background:url(//h/i.png)}</style>'
            '<img src="data:image/png;base64,AA"><img src="local.png">'
            '<a href="https://example.com">a link is not a load</a>'
            '<div style="background: url(\'https://z/b.png\')"></div>')
    assert sorted(batch.external_resources(page)) == sorted(
        ["https://x/y.css", "a.css", "//h/i.png", "local.png", "https://z/b.png"])


def test_stock_lab_template_loads_cdn_scripts_and_ours_does_not(executed):
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    stock, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert any("cdnjs" in u for u in batch.external_resources(stock))  # the control can fail
    ours = batch.render_report(nb, title="t")
    assert batch.external_resources(ours) == []
    assert "mathjax" not in ours.lower() and "require.min.js" not in ours


def test_code_hidden_unless_with_code(executed):
    nb = nbformat.read(executed, as_version=4)
    hidden = batch.render_report(nb, title="t")
    shown = batch.render_report(nb, title="t", with_code=True)
    code = "set_theme"  # (pygments wraps each token of the source in a span)
    assert code not in hidden and code_inputs(hidden) == 0
    assert code in shown and code_inputs(shown) == 7  # parameters, injected parameters, 5 more
    for page in (hidden, shown):  # outputs are in both: summary, embedded figure
        assert "留存率提升 12%" in page and "data:image/png;base64," in page


def code_inputs(page: str) -> int:
    """Code cells whose source is shown (nbconvert's lab markup of a code editor)."""
    return len(re.findall(r'<div class="[^"]*\bjp-InputArea-editor\b', page))


def test_tidy_warnings_drops_file_names_and_source_lines():
    text = ("/tmp/ipykernel_1/2.py:4: AnalysisWarning: few groups (12): use the permutation p\n"
            "  res = experiments.cluster_test(df)\n"
            "plain stderr line\n"
            "/work/src/helpers/x.py:10: RuntimeWarning: divide by zero\n"
            "  return a / b\n")
    assert batch.tidy_warnings(text) == ("AnalysisWarning: few groups (12): use the permutation p\n"
                                         "plain stderr line\nRuntimeWarning: divide by zero\n")


# ----------------------------------------------------------------------------- the runner
YML = """
dataset: {dataset}
timeout: 120
runs:
  - name: "ab_{{experiment_id}}"
    notebook: tiny.ipynb
    parameters: {{fail_on: "{fail_on}"}}
    foreach:
      experiment_id: [exp_a, 实验b]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_dir):
    folder = tmp_path_factory.mktemp("project")
    write_project(folder, YML.format(dataset=small_dir, fail_on=""), tiny=tiny_notebook())
    return folder


@pytest.fixture(scope="module")
def first_batch(project):
    """A fan-out of two runs on two workers, both succeeding."""
    cfg = batch.load_config(project / "batch.yml")
    (project / "reports").mkdir()
    (project / "reports" / "ab_exp_a.failed.ipynb").write_text("{}")  # stale: goes on success
    lines: list[str] = []
    result = batch.run_batch(cfg, out_dir=project / "reports", workers=2, log=lines.append)
    return result, lines


@pytest.fixture(scope="module")
def executed(first_batch):
    result, _ = first_batch
    return result.out_dir / "ab_exp_a.ipynb"


def test_batch_renders_every_run_with_provenance(first_batch, small_dir):
    result, lines = first_batch
    assert result.ok, batch.summary_text(result)
    assert [r.name for r in result.results] == ["ab_exp_a", "ab_实验b"]
    assert result.workers == 2
    assert sum(line.strip().startswith("start") for line in lines) == 2
    assert any(line.strip().startswith("[2/2] ok") for line in lines)
    fp, _ = batch.dataset_fingerprint(small_dir)
    for r in result.results:
        page = (result.out_dir / r.html).read_text(encoding="utf-8")
        assert (result.out_dir / r.executed).exists()
        assert batch.external_resources(page) == []
        prov = page[page.index('id="provenance"'):]
        assert fp in prov and re.search(r"Git commit</th><td><code>[0-9a-f]{40}", prov)
        assert "papermill" in prov and "lifelines" in prov and "Started" in prov
        assert f"<code>{r.parameters['experiment_id']!r}</code>" in prov
        assert r.duration_s > 0 and r.render_s > 0 and r.imports_s > 0
        assert 0 < r.kernel_s < r.duration_s and r.overhead_s >= 0
        assert r.kernel_s + r.imports_s + r.compute_s + r.overhead_s == \
            pytest.approx(r.duration_s, rel=1e-6)
        assert r.warnings == ()  # no glyph missing from the figures: Chinese labels render
        # a caveat from warnings.warn reaches the reviewer without file names or code
        assert "UserWarning: 样本较小 small sample" in page
        assert "ipykernel_" not in page and "warnings.warn" not in page
    assert not (result.out_dir / "ab_exp_a.failed.ipynb").exists()
    assert "实验 <strong>实验b</strong>" in (result.out_dir / "ab_实验b.html").read_text("utf-8")
    index = (result.out_dir / "index.html").read_text(encoding="utf-8")
    for r in result.results:
        assert f'href="{r.html}"' in index
    assert index.count('status-ok">ok</span>') == 2 and batch.external_resources(index) == []


def test_a_failing_run_is_isolated_and_the_last_good_html_survives(first_batch, project, capsys):
    result, _ = first_batch
    out = result.out_dir
    good_html = (out / "ab_exp_a.html").read_bytes()
    good_nb = (out / "ab_exp_a.ipynb").read_bytes()
    dataset = result.results[0].dataset
    hang = "  - {name: hang, notebook: tiny.ipynb, timeout: 10, parameters: {sleep_s: 600.0}}\n"
    (project / "batch.yml").write_text(YML.format(dataset=dataset, fail_on="exp_a") + hang,
                                       "utf-8")
    t0 = time.perf_counter()
    code = batch.main(["--config", str(project / "batch.yml"), "--out", str(out),
                       "--only", "ab_exp_a", "--only", "ab_实*", "--only", "hang",
                       "--workers", "3"])
    assert time.perf_counter() - t0 < 300  # the cell sleeping 600 s was stopped by its timeout
    (project / "batch.yml").write_text(YML.format(dataset=dataset, fail_on=""), "utf-8")
    printed = capsys.readouterr().out
    assert code == 1
    assert "FAILED ab_exp_a" in printed and "ValueError: planned failure 故意失败" in printed
    assert 'line 3: raise ValueError("planned failure 故意失败")' in printed  # the failing cell
    assert "ok     ab_实验b" in printed  # the other run went on
    # (which cell timed out depends on the machine's load: the sleep, or the imports)
    assert re.search(r"FAILED hang: cell In \[\d+\] .*\n +CellTimeoutError", printed)
    assert (out / "hang.failed.ipynb").exists() and not (out / "hang.html").exists()
    assert (out / "ab_exp_a.html").read_bytes() == good_html
    assert (out / "ab_exp_a.ipynb").read_bytes() == good_nb
    failed = nbformat.read(out / "ab_exp_a.failed.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in failed.cells for o in c.get("outputs", []))
    assert not list(out.glob(".*.tmp")) and not list(out.glob(".*.running.ipynb"))
    index = (out / "index.html").read_text(encoding="utf-8")
    row = index[index.index('id="run-ab_exp_a"'):]
    row = row[:row.index("</tr>")]
    assert "status-failed" in row and "planned failure 故意失败" in row
    assert 'href="ab_exp_a.failed.ipynb"' in row and 'href="ab_exp_a.html"' in row
    assert "last good report" in row
    manifest = json.loads((out / batch.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["runs"]["ab_exp_a"]["status"] == "failed"
    assert manifest["runs"]["ab_exp_a"]["last_ok_at"] == result.results[0].started_at
    # a later batch that runs nothing (e.g. --only another report) keeps every row
    cfg = batch.load_config(project / "batch.yml")
    again = batch.write_index(cfg, [], out_dir=out).read_text(encoding="utf-8")
    assert again.count('status-failed">failed</span>') == 1
    assert again.count('status-ok">ok</span>') == 1


def test_cli_reports_configuration_errors_with_exit_code_2(tmp_path, capsys):
    path = write_project(tmp_path, "runs:\n  - {name: a, notebook: nope.ipynb}\n")
    assert batch.main(["--config", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "nope.ipynb' not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_cli_list_shows_expanded_runs(project, capsys):
    assert batch.main(["--config", str(project / "batch.yml"), "--list"]) == 0
    names = [ln.split("\t")[0] for ln in capsys.readouterr().out.splitlines()]
    assert names == ["ab_exp_a", "ab_实验b"]


# ----------------------------------------------------------------------------- two languages
def bilingual_notebook() -> nbformat.NotebookNode:
    """Prose per language (tagged cells), a language parameter, and state that must not leak."""
    cells = [
        new_markdown_cell("# 双语报告\n只在中文版出现。", metadata={"tags": ["lang-zh"]}),
        new_markdown_cell("# Bilingual report\nOnly in the English page.",
                          metadata={"tags": ["lang-en"]}),
        new_code_cell('dataset: str = "demo"  # dataset\n'
                      'language: str = "zh"  # zh or en\n'
                      'tag: str = "a"  # a name from the data', metadata={"tags": ["parameters"]}),
        new_code_cell("import warnings\nimport matplotlib.pyplot as plt\n"
                      "from IPython.display import Markdown"),
        new_code_cell('print("leaked" if "previous_run" in globals() else "clean namespace")\n'
                      'previous_run = tag\n'
                      'warnings.warn("每次都要显示 shown every run")\n'
                      'Markdown(f"语言 {language}：{tag}")'),
        new_code_cell('plt.plot([1, 2], [2, 1]);'),  # shown at the end of the cell, every run
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory, small_dir):
    folder = tmp_path_factory.mktemp("bilingual")
    yml = (f"dataset: {small_dir}\nruns:\n"
           "  - {name: 'b_{tag}', notebook: bi.ipynb, foreach: {tag: [x, '<img src=x onerror=alert(1)>']}}\n"
           "  - {name: 'ab_{experiment_id}', notebook: tiny.ipynb, "
           "foreach: {experiment_id: experiments.experiment_id}}\n")
    write_project(folder, yml, bi=bilingual_notebook(), tiny=tiny_notebook())
    cfg = batch.load_config(folder / "batch.yml", dataset=str(small_dir))
    cfg = batch.BatchConfig(path=cfg.path, dataset=cfg.dataset, timeout=cfg.timeout,
                            runs=tuple(r for r in cfg.runs if r.name.startswith("b_"))
                            + cfg.runs[-1:], notes=cfg.notes, skipped=cfg.skipped)
    lines: list[str] = []
    result = batch.run_batch(cfg, out_dir=folder / "reports", workers=1, log=lines.append)
    return cfg, result, lines


def test_language_runs_expand_only_notebooks_with_a_language_parameter(bilingual):
    cfg, result, _ = bilingual
    assert [r.key for r in result.results] == ["zh/b_x", "zh/b__img_src_x_onerror_alert_1", "en/b_x",
                                               "en/b__img_src_x_onerror_alert_1",
                                               cfg.runs[-1].name]
    assert [r.html for r in result.results][:2] == ["zh/b_x.html",
                                                    "zh/b__img_src_x_onerror_alert_1.html"]
    assert result.results[-1].html == f"{cfg.runs[-1].name}.html"  # no language: reports/ once
    runs = batch.language_runs(cfg.runs, ("zh",))
    assert [r.key for r in runs] == ["zh/b_x", "zh/b__img_src_x_onerror_alert_1", cfg.runs[-1].name]
    assert runs[0].parameters["language"] == "zh"


def test_each_language_keeps_its_prose_and_its_page_language(bilingual):
    _, result, _ = bilingual
    zh = (result.out_dir / "zh/b_x.html").read_text("utf-8")
    en = (result.out_dir / "en/b_x.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert "只在中文版出现" in zh and "Only in the English page" not in zh
    assert "Only in the English page" in en and "只在中文版出现" not in en
    assert "语言 zh" in zh and "语言 en" in en
    assert "生成信息（参数、数据指纹、版本）" in zh and "代码版本（Git）" in zh and "Git commit" not in zh
    assert "Provenance (parameters, data fingerprint, versions)" in en
    assert 'href="../index.html">← 全部报告<' in zh
    assert result.results[0].title == "双语报告" and result.results[2].title == "Bilingual report"


def test_warm_kernel_is_reset_between_runs(bilingual):
    """One worker ran everything in one kernel: imports kept, the namespace and the registry of
    shown warnings wiped, the execution counter restarted, figures still shown."""
    _, result, lines = bilingual
    assert [r.kernel for r in result.results] == ["fresh", "reused", "reused", "reused", "reused"]
    for r in result.results[:4]:
        nb = nbformat.read(result.out_dir / r.executed, as_version=4)
        outs = [o for c in nb.cells for o in c.get("outputs", [])]
        assert any(o.get("text", "").startswith("clean namespace") for o in outs), r.key
        assert any("每次都要显示" in o.get("text", "") for o in outs if o.get("name") == "stderr")
        assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]
        assert any("image/png" in o.get("data", {}) for o in outs), f"{r.key}: figure not shown"
        stdout = "".join(o.get("text", "") for o in outs if o.get("name") == "stdout")
        assert stdout == "clean namespace\n", f"{r.key}: the reset printed {stdout!r}"


def test_index_has_one_section_per_language_with_a_switch_and_escapes_names(bilingual):
    cfg, result, _ = bilingual
    page = (result.out_dir / "index.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in page
    assert page.index('id="lang-zh"') < page.index('id="lang-en"') < page.index('id="other-reports"')
    assert '<a href="#lang-en">English</a>' in page and '<a href="#lang-zh"' in page
    zh = page[page.index('id="lang-zh"'):page.index('id="lang-en"')]
    assert "<th>报告</th><th>状态</th>" in zh and 'status-ok">成功</span>' in zh
    assert 'href="zh/b_x.html">双语报告</a>' in zh
    assert "&lt;img src=x onerror=alert(1)&gt;" in zh and "<img src=x" not in page
    en = page[page.index('id="lang-en"'):page.index('id="other-reports"')]
    assert "<th>Report</th><th>Status</th>" in en and 'href="en/b_x.html">Bilingual report</a>' in en
    assert batch.external_resources(page) == []
    for cat in (batch_messages(), plots_headers()):
        assert cat.check() == []


def batch_messages():
    from helpers.batch._messages import MESSAGES

    return MESSAGES


def plots_headers():
    from helpers.plots.tables import HEADER_WORDS

    return HEADER_WORDS


def test_console_is_free_of_kernel_and_font_noise(project, capfd):
    code = batch.main(["--config", str(project / "batch.yml"), "--out",
                       str(project / "quiet"), "--only", "ab_exp_a", "--workers", "1"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    for noise in ("running over TCP", "FFTM", "NOT subset"):
        assert noise not in out and noise not in err


def test_after_a_failure_the_next_run_gets_a_fresh_kernel(tmp_path, small_dir):
    yml = (f"dataset: {small_dir}\nruns:\n  - name: 'ab_{{experiment_id}}'\n    notebook: tiny.ipynb\n"
           "    parameters: {fail_on: a}\n    foreach: {experiment_id: [a, b, c]}\n")
    cfg = batch.load_config(write_project(tmp_path, yml, tiny=tiny_notebook()))
    result = batch.run_batch(cfg, out_dir=tmp_path / "r", workers=1, log=lambda s: None)
    # the order is the schedule's (never run: file order); a (failed) -> b fresh -> c reused
    by = {r.name: r for r in result.results}
    assert by["ab_a"].status == "failed" and by["ab_b"].status == "ok"
    assert (by["ab_a"].kernel, by["ab_b"].kernel, by["ab_c"].kernel) == ("fresh", "fresh", "reused")


# ----------------------------------------------------------------------------- show_table
def test_show_table_shows_untrusted_strings_as_text_and_headers_in_words():
    import pandas as pd

    from helpers import plots

    hostile = '<img src=x onerror="alert(1)">'
    df = pd.DataFrame({hostile: ["<script>alert(1)</script>", "  a|b *c* _d_ $5  "],
                       "ci_low": [0.1, None], "channel": ["🎉拼团", "<iframe src=x>"]},
                      index=pd.Index(["<b onclick=x>1</b>", "2"], name="<i>level</i>"))
    html = plots.show_table(df, percent=["ci_low"], caption="<u>cap</u>", language="zh").to_html()
    tags = set(re.findall(r"<(\w+)", html))
    assert tags <= {"style", "table", "thead", "tbody", "tr", "th", "td", "caption"}, tags
    for text in ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;",
                 "&lt;iframe src=x&gt;", "&lt;b onclick=x&gt;1&lt;/b&gt;", "&lt;i&gt;level&lt;/i&gt;",
                 "&lt;u&gt;cap&lt;/u&gt;", "  a|b *c* _d_ $5  ", "🎉拼团"):
        assert text in html, text
    assert "95% 置信区间下限" in html and "渠道" in html and "10.0%" in html
    assert "white-space-collapse: preserve" in html  # spaces in names shown as written
    en = plots.show_table(df, language="en", headers={"channel": "Source"}).to_html()
    assert "95% CI low" in en and "Source" in en
    raw = plots.show_table(df).to_html()  # no language: column names as they are
    assert ">ci_low<" in raw and ">channel<" in raw
    long = pd.DataFrame({"n": range(60)})
    assert "仅显示前 50 行（共 60 行）" in plots.show_table(long, language="zh").to_html()
