"""Symbolic theory benchmark: how long the sympy derivation and its evaluation take.

Prints medians over repeats of the wall-clock and process CPU time of
  - the whole derivation (rsolve, simplification, limit), from an empty cache: target < 10 s CPU;
  - evaluate(8, 8, 4, 2, 3): every quantity exactly at integers, derivation cached: target < 1 s CPU;
  - the brute-force ensemble of (2, 3, 1, 2, 3) (3456 rule draws, grouped): target < 1 s CPU.
Usage: python benchmarks/symbolic.py [--repeats 3]
"""

import argparse
import statistics
import time

from rhm_theory import ensemble, symbolic


def median_seconds(task, repeats: int) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds) of ``task()`` over ``repeats`` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        task()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def derive_from_scratch() -> None:
    symbolic.derivation.cache_clear()
    symbolic.expressions.cache_clear()
    symbolic.expressions()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    tasks = [
        ("derivation from an empty cache", derive_from_scratch, 10.0),
        ("evaluate(8, 8, 4, 2, 3)", lambda: symbolic.evaluate(8, 8, 4, 2, 3), 1.0),
        (
            "brute-force ensemble (2, 3, 1, 2, 3)",
            lambda: ensemble.exact_ensemble_average(2, 3, 1, 2, 3, position=5),
            1.0,
        ),
    ]
    for name, task, target in tasks:
        wall, cpu = median_seconds(task, repeats)
        verdict = "meets" if cpu < target else "MISSES"
        print(f"{name:>40}: median wall {wall:.3f} s, CPU {cpu:.3f} s ({verdict} target < {target:g} s CPU)")


if __name__ == "__main__":
    main()
