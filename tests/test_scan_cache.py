"""The loader's validation scan stored as compiled SQL (:mod:`helpers.engine._scan_cache`).

A dataset opened before is scanned on a plain DuckDB connection and Ibis is not imported until
an analysis needs the table. An entry is found by a key of everything its SQL depends on
(path, zone, the files' columns, versions, the package's source); an edited or damaged entry
fails its checksum; one that differs from what Ibis compiles when the table is built (a hole
in the key) is stored over and warned of.
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


def _forge(path, entry):
    """Write ``entry`` with a valid checksum (as if the key had missed a change)."""
    path.write_text(json.dumps(dict(entry, sum=_scan_cache._sum(entry["key"], entry))))


def test_an_edited_entry_is_not_used_and_is_replaced(cache, monkeypatch, dataset):
    want = _load(dataset)
    (entry,) = cache.glob("*.json")
    stored = json.loads(entry.read_text())
    assert "+ 3" in stored["scan"]  # the ISO week's Monday shift
    stored["scan"] = stored["scan"].replace("+ 3", "+ 4")  # weeks from Tuesdays: wrong
    entry.write_text(json.dumps(stored))
    calls = _calls(monkeypatch)
    got = _load(dataset)
    assert calls == ["ibis"]  # the checksum failed: Ibis' scan
    _same(got, want)
    assert json.loads(entry.read_text())["scan"].count("+ 3")  # rewritten
    entry.write_text("not json")
    _same(_load(dataset), want)


@pytest.mark.parametrize("change", ["columns", "code", "zone"])
def test_a_change_the_sql_depends_on_is_another_key(cache, monkeypatch, tmp_path, dataset,
                                                    change):
    folder = tmp_path / "copy"
    folder.mkdir()
    for f in dataset.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    _load(folder)
    tz = "Asia/Shanghai"
    if change == "columns":  # the same files with text ids: another scan
        from helpers.engine import load
        events = pd.read_parquet(folder / "events.parquet")
        members = pd.read_parquet(folder / "members.parquet")
        load.write_parquet(events.assign(member_id=events["member_id"].astype(str)),
                           folder / "events.parquet")
        load.write_parquet(members.assign(member_id=members["member_id"].astype(str)),
                           folder / "members.parquet")
    elif change == "code":
        assert _scan_cache.code_hash() is not None
        monkeypatch.setitem(_scan_cache._CODE, "hash", "another version of the package")
    else:
        tz = "Europe/Berlin"
    calls = _calls(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = data.load_community(folder, engine="duckdb", tz=tz)
    assert calls == ["ibis"] and len(list(cache.glob("*.json"))) == 2
    engine.clear_cache()
    with monkeypatch.context() as m:
        m.setattr("helpers.engine.load.start_scan", lambda *a, **k: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _same(got, data.load_community(folder, engine="duckdb", tz=tz))


def test_an_entry_unlike_ibis_sql_is_found_when_the_table_is_built(cache, monkeypatch,
                                                                   dataset):
    """A hole in the key (simulated: a wrong SQL with a valid checksum) is used by the load,
    then found when the table is built: stored over, the load's cached results forgotten,
    and the build raises (the load must be done again); the table then works."""
    want = _load(dataset)
    path, entry = _entry(cache)
    _forge(path, dict(entry, scan=entry["scan"].replace("+ 3", "+ 4")))
    calls = _calls(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load_community(dataset, engine="duckdb")
    assert calls == ["stored"]
    with pytest.raises(RuntimeError, match="load the dataset again"):
        ds.events.count().execute()
    assert json.loads(path.read_text())["scan"] == entry["scan"]
    _same(ds, want)  # recomputed from the table, not the stored scan's pairs
    engine.clear_cache()
    _same(_load(dataset), want)


def test_files_rewritten_between_the_load_and_the_build_store_nothing(cache, tmp_path,
                                                                     dataset):
    """The check at build time compares only while the files are those of the load's key:
    otherwise it would store the new files' SQL under the old files' key."""
    from helpers.engine import load
    folder = tmp_path / "naive"
    folder.mkdir()
    for f in dataset.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    events = pd.read_parquet(folder / "events.parquet")
    naive = events.assign(ts=events["ts"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None))
    load.write_parquet(naive, folder / "events.parquet")
    want = _load(folder)
    (path, entry) = _entry(cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load_community(folder, engine="duckdb")  # the stored scan
    load.write_parquet(events, folder / "events.parquet")  # zoned now: another key
    assert ds.events.count().execute() == len(events)  # no error: nothing compared
    assert json.loads(path.read_text()) == entry
    load.write_parquet(naive, folder / "events.parquet")
    engine.clear_cache()
    _same(_load(folder), want)


def test_code_changed_after_the_start_means_no_stored_scan(cache, monkeypatch, dataset):
    """Source changed after the process started (or since it was hashed): the code running may
    not be the files', so the process neither runs nor stores an entry."""
    _load(dataset)
    calls = _calls(monkeypatch)
    monkeypatch.setattr(_scan_cache, "_CODE", {})
    monkeypatch.setattr(_scan_cache, "_process_start", lambda: 0.0)  # everything is newer
    assert _scan_cache.code_hash() is None
    _load(dataset)
    monkeypatch.setattr(_scan_cache, "_process_start", lambda: 4e9)
    assert _scan_cache.code_hash() is not None
    _scan_cache._CODE["files"] = (("engine/_ibis.py", 1, 1),)  # edited since it was hashed
    assert _scan_cache.code_hash() is None
    _load(dataset)
    assert calls == ["ibis", "ibis"] and len(list(cache.glob("*.json"))) == 1


def test_a_stored_scan_imports_no_ibis_for_the_first_table(cache, dataset):
    """The stored scan runs before Ibis is imported, and the first weekly table needs none;
    the events are then the Ibis table for anything else (Ibis accepts them as a table)."""
    _load(dataset)  # stores the entry
    code = ("import sys, warnings\n"
            "from helpers import cohorts, data\n"
            "from helpers.engine import _scan_cache\n"
            "seen = []\n"
            "run = _scan_cache.run\n"
            "_scan_cache.run = lambda *a: seen.append('ibis' in sys.modules) or run(*a)\n"
            "warnings.simplefilter('ignore')\n"
            f"ds = data.load_community({str(dataset)!r}, engine='duckdb')\n"
            "tab = cohorts.retention(ds.members, ds.events, period='W')\n"
            "seen.append('ibis' in sys.modules)\n"
            "warnings.simplefilter('error', RuntimeWarning)\n"
            "import ibis\n"
            "n = ds.events.count().execute()\n"
            "j = ds.events.select('member_id').distinct()\n"
            "both = j.join(ds.events, 'member_id').count().execute()\n"
            "print(seen, isinstance(ds.events, ibis.Table), n == both, len(tab) > 0)\n")
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[False, False] True True True", out


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


# ----------------------------------------------------------------------------- what is run
def _entry(cache):
    (path,) = cache.glob("*.json")
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("change", ["views", "scan", "group-writable"])
def test_only_an_entry_of_the_expected_shape_in_a_private_folder_is_run(
        cache, monkeypatch, tmp_path, dataset, change):
    """Stored text runs before it is compared with Ibis' SQL, so it must be the dataset's own
    read_parquet view and one SELECT, in a folder and file only the user may write: a COPY
    planted in the views or after the scan, or a folder others may write, is never run."""
    want = _load(dataset)
    path, entry = _entry(cache)
    planted = tmp_path / "planted.csv"
    copy = f"COPY (SELECT 42 AS x) TO '{planted}'"
    if change == "views":
        entry["views"] = [copy]
    elif change == "scan":
        entry["scan"] = entry["scan"] + "; " + copy
    else:
        entry["scan"] = "SELECT 1 AS member_id"
        cache.chmod(0o777)
    _forge(path, entry)  # a valid checksum: the shape decides
    calls = _calls(monkeypatch)
    _same(_load(dataset), want)
    assert calls[0] == "ibis" and not planted.exists()
    cache.chmod(0o700)


def test_the_stored_scan_connection_loads_no_extension(cache, dataset):
    from helpers.engine import duckdb as duck
    plain = duck.connect_plain()
    _scan_cache.harden(plain)
    settings = dict(plain.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ("
        "'autoinstall_known_extensions', 'autoload_known_extensions', "
        "'lock_configuration')").fetchall())
    assert set(settings.values()) == {"false", "true"} and settings["lock_configuration"] == "true"
    with pytest.raises(Exception, match="locked"):
        plain.execute("SET autoload_known_extensions = true")


def test_an_interrupted_start_leaves_no_scan_running(cache, monkeypatch, dataset):
    """Ctrl-C while the members are read (the stored scan already running): the scan is
    interrupted, its thread ends, the interrupt reaches the caller."""
    import threading
    _load(dataset)  # stores the entry

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(data, "_validate_members", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.load_community(dataset, engine="duckdb")
    assert not [t for t in threading.enumerate() if t.name == "community-scan"]


def test_cancel_repeats_the_interrupt_until_the_scan_ends():
    """DuckDB's interrupt stops a running query only: cancel interrupts until the thread is
    done (here the work ends at the third interrupt)."""
    import threading

    from helpers.engine.load import EarlyScan
    calls, done = [], threading.Event()

    class Connection:
        def interrupt(self):
            calls.append(1)
            if len(calls) >= 3:
                done.set()

    early = EarlyScan(None, None, None)
    early.start(Connection(), lambda: done.wait(10) and "ended")
    early.cancel()
    assert len(calls) >= 3 and done.is_set()


def test_no_home_folder_means_no_cache(monkeypatch, dataset):
    from pathlib import Path

    def no_home():
        raise RuntimeError("Could not determine home directory.")
    monkeypatch.delenv("COMMUNITY_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", no_home)
    assert _scan_cache.cache_dir() is None
    _load(dataset)


def test_a_failed_write_leaves_no_temporary_file(cache, monkeypatch, dataset):
    import os

    def full(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    _load(dataset)
    assert cache.is_dir() and not list(cache.iterdir())


def test_the_loaders_warnings_point_at_the_callers_line(monkeypatch, dataset, tmp_path):
    """Pre-join events dropped and assigned groups without members: each warning once, at
    the line that called load_community, on pandas and on DuckDB (early scan or not)."""
    from helpers.engine import load
    from helpers.errors import AnalysisWarning
    members = pd.read_parquet(dataset / "members.parquet")
    events = pd.read_parquet(dataset / "events.parquet")
    first = events.groupby("member_id")["ts"].transform("min")
    early_join = members.set_index("member_id")["joined_at"]
    events = pd.concat([events, events.loc[first == events["ts"]].head(3).assign(
        ts=lambda e: e["member_id"].map(early_join) - pd.Timedelta(hours=1))])
    folder = tmp_path / "pre"
    folder.mkdir()
    for f in dataset.iterdir():
        if f.suffix == ".parquet" and f.name != "events.parquet":
            (folder / f.name).write_bytes(f.read_bytes())
    load.write_parquet(events, folder / "events.parquet")
    for eng, early in (("pandas", True), ("duckdb", True), ("duckdb", False)):
        with monkeypatch.context() as m:
            if not early:
                m.setattr(load, "start_scan", lambda *a, **k: None)
            with pytest.warns(AnalysisWarning) as caught:
                data.load_community(folder, engine=eng)
        ours = [w for w in caught if issubclass(w.category, AnalysisWarning)]
        assert ours and all(w.filename == __file__ for w in ours), (eng, early)
        texts = [str(w.message) for w in ours]
        assert len(texts) == len(set(texts)) and "before the member's joined_at" in texts[0]
        engine.clear_cache()


def test_a_bad_duckdb_setting_does_not_hide_a_members_error(monkeypatch, tmp_path, dataset):
    members = pd.read_parquet(dataset / "members.parquet")
    folder = tmp_path / "dup"
    folder.mkdir()
    pd.concat([members, members.head(1)]).to_parquet(folder / "members.parquet")
    (folder / "events.parquet").write_bytes((dataset / "events.parquet").read_bytes())
    monkeypatch.setenv("COMMUNITY_DUCKDB_MEMORY", "lots")
    with pytest.raises(data.DataError, match="member_id"):
        data.load_community(folder, engine="duckdb")


def _variant(dataset, folder, change):
    """A copy of ``dataset`` with one problem or id layout (``change``)."""
    from helpers.engine import load
    folder.mkdir()
    members = pd.read_parquet(dataset / "members.parquet")
    events = pd.read_parquet(dataset / "events.parquet")
    for f in dataset.iterdir():
        if f.suffix == ".parquet" and f.name not in ("events.parquet", "members.parquet"):
            (folder / f.name).write_bytes(f.read_bytes())
    if change == "unknown member":
        events = pd.concat([events, events.head(2).assign(member_id=10**9)])
    elif change == "negative amount":
        events = events.assign(amount=events["amount"].where(events.index != 5, -1.0))
    elif change == "pre-join":
        joined = members.set_index("member_id")["joined_at"]
        events = pd.concat([events, events.head(3).assign(
            ts=lambda e: e["member_id"].map(joined) - pd.Timedelta(hours=2))])
    elif change == "text event ids":
        events = events.assign(member_id=events["member_id"].astype(str))
    elif change == "text member ids":
        members = members.assign(member_id=members["member_id"].astype(str))
    load.write_parquet(members, folder / "members.parquet")
    load.write_parquet(events, folder / "events.parquet")
    return folder


def _outcome(folder):
    """What loading ``folder`` on DuckDB gives: the error's text, or the dataset's figures."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = data.load_community(folder, engine="duckdb")
        except data.DataError as exc:
            return str(exc)
    out = (ds.notes, ds.observed_until, engine.n_rows(ds.events),
           engine.activity_pairs(ds.events, period="W"),
           engine.activity_pairs(ds.events, period="M"), ds.members["member_id"].dtype)
    engine.clear_cache()
    return out


@pytest.mark.parametrize("change", ["unknown member", "negative amount", "pre-join",
                                    "text event ids", "text member ids"])
def test_a_dataset_opened_again_gives_the_same_errors_and_tables(cache, monkeypatch,
                                                                 tmp_path, dataset, change):
    """The second opening (stored scan, no Ibis until needed) raises the first's error, with
    its example rows, or gives the first's tables."""
    folder = _variant(dataset, tmp_path / "variant", change)
    calls = _calls(monkeypatch)
    first = _outcome(folder)
    second = _outcome(folder)
    assert calls[0] == "ibis" and "stored" in calls, calls
    if isinstance(first, str):
        assert second == first and "row" in first
        return
    assert first[:3] == second[:3] and first[5] == second[5]
    for a, b in zip(first[3:5], second[3:5]):
        pd.testing.assert_frame_equal(a, b)
