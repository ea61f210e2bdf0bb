"""Sample complexity of deep and shallow networks on the RHM (arXiv:2307.02129, Figs. 2-6, 12;
docs/theory.md, 'Sample complexity').

(c) P* of the deep CNN (seed-mean test error below 0.1 x chance), found by bisection in log P on
each setting (v, n_c, m, L), s = 2, and fitted jointly as P* = C n_c^a (m^L)^b v^c: claim a = b = 1,
c = 0; (d) a one-hidden-layer FCN needs P ~ P_max, on grammars whose P_max / (n_c m^L) spans a wide
range, with the deep CNN's error threshold; (e) the synonymic sensitivity S_{k,l} of layer k to
exchanges at level l < k halves at P ~ P*, while S_{k,l}, k <= l, stays. The decisions are in
rhm_theory.report.learning_checks. Runs are stored in sample_complexity_{quick,full}.sqlite in the
output folder and reused by the next call, so an interrupted run resumes (delete the file to recompute).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from rhm_theory.core.rules import ncmL, p_max as count_data
from rhm_theory.report import learning_checks, pstar_ladders
from rhm_theory.report.checks import MAX_BRACKET_RATIO, Cost, Section, reached_threshold, section_main
from rhm_theory.report.figures import (
    P_SCALED,
    annotate_empty,
    label_points,
    legend_outside,
    new_figure,
    save_figure,
    split_settings,
)
from rhm_theory.report.trends import ladder_figure
from rhm_theory.runs.pstar import Bisection, adaptive_pstars, grid_specs, run_specs
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.store import ResultsStore
from rhm_theory.theory.crossing import crossing

S = 2
MAX_EPOCHS = 10**6  # runs stop at the training-loss threshold (1e-3) or after max_steps SGD steps


@dataclass(frozen=True)
class Mode:
    """Sizes of one mode. ``settings``: (v, n_c, m, L) of the deep-CNN P* searches (bracket
    ``bracket`` x n_c m^L, at most ``steps`` bisections, stopping once the bracket is at most
    MAX_BRACKET_RATIO wide; every run also measuring S_{k,l}); ``fcn_grammars``: (v, n_c, m, L) of
    the FCN runs at ``fcn_fractions`` x P_max; ``monte_carlo``: grammars of the P_c Monte Carlo."""

    settings: tuple
    seeds: int
    width: int
    bracket: tuple
    steps: int
    max_steps: int
    P_test: int
    sensitivity_samples: int
    fcn_grammars: tuple
    fcn_fractions: tuple
    fcn_width: int
    fcn_lr: float
    fcn_max_steps: int
    fcn_seeds: int
    monte_carlo: int
    ladder: Ladder
    workers: int | None = None


@dataclass(frozen=True)
class Ladder:
    """The P* ladders (docs/theory.md, 'P* ladders of the deep CNN'): the deep CNN at ``width`` on
    every (v, n_c, m, L) with n_c in ``n_cs`` and m in ``ms``; a rung per m, trained in increasing m.
    The first rung's bracket is ``bracket`` x n_c m^L, a later rung's r / warm to r x warm, r the
    previous rung's median P*/(n_c m^L) (``first_ratio`` for the first); every setting also trains at
    r x ``sensitivity_points`` x n_c m^L; at most ``steps`` bisection steps, ``extensions`` of x4."""

    v: int
    L: int
    n_cs: tuple
    ms: tuple
    seeds: int
    width: int
    max_steps: int
    bracket: tuple = (0.25, 16)
    first_ratio: float = 2.5
    warm: float = 2.0
    sensitivity_points: tuple = tuple(1.8**-k for k in range(1, 6))  # x1.8 apart: rounded, still within x2
    steps: int = 7
    extensions: int = 2
    gpu_ms: tuple = ()  # rungs trained on "cuda" (docs/gpu-report/ladder.sh); the others on the run's device

    def rungs(self) -> list[list[tuple]]:
        """The settings (v, n_c, m, L) of each rung, in increasing m."""
        return [[(self.v, n_c, m, self.L) for n_c in self.n_cs] for m in sorted(self.ms)]


QUICK = Mode(
    settings=((4, 2, 3, 3), (4, 4, 3, 3), (4, 4, 2, 4), (8, 4, 3, 3)),
    seeds=2,
    width=64,
    bracket=(0.5, 16),
    steps=4,
    max_steps=4000,
    P_test=1024,
    sensitivity_samples=256,
    fcn_grammars=((8, 8, 8, 2), (3, 3, 3, 3)),
    fcn_fractions=(1 / 4, 0.9),
    fcn_width=256,
    fcn_lr=1.0,
    fcn_max_steps=10000,
    fcn_seeds=2,
    monte_carlo=200,
    ladder=Ladder(v=8, L=3, n_cs=(2, 3, 4), ms=(3, 4, 5), seeds=2, width=64, max_steps=20000),
)
# n_c spans 16x (2..16 at (v, m, L) = (8, 3, 3) and 2 at v = 4, 16), v spans 4x (4, 8, 16), m^L 4x
# (m = 2, 3, 4; L = 3, 4): the design the negative controls in tests/test_learning_checks.py use.
FULL = Mode(
    settings=(
        (8, 4, 3, 3),
        (8, 2, 3, 3),
        (8, 8, 3, 3),
        (8, 16, 3, 3),
        (8, 4, 4, 3),
        (8, 4, 2, 4),
        (4, 4, 3, 3),
        (16, 4, 3, 3),
        (4, 2, 3, 3),
        (16, 2, 3, 3),
    ),
    # 64x bracket: 4 bisections reach the x1.3 resolution (x8, x2.8, x1.7, x1.3); 6 is the budget
    seeds=5,
    width=256,
    bracket=(0.25, 16),
    steps=6,
    max_steps=20000,
    P_test=1024,
    sensitivity_samples=512,
    # P_max / (n_c m^L) = 8, 81, 16 (span x10); P_max >= 4096, so the test sets (P_max - 0.9 P_max) stay >= 400
    fcn_grammars=((8, 8, 8, 2), (3, 3, 3, 3), (8, 32, 2, 3)),
    fcn_fractions=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 0.9),  # P* located where it falls far below P_max
    fcn_width=512,
    fcn_lr=1.0,
    fcn_max_steps=40000,
    fcn_seeds=4,
    monte_carlo=1000,
    # n_c x8 (all <= v), m^L x8 (27 to 216) at L = 3: the three P* ladders
    ladder=Ladder(v=16, L=3, n_cs=(2, 4, 8, 16), ms=(3, 4, 5, 6), seeds=6, width=64, max_steps=60000),
)
# The rungs beyond the CPU budget, on a GPU (docs/gpu-report/ladder.sh): m^L = 512 and 1000 after the CPU rungs
GPU_LADDER = replace(FULL.ladder, ms=(*FULL.ladder.ms, 8, 10), gpu_ms=(8, 10))


def scale(v, n_c, m, L) -> int:
    """n_c m^L, the paper's P* of the deep CNN."""
    return ncmL(n_c, m, L)


def cnn_search(setting, mode: Mode, device: str) -> Bisection:
    v, n_c, m, L = setting
    low, high = (round(r * scale(*setting)) for r in mode.bracket)
    P_test = min(mode.P_test, count_data(n_c, m, S, L) - high)
    base = RunSpec(
        v=v,
        n_c=n_c,
        m=m,
        s=S,
        L=L,
        P=low,
        seed=0,
        P_test=P_test,
        model="cnn",
        width=mode.width,
        max_epochs=MAX_EPOCHS,
        max_steps=mode.max_steps,
        device=device,
        sensitivity_samples=min(mode.sensitivity_samples, P_test),
    )
    return Bisection(base, low, high, list(range(mode.seeds)))


def ladder_search(setting, ladder: Ladder, ratio: float, first: bool, device: str) -> Bisection:
    """The P* search of one ladder setting (v, n_c, m, L), warm-started from ``ratio`` = P*/(n_c m^L)
    unless it is on the ``first`` rung (Ladder's docstring)."""
    v, n_c, m, L = setting
    scaled = scale(*setting)
    low, high = ladder.bracket if first else (ratio / ladder.warm, ratio * ladder.warm)
    low, high = round(low * scaled), round(high * scaled)
    extra = sorted({max(1, round(ratio * f * scaled)) for f in ladder.sensitivity_points})
    P_max = count_data(n_c, m, S, L)
    P_test = min(1024, P_max - high)
    if P_test < 256:
        raise ValueError(f"ladder setting {setting}: P_max = {P_max} leaves no test set of >= 256 beside the bracket")
    base = RunSpec(
        v=v,
        n_c=n_c,
        m=m,
        s=S,
        L=L,
        P=low,
        seed=0,
        P_test=P_test,
        model="cnn",
        width=ladder.width,
        max_epochs=MAX_EPOCHS,
        max_steps=ladder.max_steps,
        device=device,
        sensitivity_samples=min(512, P_test),
    )
    return Bisection(
        base, low, high, list(range(ladder.seeds)), extra=extra, extensions=ladder.extensions, P_cap=P_max - P_test
    )


@dataclass
class LadderRuns:
    """What :func:`run_ladder` measured, per setting over all rungs in rung order: the setting, its
    search, its PStarResult and its stored rows (seed-major, as ``search.specs()``)."""

    settings: list
    searches: list
    results: list
    rows: list


def run_ladder(ladder: Ladder, store: ResultsStore, device: str, workers, progress: bool) -> LadderRuns:
    """Train the ladder's rungs in increasing m, each warm-started from the one before (ensembles of
    seeds; the rungs of ``ladder.gpu_ms`` on "cuda", the others on ``device``)."""
    runs = LadderRuns([], [], [], [])
    ratio = ladder.first_ratio
    for number, rung in enumerate(ladder.rungs()):
        rung_device = "cuda" if rung[0][2] in ladder.gpu_ms else device
        searches = [ladder_search(setting, ladder, ratio, number == 0, rung_device) for setting in rung]
        results = adaptive_pstars(
            searches,
            store,
            steps=ladder.steps,
            workers=workers,
            progress=progress,
            ensembles=True,
            resolution=MAX_BRACKET_RATIO,
        )
        found = [r.pstar / scale(*setting) for setting, r in zip(rung, results) if np.isfinite(r.pstar)]
        ratio = float(np.median(found)) if found else ratio
        runs.settings += rung
        runs.searches += searches
        runs.results += results
    runs.rows = [run_specs(search.specs(), store, workers=1) for search in runs.searches]  # all stored by now
    return runs


def ladder_checks(ladder: Ladder, runs: LadderRuns) -> list:
    """The three ladder checks (rhm_theory.report.pstar_ladders) of the measured ``runs``."""
    pairs = list(zip(runs.searches, runs.rows))
    wall = [sum(float(row["wall_seconds"]) for row in rows) for rows in runs.rows]  # a member's share of its ensemble's
    return pstar_ladders.pstar_ladder_checks(
        runs.settings,
        [(r.P_values, r.errors) for r in runs.results],
        converged=[reached_threshold(rows).reshape(len(search.seeds), len(search.measured)) for search, rows in pairs],
        sensitivities=[
            sensitivities(rows, len(search.seeds), search.measured, search.base.L) for search, rows in pairs
        ],
        seconds=wall,
        devices=[rows[0]["device"] for rows in runs.rows],
        s=S,
        seed=0,
        cost=Cost(ladder.seeds, sum(map(len, runs.rows)), sum(wall)),
    )


def ladder_section(out_dir: Path, ladder: Ladder, device: str, workers=None) -> Section:
    """The ladders alone, as docs/gpu-report/ladder.sh runs them: trained into (or reused from)
    ``out_dir``/sample_complexity_full.sqlite (the rungs of ``ladder.gpu_ms`` on "cuda", the others on
    ``device``), with their figure and table."""
    out_dir = Path(out_dir)
    with ResultsStore(out_dir / "sample_complexity_full.sqlite") as store:
        runs = run_ladder(ladder, store, device, workers, sys.stderr.isatty())
    checks = ladder_checks(ladder, runs)
    figure = save_figure(plot_ladders(checks, ladder), out_dir, "sample_complexity_ladders.png")
    return Section("P* ladders of the deep CNN", checks, "\n".join(ladder_markdown(ladder, runs)), [figure])


def fcn_grid(grammar, mode: Mode, device: str) -> tuple[RunSpec, list[int]]:
    v, n_c, m, L = grammar
    p_max = count_data(n_c, m, S, L)
    P_values = sorted({round(f * p_max) for f in mode.fcn_fractions})
    base = RunSpec(
        v=v,
        n_c=n_c,
        m=m,
        s=S,
        L=L,
        P=P_values[0],
        seed=0,
        P_test=min(2048, p_max - P_values[-1]),
        model="fcn",
        width=mode.fcn_width,
        lr=mode.fcn_lr,
        max_epochs=MAX_EPOCHS,
        max_steps=mode.fcn_max_steps,
        device=device,
    )
    return base, P_values


def table(rows, n_seeds: int, P_values, field: str) -> np.ndarray:
    """``field`` of the rows of grid_specs(base, P_values, seeds) as an array (n_seeds, n_P)."""
    return np.array([row[field] for row in rows], dtype=object).reshape(n_seeds, len(P_values))


def sensitivities(rows, n_seeds: int, P_values, L: int) -> np.ndarray:
    """S_{k,l} of the rows as (n_seeds, n_P, L, L), [..., k-1, l-1]."""
    S_kl = np.array(
        [[[row[f"S_k{k}_l{l}"] for l in range(1, L + 1)] for k in range(1, L + 1)] for row in rows], dtype=float
    )
    return S_kl.reshape(n_seeds, len(P_values), L, L)


def run(out_dir: Path, quick: bool = True) -> Section:
    mode = QUICK if quick else FULL
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / f"sample_complexity_{'quick' if quick else 'full'}.sqlite"
    progress = sys.stderr.isatty()
    start = time.perf_counter()
    with ResultsStore(database) as store:
        stored = len(store.finished_keys())
        searches = [cnn_search(setting, mode, device) for setting in mode.settings]
        results = adaptive_pstars(
            searches, store, steps=mode.steps, workers=mode.workers, progress=progress, resolution=MAX_BRACKET_RATIO
        )
        cnn_rows = [run_specs(search.specs(), store, workers=1) for search in searches]  # all stored by now
        fcn = [fcn_grid(grammar, mode, device) for grammar in mode.fcn_grammars]
        fcn_seeds = list(range(mode.fcn_seeds))
        fcn_rows = run_specs(
            [spec for base, P in fcn for spec in grid_specs(base, P, fcn_seeds)],
            store,
            workers=mode.workers,
            progress=progress,
        )
        ladder_runs = run_ladder(mode.ladder, store, device, mode.workers, progress)
        n_runs = len(store.finished_keys())
    seconds = time.perf_counter() - start

    curves = [(r.P_values, r.errors) for r in results]
    S_arrays = [
        sensitivities(rows, len(search.seeds), search.measured, search.base.L)
        for search, rows in zip(searches, cnn_rows)
    ]
    per_grammar = [
        fcn_rows[i * len(fcn_seeds) * len(P) : (i + 1) * len(fcn_seeds) * len(P)] for i, (_, P) in enumerate(fcn)
    ]
    fcn_curves = [
        (P, table(rows, len(fcn_seeds), P, "test_error").astype(float)) for (_, P), rows in zip(fcn, per_grammar)
    ]
    fcn_converged = [reached_threshold(rows).reshape(len(fcn_seeds), len(P)) for (_, P), rows in zip(fcn, per_grammar)]

    cnn_converged = [
        reached_threshold(rows).reshape(len(search.seeds), len(search.measured))
        for search, rows in zip(searches, cnn_rows)
    ]
    cost = Cost(
        mode.seeds, sum(map(len, cnn_rows)), sum(float(row["wall_seconds"]) for rows in cnn_rows for row in rows)
    )
    crossings = [
        crossing(v, n_c, m, S, L, n_grammars=mode.monte_carlo, seed=i) for i, (v, n_c, m, L) in enumerate(mode.settings)
    ]
    P_max = [count_data(n_c, m, S, L) for v, n_c, m, L in mode.settings]

    checks = learning_checks.pstar_scaling_checks(
        mode.settings, curves, s=S, converged=cnn_converged, seed=0, cost=cost
    )
    checks.append(
        learning_checks.pc_scaling_check(
            mode.settings, curves, [c.with_pbar for c in crossings], P_max, converged=cnn_converged, seed=0, cost=cost
        )
    )
    checks.append(
        learning_checks.fcn_pmax_check(
            [(v, n_c, m, S, L) for v, n_c, m, L in mode.fcn_grammars], fcn_curves, fcn_converged, seed=0
        )
    )
    checks.append(
        learning_checks.sensitivity_drop_check(mode.settings, curves, S_arrays, converged=cnn_converged, seed=0)
    )

    ladders = ladder_checks(mode.ladder, ladder_runs)
    checks += ladders

    figures = [
        save_figure(plot_collapse(mode.settings, results), out_dir, "sample_complexity_collapse.png"),
        save_figure(plot_fcn(mode.fcn_grammars, fcn_curves), out_dir, "sample_complexity_fcn.png"),
        save_figure(plot_sensitivity(mode.settings, results, S_arrays), out_dir, "sample_complexity_sensitivity.png"),
        save_figure(plot_ladders(ladders, mode.ladder), out_dir, "sample_complexity_ladders.png"),
    ]
    unconverged = sum(int((~flags).sum()) for flags in cnn_converged)
    notes = [
        f"Mode {'quick' if quick else 'full'}: {n_runs} runs in `{database.name}` ({n_runs - stored} trained now, {stored} "
        f"reused) on {device}, {seconds:.0f} s.",
        f"Deep CNN: width {mode.width}, SGD lr 0.1 x width (mean field), momentum 0.9, batch 128, stop at training loss 1e-3 "
        f"or {mode.max_steps} steps ({unconverged} of {sum(map(len, cnn_rows))} runs stopped at the step limit); P* by "
        f"bisection in log P from the bracket {mode.bracket[0]:g}..{mode.bracket[1]:g} x n_c m^L (at most {mode.steps} steps, "
        f"stopping at a bracket of x{MAX_BRACKET_RATIO:g}), {mode.seeds} seeds (new rules, data and initialisation per seed). "
        f"One-hidden-layer FCN: width {mode.fcn_width}, lr {mode.fcn_lr} x width, {mode.fcn_seeds} seeds, stop at loss 1e-3 or "
        f"{mode.fcn_max_steps} steps, same error threshold (0.1 x chance).",
        "",
        "P_c: the noise = signal crossing of the correlation theory (docs/theory.md), first order (closed form) and with the "
        f"fluctuations of pbar (signal from a {mode.monte_carlo}-grammar Monte Carlo where sigma_f2 is not exact; 99% interval). "
        "Resolution: the ratio of the two measured P around P* (rule: <= x1.3).",
        "",
        "| setting (v, n_c, m, L) | n_c m^L | P* | 95% CI | resolution | P*/(n_c m^L) | P_c first order | P_c with pbar [99%] | "
        "P*/P_c |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, r, c, (P, errors) in zip(mode.settings, results, crossings, curves):
        ratio = learning_checks.crossing_bracket(P, np.asarray(errors, float) / learning_checks.chance(setting[1]))[2]
        notes.append(
            f"| {setting} | {scale(*setting)} | {r.pstar:.4g} ({r.status}) | [{r.ci_low:.4g}, {r.ci_high:.4g}] | "
            f"x{ratio:.2f} | {r.pstar / scale(*setting):.3g} | {c.first_order:.4g} | {c.with_pbar:.4g} "
            f"[{c.low:.4g}, {c.high:.4g}]{'' if not c.signal_exact else ' (exact)'} | {r.pstar / c.with_pbar:.3g} |"
        )
    notes += ["", *diagnostics_markdown(mode.settings, curves)]
    notes += ["", *ladder_markdown(mode.ladder, ladder_runs)]
    return Section("Sample complexity of deep and shallow networks", checks, "\n".join(notes), figures)


def diagnostics_markdown(settings, curves) -> list[str]:
    """Markdown lines of the fit (c)'s influence (leave one setting out), its fit on n_c <= v, and its
    threshold robustness (P* at 0.1, 0.25 and 0.5 x chance): shown, never used to decide a check."""
    found = learning_checks.influence(settings, curves, seed=0)
    if found["full"] is None:
        return ["Influence: no joint fit on these settings."]
    full, half = found["full"], found["half_width"]
    lines = [
        f"Influence on the joint fit (c): exponents (a, b, c) = ({full[0]:.3f}, {full[1]:.3f}, {full[2]:.3f}), bootstrap "
        f"half-widths ({half[0]:.3f}, {half[1]:.3f}, {half[2]:.3f}). Leave one setting out:",
        "",
        "| setting left out | a | b | c |",
        "|---|---|---|---|",
    ]
    for setting, exponents in found["leave_one_out"]:
        shown = " | ".join(f"{x:.3f}" for x in exponents) if exponents is not None else "no fit | - | -"
        lines.append(f"| {setting} | {shown} |")
    moved = "; ".join(f"{setting} moves {name} by {shift:+.3f}" for setting, name, shift in found["influential"])
    lines += ["", f"Settings whose removal moves an exponent by more than its half-width: {moved or 'none'}."]
    if found["domain"] is not None:
        n, exponents, low, high = found["domain"]
        lines.append(
            f"Fit on the {n} settings with n_c <= v: "
            + ", ".join(
                f"{name} = {x:.3f} [{lo:.3f}, {hi:.3f}]" for name, x, lo, hi in zip("abc", exponents, low, high)
            )
            + " (plain bootstrap intervals)."
        )
    lines += [
        "",
        "Threshold robustness (same runs; P* at 0.1 x chance decides):",
        "",
        "| P* at | a | b | c |",
        "|---|---|---|---|",
    ]
    for fraction, fit in learning_checks.threshold_robustness(settings, curves, seed=0):
        if fit is None:
            lines.append(f"| {fraction:g} x chance | no fit (a crossing outside its grid) | - | - |")
            continue
        lines.append(
            f"| {fraction:g} x chance | "
            + " | ".join(f"{x:.3f} [{lo:.3f}, {hi:.3f}]" for x, lo, hi in zip(fit.exponents, fit.ci_low, fit.ci_high))
            + " |"
        )
    return lines


def ladder_markdown(ladder: Ladder, runs: LadderRuns) -> list[str]:
    """Markdown lines of the ladders' design and their per-setting P* (the rungs are in the checks)."""
    rows = runs.rows
    under = sum(int((~reached_threshold(r)).sum()) for r in rows)
    wall = sum(float(row["wall_seconds"]) for r in rows for row in r)
    lines = [
        f"P* ladders (docs/theory.md, 'P* ladders of the deep CNN'): deep CNN width {ladder.width}, {ladder.seeds} seeds, "
        f"ensembles of seeds, stop at training loss 1e-3 or {ladder.max_steps} steps ({under} of {sum(map(len, rows))} runs "
        f"stopped at the limit); v = {ladder.v}, L = {ladder.L}, n_c in {ladder.n_cs}, m in {ladder.ms}; first rung from "
        f"{ladder.bracket[0]:g}..{ladder.bracket[1]:g} x n_c m^L, later rungs warm-started at r/{ladder.warm:g}..r x "
        f"{ladder.warm:g} (r: the previous rung's median P*/(n_c m^L)); {wall:.0f} s of run wall time in all.",
        "",
        "| setting (v, n_c, m, L) | n_c m^L | bracket started | P measured | P* | 95% CI | P*/(n_c m^L) |",
        "|---|---|---|---|---|---|---|",
    ]
    for setting, search, r in zip(runs.settings, runs.searches, runs.results):
        lines.append(
            f"| {setting} | {scale(*setting)} | {search.P_low}..{search.P_high} | {len(search.measured)} | "
            f"{r.pstar:.4g} ({r.status}) | [{r.ci_low:.4g}, {r.ci_high:.4g}] | {r.pstar / scale(*setting):.3g} |"
        )
    return lines


def plot_ladders(checks, ladder: Ladder):
    """The three P* ladders (n_c exponent, m^L exponent, S_{k,l} drop): each rung's estimate with its
    95% interval against the rung's size, claim and alternatives. Returns the Figure."""
    alternatives = [
        learning_checks.N_C_ALTERNATIVES,
        pstar_ladders.m_L_alternatives(S, ladder.L),
        pstar_ladders.DROP_ALTERNATIVES,
    ]
    return ladder_figure(
        checks,
        alternatives,
        xlabel=["$m^L$", "$n_c$", "$m^L$"],
        ylabel=["$n_c$ exponent of $P^*$", "$m^L$ exponent of $P^*$", "$\\log_2(P_{half}/P^*)$"],
        labels=["$n_c$ exponent per $m^L$", "$m^L$ exponent per $n_c$", "$S_{k,l}$ drop per $m^L$"],
    )


NAMES = ("v", "n_c", "m", "L")  # a setting (v, n_c, m, L); s = S throughout


def plot_collapse(settings, results):
    """Left: deep-CNN test error / chance (mean over seeds) vs P / (n_c m^L), one curve per setting
    (v, n_c, m, L), with the P* threshold; right: P* (95 % bootstrap CI) vs n_c m^L, each point labelled by
    the number of its setting in the legend (full labels would overlap where settings share n_c m^L).
    ``results``: one PStarResult per setting. Returns the Figure."""
    labels, constant = split_settings(settings, NAMES)
    labels = [f"{i}: {label}" for i, label in enumerate(labels, start=1)]
    fig, axes = new_figure(1, 2, figsize=(10, 3.9))
    missing = []
    for setting, r, label in zip(settings, results, labels):
        n_c = setting[1]
        (line,) = axes[0].plot(
            np.array(r.P_values) / scale(*setting), r.mean_errors / learning_checks.chance(n_c), "o-", ms=3, label=label
        )
        if not np.isfinite(r.pstar):
            missing.append(label)
            continue
        axes[1].errorbar(
            scale(*setting),
            r.pstar,
            yerr=[[r.pstar - r.ci_low], [max(r.ci_high - r.pstar, 0)]],
            fmt="o",
            color=line.get_color(),
            capsize=3,
        )
    axes[0].axhline(learning_checks.PSTAR_FRACTION, color="k", ls=":", label="$P^*$ threshold")
    axes[0].set(xscale="log", xlabel=P_SCALED, ylabel="test error / chance")
    axes[0].set_title(f"deep CNN, $s={S}${', ' + constant if constant else ''}; mean over seeds", fontsize="medium")
    legend_outside(axes[0], below=True)
    finite = [(scale(*s), r.pstar) for s, r in zip(settings, results) if np.isfinite(r.pstar)]
    if not finite:
        annotate_empty(axes[1], "no setting's error fell below the $P^*$ threshold")
        return fig
    label_points(axes[1], *zip(*finite), [str(i) for i, r in enumerate(results, start=1) if np.isfinite(r.pstar)])
    scales = np.array([x for x, _ in finite], dtype=float)
    ratio = np.exp(np.mean([np.log(y / x) for x, y in finite]))
    grid = np.geomspace(scales.min() / 1.5, scales.max() * 1.5, 10)
    axes[1].plot(grid, ratio * grid, "k:", label="$P^* \\propto n_c m^L$")
    axes[1].set(xscale="log", yscale="log", xlabel="$n_c m^L$", ylabel="$P^*$")
    axes[1].margins(x=0.1, y=0.15)
    axes[1].set_title(
        "$P^*$ per setting; bars: 95 % bootstrap CI over seeds"
        + (f"\nno $P^*$ in the bracket: {'; '.join(missing)}" if missing else ""),
        fontsize="medium",
    )
    legend_outside(axes[1])
    return fig


def plot_fcn(grammars, curves):
    """One-hidden-layer FCN test error / chance (mean over seeds) vs P / P_max (left) and P / (n_c m^L)
    (right), one curve per grammar (v, n_c, m, L), with the deep CNN's P* threshold. Returns the Figure."""
    labels, constant = split_settings(grammars, NAMES)
    fig, axes = new_figure(1, 2, figsize=(10, 3.6), sharey=True)
    for (v, n_c, m, L), (P, errors), label in zip(grammars, curves, labels):
        normalised = errors.mean(axis=0) / learning_checks.chance(n_c)
        (line,) = axes[0].plot(np.array(P) / count_data(n_c, m, S, L), normalised, "o-", label=label)
        axes[1].plot(np.array(P) / scale(v, n_c, m, L), normalised, "o-", color=line.get_color())
    for ax, xlabel in zip(axes, (r"$P\,/\,P_{\max}$", P_SCALED)):
        ax.axhline(learning_checks.PSTAR_FRACTION, color="k", ls=":", label="deep CNN's $P^*$ threshold")
        ax.set(xscale="log", xlabel=xlabel)
    axes[0].set_ylabel("FCN test error / chance")
    legend_outside(axes[1], axes[0])
    fig.suptitle(
        f"one-hidden-layer FCN, $s={S}${', ' + constant if constant else ''}; mean over seeds", fontsize="medium"
    )
    return fig


def plot_sensitivity(settings, results, S_arrays, shown: int = 3):
    """S_{k,l} / S_{k,l}(smallest P) (mean over seeds) against P / P* for the first ``shown`` settings;
    a setting without a finite P* gets a panel that says so. Returns the Figure."""
    labels, _ = split_settings(settings, NAMES)
    shown = min(shown, len(settings))
    fig, axes = new_figure(1, shown, figsize=(3.3 * shown + 1.3, 3.4), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, setting, r, S_kl, label in zip(axes, settings, results, S_arrays, labels):
        ax.set_title(label or f"$(v, n_c, m, L) = {setting}$", fontsize="small")
        if not np.isfinite(r.pstar):
            annotate_empty(ax, "no finite $P^*$:\nP / P* undefined")
            continue
        L = setting[3]
        for k in range(L):
            for l in range(L):
                curve = S_kl[:, :, k, l].mean(axis=0)
                if k > l:  # the claim: halves near P*; one colour per (k, l)
                    ax.plot(
                        np.array(r.P_values) / r.pstar,
                        curve / curve[0],
                        "o-",
                        ms=3,
                        color=f"C{(k * (k - 1) // 2 + l) % 10}",
                        label=f"$S_{{{k + 1},{l + 1}}}$",
                    )
                else:
                    ax.plot(
                        np.array(r.P_values) / r.pstar,
                        curve / curve[0],
                        "--",
                        color="0.55",
                        lw=1,
                        label="$S_{k,l}$, $k \\leq l$" if k == l == 0 else None,
                    )
        ax.axhline(learning_checks.HALF, color="k", ls=":", label="half")
        ax.axvspan(1 / learning_checks.ORDER, learning_checks.ORDER, color="0.9", label="$P^*/2$ to $2P^*$")
        ax.set(xscale="log", xlabel="$P\\,/\\,P^*$")
    axes[0].set_ylabel("$S_{k,l}$ / $S_{k,l}$ at the smallest $P$")
    legend_outside(axes[-1], max(axes, key=lambda ax: len(ax.get_legend_handles_labels()[1])))
    fig.suptitle("synonymic sensitivity of the deep CNN, mean over seeds", fontsize="medium")
    return fig


if __name__ == "__main__":
    section_main(run, __doc__)
