"""The synthetic community: deterministic, realistic in shape, and truth.json agrees with the data."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import data, synth
from helpers.errors import AnalysisWarning
from helpers.experiments import icc_anova


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.name != "truth.json"}


def test_same_seed_gives_identical_files(tmp_path):
    synth.write_community(tmp_path / "a", n_members=500, days=90, seed=3)
    synth.write_community(tmp_path / "b", n_members=500, days=90, seed=3)
    synth.write_community(tmp_path / "c", n_members=500, days=90, seed=4)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a")["events.csv"] != digest(tmp_path / "c")["events.csv"]
    ta, tb = synth.load_truth(tmp_path / "a"), synth.load_truth(tmp_path / "b")
    ta.pop("timing"), tb.pop("timing")
    assert ta == tb


def test_parquet_output_loads_like_csv(tmp_path):
    synth.write_community(tmp_path / "csv", n_members=500, days=60, seed=5)
    synth.write_community(tmp_path / "pq", n_members=500, days=60, seed=5, fmt="parquet")
    # 500 members over 40 groups: a group can end up empty, which the loader notes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        a, b = data.load_community(tmp_path / "csv"), data.load_community(tmp_path / "pq")
    assert a.notes == b.notes
    pd.testing.assert_frame_equal(a.events, b.events, check_categorical=False)
    pd.testing.assert_frame_equal(a.members, b.members, check_dtype=False)


def test_demo_shape_is_realistic(demo_community, demo_truth):
    m, e = demo_community.members, demo_community.events
    assert len(m) == 5000
    span = (e["ts"].max() - m["joined_at"].min()).days
    assert 175 <= span <= 180
    assert set(m["channel"]) == set(synth.CHANNELS) and len(synth.CHANNELS) == 6
    assert 30 <= m["group_id"].nunique() <= 60
    assert {"message", "reaction", "share", "check_in", "activity_join", "purchase"} <= set(
        e["event_type"].cat.categories)
    per_member = len(e) / len(m)
    assert 25 <= per_member <= 60, per_member
    assert (e.loc[e["event_type"] == "purchase", "amount"] > 0).all()
    assert e.loc[e["event_type"] != "purchase", "amount"].isna().all()
    # growth: more members join in the second half than in the first
    mid = m["joined_at"].min() + pd.Timedelta(days=90)
    assert (m["joined_at"] >= mid).sum() > 1.3 * (m["joined_at"] < mid).sum()
    # some members never act, some leave explicitly, referrals only where planted
    assert 0 < demo_truth["counts"]["never_active"] < 0.1 * len(m)
    assert m["left_at"].notna().sum() == demo_truth["counts"]["explicit_exits"] > 0
    referred = m.groupby("channel")["referrer_id"].apply(lambda s: s.notna().mean())
    assert referred["邀请码"] > 0.95 and referred["自然流量"] == 0
    # an event never precedes the join, and no referrer joined after the member they invited
    joined = m.set_index("member_id")["joined_at"]
    assert (e["ts"].to_numpy() >= joined.loc[e["member_id"]].to_numpy()).all()
    r = m.dropna(subset=["referrer_id"])
    assert (joined.loc[r["referrer_id"].astype("int64")].to_numpy() <= r["joined_at"].to_numpy()).all()


def test_truth_agrees_with_the_data(demo_community, demo_truth):
    m, e, a = demo_community.members, demo_community.events, demo_community.assignments
    assert demo_truth["counts"]["members"] == len(m)
    assert demo_truth["counts"]["events"] == len(e)
    assert demo_truth["counts"]["never_active"] == len(m) - e["member_id"].nunique()
    counts = m["channel"].value_counts()
    for channel, t in demo_truth["channels"].items():
        assert t["members"] == counts[channel]
        assert t["referral_share"] == pytest.approx(m.loc[m["channel"] == channel,
                                                          "referrer_id"].notna().mean(), abs=1e-4)
    assert demo_truth["channels"][demo_truth["baseline_channel"]]["churn_hazard_ratio"] == 1.0
    hrs = [t["churn_hazard_ratio"] for t in demo_truth["channels"].values()]
    assert min(hrs) < 0.8 and max(hrs) > 1.3  # channels really differ
    assert demo_truth["participation_hazard_ratio"] < 1
    exps = demo_community.experiments.set_index("experiment_id")
    assert set(exps.index) == set(demo_truth["experiments"])
    kinds = {(t["unit"], t["is_aa"]) for t in demo_truth["experiments"].values()}
    assert {("member", False), ("group", False), ("member", True)} <= kinds
    for eid, t in demo_truth["experiments"].items():
        realised = a.loc[a["experiment_id"] == eid, "arm"].value_counts().to_dict()
        assert realised == t["realised_split"]
        assert exps.loc[eid, "unit"] == t["unit"]
        assert t["n_units"] == sum(realised.values())
        if t["is_aa"]:
            assert t["planted_relative_lift_activity_prob"] == 0
        else:
            lift = t["planted_relative_lift_activity_prob"]
            assert 0.9 * lift < t["expected_relative_lift_active_days"] <= lift
            # the treatment arm really got the experiment's activity, the control arm did not
            act = exps.loc[eid, "activity_id"]
            joiners = e.loc[(e["event_type"] == "activity_join") & (e["activity_id"] == act)]
            assert len(joiners) > 0


def test_member_experiment_randomises_members_present_at_start(demo_community):
    m, a = demo_community.members, demo_community.assignments
    exp = demo_community.experiments.set_index("experiment_id").loc["exp_checkin_member"]
    units = a.loc[a["experiment_id"] == "exp_checkin_member", "unit_id"].astype("int64")
    joined = m.set_index("member_id").loc[units, "joined_at"]
    assert (joined < exp["starts_at"]).all()
    left = m.set_index("member_id").loc[units, "left_at"]
    assert not (left < exp["starts_at"]).any()


def test_group_effect_gives_a_realistic_icc(demo_community):
    """ICC of active days over two weeks: about 0.03–0.10, as in real member groups."""
    m, e = demo_community.members, demo_community.events
    start = e["ts"].min().normalize() + pd.Timedelta(days=100)
    window = e[(e["ts"] >= start) & (e["ts"] < start + pd.Timedelta(days=14))]
    days = window.assign(day=window["ts"].dt.floor("D")).groupby("member_id")["day"].nunique()
    present = m[m["joined_at"] < start]
    y = present["member_id"].map(days).fillna(0).to_numpy()
    icc = icc_anova(pd.DataFrame({"y": y, "g": present["group_id"].to_numpy()}), value="y", group="g")
    assert 0.02 <= icc <= 0.12, icc


def test_icc_estimator_matches_closed_form_on_balanced_data():
    y = np.array([1, 2, 3, 5, 6, 7, 2, 3, 4], float)
    g = np.repeat([0, 1, 2], 3)
    # balanced one-way ANOVA: MSB = 3*var(means)=3*((2-3.67)^2+(6-3.67)^2+(3-3.67)^2)/2, MSW = 1
    means = np.array([2, 6, 3.0])
    msb = 3 * ((means - means.mean()) ** 2).sum() / 2
    assert icc_anova(pd.DataFrame({"y": y, "g": g}), value="y", group="g") == pytest.approx(
        (msb - 1) / (msb + 2 * 1))


def test_sizes_scale_and_small_windows_move_experiments():
    tables, truth = synth.generate(n_members=500, days=60, n_groups=30, seed=1)
    assert len(tables["members"]) == 500
    assert tables["members"]["group_id"].nunique() == 30
    starts = tables["experiments"]["starts_at"]
    ends = tables["experiments"]["ends_at"]
    first_day = pd.Timestamp(synth.SynthConfig().start, tz="Asia/Shanghai")
    assert (ends <= first_day + pd.Timedelta(days=60)).all() and (starts > first_day).all()


def test_experiment_outside_the_window_is_refused():
    late = synth.ExperimentPlan("x", "x", "member", 55, 14, 0.1, None)
    with pytest.raises(ValueError, match="ends after day"):
        synth.generate(n_members=200, days=60, experiments=(late,))


def test_purchases_memberships_and_participation_are_planted(small_dir, small_community):
    """Purchase rates by channel, memberships (sBG renewals by plan) and participation by activity
    type are in truth.json; memberships.csv loads and starts at each member's first purchase."""
    truth = synth.load_truth(small_dir)
    assert set(truth["purchases"]["by_channel"]) == set(synth.CHANNELS)
    for ch, t in truth["purchases"]["by_channel"].items():
        assert 0 < t["expected_repurchase_30d"] < t["expected_conversion_30d"] < 1
        assert t["purchase_prob_multiplier"] == synth.PURCHASES[ch][0]
    plans = truth["memberships"]["plans"]
    assert set(plans) == set(synth.PLANS)
    for p in plans.values():
        a, b = p["alpha"], p["beta"]
        assert p["expected_renewal_rate"][0] == pytest.approx(b / (a + b), abs=1e-5)
    assert (small_dir / "memberships.csv").exists()
    ms = small_community.memberships
    assert len(ms) > 0 and set(ms["plan"]) <= set(synth.PLANS)
    buys = small_community.events[small_community.events["event_type"] == "purchase"]
    first_buy = buys.groupby("member_id")["ts"].min()
    first_period = ms.groupby("member_id")["starts_at"].min()
    diff = (first_period - first_buy.loc[first_period.index]).abs()
    assert (diff <= pd.Timedelta(seconds=1)).all()
    assert truth["activity_participation"]["activity_type_multiplier"] == synth.ACTIVITY_PARTICIPATION


def test_memberships_are_deterministic():
    """Memberships come from their own seeded stream: the same seed gives the same periods."""
    t1, _ = synth.generate(n_members=300, days=60, seed=9)
    t2, _ = synth.generate(n_members=300, days=60, seed=9)
    pd.testing.assert_frame_equal(t1["memberships"], t2["memberships"])
    pd.testing.assert_frame_equal(t1["events"], t2["events"])
