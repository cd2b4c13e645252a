"""The chunked benchmark generator (``benchmarks/retention.py``: ``write_chunked``, ``_current``).

Generated at 3,000 members in chunks of 1,000: one consistent dataset (contiguous member ids,
each chunk's groups and activities its own, assignments of the first chunk only, memberships of
every chunk, ``truth.json`` counts equal to the data) that the loader accepts on pandas and
DuckDB alike; a crash mid-way leaves no folder that ``_current`` accepts and keeps the last
complete dataset.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from helpers import data, synth

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "retention.py"
N, CHUNK = 3_000, 1_000


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script(BENCH, "bench_retention")


@pytest.fixture(scope="module")
def folder(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("chunked") / "bench_3000"
    bench.write_chunked(out, N, chunk=CHUNK)
    return out


def _tables(folder):
    return {name: pd.read_parquet(folder / (name if name == "events" else f"{name}.parquet"))
            for name in ("members", "events", "activities", "assignments", "memberships")}


def test_complete_layout(bench, folder):
    assert bench._current(folder)
    assert not (folder.parent / f".{folder.name}.partial").exists()
    parts = sorted(p.relative_to(folder / "events").as_posix()
                   for p in (folder / "events").glob("*=*/*.parquet"))
    assert parts and all(p.split("/")[1] in {f"part-{i:05d}.parquet" for i in range(3)}
                         for p in parts)
    assert {p.split("/")[1] for p in parts} == {f"part-{i:05d}.parquet" for i in range(3)}


def test_chunks_are_consistent(folder):
    t = _tables(folder)
    m, ev, acts = t["members"], t["events"], t["activities"]
    assert m["member_id"].tolist() == list(range(100_001, 100_001 + N))
    chunk_of = pd.Series((m["member_id"].to_numpy() - 100_001) // CHUNK, index=m["member_id"])
    assert ev["member_id"].isin(m["member_id"]).all()
    assert set(ev["member_id"].map(chunk_of)) == {0, 1, 2}
    # referrers are members of the same chunk
    ref = m.dropna(subset=["referrer_id"])
    assert ref["referrer_id"].isin(m["member_id"]).all()
    assert (ref["referrer_id"].astype("int64").map(chunk_of).to_numpy()
            == ref["member_id"].map(chunk_of).to_numpy()).all()
    # each chunk has groups of its own; activities ids are unique and every event's is known
    groups = m.groupby(m["member_id"].map(chunk_of))["group_id"].apply(set)
    assert not (groups[0] & groups[1]) and not (groups[1] & groups[2])
    assert acts["activity_id"].is_unique
    joins = ev.dropna(subset=["activity_id"]).merge(acts, on="activity_id")
    assert len(joins) == ev["activity_id"].notna().sum() > 0
    assert ((joins["ts"] >= joins["starts_at"]) & (joins["ts"] < joins["ends_at"])).all()
    j = joins.merge(m[["member_id", "group_id"]], on="member_id", suffixes=("_activity", ""))
    own = j["group_id_activity"].notna()
    assert own.sum() > 0 and (j.loc[own, "group_id_activity"] == j.loc[own, "group_id"]).all()
    # group activity names carry their (renamed) group
    named = acts.dropna(subset=["group_id"])
    assert all(f"（{g}）" in n for g, n in zip(named["group_id"], named["name"]))
    # experiments: the first chunk's members and groups only; memberships of every chunk
    a = t["assignments"]
    units = a["unit_id"].astype(str)
    first_ids = set(map(str, range(100_001, 100_001 + CHUNK)))
    assert units.isin(first_ids | groups[0]).all()
    assert units.isin(groups[0]).any() and units.isin(first_ids).any()
    assert set(t["memberships"]["member_id"].map(chunk_of)) == {0, 1, 2}
    assert t["memberships"]["member_id"].isin(m["member_id"]).all()


def test_first_chunk_equals_the_generator(folder):
    tables, _ = synth.generate(n_members=CHUNK, seed=synth.SynthConfig().seed)
    t = _tables(folder)
    first = t["members"].iloc[:CHUNK].reset_index(drop=True)
    pd.testing.assert_series_equal(first["channel"], tables["members"]["channel"],
                                   check_dtype=False)
    assert (t["events"]["member_id"] < 100_001 + CHUNK).sum() == len(tables["events"])


def test_truth_counts_equal_the_data(folder):
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    t = _tables(folder)
    m, ev = t["members"], t["events"]
    c = truth["counts"]
    assert c["members"] == len(m) == N and c["events"] == len(ev)
    assert c["explicit_exits"] == int(m["left_at"].notna().sum())
    assert c["never_active"] == len(m) - ev["member_id"].nunique()
    assert c["activities"] == len(t["activities"])
    assert {k: v["members"] for k, v in truth["channels"].items()} \
        == m["channel"].value_counts().to_dict()
    assert truth["groups"]["n"] == m["group_id"].nunique() == 3 * synth.SynthConfig().n_groups
    assert truth["chunks"]["n"] == 3 and truth["participation_hazard_ratio"] > 0


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_loader_accepts_it(folder, engine):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load_community(folder, engine=engine)
    assert len(ds.members) == N and len(ds.assignments) > 0 and len(ds.memberships) > 0


def test_a_crash_leaves_no_accepted_folder(bench, tmp_path, monkeypatch):
    out = tmp_path / "bench_2000"
    real, calls = synth.generate, []

    def crash_on_second(**kw):
        calls.append(kw)
        if len(calls) == 2:
            raise RuntimeError("crash mid-way")
        return real(**kw)

    monkeypatch.setattr(synth, "generate", crash_on_second)
    with pytest.raises(RuntimeError):
        bench.write_chunked(out, 2_000, chunk=CHUNK)
    assert not out.exists() and not bench._current(out)
    monkeypatch.setattr(synth, "generate", real)
    bench.write_chunked(out, 2_000, chunk=CHUNK)
    assert bench._current(out)
    before = (out / "truth.json").read_text(encoding="utf-8")
    # a crash while regenerating keeps the last complete dataset as it was
    calls.clear()
    monkeypatch.setattr(synth, "generate", crash_on_second)
    with pytest.raises(RuntimeError):
        bench.write_chunked(out, 2_000, chunk=CHUNK)
    assert bench._current(out) and (out / "truth.json").read_text(encoding="utf-8") == before


def test_current_refuses_incomplete_or_nanosecond_folders(bench, folder, tmp_path):
    import shutil
    partial = tmp_path / "partial"
    shutil.copytree(folder, partial)
    (partial / "truth.json").unlink()
    assert not bench._current(partial)
    nano = tmp_path / "nano"
    nano.mkdir()
    pd.DataFrame({"member_id": [1]}).to_parquet(nano / "members.parquet")
    pd.DataFrame({"ts": pd.to_datetime(["2026-03-01"]).as_unit("ns")}).to_parquet(
        nano / "events.parquet", coerce_timestamps=None)
    (nano / "truth.json").write_text("{}", encoding="utf-8")
    assert not bench._current(nano)
    (nano / "events.parquet").unlink()
    pd.DataFrame({"ts": pd.to_datetime(["2026-03-01"]).as_unit("us")}).to_parquet(
        nano / "events.parquet")
    assert bench._current(nano)
