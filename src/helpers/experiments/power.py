"""Power: minimum detectable effect and sample size, with clustering (Kish design effect)."""

from __future__ import annotations

import math


from .. import config
from ..errors import ParameterError
from ._core import z_total

__all__ = ["mde", "sample_size"]


def _power_deff(icc: float, cluster_size: float, cv: float) -> float:
    """Design effect of the member-weighted mean: 1 + (m̃ − 1)·ICC with m̃ = m̄·(1 + cv²)."""
    if cv < 0:
        raise ParameterError(f"cluster_size_cv must be >= 0; got {cv!r}")
    return 1 + (cluster_size * (1 + cv * cv) - 1) * icc


def mde(*, n_per_arm: float, sd: float, alpha: float = config.ALPHA, power: float = 0.8,
        icc: float = 0.0, cluster_size: float = 1.0, ratio: float = 1.0,
        cluster_size_cv: float = 0.0) -> float:
    """Minimum detectable (absolute) effect of a two-arm design, normal approximation.

    Parameters
    ----------
    n_per_arm : float
        Randomisation units in the control arm: members, or groups when ``cluster_size > 1``.
    sd : float
        Member-level standard deviation of the metric (``sqrt(p(1 − p))`` for a rate).
    icc, cluster_size : float
        Intra-class correlation and mean members per group for group-randomised designs.
    ratio : float
        Treatment units per control unit.
    cluster_size_cv : float
        Coefficient of variation of the group sizes (population SD / mean). Unequal groups
        raise the design effect of the member-weighted mean to the Kish one,
        ``deff = 1 + ((1 + cv²)·cluster_size − 1)·icc`` (Eldridge, Ashby & Kerry 2006), the
        same ``Σm²/Σm`` as :func:`design_effect`; 0 = equal group sizes.

    Returns
    -------
    float
        ``(z_{1−α/2} + z_power) · sd · sqrt(deff · (1 + 1/ratio) / (n_per_arm · cluster_size))``.

    Examples
    --------
    >>> round(mde(n_per_arm=1000, sd=1.0), 3)
    0.125
    """
    if n_per_arm <= 0 or sd < 0 or cluster_size < 1:
        raise ParameterError("n_per_arm must be > 0, sd >= 0 and cluster_size >= 1")
    deff = _power_deff(icc, cluster_size, cluster_size_cv)
    return float(z_total(alpha, power) * sd * math.sqrt(deff * (1 + 1 / ratio) / (n_per_arm * cluster_size)))


def sample_size(effect: float, *, sd: float, alpha: float = config.ALPHA, power: float = 0.8,
                icc: float = 0.0, cluster_size: float = 1.0, ratio: float = 1.0,
                cluster_size_cv: float = 0.0) -> int:
    """Units per (control) arm needed to detect an absolute ``effect``: members, or groups when
    ``cluster_size > 1`` (e.g. "how many groups for a 3-point lift in 14-day activity?").

    Returns
    -------
    int
        The smallest whole number of units per arm (inverse of :func:`mde`; the same
        ``cluster_size_cv`` for unequal group sizes).

    Examples
    --------
    >>> sample_size(0.03, sd=(0.4 * 0.6) ** 0.5, icc=0.02, cluster_size=100)
    125
    """
    if effect == 0:
        raise ParameterError("effect must be non-zero")
    deff = _power_deff(icc, cluster_size, cluster_size_cv)
    n = (z_total(alpha, power) * sd / effect) ** 2 * deff * (1 + 1 / ratio) / cluster_size
    return int(math.ceil(n - 1e-9))
