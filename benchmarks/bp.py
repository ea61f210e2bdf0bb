"""Belief-propagation benchmark: both passes (marginals of every node) and exact posterior sampling.

Prints medians over several runs, on one CPU thread for numpy (set below, before numpy loads), of
the process CPU time (wall clock in brackets), at (v=8, n_c=8, m=4, s=2, L=6), d = 64, on inputs
noised by the uniform channel at eps = 0.2:
  upward pass only (bp.posterior), both passes (bp.node_marginals: every level), token marginals
  (bp.token_marginals), posterior sampling (bp.sample_posterior), in samples/s.
Usage: python benchmarks/bp.py [--repeats 5] [--P 4000]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from rhm_theory import Grammar, bp  # noqa: E402
from rhm_theory.theory import noise  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--P", type=int, default=4000)
    args = parser.parse_args()
    grammar = Grammar.random(8, 8, 4, 2, 6, seed=0)
    x, _ = grammar.sample(args.P, seed=0, replace=True)
    likelihoods = noise.likelihoods(noise.corrupt(x, 0.2, v=8, channel="uniform", seed=1), 0.2, v=8, channel="uniform")
    tasks = {
        "upward pass only (posterior)": lambda i: bp.posterior(grammar, likelihoods),
        "both passes, marginals of every node": lambda i: bp.node_marginals(grammar, likelihoods),
        "both passes, token marginals": lambda i: bp.token_marginals(grammar, likelihoods),
        "exact posterior sampling": lambda i: bp.sample_posterior(grammar, likelihoods, seed=i),
    }
    print(
        f"{grammar!r}, P = {args.P} noisy inputs (uniform channel, eps = 0.2), medians of {args.repeats} runs, 1 thread"
    )
    for name, task in tasks.items():
        wall, cpu = [], []
        for i in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            task(i)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(
            f"{name}: {args.P / statistics.median(cpu) / 1e3:.1f} k samples/s "
            f"(wall clock: {args.P / statistics.median(wall) / 1e3:.1f} k samples/s)"
        )


if __name__ == "__main__":
    main()
