"""Internals of the Cox fits shared by ``cox``, ``time_varying`` and ``risk``: the design matrix,
failure diagnosis, the tidy hazard-ratio table and the penalised retry."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisWarning, DataError, ParameterError

PENALIZER_ON_FAILURE = 0.1  # ridge penalty of the automatic retry after a failed fit


def design_matrix(data: pd.DataFrame, covariates: Sequence[str], baselines: dict | None):
    """Numeric design matrix: dummies for text/categorical/boolean-like columns.

    Returns (X, term_info, baselines) where term_info maps term -> (covariate, level).
    """
    baselines = dict(baselines or {})
    cols, info = {}, {}
    for c in covariates:
        v = data[c]
        if isinstance(v.dtype, pd.CategoricalDtype) or v.dtype == object or \
                pd.api.types.is_string_dtype(v.dtype):
            if v.isna().any():
                raise DataError(f"covariate has {int(v.isna().sum())} missing value(s)",
                                column=c, fix="fill them (e.g. 'unknown') or drop the covariate")
            counts = v.astype(str).value_counts()
            levels = list(counts.index)
            base = baselines.get(c)
            if base is None:
                base = levels[0]  # the largest segment: the most precise reference
            elif str(base) not in levels:
                raise ParameterError(f"baseline {base!r} of covariate {c!r} is not one of its "
                                     f"levels: {sorted(levels)}")
            baselines[c] = str(base)
            text = v.astype(str).to_numpy()
            for lev in sorted(levels):
                if lev == str(base):
                    continue
                term = f"{c}[{lev}]"
                cols[term] = (text == lev).astype(float)
                info[term] = (c, lev)
        else:
            num = pd.to_numeric(v, errors="coerce").astype(float)
            if num.isna().any():
                raise DataError(f"covariate has {int(num.isna().sum())} missing or non-numeric "
                                f"value(s)", column=c, fix="fill or drop them")
            cols[c] = num.to_numpy()
            info[c] = (c, None)
    return pd.DataFrame(cols, index=data.index), info, baselines


def diagnose(X: pd.DataFrame, event: np.ndarray) -> list[str]:
    """Likely causes of a Cox fit failure: constant, collinear or separating columns."""
    causes = []
    for c in X.columns:
        x = X[c].to_numpy()
        if np.nanstd(x) == 0:
            causes.append(f"'{c}' is constant")
            continue
        if event.any() and (~event).any():
            if np.var(x[event]) == 0 or np.var(x[~event]) == 0:
                causes.append(f"'{c}' separates the data (it takes a single value among "
                              f"{'churned' if np.var(x[event]) == 0 else 'censored'} members)")
    if X.shape[1] > 1:
        rank = np.linalg.matrix_rank(np.column_stack([np.ones(len(X)), X.to_numpy()]))
        if rank < X.shape[1] + 1:
            causes.append("some covariates are collinear (one is a combination of others, "
                          "e.g. a segment and a flag that always goes with it)")
    return causes


def tidy_summary(fitter, info: dict, alpha: float) -> pd.DataFrame:
    s = fitter.summary
    z = stats.norm.ppf(1 - alpha / 2)
    out = pd.DataFrame({
        "term": s.index.astype(str),
        "covariate": [info.get(t, (t, None))[0] for t in s.index],
        "level": [info.get(t, (t, None))[1] for t in s.index],
        "coef": s["coef"].to_numpy(),
        "se": s["se(coef)"].to_numpy(),
    })
    out["hazard_ratio"] = np.exp(out["coef"])
    out["ci_low"] = np.exp(out["coef"] - z * out["se"])
    out["ci_high"] = np.exp(out["coef"] + z * out["se"])
    out["p_value"] = s["p"].to_numpy()
    return out


def fit_with_retry(fit, X: pd.DataFrame, event: np.ndarray, penalizer: float):
    """Run ``fit(penalizer)``; on failure or diverging coefficients warn and retry penalised."""
    from lifelines.exceptions import ConvergenceError

    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines' ConvergenceWarnings: diagnosed below
            fitter = fit(penalizer)
        bad = ~np.isfinite(fitter.summary["se(coef)"]) | (fitter.summary["se(coef)"] > 50) \
            | (fitter.summary["coef"].abs() > 15)
        if not bad.any() or penalizer > 0:
            return fitter, penalizer, notes
        problem = f"coefficients diverge ({', '.join(map(str, fitter.summary.index[bad]))})"
    except (ConvergenceError, np.linalg.LinAlgError) as exc:
        problem = f"the fit did not converge ({str(exc).splitlines()[0][:120]})"
        if penalizer > 0:
            raise ParameterError(f"Cox model: {problem} even with penalizer={penalizer}; "
                                 f"likely cause: {'; '.join(diagnose(X, event)) or 'unknown'}. "
                                 "Drop or merge the covariates named.") from None
    causes = diagnose(X, event)
    cause = "; ".join(causes) or "unknown (check for tiny segments and extreme values)"
    msg = (f"Cox model: {problem}; likely cause: {cause}. Refitted with a ridge penalty "
           f"penalizer={PENALIZER_ON_FAILURE}: estimates are shrunk towards HR = 1.")
    warnings.warn(msg, AnalysisWarning, stacklevel=3)
    notes.append(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter = fit(PENALIZER_ON_FAILURE)
    except (ConvergenceError, np.linalg.LinAlgError):
        raise ParameterError(f"Cox model: {problem}, also with a penalty; likely cause: "
                             f"{'; '.join(causes) or 'unknown'}. Drop or merge the covariates "
                             "named.") from None
    return fitter, PENALIZER_ON_FAILURE, notes

