"""Internals of the value models: pooled rows, parameter covariance from the observed information."""

from __future__ import annotations

import numpy as np


def log_param_cov(negloglik_grad, log_params, *args, step: float = 1e-5) -> np.ndarray | None:
    """Inverse of the numerical Hessian (central differences of the analytic gradient) of a
    negative log-likelihood in log-parameters; None when it is not positive definite."""
    k = len(log_params)
    H = np.zeros((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = step
        H[:, j] = (negloglik_grad(log_params + e, *args)[1]
                   - negloglik_grad(log_params - e, *args)[1]) / (2 * step)
    H = (H + H.T) / 2
    try:
        cov = np.linalg.inv(H)
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return None
    return cov


def pool_rows(*cols) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the columns and their counts (likelihood weights)."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in cols])
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)
