"""``rhm pstar``: measure the sample complexity P* of a network on an RHM setting into a results file.

Every (P, seed) run is one row of the SQLite file given by --results, appended as soon as the run
finishes; rerunning the same command skips the finished runs (resume after a crash or Ctrl-C).
With ``--zipf A`` (power-law rules, i.i.d. data) the learning curve is a power law and P* is still where it
crosses the same threshold (docs/theory-power-law.md, 'P* of power-law runs').
"""

from __future__ import annotations

from rhm_theory.core.files import check_distinct, check_output_name, check_writable_folder
from rhm_theory.core.rules import ncmL
from rhm_theory.core.validation import MAX_SWEEP_RUNS, check_int
from rhm_theory.learning.training import check_device
from rhm_theory.runs.experiment import check_runs
from rhm_theory.runs.pstar import (
    adaptive_pstar,
    check_bracket,
    check_pstar_task,
    check_threshold,
    geometric_grid,
    grid_specs,
    measure_pstar,
)
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.store import ResultsStore

from . import (
    add_devices_arg,
    add_force_arg,
    add_grammar_args,
    add_run_settings,
    add_save_model_arg,
    describe_data,
    devices_of,
    output_file,
    print_json,
    run_settings,
    runner_of,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser("pstar")
    add_grammar_args(parser, seed=False)
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="first run seed; each seed derives the rules, data and initialisation (default: %(default)s)",
    )
    parser.add_argument(
        "--results", required=True, help="SQLite results file (created if missing; finished runs are skipped)"
    )
    grid = parser.add_argument_group("training-set sizes")
    grid.add_argument("--P", type=int, nargs="+", help="explicit list of training-set sizes")
    grid.add_argument("--P-min", type=int, help="smallest P of a geometric grid (with --P-max and --n-P)")
    grid.add_argument("--P-max", type=int, help="largest P of a geometric grid")
    grid.add_argument("--n-P", type=int, default=6, help="number of geometric grid points (default: %(default)s)")
    grid.add_argument(
        "--adaptive",
        type=int,
        metavar="STEPS",
        help="instead of a grid: bisect in log P from the bracket [P-min, P-max] for STEPS steps",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=4,
        help="number of seeds --seed, --seed+1, ... (new rules, data, initialisation each; default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel processes (default: all CPU cores; with --devices, one per device)",
    )
    add_devices_arg(parser)
    add_save_model_arg(parser)
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="test-error threshold defining P* (default: by model depth, docs/theory.md, 'Sample complexity')",
    )
    parser.add_argument(
        "--csv", help="also export all rows of the results file to this CSV file (refused if it exists)"
    )
    add_force_arg(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the P* estimate as one JSON object")
    add_run_settings(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    settings = run_settings(args)
    P_first = args.P[0] if args.P else args.P_min
    if P_first is None:
        raise ValueError("give the training-set sizes: --P P1 P2 ... or --P-min and --P-max")
    base = check_pstar_task(
        RunSpec(v=args.v, n_c=args.nc, m=args.m, s=args.s, L=args.L, P=P_first, seed=args.seed, **settings)
    )
    n_seeds = check_int("seeds", args.seeds)
    threshold = None if args.threshold is None else check_threshold(args.threshold)
    # Every output is checked before the results file is opened: bad input writes nothing, and no output
    # is the results file (rhm_theory.core.files).
    results = check_output_name("--results", args.results)
    outputs = {
        flag: None if name is None else check_output_name(flag, name)
        for flag, name in (("--csv", args.csv), ("--save-model", args.save_model))
    }
    check_distinct(outputs, {"--results": results})
    if args.save_model is not None:
        check_writable_folder("--save-model", outputs["--save-model"])
    csv = output_file(outputs["--csv"], args.force) if args.csv is not None else None
    options = {"workers": args.workers, "threshold": threshold, "progress": not args.quiet, "runner": runner_of(args)}
    if args.adaptive is not None:
        if args.P or args.P_min is None or args.P_max is None:
            raise ValueError("--adaptive needs the bracket --P-min and --P-max (and no --P list)")
        P_values = check_bracket(args.P_min, args.P_max)
        check_int("adaptive", args.adaptive, minimum=0)
    else:
        if args.P and (args.P_min is not None or args.P_max is not None):
            raise ValueError("give either --P or --P-min/--P-max, not both")
        if not args.P:
            check_int("n-P", args.n_P, maximum=MAX_SWEEP_RUNS)
        P_values = args.P if args.P else geometric_grid(args.P_min, args.P_max, args.n_P)
    if len(P_values) * n_seeds > MAX_SWEEP_RUNS:
        raise ValueError(
            f"{len(P_values)} sizes x {n_seeds} seeds = {len(P_values) * n_seeds} runs: at most {MAX_SWEEP_RUNS} are allowed"
        )
    seeds = list(range(args.seed, args.seed + n_seeds))
    check_runs(grid_specs(base, P_values, seeds))
    if args.workers is not None:
        check_int("workers", args.workers)
    devices = devices_of(args)
    if devices is None:
        check_device(base.device)
    else:
        options["backend"] = {"devices": devices}
    with ResultsStore(args.results) as store:
        if args.adaptive is not None:
            result = adaptive_pstar(base, args.P_min, args.P_max, seeds, store, steps=args.adaptive, **options)
        else:
            result = measure_pstar(base, P_values, seeds, store, **options)
        if csv:
            store.to_csv(csv)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"{base.model} on {describe_data(base)}, seeds {seeds}, threshold {result.threshold:.4g}")
    for P, error in zip(result.P_values, result.mean_errors):
        print(f"  P = {P:>9d}  mean test error {error:.4f}")
    ci = f"{100 * result.confidence:.0f}% CI [{result.ci_low:.4g}, {result.ci_high:.4g}]"
    print(f"P* = {result.pstar:.4g} ({result.status}), {ci}; n_c m^L = {ncmL(args.nc, args.m, args.L)}")
    return 0
