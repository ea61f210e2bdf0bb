"""Sample complexity P*: train on a grid of training-set sizes P with several seeds, then locate where
the mean test error crosses the threshold of docs/theory.md, 'Sample complexity' (paper: P* ~ n_c m^L for deep CNNs).

Runs are stored one row each in a ResultsStore as they finish; a rerun skips the finished ones, so an
interrupted measurement resumes without losing or repeating runs. Runs execute in a local process
pool (``workers`` processes) unless ``workers=1``.

P* is the first crossing of the seed-averaged test error below the threshold, interpolated linearly
in log P between the two grid points around it; its confidence interval is a percentile bootstrap
over seeds (resampling whole error curves).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from rhm_theory.core.validation import check_int
from rhm_theory.runs.backends import execute
from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.spec import RunSpec, error_threshold, run_key
from rhm_theory.runs.store import ResultsStore
from rhm_theory.theory.stats import PStarResult, estimate_pstar

ENSEMBLE_SIZE = 16  # at most this many seeds train as one ensemble (run_specs(..., ensembles=True))


def geometric_grid(P_min: int, P_max: int, n: int) -> list[int]:
    """``n`` distinct integers from P_min to P_max (both included), evenly spaced in log P."""
    P_min, P_max, n = check_int("P_min", P_min), check_int("P_max", P_max), check_int("n", n)
    if n == 1:
        if P_min != P_max:
            raise ValueError(f"a grid of n = 1 point needs P_min == P_max, got {P_min} and {P_max}")
        return [P_min]
    if P_max <= P_min:
        raise ValueError(f"P_max = {P_max} must be larger than P_min = {P_min} for a grid of {n} points")
    grid = sorted({round(P) for P in np.geomspace(P_min, P_max, n)})
    if len(grid) < n:
        raise ValueError(
            f"only {len(grid)} distinct integers are geometrically spaced between {P_min} and {P_max}; "
            f"ask for fewer than n = {n} points or widen the range"
        )
    return grid


def run_specs(
    specs: Iterable[RunSpec],
    store: ResultsStore,
    workers: int | None = None,
    runner: Callable[..., dict] = run_one,
    progress: bool = False,
    backend: dict | None = None,
    ensembles: bool = False,
) -> list[dict]:
    """Run every spec whose key is not in ``store`` (rhm_theory.runs.backends.execute) and append its row
    as soon as it finishes.

    ``ensembles=True``: the specs that differ only in their seed train together as one ensemble of up
    to ENSEMBLE_SIZE (rhm_theory.runs.batched.run_many; faster for small networks), one ensemble per
    worker job; ``runner`` must then be run_one (``backend={"ensemble_size": K}`` sets another size).

    ``workers``: number of processes (default: all CPU cores; 1 runs in this process). ``backend``:
    more options of :func:`rhm_theory.runs.backends.execute` (default: the local process pool), e.g.
    ``{"backend": "ray", "address": "auto", "gpus_per_run": 1}`` or ``{"devices": ["cuda:0", "cuda:1"]}``. ``runner``: a
    picklable top-level function spec -> row whose ``row["key"]`` is ``run_key(spec)``. A run that
    raises is recorded as a failure while the other runs go on; then RuntimeError names the first
    error, and a rerun retries the failed runs. Returns the rows of ``specs`` in their order.
    """
    specs = list(specs)
    options = {"ensemble_size": ENSEMBLE_SIZE if ensembles else 1, **(backend or {})}
    outcome = execute(specs, store, workers=workers, runner=runner, progress=progress, **options)
    if outcome.failed:
        first = store.failures()[-outcome.failed]["error"].splitlines()[0]
        raise RuntimeError(
            f"{outcome.failed} of {len(specs)} runs failed (recorded in {store.path}; rerun to retry them); "
            f"first error: {first}"
        )
    by_key = {row["key"]: row for row in store.rows()}
    return [by_key[run_key(spec)] for spec in specs]


def grid_specs(base: RunSpec, P_values: Sequence[int], seeds: Iterable[int]) -> list[RunSpec]:
    """The runs of a P* measurement, seed-major: ``base`` at every P of ``P_values`` for every seed
    (a new seed draws new rules, data and initialisation)."""
    return [
        base.replace(P=check_int("P", P), seed=check_int("seed", seed, minimum=0)) for seed in seeds for P in P_values
    ]


def check_pstar_task(base: RunSpec) -> RunSpec:
    """``base`` if its task has a P* (the class task), else ValueError: the next-token task has no
    test-error threshold (its optimal error is not 0 and its test loss steps down at one size per
    ancestor level; docs/theory-next-token.md, 'Sample complexity'), so P* is refused, not guessed."""
    if base.task != "class":
        raise ValueError(
            f"P* is defined for task 'class' only, got task {base.task!r}: the next-token test loss "
            "steps down at one P per ancestor level (docs/theory-next-token.md); train at fixed P instead"
        )
    return base


def pstar_from_rows(
    base: RunSpec,
    P_values: Sequence[int],
    seeds: Sequence[int],
    rows: Sequence[dict],
    threshold: float | None = None,
    n_bootstrap: int = 1000,
) -> PStarResult:
    """P* from the rows of ``grid_specs(base, P_values, seeds)`` (same order); ``threshold``
    defaults to :func:`rhm_theory.runs.spec.error_threshold` of the model."""
    check_pstar_task(base)
    errors = np.array([row["test_error"] for row in rows], dtype=float).reshape(len(seeds), len(P_values))
    if threshold is None:
        threshold = error_threshold(base.n_c, base.model)
    return estimate_pstar(P_values, seeds, errors, threshold, n_bootstrap=n_bootstrap, seed=0)  # reproducible CI


def check_threshold(threshold: object) -> float:
    """A test-error threshold as a float: a number strictly between 0 and 1, else ValueError."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or threshold <= 0 or not threshold < 1:
        raise ValueError(f"threshold must be a test error strictly between 0 and 1, got {threshold!r}")
    return float(threshold)


def check_bracket(P_low: object, P_high: object) -> tuple[int, int]:
    """An adaptive search's bracket as ints, P_high > P_low >= 1, else ValueError."""
    P_low, P_high = check_int("P_low", P_low), check_int("P_high", P_high)
    if P_high <= P_low:
        raise ValueError(f"P_high = {P_high} must be larger than P_low = {P_low}")
    return P_low, P_high


def measure_pstar(
    base: RunSpec,
    P_values: Iterable[int],
    seeds: Sequence[int],
    store: ResultsStore,
    workers: int | None = None,
    runner: Callable[..., dict] = run_one,
    threshold: float | None = None,
    progress: bool = False,
    n_bootstrap: int = 1000,
    backend: dict | None = None,
) -> PStarResult:
    """Train ``base`` at every P of ``P_values`` for every seed, storing rows in ``store``
    (resumable), and estimate P* (see :func:`pstar_from_rows`); ``backend`` as in :func:`run_specs`."""
    P_values = sorted(P_values)
    check_pstar_task(base)
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    if threshold is not None:
        check_threshold(threshold)
    rows = run_specs(grid_specs(base, P_values, seeds), store, workers, runner, progress, backend)
    return pstar_from_rows(base, P_values, seeds, rows, threshold, n_bootstrap)


def adaptive_pstar(
    base: RunSpec,
    P_low: int,
    P_high: int,
    seeds: Sequence[int],
    store: ResultsStore,
    steps: int = 4,
    workers: int | None = None,
    runner: Callable[..., dict] = run_one,
    threshold: float | None = None,
    progress: bool = False,
    n_bootstrap: int = 1000,
    backend: dict | None = None,
) -> PStarResult:
    """P* by bisection in log P: starts from the bracket [P_low, P_high] (measured first), then
    ``steps`` times measures the geometric midpoint of the current bracket (all seeds) and keeps the
    half where the mean error crosses the threshold. The estimate uses every measured P.
    ``backend`` as in :func:`run_specs`.
    """
    search = Bisection(base, P_low, P_high, seeds, threshold)
    return adaptive_pstars([search], store, steps, workers, runner, progress, n_bootstrap, backend)[0]


class Bisection:
    """One P* search of :func:`adaptive_pstars`: ``base`` at all ``seeds`` on the bracket [P_low, P_high]
    (``threshold`` defaults to :func:`rhm_theory.runs.experiment.error_threshold` of the model).

    ``extra``: more P to measure from the start (e.g. below the bracket, to resolve another crossing);
    ``extensions``: how many times a search whose crossing lies outside every measured P may extend
    its grid x4 on that side (never above ``P_cap``); 0 stops such a search, as a plain bisection does.
    """

    def __init__(
        self,
        base: RunSpec,
        P_low: int,
        P_high: int,
        seeds: Sequence[int],
        threshold: float | None = None,
        *,
        extra: Iterable[int] = (),
        extensions: int = 0,
        P_cap: int | None = None,
    ) -> None:
        self.base = check_pstar_task(base)
        self.P_low, self.P_high = check_bracket(P_low, P_high)
        if not seeds:
            raise ValueError("seeds must list at least one seed")
        self.seeds = list(seeds)
        self.threshold = error_threshold(base.n_c, base.model) if threshold is None else check_threshold(threshold)
        self.measured = sorted({self.P_low, self.P_high, *(check_int("extra P", P) for P in extra)})
        self.bracket = (self.P_low, self.P_high)
        self.extensions = check_int("extensions", extensions, minimum=0)
        self.P_cap = None if P_cap is None else check_int("P_cap", P_cap)

    def specs(self) -> list[RunSpec]:
        return grid_specs(self.base, self.measured, self.seeds)

    def next_P(self, result: PStarResult, resolution: float | None = None) -> int | None:
        """The P to measure next, or None when the search is over. Inside the grid: the midpoint of
        the bracket, unless it is two neighbouring integers or at most ``resolution`` wide (hi / lo).
        Outside it (status below_grid / above_grid): the grid extended x4 on that side while
        ``extensions`` remain (and, above, P_cap allows)."""
        if result.status == "below_grid" and self.extensions:
            lowest = self.measured[0]
            return max(1, lowest // 4) if lowest > 1 else None
        if result.status == "above_grid" and self.extensions:
            highest = self.measured[-1]
            target = highest * 4 if self.P_cap is None else min(highest * 4, self.P_cap)
            return target if target > highest else None
        lo, hi = self.bracket
        middle = round(math.sqrt(lo * hi))
        if resolution is not None and hi / lo <= resolution:
            return None
        return None if result.status != "ok" or middle in (lo, hi) else middle

    def narrow(self, new_P: int, result: PStarResult) -> None:
        """After measuring ``new_P``: the bracket becomes the two measured P around the first crossing
        of the mean error below the threshold (for a midpoint, the half of the old bracket where it
        crosses); a measurement outside the grid uses one extension."""
        if new_P < self.bracket[0] or new_P > self.bracket[1]:
            self.extensions -= 1
        if result.status != "ok":
            return
        P_values, below = list(result.P_values), result.mean_errors < self.threshold
        first = int(np.argmax(below))
        self.bracket = (int(P_values[first - 1]), int(P_values[first]))


def adaptive_pstars(
    searches: Iterable[Bisection],
    store: ResultsStore,
    steps: int = 4,
    workers: int | None = None,
    runner: Callable[..., dict] = run_one,
    progress: bool = False,
    n_bootstrap: int = 1000,
    backend: dict | None = None,
    ensembles: bool = False,
    resolution: float | None = None,
) -> list[PStarResult]:
    """Several bisections (:class:`Bisection`, as in :func:`adaptive_pstar`) in lockstep: each step runs
    the next midpoint of every search still going in one batch, so the runs of all searches share
    the workers (``ensembles=True``: as ensembles of seeds, one per worker job; :func:`run_specs`).
    ``steps`` is the budget of bisection steps; with ``resolution`` (> 1) a search stops early once
    its bracket is at most that wide (hi / lo). Returns one PStarResult per search, in order."""
    searches = list(searches)
    if resolution is not None and not (
        isinstance(resolution, (int, float))
        and not isinstance(resolution, bool)
        and math.isfinite(resolution)
        and resolution > 1
    ):
        raise ValueError(f"resolution must be a number > 1 (the widest bracket hi / lo to stop at), got {resolution!r}")

    def measure(batch: Sequence[Bisection]) -> list[PStarResult]:
        rows = run_specs(
            [spec for search in batch for spec in search.specs()], store, workers, runner, progress, backend, ensembles
        )
        results, first = [], 0
        for search in batch:
            count = len(search.measured) * len(search.seeds)
            results.append(
                pstar_from_rows(
                    search.base,
                    search.measured,
                    search.seeds,
                    rows[first : first + count],
                    search.threshold,
                    n_bootstrap,
                )
            )
            first += count
        return results

    results = measure(searches)
    for _ in range(check_int("steps", steps, minimum=0)):
        proposals = [(i, search.next_P(results[i], resolution)) for i, search in enumerate(searches)]
        going = [(i, middle) for i, middle in proposals if middle is not None]
        if not going:
            break
        for i, middle in going:
            searches[i].measured = sorted([*searches[i].measured, middle])
        for (i, middle), result in zip(going, measure([searches[i] for i, _ in going])):
            searches[i].narrow(middle, result)
            results[i] = result
    return results
