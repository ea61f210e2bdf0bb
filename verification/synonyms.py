"""Synonym detection from correlations: k-means clustering of tuple correlation vectors, one gradient
step of a two-layer net, and the layer-wise clustering algorithm against the deep CNN.

Claims (docs/theory.md, 'Synonyms from correlations'; what each statistic reaches and what is
measured: docs/theory-clustering.md): clustering the n_c-dimensional correlation vectors identifies
synonyms at P ~ sqrt(n_c) m^L (arXiv:2307.02129, Appendix D, Fig. 10, for the paper's layer-wise
algorithm), checked at the onset of clustering for k-means on the vectors and on their debiased
embedding; one gradient step separates synonyms at P ~ n_c m^L (Eq. 13). Each scaling check fits the
crossing as C n_c^b (m^L)^c with n_c spanning 16x and passes only if the bootstrap interval of the
exponent contains the claim and excludes the named alternatives. Beside them, ladders (docs/theory-clustering.md,
'Ladders') refit the onset's n_c exponent at each m^L (up to 8^5, the largest that memory allows) and one
step's m^L exponent at each n_c, decided by the trend rule. (The uncorrelated RHM control is in verification/controls.py.)"""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from rhm_theory import Grammar
from rhm_theory.core.rules import ncmL, p_max as count_data
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.training import train
from rhm_theory.report.checks import Check, Section, interval_check, section_main
from rhm_theory.report.figures import P_SCALED, annotate_empty, legend_outside, new_figure, save_figure, split_settings
from rhm_theory.report.trends import ladder_figure, trend_check, undecided_ladder
from rhm_theory.runs.array_cache import ArrayCache
from rhm_theory.runs.spec import error_threshold
from rhm_theory.synonyms.clustering import (
    METHODS,
    centred_correlations,
    cluster_synonyms,
    clustering_error_curve,
    fit_crossing_power_law,
    lowest_level_synonyms,
    population_tuple_probs,
)
from rhm_theory.synonyms.layerwise import layerwise_error_curve
from rhm_theory.synonyms.one_step import one_step_curves
from rhm_theory.theory.stats import first_crossing

S = 2
ONSET = 0.8  # clustering error 1 - ARI where clustering starts (the claim's regime: noise-dominated vectors)
MIDPOINT = 0.5  # clustering error halfway to perfect (reported; see docs/theory-clustering.md)
METHOD_NAMES = {"kmeans": "k-means on the correlation vectors", "debiased": "k-means on the debiased embedding"}
ONE_STEP_LEVEL = 0.5  # first-layer synonym sensitivity S after one step
# (label, claimed exponent, {alternative: exponent}) for the n_c and m^L exponents of a crossing
P_MAX_LIKE = "c = 1.5 (P_max-like: m^((s^L-1)/(s-1)) has exponent >= 1.5 in m^L)"
CLUSTER_CLAIMS = (
    ("n_c exponent b", 0.5, {"b = 0 (P ~ m^L)": 0.0, "b = 1 (P ~ n_c m^L)": 1.0}),
    ("m^L exponent c", 1.0, {"c = 0.5": 0.5, P_MAX_LIKE: 1.5}),
)
ONE_STEP_CLAIMS = (
    ("n_c exponent b", 1.0, {"b = 0.5 (P ~ sqrt(n_c) m^L)": 0.5, "b = 0 (P ~ m^L)": 0.0}),
    ("m^L exponent c", 1.0, {"c = 0.5": 0.5, P_MAX_LIKE: 1.5}),
)


def grid_settings(v: int, n_cs, mLs) -> list[tuple[int, int, int, int]]:
    """(v, n_c, m, L) for every n_c in ``n_cs`` and (m, L) in ``mLs``."""
    return [(v, n_c, m, L) for m, L in mLs for n_c in n_cs]


CLUSTER_SPAN = (0.3, 100)  # P grid of the clustering sweeps, in units of sqrt(n_c) m^L
CLUSTER_LADDER_SPAN = (0.3, 20, 12)  # (low, high, points) of the extra ladder sweeps: brackets every onset seen (2-7)
ONE_STEP_SPAN = (0.01, 30, 14)  # P grid of one step, in units of n_c m^L (also for its ladder settings)


QUICK = {
    "exact": [(8, 8, 2, 2, 2), (16, 16, 4, 2, 2), (8, 4, 4, 2, 3), (4, 4, 4, 3, 2), (16, 8, 4, 2, 3)],
    # (v, n_c, m, L) for the clustering sweep (patch 0): n_c over 16x at two m^L; P from 0.3 to 100 times
    # sqrt(n_c) m^L (capped at p_max)
    "cluster": grid_settings(32, (8, 32, 128), ((4, 3), (8, 3))),
    "cluster_seeds": 4,
    "cluster_points": 12,
    # (v, n_c, m, L) for one step: n_c over 16x at two m^L; P from 0.01 to 30 times n_c m^L (capped at p_max)
    "one_step": grid_settings(32, (4, 16, 64), ((8, 2), (8, 3))),
    "one_step_seeds": 3,
    # ladders (docs/theory-clustering.md, 'Ladders'): extra settings beside the grids above (about 12 CPU-s),
    # a third m^L = 256 for both: clustering rungs m^L in {64, 256, 512}, one-step rungs n_c in {4, 16, 64}
    "cluster_ladder": grid_settings(32, (8, 32, 128), ((4, 4),)),
    "one_step_ladder": grid_settings(32, (4, 16, 64), ((4, 4),)),
    # layer-wise vs CNN on one grammar setting (v, n_c, m, L), P in multiples of n_c m^L
    "layerwise": (4, 4, 4, 3),
    "layerwise_ratios": [0.5, 1, 2, 4, 8, 16],
    "layerwise_seeds": 1,
    "cnn": {"width": 64, "max_epochs": 60},
    "test_size": 2000,
}
FULL = {
    "exact": QUICK["exact"] + [(32, 32, 8, 2, 2), (8, 8, 8, 2, 4), (6, 6, 2, 3, 2)],
    # n_c over 16x at four m^L (two values of m and of L), more grammars per setting than quick
    "cluster": grid_settings(32, (8, 32, 128), ((8, 2), (4, 3), (4, 4), (8, 3))),
    "cluster_seeds": 8,
    "cluster_points": 16,
    "one_step": grid_settings(32, (4, 16, 64), ((8, 2), (4, 3), (4, 4), (8, 3))),
    "one_step_seeds": 6,
    # ladders: clustering rungs m^L = 1024, 4096, 32768 (n_c over 16x each; 32768 = 8^5 is the largest that
    # fits in memory, docs/theory-clustering.md) on P from 0.3 to 20 sqrt(n_c) m^L; one-step rung n_c = 256
    # (the largest with n_c m <= v^s at m = 4) at m^L over 16x
    "cluster_ladder": grid_settings(32, (8, 32, 128), ((4, 5), (8, 4), (8, 5))),
    "one_step_ladder": grid_settings(32, (256,), ((4, 3), (4, 4), (4, 5))),
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
        perfect += cluster_synonyms(grammar, probs, seed=seed).error == 0.0
    return Check(
        "exact correlations: clustering error 0 on every grammar with distinct synonym vectors",
        distinct_total > 0 and perfect == distinct_total,
        f"{perfect}/{distinct_total} perfect ({len(settings) - distinct_total} grammars with coinciding vectors skipped)",
    )


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (bytes; Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def clustering_sweeps(config, cache: ArrayCache, settings=None, span=None, peaks: dict | None = None):
    """Per setting: (params, scale sqrt(n_c) m^L, P grid, {method: errors (seeds, n_P)}), every method
    on the same grammars and samples; each setting is computed once and kept in ``cache``.
    ``settings``: default config["cluster"]; ``span``: (low, high, points) of the P grid in units of
    sqrt(n_c) m^L, default CLUSTER_SPAN with config["cluster_points"]; ``peaks``: filled with
    {params: the process's peak memory in bytes when that setting was computed} where it was recorded."""
    settings = config["cluster"] if settings is None else settings
    low, high, points = span or (*CLUSTER_SPAN, config["cluster_points"])
    sweeps = []
    for v, n_c, m, L in settings:
        scale = np.sqrt(n_c) * m**L
        seeds = range(config["cluster_seeds"])
        grid = scaled_grid(scale, low, high, points, count_data(n_c, m, S, L))

        def compute(v=v, n_c=n_c, m=m, L=L, seeds=seeds, grid=grid):  # the loop's values, bound
            grammars = [Grammar.random(v, n_c, m, S, L, seed=1000 + seed) for seed in seeds]
            errors = np.stack(
                [clustering_error_curve(g, grid, seed, patch=0, methods=METHODS) for seed, g in enumerate(grammars)]
            )
            return {"errors": errors, "peak_rss_bytes": peak_rss_bytes()}

        key = {
            "what": "clustering",
            "params": [v, n_c, m, S, L],
            "seeds": len(seeds),
            "grid": grid.tolist(),
            "methods": list(METHODS),
        }
        arrays = cache.get(key, compute)
        errors = arrays["errors"]
        sweeps.append(((v, n_c, m, L), scale, grid, {method: errors[:, i] for i, method in enumerate(METHODS)}))
        if peaks is not None and "peak_rss_bytes" in arrays:
            peaks[v, n_c, m, L] = int(arrays["peak_rss_bytes"])
    return sweeps


# ----- 2. one step ------------------------------------------------------------------------------
def one_step_sweeps(config, cache: ArrayCache, settings=None, peaks: dict | None = None):
    """Per setting: (params, scale n_c m^L, P grid, S (seeds, n_P), rank (seeds, n_P)); each setting is
    computed once and kept in ``cache``. ``settings``: default config["one_step"]; ``peaks``: as in
    :func:`clustering_sweeps`."""
    sweeps = []
    for v, n_c, m, L in config["one_step"] if settings is None else settings:
        scale = ncmL(n_c, m, L)
        seeds = range(config["one_step_seeds"])
        grid = scaled_grid(scale, *ONE_STEP_SPAN, count_data(n_c, m, S, L))

        def compute(v=v, n_c=n_c, m=m, L=L, seeds=seeds, grid=grid):  # the loop's values, bound
            grammars = [Grammar.random(v, n_c, m, S, L, seed=2000 + seed) for seed in seeds]
            curves = [one_step_curves(g, grid, seed, width=512) for seed, g in enumerate(grammars)]
            return {
                "S": np.stack([c[0] for c in curves]),
                "rank": np.stack([c[1] for c in curves]),
                "peak_rss_bytes": peak_rss_bytes(),
            }

        key = {
            "what": "one_step",
            "params": [v, n_c, m, S, L],
            "seeds": len(seeds),
            "grid": grid.tolist(),
            "width": 512,
        }
        arrays = cache.get(key, compute)
        sweeps.append(((v, n_c, m, L), scale, grid, arrays["S"], arrays["rank"]))
        if peaks is not None and "peak_rss_bytes" in arrays:
            peaks[v, n_c, m, L] = int(arrays["peak_rss_bytes"])
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


def layerwise_vs_cnn(config, cache: ArrayCache):
    """Test errors of the layer-wise algorithm and of the deep CNN on the same data: (params, n_c m^L,
    P grid, layer-wise errors (seeds, n_P), CNN errors (seeds, n_P)); each seed is kept in ``cache``."""
    v, n_c, m, L = config["layerwise"]
    scale = ncmL(n_c, m, L)
    grid = np.array([int(r * scale) for r in config["layerwise_ratios"]])
    layerwise, cnn = [], []
    for seed in range(config["layerwise_seeds"]):

        def compute(seed=seed):  # the loop's seed, bound
            grammar = Grammar.random(v, n_c, m, S, L, seed=3000 + seed)
            return {
                "layerwise": layerwise_error_curve(grammar, grid, config["test_size"], seed),
                "cnn": cnn_errors(grammar, grid, config["test_size"], seed, config["cnn"]),
            }

        key = {
            "what": "layerwise_vs_cnn",
            "params": [v, n_c, m, S, L],
            "seed": seed,
            "grid": grid.tolist(),
            "test_size": config["test_size"],
            "cnn": config["cnn"],
        }
        arrays = cache.get(key, compute)
        layerwise.append(arrays["layerwise"])
        cnn.append(arrays["cnn"])
    return (v, n_c, m, L), scale, grid, np.stack(layerwise), np.stack(cnn)


# ----- 4. ladders (docs/theory-clustering.md, 'Ladders') ----------------------------------------
def ladder_rungs(
    curves, sizes, factor, level: float, *, min_span: float, min_values: int = 2, n_boot: int = 1000, seed=0, names=None
) -> tuple[list[dict], list[str]]:
    """One rung per distinct value of ``sizes``: the one-factor exponent of the crossings of ``level``
    against ``factor`` among that size's settings (:func:`fit_crossing_power_law` on the subset, 95 %
    stratified bootstrap over seeds). ``curves``: one (P grid (n_P,), values (n_seeds, n_P)) per setting;
    ``sizes``, ``factor``: (n_settings,). A size whose factor values span less than ``min_span`` or take
    fewer than ``min_values`` distinct values is no rung. ``names``: optional label of each setting, joined
    into the rung's "of". Returns (rungs {size, estimate, ci_low, ci_high, device, settings, of}, notes on
    the sizes that gave no rung: too narrow, or a censored crossing)."""
    sizes, factor = np.asarray(sizes, dtype=float), np.asarray(factor, dtype=float)
    rungs, notes = [], []
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        values = np.unique(factor[rows])
        if values.size < min_values or values.max() / values.min() < min_span:
            notes.append(
                f"{size:g}: no rung ({values.size} values spanning {values.max() / values.min():g}x; "
                f"rule >= {min_values} spanning >= {min_span:g}x)"
            )
            continue
        try:
            fit = fit_crossing_power_law([curves[i] for i in rows], factor[rows], level, n_boot=n_boot, seed=seed)
        except ValueError as error:
            notes.append(f"{size:g}: censored ({error})")
            continue
        estimate = float(fit.exponent)
        # a percentile interval can (rarely) miss the point estimate; widen it to hold it (conservative)
        rungs.append(
            {
                "size": float(size),
                "estimate": estimate,
                "ci_low": min(float(fit.ci_low[0]), estimate),
                "ci_high": max(float(fit.ci_high[0]), estimate),
                "device": "cpu",
                "settings": int(rows.size),
                "of": ", ".join(dict.fromkeys(names[i] for i in rows)) if names is not None else "",
            }
        )
    return rungs, notes


def ladder_check(name: str, rungs, notes, *, claim: float, alternatives: dict, source: str, seed=0) -> Check:
    """The trend verdict (rhm_theory.report.trends.trend_check) of the rungs; INCONCLUSIVE where some
    size's crossing was censored (the censoring rule of docs/theory.md, 'Verdicts') or no rung exists."""
    rungs = [{key: rung[key] for key in ("size", "estimate", "ci_low", "ci_high", "device")} for rung in rungs]
    censored = [note for note in notes if "censored" in note]
    if not rungs:
        return undecided_ladder(
            name,
            [],
            claim=claim,
            alternatives=alternatives,
            source=source,
            figure="no rung: " + "; ".join(notes),
            reason="no rung",
            needs=">= 3 rungs of increasing size",
        )
    check = trend_check(name, rungs, claim=claim, alternatives=alternatives, seed=seed, source=source)
    if censored:
        return check.inconclusive(
            f"crossing censored at {'; '.join(censored)}", "P grids extended x4 beyond the side the crossing left"
        )
    return check


def ladders(config, cache: ArrayCache, sweeps, steps):
    """The ladder checks and their rungs: the clustering-onset n_c exponent at fixed m^L (each method) and
    one step's m^L exponent at fixed n_c, on the main sweeps plus config's ladder settings. Returns
    (checks, {name: (rungs, notes)}, peaks {params: bytes} of the ladder settings computed with a record)."""
    peaks: dict = {}
    cluster_all = sweeps + clustering_sweeps(config, cache, config["cluster_ladder"], CLUSTER_LADDER_SPAN, peaks)
    steps_all = steps + one_step_sweeps(config, cache, config["one_step_ladder"], peaks)
    checks, rungs = [], {}
    (_, b_claim, b_alternatives), (_, c_claim, c_alternatives) = CLUSTER_CLAIMS[0], ONE_STEP_CLAIMS[1]
    factors = split_factors([params for params, *_ in cluster_all])
    for method in METHODS:
        name = f"{METHOD_NAMES[method]}: ladder of the clustering-onset n_c exponent b over m^L (claim {b_claim:g})"
        found = ladder_rungs(
            [(grid, errors[method]) for _, _, grid, errors in cluster_all],
            factors[:, 1],
            factors[:, 0],
            ONSET,
            min_span=16,
            names=[f"({m}, {L})" for (_, _, m, L), *_ in cluster_all],
        )
        rungs[name] = found
        checks.append(
            ladder_check(
                name,
                *found,
                claim=b_claim,
                alternatives=b_alternatives,
                source="arXiv:2307.02129, Appendix D, Fig. 10; ladder",
            )
        )
    factors = split_factors([params for params, *_ in steps_all])
    name = f"one gradient step: ladder of the m^L exponent c of S = {ONE_STEP_LEVEL} over n_c (claim {c_claim:g})"
    found = ladder_rungs(
        [(grid, sens) for _, _, grid, sens, _ in steps_all],
        factors[:, 0],
        factors[:, 1],
        ONE_STEP_LEVEL,
        min_span=8,
        min_values=3,
        names=[f"({m}, {L})" for (_, _, m, L), *_ in steps_all],
    )
    rungs[name] = found
    checks.append(
        ladder_check(
            name, *found, claim=c_claim, alternatives=c_alternatives, source="arXiv:2307.02129, Eq. 13, Fig. 8; ladder"
        )
    )
    return checks, rungs, peaks


def token_gigabytes(n_c: int, m: int, L: int, high: float) -> float:
    """GB of the int64 token array (P, s^L) at the top of a clustering sweep, P = high sqrt(n_c) m^L."""
    return high * np.sqrt(n_c) * m**L * S**L * 8 / 1e9


def describe_ladders(config, checks, rungs: dict, peaks: dict) -> str:
    """Markdown: the design, each ladder's rungs and verdict, and what limits the largest rung."""
    lines = [
        "",
        "Ladders (docs/theory-clustering.md, 'Ladders'): each rung is its own one-factor fit with a 95 % "
        "stratified bootstrap over seeds; clustering rungs are values of m^L (n_c over 16x at each), "
        "one-step rungs are values of n_c (>= 3 values of m^L spanning >= 8x at each); the verdict is the "
        "trend rule of docs/theory.md, 'Trend verdicts'.",
        "",
        "| ladder | rung size | settings: (m, L) | exponent [95 % CI] |",
        "|---|---|---|---|",
    ]
    for check, label in zip(checks, ladder_labels(checks)):
        found, notes = rungs[check.name]
        lines += [
            f"| {label} | {r['size']:g} | {r['settings']}: {r['of']} | {r['estimate']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] |"
            for r in found
        ]
        lines += [f"| {label} | {note} | | |" for note in notes]
    lines.append("")
    for check in checks:
        lines.append(
            f"- {check.name}: **{check.verdict}**" + (f" ({check.reason}; needs {check.needs})" if check.reason else "")
        )
    settings = config["cluster"] + config["cluster_ladder"]
    v, n_c, m, L = max(settings, key=lambda p: (p[2] ** p[3], p[1]))
    high = (CLUSTER_LADDER_SPAN if config["cluster_ladder"] else CLUSTER_SPAN)[1]
    peak = max(peaks.values()) if peaks else None
    lines += [
        "",
        f"Memory: the largest clustering rung, m^L = {m**L} ({m}^{L}) at n_c = {n_c}, draws up to P = "
        f"{high:g} sqrt(n_c) m^L = {high * np.sqrt(n_c) * m**L:.3g} data of d = {S**L} tokens, a "
        f"{token_gigabytes(n_c, m, L, high):.2g} GB int64 token array per grammar"
        + (
            f"; the process's peak resident memory with the ladder settings computed was {peak / 1e9:.2g} GB"
            if peak
            else ""
        )
        + f". The next rung, m^L = {m ** (L + 1)} ({m}^{L + 1}), would need "
        f"{token_gigabytes(n_c, m, L + 1, high):.3g} GB for the token array alone, beyond a 24 GiB machine; "
        f"m <= v^s / n_c = {v**S // n_c} at v = {v} fixes m = {m}. One step's rungs stop at n_c = v^s / m "
        f"= {v**S // 4} (m = 4, v = {v}): a larger n_c needs a larger v.",
    ]
    return "\n".join(lines)


# ----- report -----------------------------------------------------------------------------------
def run(out_dir: Path, quick: bool = True) -> Section:
    """All checks of this section; every computation is small, so it runs on one thread (the torch
    setting is restored afterwards for the scripts that ``rhm verify`` runs next)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            cache = ArrayCache(Path(out_dir) / f"synonyms_{'quick' if quick else 'full'}_cache")
            return run_checks(Path(out_dir), QUICK if quick else FULL, quick, cache)
    finally:
        torch.set_num_threads(threads)


def exponent_checks(
    what: str,
    curves,
    factors,
    level: float,
    claims,
    *,
    kind: str = "discriminating",
    n_boot: int = 1000,
    seed=0,
    source: str = "",
):
    """Decide the exponents of a crossing from measured curves: (checks, fit or None).

    ``curves``: one (P grid (n_P,), values (n_seeds, n_P)) per setting; ``factors`` (n_settings, 2): the
    setting's (n_c, m^L); ``level``: where each seed-averaged curve is crossed. The crossings are fitted
    as C n_c^b (m^L)^c with a stratified bootstrap over seeds (95 % intervals); ``claims`` holds
    (label, claimed exponent, {alternative: exponent}) for b and for c, and each becomes an
    :func:`interval_check`. A curve that never crosses ``level`` makes every check INCONCLUSIVE (the
    censoring rule of docs/theory.md, 'Verdicts'). ``source``: the paper's equation or figure.
    """
    factors = np.asarray(factors, dtype=float)
    sizes = (
        f"n_c {factors[:, 0].min():g}-{factors[:, 0].max():g}, m^L {factors[:, 1].min():g}-{factors[:, 1].max():g}; "
        f"{len(curves)} settings"
    )
    try:
        fit = fit_crossing_power_law(curves, factors, level, n_boot=n_boot, seed=seed)
    except ValueError as error:
        return [
            Check(
                f"{what}: {label} = {claim:g}",
                False,
                f"no fit: {error}",
                alternatives=tuple(alternatives),
                kind=kind,
                source=source,
                sizes=sizes,
            ).inconclusive(f"crossing censored: {error}", "P grids extended x4 beyond the side the crossing left")
            for label, claim, alternatives in claims
        ], None
    checks = [
        interval_check(
            f"{what}: {label} = {claim:g}",
            float(fit.exponents[i]),
            float(fit.ci_low[i]),
            float(fit.ci_high[i]),
            claim=claim,
            alternatives=alternatives,
            kind=kind,
            detail=f"95 % bootstrap CI over seeds, {len(curves)} settings",
            source=source,
            sizes=sizes,
        )
        for i, (label, claim, alternatives) in enumerate(claims)
    ]
    return checks, fit


def split_factors(settings) -> np.ndarray:
    """(n_settings, 2): (n_c, m^L) of each (v, n_c, m, L)."""
    return np.array([(n_c, float(m) ** L) for _, n_c, m, L in settings])


def run_checks(out_dir: Path, config: dict, quick: bool, cache: ArrayCache) -> Section:
    checks = [check_exact_clustering(config["exact"])]

    sweeps = clustering_sweeps(config, cache)
    chance = [errors[method][:, 0].mean() for *_, errors in sweeps for method in METHODS]
    checks.append(
        Check(
            "clustering at the smallest P (0.3 sqrt(n_c) m^L) is near chance (error 1 - ARI >= 0.9), both methods",
            min(chance) >= 0.9,
            f"lowest mean error {min(chance):.3f}",
        )
    )
    factors = split_factors([params for params, *_ in sweeps])
    cluster_fits = {}
    for method in METHODS:
        curves = [(grid, errors[method]) for _, _, grid, errors in sweeps]
        method_checks, cluster_fits[method, ONSET] = exponent_checks(
            f"{METHOD_NAMES[method]}: clustering onset (error 1 - ARI = {ONSET}) at P ~ n_c^b (m^L)^c",
            curves,
            factors,
            ONSET,
            CLUSTER_CLAIMS,
            source="arXiv:2307.02129, Appendix D, Fig. 10",
        )
        checks += method_checks
        for level in (0.65, MIDPOINT):
            cluster_fits[method, level] = fit_or_none(curves, factors, level)

    steps = one_step_sweeps(config, cache)
    step_checks, step_fit = exponent_checks(
        f"one gradient step: first-layer S = {ONE_STEP_LEVEL} at P ~ n_c^b (m^L)^c",
        [(grid, sens) for _, _, grid, sens, _ in steps],
        split_factors([params for params, *_ in steps]),
        ONE_STEP_LEVEL,
        ONE_STEP_CLAIMS,
        source="arXiv:2307.02129, Eq. 13, Fig. 8",
    )
    checks += step_checks
    ladder_checks, ladder_found, peaks = ladders(config, cache, sweeps, steps)
    checks += ladder_checks

    lw_params, lw_scale, lw_grid, lw_errors, cnn = layerwise_vs_cnn(config, cache)
    lw_threshold = error_threshold(lw_params[1], "cnn")
    p_layerwise, lw_status = first_crossing(lw_grid, lw_errors.mean(axis=0), lw_threshold)
    p_cnn, cnn_status = first_crossing(lw_grid, cnn.mean(axis=0), lw_threshold)
    ratio = p_layerwise / p_cnn
    checks.append(
        Check(
            f"layer-wise algorithm {lw_params}: P* within a factor 10 of the deep CNN's (error < {lw_threshold:.3f})",
            lw_status == cnn_status == "ok" and 0.1 <= ratio <= 10,
            f"P*_layerwise = {p_layerwise:.0f} ({lw_status}), P*_CNN = {p_cnn:.0f} ({cnn_status}), n_c m^L = {lw_scale}",
        )
    )

    figures = [
        save_figure(plot_clustering(sweeps, cluster_fits), out_dir, "synonyms_clustering.png"),
        save_figure(plot_one_step(steps, step_fit), out_dir, "synonyms_one_step.png"),
        save_figure(
            plot_layerwise(lw_params, lw_scale, lw_grid, lw_errors, cnn, lw_threshold),
            out_dir,
            "synonyms_layerwise.png",
        ),
        save_figure(plot_ladders(ladder_checks), out_dir, "synonyms_ladders.png"),
    ]
    markdown = describe(config, sweeps, steps, cluster_fits, step_fit, quick)
    markdown += "\n" + describe_ladders(config, ladder_checks, ladder_found, peaks)
    markdown += (
        f"\n\nResumable: {cache.computed} pieces (one setting or seed each) computed now, {cache.reused} "
        f"reused from `{cache.folder.name}/` (delete it to recompute)."
    )
    return Section("Synonym detection: clustering, one step, layer-wise algorithm", checks, markdown, figures)


def fit_or_none(curves, factors, level: float, n_boot: int = 300):
    """The crossing fit at ``level``, or None when some curve does not cross it."""
    try:
        return fit_crossing_power_law(curves, factors, level, n_boot=n_boot, seed=0)
    except ValueError:
        return None


def fit_cells(fit) -> list[str]:
    """Markdown cells 'b [low, high]' and 'c [low, high]' of a split fit (or 'no crossing')."""
    if fit is None:
        return ["no crossing in some setting"] * 2
    return [f"{fit.exponents[i]:.3f} [{fit.ci_low[i]:.3f}, {fit.ci_high[i]:.3f}]" for i in range(2)]


def describe(config, sweeps, steps, cluster_fits: dict, step_fit, quick: bool) -> str:
    """Method, the exponent table at each clustering error level and the crossings of every setting."""
    levels = sorted({level for _, level in cluster_fits}, reverse=True)
    rows = []
    for i, (params, *_) in enumerate(sweeps):
        _, n_c, m, L = params
        cells = [
            f"{cluster_fits[method, level].crossings[i] / (n_c * m**L):.2f}" if cluster_fits[method, level] else "-"
            for method in METHODS
            for level in (ONSET, MIDPOINT)
        ]
        rows.append(f"| {params} | {n_c * m**L} | " + " | ".join(cells) + " |")
    step_rows = []
    if step_fit is not None:
        step_rows = [
            f"| {params} | {scale} | {P / scale:.2f} |" for (params, scale, *_), P in zip(steps, step_fit.crossings)
        ]
    return "\n".join(
        [
            f"Mode: {'quick' if quick else 'full'}. Clustering: lowest-level tuples, correlation vectors of input patch 0 "
            "(the paper's one-patch setting), k-means into v clusters (10 restarts) on the vectors themselves or on their "
            "debiased embedding (leading eigenvectors of the Gram matrix without its diagonal), error 1 - adjusted Rand index, "
            f"{config['cluster_seeds']} grammars (each with its own sample, shared by both methods) per setting; a crossing is "
            "where the seed-averaged error falls through a level (interpolated in log P), fitted as C n_c^b (m^L)^c; "
            "intervals: stratified bootstrap over grammars (sampling noise only). What is claimed, and why the onset is the "
            "level that tests sqrt(n_c): docs/theory-clustering.md.",
            "",
            "| method | clustering error level | b (n_c exponent) | c (m^L exponent) |",
            "|---|---|---|---|",
            *[
                f"| {method} | {level}{' (checked)' if level == ONSET else ''} | "
                + " | ".join(fit_cells(cluster_fits[method, level]))
                + " |"
                for method in METHODS
                for level in levels
            ],
            "",
            "Crossings in units of n_c m^L (the sqrt(n_c) argument needs P below about n_c m^L, where the sampling noise "
            "dominates every correlation vector):",
            "",
            "| (v, n_c, m, L) | n_c m^L | "
            + " | ".join(f"{method} at {level}" for method in METHODS for level in (ONSET, MIDPOINT))
            + " |",
            "|---|---|" + "---|" * (2 * len(METHODS)),
            *rows,
            "",
            "One step: symmetric initialisation (all tuples share hidden weights, mirrored readout), so the first-layer "
            f"S and effective rank measure the update alone; crossings of S = {ONE_STEP_LEVEL}:",
            "",
            f"| (v, n_c, m, L) | n_c m^L | P(S = {ONE_STEP_LEVEL}) / n_c m^L |",
            "|---|---|---|",
            *step_rows,
        ]
    )


# ----- figures ----------------------------------------------------------------------------------
NAMES = ("v", "n_c", "m", "L")  # a setting (v, n_c, m, L); s = S throughout


def crossing_panel(ax, settings, fit, title: str, claims) -> None:
    """P_cross / (m^L)^c_claim against n_c (log-log), one marker per m^L, with slope-b guide lines for the
    claim and each alternative through the geometric mean of the points; a panel that says so when some
    setting's curve does not cross (``fit`` None)."""
    if fit is None:
        ax.set_title(title, fontsize="small")
        annotate_empty(ax, "no crossing in some setting:\nnothing to fit")
        return
    (_, b_claim, b_alternatives), (_, c_claim, _) = claims
    factors = split_factors(settings)
    scaled = fit.crossings / factors[:, 1] ** c_claim
    for mL in np.unique(factors[:, 1]):
        rows = factors[:, 1] == mL
        ax.loglog(factors[rows, 0], scaled[rows], "o", label=f"$m^L = {mL:g}$")
    n_c = np.geomspace(factors[:, 0].min(), factors[:, 0].max(), 20)
    centre_x, centre_y = np.exp(np.log(factors[:, 0]).mean()), np.exp(np.log(scaled).mean())
    for b, style in [(b_claim, "k-"), *[(value, ":") for value in b_alternatives.values()]]:
        ax.loglog(
            n_c, centre_y * (n_c / centre_x) ** b, style, lw=1, label=f"slope {b:g}{' (claim)' if b == b_claim else ''}"
        )
    ax.set(xlabel="$n_c$", ylabel="$P_{\\rm cross}\\,/\\," + ("m^L$" if c_claim == 1 else f"(m^L)^{{{c_claim:g}}}$"))
    ax.set_title(
        f"{title}\n$b = {fit.exponents[0]:.2f}$ [{fit.ci_low[0]:.2f}, {fit.ci_high[0]:.2f}], "
        f"$c = {fit.exponents[1]:.2f}$ [{fit.ci_low[1]:.2f}, {fit.ci_high[1]:.2f}] (95 % CI)",
        fontsize="small",
    )
    legend_outside(ax)


def plot_clustering(sweeps, fits: dict):
    """One row per method: clustering error (mean over grammars) against P / (sqrt(n_c) m^L), and the crossings
    at the onset and the midpoint against n_c. Returns the Figure."""
    fig, axes = new_figure(len(METHODS), 3, figsize=(15, 3.9 * len(METHODS)), squeeze=False)
    settings = [params for params, *_ in sweeps]
    labels, constant = split_settings(settings, NAMES)
    for row, method in zip(axes, METHODS):
        for (_params, scale, grid, errors), label in zip(sweeps, labels):
            row[0].plot(grid / scale, errors[method].mean(axis=0), "o-", ms=3, label=label)
        for level in (ONSET, MIDPOINT):
            row[0].axhline(level, color="gray", ls=":")
        row[0].set(xscale="log", xlabel=r"$P\,/\,(\sqrt{n_c}\, m^L)$", ylabel="clustering error 1 - ARI")
        row[0].set_title(f"{METHOD_NAMES[method]}\n(dotted: error {ONSET} and {MIDPOINT})", fontsize="small")
        for ax, level in zip(row[1:], (ONSET, MIDPOINT)):
            crossing_panel(ax, settings, fits[method, level], f"{method}, crossings of error {level}", CLUSTER_CLAIMS)
    legend_outside(axes[0, 0], ncols=2 if len(settings) > 8 else 1)
    fig.suptitle(
        f"synonym clustering, $s={S}${', ' + constant if constant else ''}; mean over grammars", fontsize="medium"
    )
    return fig


def plot_one_step(steps, fit):
    """First-layer synonym sensitivity and effective rank after one gradient step (mean over grammars)
    against P / (n_c m^L), and the crossings of S = ONE_STEP_LEVEL against n_c. Returns the Figure."""
    fig, axes = new_figure(1, 3, figsize=(15, 3.9))
    settings = [params for params, *_ in steps]
    labels, constant = split_settings(settings, NAMES)
    for (_params, scale, grid, sens, rank), label in zip(steps, labels):
        axes[0].plot(grid / scale, sens.mean(axis=0), "o-", ms=3, label=label)
        axes[1].plot(grid / scale, rank.mean(axis=0), "o-", ms=3)
    axes[0].axhline(ONE_STEP_LEVEL, color="gray", ls=":")
    axes[0].set(xscale="log", xlabel=P_SCALED, ylabel="first-layer synonym sensitivity $S$")
    axes[1].set(xscale="log", xlabel=P_SCALED, ylabel="effective rank of the hidden weights")
    legend_outside(axes[1], axes[0])
    crossing_panel(axes[2], settings, fit, f"crossings of $S = {ONE_STEP_LEVEL}$", ONE_STEP_CLAIMS)
    fig.suptitle(
        f"one gradient step, $s={S}${', ' + constant if constant else ''}; mean over grammars", fontsize="medium"
    )
    return fig


def plot_layerwise(params, scale, grid, layerwise, cnn, threshold):
    """Test error of the layer-wise clustering algorithm and of the deep CNN (mean over grammars) vs P,
    with the P* threshold and n_c m^L. Returns the Figure."""
    v, n_c, m, L = params
    fig, ax = new_figure(figsize=(6.4, 3.6))
    ax.plot(grid, layerwise.mean(axis=0), "o-", label="layer-wise clustering")
    ax.plot(grid, cnn.mean(axis=0), "s-", label="deep CNN")
    ax.axhline(threshold, color="k", ls=":", label="$P^*$ threshold")
    ax.axvline(scale, color="k", ls="--", lw=0.8, label="$P = n_c m^L$")
    ax.set(xscale="log", xlabel="$P$", ylabel="test error")
    ax.set_title(
        f"$v={v}$, $n_c={n_c}$, $m={m}$, $s={S}$, $L={L}$; mean over {layerwise.shape[0]} grammar{'s' if layerwise.shape[0] > 1 else ''}",
        fontsize="medium",
    )
    legend_outside(ax)
    return fig


def ladder_labels(checks) -> list[str]:
    """Short names of the ladder checks of :func:`ladders` (clustering methods, then one step)."""
    onsets = [f"{method}: onset n_c exponent b at fixed m^L" for method in METHODS][: len(checks) - 1]
    return [*onsets, "one step: m^L exponent c at fixed n_c"]


def plot_ladders(checks):
    """One panel per ladder check (rhm_theory.report.trends.ladder_figure). Returns the Figure."""
    *cluster, _step = checks
    alternatives = [CLUSTER_CLAIMS[0][2]] * len(cluster) + [ONE_STEP_CLAIMS[1][2]]
    labels = [label.replace("n_c", "$n_c$").replace("m^L", "$m^L$") for label in ladder_labels(checks)]
    return ladder_figure(
        checks,
        alternatives,
        xlabel=["$m^L$ (rung)"] * len(cluster) + ["$n_c$ (rung)"],
        ylabel=["$n_c$ exponent $b$ of the onset"] * len(cluster) + ["$m^L$ exponent $c$ of $S = 0.5$"],
        labels=labels,
    )


if __name__ == "__main__":
    section_main(run, __doc__)
