"""Foundation benchmark: sampling rate, exact class-token probabilities, BP throughput.

Prints medians over several runs, on one CPU thread for numpy (set below, before numpy loads), of
the wall-clock time and of the process CPU time (the time spent on the one core: the steadier figure
on a shared, busy machine; targets are checked against it):
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


def median_seconds(task, repeats: int) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds) of ``task(i)`` over ``repeats`` runs."""
    wall, cpu = [], []
    for i in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        task(i)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats

    rows = []
    for params, P, target in (((32, 32, 8, 2, 3), 10**6, 8e6), ((8, 8, 8, 2, 6), 10**5, None)):
        grammar = Grammar.random(*params, seed=0)
        wall, cpu = median_seconds(lambda i, grammar=grammar, P=P: grammar.sample(P, seed=i), repeats)
        rows.append(
            (
                f"sample {params} P={P} (p_max = {float(grammar.p_max):.3g}) without replacement",
                f"{P / cpu / 1e6:.2f} M samples/s = {P * grammar.d / cpu / 1e6:.0f} M tokens/s "
                f"(wall clock: {P / wall / 1e6:.2f} M samples/s)",
                target and P / cpu >= target,
            )
        )

    grammar = Grammar.random(32, 32, 8, 2, 6, seed=0)
    wall, cpu = median_seconds(lambda i: exact.class_token_probs_all(grammar), repeats)
    rows.append(
        (
            "exact class-token probabilities, all 64 positions of (32, 32, 8, 2, 6)",
            f"{cpu * 1e3:.1f} ms (wall clock: {wall * 1e3:.1f} ms)",
            cpu < 1.0,
        )
    )

    grammar = Grammar.random(8, 8, 4, 2, 3, seed=0)
    x, _ = grammar.sample(10**5, seed=0)
    wall, cpu = median_seconds(lambda i: bp.posterior(grammar, x), repeats)
    rows.append(
        (
            "BP posterior of 10**5 clean data, (8, 8, 4, 2, 3)",
            f"{1e5 / cpu / 1e3:.0f} k samples/s (wall clock: {1e5 / wall / 1e3:.0f} k samples/s)",
            1e5 / cpu >= 5e5,
        )
    )

    for name, figure, met in rows:
        status = "" if met is None else ("  [target met]" if met else "  [TARGET MISSED]")
        print(f"{name}: {figure}{status}")


if __name__ == "__main__":
    main()
