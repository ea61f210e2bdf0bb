"""Decisions of the trained-network checks on the sparse RHM (arXiv:2404.10727; docs/theory-sparse.md,
'Sample complexities'): pure functions from measured curves to verification Checks, so that tests can
feed them curves drawn from the claim and from each alternative.

Every function takes one grammar at several sparsities ``s0_values`` and, per s0, the test errors of
one architecture on a grid of training-set sizes: ``curves`` = [(P_values (n_P,), errors (n_seeds, n_P))]
(seed rows are independent rules, data and initialisations). Errors are in units of chance 1 - 1/n_c;
P* is where the seed-mean curve first falls below ``fraction`` of chance (rhm_theory.theory.stats.
first_crossing). Intervals are percentile bootstraps over seeds, resampled within each s0 and widened
for small seed counts (rhm_theory.report.learning_checks.widen).

Claims (the paper's empirical fits, its experiments section): P*_LCN ~ (s0+1)^L n_c m^L and
P*_CNN ~ (s0+1)^2 n_c m^L; the test error collapses as a function of P / ((s0+1)^k n_c m^L); the
sensitivities to diffeomorphisms D and to synonymic exchanges S of the last hidden layer drop at P*;
the test error and D are correlated across P.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from rhm_theory.core.validation import as_generator, check_int
from rhm_theory.report.checks import Check, interval_check, require_trained
from rhm_theory.report.learning_checks import MIN_SEEDS, ORDER, PSTAR_FRACTION, chance, drop_ratio, widen
from rhm_theory.synonyms.clustering import fit_crossing_power_law
from rhm_theory.theory.stats import first_crossing

MIN_BASE_SPAN = 3  # (s0+1) must span at least this factor for an exponent to discriminate
COLLAPSE_LEVELS = (0.5, 0.25, PSTAR_FRACTION)  # error levels (x chance) whose crossings must collapse
MIN_CORRELATION = 0.5  # the error - D rank correlation is "strong" above this


def claimed_exponent(model: str, L: int) -> float:
    """The paper's exponent k of P* ~ (s0+1)^k n_c m^L: L for the LCN, 2 for the CNN."""
    exponents = {"lcn": float(L), "cnn": 2.0}
    if model not in exponents:
        raise ValueError(f"the sparse RHM's P* claims are for 'lcn' and 'cnn', got {model!r}")
    return exponents[model]


def _prepare(s0_values, curves, n_c):
    s0_values = [check_int("s0", s0, minimum=0) for s0 in s0_values]
    if len(s0_values) != len(curves):
        raise ValueError(f"need one curve per s0, got {len(s0_values)} s0 values and {len(curves)} curves")
    normalised = [
        (np.asarray(P, dtype=float), np.atleast_2d(np.asarray(e, dtype=float)) / chance(n_c)) for P, e in curves
    ]
    n_seeds = min(e.shape[0] for _, e in normalised)
    return np.asarray(s0_values, dtype=float) + 1.0, normalised, n_seeds


def _discriminating(bases, n_seeds) -> bool:
    return len(bases) >= 3 and bases.max() / bases.min() >= MIN_BASE_SPAN and n_seeds >= MIN_SEEDS


SPARSE_SOURCE = "arXiv:2404.10727 (sparse RHM)"


# ----- P* ~ (s0+1)^k --------------------------------------------------------------------------------
def sparsity_exponent_check(
    model: str,
    s0_values,
    curves,
    *,
    n_c: int,
    L: int,
    fraction: float = PSTAR_FRACTION,
    n_boot: int = 1000,
    seed,
    converged=None,
) -> Check:
    """Fit log P* = c + k log(s0+1) for ``model`` ("lcn" or "cnn"); claim k = :func:`claimed_exponent`,
    alternative the other architecture's exponent (and k = 0, no effect of sparsity). Passes iff the
    widened 95% bootstrap interval of k contains the claim and excludes the alternatives.
    Discriminating iff >= 3 values of s0 with (s0+1) spanning >= MIN_BASE_SPAN, >= MIN_SEEDS seeds, and
    the two exponents differ (L != 2); otherwise "smoke" (claim inside the interval). Fails if any run
    is under-trained (``converged``: see :func:`_trained`).
    """
    return _exponent_rung(
        model, s0_values, curves, n_c=n_c, L=L, fraction=fraction, n_boot=n_boot, seed=seed, converged=converged
    )[0]


def exponent_alternatives(model: str, L: int) -> dict[str, float]:
    """The alternatives to ``model``'s claimed exponent: the other architecture's, and 0."""
    other = "cnn" if model == "lcn" else "lcn"
    alternative = claimed_exponent(other, L)
    return {f"k = {alternative:g} (the {other.upper()}'s scaling)": alternative, "k = 0 (no effect of sparsity)": 0.0}


def _exponent_rung(model, s0_values, curves, *, n_c, L, fraction, n_boot, seed, converged):
    """(check of :func:`sparsity_exponent_check`, (estimate, widened low, widened high) or None when
    there is no fit)."""
    claim = claimed_exponent(model, L)
    alternatives = exponent_alternatives(model, L)
    alternative = claimed_exponent("cnn" if model == "lcn" else "lcn", L)
    bases, normalised, n_seeds = _prepare(s0_values, curves, n_c)
    name = f"{model.upper()}: P* ~ (s0+1)^k n_c m^L with k = {claim:g}"
    kind = "discriminating" if _discriminating(bases, n_seeds) and alternative != claim else "smoke"
    try:
        fit = fit_crossing_power_law(normalised, bases, fraction, n_boot=n_boot, seed=seed)
    except ValueError as error:  # a crossing outside its grid: the censoring rule of docs/theory.md, 'Verdicts'
        check = _trained(
            Check(
                name,
                False,
                f"no fit: {error}",
                alternatives=tuple(alternatives) if kind == "discriminating" else (),
                kind=kind,
                source=SPARSE_SOURCE,
            ),
            converged,
        )
        return (
            check
            if check.verdict == "INCONCLUSIVE"
            else check.inconclusive(
                f"P* censored: {error}", "the P grid of the censored values of s0 extended x4 beyond the side P* left"
            )
        ), None
    estimate = float(fit.exponents[0])
    low, high = widen(estimate, float(fit.ci_low[0]), float(fit.ci_high[0]), n_seeds)
    pstars = ", ".join(f"{first_crossing(P, e.mean(axis=0), fraction)[0]:.4g}" for P, e in normalised)
    detail = f"s0 = {', '.join(str(int(b - 1)) for b in bases)}: P* = {pstars}; {n_seeds} seeds, threshold {fraction:g} x chance"
    return _trained(
        interval_check(
            name,
            estimate,
            low,
            high,
            claim=claim,
            alternatives=alternatives,
            kind=kind,
            detail=detail,
            source=SPARSE_SOURCE,
            sizes=f"s0 {int(bases.min() - 1)}-{int(bases.max() - 1)}, n_c {n_c}, L {L}; {n_seeds} seeds",
        ),
        converged,
    ), (estimate, float(low), float(high))


def sparsity_ladder_check(
    model: str, rungs, *, L: int, fraction: float = PSTAR_FRACTION, n_boot: int = 1000, seed, trend_boot: int = 2000
) -> Check:
    """The ladder of ``model``'s (s0+1) exponent over base grammars (docs/theory-sparse.md, 'Ladders').

    ``rungs``: one dict per base grammar, {size (its n_c m^L), n_c, s0_values, curves, converged (or
    None), device, seconds (CPU-seconds, optional)} with ``curves`` and ``converged`` as for
    :func:`sparsity_exponent_check`, whose fit (same ``fraction``, ``n_boot``, ``seed``) gives each
    rung's estimate and widened interval. A rung whose exponent check is INCONCLUSIVE (censored P*,
    under-trained runs) makes the ladder INCONCLUSIVE with that rung's reason; otherwise the rungs go
    to rhm_theory.report.trends.trend_check with the exponent check's claim and alternatives.
    """
    from rhm_theory.report.trends import rungs_text, trend_check, undecided_ladder

    claim = claimed_exponent(model, L)
    alternatives = exponent_alternatives(model, L)
    name = f"{model.upper()} ladder: (s0+1) exponent k = {claim:g} of P* across base grammars (size n_c m^L)"
    source = f"{SPARSE_SOURCE}, experiments section; ladder"
    measured, undecided = [], []
    for rung in sorted(rungs, key=lambda r: r["size"]):
        check, interval = _exponent_rung(
            model,
            rung["s0_values"],
            rung["curves"],
            n_c=rung["n_c"],
            L=L,
            fraction=fraction,
            n_boot=n_boot,
            seed=seed,
            converged=rung.get("converged"),
        )
        if interval is None or check.reason.startswith("under-trained"):  # censored, or too many under-trained runs
            undecided.append((rung["size"], check))
            continue
        estimate, low, high = interval
        measured.append(
            {
                "size": rung["size"],
                "estimate": estimate,
                "ci_low": low,
                "ci_high": high,
                "device": rung.get("device", "cpu"),
                "seconds": rung.get("seconds"),
            }
        )
    if undecided:
        size, check = undecided[0]
        shown = rungs_text(measured)
        return undecided_ladder(
            name,
            measured,
            claim=claim,
            alternatives=alternatives,
            source=source,
            figure=f"rung size {size:g}: {check.figure}" + (f"; decided rungs {shown}" if shown else ""),
            reason=f"rung size {size:g}: {check.reason or f'no exponent: {check.figure}'}",
            needs=check.needs or "that rung's P* inside its grid",
            sizes=f"{len(rungs)} rungs",
        )
    seconds = [r["seconds"] for r in measured]
    return trend_check(
        name,
        measured,
        claim=claim,
        alternatives=alternatives,
        n_boot=trend_boot,
        seed=seed,
        seconds=seconds if all(s is not None for s in seconds) else None,
        source=source,
    )


# ----- collapse of the error curves -----------------------------------------------------------------
def _crossings(normalised, rows, levels) -> np.ndarray:
    """log P where each seed-resampled mean curve crosses each level, (n_levels, n_s0); NaN outside the grid."""
    out = np.full((len(levels), len(normalised)), np.nan)
    for j, ((P, errors), idx) in enumerate(zip(normalised, rows)):
        curve = errors[idx].mean(axis=0)
        for i, level in enumerate(levels):
            point, status = first_crossing(P, curve, level)
            if status == "ok":
                out[i, j] = math.log(point)
    return out


def collapse_spread(log_crossings, bases, exponent: float) -> float:
    """Largest spread (max - min over s0, natural log) of log P_e - exponent log(s0+1) over the error
    levels e measured at every s0 (NaN when no level is)."""
    rescaled = log_crossings - exponent * np.log(bases)[None, :]
    complete = ~np.isnan(rescaled).any(axis=1)
    if not complete.any():
        return math.nan
    return float((rescaled[complete].max(axis=1) - rescaled[complete].min(axis=1)).max())


def collapse_check(model: str, s0_values, curves, *, n_c: int, L: int, levels=COLLAPSE_LEVELS, converged=None) -> Check:
    """The error curves collapse against P / ((s0+1)^k n_c m^L) with the claimed k of ``model``: at each
    error level e (x chance) of ``levels`` crossed inside every grid, the crossings P_e(s0) / (s0+1)^k
    agree across s0 within a factor ORDER (the largest spread, :func:`collapse_spread`, <= log ORDER).

    Always a "smoke" check: the spread is a range over s0 of seed-noisy crossings, and telling the two
    exponents apart by it needs (s0+1) to span far more than the exponent fit does (the
    discriminating check on the same curves is :func:`sparsity_exponent_check`). It still fails on
    curves that follow the other architecture's k when (s0+1)^|k - k'| exceeds ORDER well.
    """
    claim = claimed_exponent(model, L)
    alternative = claimed_exponent("cnn" if model == "lcn" else "lcn", L)
    bases, normalised, n_seeds = _prepare(s0_values, curves, n_c)
    crossings = _crossings(normalised, [np.arange(e.shape[0]) for _, e in normalised], levels)
    spread, alt_spread = (collapse_spread(crossings, bases, k) for k in (claim, alternative))
    used = int((~np.isnan(crossings).any(axis=1)).sum())
    figure = (
        f"spread of P_e/(s0+1)^k over s0: x{math.exp(spread):.2f} at k = {claim:g} (pass <= x{ORDER:g}); "
        f"x{math.exp(alt_spread):.2f} at k = {alternative:g}; {used} of {len(levels)} error levels crossed at every "
        f"s0, {n_seeds} seeds"
    )
    return _trained(
        Check(
            f"{model.upper()}: test error collapses against P / ((s0+1)^{claim:g} n_c m^L)",
            spread <= math.log(ORDER),
            figure,
            kind="smoke",
            measured=spread,
        ),
        converged,
    )


# ----- D and S drop at P* ---------------------------------------------------------------------------
def invariance_drop_check(
    model: str,
    s0_values,
    curves,
    sensitivities: dict,
    *,
    n_c: int,
    fraction: float = PSTAR_FRACTION,
    n_boot: int = 1000,
    seed,
    converged=None,
) -> Check:
    """Each sensitivity in ``sensitivities`` ({name: [(n_seeds, n_P) per s0]}, e.g. D and S of the last
    hidden layer to transformations of the input) halves at a P within a factor ORDER of P*, at every s0.

    Passes iff every widened 95% bootstrap interval of P_half / P* (over the resamples whose crossings
    stay inside the grid; none if fewer than half do) lies inside [1/ORDER, ORDER]
    (alternatives: the drop comes before P*/ORDER, or after ORDER P* or never). Discriminating iff
    >= MIN_SEEDS seeds; a smoke check asks the point estimates to lie inside. (At s0 = 0 there is no
    diffeomorphism, D = 0: leave s0 = 0 out of D's checks.) Fails if a sensitivity is undefined (NaN:
    a layer whose output is the same for every test datum) in any run, or any run is under-trained.
    """
    bases, normalised, n_seeds = _prepare(s0_values, curves, n_c)
    discriminating = n_seeds >= MIN_SEEDS
    rng = as_generator(seed)
    shown, failures, worst = [], [], 0.0
    for label, per_s0 in sensitivities.items():
        if len(per_s0) != len(normalised):
            raise ValueError(f"sensitivity {label}: need one array per s0, got {len(per_s0)}")
        for base, (P, errors), values in zip(bases, normalised, per_s0):
            values = np.atleast_2d(np.asarray(values, dtype=float))
            if values.shape != errors.shape:
                raise ValueError(f"sensitivity {label} has shape {values.shape}, the errors {errors.shape}")
            undefined = int(np.isnan(values).sum())
            if undefined:
                failures.append(f"{label} s0={int(base - 1)}: undefined in {undefined} of {values.size} runs")
                shown.append(failures[-1])
                worst = math.inf
                continue
            n = errors.shape[0]
            ratio = drop_ratio(P, errors, values, np.arange(n), fraction)
            low = high = ratio
            if discriminating and ratio > 0:
                boot = np.array(
                    [
                        drop_ratio(P, errors, values, rng.integers(0, n, n), fraction)
                        for _ in range(check_int("n_boot", n_boot))
                    ]
                )
                kept = boot[np.isfinite(boot)]  # resamples whose crossings stay inside the grid, as in the P* fits
                low, high = (
                    (math.nan, math.nan)
                    if kept.size < boot.size / 2
                    else np.exp(widen(math.log(ratio), *np.log(np.quantile(kept, [0.025, 0.975])), n))
                )
            shown.append(f"{label} s0={int(base - 1)}: {ratio:.2f} [{low:.2f}, {high:.2f}]")
            if not (1 / ORDER <= low and high <= ORDER):
                failures.append(shown[-1])
            worst = max(worst, abs(math.log2(ratio)) if ratio > 0 else math.inf)
    figure = f"P_half / P*: {'; '.join(shown)} (pass: every interval inside [1/{ORDER:g}, {ORDER:g}])"
    alternatives = (f"the invariance is learned before P*/{ORDER:g}", f"it is learned after {ORDER:g} P*, or never")
    names = " and ".join(sensitivities)
    return _trained(
        Check(
            f"{model.upper()}: {names} halve at P ~ P*",
            not failures and bool(shown),
            figure,
            alternatives=alternatives if discriminating else (),
            kind="discriminating" if discriminating else "smoke",
            measured=worst,
        ),
        converged,
    )


# ----- test error vs D across P ---------------------------------------------------------------------
def _rank_correlation(normalised, sensitivity, rows) -> float:
    errors = np.concatenate([e[idx].mean(axis=0) for (_, e), idx in zip(normalised, rows)])
    values = np.concatenate([s[idx].mean(axis=0) for s, idx in zip(sensitivity, rows)])
    return float(scipy.stats.spearmanr(errors, values).statistic)


def error_sensitivity_correlation_check(
    model: str, label: str, s0_values, curves, sensitivity, *, n_c: int, n_boot: int = 1000, seed, converged=None
) -> Check:
    """The test error and the sensitivity ``label`` (``sensitivity``: (n_seeds, n_P) per s0) are strongly
    correlated across P and s0: Spearman rank correlation of the seed means over every (s0, P) point,
    whose widened 95% bootstrap lower bound must exceed MIN_CORRELATION (alternatives: no relation,
    rho = 0; a weak one, rho <= MIN_CORRELATION). Discriminating iff >= MIN_SEEDS seeds and >= 8
    points; a smoke check asks the point estimate to exceed MIN_CORRELATION. Fails, saying so, if the
    sensitivity is undefined (NaN) in any run or any run is under-trained.
    """
    bases, normalised, n_seeds = _prepare(s0_values, curves, n_c)
    sensitivity = [np.atleast_2d(np.asarray(s, dtype=float)) for s in sensitivity]
    for s, (_, e) in zip(sensitivity, normalised):
        if s.shape != e.shape:
            raise ValueError(f"sensitivity {label} has shape {s.shape}, the errors {e.shape}")
    n_points = sum(e.shape[1] for _, e in normalised)
    discriminating = n_seeds >= MIN_SEEDS and n_points >= 8
    name = f"{model.upper()}: test error and {label} are correlated across P and s0"
    alternatives = ("no relation (rho = 0)", f"a weak relation (rho <= {MIN_CORRELATION})")
    kind = "discriminating" if discriminating else "smoke"
    undefined = sum(int(np.isnan(s).sum()) for s in sensitivity)
    if undefined:
        where = ", ".join(
            f"s0={int(b - 1)}: {int(np.isnan(s).sum())}" for b, s in zip(bases, sensitivity) if np.isnan(s).any()
        )
        figure = (
            f"{label} undefined in {undefined} of {sum(s.size for s in sensitivity)} runs ({where}): no correlation"
        )
        return _trained(
            Check(name, False, figure, alternatives=alternatives if discriminating else (), kind=kind), converged
        )
    rho = _rank_correlation(normalised, sensitivity, [np.arange(e.shape[0]) for _, e in normalised])
    low = rho
    if discriminating:
        rng = as_generator(seed)
        boot = [
            _rank_correlation(normalised, sensitivity, [rng.integers(0, e.shape[0], e.shape[0]) for _, e in normalised])
            for _ in range(check_int("n_boot", n_boot))
        ]
        low = widen(rho, *np.nanquantile(boot, [0.025, 0.975]), n_seeds)[0] if not np.isnan(boot).all() else math.nan
    passed = low > MIN_CORRELATION
    bound = "95% lower bound" if discriminating else "point estimate"
    figure = f"Spearman rho = {rho:.3f} ({bound} {low:.3f}; pass > {MIN_CORRELATION}) over {n_points} (s0, P) points, {n_seeds} seeds"
    return _trained(
        Check(name, passed, figure, alternatives=alternatives if discriminating else (), kind=kind, measured=rho),
        converged,
    )


def _trained(check: Check, converged) -> Check:
    """``check`` failed if a run is under-trained (rhm_theory.report.checks.require_trained); ``converged``:
    one (n_seeds, n_P) bool array per s0 (True: the run reached its training-loss threshold), or None
    when the caller does not know."""
    return check if converged is None else require_trained(check, converged)
