"""CPU cost of `rhm verify --full` for the learning checks (verification/sample_complexity.py and
verification/controls.py), estimated from timed sample runs.

Times (process CPU seconds, one torch thread) one seed of a few planned runs per setting and
extrapolates to the whole plan: every setting's P* search runs seeds x (2 + steps) runs, the
bracket ends plus midpoints near P*, costed at the P* measured in the quick report (about 3 n_c m^L)
unless given. Prints the per-run figures and the estimate in hours on ``--cores`` cores.

    python benchmarks/verification_cost.py [--settings 4] [--cores 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.pstar import grid_specs

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"_cost_{name}", ROOT / "verification" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cpu_seconds(spec) -> float:
    start = time.process_time()
    run_one(spec)
    return time.process_time() - start


def interpolate(P_timed, costs, P) -> float:
    """Cost at P, linear in log-log between timed points (constant slope beyond them)."""
    x, y = np.log(P_timed), np.log(costs)
    slope = (y[-1] - y[0]) / (x[-1] - x[0]) if len(x) > 1 else 0.0
    if P <= P_timed[0] or P >= P_timed[-1]:
        end = 0 if P <= P_timed[0] else -1
        return float(math.exp(y[end] + slope * (math.log(P) - x[end])))
    return float(math.exp(np.interp(math.log(P), x, y)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", type=int, default=4, help="how many CNN settings to time (the others are scaled)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--pstar-ratio", type=float, default=3.0, help="assumed P*/(n_c m^L) for the bisection midpoints"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    sc, controls = load("sample_complexity"), load("controls")
    mode = sc.FULL
    total, lines = 0.0, []

    # deep CNN P* searches: bracket ends + `steps` midpoints, costed near P*
    timed = {}
    order = sorted(mode.settings, key=lambda s: sc.scale(*s))
    picks = [order[round(i * (len(order) - 1) / max(1, args.settings - 1))] for i in range(args.settings)]
    for setting in dict.fromkeys(picks):
        search = sc.cnn_search(setting, mode, "cpu")
        middle = round(args.pstar_ratio * sc.scale(*setting))
        P_timed = [search.P_low, middle, search.P_high]
        costs = [cpu_seconds(search.base.replace(P=P)) for P in P_timed]
        timed[setting] = (P_timed, costs)
        lines.append(f"cnn {setting}: CPU s at P = {P_timed}: {', '.join(f'{c:.1f}' for c in costs)}")
    for setting in mode.settings:
        search = sc.cnn_search(setting, mode, "cpu")
        nearest = min(
            timed, key=lambda t: abs(math.log(sc.scale(*t) / sc.scale(*setting))) + abs(math.log(t[0] / setting[0]))
        )
        P_timed, costs = timed[nearest]
        ratio = sc.scale(*setting) / sc.scale(*nearest)  # same P/(n_c m^L): cost scales with P
        width_cost = 1.0 if setting[0] == nearest[0] else (setting[0] / nearest[0]) ** 0.5  # input layer only
        per_seed = sum(
            interpolate(P_timed, costs, P / ratio) * ratio * width_cost
            for P in [search.P_low, search.P_high] + [args.pstar_ratio * sc.scale(*setting)] * mode.steps
        )
        total += per_seed * mode.seeds

    # FCN grids and the uncorrelated control: time the largest P and cost every P like it (an upper
    # bound: at batch 128 these runs take a similar number of steps at every P)
    for grammar in mode.fcn_grammars:
        base, P_values = sc.fcn_grid(grammar, mode, "cpu")
        cost = cpu_seconds(base.replace(P=P_values[-1]))
        lines.append(f"fcn {grammar}: {cost:.1f} CPU s at P = {P_values[-1]}")
        total += mode.seeds * len(P_values) * cost
    control = controls.FULL
    _v, n_c, m, L = control.params
    for rules in ("uncorrelated", "random"):
        specs = grid_specs(controls.base_spec(control, rules, "cpu"), [r * n_c * m**L for r in control.ratios], [0])
        cost = cpu_seconds(specs[-1])
        lines.append(f"control {rules} {control.params}: {cost:.1f} CPU s at P = {specs[-1].P}")
        total += control.seeds * len(specs) * cost

    print("\n".join(lines))
    print(
        f"estimated CPU time of the full learning checks: {total / 3600:.2f} h, i.e. {total / 60 / args.cores:.0f} min "
        f"on {args.cores} cores"
    )


if __name__ == "__main__":
    main()
