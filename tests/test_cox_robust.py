"""Cluster-robust Cox standard errors and the proportional-hazards test in linear time equal
lifelines' own O(n²) loops."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.fitters.coxph_fitter import SemiParametricPHFitter
from lifelines.statistics import proportional_hazard_test

from helpers.survival import cox


def _data(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.choice([0.0, 1.0], n), "b": rng.normal(size=n),
                       "s": rng.choice(["x", "y"], n), "g": rng.integers(0, 25, n).astype(str)})
    t = np.ceil(rng.exponential(np.exp(-0.5 * df["a"] + 0.2 * df["b"]) * 10))  # tied times
    df["_T"], df["_E"] = np.minimum(t, 15), t < 15
    df["w"] = rng.uniform(0.5, 2.0, n)
    return df


@pytest.mark.parametrize("strata", [None, ["s"]])
@pytest.mark.parametrize("weighted", [False, True])
def test_robust_errors_equal_lifelines_loop(strata, weighted):
    df = _data(1500, 7)
    cols = ["a", "b", "_T", "_E", "g", *(strata or []), *(["w"] if weighted else [])]
    kw = dict(cluster_col="g", strata=strata, weights_col="w" if weighted else None,
              robust=weighted)
    loop = CoxPHFitter().fit(df[cols], "_T", "_E", **kw)
    with cox.linear_time_residuals():
        fast = CoxPHFitter().fit(df[cols], "_T", "_E", **kw)
    assert SemiParametricPHFitter._compute_score_within_strata is not cox._score_within_strata
    np.testing.assert_allclose(fast.standard_errors_, loop.standard_errors_, rtol=1e-10)
    assert not np.allclose(loop.standard_errors_,  # the clustered SEs differ from the model's
                           np.sqrt(np.diag(loop.variance_matrix_)), rtol=1e-3)


def test_score_residuals_equal_lifelines_method():
    df = _data(800, 3)
    f = CoxPHFitter().fit(df[["a", "b", "_T", "_E"]], "_T", "_E")
    order = np.argsort(df["_T"].to_numpy(), kind="stable")
    X = ((df[["a", "b"]] - f._norm_mean) / f._norm_std).iloc[order].reset_index(drop=True)
    E = df["_E"].iloc[order].reset_index(drop=True)
    w = pd.Series(np.random.default_rng(1).uniform(0.5, 2.0, len(df)))
    ref = SemiParametricPHFitter._compute_score_within_strata(f, X, None, E, w, None)
    mine = cox.score_residuals(X.to_numpy(), E.to_numpy(), w.to_numpy(),
                               np.asarray(f.params_ * f._norm_std))
    np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-12)
    assert np.abs(ref).max() > 0.1


@pytest.mark.parametrize("strata", [None, ["s"]])
@pytest.mark.parametrize("weighted", [False, True])
def test_ph_test_equals_lifelines_loop(strata, weighted):
    df = _data(1500, 11)
    cols = ["a", "b", "_T", "_E", *(strata or []), *(["w"] if weighted else [])]
    f = CoxPHFitter().fit(df[cols], "_T", "_E", strata=strata,
                          weights_col="w" if weighted else None, robust=weighted)
    loop = f.compute_residuals(df[cols], "schoenfeld")
    p_loop = proportional_hazard_test(f, df[cols], time_transform="rank").summary["p"]
    with cox.linear_time_residuals():
        fast = f.compute_residuals(df[cols], "schoenfeld")
        p_fast = proportional_hazard_test(f, df[cols], time_transform="rank").summary["p"]
    assert SemiParametricPHFitter._compute_schoenfeld_within_strata \
        is not cox._schoenfeld_within_strata
    np.testing.assert_allclose(fast.to_numpy(), loop.to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p_fast, p_loop, rtol=1e-9)
    assert np.abs(loop.to_numpy()).max() > 0.1  # tied times: the Efron means matter


def test_ph_check_uses_linear_residuals_on_many_members():
    df = _data(60_000, 5)  # lifelines' loop: minutes; the vectorised residuals: a second
    res = cox.cox_model(df.rename(columns={"_T": "duration_days", "_E": "churned"}),
                        covariates=["a", "b"], cluster_col="g")
    out = cox.ph_check(res)
    assert list(out["term"]) == ["a", "b"] and out["p_value"].between(0, 1).all()
