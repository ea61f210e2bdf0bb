"""``rhm sweep FILE``: expand a sweep file into runs, skip finished ones, run the rest locally or on Ray."""

from __future__ import annotations

from ..backends import BACKENDS, execute
from ..results import ResultsStore
from ..sweep import load_sweep


def run(args) -> int:
    specs = load_sweep(args.file)
    with ResultsStore(args.results) as store:
        outcome = execute(
            specs, store, backend=args.backend, workers=args.workers, address=args.address,
            gpus_per_run=args.gpus_per_run, progress=not args.quiet,
        )
        unresolved = store.failures()
    print(f"{len(specs)} runs in {args.file}: {outcome.skipped} already stored, {outcome.finished} finished now, "
          f"{outcome.failed} failed now; results in {args.results}")
    for failure in unresolved[-outcome.failed:] if outcome.failed else []:
        print(f"  failed {failure['key']}: {failure['error'].splitlines()[0]}")
    if outcome.failed:
        print("rerun the same command to retry the failed runs")
    return 0 if outcome.complete else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser("sweep", help="run a sweep file (resumable; local processes or a Ray cluster)")
    parser.add_argument("file", help="sweep description (TOML; see rhm_theory.sweep)")
    parser.add_argument("--results", default="results.sqlite", help="SQLite results file (default: %(default)s)")
    parser.add_argument("--backend", choices=BACKENDS, default="local", help="(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="local processes, or CPUs of a local Ray instance (default: all cores)")
    parser.add_argument("--address", default=None, help="address of an existing Ray cluster (default: start a local instance)")
    parser.add_argument("--gpus-per-run", type=float, default=0, help="GPUs requested by each Ray task (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
