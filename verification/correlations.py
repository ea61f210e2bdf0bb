"""Symbolic theory (docs/theory.md, 'Rule-ensemble statistics'): sympy closed forms vs exact ensembles vs Monte Carlo, the sampling noise of
empirical correlations crossing the rule-ensemble signal at P_c, and P_c / (n_c m^L) as v grows along
the family where the closed form of the signal is exact.

Where pbar fluctuates (v^2 var_pbar > 0) the closed-form signal sigma_f2 is first order and can be off
either way; there the crossing is predicted from the Monte Carlo rule-ensemble signal and the noise with
pbar's fluctuations to second order (symbolic.noise_f2_pbar), and the first-order curve is the rejected
alternative."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.stats
import sympy as sp

from rhm_theory import Grammar, ensemble, exact, symbolic
from rhm_theory.report.checks import Check, Section, interval_check, section_main
from rhm_theory.report.figures import annotate_empty, legend_outside, new_figure, save_figure
from rhm_theory.theory.stats import first_crossing

# tiny settings (v, n_c, m, s, L) whose every rule draw is enumerated
EXACT_QUICK = [
    (2, 3, 1, 2, 2),
    (2, 3, 1, 2, 3),
    (3, 2, 2, 2, 1),
    (2, 3, 1, 3, 2),
    (2, 2, 2, 2, 2),
    (2, 2, 4, 3, 2),
    (3, 2, 1, 2, 2),
]
EXACT_FULL = [*EXACT_QUICK, (2, 3, 2, 3, 1), (3, 4, 1, 2, 2), (3, 3, 3, 2, 2), (2, 3, 1, 3, 3)]
# larger settings: (v, n_c, m, s, L)
MONTE_CARLO_QUICK = [(8, 8, 4, 2, 3), (16, 16, 4, 2, 3), (8, 8, 8, 2, 4), (8, 4, 4, 2, 2)]
MONTE_CARLO_FULL = [*MONTE_CARLO_QUICK, (32, 32, 8, 2, 2), (8, 8, 2, 2, 2), (16, 8, 16, 2, 3), (4, 4, 2, 3, 2)]
# noise vs signal: a maximal setting (sigma_f2 exact) and one where pbar fluctuates
NOISE_SETTINGS = [(8, 8, 8, 2, 2), (8, 8, 4, 2, 3)]
CROSSING_FACTOR = 1.5  # the measured crossing must be within this factor of the prediction
# (s, L) of the family n_c = v, m = v^(s-1), along which pbar is deterministic and sigma_f2 exact
EXACT_FAMILY = [(2, 2), (2, 3), (2, 4), (3, 2), (3, 3)]
# (n_c, m, s, L) at fixed n_c and m: P_c / (n_c m^L) of the first-order closed form, shown, not checked
FIRST_ORDER_FAMILY = [(8, 4, 2, 3), (8, 8, 2, 2), (8, 2, 2, 4), (8, 3, 3, 2)]
TOKEN_STATISTICS = ("eps", "delta2", "var_pbar")


def last_position(params, tuples: bool) -> int:
    """The last input position (tokens) or patch (tuples): its path differs from position 0."""
    _, _, _, s, L = params
    return s ** (L - 1) - 1 if tuples else s**L - 1


def empirical_correlation_variance(grammar: Grammar, P: int, seed) -> float:
    """Mean over positions, classes and observed tokens of (n_c f_hat - 1)^2 from P i.i.d. samples."""
    x, y = grammar.sample(P, seed=seed, replace=True)
    values = []
    for position in range(grammar.d):
        f_hat = exact.empirical_correlations(x, y, v=grammar.v, n_c=grammar.n_c, position=position)
        values.append(float(((grammar.n_c * f_hat - 1) ** 2).mean()))
    return float(np.mean(values))


def compare(settings: list, n_grammars: int, seed: int, with_exact: bool) -> dict:
    """Closed form vs the brute-force ensemble (``with_exact``) and vs Monte Carlo 99 % intervals.

    Tokens and tuples at the last position/patch. Returns markdown ``rows``, plot ``points``,
    ``equal``/``exact_total`` (rational equality), ``inside``/``mc_total`` (Monte Carlo) and ``notes``
    on sigma_f2 where it is first order (not counted as checks).
    """
    out = {"rows": [], "points": [], "equal": 0, "exact_total": 0, "inside": 0, "mc_total": 0, "notes": []}
    for i, params in enumerate(settings):
        theory = symbolic.evaluate(*params)
        for tuples, suffix in ((False, ""), (True, "_tuple")):
            position = last_position(params, tuples)
            brute = ensemble.exact_ensemble_average(*params, position=position, tuples=tuples) if with_exact else None
            samples = ensemble.monte_carlo_statistics(
                *params, n_grammars, seed=seed + i, position=position, tuples=tuples
            )
            for name in TOKEN_STATISTICS + (() if tuples else ("sigma_f2",)):
                if name not in samples:  # delta2 with a single class
                    continue
                value = theory[name + suffix]
                checked = name != "sigma_f2" or theory["sigma_f2_exact"]
                agrees = []
                if brute is not None and checked:
                    agrees.append(sp.Rational(brute[name]) == value)
                    out["equal"] += agrees[-1]
                    out["exact_total"] += 1
                mean, low, high = ensemble.confidence_interval(samples[name])
                if checked:
                    rounding = 1e-12 * (abs(float(value)) + 1)  # float sums of a statistic constant over rules
                    agrees.append(low - rounding <= float(value) <= high + rounding)
                    out["inside"] += agrees[-1]
                    out["mc_total"] += 1
                    out["points"].append((float(value), mean, low, high))
                else:
                    exact_ratio = f"exact ensemble / closed form = {float(brute[name] / value):.3f}, " if brute else ""
                    out["notes"].append(
                        f"{params}: {exact_ratio}Monte Carlo / closed form = {mean / float(value):.3f} "
                        f"[{low / float(value):.3f}, {high / float(value):.3f}], "
                        f"v^2 var_pbar = {float(params[0] ** 2 * theory['var_pbar']):.3f}"
                    )
                verdict = ("yes" if all(agrees) else "**no**") if checked else "(first order)"
                exact_cell = "—" if brute is None else str(brute[name])
                out["rows"].append(
                    f"| {params} | {name}{suffix} | {value} = {float(value):.4g} | {exact_cell} | "
                    f"{mean:.4g} [{low:.4g}, {high:.4g}] | {verdict} |"
                )
    return out


def allowed_misses(n_intervals: int, miss_rate: float = 0.01, p_value: float = 1e-3) -> int:
    """Most misses of ``n_intervals`` independent 99 % intervals that chance explains: the largest k
    with P(Binomial(n_intervals, miss_rate) >= k) >= p_value."""
    k = 0
    while k < n_intervals and scipy.stats.binom.sf(k, n_intervals, miss_rate) >= p_value:  # P(misses >= k + 1)
        k += 1
    return k


def measure_noise(params, n_grammars: int, n_sizes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Empirical (n_c f_hat - 1)^2 vs P: sizes (n_sizes,), values (n_grammars, n_sizes)."""
    P_c = float(symbolic.quantity("P_c", *params))
    sizes = np.unique(np.geomspace(P_c / 12, P_c * 30, n_sizes).astype(int))
    rng = np.random.default_rng(seed)
    values = np.empty((n_grammars, sizes.size))
    for g in range(n_grammars):
        grammar = Grammar.random(*params, seed=rng)
        values[g] = [empirical_correlation_variance(grammar, int(P), rng) for P in sizes]
    return sizes, values


def curve_misfit(mean, error, predicted, slack: float) -> np.ndarray:
    """|measured - predicted| / tolerance per size, tolerance = 3 s.e. + 5 % of the prediction + ``slack``
    (the uncertainty of a Monte Carlo signal); <= 1 everywhere means the prediction fits."""
    return np.abs(mean - predicted) / (3 * error + 0.05 * predicted + slack)


def noise_curve_check(
    name: str, mean, error, predicted, first_order, slack: float, *, discriminate: bool, n_grammars: int
) -> Check:
    """The measured curve (mean, s.e.) against the claimed and the first-order predictions at the same
    sizes: passes if the claim fits everywhere (:func:`curve_misfit` <= 1) and, when ``discriminate``,
    the first-order curve misses somewhere (> 1); otherwise a smoke check of the claim alone."""
    misfit = curve_misfit(mean, error, predicted, slack)
    rejected = curve_misfit(mean, error, first_order, slack)
    fits = bool((misfit <= 1).all())
    return Check(
        name,
        fits and (bool((rejected > 1).any()) or not discriminate),
        f"worst |diff| / tolerance = {misfit.max():.2f}; first-order curve: worst {rejected.max():.2f} over {len(mean)} sizes"
        + ("" if discriminate else f" (not required to exceed 1 with {n_grammars} grammars)"),
        alternatives=("first order: sigma_f2 + noise_f2(P)",) if discriminate else (),
        kind="discriminating" if discriminate else "smoke",
        measured=float(misfit.max()),
    )


def check_noise(params, n_grammars: int, n_sizes: int, n_monte_carlo: int, seed: int, discriminate: bool):
    """Measured <(n_c f_hat - 1)^2> vs P against S + noise_f2_pbar(P), and its crossing of 2 S.

    S = sigma_f2 where that is exact, else the Monte Carlo rule-ensemble mean (``n_monte_carlo``
    grammars, 99 % CI half-width added to the curve tolerance). Where pbar fluctuates, the curve check
    is discriminating (it must also reject the first-order curve) only if ``discriminate``: a few
    grammars leave the grammar-to-grammar spread of the signal too wide to tell the two apart.
    Returns (checks, plot curve, table row).
    """
    v, n_c, m, _s, L = params
    theory = symbolic.evaluate(*params)
    is_exact, sigma, P_c = theory["sigma_f2_exact"], float(theory["sigma_f2"]), float(theory["P_c"])
    sizes, values = measure_noise(params, n_grammars, n_sizes, seed)
    mean = values.mean(axis=0)
    error = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
    if is_exact:
        signal, half_width = sigma, 0.0
    else:
        samples = ensemble.monte_carlo_statistics(
            *params, n_monte_carlo, seed=seed + 1000, position=last_position(params, False)
        )
        signal, low, high = ensemble.confidence_interval(samples["sigma_f2"])
        half_width = (high - low) / 2
    noise_times_P = float(
        symbolic.noise_f2_pbar(symbolic.P, *params) * symbolic.P
    )  # noise_f2_pbar(P) = noise_times_P / P
    predicted = signal + noise_times_P / sizes
    first_order = sigma + float(theory["noise_f2"] * symbolic.P) / sizes
    far = sizes >= P_c / 4  # where the 1/P^2 corrections to the noise are below ~5 %
    signal_name = "sigma_f2" if is_exact else "S (Monte Carlo rule ensemble)"
    if is_exact:
        misfit = curve_misfit(mean, error, predicted, half_width)[far]
        checks = [
            Check(
                f"{params}: empirical <(n_c f_hat - 1)^2> = sigma_f2 + noise_f2(P) for P >= P_c/4 "
                "(within 3 s.e. + 5 %)",
                bool((misfit <= 1).all()),
                f"worst |diff| / tolerance = {misfit.max():.2f} over {int(far.sum())} sizes",
                measured=float(misfit.max()),
            )
        ]
    else:
        checks = [
            noise_curve_check(
                f"{params} (v^2 var_pbar = {float(v**2 * theory['var_pbar']):.3f}): empirical <(n_c f_hat - 1)^2> = "
                f"{signal_name} + noise_f2_pbar(P) for P >= P_c/4 (within 3 s.e. + 5 % + the Monte Carlo CI)",
                mean[far],
                error[far],
                predicted[far],
                first_order[far],
                half_width,
                discriminate=discriminate,
                n_grammars=n_grammars,
            )
        ]
    P_predicted = noise_times_P / signal
    P_cross, status = first_crossing(sizes, mean, 2 * signal, log_errors=True)
    P_cross = P_cross if status == "ok" else float("nan")
    checks.append(
        interval_check(
            f"{params}: measured crossing of 2 x {signal_name} (noise = signal) within a factor {CROSSING_FACTOR} of the predicted "
            "crossing noise_f2_pbar(P) = signal",
            P_cross,
            P_cross / CROSSING_FACTOR,
            P_cross * CROSSING_FACTOR,
            claim=P_predicted,
            alternatives={
                f"P ~ sqrt(n_c) m^L = {np.sqrt(n_c) * m**L:.0f}": float(np.sqrt(n_c) * m**L),
                f"P ~ m^L = {m**L}": float(m**L),
            },
            detail=f"predicted {P_predicted:.0f}, first-order P_c = {P_c:.0f}",
            source="arXiv:2307.02129, Eq. 10, Appendix C",
            sizes=f"(v, n_c, m, s, L) = {params}",
        )
    )
    curve = (params, sizes, mean, error, predicted, signal, P_predicted, is_exact, None if is_exact else first_order)
    row = f"| {params} | {is_exact} | {sigma:.4g} | {signal:.4g} | {P_c:.0f} | {P_predicted:.0f} | {P_cross:.0f} |"
    return checks, curve, row


def family_limit_expression(s: int, L: int, fixed):
    """P_c / (n_c m^L) as a sympy function of v: along n_c = v, m = v^(s-1) (``fixed`` None) or at
    fixed (n_c, m)."""
    v = symbolic.PARAMETERS[0]
    n_c, m = (v, v ** (s - 1)) if fixed is None else fixed
    return symbolic.quantity("P_c_over_nc_mL", v, n_c, m, s, L)


def exact_family_limit(s: int, L: int) -> tuple:
    """(var_pbar simplified, lim_{v -> oo} P_c / (n_c m^L)) along n_c = v, m = v^(s-1)."""
    v = symbolic.PARAMETERS[0]
    var_pbar = sp.simplify(symbolic.quantity("var_pbar", v, v, v ** (s - 1), s, L))
    return var_pbar, sp.limit(family_limit_expression(s, L, None), v, sp.oo)


def limit_check(limits: dict) -> Check:
    """Decide lim P_c / (n_c m^L) = 1 from {(s, L): (var_pbar, limit)} along the exact family: every
    var_pbar must vanish (else the closed form is not exact there) and every limit equal 1."""
    return Check(
        "sympy: P_c / (n_c m^L) -> 1 as v -> oo along n_c = v, m = v^(s-1) (pbar deterministic: the closed form is exact)",
        all(var_pbar == 0 and limit == 1 for var_pbar, limit in limits.values()),
        "; ".join(f"(s, L) = {key}: var_pbar = {var_pbar}, limit {limit}" for key, (var_pbar, limit) in limits.items()),
        alternatives=(
            "limit 0 (P_c grows slower than n_c m^L, e.g. sqrt(n_c) m^L or m^L)",
            "limit oo (P_c grows faster than n_c m^L, e.g. v n_c m^L)",
        ),
        kind="discriminating",
        measured=float(max(abs(limit - 1) for _, limit in limits.values())),
    )


def family_curve(s: int, L: int, fixed) -> tuple[np.ndarray, list[float]]:
    """(v values, P_c / (n_c m^L)) from the smallest feasible v to 10^4."""
    n_c, m = fixed if fixed is not None else (1, 1)
    smallest = next(v for v in range(2, 10**4) if n_c * m <= v**s and m <= v ** (s - 1))
    sizes = np.unique(np.geomspace(smallest, 10**4, 25).astype(int))
    expression = family_limit_expression(s, L, fixed)
    function = sp.lambdify(symbolic.PARAMETERS[0], expression, "math")
    return sizes, [float(function(int(v))) for v in sizes]


def run(out_dir: Path, quick: bool = True) -> Section:
    out_dir = Path(out_dir)
    checks, notes = [], []
    table = [
        "| setting (v, n_c, m, s, L) | quantity | closed form | exact ensemble | Monte Carlo mean [99 % CI] | agrees |",
        "|---|---|---|---|---|---|",
    ]

    n_grammars = 600 if quick else 4000
    tiny = compare(EXACT_QUICK if quick else EXACT_FULL, n_grammars, seed=11, with_exact=True)
    large = compare(MONTE_CARLO_QUICK if quick else MONTE_CARLO_FULL, n_grammars, seed=31, with_exact=False)
    table += tiny["rows"] + large["rows"]
    checks.append(
        Check(
            "closed forms = brute-force ensemble over every rule draw (rational equality)",
            tiny["equal"] == tiny["exact_total"],
            f"{tiny['equal']}/{tiny['exact_total']} equal",
        )
    )
    inside, total = tiny["inside"] + large["inside"], tiny["mc_total"] + large["mc_total"]
    allowed = allowed_misses(total)
    checks.append(
        Check(
            "closed forms inside the Monte Carlo 99 % intervals (misses within chance, binomial p >= 1e-3)",
            total - inside <= allowed,
            f"{inside}/{total} inside (allowed misses: {allowed})",
        )
    )
    notes += tiny["notes"] + large["notes"]
    points = tiny["points"] + large["points"]

    noise_rows, curves = [], []
    for i, params in enumerate(NOISE_SETTINGS):
        noise_checks, curve, row = check_noise(
            params,
            n_grammars=8 if quick else 100,
            n_sizes=8 if quick else 14,
            n_monte_carlo=n_grammars,
            seed=20 + i,
            discriminate=not quick,
        )
        checks += noise_checks
        curves.append(curve)
        noise_rows.append(row)

    checks.append(limit_check({(s, L): exact_family_limit(s, L) for s, L in EXACT_FAMILY}))
    curves_v = [
        (f"$n_c = v$, $m = {'v' if s == 2 else f'v^{s - 1}'}$, $s = {s}$, $L = {L}$ (exact)", *family_curve(s, L, None))
        for s, L in EXACT_FAMILY
    ]
    curves_v += [
        (f"$n_c = {n_c}$, $m = {m}$, $s = {s}$, $L = {L}$ (first order)", *family_curve(s, L, (n_c, m)))
        for n_c, m, s, L in FIRST_ORDER_FAMILY
    ]
    relative = [
        f"(n_c, m, s, L) = {(n_c, m, s, L)}: v^2 var_pbar = "
        + ", ".join(f"{float(v**2 * symbolic.var_pbar(v, n_c, m, s, L)):.3g} at v = {v}" for v in (8, 64, 1024))
        for n_c, m, s, L in FIRST_ORDER_FAMILY
    ]

    figures = [
        save_figure(plot_monte_carlo(points, n_grammars), out_dir, "correlations_monte_carlo.png"),
        save_figure(plot_noise(curves), out_dir, "correlations_noise_crossing.png"),
        save_figure(plot_asymptotics(curves_v), out_dir, "correlations_P_c_asymptotics.png"),
    ]
    markdown = "\n".join(
        table
        + [
            "",
            "Noise vs signal (P i.i.d. samples, all positions). Signal S: sigma_f2 where it is exact, else the Monte Carlo "
            "rule-ensemble mean of (n_c f - 1)^2 (99 % CI); noise: noise_f2_pbar (= noise_f2 where pbar is "
            "deterministic); predicted crossing: noise_f2_pbar(P) = S; P_cross: where the measured value is 2 S.",
            "",
            "| setting | sigma_f2 exact | sigma_f2 (first order) | S | P_c (first order) | predicted crossing | P_cross measured |",
            "|---|---|---|---|---|---|---|",
        ]
        + noise_rows
        + [
            "",
            "P_c / (n_c m^L) at fixed n_c and m (dashed in the figure) is a property of the first-order closed form: "
            "the relative fluctuation of pbar grows with v, so it is not checked:",
            "",
        ]
        + [f"- {line}" for line in relative]
        + [
            "",
            "Where pbar fluctuates, sigma_f2 is the first-order (delta-method) value; the exact ensemble and "
            "Monte Carlo values of E[(n_c f - 1)^2] against it (v^2 var_pbar: the relative variance of pbar):",
            "",
        ]
        + [f"- {note}" for note in notes]
    )
    return Section(
        "Symbolic theory: exact ensemble averages and the correlation crossing P_c", checks, markdown, figures
    )


def plot_monte_carlo(points: list, n_grammars: int):
    """Closed forms against Monte Carlo rule-ensemble means (bars: 99 % CI over ``n_grammars`` rule draws):
    identity on log axes (left) and the ratio Monte Carlo / closed form (right). ``points``: (closed
    form, mean, low, high) per statistic and setting; exact zeros are left out (log axes). Returns the Figure."""
    fig, axes = new_figure(1, 2, figsize=(9, 3.8))
    values = np.array(points, dtype=float).reshape(-1, 4)
    zeros = int((values[:, 0] <= 0).sum())
    values = values[values[:, 0] > 0]  # var_pbar of maximal grammars is exactly 0
    if not values.size:
        for ax in axes:
            annotate_empty(ax, "no nonzero closed form")
        return fig
    closed, mean, low, high = values.T
    axes[0].errorbar(closed, mean, yerr=[mean - low, high - mean], fmt="o", ms=3, lw=0.8)
    limits = [values[:, :2].min() / 2, values[:, :2].max() * 2]
    axes[0].plot(limits, limits, "k-", lw=0.6, label="equality")
    axes[0].set(xscale="log", yscale="log", xlabel="closed form (sympy)", ylabel="Monte Carlo mean (99 % CI)")
    axes[1].errorbar(closed, mean / closed, yerr=[(mean - low) / closed, (high - mean) / closed], fmt="o", ms=3, lw=0.8)
    axes[1].axhline(1.0, color="k", lw=0.6)
    axes[1].set(xscale="log", xlabel="closed form (sympy)", ylabel="Monte Carlo / closed form")
    fig.suptitle(
        f"$\\epsilon$, $\\delta^2$, var $\\bar p$ (tokens and tuples) and exact $\\sigma_f^2$, {len(closed)} values; "
        f"bars: 99 % CI over {n_grammars} rule draws" + (f"\n({zeros} exact zeros not shown)" if zeros else ""),
        fontsize="medium",
    )
    return fig


def plot_noise(curves: list):
    """One panel per setting: measured <(n_c f_hat - 1)^2> (bars: standard error over grammars) vs P with
    the predicted signal + noise, the signal alone, the noise alone and the predicted crossing. ``curves``:
    check_noise's plot curves. Returns the Figure."""
    fig, axes = new_figure(1, len(curves), figsize=(4.6 * len(curves), 4.6), squeeze=False)
    for ax, (params, sizes, mean, error, predicted, signal, P_pred, is_exact, first_order) in zip(axes[0], curves):
        ax.errorbar(sizes, mean, yerr=error, fmt="o", ms=4, label="measured (bars: s.e. over grammars)")
        ax.plot(sizes, predicted, "k-", label=("$\\sigma_f^2$" if is_exact else "$S$ (Monte Carlo)") + " + noise")
        if first_order is not None:
            ax.plot(sizes, first_order, "C1--", label="first order: $\\sigma_f^2$ + noise")
        ax.plot(sizes, predicted - signal, "k:", label="noise alone")
        ax.axhline(
            signal,
            color="C2",
            ls="--",
            label="signal " + ("$\\sigma_f^2$ (exact)" if is_exact else "$S$ (Monte Carlo)"),
        )
        ax.axvline(P_pred, color="C3", lw=0.8, label=f"predicted crossing $P = {P_pred:.0f}$")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="$P$",
            ylabel="$\\langle (n_c \\hat f - 1)^2 \\rangle$",
            title=f"$(v, n_c, m, s, L) = {params}$",
        )
        legend_outside(ax, below=True, ncols=1)
    return fig


def plot_asymptotics(curves: list):
    """Closed-form P_c / (n_c m^L) against v: solid along the family where the closed form is exact,
    dashed at fixed n_c, m (first order). ``curves``: (label, v values, ratios). Returns the Figure."""
    fig, ax = new_figure(figsize=(7.5, 3.8))
    for i, (label, sizes, ratios) in enumerate(curves):
        ax.plot(sizes, ratios, "-" if "exact" in label else "--", color=f"C{i % 10}", label=label)
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set(xscale="log", yscale="log", xlabel="$v$", ylabel="closed-form $P_c\\,/\\,(n_c m^L)$")
    ax.set_title("exact family (solid) and first order at fixed $n_c$, $m$ (dashed)", fontsize="medium")
    legend_outside(ax)
    return fig


if __name__ == "__main__":
    section_main(run, __doc__)
