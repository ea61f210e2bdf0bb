"""Statistics of measured curves: threshold crossings interpolated in log P, P* with a bootstrap
confidence interval over seeds, and least-squares slopes with a Student-t interval (scipy).

numpy and scipy only. The P* definition (error threshold, log-P interpolation) is in docs/theory.md, 'Sample complexity'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats
from numpy.typing import ArrayLike

from rhm_theory.core.validation import as_generator, check_int


def first_crossing(
    P_values: ArrayLike, errors: ArrayLike, threshold: float, *, log_errors: bool = False
) -> tuple[float, str]:
    """Where the error curve first goes below ``threshold``, interpolated linearly in log P.

    The interpolation is also in log error when ``log_errors``: a power-law curve, e.g. a noise
    variance ~ 1/P (errors > 0). The P* definition is in docs/theory.md, 'Sample complexity'.

    Parameters
    ----------
    P_values : array_like of float, shape (n,)
        Increasing training-set sizes.
    errors : array_like of float, shape (n,)
        The error at each size.
    threshold : float
        The error level that defines P*.
    log_errors : bool, default False
        Interpolate log error (instead of error) against log P.

    Returns
    -------
    pstar : float
        The crossing P*; ``P_values[0]`` when status is "below_grid", inf when "above_grid".
    status : str
        "ok"; "below_grid" when the first point is already below (P* <= P_values[0]); "above_grid"
        when no point is below (P* > P_values[-1]).

    Examples
    --------
    >>> from rhm_theory.theory.stats import first_crossing
    >>> P, status = first_crossing([1, 100], [0.3, 0.1], 0.2)  # halfway in log P
    >>> round(P, 9), status
    (10.0, 'ok')
    >>> P, _ = first_crossing([10, 100, 1000], [0.1, 0.01, 0.001], 0.003, log_errors=True)  # errors = 1/P
    >>> round(P, 6)  # 1 / 0.003
    333.333333
    >>> first_crossing([1, 10], [0.1, 0.05], 0.2), first_crossing([1, 10], [0.5, 0.4], 0.2)
    ((1.0, 'below_grid'), (inf, 'above_grid'))
    """
    sizes = np.asarray(P_values, dtype=float)
    curve = np.asarray(errors, dtype=float)
    below = np.flatnonzero(curve < threshold)
    if below.size == 0:
        return math.inf, "above_grid"
    i = int(below[0])
    if i == 0:
        return float(sizes[0]), "below_grid"
    log_lo, log_hi = np.log(sizes[i - 1]), np.log(sizes[i])
    if log_errors:
        curve, threshold = np.log(curve), np.log(threshold)
    fraction = (curve[i - 1] - threshold) / (curve[i - 1] - curve[i])
    return float(np.exp(log_lo + fraction * (log_hi - log_lo))), "ok"


@dataclass
class PStarResult:
    """P* of one (grammar setting, model): the seed-averaged curve and the estimate with its CI.

    Made by :func:`estimate_pstar`.

    Parameters
    ----------
    P_values : list of int
        The increasing grid of training-set sizes, n_P of them.
    seeds : list of int
        The seeds, n_seeds of them.
    errors : ndarray of float, shape (n_seeds, n_P)
        Test errors, rows in the order of ``seeds``.
    threshold : float
        The error level that defines P*.
    pstar : float
        P* of the seed-averaged curve (inf when it does not cross).
    status : str
        As in :func:`first_crossing`: "ok", "below_grid" or "above_grid".
    ci_low : float
        Lower end of the percentile bootstrap interval over seeds.
    ci_high : float
        Upper end of that interval (may be inf).
    confidence : float
        The level of the interval, in (0, 1).
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
        """The seed-averaged test error, ndarray of float, shape (n_P,)."""
        return self.errors.mean(axis=0)

    def to_dict(self) -> dict:
        """The result as a dict of strict-JSON values.

        An infinite or undefined number is None (``status`` says why: P* and ``ci_high`` are None when
        the curve does not cross within the grid, "above_grid").

        Returns
        -------
        dict
            Keys "P", "seeds", "mean_test_error" (list of n_P floats), "threshold", "pstar", "status",
            "ci_low", "ci_high" and "confidence".

        Examples
        --------
        >>> from rhm_theory.theory.stats import estimate_pstar
        >>> result = estimate_pstar([1, 100], [0, 1], [[0.3, 0.3], [0.3, 0.25]], 0.2, seed=0)
        >>> row = result.to_dict()
        >>> row["status"], row["pstar"], row["ci_high"], row["mean_test_error"]
        ('above_grid', None, None, [0.3, 0.275])
        """
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


def finite_or_none(value: float) -> float | None:
    """``value`` as a float, or None where it is infinite or NaN (JSON has neither).

    Parameters
    ----------
    value : float or int
        Any number that ``float`` accepts.

    Returns
    -------
    float or None
        ``float(value)`` when finite, else None.

    Examples
    --------
    >>> from rhm_theory.theory.stats import finite_or_none
    >>> finite_or_none(2), finite_or_none(float("inf")), finite_or_none(float("nan"))
    (2.0, None, None)
    """
    value = float(value)
    return value if math.isfinite(value) else None


def estimate_pstar(
    P_values: Sequence[int],
    seeds: Sequence[int],
    errors: ArrayLike,
    threshold: float,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    *,
    seed: int | np.random.SeedSequence | np.random.Generator,
) -> PStarResult:
    """P* of the seed-averaged error curve, with a percentile bootstrap interval over seeds.

    P* is :func:`first_crossing` of the mean curve (docs/theory.md, 'Sample complexity'); the interval
    takes P* of ``n_bootstrap`` resamples of the seeds (with replacement).

    Parameters
    ----------
    P_values : sequence of int, shape (n_P,)
        Strictly increasing training-set sizes.
    seeds : sequence of int, shape (n_seeds,)
        The seeds, one per row of ``errors``.
    errors : array_like of float, shape (n_seeds, n_P)
        Test errors.
    threshold : float
        The error level that defines P*.
    n_bootstrap : int, default 1000
        Number of bootstrap resamples, >= 1.
    confidence : float, default 0.95
        Level of the interval, in (0, 1).
    seed : int or numpy.random.Generator
        Seed of the bootstrap (keyword-only, required).

    Returns
    -------
    PStarResult
        P*, its status and interval, and the inputs.

    Raises
    ------
    ValueError
        If ``errors`` is not (n_seeds, n_P), ``confidence`` is not in (0, 1), ``P_values`` is not
        strictly increasing, ``n_bootstrap`` is not an integer >= 1, or ``seed`` is None or invalid.

    Examples
    --------
    >>> from rhm_theory.theory.stats import estimate_pstar
    >>> result = estimate_pstar([1, 100, 10000], [0, 1], [[0.3, 0.1, 0.0], [0.3, 0.1, 0.0]], 0.2, seed=0)
    >>> result.status, round(result.pstar, 9)
    ('ok', 10.0)
    >>> result.ci_low == result.pstar == result.ci_high  # identical seeds: every resample agrees
    True
    """
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


def fit_slope(x: ArrayLike, y: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Least-squares slope of y against x with its Student-t confidence interval (n - 2 degrees of freedom).

    For the paper's claim, x = log(n_c m^L) and y = log P* (slope 1).

    Parameters
    ----------
    x : array_like of float, shape (n,)
        Abscissae, n >= 3.
    y : array_like of float, shape (n,)
        Ordinates.
    confidence : float, default 0.95
        Level of the interval.

    Returns
    -------
    slope : float
        The least-squares slope.
    low : float
        Lower end of the interval.
    high : float
        Upper end of the interval.

    Raises
    ------
    ValueError
        If there are fewer than 3 points.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory.theory.stats import fit_slope
    >>> x = np.log([10, 100, 1000, 10000])
    >>> [round(value, 9) for value in fit_slope(x, np.log(3 * np.exp(x) ** 2))]  # y = 3 N**2: exponent 2
    [2.0, 2.0, 2.0]
    >>> slope, low, high = fit_slope([0, 1, 2, 3], [0, 1, 2, 4])
    >>> round(slope, 9), low < slope < high
    (1.3, True)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 3:
        raise ValueError(f"a slope with a confidence interval needs at least 3 points, got {x.size}")
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    standard_error = math.sqrt((residuals**2).sum() / (x.size - 2) / ((x - x.mean()) ** 2).sum())
    t = float(scipy.stats.t.ppf((1 + confidence) / 2, df=x.size - 2))
    return float(slope), float(slope - t * standard_error), float(slope + t * standard_error)
