"""Accuracy map of the first-order closed form of sigma_f2 = E[(n_c f - 1)^2] (docs/theory.md,
'Sampling noise and the crossing P_c'): its ratio to the rule-ensemble Monte Carlo truth over a grid
of (v, m, s, L) at n_c = 2, where pbar fluctuates and the closed form is first order only.

    python examples/sigma_f2_accuracy.py [--grammars N]

Prints a markdown table: the closed form, the Monte Carlo mean with its 99% interval, and their ratio.
"""

from __future__ import annotations

import argparse

from rhm_theory.theory import ensemble, symbolic

N_C = 2
GRID = [(v, m, s, L) for s in (2, 3) for v in (2, 4, 8) for m in (2, 4) for L in (2, 3, 4) if m <= v ** (s - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grammars", type=int, default=400, help="Monte Carlo grammars per setting (default: %(default)s)"
    )
    args = parser.parse_args()
    print(
        "| (v, n_c, m, s, L) | v^2 var_pbar | sigma_f2, first order | Monte Carlo [99%] | first order / Monte Carlo |"
    )
    print("|---|---|---|---|---|")
    for seed, (v, m, s, L) in enumerate(GRID):
        theory = symbolic.evaluate(v, N_C, m, s, L)
        first_order = float(theory["sigma_f2"])
        samples = ensemble.monte_carlo_statistics(v, N_C, m, s, L, args.grammars, seed=seed)["sigma_f2"]
        mean, low, high = ensemble.confidence_interval(samples)
        exact = " (exact)" if theory["sigma_f2_exact"] else ""
        print(
            f"| {(v, N_C, m, s, L)} | {float(v**2 * theory['var_pbar']):.3g} | {first_order:.4g}{exact} | "
            f"{mean:.4g} [{low:.4g}, {high:.4g}] | {first_order / mean:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
