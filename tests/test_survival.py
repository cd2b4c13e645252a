"""Tests of helpers.survival: pinned published numbers, closed forms, a bootstrap, brute force,
and the planted truth of the synthetic demo community."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import survival
from helpers.errors import DataError, ParameterError

# --------------------------------------------------------------------------- reference data
# R survival's `aml` (acute myelogenous leukaemia; Miller 1981): weeks to relapse, status 1 = event.
AML = pd.DataFrame({
    "time": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161,
             5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    "status": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0,
               1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    "x": ["Maintained"] * 11 + ["Nonmaintained"] * 12,
})
# print(survfit(Surv(time, status) ~ x, data = aml)) -> survival and Greenwood std.err at events
AML_KM = {
    "Maintained": [(9, 11, 0.909, 0.0867), (13, 10, 0.818, 0.1163), (18, 8, 0.716, 0.1397),
                   (23, 7, 0.614, 0.1526), (31, 5, 0.491, 0.1642), (34, 4, 0.368, 0.1627),
                   (48, 2, 0.184, 0.1535)],
    "Nonmaintained": [(5, 12, 0.8333, 0.1076), (8, 10, 0.6667, 0.1361), (12, 8, 0.5833, 0.1423),
                      (23, 6, 0.4861, 0.1481), (27, 5, 0.3889, 0.1470), (30, 4, 0.2917, 0.1387),
                      (33, 3, 0.1944, 0.1219), (43, 2, 0.0972, 0.0919), (45, 1, 0.0, None)],
}


def test_km_table_matches_r_survival_aml():
    km = survival.km_table(AML, duration_col="time", event_col="status", group_col="x")
    assert km["group"].unique().tolist() == ["Maintained", "Nonmaintained"]
    z = stats.norm.ppf(0.975)
    for g, rows in AML_KM.items():
        sub = km[km["group"] == g].set_index("timeline")
        assert sub.loc[0, "survival"] == 1 and sub.loc[0, "ci_low"] == 1
        for t, n_risk, surv, se in rows:
            r = sub.loc[float(t)]
            assert r["at_risk"] == n_risk
            assert r["survival"] == pytest.approx(surv, abs=6e-4)
            if se is None or surv == 0:
                continue
            # lifelines' band is the exponential (log-log) Greenwood interval: rebuild it from
            # R's published Greenwood std.err (std.err/S is sqrt of the Greenwood sum)
            v = (se / surv) ** 2
            half = z * np.sqrt(v) / abs(np.log(surv))
            lo, hi = surv ** np.exp(half), surv ** np.exp(-half)
            assert r["ci_low"] == pytest.approx(lo, abs=3e-3)
            assert r["ci_high"] == pytest.approx(hi, abs=3e-3)


def test_km_table_single_group_and_censored_counts():
    df = pd.DataFrame({"duration_days": [1, 2, 2, 5], "churned": [1, 1, 0, 1]})
    km = survival.km_table(df)
    assert km["group"].eq("all").all()
    assert km["survival"].round(4).tolist() == [1.0, 0.75, 0.5, 0.0]
    assert km["at_risk"].tolist() == [4, 4, 3, 1]
    assert km["events"].tolist() == [0, 1, 1, 1]
    assert km["censored"].tolist() == [0, 0, 1, 0]


def test_km_table_bad_parameters():
    with pytest.raises(ParameterError, match="group_col='nope'"):
        survival.km_table(AML, duration_col="time", event_col="status", group_col="nope")
    with pytest.raises(ParameterError, match="alpha"):
        survival.km_table(AML, duration_col="time", event_col="status", alpha=5)
    bad = AML.assign(time=AML["time"] - 10)
    with pytest.raises(DataError, match="negative"):
        survival.km_table(bad, duration_col="time", event_col="status")


def _rmst_by_hand(time, status, tau):
    """Area under the KM step function, from the product-limit formula directly."""
    s, area, prev = 1.0, 0.0, 0.0
    for t in sorted(set(t for t, e in zip(time, status) if e and t <= tau)):
        area += s * (t - prev)
        n = sum(1 for u in time if u >= t)
        d = sum(1 for u, e in zip(time, status) if u == t and e)
        s *= 1 - d / n
        prev = t
    return area + s * (tau - prev)


def test_rmst_matches_hand_computation_on_aml():
    tab = survival.rmst_table(AML, duration_col="time", event_col="status", group_col="x",
                              horizon_days=40)
    for _, r in tab.iterrows():
        sub = AML[AML["x"] == r["group"]]
        assert r["rmst"] == pytest.approx(_rmst_by_hand(sub["time"], sub["status"], 40))
        assert r["ci_low"] < r["rmst"] < r["ci_high"]


def test_rmst_difference_matches_bootstrap():
    rng = np.random.default_rng(11)
    n = 400
    arm = np.repeat(["control", "treatment"], n)
    t_true = np.concatenate([rng.exponential(60, n), rng.exponential(80, n)])
    cens = rng.uniform(20, 150, 2 * n)
    df = pd.DataFrame({"arm": arm, "duration_days": np.minimum(t_true, cens),
                       "churned": t_true <= cens})
    res = survival.rmst_difference(df, group_col="arm", horizon_days=90, reference="control")
    assert res.shape[0] == 1 and res["group"].iloc[0] == "treatment"
    # independent reference: nonparametric bootstrap (resampling within arm) of the difference
    boot = []
    groups = {g: d for g, d in df.groupby("arm")}
    for _ in range(300):
        parts = [d.iloc[rng.integers(0, len(d), len(d))] for d in groups.values()]
        r = survival.rmst_table(pd.concat(parts), group_col="arm", horizon_days=90)
        boot.append(r["rmst"].iloc[1] - r["rmst"].iloc[0])
    boot = np.asarray(boot)
    assert res["se"].iloc[0] == pytest.approx(boot.std(ddof=1), rel=0.15)
    assert res["difference"].iloc[0] == pytest.approx(boot.mean(), abs=0.3 * boot.std())
    # and the closed-form truth (exponential RMST = m (1 - e^{-τ/m})) is inside the CI
    truth = 80 * (1 - np.exp(-90 / 80)) - 60 * (1 - np.exp(-90 / 60))
    assert res["ci_low"].iloc[0] < truth < res["ci_high"].iloc[0]
    assert res["p_value"].iloc[0] == pytest.approx(
        2 * stats.norm.sf(abs(res["difference"].iloc[0]) / res["se"].iloc[0]))


def test_rmst_difference_parameters():
    with pytest.raises(ParameterError, match="reference='x'"):
        survival.rmst_difference(AML, duration_col="time", event_col="status", group_col="x",
                                 reference="x")
    with pytest.raises(ParameterError, match="at least two groups"):
        survival.rmst_difference(AML.assign(x="a"), duration_col="time", event_col="status",
                                 group_col="x")
    with pytest.raises(ParameterError, match="horizon_days"):
        survival.rmst_table(AML, duration_col="time", event_col="status", horizon_days=-1)
