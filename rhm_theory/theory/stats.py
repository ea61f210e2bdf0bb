"""Statistics of measured curves: threshold crossings interpolated in log P, P* with a bootstrap
confidence interval over seeds, and least-squares slopes with a Student-t interval (scipy).

numpy and scipy only. The P* definition (error threshold, log-P interpolation) is in docs/theory.md, 'Sample complexity'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from rhm_theory.core.validation import as_generator, check_int


def first_crossing(P_values, errors, threshold, *, log_errors: bool = False) -> tuple[float, str]:
    """Where the error curve first goes below ``threshold``, interpolated linearly in log P (and in
    log error when ``log_errors``: a power-law curve, e.g. a noise variance ~ 1/P; errors > 0).

    P_values: increasing (n,); errors: (n,). Returns (P*, status): status "ok"; "below_grid" when the
    first point is already below (P* <= P_values[0], returned as P_values[0]); "above_grid" when no
    point is below (P* > P_values[-1], returned as inf).
    """
    P_values = np.asarray(P_values, dtype=float)
    errors = np.asarray(errors, dtype=float)
    below = np.flatnonzero(errors < threshold)
    if below.size == 0:
        return math.inf, "above_grid"
    i = int(below[0])
    if i == 0:
        return float(P_values[0]), "below_grid"
    log_lo, log_hi = np.log(P_values[i - 1]), np.log(P_values[i])
    if log_errors:
        errors, threshold = np.log(errors), np.log(threshold)
    fraction = (errors[i - 1] - threshold) / (errors[i - 1] - errors[i])
    return float(np.exp(log_lo + fraction * (log_hi - log_lo))), "ok"


@dataclass
class PStarResult:
    """P* of one (grammar setting, model): the seed-averaged curve and the estimate with its CI.

    errors: (n_seeds, n_P) test errors, rows in the order of ``seeds``; ci_low/ci_high: percentile
    bootstrap interval over seeds (``confidence`` level); status as in :func:`first_crossing`.
    """

    P_values: list[int]
    seeds: list[int]
    errors: np.ndarray
    threshold: float
    pstar: float
    status: str
    ci_low: float
    ci_high: float
    confidence: float

    @property
    def mean_errors(self) -> np.ndarray:
        return self.errors.mean(axis=0)

    def to_dict(self) -> dict:
        """Strict-JSON values: an infinite or undefined number is None (``status`` says why: P* and
        ``ci_high`` are None when the curve does not cross within the grid, "above_grid")."""
        return {
            "P": self.P_values,
            "seeds": self.seeds,
            "mean_test_error": [finite_or_none(e) for e in self.mean_errors],
            "threshold": self.threshold,
            "pstar": finite_or_none(self.pstar),
            "status": self.status,
            "ci_low": finite_or_none(self.ci_low),
            "ci_high": finite_or_none(self.ci_high),
            "confidence": self.confidence,
        }


def finite_or_none(value) -> float | None:
    """``value`` as a float, or None where it is infinite or NaN (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def estimate_pstar(P_values, seeds, errors, threshold, n_bootstrap=1000, confidence=0.95, *, seed) -> PStarResult:
    """P* from test errors (n_seeds, n_P) on the increasing grid ``P_values`` (module docstring)."""
    errors = np.asarray(errors, dtype=float)
    if errors.shape != (len(seeds), len(P_values)):
        raise ValueError(f"errors must have shape (n_seeds, n_P) = ({len(seeds)}, {len(P_values)}), got {errors.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if np.any(np.diff(P_values) <= 0):
        raise ValueError(f"P_values must be strictly increasing, got {list(P_values)}")
    pstar, status = first_crossing(P_values, errors.mean(axis=0), threshold)
    rng = as_generator(seed)
    draws = rng.integers(0, len(seeds), size=(check_int("n_bootstrap", n_bootstrap), len(seeds)))
    boot = np.array([first_crossing(P_values, errors[d].mean(axis=0), threshold)[0] for d in draws])
    tail = 100 * (1 - confidence) / 2
    return PStarResult(
        P_values=[int(P) for P in P_values],
        seeds=[int(s) for s in seeds],
        errors=errors,
        threshold=float(threshold),
        pstar=pstar,
        status=status,
        ci_low=float(np.percentile(boot, tail, method="lower")),
        ci_high=float(np.percentile(boot, 100 - tail, method="higher")),
        confidence=confidence,
    )


def fit_slope(x, y, confidence=0.95) -> tuple[float, float, float]:
    """Least-squares slope of y against x with its Student-t confidence interval (n - 2 degrees of
    freedom): (slope, low, high). For the paper's claim, x = log(n_c m^L) and y = log P* (slope 1)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 3:
        raise ValueError(f"a slope with a confidence interval needs at least 3 points, got {x.size}")
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    standard_error = math.sqrt((residuals**2).sum() / (x.size - 2) / ((x - x.mean()) ** 2).sum())
    t = float(scipy.stats.t.ppf((1 + confidence) / 2, df=x.size - 2))
    return float(slope), float(slope - t * standard_error), float(slope + t * standard_error)
