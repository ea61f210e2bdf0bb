"""The sparse RHM (arXiv:2404.10727; docs/theory-sparse.md): exact counting with latent positions, and
the mechanism behind the LCN sample complexity (the paper's Sec. 6), measured on sampled data.

(a) p_max = n_c (m Q)^n_nodes equals the number of distinct enumerated data, variants A and B.
(b) The sampling noise of the empirical class-token correlations at one input position, measured at
    fixed P for several s0, grows as (s0+1)^L: so does the noise = signal crossing P_c, since the
    signal (the correlations of informative tokens) does not depend on s0 in variant A. The exponent
    is fitted with a 95 % interval, which must contain L and exclude 2 (the CNN's empirical exponent)
    and 0 (no effect of sparsity).
(c) Trained networks (the paper's empirical claims): P* of the LCN and the CNN (filter = stride =
    s(s0+1)) found by bisection in log P at each s0, fitted as P* ~ (s0+1)^k: k = L for the LCN, 2 for
    the CNN, each rejecting the other's exponent; the error curves collapse against
    P / ((s0+1)^k n_c m^L); the last hidden layer's sensitivities to diffeomorphisms D and to synonymic
    exchanges S of the input halve at P ~ P*; the test error and D are correlated across P. The
    decisions are in rhm_theory.report.sparse_checks. Ladders: the (s0+1) exponent of each model at
    several base grammars (``LADDER_GRAMMARS``, size n_c m^L), each rung the full design of its mode,
    decided by the trend verdict (docs/theory.md, 'Trend verdicts'). Runs are stored in sparse_{quick,full}.sqlite in
    the output folder and reused by the next call (delete the file to recompute). The quick mode
    (L = 2, where both exponents are 2, and 2 seeds) is a smoke test; the full mode (L = 3) discriminates.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import n_nodes, ncmL, sparse_p_max
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.report import sparse_checks
from rhm_theory.report.checks import Check, Section, reached_threshold, section_main
from rhm_theory.report.figures import label_log_axis, new_figure, save_figure
from rhm_theory.report.learning_checks import HALF, ORDER, PSTAR_FRACTION, chance
from rhm_theory.report.trends import ladder_figure
from rhm_theory.runs.pstar import Bisection, adaptive_pstars, run_specs
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.store import ResultsStore
from rhm_theory.theory.sparse_exact import class_token_probs
from rhm_theory.theory.stats import fit_slope

COUNT_SETTINGS = [((3, 2, 2, 2, 2), s0) for s0 in (0, 1)] + [((2, 2, 2, 3, 1), s0) for s0 in (1, 2, 3)]
QUICK = {"grammar": (8, 8, 4, 2, 3), "s0_values": (0, 1, 2), "P": 16_000, "replicates": 4}
FULL = {"grammar": (8, 8, 4, 2, 3), "s0_values": (0, 1, 2, 3), "P": 30_000, "replicates": 6}
S = 2
MAX_EPOCHS = 10**6  # runs stop at the training-loss threshold (1e-3) or after max_steps SGD steps


@dataclass(frozen=True)
class Learning:
    """Trained networks of one mode: ``models`` on the sparse RHM (variant A) of ``grammar`` = (v, n_c, m, L),
    s = 2, at each of ``s0_values``; P* by bisection (``steps``) from the bracket ``bracket`` x the model's
    claimed law (s0+1)^k n_c m^L; every run also measures S and D on ``sensitivity_samples`` test data.
    The seeds of each run train together as one ensemble, one ensemble per worker process (``workers``:
    1 trains in this process, None one process per core). Training: Adam at ``lr`` on
    the standard parametrisation (measured: it fits these training sets in a few hundred steps, where
    mean-field SGD at lr 0.1 x width had not after 3000)."""

    grammar: tuple
    s0_values: tuple
    models: tuple
    seeds: int
    width: int
    optimizer: str
    parametrization: str
    lr: float
    bracket: tuple
    steps: int
    max_steps: int
    P_test: int
    sensitivity_samples: int
    workers: int | None = None


ADAM = {"optimizer": "adam", "parametrization": "standard", "lr": 0.003}
QUICK_LEARNING = Learning(
    grammar=(4, 2, 2, 2),
    s0_values=(1, 2),
    models=("lcn", "cnn"),
    seeds=2,
    width=32,
    **ADAM,
    bracket=(1, 8),
    steps=1,
    max_steps=1000,
    P_test=256,
    sensitivity_samples=128,
    workers=1,
)  # seconds of training: starting worker processes would cost more
FULL_LEARNING = Learning(
    grammar=(4, 2, 2, 3),
    s0_values=(0, 1, 2, 3),
    models=("lcn", "cnn"),
    seeds=8,
    width=64,
    **ADAM,
    bracket=(0.5, 16),
    steps=3,
    max_steps=4000,
    P_test=512,
    sensitivity_samples=256,
)
# base grammars (v, n_c, m, L) of the exponent ladders, smallest first; the first is the mode's own
# (docs/theory-sparse.md, 'Ladders of the (s0+1) exponents'; size n_c m^L)
LADDER_GRAMMARS = {"quick": ((4, 2, 2, 2), (4, 4, 2, 2)), "full": ((4, 2, 2, 3), (4, 4, 2, 3))}


def ladder_modes(mode: Learning, grammars) -> list[Learning]:
    """One Learning per rung: ``mode`` with each base grammar of ``grammars`` (everything else kept)."""
    return [dataclasses.replace(mode, grammar=tuple(grammar)) for grammar in grammars]


def distinct_data(model: SparseRHM) -> int:
    """Number of distinct inputs among all enumerated data."""
    x, _ = model.enumerate()
    return len({row.tobytes() for row in x})


def check_counts(count=distinct_data) -> Check:
    """``count(model)``: the measured number of data of a SparseRHM, compared with its p_max."""
    rows, ok = [], True
    for params, s0 in COUNT_SETTINGS:
        for variant in ("A", "B"):
            model = SparseRHM(Grammar.random(*params, seed=0), s0, variant)
            measured = count(model)
            rhm_count = params[1] * params[2] ** n_nodes(params[3], params[4])
            ok &= measured == model.p_max and (s0 == 0 or measured != rhm_count)
            rows.append(f"{variant}{params} s0={s0}: {measured} of p_max {model.p_max}")
    return Check(
        "p_max = n_c (m Q)^n_nodes = number of distinct enumerated data (variants A, B)",
        ok,
        f"{len(rows)} settings; e.g. {rows[-1]}",
        alternatives=("positions not latent: p_max = n_c m^n_nodes as in the RHM",),
        kind="discriminating",
        measured=float(ok),
    )


def correlation_noise(model: SparseRHM, P: int, seed, position: int = 0) -> float:
    """Mean over classes and informative tokens of (n_c f_emp - n_c f)^2 at ``position`` from P i.i.d. data."""
    exact = class_token_probs(model, position)[:, : model.v]  # (n_c, v)
    f_exact = exact / exact.sum(axis=0)
    x, y = model.sample(P, seed=seed, replace=True)
    counts = np.zeros((model.n_c, model.v + 1))
    np.add.at(counts, (y, x[:, position]), 1)
    counts = counts[:, : model.v]
    seen = counts.sum(axis=0) > 0
    f_emp = counts[:, seen] / counts[:, seen].sum(axis=0)
    return float((model.n_c**2 * (f_emp - f_exact[:, seen]) ** 2).mean())


def noise_exponent_check(s0_values, noises, L: int, label: str = "") -> Check:
    """Fit log(noise) = a + b log(s0+1) over replicates (noises: (len(s0_values), replicates))."""
    noises = np.asarray(noises, dtype=float)
    x = np.repeat(np.log(np.asarray(s0_values) + 1.0), noises.shape[1])
    slope, low, high = fit_slope(x, np.log(noises).ravel())
    alternatives = {"CNN exponent 2 (the paper's empirical P*_CNN)": 2.0, "no sparsity effect (exponent 0)": 0.0}
    passed = low <= L <= high and all(not low <= a <= high for a in alternatives.values())
    return Check(
        f"correlation noise at fixed P grows as (s0+1)^L, L = {L}{label}",
        passed,
        f"exponent {slope:.2f}, 95% CI [{low:.2f}, {high:.2f}]",
        alternatives=tuple(alternatives),
        kind="discriminating",
        measured=slope,
    )


def measure_noise(params, s0_values, P, replicates) -> np.ndarray:
    grammar = Grammar.random(*params, seed=0)
    return np.array(
        [
            [correlation_noise(SparseRHM(grammar, s0, "A"), P, seed=100 * s0 + r) for r in range(replicates)]
            for s0 in s0_values
        ]
    )


def plot_noise(s0_values, noises, L, P):
    fig, ax = new_figure(figsize=(5, 4))
    base = np.asarray(s0_values) + 1.0
    mean = noises.mean(axis=1)
    for column in noises.T:
        ax.scatter(base, column * P, color="tab:blue", s=12)
    for exponent, style in ((L, "-"), (2, "--")):
        ax.plot(base, mean[0] * P * base**exponent, style, color="gray", label=f"$(s_0+1)^{{{exponent}}}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(base, [str(int(b)) for b in base])
    ax.set_xlabel("$s_0 + 1$")
    ax.set_ylabel(r"$P \times$ correlation noise (one position)")
    ax.set_title(f"sparse RHM A, $L = {L}$, $P = {P}$")
    ax.legend()
    return fig


def search(model: str, s0: int, mode: Learning, device: str) -> Bisection:
    """The P* search of ``model`` at sparsity s0: bracket ``mode.bracket`` x its claimed law (s0+1)^k n_c m^L
    (which holds the other architecture's law too), capped at p_max / 2 so that a test set remains."""
    v, n_c, m, L = mode.grammar
    law = (s0 + 1) ** sparse_checks.claimed_exponent(model, L) * ncmL(n_c, m, L)
    data = sparse_p_max(n_c, m, S, L, s0, "A")
    low, high = round(mode.bracket[0] * law), min(round(mode.bracket[1] * law), data // 2)
    P_test = min(mode.P_test, data - high)
    base = RunSpec(
        v=v,
        n_c=n_c,
        m=m,
        s=S,
        L=L,
        s0=s0,
        P=low,
        seed=0,
        P_test=P_test,
        model=model,
        width=mode.width,
        optimizer=mode.optimizer,
        parametrization=mode.parametrization,
        lr=mode.lr,
        max_epochs=MAX_EPOCHS,
        max_steps=mode.max_steps,
        device=device,
        sensitivity_samples=min(mode.sensitivity_samples, P_test),
    )
    return Bisection(base, low, high, list(range(mode.seeds)))


def sensitivity_table(rows, n_seeds: int, n_P: int, name: str) -> np.ndarray:
    """Column ``name`` (e.g. D_k3_l1) of the rows of a search's specs (seed-major) as (n_seeds, n_P)."""
    return np.array([row[name] for row in rows], dtype=float).reshape(n_seeds, n_P)


def learning_checks(mode: Learning, results: dict, tables: dict) -> list[Check]:
    """The checks of rhm_theory.report.sparse_checks for every model; ``results[model]``: PStarResult per s0,
    ``tables[model]``: {"D": [...], "S": [...], "converged": [...]} arrays (n_seeds, n_P) per s0."""
    _v, n_c, _m, L = mode.grammar
    checks = []
    for model in mode.models:
        curves = [(r.P_values, r.errors) for r in results[model]]
        sparse = [i for i, s0 in enumerate(mode.s0_values) if s0 > 0]  # no diffeomorphism exists at s0 = 0
        s0_sparse, curves_sparse = [mode.s0_values[i] for i in sparse], [curves[i] for i in sparse]
        D, S_, trained_sparse = ([tables[model][name][i] for i in sparse] for name in ("D", "S", "converged"))
        trained = tables[model]["converged"]
        checks += [
            sparse_checks.sparsity_exponent_check(
                model, mode.s0_values, curves, n_c=n_c, L=L, seed=0, converged=trained
            ),
            sparse_checks.collapse_check(model, mode.s0_values, curves, n_c=n_c, L=L, converged=trained),
            sparse_checks.invariance_drop_check(
                model,
                s0_sparse,
                curves_sparse,
                {f"D_{L},1": D, f"S_{L},1": S_},
                n_c=n_c,
                seed=0,
                converged=trained_sparse,
            ),
            sparse_checks.error_sensitivity_correlation_check(
                model, f"D_{L},1", s0_sparse, curves_sparse, D, n_c=n_c, seed=0, converged=trained_sparse
            ),
        ]
    return checks


def train_all(mode: Learning, store: ResultsStore, device: str):
    """P* searches of every (model, s0) in lockstep; returns (results, tables) as :func:`learning_checks` takes them.
    The networks are small, so torch runs on one thread (measured on a busy 2-core machine: the quick mode
    took 20 s of CPU on one thread, 80-100 s on two); its setting is restored afterwards."""
    L = mode.grammar[3]
    searches = {(model, s0): search(model, s0, mode, device) for model in mode.models for s0 in mode.s0_values}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        found = adaptive_pstars(list(searches.values()), store, steps=mode.steps, workers=mode.workers, ensembles=True)
    finally:
        torch.set_num_threads(threads)
    results = {model: [] for model in mode.models}
    tables = {model: {"D": [], "S": [], "converged": [], "seconds": []} for model in mode.models}
    for (model, _), bisection, result in zip(searches, searches.values(), found):
        rows = run_specs(bisection.specs(), store, ensembles=True)  # all stored by now
        results[model].append(result)
        for name in ("D", "S"):
            tables[model][name].append(sensitivity_table(rows, mode.seeds, len(bisection.measured), f"{name}_k{L}_l1"))
        tables[model]["converged"].append(reached_threshold(rows).reshape(mode.seeds, len(bisection.measured)))
        tables[model]["seconds"].append(sum(float(row.get("wall_seconds") or 0.0) for row in rows))
    return results, tables


def ladder_checks(rungs, device: str) -> list[Check]:
    """The ladder check of each model (rhm_theory.report.sparse_checks.sparsity_ladder_check);
    ``rungs``: [(Learning, results, tables)] as :func:`train_all` returns them, one per base grammar."""
    checks = []
    for model in rungs[0][0].models:
        measured = []
        for mode, results, tables in rungs:
            _v, n_c, m, L = mode.grammar
            measured.append(
                {
                    "size": ncmL(n_c, m, L),
                    "n_c": n_c,
                    "s0_values": mode.s0_values,
                    "device": device,
                    "curves": [(r.P_values, r.errors) for r in results[model]],
                    "converged": tables[model]["converged"],
                    "seconds": sum(tables[model]["seconds"]) or None,
                }
            )
        checks.append(sparse_checks.sparsity_ladder_check(model, measured, L=rungs[0][0].grammar[3], seed=0))
    return checks


def plot_ladders(checks, L: int):
    """The exponent ladders (one panel per model) against n_c m^L: each model's claim solid, its
    alternatives (the other architecture's k, and 0) dashed."""
    alternatives = [sparse_checks.exponent_alternatives(c.name.split(" ")[0].lower(), L) for c in checks]
    fig = ladder_figure(
        checks,
        alternatives,
        xlabel="base grammar size $n_c m^L$",
        ylabel="exponent $k$ of $P^* \\sim (s_0+1)^k$",
        labels=[f"{c.name.split(' ')[0]} ladder" for c in checks],
    )
    sizes = sorted({r["size"] for c in checks for r in c.trend})
    for ax in fig.axes:
        if sizes:
            ax.set_xlim(sizes[0] / 1.3, sizes[-1] * 1.3)
            ax.set_xticks(sizes, [f"{s:g}" for s in sizes])
        ax.minorticks_off()
    return fig


def plot_pstar(mode: Learning, results: dict):
    v, n_c, m, L = mode.grammar
    base = np.asarray(mode.s0_values) + 1.0
    fig, ax = new_figure(figsize=(5.5, 4.2))
    for model, color in zip(mode.models, ("tab:blue", "tab:orange")):
        pstar = np.array([r.pstar for r in results[model]]) / ncmL(n_c, m, L)
        low = np.array([r.ci_low for r in results[model]]) / ncmL(n_c, m, L)
        high = np.array([r.ci_high for r in results[model]]) / ncmL(n_c, m, L)
        finite = np.isfinite(pstar)
        ax.errorbar(
            base[finite],
            pstar[finite],
            yerr=[(pstar - low)[finite], np.clip(high - pstar, 0, None)[finite]],
            fmt="o",
            color=color,
            capsize=3,
            label=f"{model.upper()} $P^*$ (95% CI over seeds)",
        )
        k = sparse_checks.claimed_exponent(model, L)
        anchor = pstar[finite][0] / base[finite][0] ** k if finite.any() else 1.0
        ax.plot(
            base, anchor * base**k, "-" if model == "lcn" else "--", color=color, label=f"claim $(s_0+1)^{{{k:g}}}$"
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="$s_0 + 1$",
        ylabel="$P^* / (n_c m^L)$",
        title=f"sparse RHM A, $(v, n_c, m, s, L) = ({v}, {n_c}, {m}, {S}, {L})$",
    )
    ax.set_xticks(base, [str(int(b)) for b in base])
    ax.legend(fontsize=7)
    return fig


def plot_collapse(mode: Learning, results: dict):
    _v, n_c, m, L = mode.grammar
    fig, axes = new_figure(len(mode.models), 2, figsize=(9, 3.6 * len(mode.models)), squeeze=False, sharey=True)
    for row, model in zip(axes, mode.models):
        claim = sparse_checks.claimed_exponent(model, L)
        other = sparse_checks.claimed_exponent("cnn" if model == "lcn" else "lcn", L)
        for ax, k, what in ((row[0], claim, "claim"), (row[1], other, "other architecture's")):
            for s0, r in zip(mode.s0_values, results[model]):
                x = np.array(r.P_values) / ((s0 + 1) ** k * ncmL(n_c, m, L))
                ax.plot(x, r.mean_errors / chance(n_c), "o-", ms=3, label=f"$s_0 = {s0}$")
            ax.axhline(PSTAR_FRACTION, color="k", ls=":")
            ax.set_xscale("log")
            label_log_axis(ax.xaxis)
            ax.set(xlabel=f"$P / ((s_0+1)^{{{k:g}}} n_c m^L)$", title=f"{model.upper()}, {what} k = {k:g}")
        row[0].set_ylabel("test error / chance (seed mean)")
        row[0].legend(fontsize=7)
    fig.suptitle("collapse of the test error (dotted: the P* threshold)")
    return fig


def plot_sensitivities(mode: Learning, results: dict, tables: dict):
    _v, n_c, _m, L = mode.grammar
    fig, axes = new_figure(len(mode.models), 2, figsize=(9, 3.6 * len(mode.models)), squeeze=False)
    for row, model in zip(axes, mode.models):
        for s0, r, D, S_ in zip(mode.s0_values, results[model], tables[model]["D"], tables[model]["S"]):
            x = np.array(r.P_values) / r.pstar
            (line,) = row[0].plot(x, S_.mean(axis=0) / S_.mean(axis=0)[0], "x--", ms=4, label=f"$S$, $s_0 = {s0}$")
            if s0 > 0:  # D = 0 at s0 = 0: no diffeomorphism exists
                row[0].plot(
                    x,
                    D.mean(axis=0) / D.mean(axis=0)[0],
                    "o-",
                    ms=3,
                    color=line.get_color(),
                    label=f"$D$, $s_0 = {s0}$",
                )
                row[1].scatter(
                    D.mean(axis=0), r.mean_errors / chance(n_c), s=14, color=line.get_color(), label=f"$s_0 = {s0}$"
                )
        row[0].axhline(HALF, color="k", ls=":")
        row[0].axvspan(1 / ORDER, ORDER, color="0.9")
        row[0].set_xscale("log")
        label_log_axis(row[0].xaxis)
        row[0].set(
            xlabel="$P / P^*$",
            ylabel="sensitivity / its value at the smallest P",
            title=f"{model.upper()}: $D_{{{L},1}}$ and $S_{{{L},1}}$ (grey: $P^*$ within x2)",
        )
        row[0].legend(fontsize=6, ncol=2)
        row[1].set_xscale("log")
        label_log_axis(row[1].xaxis)
        row[1].set(
            xlabel=f"$D_{{{L},1}}$ (seed mean)",
            ylabel="test error / chance",
            title=f"{model.upper()}: error vs D (each P)",
        )
        row[1].legend(fontsize=7)
    return fig


def learning_notes(
    mode: Learning, results: dict, n_runs: int, trained: int, seconds: float, device: str, unconverged: int
) -> str:
    v, n_c, m, L = mode.grammar
    lines = [
        f"(c): sparse RHM A, (v, n_c, m, s, L) = ({v}, {n_c}, {m}, {S}, {L}), s0 in {mode.s0_values}; {n_runs} runs in "
        f"the results file ({trained} trained now) on {device}, {seconds:.0f} s. LCN and CNN with filter = stride = s(s0+1), "
        f"width {mode.width}, {mode.parametrization} parametrisation, {mode.optimizer} at lr {mode.lr}, batch 128, stop at training loss 1e-3 or "
        f"{mode.max_steps} steps ({unconverged} runs stopped at the step limit); {mode.seeds} seeds (new rules, data and "
        f"initialisation each); P* by bisection in log P ({mode.steps} steps); D and S of the last hidden layer (k = L) "
        f"to diffeomorphisms and synonymic exchanges of the input (l = 1) on {mode.sensitivity_samples} test data.",
        "",
        "| model | s0 | P* | 95% CI | P*/(n_c m^L) |",
        "|---|---|---|---|---|",
    ]
    for model in mode.models:
        for s0, r in zip(mode.s0_values, results[model]):
            lines.append(
                f"| {model.upper()} | {s0} | {r.pstar:.4g} ({r.status}) | [{r.ci_low:.4g}, {r.ci_high:.4g}] | "
                f"{r.pstar / ncmL(n_c, m, L):.3g} |"
            )
    return "\n".join(lines)


def run(out_dir: Path, quick: bool = True) -> Section:
    mode = QUICK if quick else FULL
    learning = QUICK_LEARNING if quick else FULL_LEARNING
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    L = mode["grammar"][4]
    noises = measure_noise(mode["grammar"], mode["s0_values"], mode["P"], mode["replicates"])
    checks = [check_counts(), noise_exponent_check(mode["s0_values"], noises, L)]
    figures = [save_figure(plot_noise(mode["s0_values"], noises, L, mode["P"]), out_dir, "sparse_noise.png")]

    device = "cuda" if torch.cuda.is_available() else "cpu"
    start = time.perf_counter()
    with ResultsStore(out_dir / f"sparse_{'quick' if quick else 'full'}.sqlite") as store:
        stored = len(store.finished_keys())
        results, tables = train_all(learning, store, device)
        n_runs = len(store.finished_keys())
        unconverged = int(
            (
                ~reached_threshold(
                    [
                        row
                        for row in store.rows()  # the base grammar's runs only
                        if (row["v"], row["n_c"], row["m"], row["L"]) == learning.grammar
                    ]
                )
            ).sum()
        )
    seconds = time.perf_counter() - start
    checks += learning_checks(learning, results, tables)
    rungs = [(learning, results, tables)]
    start_ladder = time.perf_counter()
    with ResultsStore(out_dir / f"sparse_{'quick' if quick else 'full'}.sqlite") as store:
        before = len(store.finished_keys())
        for rung in ladder_modes(learning, LADDER_GRAMMARS["quick" if quick else "full"])[1:]:
            rungs.append((rung, *train_all(rung, store, device)))
        ladder_trained = len(store.finished_keys()) - before
    ladder_seconds = time.perf_counter() - start_ladder
    ladders = ladder_checks(rungs, device)
    checks += ladders
    figures += [
        save_figure(plot_pstar(learning, results), out_dir, "sparse_pstar.png"),
        save_figure(plot_collapse(learning, results), out_dir, "sparse_collapse.png"),
        save_figure(plot_sensitivities(learning, results, tables), out_dir, "sparse_sensitivity.png"),
        save_figure(plot_ladders(ladders, learning.grammar[3]), out_dir, "sparse_ladders.png"),
    ]
    notes = (
        f"(b): grammar (v, n_c, m, s, L) = {mode['grammar']}, variant A, s0 in {mode['s0_values']}, "
        f"P = {mode['P']} i.i.d. data per point, {mode['replicates']} replicates; noise = mean over classes and "
        "informative tokens of (n_c f_emp - n_c f_exact)^2 at input position 0.\n\n"
        + learning_notes(learning, results, n_runs, n_runs - stored, seconds, device, unconverged)
        + "\n\nLadders of the (s0+1) exponents: rungs (v, n_c, m, L) = "
        + ", ".join(f"{r[0].grammar} (n_c m^L = {ncmL(*r[0].grammar[1:])})" for r in rungs)
        + f", each the design above; {ladder_trained} runs trained now for the added rungs, {ladder_seconds:.0f} s."
    )
    return Section(
        "Sparse RHM: counting, the sparsity factor of the correlation noise, and trained networks",
        checks,
        notes,
        figures,
    )


if __name__ == "__main__":
    section_main(run, __doc__)
