"""Sample complexity of deep CNNs on the RHM: P* ~ n_c m^L (docs/theory.md, 'Sample complexity').

Trains hierarchical CNNs on a geometric grid of training-set sizes P for several seeds (new rules, data
and initialisation per seed) and checks: (a) test error vs P / (n_c m^L) collapses across (n_c, m, L);
(b) log P* vs log(n_c m^L) has slope 1; (c) P* does not depend on v; (d) a one-hidden-layer FCN on a
small maximal grammar needs P of order P_max; (e) the synonymic sensitivities S_{k,l}, k > l, drop
around P*. Runs are stored in a SQLite file in the output folder (recomputed at every call).
--quick: CPU, a few minutes on 2 cores. --full: more settings, seeds and width, sized for one GPU.
"""

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from rhm_theory.runs.spec import RunSpec, error_threshold  # noqa: E402
from rhm_theory.report.figures import label_log_axis  # noqa: E402
from rhm_theory.runs.pstar import grid_specs, pstar_from_rows, run_specs  # noqa: E402
from rhm_theory.theory.stats import fit_slope  # noqa: E402
from rhm_theory.report.checks import Check, Section, section_main  # noqa: E402
from rhm_theory.runs.store import ResultsStore  # noqa: E402


@dataclass(frozen=True)
class Mode:
    """Sizes of one verification mode. ``settings``: (v, n_c, m, L) with s = 2 for checks (a), (b);
    P grids are multiples of n_c m^L (``ratios``); (c) repeats ``v_setting`` for every v of ``v_values``;
    (d) uses the maximal grammar v = n_c = m = ``fcn_vm``, L = 2, P as fractions of P_max."""

    settings: tuple
    ratios: tuple
    seeds: int
    cnn_width_per_tuple: int  # CNN width = this x v**s (paper: 4..8)
    max_steps: int
    v_setting: tuple
    v_values: tuple
    fcn_vm: int
    fcn_fractions: tuple
    fcn_width: int
    fcn_lr: float
    sensitivity_setting: tuple
    sensitivity_samples: int
    workers: int | None


QUICK = Mode(
    settings=((4, 4, 2, 3), (4, 8, 2, 3), (4, 4, 2, 4), (4, 4, 3, 3), (4, 4, 4, 3)),
    ratios=(0.5, 1, 2, 4, 8),
    seeds=3,
    cnn_width_per_tuple=4,
    max_steps=3000,
    v_setting=(4, 4, 2, 3),
    v_values=(4, 8),
    fcn_vm=8,
    fcn_fractions=(1 / 8, 1 / 4, 1 / 2, 7 / 8),
    fcn_width=512,
    fcn_lr=1.0,
    sensitivity_setting=(4, 4, 3, 3),
    sensitivity_samples=512,
    workers=None,
)
FULL = Mode(
    settings=((8, 8, 2, 3), (8, 16, 2, 3), (8, 8, 3, 3), (8, 8, 2, 4), (8, 8, 4, 3), (8, 16, 4, 3)),
    ratios=(0.25, 0.5, 1, 2, 4, 8),
    seeds=4,
    cnn_width_per_tuple=4,
    max_steps=6000,
    v_setting=(8, 8, 3, 3),
    v_values=(8, 12, 16),
    fcn_vm=8,
    fcn_fractions=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 7 / 8),
    fcn_width=1024,
    fcn_lr=1.0,
    sensitivity_setting=(8, 8, 3, 3),
    sensitivity_samples=1024,
    workers=None,
)
# Cap on the number of epochs; runs stop at the training-loss threshold or after max_steps SGD steps.
MAX_EPOCHS = 10**6


@dataclass
class Group:
    """One P* measurement: ``base`` spec on the grid ``P_values`` for ``seeds``."""

    base: RunSpec
    P_values: list
    seeds: list

    @property
    def scale(self) -> int:
        """n_c m^L, the paper's prediction for P*."""
        return self.base.n_c * self.base.m**self.base.L

    @property
    def p_max(self) -> int:
        b = self.base
        return b.n_c * b.m ** ((b.s**b.L - 1) // (b.s - 1))

    def same_runs(self, other: "Group") -> bool:
        """Whether both groups train the same networks (they may differ in what else they measure)."""
        return self.base.replace(sensitivity_samples=0) == other.base.replace(sensitivity_samples=0)

    def specs(self) -> list[RunSpec]:
        return grid_specs(self.base, self.P_values, self.seeds)

    def label(self) -> str:
        b = self.base
        return f"v={b.v}, n_c={b.n_c}, m={b.m}, L={b.L}"


def cnn_group(v, n_c, m, L, mode: Mode, device: str, sensitivity_samples: int = 0) -> Group:
    """CNN runs at P = ratio x n_c m^L; the test set takes min(1024, what P_max leaves)."""
    scale = n_c * m**L
    P_values = [int(round(r * scale)) for r in mode.ratios]
    p_max = n_c * m ** (2**L - 1)
    P_test = min(1024, p_max - max(P_values))
    base = RunSpec(v=v, n_c=n_c, m=m, s=2, L=L, P=P_values[0], seed=0, P_test=P_test, model="cnn",
                   width=mode.cnn_width_per_tuple * v**2, max_epochs=MAX_EPOCHS, max_steps=mode.max_steps,
                   device=device, sensitivity_samples=min(sensitivity_samples, P_test))
    return Group(base, P_values, list(range(mode.seeds)))


def maximal_group(model: str, mode: Mode, device: str) -> Group:
    """Runs on the maximal grammar v = n_c = m (L = s = 2) at P = fraction x P_max (check (d))."""
    vm = mode.fcn_vm
    p_max = vm * vm**3
    P_values = [int(round(f * p_max)) for f in mode.fcn_fractions]
    width, lr = (mode.fcn_width, mode.fcn_lr) if model == "fcn" else (mode.cnn_width_per_tuple * vm**2, 0.1)
    base = RunSpec(v=vm, n_c=vm, m=vm, s=2, L=2, P=P_values[0], seed=0, P_test=p_max - max(P_values), model=model,
                   width=width, lr=lr, max_epochs=MAX_EPOCHS, max_steps=mode.max_steps, device=device)
    return Group(base, P_values, list(range(max(2, mode.seeds - 1))))


def log_x(ax) -> None:
    """Logarithmic x axis (call after plotting) with plain labels (rhm_theory.report.figures.label_log_axis)."""
    ax.set_xscale("log")
    label_log_axis(ax.xaxis)


def run(out_dir: Path, quick: bool = True) -> Section:
    mode = QUICK if quick else FULL
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / f"sample_complexity_{'quick' if quick else 'full'}.sqlite"
    database.unlink(missing_ok=True)

    # The sensitivity runs also give test errors, so they stand in for the same setting elsewhere.
    sensitivity = cnn_group(*mode.sensitivity_setting, mode, device, mode.sensitivity_samples)
    collapse = [cnn_group(*setting, mode, device) for setting in mode.settings]
    v_groups = [cnn_group(v, *mode.v_setting[1:], mode, device) for v in mode.v_values]
    collapse = [sensitivity if g.same_runs(sensitivity) else g for g in collapse]
    v_groups = [next((g for g in collapse + [sensitivity] if g.same_runs(vg)), vg) for vg in v_groups]
    fcn, fcn_cnn = maximal_group("fcn", mode, device), maximal_group("cnn", mode, device)
    groups = {id(g): g for g in collapse + [sensitivity] + v_groups + [fcn, fcn_cnn]}.values()

    start = time.perf_counter()
    with ResultsStore(database) as store:
        rows = run_specs([s for g in groups for s in g.specs()], store, workers=mode.workers, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - start
    by_spec = iter(rows)
    results = {}
    for g in groups:
        group_rows = [next(by_spec) for _ in g.specs()]
        results[id(g)] = (pstar_from_rows(g.base, g.P_values, g.seeds, group_rows), group_rows)

    checks, notes, figures = [], [], []
    figures.append(plot_collapse(collapse, results, out_dir))
    checks.append(check_collapse(collapse, results))
    slope_check, slope_figure = check_slope(collapse, results, out_dir)
    checks.append(slope_check)
    figures.append(slope_figure)
    checks.append(check_v_independence(v_groups, results))
    figures.append(plot_groups(v_groups, results, out_dir, "sample_complexity_v.png", "(c) P* at fixed n_c, m, L"))
    checks.append(check_fcn(fcn, fcn_cnn, results))
    figures.append(plot_fcn(fcn, fcn_cnn, results, out_dir))
    sensitivity_check, sensitivity_figure = check_sensitivity(sensitivity, results, out_dir)
    checks.append(sensitivity_check)
    figures.append(sensitivity_figure)

    notes.append(f"{len(rows)} training runs on {device} in {seconds:.0f} s ({'quick' if quick else 'full'} mode); "
                 f"rows in `{database.name}`.")
    notes.append("| setting | n_c m^L | P* | 95% CI | P*/(n_c m^L) |\n|---|---|---|---|---|")
    for g in collapse + [gv for gv in v_groups if gv not in collapse]:
        r = results[id(g)][0]
        notes.append(f"| {g.label()} | {g.scale} | {r.pstar:.4g} ({r.status}) | [{r.ci_low:.4g}, {r.ci_high:.4g}] | "
                     f"{r.pstar / g.scale:.3g} |")
    notes.append(f"\nCNN: width {mode.cnn_width_per_tuple} v^2, SGD lr 0.1 x width (mean field), momentum 0.9, batch 128, "
                 f"stop at training loss 1e-3 or {mode.max_steps} steps. FCN: one hidden layer of width {mode.fcn_width}, "
                 f"lr {mode.fcn_lr} x width (at lr 0.1 it does not fit its training set within the step budget).")
    return Section(title="Sample complexity of deep networks (P* ~ n_c m^L)", checks=checks,
                   markdown="\n".join(notes), figures=figures)


def mean_errors(group: Group, results) -> np.ndarray:
    return results[id(group)][0].mean_errors


def check_collapse(collapse, results) -> Check:
    """(a) P*/(n_c m^L) agrees within a factor 3 across settings whose n_c m^L spans a wider range."""
    ratios = [results[id(g)][0].pstar / g.scale for g in collapse]
    statuses = [results[id(g)][0].status for g in collapse]
    spread = max(ratios) / min(ratios)
    scales = [g.scale for g in collapse]
    passed = all(s == "ok" for s in statuses) and spread <= 3 < max(scales) / min(scales)
    return Check("(a) test error vs P/(n_c m^L) collapses",
                 passed, f"P*/(n_c m^L) in [{min(ratios):.3g}, {max(ratios):.3g}] (spread x{spread:.2f}, limit x3) "
                 f"while n_c m^L spans x{max(scales) / min(scales):.0f}")


def check_slope(collapse, results, out_dir: Path) -> tuple[Check, str]:
    """(b) slope of log P* against log(n_c m^L) over the settings, with its t confidence interval."""
    x = np.log([g.scale for g in collapse])
    pstars = np.array([results[id(g)][0].pstar for g in collapse])
    finite = np.isfinite(pstars).all()
    slope, low, high = fit_slope(x, np.log(pstars)) if finite else (math.nan,) * 3
    passed = finite and low <= 1 <= high and high - low <= 1
    fig, ax = plt.subplots(figsize=(4.5, 4))
    r = [results[id(g)][0] for g in collapse]
    ax.errorbar([g.scale for g in collapse], pstars, yerr=[pstars - [q.ci_low for q in r], [q.ci_high for q in r] - pstars],
                fmt="o", capsize=3, label="measured P* (95% CI)")
    grid = np.geomspace(min(g.scale for g in collapse), max(g.scale for g in collapse), 20)
    if finite:
        ax.plot(grid, np.exp(np.polyval(np.polyfit(x, np.log(pstars), 1), np.log(grid))), label=f"fit, slope {slope:.2f}")
    ax.plot(grid, grid * np.exp(np.mean(np.log(pstars) - x)) if finite else grid, "k:", label="slope 1")
    log_x(ax)
    ax.set(yscale="log", xlabel="n_c m^L", ylabel="P*", title="(b) P* vs n_c m^L")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "sample_complexity_slope.png", dpi=120)
    plt.close(fig)
    figure = (f"slope {slope:.3f}, 95% CI [{low:.3f}, {high:.3f}] over {len(collapse)} settings "
              "(least squares, t interval; pass: CI contains 1 and is narrower than 1)")
    return Check("(b) log P* vs log(n_c m^L) has slope 1", passed, figure), "sample_complexity_slope.png"


def check_v_independence(v_groups, results) -> Check:
    """(c) P* at fixed (n_c, m, L) changes by less than a factor 2 across v."""
    pstars = [results[id(g)][0].pstar for g in v_groups]
    finite = all(math.isfinite(p) for p in pstars)
    spread = max(pstars) / min(pstars) if finite else math.inf
    values = ", ".join(f"v={g.base.v}: {p:.4g}" for g, p in zip(v_groups, pstars))
    return Check("(c) P* independent of v", finite and spread < 2, f"P* {values} (spread x{spread:.2f}, limit x2)")


def check_fcn(fcn: Group, cnn: Group, results) -> Check:
    """(d) On the maximal grammar, the FCN reaches the shallow threshold only at P of order P_max (>= P_max/8)
    and never reaches the deep threshold on the grid, while the CNN does."""
    fcn_result, cnn_result = results[id(fcn)][0], results[id(cnn)][0]
    deep = error_threshold(cnn.base.n_c, "cnn")
    fcn_at_deep = fcn_result.mean_errors[-1]
    passed = (fcn_result.pstar >= fcn.p_max / 8 and fcn_at_deep >= deep and cnn_result.status == "ok")
    return Check("(d) one-hidden-layer FCN needs P ~ P_max", passed,
                 f"P_max={fcn.p_max}: FCN P*/P_max = {fcn_result.pstar / fcn.p_max:.3g} ({fcn_result.status}, "
                 f"threshold {fcn_result.threshold:.3g}, pass >= 1/8); FCN error at P={fcn.P_values[-1]}: {fcn_at_deep:.3f} "
                 f"(deep threshold {deep:.3g}); CNN P*/P_max = {cnn_result.pstar / cnn.p_max:.3g} ({cnn_result.status})")


def check_sensitivity(group: Group, results, out_dir: Path) -> tuple[Check, str]:
    """(e) For every k > l, the seed-averaged S_{k,l} at P >= 2 P* is below half its value at the smallest P."""
    result, rows = results[id(group)]
    L = group.base.L
    S = {(k, l): np.array([row[f"S_k{k}_l{l}"] for row in rows], dtype=float).reshape(len(group.seeds), -1).mean(axis=0)
         for k in range(1, L + 1) for l in range(1, L + 1)}
    P = np.array(group.P_values)
    late = P >= 2 * result.pstar
    ratios = {(k, l): S[k, l][late].max() / S[k, l][0] for k in range(1, L + 1) for l in range(1, k) if late.any()}
    passed = result.status == "ok" and len(ratios) == L * (L - 1) // 2 and all(r < 0.5 for r in ratios.values())
    fig, axes = plt.subplots(1, L, figsize=(4 * L, 3.5), sharey=True)
    for l, ax in zip(range(1, L + 1), axes):
        for k in range(1, L + 1):
            ax.plot(P, S[k, l], "o-", label=f"layer k={k}")
        ax.axvline(result.pstar, color="k", ls=":", label="P*")
        log_x(ax)
        ax.set(xlabel="P", title=f"exchange at level l={l}")
    axes[0].set_ylabel("S_{k,l}")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"(e) synonymic sensitivity, {group.label()}")
    fig.tight_layout()
    fig.savefig(out_dir / "sample_complexity_sensitivity.png", dpi=120)
    plt.close(fig)
    shown = ", ".join(f"S_{k},{l}: x{r:.2f}" for (k, l), r in sorted(ratios.items()))
    figure = f"P* = {result.pstar:.4g}; max S at P >= 2P* / S at P = {P[0]}: {shown} (pass: all < 0.5)"
    return Check("(e) S_{k,l} (k > l) drops at P ~ P*", passed, figure), "sample_complexity_sensitivity.png"


def plot_collapse(collapse, results, out_dir: Path) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for g in collapse:
        normalized = mean_errors(g, results) / (1 - 1 / g.base.n_c)
        axes[0].plot(g.P_values, normalized, "o-", label=g.label())
        axes[1].plot(np.array(g.P_values) / g.scale, normalized, "o-", label=g.label())
    for ax, xlabel in zip(axes, ("P", "P / (n_c m^L)")):
        ax.axhline(0.1, color="k", ls=":")
        log_x(ax)
        ax.set(xlabel=xlabel)
    axes[0].set_ylabel("test error / (1 - 1/n_c)")
    axes[1].legend(fontsize=7)
    fig.suptitle("(a) CNN test error, mean over seeds (dotted: P* threshold)")
    fig.tight_layout()
    fig.savefig(out_dir / "sample_complexity_collapse.png", dpi=120)
    plt.close(fig)
    return "sample_complexity_collapse.png"


def plot_groups(groups, results, out_dir: Path, name: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    for g in groups:
        ax.plot(g.P_values, mean_errors(g, results), "o-", label=g.label())
        ax.axvline(results[id(g)][0].pstar, color=ax.lines[-1].get_color(), ls=":")
    log_x(ax)
    ax.set(xlabel="P", ylabel="test error", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=120)
    plt.close(fig)
    return name


def plot_fcn(fcn: Group, cnn: Group, results, out_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    for g, name in ((fcn, "one-hidden-layer FCN"), (cnn, "deep CNN")):
        ax.plot(np.array(g.P_values) / g.p_max, mean_errors(g, results), "o-", label=name)
        ax.axhline(results[id(g)][0].threshold, color=ax.lines[-1].get_color(), ls=":")
    log_x(ax)
    ax.set(xlabel="P / P_max", ylabel="test error", title=f"(d) maximal grammar, {fcn.label()}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "sample_complexity_fcn.png", dpi=120)
    plt.close(fig)
    return "sample_complexity_fcn.png"


if __name__ == "__main__":
    section_main(run, __doc__)
