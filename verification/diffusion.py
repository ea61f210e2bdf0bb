"""Generative side: BP marginals and posterior samples vs brute force, and the phase transition of the
forward-backward experiment (arXiv:2402.16991): class retention drops ever more sharply as L grows,
at the critical noise of density evolution, while token retention stays smooth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rhm_theory import Grammar, bp
from rhm_theory.report.checks import Check, Section, section_main
from rhm_theory.report.figures import legend_outside, new_figure, save_figure
from rhm_theory.theory import denoising_theory, density_evolution, noise as channels
from rhm_theory.theory.diffusion import noise_at
from rhm_theory.theory.grammaticality import level_symbols

# Tiny grammars (v, n_c, m, s, L) for the brute-force comparisons (s = 2 and 3).
BRUTE_FORCE = [(3, 2, 2, 2, 3), (2, 2, 2, 3, 2), (4, 3, 2, 2, 2)]
# The transition experiment: (v, n_c, m, s) and the channel.
TRANSITION = (16, 16, 4, 2)
CHANNEL = "uniform"
QUICK = {"L": (2, 4, 6, 8, 10), "P": 200, "noise": np.linspace(0.1, 0.6, 11), "bootstrap": 300}
FULL = {"L": (2, 4, 6, 8, 10, 12), "P": 400, "noise": np.linspace(0.05, 0.65, 25), "bootstrap": 1000}
FIGURE = "diffusion_transition.png"
LOCATION_TOLERANCE = 0.05  # |midpoint noise at the largest L - density-evolution eps*| allowed


def brute_force_marginals(grammar: Grammar, likelihoods: np.ndarray) -> list[np.ndarray]:
    """Marginals of every level by summing the weight of every datum of the enumeration."""
    x, _ = grammar.enumerate()
    weights = np.prod(likelihoods[:, np.arange(grammar.d)[None, :], x], axis=2)
    weights /= weights.sum(axis=1, keepdims=True)
    levels = level_symbols(grammar, x)
    return [
        np.einsum("qp,pns->qns", weights, np.eye(grammar.n_c if i == grammar.L else grammar.v)[level])
        for i, level in enumerate(levels)
    ]


def upward_only_marginals(grammar: Grammar, likelihoods: np.ndarray) -> np.ndarray:
    """The alternative that a downward pass is not needed: token 'marginals' = normalised likelihoods."""
    return likelihoods / likelihoods.sum(axis=-1, keepdims=True)


def brute_force_checks(seed: int) -> list[Check]:
    rng = np.random.default_rng(seed)
    worst = worst_alternative = 0.0
    for i, params in enumerate(BRUTE_FORCE):
        grammar = Grammar.random(*params, seed=seed + i)
        likelihoods = rng.random((10, grammar.d, grammar.v)) ** 2 + 1e-3
        likelihoods[rng.random((10, grammar.d)) < 0.3] = 1.0  # masked tokens
        expected = brute_force_marginals(grammar, likelihoods)
        got = bp.node_marginals(grammar, likelihoods)
        worst = max(worst, max(float(np.abs(g - e).max()) for g, e in zip(got, expected)))
        worst_alternative = max(
            worst_alternative, float(np.abs(upward_only_marginals(grammar, likelihoods) - expected[0]).max())
        )
    checks = [
        Check(
            "BP marginals of every node = brute force over the enumeration (noisy and masked inputs, s = 2, 3)",
            worst <= 1e-10 and worst_alternative > 1e-3,
            f"max |BP - brute force| = {worst:.1e}; upward-only alternative off by {worst_alternative:.2f}",
            alternatives=("marginals without the downward pass (normalised likelihoods)",),
            kind="discriminating",
            measured=worst,
        )
    ]
    from scipy.stats import chisquare

    from rhm_theory.core.sampling import data_to_indices

    grammar = Grammar.random(3, 2, 2, 2, 2, seed=seed)
    tokens, _ = bp.sample_posterior(grammar, np.ones((300 * grammar.p_max, grammar.d, grammar.v)), seed=seed)
    p_value = float(chisquare(np.bincount(data_to_indices(grammar, tokens), minlength=grammar.p_max)).pvalue)
    x, y = grammar.enumerate()
    same = all(np.array_equal(a, b) for a, b in zip(bp.sample_posterior(grammar, x, seed=seed), (x, y)))
    checks.append(
        Check(
            "posterior samples: uniform over the data without evidence (chi-square p > 1e-3), the datum itself with clean evidence",
            p_value > 1e-3 and same,
            f"p = {p_value:.3f}; clean evidence returns the datum: {same}",
            measured=p_value,
        )
    )
    return checks


def retention_curves(L: int, config: dict, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-datum class and token retention and the number of tokens changed by one posterior sample,
    arrays (n_noise, P) each, at depth L."""
    v, n_c, m, s = TRANSITION
    grammar = Grammar.random(v, n_c, m, s, L, seed=seed + L)
    rng = np.random.default_rng(seed + 100 + L)
    x, y = grammar.sample(config["P"], seed=rng, replace=True)
    classes, tokens, changed = [], [], []
    for level in config["noise"]:
        observed = channels.corrupt(x, level, v=v, channel=CHANNEL, seed=rng)
        likelihoods = channels.likelihoods(observed, level, v=v, channel=CHANNEL)
        marginals = bp.node_marginals(grammar, likelihoods)
        classes.append(marginals[-1][np.arange(y.size), 0, y])
        tokens.append(np.take_along_axis(marginals[0], x[..., None], axis=-1)[..., 0].mean(axis=1))
        changed.append((bp.sample_posterior(grammar, likelihoods, seed=rng)[0] != x).sum(axis=1))
    return np.array(classes), np.array(tokens), np.array(changed, dtype=float)


def max_slope(noise: np.ndarray, curve: np.ndarray) -> float:
    """Largest |d curve / d noise| over the grid (finite differences)."""
    return float(np.max(np.abs(np.diff(curve) / np.diff(noise))))


def _bootstrap(curves: dict, statistic, n_bootstrap: int, seed: int) -> tuple[float, float, float]:
    """statistic({L: mean curve}) and its 95 % percentile interval, resampling the data of every L."""
    rng = np.random.default_rng(seed)
    value = statistic({L: c.mean(axis=1) for L, c in curves.items()})
    draws = []
    for _ in range(n_bootstrap):
        draws.append(
            statistic({L: c[:, rng.integers(0, c.shape[1], c.shape[1])].mean(axis=1) for L, c in curves.items()})
        )
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return value, float(low), float(high)


def slope_growth_check(noise, class_curves: dict, token_curves: dict, n_bootstrap: int, seed: int) -> list[Check]:
    """Class curves sharpen (max-slope ratio of largest to smallest L, 95 % interval above 1), token
    curves do not (interval at most 1.25 and below the class interval). Curves: {L: (n_noise, P)}."""
    L_min, L_max = min(class_curves), max(class_curves)

    def ratio(means):
        return max_slope(noise, means[L_max]) / max_slope(noise, means[L_min])

    class_ratio, class_low, class_high = _bootstrap(class_curves, ratio, n_bootstrap, seed)
    token_ratio, token_low, token_high = _bootstrap(token_curves, ratio, n_bootstrap, seed)
    sharpens = Check(
        f"slope of class retention at the transition grows with L (max slope L={L_max} / L={L_min} > 1)",
        class_low > 1,
        f"ratio {class_ratio:.2f} [95% CI {class_low:.2f}, {class_high:.2f}]",
        alternatives=("smooth crossover: slope independent of L (ratio 1)",),
        kind="discriminating",
        measured=class_ratio,
        source="arXiv:2402.16991 (a phase transition in the class at large L)",
        sizes=f"L = {L_min}..{L_max}",
        versus=f"{class_ratio:.3g} [{class_low:.3g}, {class_high:.3g}] vs > 1",
    )
    if class_low <= 1 < class_high:  # the claim (> 1) and the smooth crossover (1) are both inside
        sharpens = sharpens.inconclusive(
            f"the interval [{class_low:.2f}, {class_high:.2f}] contains ratios > 1 and the crossover's 1",
            "more noise replicates or a larger L_max",
        )
    return [
        sharpens,
        Check(
            "token retention stays smooth through the transition (slope ratio <= 1.25, below the class ratio)",
            token_high <= 1.25 and token_high < class_low,
            f"ratio {token_ratio:.2f} [95% CI {token_low:.2f}, {token_high:.2f}]",
            alternatives=("low-level features jump with the class (token slope grows like the class slope)",),
            kind="discriminating",
            measured=token_ratio,
        ),
    ]


def susceptibility_check(
    noise, class_retention: np.ndarray, changed: np.ndarray, d: int, chance: float, n_bootstrap: int, seed: int
) -> Check:
    """Susceptibility Var(tokens changed)/d against noise (arXiv:2410.13770) peaks inside the drop of
    the class retention (between 90 % and 10 % of the way to chance): passes when the peak is at an
    interior grid point in that window and its excess over both ends has a 95 % interval above 0.
    class_retention, changed: (n_noise, P) per datum, at one L."""
    rng = np.random.default_rng(seed)

    def chi(columns):
        return changed[:, columns].var(axis=1) / d

    curve = chi(np.arange(changed.shape[1]))
    peak = int(np.argmax(curve))
    excess = []
    for _ in range(n_bootstrap):
        resampled = chi(rng.integers(0, changed.shape[1], changed.shape[1]))
        excess.append(resampled[peak] - max(resampled[0], resampled[-1]))
    low = float(np.percentile(excess, 2.5))
    mean_class = class_retention.mean(axis=1)
    start = noise_at(noise, mean_class, chance + 0.9 * (1 - chance))
    end = noise_at(noise, mean_class, chance + 0.1 * (1 - chance))
    end = noise[-1] if np.isnan(end) else end
    inside = bool(np.isfinite(start) and start <= noise[peak] <= end)
    return Check(
        "token-change susceptibility peaks inside the drop of the class retention",
        0 < peak < noise.size - 1 and inside and low > 0,
        f"peak {curve[peak]:.2f} at eps = {noise[peak]:.3f}, class drop [{start:.3f}, {end:.3f}]; "
        f"excess over the ends, 95% CI low {low:.3f}",
        alternatives=("no peak: susceptibility monotone in noise", "peak away from the class transition"),
        kind="discriminating",
        measured=float(noise[peak]),
    )


def location_check(
    noise, class_curves: dict, chance: float, predicted: float, mean_field: float | None, n_bootstrap: int, seed: int
) -> Check:
    """Noise where the largest-L class retention crosses the midpoint (1 + chance)/2: passes when its
    interval, widened by LOCATION_TOLERANCE, contains the density-evolution eps* and no alternative."""
    L_max = max(class_curves)
    middle = (1 + chance) / 2
    value, low, high = _bootstrap(
        {L_max: class_curves[L_max]}, lambda means: noise_at(noise, means[L_max], middle), n_bootstrap, seed
    )
    alternatives = [("no transition at finite noise (eps* = 0)", 0.0)]
    if mean_field is not None:
        alternatives.append((f"one-parameter mean field eps* = {mean_field:.3f}", mean_field))
    inside = low - LOCATION_TOLERANCE <= predicted <= high + LOCATION_TOLERANCE
    excluded = all(not (low - LOCATION_TOLERANCE <= a <= high + LOCATION_TOLERANCE) for _, a in alternatives)
    check = Check(
        f"class-retention midpoint at L = {L_max} within {LOCATION_TOLERANCE} of the density-evolution critical noise",
        bool(inside and excluded and np.isfinite(value)),
        f"midpoint {value:.3f} [95% CI {low:.3f}, {high:.3f}]; density evolution eps* = {predicted:.3f}",
        alternatives=tuple(name for name, _ in alternatives),
        kind="discriminating",
        measured=value,
        source="arXiv:2402.16991 (mean field of BP)",
        sizes=f"L = {L_max}",
        versus=f"{value:.3g} [{low:.3g}, {high:.3g}] vs {predicted:.3g} (+- {LOCATION_TOLERANCE})",
    )
    if inside and not excluded:
        return check.inconclusive(
            "the widened interval contains the density-evolution eps* and an alternative",
            "more noise replicates (a narrower interval)",
        )
    return check


def run(out_dir: Path, quick: bool = True) -> Section:
    config = QUICK if quick else FULL
    seed = 0
    checks = brute_force_checks(seed)
    v, n_c, m, s = TRANSITION
    class_curves, token_curves, changed = {}, {}, {}
    for L in config["L"]:
        class_curves[L], token_curves[L], changed[L] = retention_curves(L, config, seed)
    noise = config["noise"]
    predicted = density_evolution.critical_noise(
        v, m, s, channel=CHANNEL, depth=30, population=2000 if quick else 8000, steps=10 if quick else 14, seed=seed
    )
    mean_field = denoising_theory.critical_noise(v, m, s, channel=CHANNEL)
    checks += slope_growth_check(noise, class_curves, token_curves, config["bootstrap"], seed)
    checks.append(location_check(noise, class_curves, 1 / n_c, predicted, mean_field, config["bootstrap"], seed))
    L_max = max(config["L"])
    checks.append(
        susceptibility_check(noise, class_curves[L_max], changed[L_max], s**L_max, 1 / n_c, config["bootstrap"], seed)
    )
    profile = density_evolution.retention_profile(
        v, m, s, max(config["L"]), predicted * 0.8, channel=CHANNEL, population=2000, seed=seed
    )
    save_figure(
        plot(noise, class_curves, token_curves, changed, predicted, mean_field, n_c, config["P"]), out_dir, FIGURE
    )
    text = (
        f"Forward-backward experiment, (v, n_c, m, s) = {TRANSITION}, {CHANNEL} channel, P = {config['P']} data per point; "
        f"retention = posterior weight of the original symbol (exact BP). Density-evolution critical noise {predicted:.3f}, "
        f"one-parameter mean field {mean_field:.3f} (docs/theory-diffusion.md). Density-evolution token-to-class retention at "
        f"0.8 eps*: {', '.join(f'{r:.2f}' for r in profile)}."
    )
    return Section("Generative side: exact BP denoiser and its phase transition", checks, text, [FIGURE])


def plot(noise, class_curves, token_curves, changed, predicted, mean_field, n_c, P):
    """Class and token retention vs noise per depth L (mean over ``P`` data), the steepest slope vs L and
    the susceptibility; curves: L -> (n_noise, P). Returns the Figure."""
    fig, axes = new_figure(1, 4, figsize=(15, 3.6))
    colours = [f"C{i % 10}" for i in range(len(class_curves))]
    slopes = {"class": [], "tokens": []}
    for colour, L in zip(colours, sorted(class_curves)):
        axes[0].plot(noise, class_curves[L].mean(axis=1), "o-", ms=3, color=colour, label=f"$L = {L}$")
        axes[1].plot(noise, token_curves[L].mean(axis=1), "o-", ms=3, color=colour)
        slopes["class"].append(max_slope(noise, class_curves[L].mean(axis=1)))
        slopes["tokens"].append(max_slope(noise, token_curves[L].mean(axis=1)))
    for ax in (axes[0], axes[1], axes[3]):
        ax.axvline(predicted, color="k", ls="--", lw=1, label=f"density evolution $\\epsilon^* = {predicted:.2f}$")
        if mean_field is not None:
            ax.axvline(mean_field, color="grey", ls=":", lw=1, label=f"one-parameter mean field ${mean_field:.2f}$")
        ax.set(xlabel="noise $\\epsilon$ (uniform replacement)")
    axes[0].axhline(1 / n_c, color="r", lw=0.6, label="chance $1/n_c$")
    axes[0].set(title="class retention", ylabel="P(symbol unchanged)", ylim=(0, 1.02))
    axes[1].set(title="token retention", ylim=(0, 1.02))
    Ls = sorted(class_curves)
    axes[2].plot(Ls, slopes["class"], "o-", color="k", label="class")
    axes[2].plot(Ls, slopes["tokens"], "s--", color="0.5", label="tokens")
    axes[2].set(
        title="steepest slope", xlabel="$L$", ylabel="max $|d$ retention $/ d\\epsilon|$", yscale="log", xticks=Ls
    )
    axes[2].legend(fontsize="small", frameon=False)
    for colour, L in zip(colours, sorted(changed)):
        axes[3].plot(noise, changed[L].var(axis=1) / TRANSITION[3] ** L, "o-", ms=3, color=colour)
    axes[3].set(title="susceptibility", ylabel="Var(tokens changed) / $d$")
    legend_outside(axes[3], axes[0])
    fig.suptitle(f"exact BP denoiser, $(v, n_c, m, s) = {TRANSITION}$; mean over {P} data per point", fontsize="medium")
    return fig


if __name__ == "__main__":
    section_main(run, __doc__)
