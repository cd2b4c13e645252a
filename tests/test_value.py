"""Value models: BG/NBD, Gamma-Gamma and sBG against published maximum-likelihood values and
planted truth; repeat_purchase and renewal on datasets loaded through the data contract."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import data, synth, value
from helpers.errors import AnalysisWarning, DataError, ParameterError
from helpers.value import bgnbd, gamma_gamma, sbg


# ----------------------------------------------------------------------------- CDNOW (published)
def cdnow_sample() -> pd.DataFrame:
    lifetimes = pytest.importorskip("lifetimes")
    path = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    df = pd.read_csv(path, sep=r"\s+", header=None, names=["id", "old_id", "date", "cds", "amount"],
                     dtype={"date": str})
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


@pytest.fixture(scope="module")
def cdnow_dir(tmp_path_factory):
    """The CDNOW sample (2,357 customers) written in the raw format: a member per customer
    (joined at the first purchase, one channel, no groups), a purchase event per row."""
    df = cdnow_sample()
    folder = tmp_path_factory.mktemp("cdnow")
    first = df.groupby("id")["date"].min()
    pd.DataFrame({"member_id": first.index, "joined_at": first.dt.strftime("%Y-%m-%d"),
                  "channel": "CDNOW", "group_id": ""}).to_csv(folder / "members.csv", index=False)
    pd.DataFrame({"member_id": df["id"], "ts": df["date"].dt.strftime("%Y-%m-%d"),
                  "event_type": "purchase", "amount": df["amount"]}).to_csv(
        folder / "events.csv", index=False)
    return folder


def test_cdnow_bgnbd_and_gamma_gamma_equal_published_mle(cdnow_dir):
    ds = data.load_community(cdnow_dir)
    assert len(ds.members) == 2357
    res = value.repeat_purchase(ds.members, ds.events, observed_until="1997-09-30",
                                time_unit_days=7)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005
    for k, v in published.items():
        assert res.params[k] == pytest.approx(v, rel=0.01), (k, res.params)
    for k, v in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert res.spend_params[k] == pytest.approx(v, rel=0.01), (k, res.spend_params)
    m = res.members
    assert list(m.columns[:8]) == value.MEMBER_COLUMNS
    assert len(m) == 2357 and (m["frequency"] > 0).sum() == 946
    assert m["p_alive"].between(0, 1).all() and (m["expected_purchases"] >= 0).all()


def test_cdnow_predictions_equal_lifetimes(cdnow_dir):
    lifetimes = pytest.importorskip("lifetimes")
    ds = data.load_community(cdnow_dir)
    res = value.repeat_purchase(ds.members, ds.events, observed_until="1997-09-30",
                                time_unit_days=7, horizon_days=91)
    m = res.members
    bg = lifetimes.BetaGeoFitter().fit(m["frequency"], m["recency"], m["T"])
    ref = bg.conditional_expected_number_of_purchases_up_to_time(13, m["frequency"],
                                                                  m["recency"], m["T"])
    np.testing.assert_allclose(m["expected_purchases"], ref, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(m["p_alive"], bg.conditional_probability_alive(
        m["frequency"], m["recency"], m["T"]), atol=1e-3)
    # holdout: fitted to an earlier date, predicted vs actual repeat purchases after it
    assert res.holdout_summary["customers"] > 1000
    ratio = res.holdout_summary["predicted_total"] / res.holdout_summary["actual_total"]
    assert 0.7 < ratio < 1.3, ratio
    assert set(res.holdout.columns) == {"frequency_cal", "customers", "predicted", "actual"}


# ----------------------------------------------------------------------------- planted truth
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_bgnbd_recovers_planted_parameters(seed):
    truth = {"r": 0.6, "alpha": 4.0, "a": 0.9, "b": 3.0}
    rng = np.random.default_rng(seed)
    x, t, T = bgnbd.simulate(truth, 20_000, 52.0, rng)
    fit = bgnbd.fit(x, t, T)
    for k, v in truth.items():
        assert fit[k] == pytest.approx(v, rel=0.2), (k, fit)


def test_gamma_gamma_recovers_planted_parameters():
    rng = np.random.default_rng(5)
    n = 20_000
    x = rng.integers(1, 8, n)
    nu = rng.gamma(4.0, 1 / 30.0, n)  # q = 4, v = 30
    m = rng.gamma(5.0 * x, 1 / (nu * x))  # p = 5
    fit = gamma_gamma.fit(x, m)
    assert fit["p"] == pytest.approx(5.0, rel=0.1)
    assert fit["q"] == pytest.approx(4.0, rel=0.15)
    assert fit["v"] == pytest.approx(30.0, rel=0.2)


def test_sbg_recovers_planted_parameters_across_seeds():
    for seed in range(4):
        rng = np.random.default_rng(seed)
        theta = rng.beta(0.8, 2.5, 20_000)
        life = rng.geometric(theta)
        horizon = 10
        lost = np.bincount(np.minimum(life, horizon + 1), minlength=horizon + 2)[1:horizon + 1]
        p = sbg.fit(np.arange(1, horizon + 1), lost, [horizon], [(life > horizon).sum()])
        assert p["alpha"] == pytest.approx(0.8, rel=0.15) and p["beta"] == pytest.approx(2.5, rel=0.15)


# ----------------------------------------------------------------------------- renewal
def fader_hardie_memberships(folder: Path) -> Path:
    """Fader & Hardie (2007) 'regular' customers as yearly membership periods: 1000 start in
    year 0, 631, 468, 382, 326, 289, 262, 241 still subscribed at years 1-7 (241 running)."""
    alive = [1000, 631, 468, 382, 326, 289, 262, 241]
    periods = np.repeat(np.arange(1, 9), -np.diff(alive + [0]))
    start = pd.Timestamp("2000-01-01")
    rows = []
    for i, n in enumerate(periods):
        for k in range(n):
            rows.append((f"c{i:04d}", "regular", start + pd.Timedelta(days=365 * k),
                         start + pd.Timedelta(days=365 * (k + 1))))
    ms = pd.DataFrame(rows, columns=["member_id", "plan", "starts_at", "ends_at"])
    folder.mkdir(parents=True, exist_ok=True)
    ms.to_csv(folder / "memberships.csv", index=False, date_format="%Y-%m-%d")
    ids = [f"c{i:04d}" for i in range(len(periods))]
    pd.DataFrame({"member_id": ids, "joined_at": "2000-01-01", "channel": "web",
                  "group_id": "g"}).to_csv(folder / "members.csv", index=False)
    pd.DataFrame({"member_id": ids, "ts": "2000-01-01", "event_type": "purchase"}).to_csv(
        folder / "events.csv", index=False)
    return folder


def test_sbg_on_fader_hardie_counts_loaded_as_memberships(tmp_path):
    ds = data.load_community(fader_hardie_memberships(tmp_path / "fh"))
    assert len(ds.memberships) == 1000 + 631 + 468 + 382 + 326 + 289 + 262 + 241
    end = pd.Timestamp("2007-01-01") + pd.Timedelta(days=100)
    r = value.renewal(ds.memberships, observed_until=end, by="plan")
    p = r.params["regular"]
    assert p["alpha"] == pytest.approx(0.704, rel=0.01) and p["beta"] == pytest.approx(1.182, rel=0.01)
    t = r.table
    assert t["up_for_renewal"].tolist() == [1000, 631, 468, 382, 326, 289, 262]
    assert t["renewed"].tolist() == [631, 468, 382, 326, 289, 262, 241]
    from statsmodels.stats.proportion import proportion_confint
    lo, hi = proportion_confint(t["renewed"], t["up_for_renewal"], method="wilson")
    np.testing.assert_allclose(t["ci_low"], lo)
    np.testing.assert_allclose(t["ci_high"], hi)
    # the 241 in a running period are censored, never lost
    assert r.curve["projected_still_subscribed"].iloc[6] == pytest.approx(0.241, abs=0.02)


def test_renewal_rules_grace_lapse_and_running_periods():
    d = pd.Timestamp
    ms = pd.DataFrame({
        "member_id": [1, 1, 1, 2, 2, 3, 4],
        "plan": ["月卡"] * 7,
        "starts_at": [d("2026-01-01"), d("2026-02-10"), d("2026-06-01"),  # 1: late renewal, lapse
                      d("2026-01-01"), d("2026-04-10"),                   # 2: lapse, re-joins
                      d("2026-03-20"),                                    # 3: ended < grace ago
                      d("2026-01-05")],                                   # 4: lost
        "ends_at": [d("2026-02-01"), d("2026-03-10"), d("2026-07-01"),
                    d("2026-02-01"), d("2026-05-10"), d("2026-04-20"), d("2026-02-05")]})
    r = value.renewal(ms, observed_until="2026-05-01", grace_days=14)
    t = r.table.set_index("renewal_index")
    # k=1: members 1 (renewed 9 days after the end), 2 (lapsed 68 days), 4 (lost); 3 censored
    assert t.loc[1, "up_for_renewal"] == 3 and t.loc[1, "renewed"] == 1
    # k=2: member 1's second period ended 2026-03-10 and no renewal within 14 days
    assert t.loc[2, "up_for_renewal"] == 1 and t.loc[2, "renewed"] == 0
    with pytest.raises(ParameterError):
        value.renewal(ms, grace_days=-1)


@pytest.mark.slow
def test_renewal_recovers_planted_rates_across_seeds(tmp_path):
    """Renewal rates by plan and renewal number cover the planted sBG rates (4 fresh seeds)."""
    hits = total = 0
    for seed in (21, 22, 23, 24):
        tables, truth = synth.generate(n_members=6000, days=180, seed=seed)
        ms, plans = tables["memberships"], truth["memberships"]["plans"]
        end = tables["events"]["ts"].max()
        r = value.renewal(ms, observed_until=end, grace_days=30)
        for _, row in r.table.iterrows():
            if row["up_for_renewal"] < 20:
                continue
            expected = plans[row["plan"]]["expected_renewal_rate"][int(row["renewal_index"]) - 1]
            hits += row["ci_low"] <= expected <= row["ci_high"]
            total += 1
    assert total >= 8 and hits / total >= 0.85, (hits, total)


def test_membership_loader_errors_name_rows(tmp_path):
    folder = fader_hardie_memberships(tmp_path / "bad")
    ms = pd.read_csv(folder / "memberships.csv")
    bad = ms.copy()
    bad.loc[3, "member_id"] = "nobody"
    bad.to_csv(folder / "memberships.csv", index=False)
    with pytest.raises(DataError) as e:
        data.load_community(folder)
    assert "unknown member" in str(e.value) and e.value.rows == [5]
    bad = ms.copy()
    bad.loc[2, "ends_at"] = "1999-01-01"
    bad.to_csv(folder / "memberships.csv", index=False)
    with pytest.raises(DataError) as e:
        data.load_community(folder)
    assert "ends_at before starts_at" in str(e.value) and e.value.rows == [4]
    bad = ms.copy()
    first = bad.index[bad["member_id"] == bad.loc[0, "member_id"]]
    bad = pd.concat([bad, bad.loc[[0]].assign(starts_at="2000-06-01")], ignore_index=True)
    bad.to_csv(folder / "memberships.csv", index=False)
    with pytest.raises(DataError) as e:
        data.load_community(folder)
    assert "overlapping" in str(e.value) and len(bad) + 1 in e.value.rows and 2 in e.value.rows
    del first


def test_repeat_purchase_on_thin_data_says_why():
    m = pd.DataFrame({"member_id": [1, 2]})
    ev = pd.DataFrame({"member_id": [1], "event_type": ["purchase"],
                       "ts": pd.to_datetime(["2026-01-01"]).tz_localize("Asia/Shanghai")})
    res = value.repeat_purchase(m, ev, observed_until="2026-02-01")
    assert not res.fitted and "too_few_repeat_buyers" in res.notes and res.members.empty


def test_repeat_purchase_by_channel_on_synthetic_data(small_community):
    ds = small_community
    res = value.repeat_purchase(ds.members, ds.events, by="channel")
    b = res.by_level
    assert set(b["channel"]) <= set(ds.members["channel"])
    assert (b["purchases_ci_low"] <= b["expected_purchases"]).all()
    assert (b["expected_purchases"] <= b["purchases_ci_high"]).all()
    assert (b["spend_ci_low"] <= b["expected_spend"]).all()
    total = res.members.groupby("channel")["expected_purchases"].mean()
    np.testing.assert_allclose(b.set_index("channel")["expected_purchases"], total.loc[b["channel"]])


def test_by_level_intervals_cover_the_true_parameters_predictions():
    """Delta-method intervals of the mean expected purchases cover the mean that the planted
    parameters predict for the same customers (20 seeds)."""
    from helpers.value.repeat import _by_level

    truth = {"r": 0.6, "alpha": 4.0, "a": 0.9, "b": 3.0}
    hits = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        x, t, T = bgnbd.simulate(truth, 3000, 30.0, rng)
        T = np.round(T * 7) / 7
        t = np.minimum(np.round(t * 7) / 7, T)
        s = pd.DataFrame({"member_id": np.arange(len(x)), "frequency": x, "recency": t, "T": T,
                          "monetary_value": np.nan})
        params = bgnbd.fit(x, t, T)
        s["expected_purchases"] = bgnbd.expected_purchases(params, 13, x, t, T)
        s["expected_spend"] = np.nan
        b = _by_level(s, [], params, {}, 13, 0.05).iloc[0]
        true_mean = bgnbd.expected_purchases(truth, 13, x, t, T).mean()
        hits += b["purchases_ci_low"] <= true_mean <= b["purchases_ci_high"]
    assert hits >= 17, hits


@pytest.mark.slow
def test_model_check_on_fresh_synthetic_communities():
    """On communities whose purchases are not a BG/NBD process (they follow the members' active
    days), the holdout prediction stays within 25% of what happened (3 fresh seeds), and buyers
    of the channel planted to buy most are predicted to buy most."""
    for seed in (41, 42, 43):
        tables, truth = synth.generate(n_members=3000, days=180, seed=seed)
        res = value.repeat_purchase(tables["members"], tables["events"], by="channel")
        h = res.holdout_summary
        assert 0.75 < h["predicted_total"] / h["actual_total"] < 1.25, h
        top = max(truth["purchases"]["by_channel"],
                  key=lambda c: truth["purchases"]["by_channel"][c]["purchase_prob_multiplier"])
        b = res.by_level.set_index("channel")["expected_purchases"]
        assert b.idxmax() == top, b
