"""``rhm sweep FILE``: expand a sweep file into runs, skip finished ones, run the rest locally or on Ray.

A grid sweep runs all its runs at once; an adaptive sweep (``data.adaptive``) measures P* of each
setting in turn by bisection in log P, each step's runs (all seeds) on the chosen backend.
"""

from __future__ import annotations

from rhm_theory.core.files import check_distinct, check_output_name, check_writable_folder
from rhm_theory.core.rules import ncmL
from rhm_theory.core.validation import check_int
from rhm_theory.learning.training import check_device
from rhm_theory.runs.backends import BACKENDS, execute
from rhm_theory.runs.experiment import check_runs
from rhm_theory.runs.pstar import adaptive_pstar
from rhm_theory.runs.store import ResultsStore
from rhm_theory.runs.sweep import adaptive_searches, expand_sweep, read_sweep

from . import add_devices_arg, add_save_model_arg, describe_data, devices_of, runner_of


def run(args) -> int:
    document = read_sweep(args.file)
    backend = {"backend": args.backend, "address": args.address, "gpus_per_run": args.gpus_per_run}
    adaptive = "adaptive" in document.get("data", {})
    runs = adaptive_searches(document) if adaptive else expand_sweep(document)  # checked before the file opens
    if args.workers is not None:
        check_int("workers", args.workers)
    backend["ensemble_size"] = check_int("--ensemble-size", args.ensemble_size)
    check_runs([run.base.replace(P=run.P_high) for run in runs] if adaptive else runs, members=args.ensemble_size)
    if args.gpus_per_run < 0 or (args.gpus_per_run and args.backend != "ray"):
        raise ValueError(f"--gpus-per-run {args.gpus_per_run}: must be >= 0, and only with --backend ray")
    if args.address is not None and args.backend != "ray":
        raise ValueError(f"--address {args.address!r} is a Ray cluster's address: only with --backend ray")
    # No output is the sweep file or the results file, and each is checked before anything runs (rhm_theory.core.files).
    results = check_output_name("--results", args.results)
    save_model = None if args.save_model is None else check_writable_folder("--save-model", args.save_model)
    check_distinct({"--results": results, "--save-model": save_model}, {"sweep file": args.file})
    runner = runner_of(args)
    if args.ensemble_size > 1 and args.save_model:
        raise ValueError(
            f"--ensemble-size {args.ensemble_size} with --save-model: ensembles do not save networks (use --ensemble-size 1)"
        )
    devices = devices_of(args)
    if devices is not None:
        if args.backend != "local":
            raise ValueError("--devices spreads runs over this machine's devices: only with --backend local")
        backend["devices"] = devices
    elif args.backend == "local":  # the runs use this machine's devices
        for device in sorted({(run.base if adaptive else run).device for run in runs}):
            check_device(device)
    with ResultsStore(args.results) as store:
        if adaptive:
            return _run_adaptive(runs, store, args, backend, runner)
        specs = runs
        outcome = execute(specs, store, workers=args.workers, progress=not args.quiet, runner=runner, **backend)
        failures = store.failures()[-outcome.failed :] if outcome.failed else []
    print(
        f"{len(specs)} runs in {args.file}: {outcome.skipped} already stored, {outcome.finished} finished now, "
        f"{outcome.failed} failed now; results in {args.results}"
    )
    for failure in failures:
        print(f"  failed {failure['key']}: {failure['error'].splitlines()[0]}")
    if outcome.failed:
        print("rerun the same command to retry the failed runs")
    return 0 if outcome.complete else 1


def _run_adaptive(searches, store: ResultsStore, args, backend: dict, runner) -> int:
    failed = 0
    for search in searches:
        base = search.base
        name = f"{base.model} on {describe_data(base)}"
        try:
            result = adaptive_pstar(
                base,
                search.P_low,
                search.P_high,
                list(search.seeds),
                store,
                steps=search.steps,
                workers=args.workers,
                progress=not args.quiet,
                backend=backend,
                runner=runner,
            )
        except RuntimeError as error:  # failed runs are recorded; the next invocation retries them
            failed += 1
            print(f"{name}: {error}")
            continue
        print(
            f"{name}: P* = {result.pstar:.4g} ({result.status}), {100 * result.confidence:.0f}% CI "
            f"[{result.ci_low:.4g}, {result.ci_high:.4g}], n_c m^L = {ncmL(base.n_c, base.m, base.L)}, P measured {result.P_values}"
        )
    print(f"{len(searches)} adaptive P* searches, {failed} with failed runs; results in {args.results}")
    return 1 if failed else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sweep")
    parser.add_argument("file", help="sweep description (TOML; see rhm_theory.runs.sweep)")
    parser.add_argument("--results", default="results.sqlite", help="SQLite results file (default: %(default)s)")
    parser.add_argument("--backend", choices=BACKENDS, default="local", help="(default: %(default)s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local processes, or CPUs of a local Ray instance (default: all cores; with --devices, one per device)",
    )
    parser.add_argument(
        "--address", default=None, help="address of an existing Ray cluster (default: start a local instance)"
    )
    parser.add_argument(
        "--gpus-per-run", type=float, default=0, help="GPUs requested by each Ray task (default: %(default)s)"
    )
    parser.add_argument(
        "--ensemble-size",
        type=int,
        default=1,
        metavar="K",
        help="train up to K runs that differ only in their seed as one ensemble, one per worker "
        "(faster for small networks; same rows up to float rounding; default: %(default)s)",
    )
    add_devices_arg(parser)
    add_save_model_arg(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
