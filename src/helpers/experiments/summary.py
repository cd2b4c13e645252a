"""Summary statistics of one arm (gbstats style): sums from which every test is computed."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ParameterError
from ._core import _paired_sums

__all__ = ["MeanStats", "ProportionStats", "RegressionAdjustedStats", "RatioStats"]


# ----------------------------------------------------------------------------- summary statistics
@dataclass(frozen=True)
class MeanStats:
    """Summary of a numeric metric over ``n`` units: ``n``, ``sum``, ``sum_squares``.

    Examples
    --------
    >>> MeanStats(n=3, sum=6.0, sum_squares=14.0).variance
    1.0
    """

    n: int
    sum: float
    sum_squares: float

    @classmethod
    def from_values(cls, values) -> "MeanStats":
        """Summarise raw values (NaN values are an error: fill or drop them first)."""
        x = np.asarray(values, dtype=float)
        if np.isnan(x).any():
            raise ParameterError("values contain NaN; fill (e.g. with 0) or drop them first")
        return cls(n=int(x.size), sum=float(x.sum()), sum_squares=float((x * x).sum()))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof = 1); ``nan`` with fewer than two units."""
        if self.n < 2:
            return math.nan
        return max(0.0, (self.sum_squares - self.sum ** 2 / self.n) / (self.n - 1))

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @property
    def variance_of_mean(self) -> float:
        return self.variance / self.n if self.n > 0 else math.nan


@dataclass(frozen=True)
class ProportionStats(MeanStats):
    """Summary of a 0/1 metric: ``n`` units of which ``sum`` converted.

    ``sum_squares`` equals ``sum`` (0/1 values); the variance is the sample variance of the 0/1
    values, so :func:`welch_test` on it equals a Welch t-test on the raw zeros and ones.

    Examples
    --------
    >>> ProportionStats(n=200, sum=50).mean
    0.25
    """

    sum_squares: float = field(default=math.nan, repr=False)

    def __post_init__(self):
        if self.sum < 0 or self.sum > self.n:
            raise ParameterError(f"ProportionStats needs 0 <= sum <= n; got sum={self.sum}, n={self.n}")
        object.__setattr__(self, "sum_squares", float(self.sum))



@dataclass(frozen=True)
class RegressionAdjustedStats:
    """Post-period metric ``Y`` and pre-period covariate ``X`` of ``n`` units, for CUPED.

    Fields: ``n, sum, sum_squares`` of Y, ``pre_sum, pre_sum_squares`` of X, and the cross
    product ``sum_products`` = Σ X·Y.

    Examples
    --------
    >>> s = RegressionAdjustedStats.from_values([1, 2, 3], [1, 2, 4])
    >>> round(s.covariance, 3)
    1.5
    """

    n: int
    sum: float
    sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    sum_products: float

    @classmethod
    def from_values(cls, post, pre) -> "RegressionAdjustedStats":
        return cls(*_paired_sums(post, pre))

    @property
    def post(self) -> MeanStats:
        return MeanStats(self.n, self.sum, self.sum_squares)

    @property
    def pre(self) -> MeanStats:
        return MeanStats(self.n, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of X and Y (ddof = 1)."""
        if self.n < 2:
            return math.nan
        return (self.sum_products - self.sum * self.pre_sum / self.n) / (self.n - 1)

    def __add__(self, other: "RegressionAdjustedStats") -> "RegressionAdjustedStats":
        return RegressionAdjustedStats(*(a + b for a, b in zip(
            asdict(self).values(), asdict(other).values())))


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric Σ numerator / Σ denominator over ``n`` units (delta method).

    E.g. messages per active day (units = members), or at the group level mean active days
    per member (units = groups; numerator = member total, denominator = group size).
    Fields: ``n``, ``num_sum``, ``num_sum_squares``, ``den_sum``, ``den_sum_squares``,
    ``sum_products`` (Σ numerator·denominator).

    Examples
    --------
    >>> RatioStats.from_values([2, 4], [1, 2]).ratio
    2.0
    """

    n: int
    num_sum: float
    num_sum_squares: float
    den_sum: float
    den_sum_squares: float
    sum_products: float

    @classmethod
    def from_values(cls, numerator, denominator) -> "RatioStats":
        return cls(*_paired_sums(numerator, denominator))

    @property
    def ratio(self) -> float:
        return self.num_sum / self.den_sum if self.den_sum != 0 else math.nan

    @property
    def mean(self) -> float:
        return self.ratio

    @property
    def variance_of_mean(self) -> float:
        """Delta-method variance of the ratio: (V_a − 2R·C_ab + R²·V_b) / (n · mean_b²)."""
        n = self.n
        if n < 2 or self.den_sum == 0:
            return math.nan
        r, mb = self.ratio, self.den_sum / n
        va = (self.num_sum_squares - self.num_sum ** 2 / n) / (n - 1)
        vb = (self.den_sum_squares - self.den_sum ** 2 / n) / (n - 1)
        cab = (self.sum_products - self.num_sum * self.den_sum / n) / (n - 1)
        return max(0.0, va - 2 * r * cab + r * r * vb) / (n * mb * mb)
