"""``rhm train``: draw a grammar and disjoint train/test sets from a seed, train one network, report.

The run is exactly one row of a P* measurement (rhm_theory.runs.experiment.run_one): the same flags and
seed give the same rules, data, initialisation and result as ``rhm pstar`` does for that point (both
commands take their run flags and defaults from rhm_theory.runs.spec.RunSpec).
"""

from __future__ import annotations

import torch

from rhm_theory.core.validation import check_int
from rhm_theory.learning.training import check_device
from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.spec import RunSpec
from . import add_grammar_args, add_run_settings, describe_data, print_json, run_settings

REPORTED = ("test_error", "test_loss", "train_loss", "epochs", "steps", "seconds", "stop_reason")


def register(subparsers) -> None:
    parser = subparsers.add_parser("train")
    add_grammar_args(parser)
    parser.add_argument("--P", type=int, required=True, help="number of training data")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch; small RHM nets train fastest on one (default: %(default)s)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar over epochs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_run_settings(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    torch.set_num_threads(check_int("threads", args.threads))
    spec = RunSpec(v=args.v, n_c=args.nc, m=args.m, s=args.s, L=args.L, P=args.P, seed=args.seed, **run_settings(args))
    check_device(spec.device)
    row = run_one(spec, progress=args.progress)
    if args.json:
        print_json(row)
    else:
        print(f"{args.model} on {describe_data(spec)}, P = {args.P}, seed {args.seed}")
        for name in REPORTED + tuple(k for k in row if k.startswith("S_k")):
            print(f"  {name}: {row[name]}")
    return 1 if row["stop_reason"] == "diverged" else 0
