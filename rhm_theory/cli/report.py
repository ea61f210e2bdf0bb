"""``rhm report RESULTS --out DIR``: figures (PNG) and a markdown summary of any results file."""

from __future__ import annotations

from rhm_theory.core.files import check_distinct, check_output_name
from rhm_theory.report.figures import REPORT_FIELDS, report_files, write_report
from rhm_theory.runs.store import ResultsStore

from . import add_force_arg, output_folder


def run(args) -> int:
    output_folder(check_output_name("--out", args.out), args.force)
    check_distinct({f"--out file {path.name}": path for path in report_files(args.out)}, {"results file": args.results})
    with ResultsStore(args.results, readonly=True) as store:
        rows, failures, history = store.rows(require=REPORT_FIELDS), store.failures(), store.history()
    summary = write_report(rows, args.out, failures, history)
    print(f"{len(rows)} runs; report: {summary}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("report")
    parser.add_argument("results", help="SQLite results file written by rhm pstar or rhm sweep")
    parser.add_argument("--out", default="results-report", help="output folder (default: %(default)s)")
    add_force_arg(parser)
    parser.set_defaults(func=run)
