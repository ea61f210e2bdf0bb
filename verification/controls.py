"""Controls: the uncorrelated RHM (rhm_theory.synonyms.uncorrelated), where no token or tuple carries
information about the class, so the synonym detection of arXiv:2307.02129 (Fig. 9; docs/theory.md,
'The uncorrelated RHM') has nothing to detect. A deep CNN trained to interpolation on it must stay near chance at every P, while its
correlated twin (Grammar.random with the same parameters, same P, same training) is learned.
Decision: rhm_theory.report.learning_checks.uncorrelated_control_check. Runs are stored in
controls_{quick,full}.sqlite in the output folder and reused by the next call.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from rhm_theory.core.rules import p_max as count_data
from rhm_theory.report import learning_checks
from rhm_theory.report.checks import Check, Section, reached_threshold, section_main
from rhm_theory.report.figures import P_SCALED, legend_outside, new_figure, save_figure
from rhm_theory.runs.pstar import grid_specs, run_specs
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.store import ResultsStore
from rhm_theory.synonyms.uncorrelated import uncorrelated_grammar
from rhm_theory.theory.exact import class_token_probs

S = 2


@dataclass(frozen=True)
class Mode:
    """(v, n_c, m, L) of the uncorrelated grammar (m a multiple of v), P = ``ratios`` x n_c m^L."""

    params: tuple
    ratios: tuple
    seeds: int
    width: int
    max_steps: int


# P_max / (n_c m^L) = m^(2^L - 1 - L) must be large, or P ~ P_max learns any grammar (at (3, 3, 3, 3),
# where it is 81, the uncorrelated grammar falls to 0.7 x chance at 32 n_c m^L). At v = m = 2 the
# uncorrelated RHM is a hierarchy of parities (each block is {(a, a + c) mod 2}).
QUICK = Mode(params=(2, 2, 2, 4), ratios=(4, 32), seeds=2, width=128, max_steps=6000)
FULL = Mode(params=(2, 2, 2, 4), ratios=(1, 4, 16, 32, 64), seeds=4, width=128, max_steps=30000)


def check_uncorrelated_exact(params) -> Check:
    v, n_c, m, L = params
    grammar = uncorrelated_grammar(v, n_c, m, S, L, seed=0)
    uniform = all((class_token_probs(grammar, j, exact=True) == Fraction(1, v)).all() for j in range(grammar.d))
    return Check(
        f"uncorrelated RHM {params}: exact P(x_j = mu | class) = 1/v at every position",
        uniform,
        f"{grammar.d} positions x {n_c} classes x {v} tokens checked with exact fractions",
    )


def base_spec(mode: Mode, rules: str, device: str) -> RunSpec:
    """The runs of ``rules`` ("uncorrelated" or "random", the twin) at P = ratios[0] x n_c m^L, seed 0."""
    v, n_c, m, L = mode.params
    P_test = min(1024, count_data(n_c, m, S, L) - max(mode.ratios) * n_c * m**L)
    return RunSpec(
        v=v,
        n_c=n_c,
        m=m,
        s=S,
        L=L,
        P=mode.ratios[0] * n_c * m**L,
        seed=0,
        P_test=P_test,
        width=mode.width,
        max_epochs=10**6,
        max_steps=mode.max_steps,
        device=device,
        rules=rules,
    )


def run(out_dir: Path, quick: bool = True) -> Section:
    mode = QUICK if quick else FULL
    _v, n_c, m, L = mode.params
    scale = n_c * m**L
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / f"controls_{'quick' if quick else 'full'}.sqlite"
    P_values = [r * scale for r in mode.ratios]
    seeds = list(range(mode.seeds))
    start = time.perf_counter()
    with ResultsStore(database) as store:
        # both grammars in one batch, so their runs share the workers
        specs = {
            rules: grid_specs(base_spec(mode, rules, device), P_values, seeds) for rules in ("uncorrelated", "random")
        }
        stored = run_specs([spec for group in specs.values() for spec in group], store, progress=sys.stderr.isatty())
        rows = {"uncorrelated": stored[: len(specs["uncorrelated"])], "random": stored[len(specs["uncorrelated"]) :]}
    seconds = time.perf_counter() - start

    def table(rules, field):
        return np.array([row[field] for row in rows[rules]], dtype=object).reshape(len(seeds), len(P_values))

    errors = {rules: table(rules, "test_error").astype(float) for rules in rows}
    converged = reached_threshold(rows["uncorrelated"]).reshape(len(seeds), len(P_values))
    checks = [
        check_uncorrelated_exact(mode.params),
        learning_checks.uncorrelated_control_check(
            mode.params, P_values, errors["uncorrelated"], errors["random"], converged, seed=0
        ),
    ]
    losses = table("uncorrelated", "train_loss").astype(float)
    markdown = (
        f"Mode {'quick' if quick else 'full'}: {2 * len(seeds) * len(P_values)} runs in `{database.name}`, {seconds:.0f} s "
        f"on {device}. Deep CNN of width {mode.width}, SGD lr 0.1 x width, stop at training loss 1e-3 or "
        f"{mode.max_steps} steps; {len(seeds)} seeds (new rules, data and initialisation per seed), test sets of "
        f"{rows['random'][0]['P_test']}. Largest final training loss on the uncorrelated grammar: {losses.max():.2g}. The uncorrelated "
        "RHM: every parent owns whole balanced blocks of tuples (rhm_theory.synonyms.uncorrelated)."
    )
    return Section(
        "Controls: the uncorrelated RHM",
        checks,
        markdown,
        [save_figure(plot(mode, P_values, errors), out_dir, "controls_uncorrelated.png")],
    )


def plot(mode: Mode, P_values, errors):
    """Test error / chance (mean, bars: standard deviation over seeds) vs P / (n_c m^L) on the uncorrelated
    RHM and its correlated twin; ``errors``: rules -> (n_seeds, n_P). Returns the Figure."""
    v, n_c, m, L = mode.params
    chance = learning_checks.chance(n_c)
    fig, ax = new_figure(figsize=(6.4, 3.6))
    x = np.array(P_values) / (n_c * m**L)
    for rules, label in (("uncorrelated", "uncorrelated RHM"), ("random", "correlated twin (random RHM)")):
        normalised = errors[rules] / chance
        ax.errorbar(x, normalised.mean(axis=0), yerr=normalised.std(axis=0), fmt="o-", capsize=3, label=label)
    ax.axhline(learning_checks.NEAR_CHANCE, color="gray", ls="--", lw=0.8, label="near-chance bound")
    ax.axhline(learning_checks.PSTAR_FRACTION, color="k", ls=":", lw=1, label="$P^*$ threshold")
    ax.set(xscale="log", xlabel=P_SCALED, ylabel="test error / chance", ylim=(-0.02, 1.3))
    ax.set_title(
        f"deep CNN trained to interpolation, $v={v}$, $n_c={n_c}$, $m={m}$, $s={S}$, $L={L}$\n"
        f"mean over {errors['random'].shape[0]} seeds; bars: standard deviation",
        fontsize="medium",
    )
    ax.minorticks_off()
    ax.set_xticks(x, [f"{r:g}" for r in x])
    legend_outside(ax)
    return fig


if __name__ == "__main__":
    section_main(run, __doc__)
