"""Sparse RHM benchmark (arXiv:2404.10727): sampling, parsing and BP with latent positions.

Prints medians (process CPU time, one numpy thread; wall clock in brackets) for the grammar
(v, n_c, m, s, L) = (8, 8, 4, 2, 3) at s0 = 2 (d = 216), variants A and B:
  sampling P = 10**5 without replacement, parsing them back, BP posterior of 2000 clean data.
No targets: the figures are for comparison with benchmarks/sampling.py (the RHM).
Usage: python benchmarks/sparse.py [--repeats 5]
"""

import argparse

from sampling import median_seconds  # benchmarks/sampling.py: also pins numpy to one thread

from rhm_theory import Grammar
from rhm_theory.sparse import SparseRHM
from rhm_theory.theory import sparse_exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    grammar = Grammar.random(8, 8, 4, 2, 3, seed=0)
    for variant in ("A", "B"):
        model = SparseRHM(grammar, 2, variant)
        P = 10**5
        x, _ = model.sample(P, seed=0)
        for name, task, count in (
            (f"sample P={P}", lambda i, model=model, P=P: model.sample(P, seed=i), P),
            (f"parse P={P}", lambda i, model=model, x=x: model.parse(x), P),
            (
                "BP posterior, 2000 clean data",
                lambda i, model=model, x=x: sparse_exact.posterior(model, x[:2000]),
                2000,
            ),
        ):
            wall, cpu = median_seconds(task, repeats)
            print(f"{variant} {name:<32} {count / cpu / 1e3:9.0f} k/s  (wall clock {count / wall / 1e3:.0f} k/s)")


if __name__ == "__main__":
    main()
