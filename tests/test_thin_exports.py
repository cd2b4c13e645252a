"""Every notebook on thin but valid exports (issue 11 item 6): what analysts actually have.

Three small datasets, written here, combine the thin properties of real exports:

- ``purchases_once``: text ids with leading letters, one channel, blank ``group_id``, no
  ``referrer_id``, purchases only (no ``activity_join``, no messages), every member a one-time
  buyer, a long history (about 18 months), no activities, experiments or assignments tables
  (the CDNOW log shipped with ``lifetimes`` looks like this);
- ``one_week``: a single cohort (everybody joins in one ISO week), a very short history (12
  days), integer ids, two channels, blank ``group_id``, no purchases, no optional tables;
- ``small_experiment``: 160 members over 60 days, Chinese channel names, a ``group_id`` with
  four groups, an ``activities`` table of one activity and one member-randomised experiment
  with its assignments, but no ``referrer_id`` and no memberships.

Each dataset goes through EVERY notebook of ``notebooks/`` with only ``dataset`` set (03 on
``small_experiment`` also ``experiment_id``), in both languages, by the batch runner (one warm
kernel per worker: imports once). Each executed notebook must hold no error output, no stderr
stream (warnings), no ``nan``/``None``/``inf``/``NaT`` text and no empty table; each page no
LaTeX source or internal file reference. A failure names the notebook, the language, the cell
and the offending text: the notebook's owner fixes it there.

Runtime: about 3 × 10 runs on 2 workers, a few minutes on 2 cores.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import batch, config

NOTEBOOKS = sorted(p.name for p in config.NOTEBOOKS_DIR.glob("*.ipynb"))
LANGS = ("zh", "en")
START = pd.Timestamp("2025-01-06 00:00:00")  # a Monday


# ----------------------------------------------------------------------------- the datasets
def _write(folder: Path, **tables: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _ts(t) -> pd.Series:
    return pd.Series(pd.to_datetime(t)).dt.strftime("%Y-%m-%d %H:%M:%S")


def purchases_once(folder: Path, rng: np.random.Generator) -> Path:
    """One-time buyers over ~18 months, purchases only, one channel, blank groups, text ids."""
    n = 300
    joined = START + pd.to_timedelta(np.sort(rng.uniform(0, 540, n)), unit="D")
    members = pd.DataFrame({"member_id": [f"C{i:05d}" for i in range(1, n + 1)],
                            "joined_at": _ts(joined), "channel": "自然流量", "group_id": ""})
    bought = joined + pd.to_timedelta(rng.uniform(0, 0.9, n), unit="D")
    events = pd.DataFrame({"member_id": members["member_id"], "ts": _ts(bought),
                           "event_type": "purchase",
                           "amount": np.round(rng.gamma(2.0, 20.0, n), 2)})
    return _write(folder, members=members, events=events)


def one_week(folder: Path, rng: np.random.Generator) -> Path:
    """A single cohort, 12 days of history, no purchases, integer ids, blank groups."""
    n = 200
    joined = START + pd.to_timedelta(np.sort(rng.uniform(0, 6.5, n)), unit="D")
    members = pd.DataFrame({"member_id": np.arange(5001, 5001 + n), "joined_at": _ts(joined),
                            "channel": rng.choice(["海报裂变", "邀请码"], n), "group_id": ""})
    rows = []
    for mid, j in zip(members["member_id"], joined):
        end = START + pd.Timedelta(days=12)
        for t in j + pd.to_timedelta(np.sort(rng.uniform(0, (end - j).total_seconds() / 86400,
                                                          rng.poisson(4) + 1)), unit="D"):
            rows.append((mid, t, rng.choice(["message", "reaction", "check_in"])))
    events = pd.DataFrame(rows, columns=["member_id", "ts", "event_type"])
    events["ts"] = _ts(events["ts"])
    return _write(folder, members=members, events=events)


def small_experiment(folder: Path, rng: np.random.Generator) -> Path:
    """160 members over 60 days with one small member-randomised experiment."""
    n, days = 160, 60
    joined = START + pd.to_timedelta(np.sort(rng.uniform(0, 30, n)), unit="D")
    ids = [f"m{i:03d}" for i in range(n)]
    members = pd.DataFrame({"member_id": ids, "joined_at": _ts(joined),
                            "channel": rng.choice(["海报裂变", "邀请码", "线下活动"], n),
                            "group_id": rng.choice(["G1", "G2", "G3", "G4"], n)})
    end = START + pd.Timedelta(days=days)
    rows = []
    for mid, j in zip(ids, joined):
        life = rng.exponential(25)
        k = rng.poisson(6) + 1
        for t in j + pd.to_timedelta(np.sort(rng.uniform(0, life, k)), unit="D"):
            if t < end:
                purchase = rng.random() < 0.08
                rows.append((mid, t, "purchase" if purchase else "message",
                             round(float(rng.gamma(2, 30)), 2) if purchase else np.nan))
    events = pd.DataFrame(rows, columns=["member_id", "ts", "event_type", "amount"])
    events["ts"] = _ts(events["ts"])
    starts, ends = START + pd.Timedelta(days=32), START + pd.Timedelta(days=46)
    activities = pd.DataFrame({"activity_id": ["A1"], "activity_type": ["check_in"],
                               "name": ["打卡挑战"], "starts_at": _ts([starts]),
                               "ends_at": _ts([ends]), "group_id": [""]})
    experiments = pd.DataFrame({"experiment_id": ["exp_small"], "name": ["打卡挑战（小样本）"],
                                "unit": ["member"], "starts_at": _ts([starts]),
                                "ends_at": _ts([ends]), "activity_id": ["A1"],
                                "control_arm": ["control"],
                                "planned_split": ["control:0.5,treatment:0.5"]})
    arms = rng.permutation(np.repeat(["control", "treatment"], n // 2))
    assignments = pd.DataFrame({"experiment_id": "exp_small", "unit_id": ids, "arm": arms,
                                "assigned_at": _ts([starts] * n)})
    return _write(folder, members=members, events=events, activities=activities,
                  experiments=experiments, assignments=assignments)


DATASETS = {"purchases_once": (purchases_once, {}),
            "one_week": (one_week, {}),
            "small_experiment": (small_experiment, {"03_activity_ab_test": {"experiment_id": "exp_small"}})}


# ----------------------------------------------------------------------------- running them
def _yml(folder: Path, extra: dict[str, dict]) -> str:
    lines = [f"dataset: {folder}", "timeout: 300", "runs:"]
    for nb in NOTEBOOKS:
        stem = nb.removesuffix(".ipynb")
        lines += [f"  - name: {stem}", f"    notebook: {config.NOTEBOOKS_DIR / nb}"]
        if stem in extra:
            lines.append("    parameters: {" + ", ".join(f"{k}: {v!r}" for k, v in
                                                         extra[stem].items()) + "}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def thin_batches(tmp_path_factory):
    """Every notebook on every thin dataset, both languages: {dataset: BatchResult}."""
    if not NOTEBOOKS:
        pytest.skip("no notebooks")
    rng = np.random.default_rng(20261201)
    root = tmp_path_factory.mktemp("thin")
    out = {}
    for name, (make, extra) in DATASETS.items():
        data = make(root / "data" / name, rng)
        yml = root / f"{name}.yml"
        yml.write_text(_yml(data, extra), encoding="utf-8")
        cfg = batch.load_config(yml)
        out[name] = batch.run_batch(cfg, out_dir=root / "reports" / name, workers=2,
                                    log=lambda s: None, languages=LANGS)
    return out


_BAD_TEXT = re.compile(r"(?<![\w.\-])(nan|NaN|None|NaT|inf|-inf|<NA>)(?![\w\-])")
_TABLE = re.compile(r"<table\b.*?</table>", re.S)


def output_defects(nb) -> list[str]:
    """What a reviewer must not see in an executed notebook's outputs, one line per defect."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            where = f"cell {i}"
            if kind == "error":
                found.append(f"{where}: error {out.get('ename')}: {out.get('evalue')}"[:300])
                continue
            if kind == "stream":
                text = out.get("text", "")
                if out.get("name") == "stderr":
                    found.append(f"{where}: stderr stream: {text.strip()[:200]!r}")
                texts = [text]
            else:
                data = out.get("data", {})
                texts = [data.get("text/markdown", ""), data.get("text/html", "")]
                if not texts[0] and not texts[1]:
                    texts = [data.get("text/plain", "")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else text
                visible = batch.visible_text(text) if "<" in text else text
                for m in _BAD_TEXT.finditer(visible):
                    s = max(m.start() - 40, 0)
                    found.append(f"{where}: {m.group(0)!r} in {visible[s:m.end() + 40]!r}")
                    break
                for table in _TABLE.findall(text):
                    if "<td" not in table:
                        found.append(f"{where}: an empty table")
    return found


CASES = [(d, nb, lang) for d in DATASETS for nb in NOTEBOOKS for lang in LANGS]


def _result(thin_batches, dataset: str, notebook: str, language: str):
    res = thin_batches[dataset]
    stem = notebook.removesuffix(".ipynb")
    matches = [r for r in res.results if r.name == stem and r.language in (language, "")]
    assert matches, f"{stem} was not run on {dataset}"
    return res, matches[0]


@pytest.mark.parametrize("dataset,notebook,language", CASES)
def test_notebook_renders_a_clean_report_on_a_thin_export(thin_batches, dataset, notebook,
                                                          language):
    res, r = _result(thin_batches, dataset, notebook, language)
    assert r.status == "ok", (f"{notebook} ({language}) on {dataset}: {r.error and r.error['where']}"
                              f"\n{r.error and r.error['ename']}: {r.error and r.error['evalue']}")
    nb = nbformat.read(res.out_dir / r.executed, as_version=4)
    defects = output_defects(nb)
    assert not defects, f"{notebook} ({language}) on {dataset}:\n  " + "\n  ".join(defects[:12])
    page = (res.out_dir / r.html).read_text(encoding="utf-8")
    problems = batch.reviewer_text_problems(page)
    assert not problems, f"{notebook} ({language}) on {dataset}: " + "; ".join(problems)


def test_the_defect_checks_can_fail():
    """Negative controls for the checks above: each defect is found."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook(cells=[new_code_cell("x", outputs=[
        new_output("stream", name="stderr", text="UserWarning: careful\n"),
        new_output("display_data", data={"text/markdown": "median risk nan% relative to None"}),
        new_output("display_data", data={"text/html": "<table><tr><th>a</th></tr></table>"}),
        new_output("error", ename="ValueError", evalue="boom", traceback=[])])])
    text = "\n".join(output_defects(nb))
    assert "stderr stream" in text and "'nan'" in text and "empty table" in text
    assert "error ValueError: boom" in text
    clean = new_notebook(cells=[new_code_cell("x", outputs=[new_output(
        "display_data", data={"text/markdown": "Nancy and Infinity: 38.9% (95% CI 36.1%–41.8%)",
                              "text/html": "<table><tr><td>1</td></tr></table>"})])])
    assert output_defects(clean) == []


def test_foreach_over_a_dataset_without_experiments_makes_no_run_and_says_so(tmp_path):
    """The real batch.yml on a dataset without experiments: no 03 run, a sentence in the
    summary and in both languages of the index, not a failure."""
    data = purchases_once(tmp_path / "data", np.random.default_rng(1))
    cfg = batch.load_config(batch.DEFAULT_CONFIG, dataset=str(data))
    assert not [r for r in cfg.runs if r.notebook.name == "03_activity_ab_test.ipynb"]
    assert [s.table for s in cfg.skipped] == ["experiments"]
    assert "no report rendered" in cfg.notes[0]
    result = batch.BatchResult(results=(), wall_s=0.0, workers=1, out_dir=tmp_path / "r",
                               index=tmp_path / "r" / "index.html", notes=cfg.notes)
    assert "note: 03_ab_{experiment_id}: no values for experiment_id" in batch.summary_text(result)
    page = batch.write_index(cfg, [], out_dir=tmp_path / "r").read_text(encoding="utf-8")
    text = batch.visible_text(page)
    if any(r.multilingual for r in cfg.runs):
        assert "中没有 experiments 表" in text and "这不是故障" in text
        assert "has no experiments table" in text
    else:
        assert "has no experiments table" in text
    assert 'class="status status-failed"' not in page
