"""The pattern-collapsed Cox fit against lifelines (CoxTimeVaryingFitter, CoxPHFitter): the same
coefficients, standard errors, log-likelihood and baseline hazard, and the fall-back to lifelines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, CoxTimeVaryingFitter

from helpers import survival
from helpers.survival import _grouped_cox
from helpers.survival._grouped_cox import (GroupedCoxFit, efron_closed_forms, efron_sums,
                                           grouped_cox)

TOL = 1e-8


def _ctv(X, start, stop, event, penalizer=0.0):
    df = X.copy()
    df["_id"], df["_start"], df["_stop"], df["_E"] = np.arange(len(X)), start, stop, event
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxTimeVaryingFitter(penalizer=penalizer).fit(
            df, id_col="_id", event_col="_E", start_col="_start", stop_col="_stop")


def _assert_same(ref, fit, X):
    assert isinstance(fit, GroupedCoxFit)
    assert list(fit.params_.index) == list(ref.params_.index)
    np.testing.assert_allclose(fit.params_, ref.params_, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(fit.standard_errors_, ref.standard_errors_, rtol=TOL, atol=TOL)
    assert fit.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-10)
    h_ref, h = ref.baseline_cumulative_hazard_, fit.baseline_cumulative_hazard_
    np.testing.assert_array_equal(h.index.to_numpy(float), h_ref.index.to_numpy(float))
    np.testing.assert_allclose(h.iloc[:, 0], h_ref.iloc[:, 0], rtol=TOL, atol=TOL)
    for col in ("coef", "se(coef)", "z", "p", "exp(coef) lower 95%", "exp(coef) upper 95%"):
        np.testing.assert_allclose(fit.summary[col], ref.summary[col], rtol=1e-7, atol=TOL)
    np.testing.assert_allclose(fit.predict_partial_hazard(X), ref.predict_partial_hazard(X),
                               rtol=TOL)


def _counting_data(rng, n=4000):
    """Intervals with ties (integer days), a binary switch, a 4-level dummy set, an integer
    count, late entries (start > 0) and rows starting at 0."""
    seg = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    X = pd.DataFrame({"x": rng.integers(0, 2, n).astype(float),
                      "seg[b]": (seg == "b").astype(float), "seg[c]": (seg == "c").astype(float),
                      "seg[d]": (seg == "d").astype(float),
                      "count": rng.integers(0, 6, n).astype(float)})
    start = np.where(rng.random(n) < 0.3, rng.integers(1, 20, n), 0).astype(float)
    lp = 0.5 * X["x"] - 0.4 * X["seg[b]"] + 0.3 * X["seg[d]"] - 0.1 * X["count"]
    stop = start + np.ceil(rng.exponential(20 * np.exp(-lp)))
    event = (stop < 60) & (rng.random(n) < 0.8)
    return X, start, np.minimum(stop, 60), event


@pytest.mark.parametrize("d", [1, 2, 7, 300, _grouped_cox.DIRECT_TIES, 1001, 5000])
def test_efron_sums_equal_the_direct_loop(d):
    """Everyone at risk dies (S = T), small and huge risk sets; the closed forms to 1e-9
    (cancellation when S ≫ T), the sums used (direct up to DIRECT_TIES ties) to 1e-12."""
    S = np.array([float(d), d * 1.5, 1e3 + d, 1e7])
    T = np.array([float(d), float(d), d * 0.7, d * 3.3])
    closed = efron_closed_forms(S, T, np.full(4, float(d)))
    used = efron_sums(S, T, np.full(4, float(d)))
    for k in range(4):
        N = S[k] - np.arange(d) * T[k] / d
        loop = (np.log(N).sum(), (1 / N).sum(), (1 / N ** 2).sum())
        for j in range(3):
            assert closed[j][k] == pytest.approx(loop[j], rel=1e-9)
            assert used[j][k] == pytest.approx(
                loop[j], rel=1e-12 if d <= _grouped_cox.DIRECT_TIES else 1e-9)


@pytest.mark.parametrize("penalizer", [0.0, 0.1])
def test_grouped_fit_equals_lifelines_time_varying(rng, penalizer):
    X, start, stop, event = _counting_data(rng)
    fit = grouped_cox(X, start, stop, event, penalizer=penalizer)
    assert fit.patterns == 2 * 4 * 6 and fit.rows == len(X)
    assert fit.event_times == len(np.unique(stop[event]))
    _assert_same(_ctv(X, start, stop, event, penalizer), fit, X)


def test_grouped_fit_equals_lifelines_on_the_long_format_of_a_report(small_community):
    """time_varying_long's rows: zero durations moved to 1/1000 day, a split at the first
    participation and at day 7 (delayed early count), channel dummies."""
    ct = survival.churn_table(small_community.members, small_community.events)
    assert (ct["duration_days"] == 0).any()  # members who never acted
    long = survival.time_varying_long(ct, covariates=["channel", "referred"],
                                      delayed={"early_events_7d": 7})
    assert (long["stop"] == 0.001).any() and (long["start"] == 7).any()
    res = survival.time_varying_cox(long, covariates=["channel", "referred", "early_events_7d"])
    assert isinstance(res.fitter, GroupedCoxFit) and res.training_data is None
    cols = list(res.fitter.params_.index)
    # the same model through lifelines' fitter on the same rows (the budget forces it)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)
        lifelines_res = survival.time_varying_cox(
            long, covariates=["channel", "referred", "early_events_7d"])
    assert isinstance(lifelines_res.fitter, CoxTimeVaryingFitter)
    assert lifelines_res.training_data is not None
    X_rows = lifelines_res.training_data[cols]
    _assert_same(lifelines_res.fitter, res.fitter, X_rows)
    pd.testing.assert_frame_equal(res.hazard_ratios, lifelines_res.hazard_ratios,
                                  rtol=TOL, atol=TOL)
    assert (res.n, res.events, res.penalizer) == (lifelines_res.n, lifelines_res.events, 0.0)


def test_risk_list_is_the_same_with_either_fitter(small_community):
    ct = survival.churn_table(small_community.members, small_community.events)
    now = survival.churn_table(small_community.members, small_community.events,
                               censoring="end")
    delayed = {"early_events_7d": 7}
    long = survival.time_varying_long(ct, covariates=["channel"], delayed=delayed)
    terms = ["channel", "early_events_7d"]
    res = survival.time_varying_cox(long, covariates=terms)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)
        ref = survival.time_varying_cox(long, covariates=terms)
    a = survival.risk_list(now, res, delayed=delayed, top=None, salt="s")
    b = survival.risk_list(now, ref, delayed=delayed, top=None, salt="s")
    assert len(a) > 50
    pd.testing.assert_frame_equal(a, b, rtol=TOL, atol=TOL)


def test_separation_gets_the_same_penalised_refit_and_note(rng):
    """A dummy whose members never churn: the coefficients diverge, fit_with_retry warns and
    refits with penalizer 0.1 — the same estimates and note with either fitter."""
    n = 1500
    seg = rng.choice(["a", "b", "safe"], n, p=[0.5, 0.45, 0.05])
    part = rng.exponential(15, n)
    t = np.ceil(rng.exponential(np.where(seg == "b", 25.0, 15.0)))
    churned = (t < 50) & (seg != "safe")
    df = pd.DataFrame({"member_id": np.arange(n), "duration_days": np.minimum(t, 50),
                       "churned": churned, "days_to_first_participation": part, "seg": seg})
    long = survival.time_varying_long(df, covariates=["seg"])
    with pytest.warns(Warning, match="penalizer=0.1"):
        res = survival.time_varying_cox(long, covariates=["seg"], baselines={"seg": "a"})
    with pytest.MonkeyPatch.context() as mp, pytest.warns(Warning, match="penalizer=0.1"):
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)
        ref = survival.time_varying_cox(long, covariates=["seg"], baselines={"seg": "a"})
    assert isinstance(res.fitter, GroupedCoxFit)
    assert res.penalizer == ref.penalizer == 0.1
    assert res.notes == ref.notes
    pd.testing.assert_frame_equal(res.hazard_ratios, ref.hazard_ratios, rtol=TOL, atol=TOL)


def test_falls_back_to_lifelines_when_it_does_not_apply(rng):
    X, start, stop, event = _counting_data(rng, n=500)
    G = 2 * 4 * 6
    K = len(np.unique(stop[event]))
    cells = _grouped_cox.table_cells(G, K, X.shape[1])
    assert grouped_cox(X, start, stop, event, budget=cells) is not None
    assert grouped_cox(X, start, stop, event, budget=cells - 1) is None  # over the budget
    assert grouped_cox(X.assign(x=1.0), start, stop, event) is None  # constant column
    bad = stop.copy()
    bad[0] = start[0]
    assert grouped_cox(X, start, bad, event) is None  # empty interval: lifelines' checks speak
    assert grouped_cox(X, start, stop, np.zeros(len(X), bool)) is None  # no event
    # a continuous covariate with exact times: patterns ≈ rows, over the default budget for
    # large data — here forced by a small budget, the result is lifelines' own fitter
    long = pd.DataFrame({"member_id": np.arange(500), "start": start, "stop": stop,
                         "participated": X["x"].astype(int), "churned": event,
                         "score": rng.normal(size=500)})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 1000)
        res = survival.time_varying_cox(long, covariates=["score"])
    assert isinstance(res.fitter, CoxTimeVaryingFitter)
    fit = grouped_cox(pd.DataFrame({"participated": X["x"], "score": long["score"]}),
                      start, stop, event)
    assert fit.patterns == 500  # no collapse at all, still exact
    np.testing.assert_allclose(fit.params_, res.fitter.params_, rtol=TOL, atol=TOL)


def test_static_fit_equals_lifelines_coxph_with_ties_and_zero_durations(rng):
    """A one-row-per-member model is the special case start < every time: CoxPHFitter's
    coefficients, SEs and log-likelihood (Efron), zero durations included."""
    n = 3000
    X = pd.DataFrame({"x": rng.integers(0, 2, n).astype(float),
                      "k": rng.integers(0, 4, n).astype(float)})
    T = np.floor(rng.exponential(10 * np.exp(-0.4 * X["x"] + 0.2 * X["k"])))
    E = rng.random(n) < 0.7
    assert (T == 0).sum() > 100
    df = X.assign(T=T, E=E)
    ref = CoxPHFitter().fit(df, "T", "E")
    fit = grouped_cox(X, np.full(n, -1.0), T, E)
    np.testing.assert_allclose(fit.params_, ref.params_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fit.standard_errors_, ref.standard_errors_, rtol=1e-6)
    assert fit.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-9)


def test_model_based_cox_equals_cox_model(small_community):
    """Hour-rounded durations (the report's static fits), dummies, a flag, zero durations; the
    penalised refit; and the fall-back when over the budget (then it is cox_model itself)."""
    ct = survival.churn_table(small_community.members, small_community.events)
    ct["took_part"] = ct["days_to_first_participation"] < ct["duration_days"]
    for covs in (["took_part"], ["took_part", "channel", "referred"]):
        for pen in (0.0, 0.1):
            a = survival.model_based_cox(ct, covariates=covs, resolution_days=1 / 24,
                                         penalizer=pen)
            b = survival.cox_model(ct, covariates=covs, resolution_days=1 / 24, penalizer=pen)
            assert isinstance(a.fitter, GroupedCoxFit) and np.isnan(a.concordance)
            pd.testing.assert_frame_equal(a.hazard_ratios, b.hazard_ratios, rtol=1e-10,
                                          atol=1e-12)
            assert (a.n, a.events, a.baselines, a.penalizer) == (b.n, b.events, b.baselines,
                                                                 b.penalizer)
            np.testing.assert_allclose(a.fitter.log_likelihood_, b.fitter.log_likelihood_,
                                       rtol=1e-12)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)
        c = survival.model_based_cox(ct, covariates=["took_part"], resolution_days=1 / 24)
    assert isinstance(c.fitter, CoxPHFitter)


def test_participation_effects_unchanged(small_community):
    """The six fits by pattern give the table lifelines gives on the rows."""
    ct = survival.churn_table(small_community.members, small_community.events)
    fast = survival.participation_effects(ct, adjust_for=["channel"], resolution_days=1 / 24,
                                          truth_hr=0.7)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)
        slow = survival.participation_effects(ct, adjust_for=["channel"],
                                              resolution_days=1 / 24, truth_hr=0.7)
    assert len(fast) == 6
    pd.testing.assert_frame_equal(fast, slow, rtol=1e-8, atol=1e-10)


def test_cox_model_warm_start_gives_lifelines_cold_result(small_community):
    """cox_model starts lifelines at the pattern fit's optimum: the coefficients, robust SEs,
    concordance and PH test equal a cold CoxPHFitter fit on the same rows."""
    from helpers.survival.cox import linear_time_residuals

    ct = survival.churn_table(small_community.members, small_community.events)
    res = survival.cox_model(ct, covariates=["channel", "referred"], cluster_col="group_id",
                             resolution_days=1 / 24)
    df = res.training_data
    with linear_time_residuals():
        cold = CoxPHFitter().fit(df, "_T", "_E", cluster_col="_cluster")
    np.testing.assert_allclose(res.fitter.params_, cold.params_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.fitter.standard_errors_, cold.standard_errors_, rtol=1e-10)
    np.testing.assert_allclose(res.fitter.variance_matrix_, cold.variance_matrix_, rtol=1e-9)
    assert res.concordance == pytest.approx(cold.concordance_index_, abs=1e-12)
    assert res.fitter.log_likelihood_ == pytest.approx(cold.log_likelihood_, rel=1e-12)
    ph = survival.ph_check(res)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)  # no warm start: lifelines from zero
        ref = survival.cox_model(ct, covariates=["channel", "referred"],
                                 cluster_col="group_id", resolution_days=1 / 24)
    pd.testing.assert_frame_equal(res.hazard_ratios, ref.hazard_ratios, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(ph, survival.ph_check(ref), rtol=1e-8, atol=1e-10)


def test_stratified_fit_equals_lifelines_and_warm_starts_cox_model(small_community, rng):
    X, start, stop, event = _counting_data(rng, n=3000)
    strata = rng.choice(["u", "v", "w"], len(X))
    df = X.assign(T=stop, E=event, s=strata)
    ref = CoxPHFitter().fit(df, "T", "E", strata=["s"])
    fit = grouped_cox(X, np.full(len(X), -1.0), stop, event, style="static", strata=strata)
    np.testing.assert_allclose(fit.params_, ref.params_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.standard_errors_, ref.standard_errors_, rtol=1e-10)
    assert fit.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-12)
    # the stratified refit of the report: warm-started, the cold result
    ct = survival.churn_table(small_community.members, small_community.events)
    kw = dict(covariates=["referred"], strata=["channel"], cluster_col="group_id",
              resolution_days=1 / 24)
    res = survival.cox_model(ct, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped_cox, "PATTERN_BUDGET", 0)
        cold = survival.cox_model(ct, **kw)
    pd.testing.assert_frame_equal(res.hazard_ratios, cold.hazard_ratios, rtol=1e-10, atol=1e-12)


def test_concordance_counts_equal_lifelines_tree(rng, small_community):
    from lifelines.utils.concordance import _concordance_summary_statistics as tree

    from helpers.survival._grouped_cox import concordance_counts

    n = 2000
    T = np.ceil(rng.exponential(10, n))  # many tied times
    E = rng.random(n) < 0.6
    for score in (rng.integers(0, 5, n).astype(float), rng.normal(size=n)):
        assert concordance_counts(T, score, E) == tuple(int(x) for x in tree(T, score, E))
    assert concordance_counts(T, rng.normal(size=n), E, budget=10) is None
    # cox_model's concordance (plain and stratified) against lifelines' property
    ct = survival.churn_table(small_community.members, small_community.events)
    for kw in ({}, {"strata": ["channel"]}):
        res = survival.cox_model(ct, covariates=["referred", "early_events_7d"],
                                 resolution_days=1 / 24, **kw)
        assert res.concordance == res.fitter.concordance_index_  # same integers, same ratio


def test_cox_model_with_heavy_ties_equals_lifelines_row_loop(rng):
    """Few distinct durations: cox_model asks lifelines for its per-time ("batch") sums; the
    result equals lifelines' per-row ("single") loop from zero, robust SEs included."""
    from helpers.survival.cox import linear_time_residuals

    n = 5000
    df = pd.DataFrame({"seg": rng.choice(["a", "b", "c"], n), "g": rng.integers(0, 50, n)})
    t = np.ceil(rng.exponential(np.where(df["seg"] == "b", 20.0, 12.0)))
    df["duration_days"], df["churned"] = np.minimum(t, 40), t < 40
    res = survival.cox_model(df, covariates=["seg"], baselines={"seg": "a"}, cluster_col="g")
    assert res.training_data["_T"].nunique() * 10 <= n
    with linear_time_residuals():
        single = CoxPHFitter().fit(res.training_data, "_T", "_E", cluster_col="_cluster",
                                   batch_mode=False)
    np.testing.assert_allclose(res.fitter.params_, single.params_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.fitter.standard_errors_, single.standard_errors_, rtol=1e-9)
    assert res.concordance == pytest.approx(single.concordance_index_, abs=1e-12)


def test_stratified_refit_rounds_durations_like_the_model_it_refits(rng):
    n = 3000
    seg = rng.choice(["early", "late"], n)
    t = np.where(seg == "early", rng.weibull(0.5, n) * 20, rng.weibull(3, n) * 20)
    df = pd.DataFrame({"seg": seg, "x": rng.integers(0, 3, n), "duration_days": np.minimum(t, 40),
                       "churned": t < 40})
    res = survival.cox_model(df, covariates=["seg", "x"], baselines={"seg": "early"},
                             resolution_days=1 / 24)
    assert res.resolution_days == 1 / 24
    ph = survival.ph_check(res)
    strat = survival.stratify_violations(res, df, ph)
    assert strat.strata == ("seg",) and strat.resolution_days == 1 / 24
    same = survival.cox_model(df, covariates=["x"], strata=["seg"], resolution_days=1 / 24)
    exact = survival.cox_model(df, covariates=["x"], strata=["seg"])
    pd.testing.assert_frame_equal(strat.hazard_ratios, same.hazard_ratios)
    assert not np.allclose(strat.hazard_ratios["coef"], exact.hazard_ratios["coef"], rtol=1e-9)


def test_reader_table_rows_words_only_the_rows_shown(small_community):
    """The notebook shows the top of the risk list: worded for those rows, the same text as
    the head of the whole table (reasons still compare with the average of all scored)."""
    rep = survival.churn_report(small_community.members, small_community.events)
    assert len(rep.risk) > 20
    for language in ("zh", "en"):
        full = survival.reader_table(rep, "risk", language)
        pd.testing.assert_frame_equal(survival.reader_table(rep, "risk", language, rows=20),
                                      full.head(20))
        pd.testing.assert_frame_equal(survival.reader_table(rep, "cox", language, rows=2),
                                      survival.reader_table(rep, "cox", language).head(2))
    with pytest.raises(Exception, match="rows must be"):
        survival.reader_table(rep, "risk", "zh", rows=-1)
