"""Decisions of the checks on trained networks: pure functions from measured results (test-error
curves, training losses, synonymic sensitivities) to verification Checks (rhm_theory.report.checks).

No training happens here, so tests can feed each decision results drawn from the claim and from
each alternative it names. Claims are those of arXiv:2307.02129 (docs/theory.md, 'Sample complexity'):
the deep CNN's sample complexity P* ~ n_c m^L, independent of v (Figs. 3, 4, 12); a one-hidden-layer
FCN needs P of order P_max (Fig. 2); the synonymic sensitivity of layer k to exchanges at level l < k
drops at P* (Figs. 5, 6); without token-class correlations (docs/theory.md, 'The uncorrelated RHM';
Fig. 9) nothing is learned. Intervals are percentile bootstraps over seeds, resampled within each setting, widened
about the estimate by sqrt(n/(n-1)) t_{n-1}/z (n seeds; :func:`widen`): with the 3 to 8 seeds of a
run, the plain percentile interval covers the truth too rarely (about 75-90% instead of 95% in
simulations of these checks). They measure seed noise, not model error.

Errors are compared in units of chance error 1 - 1/n_c; P* is where the seed-mean curve first
falls below PSTAR_FRACTION of chance (interpolated in log P, rhm_theory.theory.stats.first_crossing).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from rhm_theory.core.validation import as_generator, check_int
from rhm_theory.report.checks import Check, interval_check, require_trained
from rhm_theory.synonyms.clustering import fit_crossing_power_law
from rhm_theory.theory.stats import first_crossing

PSTAR_FRACTION = 0.1  # P*: error below 0.1 x chance, the deep-CNN threshold (runs.experiment.error_threshold)
MIN_NC_SPAN, MIN_V_SPAN, MIN_ML_SPAN = 8, 4, 4  # design needed for the scaling exponents to discriminate
MIN_SEEDS = 4  # fewer seeds give intervals too wide to reject anything: such checks are "smoke"
ORDER = 2.0  # "within a factor 2": the tolerance of the order-of-magnitude claims (d) and (e)
HALF = 0.5  # S_{k,l} has dropped once it is below half its value at the smallest P
NEAR_CHANCE = 0.8  # uncorrelated control: error stays above 0.8 x chance


def chance(n_c: int) -> float:
    return 1.0 - 1.0 / n_c


def _normalised(errors, n_c) -> np.ndarray:
    """Test errors (n_seeds, n_P) in units of chance error."""
    return np.atleast_2d(np.asarray(errors, dtype=float)) / chance(n_c)


def widen(estimate: float, low: float, high: float, n: int) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval over n >= 2 seeds, widened about ``estimate`` by
    sqrt(n/(n-1)) t_{n-1}(0.975) / z(0.975) (the small-sample correction of a bootstrap standard error)."""
    n = check_int("n", n, minimum=2)
    factor = math.sqrt(n / (n - 1)) * float(scipy.stats.t.ppf(0.975, n - 1) / scipy.stats.norm.ppf(0.975))
    return estimate - factor * (estimate - low), estimate + factor * (high - estimate)


def _span(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.max() / values.min())


# ----- (c) P* = C n_c^a (m^L)^b v^c ---------------------------------------------------------------
def pstar_scaling_checks(settings, curves, *, s: int, n_boot: int = 1000, seed) -> list[Check]:
    """Joint fit log P* = log C + a log n_c + b log m^L + c log v over settings; claim a = b = 1, c = 0.

    ``settings``: (v, n_c, m, L) per setting; ``curves``: (P_values (n_P,), errors (n_seeds, n_P)) per
    setting (deep-CNN test errors). Three checks (a, b, c), each passing iff its 95% bootstrap
    interval contains the claim and excludes its alternatives: a = 0 (P* ~ m^L) and a = 0.5; b =
    (s^L - 1)/((s - 1) L) for the smallest L (P* ~ P_max); c = 0.5. A check is "discriminating" only
    if the design spans n_c by >= MIN_NC_SPAN, m^L by >= MIN_ML_SPAN with two values of m and of L,
    v by >= MIN_V_SPAN; otherwise "smoke" (claim inside the interval).
    """
    settings = [tuple(int(x) for x in setting) for setting in settings]
    if len(settings) != len(curves):
        raise ValueError(f"need one curve per setting, got {len(settings)} settings and {len(curves)} curves")
    v, n_c, m, L = (np.array(column) for column in zip(*settings))
    factors = np.column_stack([n_c, m**L, v]).astype(float)
    b_pmax = min((s**l - 1) / ((s - 1) * l) for l in set(L.tolist()))
    designs = {
        "a": _span(n_c) >= MIN_NC_SPAN,
        "b": _span(m**L) >= MIN_ML_SPAN and len(set(m.tolist())) > 1 and len(set(L.tolist())) > 1,
        "c": _span(v) >= MIN_V_SPAN,
    }
    claims = {
        "a": ("P* ~ n_c^a: a = 1", 1.0, {"a = 0 (P* ~ m^L, no n_c dependence)": 0.0, "a = 0.5 (P* ~ sqrt(n_c) m^L)": 0.5}),
        "b": ("P* ~ (m^L)^b: b = 1", 1.0, {f"b = (s^L-1)/((s-1)L) = {b_pmax:.3g} (P* ~ P_max)": b_pmax}),
        "c": ("P* ~ v^c: c = 0 (independent of v)", 0.0, {"c = 0.5 (P* ~ sqrt(v))": 0.5}),
    }
    normalised = [(np.asarray(P, dtype=float), _normalised(e, nc)) for (P, e), nc in zip(curves, n_c)]
    n_seeds = min(e.shape[0] for _, e in normalised)
    designs = {key: enough and n_seeds >= MIN_SEEDS for key, enough in designs.items()}
    spans = f"spans: n_c x{_span(n_c):.0f}, m^L x{_span(m**L):.0f}, v x{_span(v):.0f} over {len(settings)} settings"
    if np.linalg.matrix_rank(np.column_stack([np.log(factors), np.ones(len(settings))])) < 4:
        return [Check(name, False, f"settings do not determine a, b and c separately ({spans})") for name, _, _ in claims.values()]
    try:
        fit = fit_crossing_power_law(normalised, factors, PSTAR_FRACTION, n_boot=n_boot, seed=seed)
    except ValueError as error:
        return [Check(name, False, f"no fit: {error}") for name, _, _ in claims.values()]
    checks = []
    for i, key in enumerate("abc"):
        name, claim, alternatives = claims[key]
        estimate = float(fit.exponents[i])
        low, high = widen(estimate, float(fit.ci_low[i]), float(fit.ci_high[i]), n_seeds)
        checks.append(interval_check(name, estimate, low, high, claim=claim, alternatives=alternatives,
                                     kind="discriminating" if designs[key] else "smoke",
                                     detail=f"{spans}; {fit.n_boot} bootstrap fits, {n_seeds} seeds"))
    return checks


# ----- (d) one-hidden-layer FCN: P* ~ P_max --------------------------------------------------------
def _pstar_interval(P_values, normalised, n_boot: int, rng) -> tuple[float, float]:
    """95% bootstrap interval (seeds) of the P* of the seed-mean curve; a resample whose curve starts
    below the threshold only bounds P* from above (by the first P), one that never crosses only from
    below (by the last P)."""
    P_values = np.asarray(P_values, dtype=float)
    n = normalised.shape[0]
    lows, highs = [], []
    for _ in range(n_boot):
        pstar, status = first_crossing(P_values, normalised[rng.integers(0, n, n)].mean(axis=0), PSTAR_FRACTION)
        lows.append({"below_grid": 0.0, "above_grid": P_values[-1]}.get(status, pstar))
        highs.append(pstar)
    low, high = float(np.quantile(lows, 0.025, method="lower")), float(np.quantile(highs, 0.975, method="higher"))
    pstar, status = first_crossing(P_values, normalised.mean(axis=0), PSTAR_FRACTION)
    if status != "ok" or low <= 0 or not math.isfinite(high):
        return low, high  # a one-sided bound: nothing to widen it about
    log_low, log_high = widen(math.log(pstar), math.log(low), math.log(high), n)
    return math.exp(log_low), math.exp(log_high)


def fcn_pmax_check(grammars, curves, converged, *, n_boot: int = 1000, seed) -> Check:
    """One-hidden-layer FCN: P* ~ P_max (claim) rather than P* ~ n_c m^L (alternative: the deep CNN's scaling).

    ``grammars``: (v, n_c, m, s, L) per grammar; ``curves``: (P_values, errors (n_seeds, n_P)) per
    grammar, P below P_max; ``converged``: (n_seeds, n_P) bools per grammar, whether each run reached
    its training-loss threshold. P* uses the deep CNN's threshold (PSTAR_FRACTION of chance). Each
    grammar gives an interval for P* (bootstrap over seeds; a P* beyond the grid is only bounded by
    P_max, where the whole data set is the training set). Claim: one K with P* = K P_max within a
    factor ORDER in every grammar (the intervals of P*/P_max, widened by ORDER, share a point);
    alternative rejected: the same for P*/(n_c m^L). Fails if any run is under-trained.
    Discriminating iff >= 3 grammars, P_max/(n_c m^L) spans >= 8x and >= MIN_SEEDS seeds.
    """
    rng = as_generator(seed)
    scales, p_maxes, low_high = [], [], []
    for (v, n_c, m, s, L), (P_values, errors) in zip(grammars, curves):
        scale, p_max = n_c * m**L, n_c * m ** ((s**L - 1) // (s - 1))
        if max(P_values) >= p_max:
            raise ValueError(f"P must stay below P_max = {p_max} (a test set is needed), got {max(P_values)}")
        low, high = _pstar_interval(P_values, _normalised(errors, n_c), n_boot, rng)
        scales.append(scale)
        p_maxes.append(p_max)
        low_high.append((min(low, p_max), min(high, p_max)))
    scales, p_maxes, bounds = np.array(scales, float), np.array(p_maxes, float), np.array(low_high)

    def spread(unit):  # how far apart the intervals of P*/unit are: <= 1 means they overlap
        return float((bounds[:, 0] / unit).max() / (bounds[:, 1] / unit).min())

    claim_spread, alt_spread = spread(p_maxes), spread(scales)
    ratio_span = _span(p_maxes / scales)
    discriminating = len(grammars) >= 3 and ratio_span >= 8 and min(np.atleast_2d(e).shape[0] for _, e in curves) >= MIN_SEEDS
    alternative = "P* ~ n_c m^L (the deep CNN's scaling) within a factor 2"
    shown = ", ".join(f"[{lo / pm:.2g}, {hi / pm:.2g}]" for (lo, hi), pm in zip(bounds, p_maxes))
    passed = claim_spread <= ORDER**2 and (alt_spread > ORDER**2 or not discriminating)
    figure = (f"P*/P_max intervals {shown} (spread x{claim_spread:.2f}; claim: <= x{ORDER**2:g}); P*/(n_c m^L) spread "
              f"x{alt_spread:.2f} (alternative rejected if > x{ORDER**2:g}); P_max/(n_c m^L) spans x{ratio_span:.0f} over "
              f"{len(grammars)} grammars")
    return require_trained(Check("one-hidden-layer FCN needs P ~ P_max", passed, figure,
                                 alternatives=(alternative,) if discriminating else (),
                                 kind="discriminating" if discriminating else "smoke", measured=claim_spread), converged)


# ----- (e) synonymic sensitivity drops at P* ------------------------------------------------------
def drop_ratio(P_values, normalised, sensitivity, idx, fraction: float = PSTAR_FRACTION) -> float:
    """P where the seed-mean ``sensitivity`` (n_seeds, n_P) halves from its value at the smallest P,
    over P* (the seed-mean ``normalised`` error crossing ``fraction``), for the seeds ``idx``; NaN when
    either crossing is not inside the grid."""
    pstar, status = first_crossing(P_values, normalised[idx].mean(axis=0), fraction)
    curve = sensitivity[idx].mean(axis=0)
    half, half_status = first_crossing(P_values, curve / curve[0], HALF)
    return half / pstar if status == half_status == "ok" else math.nan


def sensitivity_drop_check(settings, curves, sensitivities, *, n_boot: int = 1000, seed) -> Check:
    """S_{k,l} (k > l) halves at a P within a factor ORDER of P*, and S_{k,l} (k <= l) never halves.

    ``settings``: (v, n_c, m, L) per setting; ``curves``: (P_values, errors (n_seeds, n_P));
    ``sensitivities``: (n_seeds, n_P, L, L) per setting, [..., k-1, l-1] = S_{k,l}. For each k > l:
    the 95% bootstrap interval (seeds) of P_half / P* must lie inside [1/ORDER, ORDER] (alternatives:
    the drop comes earlier or later, or never). For each k <= l: the seed-mean S_{k,l} stays >= HALF x
    its value at the smallest P at every P (alternative: every layer becomes invariant to every
    exchange). Discriminating iff >= 3 settings and >= MIN_SEEDS seeds; a smoke check asks the point
    estimate of P_half / P* (not its interval) to lie in [1/ORDER, ORDER].
    """
    rng = as_generator(seed)
    discriminating = len(settings) >= 3 and min(np.atleast_2d(e).shape[0] for _, e in curves) >= MIN_SEEDS
    worst, failures, count = 0.0, [], 0
    for (v, n_c, m, L), (P_values, errors), S in zip(settings, curves, sensitivities):
        P_values, normalised, S = np.asarray(P_values, float), _normalised(errors, n_c), np.asarray(S, dtype=float)
        n = normalised.shape[0]
        for k in range(L):
            for l in range(L):
                if k > l:
                    count += 1
                    ratio = drop_ratio(P_values, normalised, S[:, :, k, l], np.arange(n))
                    boot = [drop_ratio(P_values, normalised, S[:, :, k, l], rng.integers(0, n, n)) for _ in range(n_boot)]
                    low, high = math.nan, math.nan
                    if ratio > 0 and not np.isnan(boot).any():
                        low, high = np.exp(widen(math.log(ratio), *np.log(np.quantile(boot, [0.025, 0.975])), n))
                    if not discriminating:
                        low, high = ratio, ratio
                    if not (1 / ORDER <= low and high <= ORDER):
                        failures.append(f"{(v, n_c, m, L)} S_{k + 1},{l + 1}: P_half/P* = {ratio:.2f} [{low:.2f}, {high:.2f}]")
                    worst = max(worst, abs(math.log2(ratio)) if ratio > 0 else math.inf)
                else:
                    curve = S[:, :, k, l].mean(axis=0)
                    lowest = float((curve / curve[0]).min())
                    if not lowest >= HALF:
                        failures.append(f"{(v, n_c, m, L)} S_{k + 1},{l + 1} (k <= l) falls to {lowest:.2f} of its start")
    figure = (f"{count} pairs k > l in {len(settings)} settings: worst |log2(P_half/P*)| = {worst:.2f} (pass: every 95% "
              f"interval of P_half/P* inside [1/{ORDER:g}, {ORDER:g}]; k <= l: S >= {HALF} x its value at the smallest P)")
    if failures:
        figure += "; failing: " + "; ".join(failures[:4]) + (f" (+{len(failures) - 4} more)" if len(failures) > 4 else "")
    alternatives = ("the drop comes before P*/2", "the drop comes after 2 P* or never",
                    "every layer becomes invariant to every exchange (k <= l drops too)")
    return Check("S_{k,l} (k > l) halves at P ~ P*, S_{k,l} (k <= l) stays", not failures and count > 0, figure,
                 alternatives=alternatives if discriminating else (), kind="discriminating" if discriminating else "smoke",
                 measured=worst)


# ----- (g) uncorrelated RHM control ---------------------------------------------------------------
def uncorrelated_control_check(params, P_values, uncorrelated, correlated, converged, *, n_boot: int = 1000, seed) -> Check:
    """The deep CNN trained to interpolation on the uncorrelated RHM stays near chance at every P while its
    correlated twin (same parameters, same P, same training) is learned.

    ``params``: (v, n_c, m, L); ``uncorrelated``, ``correlated``: test errors (n_seeds, n_P) on
    ``P_values``; ``converged``: (n_seeds, n_P) bools for the uncorrelated runs (training loss reached).
    Passes iff every uncorrelated run interpolated, the lower 95% bootstrap bound of the seed-mean
    uncorrelated error is >= NEAR_CHANCE x chance at every P, and the correlated twin's upper bound at the
    largest P is below the P* threshold. Discriminating iff max P >= 32 n_c m^L and >= MIN_SEEDS seeds;
    a smoke check applies the same bounds to the seed means.
    """
    v, n_c, m, L = params
    scale = n_c * m**L
    rng = as_generator(seed)
    un, co = _normalised(uncorrelated, n_c), _normalised(correlated, n_c)
    converged = np.asarray(converged, dtype=bool)

    discriminating = max(P_values) >= 32 * scale and un.shape[0] >= MIN_SEEDS

    def bounds(values, column):  # a smoke check uses the seed mean itself
        n, mean = values.shape[0], values[:, column].mean()
        if not discriminating:
            return mean, mean
        boot = [values[rng.integers(0, n, n), column].mean() for _ in range(check_int("n_boot", n_boot))]
        return widen(mean, *np.quantile(boot, [0.025, 0.975]), n)

    lowest = min(bounds(un, j)[0] for j in range(un.shape[1]))
    twin_high = bounds(co, -1)[1]  # upper bound (or mean) of the twin's error at the largest P
    under = int((~converged).sum())
    passed = under == 0 and lowest >= NEAR_CHANCE and twin_high < PSTAR_FRACTION
    bound = "95% lower bound" if discriminating else "seed mean"
    figure = (f"uncorrelated error / chance >= {lowest:.3f} ({bound}, worst P; pass >= {NEAR_CHANCE}) at P/(n_c m^L) = "
              f"{', '.join(f'{P / scale:g}' for P in P_values)}; correlated twin at the largest P: error / chance <= "
              f"{twin_high:.3f} (pass < {PSTAR_FRACTION}); under-trained uncorrelated runs: {under}/{converged.size}")
    alternatives = ("the uncorrelated RHM is learned by P = 32 n_c m^L (error below 0.8 chance)",
                    "the network did not fit its training set (no interpolation)",
                    "the protocol learns nothing at these P (the correlated twin is not learned either)")
    return Check(f"deep CNN on the uncorrelated RHM {tuple(params)} stays near chance", passed, figure,
                 alternatives=alternatives if discriminating else (), kind="discriminating" if discriminating else "smoke",
                 measured=lowest)
