"""Foundation checks: exact statistics vs enumeration, BP vs brute force, uniform sampling (chi-square)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.stats

from rhm_theory import Grammar, bp, exact
from rhm_theory.core.sampling import data_to_indices
from rhm_theory.report.checks import Check, Section, section_main
from rhm_theory.report.figures import new_figure, save_figure

# (v, n_c, m, s, L) small enough to enumerate
SETTINGS_QUICK = [(3, 2, 2, 2, 2), (4, 3, 2, 2, 3), (2, 2, 2, 3, 2), (3, 3, 3, 2, 1), (3, 2, 3, 2, 3)]
SETTINGS_FULL = [*SETTINGS_QUICK, (4, 4, 3, 2, 3), (3, 3, 2, 3, 2), (5, 3, 2, 2, 3)]


def enumeration_frequencies(x: np.ndarray, y: np.ndarray, n_c: int, v: int, position: int) -> np.ndarray:
    """P(x_position = mu | class) as Fractions, counted over the full enumeration."""
    out = np.empty((n_c, v), dtype=object)
    for alpha in range(n_c):
        column = x[y == alpha, position]
        counts = np.bincount(column, minlength=v)
        out[alpha] = [Fraction(int(c), column.size) for c in counts]
    return out


def brute_force_posterior(x: np.ndarray, y: np.ndarray, n_c: int, likelihoods: np.ndarray) -> np.ndarray:
    """P(class | observation) by summing the likelihood of every datum of the grammar."""
    weights = np.prod(likelihoods[:, np.arange(x.shape[1])[None, :], x], axis=2)  # (Q, p_max)
    joint = np.stack([weights[:, y == alpha].sum(axis=1) for alpha in range(n_c)], axis=1)
    return joint / joint.sum(axis=1, keepdims=True)


def run(out_dir: Path, quick: bool = True) -> Section:
    settings = SETTINGS_QUICK if quick else SETTINGS_FULL
    checks = []
    mismatches = total = 0
    worst_bp = 0.0
    clean_ok = True
    for i, params in enumerate(settings):
        grammar = Grammar.random(*params, seed=100 + i)
        x, y = grammar.enumerate()
        for position in range(grammar.d):
            total += 1
            mismatches += not np.array_equal(
                exact.class_token_probs(grammar, position, exact=True),
                enumeration_frequencies(x, y, grammar.n_c, grammar.v, position),
            )
        rng = np.random.default_rng(200 + i)
        noisy = rng.random((20, grammar.d, grammar.v)) ** 3
        worst_bp = max(
            worst_bp,
            float(np.abs(bp.posterior(grammar, noisy) - brute_force_posterior(x, y, grammar.n_c, noisy)).max()),
        )
        clean_ok &= bool(np.allclose(bp.posterior(grammar, x)[np.arange(y.size), y], 1.0, rtol=0, atol=1e-12))
    checks.append(
        Check(
            "exact class-token probabilities = enumeration frequencies (rational equality)",
            mismatches == 0,
            f"{total - mismatches}/{total} positions equal over {len(settings)} grammars",
        )
    )
    checks.append(
        Check(
            "BP posterior = brute-force posterior on noisy inputs (<= 1e-10)",
            worst_bp <= 1e-10,
            f"max |diff| = {worst_bp:.2e}",
        )
    )
    checks.append(
        Check("BP puts probability 1 on the true class of every clean datum", clean_ok, "all enumerated data")
    )

    grammar = Grammar.random(3, 3, 2, 2, 2, seed=7)  # p_max = 3 * 2**3 = 24
    draws = 2000 if quick else 20000
    counts_iid = np.bincount(
        data_to_indices(grammar, grammar.sample(draws * grammar.p_max // 4, seed=1, replace=True)[0]),
        minlength=grammar.p_max,
    )
    P = grammar.p_max // 3
    counts_distinct = np.zeros(grammar.p_max, dtype=np.int64)
    rng = np.random.default_rng(2)
    repeated = 0
    for _ in range(draws // 4):
        indices = data_to_indices(grammar, grammar.sample(P, seed=rng)[0])
        repeated += P - np.unique(indices).size
        counts_distinct += np.bincount(indices, minlength=grammar.p_max)
    checks.append(
        Check(
            "sample(replace=False) never repeats a datum",
            repeated == 0,
            f"{repeated} repeats in {draws // 4} draws of {P}",
        )
    )
    for label, counts in (("i.i.d. (replace=True)", counts_iid), ("distinct (replace=False)", counts_distinct)):
        expected = counts.sum() / grammar.p_max
        statistic = float(((counts - expected) ** 2 / expected).sum())
        if label.startswith("distinct"):  # inclusion counts are binomial(R, P/p_max): variance factor 1 - P/p_max
            statistic /= 1 - P / grammar.p_max
        p_value = float(scipy.stats.chi2.sf(statistic, grammar.p_max - 1))
        checks.append(
            Check(
                f"sampling is uniform over all data, {label}: chi-square p > 1e-3",
                p_value > 1e-3,
                f"chi2 = {statistic:.1f}, dof = {grammar.p_max - 1}, p = {p_value:.3f}",
            )
        )
    figure = save_figure(
        plot_counts(counts_iid, counts_distinct, P / grammar.p_max), out_dir, "foundation_sampling.png"
    )
    return Section(
        "Foundation: exact statistics, belief propagation, sampling",
        checks,
        "Exact statistics use the rules only; enumeration lists all p_max data.",
        [figure],
    )


def plot_counts(counts_iid: np.ndarray, counts_distinct: np.ndarray, inclusion: float):
    """How often each datum was drawn / the mean, i.i.d. draws and distinct draws (each datum kept with
    probability ``inclusion`` = P / p_max per draw), with the +-2 standard deviation band of a uniform
    sampler (multinomial, binomial); counts: (p_max,). Returns the Figure."""
    fig, axes = new_figure(1, 2, figsize=(7.5, 2.8), sharey=True)
    for ax, counts, title, keep in zip(
        axes,
        (counts_iid, counts_distinct),
        ("i.i.d., replace=True", "distinct, replace=False"),
        (1 / counts_iid.size, inclusion),
    ):
        # relative s.d. of one count: sqrt((1 - q) / mean) with q = 1/p_max (multinomial) or P / p_max (binomial)
        spread = 2 * np.sqrt((1 - keep) / counts.mean())
        ax.bar(np.arange(counts.size), counts / counts.mean(), color="C0", width=0.8)
        ax.axhspan(1 - spread, 1 + spread, color="0.4", alpha=0.3, lw=0, zorder=3)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set(title=f"{title}, {counts.sum()} data drawn", xlabel="datum index", ylim=(0.8, 1.2))
    axes[0].set_ylabel("count / mean count")
    fig.suptitle(
        "how often each datum was drawn; grey band: $\\pm 2$ standard deviations of a uniform sampler",
        fontsize="medium",
    )
    return fig


if __name__ == "__main__":
    section_main(run, __doc__)
