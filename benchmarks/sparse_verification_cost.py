"""CPU cost of the trained-network part of `rhm verify --full --only sparse` (verification/sparse.py, (c)),
estimated from timed runs.

Times (process CPU seconds, one torch thread) the ensemble of all seeds at both ends of every P* search
of the full mode (the bracket, which every search measures first) and extrapolates each search to its
2 + steps measured sizes at the mean cost of its two ends (the midpoints lie between them). Prints the
per-run figures and the estimate in minutes.

    python benchmarks/sparse_verification_cost.py [--models lcn cnn] [--s0 0 1 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import torch

from rhm_theory.runs.batched import run_many

ROOT = Path(__file__).resolve().parents[1]


def load_verification():
    spec = importlib.util.spec_from_file_location("_cost_sparse", ROOT / "verification" / "sparse.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    verification = load_verification()
    mode = verification.FULL_LEARNING
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(mode.models))
    parser.add_argument("--s0", nargs="+", type=int, default=list(mode.s0_values))
    args = parser.parse_args()
    torch.set_num_threads(1)
    total = 0.0
    for model in args.models:
        for s0 in args.s0:
            search = verification.search(model, s0, mode, "cpu")
            costs = []
            for P in (search.P_low, search.P_high):
                start = time.process_time()
                rows = run_many([search.base.replace(P=P, seed=seed) for seed in search.seeds])
                costs.append(time.process_time() - start)
                mean_error = sum(row["test_error"] for row in rows) / len(rows)
                print(
                    f"{model} s0={s0} P={P}: {costs[-1]:.1f} CPU s for {len(rows)} seeds, "
                    f"{max(row['steps'] for row in rows)} steps, mean test error {mean_error:.3f}",
                    flush=True,
                )
            estimate = (2 + mode.steps) * sum(costs) / 2
            total += estimate
            print(f"  search estimate: {estimate:.0f} CPU s ({2 + mode.steps} sizes)", flush=True)
    print(f"estimated training CPU time of the full mode: {total / 60:.1f} min (one core, one torch thread)")


if __name__ == "__main__":
    main()
