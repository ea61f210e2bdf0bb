"""Decisions of the power-law RHM's learning curves (docs/theory-power-law.md, 'Verification design').

Classification: the least-squares slope of log(seed-mean test error) on log P, with a percentile
bootstrap over seeds, against the claim -a/(1+a) (arXiv:2505.07067) and named alternatives.
Next token: the difference of the large-scale exponents of log(test loss - exact floor) at two
values of a, against 0 (the claim) and the classification exponents' difference (the alternative).
The verdict rules are those of docs/theory.md, 'Verdicts'.
"""

from __future__ import annotations

import math

import numpy as np

from rhm_theory.report.checks import Check, Cost, interval_check, require_trained

N_BOOT = 2000
ERROR_FLOOR_COUNT = 5  # classification points whose mean error is below 5 / P_test are left out of the fit
MIN_DECADES = 1.5  # classification: the points left must span this many decades of P
EXCESS_FLOOR = 0.02  # next token: points whose mean excess loss (nats) is below this are left out
NEXT_TOKEN_MIN_DECADES = 1.0
MIN_SEEDS = 2  # docs/theory.md, 'Verdicts', rule 4: an interval over seeds needs at least 2


def too_few_seeds(check: Check, seeds: int) -> Check:
    """Rule 4 of docs/theory.md, 'Verdicts': a bootstrap over fewer than MIN_SEEDS seeds decides nothing."""
    if seeds >= MIN_SEEDS:
        return check
    return check.inconclusive(f"too few seeds: {seeds} (rule: >= {MIN_SEEDS})", f"{MIN_SEEDS} seeds or more")


def log_slope(P_values, values) -> float:
    """Least-squares slope of log(values) on log(P_values) (1-D arrays of one length >= 2)."""
    return float(np.polyfit(np.log(P_values), np.log(values), 1)[0])


def decades(P_values) -> float:
    """log10 of the span of P_values (0 for fewer than two points)."""
    P_values = np.asarray(P_values, dtype=float)
    return float(np.log10(P_values.max() / P_values.min())) if P_values.size > 1 else 0.0


def bootstrap_slopes(P_values, values, keep, *, resolution: float, n_boot: int, rng) -> np.ndarray:
    """Slopes of the seed-mean curve over ``n_boot`` resamples of the seeds (rows of ``values``,
    (seeds, n_P)), fitted on the points ``keep`` (bool, n_P); a resampled mean below ``resolution`` is
    replaced by it (docs/theory-power-law.md: the resolution of the mean). Array (n_boot,)."""
    values = np.asarray(values, dtype=float)[:, keep]
    rows = rng.integers(0, values.shape[0], size=(n_boot, values.shape[0]))
    means = np.maximum(values[rows].mean(axis=1), resolution)  # (n_boot, n_kept)
    x = np.log(np.asarray(P_values, dtype=float)[keep])
    x = x - x.mean()
    return (np.log(means) * x).sum(axis=1) / (x**2).sum()


def half_slopes(P_values, values, keep) -> tuple[float, float]:
    """Diagnostic, never a verdict: the least-squares slopes of log(values) on log(P_values) over the
    first and the second half of the points ``keep`` (NaN for a half of fewer than 2 points)."""
    P_values, values = np.asarray(P_values, dtype=float)[keep], np.asarray(values, dtype=float)[keep]
    half = (P_values.size + 1) // 2
    halves = (slice(0, half), slice(P_values.size - half, P_values.size))
    return tuple(log_slope(P_values[h], values[h]) if P_values[h].size >= 2 else math.nan for h in halves)


def fitted_points(P_values, mean, floor: float) -> np.ndarray:
    """The points kept in a fit: mean above ``floor`` (bool array like ``mean``)."""
    return np.asarray(mean, dtype=float) >= floor


def classification_exponent_check(
    name: str,
    a: float,
    P_values,
    errors,
    converged,
    *,
    alternatives: dict[str, float],
    P_test: int,
    seed,
    cost: Cost | None = None,
    n_boot: int = N_BOOT,
    kind: str = "discriminating",
    source: str = "",
) -> Check:
    """The learning-curve exponent at Zipf exponent ``a`` from test errors (seeds, n_P) at ``P_values``:
    claim -a/(1+a), ``alternatives`` {description: slope}. ``converged`` (seeds, n_P) bool: runs that
    reached their loss threshold. INCONCLUSIVE when the points above the error floor span less than
    MIN_DECADES ('range censored') or when too many runs are under-trained (checks.require_trained)."""
    P_values = np.asarray(P_values, dtype=float)
    errors = np.asarray(errors, dtype=float)
    claim = -a / (1 + a)
    floor = ERROR_FLOOR_COUNT / P_test
    keep = fitted_points(P_values, errors.mean(axis=0), floor)
    span = decades(P_values[keep])
    sizes = f"P = {P_values.min():.0f}..{P_values.max():.0f}, {errors.shape[0]} seeds"
    if keep.sum() < 3 or span < MIN_DECADES:
        estimate = log_slope(P_values[keep], errors.mean(axis=0)[keep]) if keep.sum() >= 2 else math.nan
        check = Check(
            name,
            False,
            f"slope {estimate:.3f} on {int(keep.sum())} points spanning {span:.2f} decades; claim {claim:.3f}",
            alternatives=tuple(alternatives),
            kind=kind,
            measured=estimate,
            source=source,
            sizes=sizes,
        )
        check = check.inconclusive(
            f"range censored: the {int(keep.sum())} points with mean error >= {floor:.2g} "
            f"span {span:.2f} decades (rule: >= {MIN_DECADES})",
            "a P grid reaching smaller errors or larger test sets (resolution below the smallest error)",
        )
        return require_trained(check, [converged], cost)
    estimate = log_slope(P_values[keep], errors.mean(axis=0)[keep])
    rng = np.random.default_rng(seed)
    slopes = bootstrap_slopes(P_values, errors, keep, resolution=1 / (errors.shape[0] * P_test), n_boot=n_boot, rng=rng)
    low, high = (float(q) for q in np.percentile(slopes, [2.5, 97.5]))
    check = interval_check(
        name,
        estimate,
        low,
        high,
        claim=claim,
        alternatives=alternatives,
        kind=kind,
        cost=cost,
        detail=f"{int(keep.sum())} points over {span:.2f} decades",
        source=source,
        sizes=sizes,
    )
    return require_trained(too_few_seeds(check, errors.shape[0]), [converged], cost)


def excess_slope(P_values, losses, floors, *, n_boot: int, rng) -> tuple[float, np.ndarray, np.ndarray]:
    """Next-token large-scale exponent: the slope of log(seed-mean excess loss) on log P, excess = test
    loss (seeds, n_P) minus each seed's exact floor (seeds,), on the points with mean excess >=
    EXCESS_FLOOR; returns (slope, bootstrap slopes (n_boot,), kept points (n_P,) bool)."""
    P_values = np.asarray(P_values, dtype=float)
    excess = np.asarray(losses, dtype=float) - np.asarray(floors, dtype=float)[:, None]
    keep = fitted_points(P_values, excess.mean(axis=0), EXCESS_FLOOR)
    if keep.sum() < 2:
        return math.nan, np.full(n_boot, math.nan), keep
    estimate = log_slope(P_values[keep], excess.mean(axis=0)[keep])
    return (
        estimate,
        bootstrap_slopes(P_values, excess, keep, resolution=EXCESS_FLOOR / 10, n_boot=n_boot, rng=rng),
        keep,
    )


def exponent_difference_check(
    name: str,
    curves: dict[float, tuple],
    *,
    alternative: tuple[str, float],
    seed,
    cost: Cost | None = None,
    n_boot: int = N_BOOT,
    kind: str = "discriminating",
    source: str = "",
) -> Check:
    """The next-token exponent at the smaller a minus that at the larger, from ``curves`` {a: (P_values,
    losses (seeds, n_P), floors (seeds,))} with two entries; claim 0, ``alternative`` (description,
    value). INCONCLUSIVE when a curve's points above EXCESS_FLOOR span less than NEXT_TOKEN_MIN_DECADES."""
    if len(curves) != 2:
        raise ValueError(f"the exponent difference needs curves at exactly 2 values of a, got {sorted(curves)}")
    rng = np.random.default_rng(seed)
    (a_low, low_curve), (a_high, high_curve) = sorted(curves.items())
    fits = [excess_slope(*curve, n_boot=n_boot, rng=rng) for curve in (low_curve, high_curve)]
    spans = [
        decades(np.asarray(curve[0], dtype=float)[keep]) for curve, (_, _, keep) in zip((low_curve, high_curve), fits)
    ]
    estimate = fits[0][0] - fits[1][0]
    slopes_text = f"slopes {fits[0][0]:.3f} (a = {a_low:g}), {fits[1][0]:.3f} (a = {a_high:g})"
    label, value = alternative
    sizes = f"a = {a_low:g}, {a_high:g}"
    if min(spans) < NEXT_TOKEN_MIN_DECADES:
        check = Check(
            name,
            False,
            f"difference {estimate:.3f}; {slopes_text}",
            alternatives=(label,),
            kind=kind,
            measured=estimate,
            source=source,
            sizes=sizes,
        )
        return check.inconclusive(
            f"range censored: the points with mean excess >= {EXCESS_FLOOR} nats span "
            f"{min(spans):.2f} decades at the narrower a (rule: >= {NEXT_TOKEN_MIN_DECADES})",
            "a P grid starting lower or training longer (excess loss above the floor over a decade)",
        )
    difference = fits[0][1] - fits[1][1]
    low, high = (float(q) for q in np.percentile(difference, [2.5, 97.5]))
    check = interval_check(
        name,
        estimate,
        low,
        high,
        claim=0.0,
        alternatives={label: value},
        kind=kind,
        cost=cost,
        detail=slopes_text,
        source=source,
        sizes=sizes,
    )
    return too_few_seeds(check, min(np.shape(curve[1])[0] for curve in curves.values()))


def lookup_table_error(log_probs, P_values, n_c: int) -> np.ndarray:
    """Test error of a lookup table trained on P i.i.d. data: (1 - 1/n_c) sum_x p(x) (1 - p(x))^P, with
    log p(x) of every datum of the grammar (``log_probs``, (p_max,)); array like ``P_values``
    (docs/theory-power-law.md: the lookup-table alternative)."""
    p = np.exp(np.asarray(log_probs, dtype=float))
    unseen = np.array([(p * np.exp(P * np.log1p(-p))).sum() for P in np.asarray(P_values, dtype=float)])
    return (1 - 1 / n_c) * unseen
