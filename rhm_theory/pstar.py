"""Sample complexity P*: train on a grid of training-set sizes P with several seeds, then locate where
the mean test error crosses the threshold of THEORY.md §3 (paper Eq. 7: P* ~ n_c m^L for deep CNNs).

Runs are stored one row each in a ResultsStore as they finish; a rerun skips the finished ones, so an
interrupted measurement resumes without losing or repeating runs. Runs execute in a local process
pool (``workers`` processes) unless ``workers=1``.

P* is the first crossing of the seed-averaged test error below the threshold, interpolated linearly
in log P between the two grid points around it; its confidence interval is a percentile bootstrap
over seeds (resampling whole error curves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.stats import StudentT, cdf

from .backends import execute
from .experiment import RunSpec, error_threshold, run_key, run_one
from .results import ResultsStore
from .validation import as_generator, check_int


def geometric_grid(P_min, P_max, n) -> list[int]:
    """``n`` distinct integers from P_min to P_max (both included), evenly spaced in log P."""
    P_min, P_max, n = check_int("P_min", P_min), check_int("P_max", P_max), check_int("n", n)
    if n == 1:
        if P_min != P_max:
            raise ValueError(f"a grid of n = 1 point needs P_min == P_max, got {P_min} and {P_max}")
        return [P_min]
    if P_max <= P_min:
        raise ValueError(f"P_max = {P_max} must be larger than P_min = {P_min} for a grid of {n} points")
    grid = sorted({int(round(P)) for P in np.geomspace(P_min, P_max, n)})
    if len(grid) < n:
        raise ValueError(
            f"only {len(grid)} distinct integers are geometrically spaced between {P_min} and {P_max}; "
            f"ask for fewer than n = {n} points or widen the range"
        )
    return grid


def run_specs(specs, store: ResultsStore, workers=None, runner=run_one, progress: bool = False,
              backend: dict | None = None) -> list[dict]:
    """Run every spec whose key is not in ``store`` (rhm_theory.backends.execute) and append its row
    as soon as it finishes.

    ``workers``: number of processes (default: all CPU cores; 1 runs in this process). ``backend``:
    more options of :func:`rhm_theory.backends.execute` (default: the local process pool), e.g.
    ``{"backend": "ray", "address": "auto", "gpus_per_run": 1}``. ``runner``: a
    picklable top-level function spec -> row whose ``row["key"]`` is ``run_key(spec)``. A run that
    raises is recorded as a failure while the other runs go on; then RuntimeError names the first
    error, and a rerun retries the failed runs. Returns the rows of ``specs`` in their order.
    """
    specs = list(specs)
    outcome = execute(specs, store, workers=workers, runner=runner, progress=progress, **(backend or {}))
    if outcome.failed:
        first = store.failures()[-outcome.failed]["error"].splitlines()[0]
        raise RuntimeError(
            f"{outcome.failed} of {len(specs)} runs failed (recorded in {store.path}; rerun to retry them); "
            f"first error: {first}"
        )
    by_key = {row["key"]: row for row in store.rows()}
    return [by_key[run_key(spec)] for spec in specs]


def first_crossing(P_values, errors, threshold) -> tuple[float, str]:
    """Where the error curve first goes below ``threshold``, interpolated linearly in log P.

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
        return {
            "P": self.P_values,
            "seeds": self.seeds,
            "mean_test_error": self.mean_errors.tolist(),
            "threshold": self.threshold,
            "pstar": self.pstar,
            "status": self.status,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
        }


def estimate_pstar(P_values, seeds, errors, threshold, n_bootstrap=1000, confidence=0.95, seed=0) -> PStarResult:
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
    quantile = sp.Symbol("q")
    t = float(sp.nsolve(cdf(StudentT("t", x.size - 2))(quantile) - (1 + confidence) / 2, quantile, 2))
    return float(slope), float(slope - t * standard_error), float(slope + t * standard_error)


def grid_specs(base: RunSpec, P_values, seeds) -> list[RunSpec]:
    """The runs of a P* measurement, seed-major: ``base`` at every P of ``P_values`` for every seed
    (a new seed draws new rules, data and initialisation)."""
    return [base.replace(P=check_int("P", P), seed=check_int("seed", seed, minimum=0)) for seed in seeds for P in P_values]


def pstar_from_rows(base: RunSpec, P_values, seeds, rows, threshold=None, n_bootstrap=1000) -> PStarResult:
    """P* from the rows of ``grid_specs(base, P_values, seeds)`` (same order); ``threshold``
    defaults to :func:`rhm_theory.experiment.error_threshold` of the model."""
    errors = np.array([row["test_error"] for row in rows], dtype=float).reshape(len(seeds), len(P_values))
    if threshold is None:
        threshold = error_threshold(base.n_c, base.model)
    return estimate_pstar(P_values, seeds, errors, threshold, n_bootstrap=n_bootstrap)


def measure_pstar(base: RunSpec, P_values, seeds, store: ResultsStore, workers=None, runner=run_one,
                  threshold=None, progress: bool = False, n_bootstrap=1000, backend: dict | None = None) -> PStarResult:
    """Train ``base`` at every P of ``P_values`` for every seed, storing rows in ``store``
    (resumable), and estimate P* (see :func:`pstar_from_rows`); ``backend`` as in :func:`run_specs`."""
    P_values = sorted(P_values)
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    rows = run_specs(grid_specs(base, P_values, seeds), store, workers, runner, progress, backend)
    return pstar_from_rows(base, P_values, seeds, rows, threshold, n_bootstrap)


def adaptive_pstar(base: RunSpec, P_low, P_high, seeds, store: ResultsStore, steps=4, workers=None,
                   runner=run_one, threshold=None, progress: bool = False, n_bootstrap=1000,
                   backend: dict | None = None) -> PStarResult:
    """P* by bisection in log P: starts from the bracket [P_low, P_high] (measured first), then
    ``steps`` times measures the geometric midpoint of the current bracket (all seeds) and keeps the
    half where the mean error crosses the threshold. The estimate uses every measured P.
    ``backend`` as in :func:`run_specs`.
    """
    P_low, P_high = check_int("P_low", P_low), check_int("P_high", P_high)
    if P_high <= P_low:
        raise ValueError(f"P_high = {P_high} must be larger than P_low = {P_low}")
    if threshold is None:
        threshold = error_threshold(base.n_c, base.model)
    measured = [P_low, P_high]
    result = measure_pstar(base, measured, seeds, store, workers, runner, threshold, progress, n_bootstrap, backend)
    lo, hi = P_low, P_high
    for _ in range(check_int("steps", steps, minimum=0)):
        middle = int(round(math.sqrt(lo * hi)))
        if result.status != "ok" or middle in (lo, hi):
            break
        measured = sorted(measured + [middle])
        result = measure_pstar(base, measured, seeds, store, workers, runner, threshold, progress, n_bootstrap, backend)
        if result.mean_errors[measured.index(middle)] < threshold:
            hi = middle
        else:
            lo = middle
    return result
