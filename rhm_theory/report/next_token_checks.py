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


def plateau_check(name: str, P_values, losses, plateaus, *, tolerance: float = PLATEAU_TOLERANCE, flat: float = FLAT) -> Check:
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
            failures.append(f"P = {P_values[i]:g}: {mean[i]:.3f} (nearest plateau {distance:.3f} away, midpoint {to_midpoint:.3f})")
    separable = midpoints.size > 0 and float(np.abs(midpoints[:, None] - plateaus[None, :]).min()) > 2 * tolerance
    discriminating = separable and np.atleast_2d(losses).shape[0] >= 2
    figure = (f"{len(flat_points)} points on flat stretches (|step| < {flat} nats); worst distance to the nearest "
              f"exact plateau / (tolerance {tolerance} + 3 s.e.) = {worst:.2f}; plateaus "
              + ", ".join(f"{h:.3f}" for h in plateaus))
    if failures:
        figure += "; off: " + "; ".join(failures[:3])
    passed = bool(flat_points) and not failures
    return Check(name, passed, figure if flat_points else figure + "; no flat stretch",
                 alternatives=("the curve levels off between the exact plateaus (midpoints)",) if discriminating else (),
                 kind="discriminating" if discriminating else "smoke", measured=worst)


def step_positions(P_values, losses, plateaus) -> np.ndarray:
    """Step positions per seed, (n_seeds, n_plateaus - 1): where each seed's curve first goes below
    the midpoint of consecutive plateaus (interpolated in log P); nan where it does not cross inside
    the grid (or is already below at the first size)."""
    losses = np.atleast_2d(np.asarray(losses, dtype=float))
    plateaus = np.sort(np.asarray(plateaus, dtype=float))[::-1]
    out = np.full((losses.shape[0], plateaus.size - 1), np.nan)
    for seed, curve in enumerate(losses):
        for k in range(plateaus.size - 1):
            P, status = first_crossing(P_values, curve, (plateaus[k] + plateaus[k + 1]) / 2)
            out[seed, k] = P if status == "ok" else np.nan
    return out


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.polyfit(x, y, 1)[0])


def step_scaling_check(name: str, measured, derived, alternative, *, alternative_name: str, n_settings: int,
                       n_boot: int = 1000, seed) -> Check:
    """Step positions scale as the derived P_lam: slope 1 of log P_step against log P_lam.

    ``measured``: one array (n_seeds,) of step positions per step (a (setting, level) pair; nan
    for a seed whose curve did not cross); ``derived``: P_lam per step; ``alternative``: the
    alternative's prediction per step (e.g. the class task's n_c m^L). The slope's 95 % interval
    comes from a bootstrap over seeds within each step (widened for few seeds); the alternative's slope is that of log
    alternative on log P_lam (what a curve following the alternative would give). Passes iff the
    interval contains 1 and excludes the alternative's slope. Discriminating iff >= MIN_SETTINGS
    settings, >= MIN_SEEDS seeds per step and |alternative slope - 1| >= MIN_SEPARATION; otherwise a
    smoke check that passes iff the point estimate is within SMOKE_BAND of 1.
    """
    rng = as_generator(seed)
    check_int("n_boot", n_boot)
    groups = [np.asarray(m, dtype=float) for m in measured]
    groups = [g[np.isfinite(g)] for g in groups]
    keep = [i for i, g in enumerate(groups) if g.size > 0]
    log_derived = np.log(np.asarray(derived, dtype=float))
    alt_slope = _slope(log_derived, np.log(np.asarray(alternative, dtype=float)))
    if len(keep) < 2 or np.ptp(log_derived[keep]) == 0:
        return Check(name, False, f"only {len(keep)} steps measured inside the grid: no slope", measured=math.nan)
    x = log_derived[keep]
    estimate = _slope(x, [np.log(groups[i]).mean() for i in keep])
    boot = [_slope(x, [np.log(groups[i][rng.integers(0, groups[i].size, groups[i].size)]).mean() for i in keep])
            for _ in range(n_boot)]
    n_seeds = min(groups[i].size for i in keep)
    low, high = (float(q) for q in np.quantile(boot, [0.025, 0.975]))
    if n_seeds >= 2:  # small-sample widening of the percentile interval (rhm_theory.report.learning_checks.widen)
        low, high = widen(estimate, low, high, n_seeds)
    discriminating = n_settings >= MIN_SETTINGS and n_seeds >= MIN_SEEDS and abs(alt_slope - 1) >= MIN_SEPARATION
    detail = f"{len(keep)} steps in {n_settings} settings, >= {n_seeds} seeds each; alternative slope {alt_slope:.3f}"
    if discriminating:
        return interval_check(name, estimate, low, high, claim=1.0, alternatives={alternative_name: alt_slope}, detail=detail)
    return Check(name, abs(estimate - 1) <= SMOKE_BAND,
                 f"slope {estimate:.3f} (pass: within {SMOKE_BAND} of 1); {detail} (too few settings or seeds to reject it)",
                 kind="smoke", measured=estimate)
