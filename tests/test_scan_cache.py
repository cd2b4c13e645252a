"""The loader's validation scan stored as compiled SQL (:mod:`helpers.engine._scan_cache`).

A dataset opened before is scanned on a plain DuckDB connection before Ibis is imported; the
result is used only when Ibis compiles the same SQL again, so a stale or wrong entry costs
time, never a number.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pandas as pd
import pytest

from helpers import data, engine, synth
from helpers.engine import _scan_cache, validate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scan_cache_data")
    synth.write_community(folder, fmt="parquet", n_members=400, days=90, n_groups=6, seed=5)
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("COMMUNITY_CACHE_DIR", str(folder))
    return folder


def _calls(monkeypatch):
    """Which scan ran: ``stored`` (the plain connection) or ``ibis`` (Ibis' compiled scan)."""
    calls = []
    run, ibis_scan = _scan_cache.run, validate.run_group_scan
    monkeypatch.setattr(_scan_cache, "run", lambda *a: calls.append("stored") or run(*a))
    monkeypatch.setattr(validate, "run_group_scan",
                        lambda *a: calls.append("ibis") or ibis_scan(*a))
    return calls


def _load(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load_community(folder, engine="duckdb")
    engine.clear_cache()
    return ds


def _same(a, b):
    assert a.notes == b.notes and a.observed_until == b.observed_until
    for period in ("W", "M"):
        pd.testing.assert_frame_equal(engine.activity_pairs(a.events, period=period),
                                      engine.activity_pairs(b.events, period=period))


def test_a_dataset_opened_before_is_scanned_from_the_stored_sql(cache, monkeypatch, dataset):
    calls = _calls(monkeypatch)
    first = _load(dataset)
    assert calls == ["ibis"] and len(list(cache.glob("*.json"))) == 1
    second = _load(dataset)
    assert calls == ["ibis", "stored"]
    _same(first, second)
    with monkeypatch.context() as m:
        m.setattr("helpers.engine.load.start_scan", lambda *a, **k: None)
        _same(_load(dataset), second)  # the loader without any early scan


def test_a_stale_entry_is_not_used_and_is_replaced(cache, monkeypatch, dataset):
    want = _load(dataset)
    (entry,) = cache.glob("*.json")
    stored = json.loads(entry.read_text())
    assert "+ 3" in stored["scan"]  # the ISO week's Monday shift
    stored["scan"] = stored["scan"].replace("+ 3", "+ 4")  # weeks from Tuesdays: wrong
    entry.write_text(json.dumps(stored))
    calls = _calls(monkeypatch)
    got = _load(dataset)
    assert calls == ["stored", "ibis"]  # started, then found unlike Ibis' SQL
    _same(got, want)
    assert json.loads(entry.read_text())["scan"].count("+ 3")  # rewritten
    entry.write_text("not json")
    _same(_load(dataset), want)


def test_the_stored_scan_starts_before_ibis_is_imported(cache, dataset):
    _load(dataset)  # stores the entry
    code = ("import sys, warnings\n"
            "from helpers import data\n"
            "from helpers.engine import _scan_cache\n"
            "seen = []\n"
            "run = _scan_cache.run\n"
            "_scan_cache.run = lambda *a: seen.append('ibis' in sys.modules) or run(*a)\n"
            "warnings.simplefilter('ignore')\n"
            f"data.load_community({str(dataset)!r}, engine='duckdb')\n"
            "print(seen)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[False]", out


def test_no_cache(monkeypatch, tmp_path, dataset):
    monkeypatch.setenv("COMMUNITY_CACHE_DIR", "off")
    assert _scan_cache.cache_dir() is None
    calls = _calls(monkeypatch)
    _load(dataset)
    _load(dataset)
    assert calls == ["ibis", "ibis"]
    monkeypatch.setenv("COMMUNITY_CACHE_DIR", str(tmp_path / "file"))
    (tmp_path / "file").write_text("a file, not a folder")
    _load(dataset)  # an unwritable cache is skipped
