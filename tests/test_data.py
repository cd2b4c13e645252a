"""The data contract: good input loads typed and tz-aware; every bad input gets a DataError that
names the file, the column, the offending rows and a fix."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from helpers import config, data
from helpers.errors import AnalysisWarning, DataError

MEMBERS = """member_id,joined_at,channel,group_id,left_at,referrer_id
m001,2026-03-02 09:00:00,海报裂变,G01,,
m002,2026-03-03 10:00:00,邀请码,G01,2026-03-20 12:00:00,m001
m003,2026-03-05 11:30:00,自然流量,G02,,
"""
EVENTS = """member_id,ts,event_type,activity_id,amount
m001,2026-03-02 09:05:00,message,,
m001,2026-03-04 20:00:00,purchase,,88.50
m002,2026-03-03 10:01:00,activity_join,A1,
m003,2026-03-06 08:00:00,reaction,,
"""
EXPERIMENTS = """experiment_id,unit,starts_at,ends_at,planned_split
e1,member,2026-03-10,2026-03-24,"control:0.5,treatment:0.5"
e2,group,2026-03-10,2026-03-24,
"""
ASSIGNMENTS = """experiment_id,unit_id,arm
e1,m001,control
e1,m002,treatment
e2,G01,treatment
e2,G02,control
"""


def write(folder, **tables):
    """Write a valid small dataset, with any table replaced by the text given."""
    texts = {"members": MEMBERS, "events": EVENTS, "experiments": EXPERIMENTS,
             "assignments": ASSIGNMENTS, **tables}
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        if text is None:
            continue
        if isinstance(text, bytes):
            (folder / f"{name}.csv").write_bytes(text)
        else:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def load_error(folder, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        data.load_community(folder, **kwargs)
    return info.value


# ----------------------------------------------------------------------------- good input
def test_valid_dataset_loads_with_types_and_time_zone(tmp_path):
    ds = data.load_community(write(tmp_path / "ok"))
    assert list(ds.members["member_id"]) == ["m001", "m002", "m003"]
    assert str(ds.members["joined_at"].dt.tz) == config.TIMEZONE
    assert ds.members["joined_at"].iloc[0] == pd.Timestamp("2026-03-02 09:00", tz="Asia/Shanghai")
    assert ds.members["referrer_id"].iloc[1] == "m001"
    assert ds.events["amount"].dtype == "float64"
    assert isinstance(ds.events["event_type"].dtype, pd.CategoricalDtype)
    assert ds.events["ts"].is_monotonic_increasing
    assert ds.observed_until == pd.Timestamp("2026-03-06 08:00", tz="Asia/Shanghai")
    assert ds.activities.empty and list(ds.activities.columns)[:2] == ["activity_id", "activity_type"]
    assert set(ds.assignments["unit_id"]) == {"m001", "m002", "G01", "G02"}
    assert ds.experiments.set_index("experiment_id").loc["e2", "control_arm"] == "control"
    assert ds.summary()["rows"].tolist()[:2] == [3, 4]


def test_offsets_are_converted_and_naive_times_read_in_dataset_zone(tmp_path):
    events = EVENTS.replace("2026-03-06 08:00:00", "2026-03-06T00:00:00Z")
    ds = data.load_community(write(tmp_path / "tz", events=events))
    assert ds.events["ts"].max() == pd.Timestamp("2026-03-06 08:00", tz="Asia/Shanghai")
    utc = data.load_community(tmp_path / "tz", tz="UTC")
    assert utc.members["joined_at"].iloc[0] == pd.Timestamp("2026-03-02 09:00", tz="UTC")


def test_integer_ids_become_integers_but_leading_zeros_stay_text(tmp_path):
    ints = data.load_community(write(tmp_path / "ints", members=MEMBERS.replace("m00", "10"),
                                     events=EVENTS.replace("m00", "10"),
                                     assignments=ASSIGNMENTS.replace("m00", "10")))
    assert ints.members["member_id"].dtype == "int64"
    assert ints.events["member_id"].dtype == "int64"
    assert ints.members["referrer_id"].iloc[1] == 101
    zeros = data.load_community(write(tmp_path / "zeros", members=MEMBERS.replace("m00", "00"),
                                      events=EVENTS.replace("m00", "00"),
                                      assignments=ASSIGNMENTS.replace("m00", "00")))
    assert zeros.members["member_id"].tolist() == ["001", "002", "003"]


def test_parquet_and_csv_give_the_same_tables(small_dir, small_community, tmp_path):
    for name in ("members", "events", "activities", "experiments", "assignments"):
        getattr(small_community, name).to_parquet(tmp_path / f"{name}.parquet", index=False)
    pq = data.load_community(tmp_path)
    pd.testing.assert_frame_equal(pq.members, small_community.members, check_dtype=False)
    pd.testing.assert_frame_equal(pq.events, small_community.events, check_dtype=False,
                                  check_categorical=False)


def test_loading_never_writes_raw_files(small_dir):
    def digest():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in small_dir.iterdir()}

    before = {p.name: p.stat().st_mtime_ns for p in small_dir.iterdir()}
    hashes = digest()
    data.load_community(small_dir)
    assert digest() == hashes
    assert {p.name: p.stat().st_mtime_ns for p in small_dir.iterdir()} == before


def test_blank_channel_becomes_unknown_with_a_note(tmp_path):
    members = MEMBERS.replace("m003,2026-03-05 11:30:00,自然流量", "m003,2026-03-05 11:30:00,")
    ds = data.load_community(write(tmp_path / "blank", members=members))
    assert ds.members["channel"].iloc[2] == "unknown"
    assert any("channel" in n for n in ds.notes)


# ----------------------------------------------------------------------------- events before joining
EARLY = EVENTS + "m003,2026-03-01 08:00:00,message,,\n"


def test_events_before_joining_are_dropped_by_default_and_noted(tmp_path):
    with pytest.warns(AnalysisWarning, match="before the member's joined_at"):
        ds = data.load_community(write(tmp_path / "early", events=EARLY))
    assert len(ds.events) == 4
    assert any("before the member joined" in n for n in ds.notes)


def test_events_before_joining_can_be_refused_or_kept(tmp_path):
    folder = write(tmp_path / "early", events=EARLY)
    err = load_error(folder, pre_join_events="error")
    assert "events.csv" in str(err) and err.column == "ts" and err.rows == [6]
    assert len(data.load_community(folder, pre_join_events="keep").events) == 5


# ----------------------------------------------------------------------------- bad input
def test_missing_dataset_folder_says_how_to_create_it(tmp_path):
    err = load_error(tmp_path / "nope")
    assert "not found" in str(err) and "How to fix" in str(err)


def test_missing_required_file(tmp_path):
    err = load_error(write(tmp_path / "noevents", events=None))
    assert "events.csv" in str(err) and "required table 'events'" in str(err)


def test_missing_required_column(tmp_path):
    members = MEMBERS.replace("channel,", "source,")
    err = load_error(write(tmp_path / "nocol", members=members))
    assert err.column == "channel" and "members.csv" in str(err)
    assert "['channel']" in str(err) and "How to fix" in str(err)


def test_unparseable_timestamp_names_rows(tmp_path):
    events = EVENTS.replace("2026-03-04 20:00:00", "04/03/2026 8pm")
    err = load_error(write(tmp_path / "badts", events=events))
    assert err.column == "ts" and err.rows == [3] and "events.csv" in str(err)
    assert "04/03/2026 8pm" in str(err) and "ISO 8601" in str(err)


def test_duplicate_member_id(tmp_path):
    members = MEMBERS + "m002,2026-04-01 10:00:00,邀请码,G01,,\n"
    err = load_error(write(tmp_path / "dup", members=members))
    assert err.column == "member_id" and err.rows == [3, 5] and "duplicate" in str(err)


@pytest.mark.parametrize("table, column", [("experiments", "experiment_id"),
                                           ("activities", "activity_id")])
def test_duplicate_ids_of_the_other_tables(tmp_path, table, column):
    texts = {"experiments": EXPERIMENTS + "e1,group,2026-03-12,2026-03-26,\n",
             "activities": "activity_id,activity_type,starts_at,ends_at\n"
                           "A1,check_in,2026-03-03 09:00:00,2026-03-03 10:00:00\n"
                           "A2,live,2026-03-05 20:00:00,2026-03-05 21:00:00\n"
                           "A1,check_in,2026-03-10 09:00:00,2026-03-10 10:00:00\n"}
    err = load_error(write(tmp_path / "dup", **{table: texts[table]}))
    assert err.column == column and err.rows == [2, 4]
    assert f"duplicate {column}" in str(err) and "keep one row per" in str(err)


def test_event_of_unknown_member(tmp_path):
    events = EVENTS + "ghost,2026-03-06 09:00:00,message,,\n"
    err = load_error(write(tmp_path / "ghost", events=events))
    assert err.column == "member_id" and err.rows == [6] and "ghost" in str(err)


def test_left_before_joined(tmp_path):
    members = MEMBERS.replace("2026-03-20 12:00:00", "2026-03-01 12:00:00")
    err = load_error(write(tmp_path / "left", members=members))
    assert err.column == "left_at" and err.rows == [3] and "before joined_at" in str(err)


@pytest.mark.parametrize("ids", ["text", "integer"])
def test_member_referring_themself(tmp_path, ids):
    members = MEMBERS.replace("m003,2026-03-05 11:30:00,自然流量,G02,,",
                              "m003,2026-03-05 11:30:00,自然流量,G02,,m003")
    events, assignments = EVENTS, ASSIGNMENTS
    if ids == "integer":  # integer ids are compared as numbers, text ids as text
        members, events, assignments = (t.replace("m00", "10")
                                        for t in (members, events, assignments))
    err = load_error(write(tmp_path / ids, members=members, events=events,
                           assignments=assignments))
    assert err.column == "referrer_id" and err.rows == [4] and "refers themself" in str(err)
    ok = data.load_community(write(tmp_path / f"{ids}_ok", events=events, assignments=assignments,
                                   members=members.replace(",m003\n", ",m001\n")
                                   .replace(",103\n", ",101\n")))
    assert ok.members["referrer_id"].notna().sum() == 2


def test_negative_amount(tmp_path):
    events = EVENTS.replace("88.50", "-88.50")
    err = load_error(write(tmp_path / "neg", events=events))
    assert err.column == "amount" and err.rows == [3] and "refund" in str(err)


def test_non_numeric_amount(tmp_path):
    events = EVENTS.replace("88.50", "¥88.50")
    err = load_error(write(tmp_path / "yuan", events=events))
    assert err.column == "amount" and "not a number" in str(err)


def test_assignment_to_unknown_experiment(tmp_path):
    assignments = ASSIGNMENTS + "e9,m003,control\n"
    err = load_error(write(tmp_path / "e9", assignments=assignments))
    assert err.column == "experiment_id" and err.rows == [6] and "assignments.csv" in str(err)
    assert "e1" in str(err)  # lists the valid ids


def test_unit_assigned_to_two_arms(tmp_path):
    assignments = ASSIGNMENTS + "e1,m001,treatment\n"
    err = load_error(write(tmp_path / "twoarms", assignments=assignments))
    assert err.column == "unit_id" and err.rows == [2, 6] and "two arms" in str(err)


def test_assignment_of_unknown_member(tmp_path):
    assignments = ASSIGNMENTS + "e1,m999,control\n"
    err = load_error(write(tmp_path / "m999", assignments=assignments))
    assert err.column == "unit_id" and err.rows == [6] and "m999" in str(err)


def test_assignment_of_a_group_without_members_is_noted(tmp_path):
    assignments = ASSIGNMENTS + "e2,G99,control\n"
    with pytest.warns(AnalysisWarning, match="G99"):
        ds = data.load_community(write(tmp_path / "g99", assignments=assignments))
    assert any("G99" in n for n in ds.notes)


def test_empty_required_table(tmp_path):
    err = load_error(write(tmp_path / "empty", events="member_id,ts,event_type\n"))
    assert "events.csv" in str(err) and "no rows" in str(err)


def test_zero_byte_file(tmp_path):
    err = load_error(write(tmp_path / "zero", members=""))
    assert "members.csv" in str(err) and "empty" in str(err)


def test_gbk_file_is_detected_and_named(tmp_path):
    err = load_error(write(tmp_path / "gbk", members=MEMBERS.encode("gbk")))
    msg = str(err)
    assert "members.csv" in msg and "not UTF-8" in msg and "GBK" in msg and "iconv" in msg
    assert err.rows == [2]  # the first line with Chinese text


def test_utf8_with_bom_is_accepted(tmp_path):
    ds = data.load_community(write(tmp_path / "bom", members="\ufeff" + MEMBERS))
    assert ds.members.columns[0] == "member_id"


def test_experiment_with_bad_unit_and_split(tmp_path):
    err = load_error(write(tmp_path / "unit", experiments=EXPERIMENTS.replace(",group,", ",team,")))
    assert err.column == "unit" and err.rows == [3]
    err = load_error(write(tmp_path / "split", experiments=EXPERIMENTS.replace(
        '"control:0.5,treatment:0.5"', '"control:x"')))
    assert err.column == "planned_split"


def test_parse_split_normalises():
    assert data.parse_split("control:1,treatment:3") == {"control": 0.25, "treatment": 0.75}
    assert data.parse_split("") is None


# ----------------------------------------------------------------------------- writing
def test_atomic_path_keeps_the_last_good_file_on_failure(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with data.atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("crash")
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    with data.atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_atomic_path_refuses_raw_data():
    with pytest.raises(PermissionError, match="read-only"):
        with data.atomic_path(config.RAW_DIR / "demo" / "members.csv"):
            pass


def test_write_processed_round_trips(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "PROCESSED_DIR", tmp_path)
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "海报裂变"]})
    path = data.write_processed(df, "demo", "table")
    assert path == tmp_path / "demo" / "table.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)
