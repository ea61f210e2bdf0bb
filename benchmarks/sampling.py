"""Foundation benchmark: sampling rate, exact class-token probabilities, BP throughput (issue 2 targets).

Prints the median over several runs, on one CPU thread for numpy (set below, before numpy loads):
  sampling (v=32, n_c=32, m=8, s=2, L=3), P = 10**6 without replacement: target >= 8e6 samples/s
  sampling (v=8, n_c=8, m=8, s=2, L=6), p_max > 10**19, P = 10**5 without replacement: comparable rate
  exact class-token probabilities at all 64 positions of (32, 32, 8, 2, 6): target well under 1 s
  BP posterior of clean data, (8, 8, 4, 2, 3): target >= 5e5 samples/s
Usage: python benchmarks/sampling.py [--repeats 7]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from rhm_theory import Grammar, bp, exact  # noqa: E402


def median_seconds(task, repeats: int) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        task(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats

    rows = []
    for params, P, target in (((32, 32, 8, 2, 3), 10**6, 8e6), ((8, 8, 8, 2, 6), 10**5, None)):
        grammar = Grammar.random(*params, seed=0)
        seconds = median_seconds(lambda i: grammar.sample(P, seed=i), repeats)
        rate = P / seconds
        rows.append((f"sample {params} P={P} (p_max = {float(grammar.p_max):.3g}) without replacement",
                     f"{rate / 1e6:.2f} M samples/s = {rate * grammar.d / 1e6:.0f} M tokens/s", target and rate >= target))

    grammar = Grammar.random(32, 32, 8, 2, 6, seed=0)
    seconds = median_seconds(lambda i: exact.class_token_probs_all(grammar), repeats)
    rows.append(("exact class-token probabilities, all 64 positions of (32, 32, 8, 2, 6)", f"{seconds * 1e3:.1f} ms", seconds < 1.0))

    grammar = Grammar.random(8, 8, 4, 2, 3, seed=0)
    x, _ = grammar.sample(10**5, seed=0)
    seconds = median_seconds(lambda i: bp.posterior(grammar, x), repeats)
    rows.append(("BP posterior of 10**5 clean data, (8, 8, 4, 2, 3)", f"{1e5 / seconds / 1e3:.0f} k samples/s", 1e5 / seconds >= 5e5))

    for name, figure, met in rows:
        status = "" if met is None else ("  [target met]" if met else "  [TARGET MISSED]")
        print(f"{name}: {figure}{status}")


if __name__ == "__main__":
    main()
