"""Synonym detection from correlations (docs/theory.md, 'Synonyms from correlations'): k-means clustering of tuple correlation vectors and
its sample complexity P_cluster ~ sqrt(n_c) m^L, one gradient step of a two-layer net (synonym
invariance at P ~ n_c m^L), and the layer-wise clustering algorithm against the deep CNN. (The uncorrelated RHM control is in
verification/controls.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from rhm_theory import Grammar
from rhm_theory.synonyms.clustering import (
    centred_correlations,
    cluster_synonyms,
    clustering_error_curve,
    fit_crossing_power_law,
    lowest_level_synonyms,
    population_tuple_probs,
)
from rhm_theory.runs.spec import error_threshold
from rhm_theory.synonyms.layerwise import layerwise_error_curve
from rhm_theory.synonyms.one_step import one_step_curves
from rhm_theory.theory.stats import first_crossing
from rhm_theory.report.checks import Check, Section, section_main
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.training import train

S = 2
CLUSTER_THRESHOLD = 0.5  # P_cluster: clustering error 1 - ARI falls to 0.5
EXPONENT_TOLERANCE = 0.25  # |fitted exponent - 1| allowed for the scaling checks
QUICK = {
    "exact": [(8, 8, 2, 2, 2), (16, 16, 4, 2, 2), (8, 4, 4, 2, 3), (4, 4, 4, 3, 2), (16, 8, 4, 2, 3)],
    # (v, n_c, m, L) for the P_cluster sweep (patch 0); P from 0.3 to 100 times sqrt(n_c) m^L (capped at
    # p_max); n_c = 8 and 32 at each m^L, so that the n_c and m^L exponents can also be fitted apart
    "cluster": [(32, 8, 8, 2), (32, 32, 8, 2), (32, 8, 4, 3), (32, 32, 4, 3), (32, 8, 8, 3), (32, 32, 8, 3)],
    "cluster_seeds": 3,
    "cluster_points": 12,
    # (v, n_c, m, L) for one step; P from 0.01 to 30 times n_c m^L (capped at p_max)
    "one_step": [(16, 16, 8, 2), (16, 8, 4, 3), (16, 32, 4, 3), (16, 16, 16, 2)],
    "one_step_seeds": 2,
    # layer-wise vs CNN on one grammar setting (v, n_c, m, L), P in multiples of n_c m^L
    "layerwise": (4, 4, 4, 3),
    "layerwise_ratios": [0.5, 1, 2, 4, 8, 16],
    "layerwise_seeds": 1,
    "cnn": {"width": 64, "max_epochs": 60},
    "test_size": 2000,
}
FULL = {
    "exact": QUICK["exact"] + [(32, 32, 8, 2, 2), (8, 8, 8, 2, 4), (6, 6, 2, 3, 2)],
    "cluster": QUICK["cluster"] + [(32, 8, 16, 2), (32, 32, 16, 2), (32, 8, 4, 4), (32, 32, 4, 4), (16, 16, 4, 3), (16, 16, 8, 2)],
    "cluster_seeds": 10,
    "cluster_points": 16,
    "one_step": QUICK["one_step"] + [(16, 4, 4, 3), (32, 32, 8, 3)],
    "one_step_seeds": 5,
    "layerwise": (8, 8, 4, 3),
    "layerwise_ratios": [0.25, 0.5, 1, 2, 4, 8, 16],
    "layerwise_seeds": 2,
    "cnn": {"width": 128, "max_epochs": 100},
    "test_size": 4000,
}


def scaled_grid(scale: float, low: float, high: float, n: int, p_max: int) -> np.ndarray:
    """n sizes from low*scale to high*scale, log-spaced, distinct, at least 1 and at most p_max."""
    grid = np.unique(np.round(np.geomspace(low * scale, high * scale, n)).astype(int))
    return grid[(grid >= 1) & (grid <= p_max)]


# ----- 1. clustering ----------------------------------------------------------------------------
def check_exact_clustering(settings) -> Check:
    """Exact population correlations (pooled patches) cluster the synonyms perfectly."""
    perfect, distinct_total = 0, 0
    for seed, params in enumerate(settings):
        grammar = Grammar.random(*params, seed=seed)
        probs = population_tuple_probs(grammar)
        codes, owners = lowest_level_synonyms(grammar)
        vectors = centred_correlations(probs)[codes]
        if len({tuple(np.round(vectors[owners == a][0], 12)) for a in range(grammar.v)}) < grammar.v:
            continue  # two parents share a correlation vector: not separable
        distinct_total += 1
        perfect += cluster_synonyms(grammar, probs, random_state=seed).error == 0.0
    return Check(
        "exact correlations: clustering error 0 on every grammar with distinct synonym vectors",
        distinct_total > 0 and perfect == distinct_total,
        f"{perfect}/{distinct_total} perfect ({len(settings) - distinct_total} grammars with coinciding vectors skipped)",
    )


def clustering_sweeps(config):
    """Per setting: (params, scale sqrt(n_c) m^L, P grid, errors (seeds, n_P))."""
    sweeps = []
    for v, n_c, m, L in config["cluster"]:
        scale = np.sqrt(n_c) * m**L
        grammars = [Grammar.random(v, n_c, m, S, L, seed=1000 + seed) for seed in range(config["cluster_seeds"])]
        grid = scaled_grid(scale, 0.3, 100, config["cluster_points"], grammars[0].p_max)
        errors = np.stack([clustering_error_curve(g, grid, seed, patch=0) for seed, g in enumerate(grammars)])
        sweeps.append(((v, n_c, m, L), scale, grid, errors))
    return sweeps


# ----- 2. one step ------------------------------------------------------------------------------
def one_step_sweeps(config):
    """Per setting: (params, scale n_c m^L, P grid, S (seeds, n_P), rank (seeds, n_P))."""
    sweeps = []
    for v, n_c, m, L in config["one_step"]:
        scale = n_c * m**L
        grammars = [Grammar.random(v, n_c, m, S, L, seed=2000 + seed) for seed in range(config["one_step_seeds"])]
        grid = scaled_grid(scale, 0.01, 30, 14, grammars[0].p_max)
        curves = [one_step_curves(g, grid, seed, width=512) for seed, g in enumerate(grammars)]
        sweeps.append(((v, n_c, m, L), scale, grid, np.stack([c[0] for c in curves]), np.stack([c[1] for c in curves])))
    return sweeps


# ----- 3. layer-wise algorithm vs deep CNN ------------------------------------------------------
def cnn_errors(grammar: Grammar, P_values, test_size: int, seed: int, cnn: dict) -> np.ndarray:
    """Test errors of the deep CNN (paper protocol, capped epochs) trained at each P."""
    errors = []
    for P in P_values:
        train_set, test_set = grammar.sample_train_test(int(P), test_size, seed)
        config = TrainConfig(model="cnn", width=cnn["width"], max_epochs=cnn["max_epochs"], seed=seed)
        errors.append(train(grammar, train_set, test_set, config).test_error)
    return np.array(errors)


def layerwise_vs_cnn(config):
    """Test errors of the layer-wise algorithm and of the deep CNN on the same data: (params, n_c m^L,
    P grid, layer-wise errors (seeds, n_P), CNN errors (seeds, n_P))."""
    v, n_c, m, L = config["layerwise"]
    scale = n_c * m**L
    grid = np.array([int(r * scale) for r in config["layerwise_ratios"]])
    layerwise, cnn = [], []
    for seed in range(config["layerwise_seeds"]):
        grammar = Grammar.random(v, n_c, m, S, L, seed=3000 + seed)
        layerwise.append(layerwise_error_curve(grammar, grid, config["test_size"], seed))
        cnn.append(cnn_errors(grammar, grid, config["test_size"], seed, config["cnn"]))
    return (v, n_c, m, L), scale, grid, np.stack(layerwise), np.stack(cnn)


# ----- report -----------------------------------------------------------------------------------
def run(out_dir: Path, quick: bool = True) -> Section:
    """All checks of this section; every computation is small, so it runs on one thread (the torch
    setting is restored afterwards for the scripts that ``rhm verify`` runs next)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            return run_checks(Path(out_dir), QUICK if quick else FULL, quick)
    finally:
        torch.set_num_threads(threads)


def run_checks(out_dir: Path, config: dict, quick: bool) -> Section:
    checks = [check_exact_clustering(config["exact"])]

    sweeps = clustering_sweeps(config)
    chance = [errors[:, 0].mean() for *_, errors in sweeps]
    checks.append(Check("clustering at the smallest P (0.3 sqrt(n_c) m^L) is near chance (error 1 - ARI >= 0.9)",
                        min(chance) >= 0.9, f"mean errors {np.round(chance, 3).tolist()}"))
    fit = fit_crossing_power_law([(grid, errors) for _, _, grid, errors in sweeps], [sc for _, sc, _, _ in sweeps],
                                 CLUSTER_THRESHOLD, n_boot=1000, seed=0)
    checks.append(Check(
        f"P_cluster ~ (sqrt(n_c) m^L)^a with a = 1 within {EXPONENT_TOLERANCE}",
        abs(fit.exponent - 1) <= EXPONENT_TOLERANCE,
        f"a = {fit.exponent:.3f}, 95% CI [{fit.ci_low[0]:.3f}, {fit.ci_high[0]:.3f}] over {len(sweeps)} settings, prefactor {fit.prefactor:.2f}",
    ))

    steps = one_step_sweeps(config)
    step_fit = fit_crossing_power_law([(grid, s) for _, _, grid, s, _ in steps], [sc for _, sc, _, _, _ in steps],
                                      0.5, n_boot=1000, seed=0)
    checks.append(Check(
        f"one step: first-layer S = 0.5 at P ~ (n_c m^L)^a with a = 1 within {EXPONENT_TOLERANCE}",
        abs(step_fit.exponent - 1) <= EXPONENT_TOLERANCE,
        f"a = {step_fit.exponent:.3f}, 95% CI [{step_fit.ci_low[0]:.3f}, {step_fit.ci_high[0]:.3f}]; "
        f"P(S = 0.5) / (n_c m^L) = {np.round(step_fit.crossings / [sc for _, sc, _, _, _ in steps], 2).tolist()}",
    ))

    lw_params, lw_scale, lw_grid, lw_errors, cnn = layerwise_vs_cnn(config)
    lw_threshold = error_threshold(lw_params[1], "cnn")
    p_layerwise, lw_status = first_crossing(lw_grid, lw_errors.mean(axis=0), lw_threshold)
    p_cnn, cnn_status = first_crossing(lw_grid, cnn.mean(axis=0), lw_threshold)
    ratio = p_layerwise / p_cnn
    checks.append(Check(
        f"layer-wise algorithm {lw_params}: P* within a factor 10 of the deep CNN's (error < {lw_threshold:.3f})",
        lw_status == cnn_status == "ok" and 0.1 <= ratio <= 10,
        f"P*_layerwise = {p_layerwise:.0f} ({lw_status}), P*_CNN = {p_cnn:.0f} ({cnn_status}), n_c m^L = {lw_scale}",
    ))

    figures = [
        plot_clustering(out_dir, sweeps, fit),
        plot_one_step(out_dir, steps),
        plot_layerwise(out_dir, lw_params, lw_scale, lw_grid, lw_errors, cnn, lw_threshold),
    ]
    markdown = describe(config, sweeps, fit, quick)
    return Section("Synonym detection: clustering, one step, layer-wise algorithm", checks, markdown, figures)


def exponent_rows(sweeps, thresholds) -> list[str]:
    """Markdown rows: for each error threshold, the exponent vs sqrt(n_c) m^L and the separate
    exponents of n_c and m^L (P_cluster ~ n_c^b (m^L)^c), with 95% bootstrap intervals."""
    curves = [(grid, errors) for _, _, grid, errors in sweeps]
    rows = []
    for threshold in thresholds:
        try:
            joint = fit_crossing_power_law(curves, [scale for _, scale, _, _ in sweeps], threshold, n_boot=300, seed=0)
            split = fit_crossing_power_law(curves, [(p[1], p[2] ** p[3]) for p, *_ in sweeps], threshold, n_boot=300, seed=0)
        except ValueError as error:
            rows.append(f"| {threshold} | {error} | | |")
            continue
        cells = [f"{f.exponents[i]:.3f} [{f.ci_low[i]:.3f}, {f.ci_high[i]:.3f}]" for f, i in ((joint, 0), (split, 0), (split, 1))]
        rows.append(f"| {threshold} | " + " | ".join(cells) + " |")
    return rows


def describe(config, sweeps, fit, quick: bool) -> str:
    rows = [f"| {params} | {scale:.1f} | {P:.0f} | {P / scale:.2f} |"
            for (params, scale, _, _), P in zip(sweeps, fit.crossings)]
    return "\n".join([
        f"Mode: {'quick' if quick else 'full'}. Clustering: lowest-level tuples, correlation vectors of input patch 0 "
        f"(the paper's one-patch setting), k-means into v clusters (10 restarts), error 1 - adjusted Rand index; P_cluster is where the "
        f"seed-averaged error ({config['cluster_seeds']} grammars per setting) crosses {CLUSTER_THRESHOLD} (interpolated in "
        "log P); the exponent's interval is a stratified bootstrap over grammars (sampling noise only).",
        "",
        f"**Fitted exponent of P_cluster vs sqrt(n_c) m^L: {fit.exponent:.3f} (95% CI [{fit.ci_low[0]:.3f}, {fit.ci_high[0]:.3f}]).**",
        "",
        "The exponents depend on where the crossing is taken: the onset of clustering (error 0.8) and its "
        "midpoint (0.5). Theory: a = 1, b = 0.5, c = 1.",
        "",
        "| error threshold | a (sqrt(n_c) m^L) | b (n_c) | c (m^L) |",
        "|---|---|---|---|",
        *exponent_rows(sweeps, (0.8, CLUSTER_THRESHOLD)),
        "",
        "| (v, n_c, m, L) | sqrt(n_c) m^L | P_cluster | ratio |",
        "|---|---|---|---|",
        *rows,
        "",
        "One step: symmetric initialisation (all tuples share hidden weights, mirrored readout), so the first-layer "
        "S and effective rank measure the update alone; S = 0.5 crossings are fitted against n_c m^L.",
    ])


# ----- figures ----------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, out_dir: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(Path(out_dir) / name, dpi=100)
    plt.close(fig)
    return name


def plot_clustering(out_dir, sweeps, fit) -> str:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for params, scale, grid, errors in sweeps:
        left.plot(grid / scale, errors.mean(axis=0), "o-", ms=3, label=f"(v,n_c,m,L)={params}")
    left.axhline(CLUSTER_THRESHOLD, color="gray", ls=":")
    left.set(xscale="log", xlabel="P / (sqrt(n_c) m^L)", ylabel="clustering error 1 - ARI")
    left.legend(fontsize=7)
    scales = np.array([scale for _, scale, _, _ in sweeps])
    right.loglog(scales, fit.crossings, "o")
    line = np.geomspace(scales.min(), scales.max(), 20)
    right.loglog(line, fit.prefactor * line**fit.exponent, "-",
                 label=f"fit: exponent {fit.exponent:.2f} [{fit.ci_low[0]:.2f}, {fit.ci_high[0]:.2f}]")
    right.set(xlabel="sqrt(n_c) m^L", ylabel="P_cluster")
    right.legend(fontsize=8)
    return _save(plt, fig, out_dir, "synonyms_clustering.png")


def plot_one_step(out_dir, steps) -> str:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for params, scale, grid, sens, rank in steps:
        left.plot(grid / scale, sens.mean(axis=0), "o-", ms=3, label=f"(v,n_c,m,L)={params}")
        right.plot(grid / scale, rank.mean(axis=0), "o-", ms=3)
    left.set(xscale="log", xlabel="P / (n_c m^L)", ylabel="first-layer synonym sensitivity S")
    right.set(xscale="log", xlabel="P / (n_c m^L)", ylabel="effective rank of the hidden weights")
    left.legend(fontsize=7)
    return _save(plt, fig, out_dir, "synonyms_one_step.png")


def plot_layerwise(out_dir, params, scale, grid, layerwise, cnn, threshold) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(grid, layerwise.mean(axis=0), "o-", label="layer-wise clustering")
    ax.plot(grid, cnn.mean(axis=0), "s-", label="deep CNN")
    ax.axhline(threshold, color="gray", ls=":", label="P* threshold")
    ax.axvline(scale, color="k", ls="--", lw=0.8, label="n_c m^L")
    ax.set(xscale="log", xlabel="P", ylabel="test error", title=f"(v,n_c,m,L)={params}")
    ax.legend(fontsize=8)
    return _save(plt, fig, out_dir, "synonyms_layerwise.png")


if __name__ == "__main__":
    section_main(run, __doc__)
