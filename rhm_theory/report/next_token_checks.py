"""Decisions of the next-token checks: pure functions from measured learning curves (test
cross-entropy, nats, against P) and the exact theory to verification Checks (docs/theory-next-token.md;
Cagnetta and Wyart, arXiv:2406.00048).

No training happens here, so tests feed each decision curves drawn from the claim and from the
alternatives it names. Plateaus are the exact context-limited optima of the level windows
t_lam = s^(lam-1) - 1 (every token under the level-lam ancestor of x_d; lam = 1: the marginal,
lam = L + 1: the whole context): ``rhm_theory.theory.next_token.optimal_loss(grammar, t_lam)``.
"""

from __future__ import annotations

import math

import numpy as np

from rhm_theory.core.validation import as_generator, check_int
from rhm_theory.report.checks import Check, interval_check
from rhm_theory.report.learning_checks import widen
from rhm_theory.theory.stats import first_crossing

PLATEAU_TOLERANCE = 0.05  # nats: a flat stretch of the curve sits on a plateau if within this (+ 3 s.e.) of it
FLAT = 0.05  # nats: consecutive sizes whose seed-mean losses differ by less than this form a flat stretch
MIN_SEEDS = 4  # fewer seeds: the step-scaling check is "smoke"
MIN_SETTINGS = 3
MIN_SEPARATION = 0.25  # the alternative's slope must differ from 1 by this much for a discriminating check
SMOKE_BAND = 0.3  # smoke (no interval: too few seeds or settings): the slope must be within this of 1


def level_windows(s: int, L: int) -> list[int]:
    """Windows t_lam = s^(lam-1) - 1 for lam = 1..L+1 (0: the marginal, d - 1: the whole context)."""
    return [s ** (lam - 1) - 1 for lam in range(1, L + 2)]


def _mean_se(losses) -> tuple[np.ndarray, np.ndarray]:
    losses = np.atleast_2d(np.asarray(losses, dtype=float))
    n = losses.shape[0]
    se = losses.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(losses.shape[1])
    return losses.mean(axis=0), se


def plateau_check(
    name: str, P_values, losses, plateaus, *, tolerance: float = PLATEAU_TOLERANCE, flat: float = FLAT
) -> Check:
    """Flat stretches of the learning curve sit on the exact plateaus.

    ``losses``: (n_seeds, n_P) test cross-entropies at ``P_values``; ``plateaus``: the exact level
    optima H_{t_lam} (decreasing). A flat stretch is two or more consecutive sizes whose seed means
    differ by less than ``flat``. Passes iff there is one and every point of every flat stretch is
    within ``tolerance`` + 3 s.e. of a plateau, and farther than that from every midpoint between
    consecutive plateaus (the alternative: the curve levels off at losses that are not the exact
    context-limited optima). Discriminating iff every midpoint is farther than 2 x tolerance from
    the plateaus (else the two cannot be told apart) and there are >= 2 seeds.
    """
    mean, se = _mean_se(losses)
    plateaus = np.sort(np.asarray(plateaus, dtype=float))[::-1]
    midpoints = (plateaus[:-1] + plateaus[1:]) / 2
    flat_points = set()
    for i in range(len(mean) - 1):
        if abs(mean[i + 1] - mean[i]) < flat:
            flat_points |= {i, i + 1}
    worst, failures = 0.0, []
    for i in sorted(flat_points):
        allowed = tolerance + 3 * se[i]
        distance = float(np.abs(plateaus - mean[i]).min())
        to_midpoint = float(np.abs(midpoints - mean[i]).min()) if midpoints.size else math.inf
        worst = max(worst, distance / allowed)
        if distance > allowed or to_midpoint <= allowed:
            failures.append(
                f"P = {P_values[i]:g}: {mean[i]:.3f} (nearest plateau {distance:.3f} away, midpoint {to_midpoint:.3f})"
            )
    separable = midpoints.size > 0 and float(np.abs(midpoints[:, None] - plateaus[None, :]).min()) > 2 * tolerance
    discriminating = separable and np.atleast_2d(losses).shape[0] >= 2
    figure = (
        f"{len(flat_points)} points on flat stretches (|step| < {flat} nats); worst distance to the nearest "
        f"exact plateau / (tolerance {tolerance} + 3 s.e.) = {worst:.2f}; plateaus "
        + ", ".join(f"{h:.3f}" for h in plateaus)
    )
    if failures:
        figure += "; off: " + "; ".join(failures[:3])
    passed = bool(flat_points) and not failures
    return Check(
        name,
        passed,
        figure if flat_points else figure + "; no flat stretch",
        alternatives=("the curve levels off between the exact plateaus (midpoints)",) if discriminating else (),
        kind="discriminating" if discriminating else "smoke",
        measured=worst,
    )


def step_midpoints(plateaus) -> np.ndarray:
    """The loss level of each step, (n_plateaus - 1,): the midpoint of consecutive plateaus, highest first."""
    plateaus = np.sort(np.asarray(plateaus, dtype=float))[::-1]
    return (plateaus[:-1] + plateaus[1:]) / 2


def step_positions(P_values, losses, plateaus) -> np.ndarray:
    """Step positions per seed, (n_seeds, n_plateaus - 1): where each seed's curve first goes below
    the step's midpoint (:func:`step_midpoints`; interpolated in log P); nan where it does not cross
    inside the grid (or is already below at the first size)."""
    losses = np.atleast_2d(np.asarray(losses, dtype=float))
    midpoints = step_midpoints(plateaus)
    out = np.full((losses.shape[0], midpoints.size), np.nan)
    for seed, curve in enumerate(losses):
        for k, midpoint in enumerate(midpoints):
            P, status = first_crossing(P_values, curve, midpoint)
            out[seed, k] = P if status == "ok" else np.nan
    return out


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.polyfit(x, y, 1)[0])


def step_scaling_check(
    name: str, measured, derived, alternative, *, alternative_name: str, settings, n_boot: int = 1000, seed
) -> Check:
    """Step positions scale as the derived P_lam: slope 1 of log P_step against log P_lam.

    ``measured``: one array (n_seeds,) of step positions per step (a (setting, level) pair; nan
    for a seed whose curve did not cross); ``derived``: P_lam per step; ``alternative``: the
    alternative's prediction per step (e.g. the class task's n_c m^L); ``settings``: the setting of
    each step (any hashable label). Only steps measured in every seed enter. The slope's 95 % interval
    comes from a bootstrap over seeds within each step (widened for few seeds); the alternative's slope is that of log
    alternative on log P_lam (what a curve following the alternative would give). Passes iff the
    interval contains 1 and excludes the alternative's slope. Discriminating iff >= MIN_SETTINGS
    settings, >= MIN_SEEDS seeds per step and ``|alternative slope - 1| >= MIN_SEPARATION``; otherwise a
    smoke check that passes iff the point estimate is within SMOKE_BAND of 1.
    """
    rng = as_generator(seed)
    check_int("n_boot", n_boot)
    groups = [np.asarray(m, dtype=float) for m in measured]
    # a step some seeds do not reach inside the grid is left out: the mean of the seeds that reach it is biased early
    keep = [i for i, g in enumerate(groups) if g.size > 0 and np.isfinite(g).all()]
    log_derived = np.log(np.asarray(derived, dtype=float))
    if len(keep) < 2 or np.ptp(log_derived[keep]) == 0:
        figure = f"only {len(keep)} of {len(groups)} steps measured in every seed: no slope"
        return Check(name, False, figure, measured=math.nan).inconclusive(  # the too-few-points rule (docs/theory.md)
            f"too few points: {figure}",
            "a P grid that every seed's curve crosses at >= 2 steps of different P_lam "
            "(more P values, or longer training)",
        )
    alt_slope = _slope(log_derived[keep], np.log(np.asarray(alternative, dtype=float))[keep])
    x = log_derived[keep]
    estimate = _slope(x, [np.log(groups[i]).mean() for i in keep])
    boot = [
        _slope(x, [np.log(groups[i][rng.integers(0, groups[i].size, groups[i].size)]).mean() for i in keep])
        for _ in range(n_boot)
    ]
    n_seeds = min(groups[i].size for i in keep)
    low, high = (float(q) for q in np.quantile(boot, [0.025, 0.975]))
    if n_seeds >= 2:  # small-sample widening of the percentile interval (rhm_theory.report.learning_checks.widen)
        low, high = widen(estimate, low, high, n_seeds)
    n_settings = len({settings[i] for i in keep})
    discriminating = n_settings >= MIN_SETTINGS and n_seeds >= MIN_SEEDS and abs(alt_slope - 1) >= MIN_SEPARATION
    detail = (
        f"{len(keep)} of {len(groups)} steps (those measured in every seed) in {n_settings} settings, >= {n_seeds} "
        f"seeds each; alternative slope {alt_slope:.3f}"
    )
    if discriminating:
        return interval_check(
            name,
            estimate,
            low,
            high,
            claim=1.0,
            alternatives={alternative_name: alt_slope},
            detail=detail,
            source="arXiv:2406.00048 (step sizes P_lam)",
            sizes=f"{len(keep)} steps in {len(settings)} settings",
        )
    return Check(
        name,
        abs(estimate - 1) <= SMOKE_BAND,
        f"slope {estimate:.3f} (pass: within {SMOKE_BAND} of 1); {detail} (too few settings or seeds to reject it)",
        kind="smoke",
        measured=estimate,
    )


def not_reached(P_values, losses, plateaus) -> np.ndarray:
    """(n_seeds, n_plateaus - 1) booleans: True where a seed's curve stays above the step's midpoint at
    every P of the grid (the step lies beyond the grid's largest P)."""
    losses = np.atleast_2d(np.asarray(losses, dtype=float))
    return (losses[:, :, None] > step_midpoints(plateaus)[None, None, :]).all(axis=1)


def architecture_scaling_check(
    name: str,
    cnn,
    transformer,
    *,
    transformer_beyond=None,
    transformer_last_P: float = math.nan,
    n_boot: int = 1000,
    seed,
) -> Check:
    """The transformer's steps fall behind the CNN's more at deeper levels (arXiv:2505.07070, abstract:
    CNNs, aligned with the generative process by locality and weight sharing, scale faster than
    transformers).

    ``cnn``, ``transformer``: step positions (n_seeds, n_steps) of one setting (``step_positions``),
    seed i of both trained on the same grammar; ``transformer_beyond`` (same shape, ``not_reached``):
    where the transformer's step lies beyond ``transformer_last_P``, its grid's largest P. The delay of
    step k is R_k, the geometric-mean ratio of the transformer's to the CNN's positions; the figure is
    D = log R_deepest - log R_first, a delay growing with the level when D > 0. The first step is the
    first one measured for both models in every seed; the deepest, the last one after it that the CNN
    takes in every seed and the transformer takes or lies beyond: there a transformer step beyond the
    grid counts as transformer_last_P, a lower bound, so D is too. Its 95% interval is a paired
    bootstrap over seeds, widened for few seeds. Passes iff the interval lies above 0, rejecting "the
    same scaling" (D = 0: a constant delay, e.g. from width or step size) and "the transformer scales
    faster" (D < 0). Discriminating iff >= MIN_SEEDS seeds; a smoke check asks D > 0 of the point
    estimate. Fails if the two steps cannot be found.
    """
    rng = as_generator(seed)
    check_int("n_boot", n_boot)
    cnn, transformer = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (cnn, transformer))
    beyond = (
        np.zeros(transformer.shape, bool)
        if transformer_beyond is None
        else np.atleast_2d(np.asarray(transformer_beyond, bool))
    )
    if not cnn.shape == transformer.shape == beyond.shape:
        raise ValueError(
            f"step positions of the CNN {cnn.shape}, the transformer {transformer.shape} and "
            f"transformer_beyond {beyond.shape} differ in shape"
        )
    bounded = np.where(beyond, transformer_last_P, transformer)
    steps = range(cnn.shape[1])

    def every_seed(positions, k) -> bool:
        return bool(np.isfinite(positions[:, k]).all())

    first = next((k for k in steps if every_seed(cnn, k) and every_seed(transformer, k)), None)
    if first is None:
        return Check(name, False, "no step measured for both models in every seed", measured=math.nan).inconclusive(
            "too few points: no step measured for both models in every seed",
            "a P grid that covers the first step of both models",
        )
    deeper = [k for k in steps[first + 1 :] if every_seed(cnn, k) and every_seed(bounded, k)]
    if not deeper:
        figure = (
            f"only step {first + 1} is taken by both models in every seed: no deeper step to compare its delay with"
        )
        return Check(name, False, figure, measured=math.nan).inconclusive(
            f"too few points: {figure}",
            "a P grid (or training) that reaches a deeper step of both models in every seed",
        )
    deepest = deeper[-1]
    log_ratio = np.log(bounded[:, [first, deepest]]) - np.log(cnn[:, [first, deepest]])  # (n_seeds, 2)

    def growth(rows) -> float:
        mean = log_ratio[rows].mean(axis=0)
        return float(mean[1] - mean[0])

    n = log_ratio.shape[0]
    estimate = growth(np.arange(n))
    delays = np.exp(log_ratio.mean(axis=0))
    censored = int(beyond[:, deepest].sum())
    detail = (
        f"delay transformer/CNN x{delays[0]:.2f} at step {first + 1}, x{delays[1]:.2f} at step {deepest + 1} "
        f"(step k: into ancestor level k + 1); {n} seeds"
        + (
            f"; {censored} transformer step(s) beyond its grid counted at P = {transformer_last_P:g} (D is a lower bound)"
            if censored
            else ""
        )
    )
    if n < MIN_SEEDS:
        return Check(
            name,
            estimate > 0,
            f"D = {estimate:.3f} (pass: > 0); {detail} (too few seeds to reject anything)",
            kind="smoke",
            measured=estimate,
        )
    boot = np.array([growth(rng.integers(0, n, n)) for _ in range(n_boot)])
    low, high = widen(estimate, *np.quantile(boot, [0.025, 0.975]), n)
    figure = f"D = {estimate:.3f} [{low:.3f}, {high:.3f}] (pass: interval above 0); {detail}"
    alternatives = ("the same scaling (a constant delay, D = 0)", "the transformer scales faster (D < 0)")
    check = Check(
        name,
        bool(low > 0),
        figure,
        alternatives=alternatives,
        kind="discriminating",
        measured=estimate,
        source="arXiv:2505.07070 (CNNs scale faster than transformers)",
        sizes=f"{n} seeds; steps {first + 1} and {deepest + 1}",
        versus=f"D = {estimate:.3g} [{low:.3g}, {high:.3g}] vs > 0",
    )
    if low <= 0 < high:  # the claim (D > 0) and the constant delay (D = 0) are both inside
        return check.inconclusive(
            f"the interval [{low:.3g}, {high:.3g}] contains D > 0 (the claim) and D = 0 (a constant delay)",
            f"about x{(2 * (high - low) / max(high + low, 1e-9)) ** 2:.1f} the seeds ({n} now)",
        )
    return check
