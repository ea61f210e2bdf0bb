"""``rhm train``: draw a grammar and disjoint train/test sets from a seed, train one network, report.

The run is exactly one row of a P* measurement (rhm_theory.runs.experiment.run_one): the same flags and
seed give the same rules, data, initialisation and result as ``rhm pstar`` does for that point.
"""

from __future__ import annotations

import json

import torch

from rhm_theory.runs.experiment import RunSpec, run_one
from rhm_theory.learning.models import MODEL_NAMES, PARAMETRIZATIONS
from rhm_theory.learning.training import OPTIMIZERS, TrainConfig
from rhm_theory.core.validation import check_int
from . import add_grammar_args

REPORTED = ("test_error", "train_loss", "epochs", "steps", "seconds", "stop_reason")


def register(subparsers) -> None:
    defaults = TrainConfig()
    parser = subparsers.add_parser("train", help="train one network on RHM data and report its test error")
    add_grammar_args(parser)
    parser.add_argument("--P", type=int, required=True, help="number of training data")
    parser.add_argument("--P-test", dest="P_test", type=int, default=2048, help="number of test data, disjoint from training (default: %(default)s)")
    parser.add_argument("--model", choices=MODEL_NAMES, default=defaults.model, help="network (default: %(default)s)")
    parser.add_argument("--width", type=int, default=defaults.width, help="hidden width / channels (default: %(default)s)")
    parser.add_argument("--parametrization", choices=PARAMETRIZATIONS, default=defaults.parametrization,
                        help="weight scaling (default: %(default)s)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer, help="(default: %(default)s)")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="learning rate before x lr_scale (default: %(default)s)")
    parser.add_argument("--momentum", type=float, default=defaults.momentum, help="SGD momentum (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="(default: %(default)s)")
    parser.add_argument("--loss-threshold", type=float, default=defaults.loss_threshold,
                        help="stop when the epoch's mean training loss is below this (default: %(default)s)")
    parser.add_argument("--max-epochs", type=int, default=defaults.max_epochs, help="(default: %(default)s)")
    parser.add_argument("--max-steps", type=int, default=None, help="optional cap on SGD steps")
    parser.add_argument("--device", default=defaults.device, help="torch device, e.g. cpu or cuda (default: %(default)s)")
    parser.add_argument("--sensitivity-samples", type=int, default=0, metavar="N",
                        help="also measure the synonymic sensitivities S_{k,l} on N test data (default: 0, skip)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch; small RHM nets train fastest on one (default: %(default)s)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar over epochs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def run(args) -> int:
    torch.set_num_threads(check_int("threads", args.threads))
    spec = RunSpec(
        v=args.v,
        n_c=args.nc,
        m=args.m,
        s=args.s,
        L=args.L,
        P=args.P,
        seed=args.seed,
        P_test=args.P_test,
        model=args.model,
        width=args.width,
        parametrization=args.parametrization,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        batch_size=args.batch_size,
        loss_threshold=args.loss_threshold,
        max_epochs=args.max_epochs,
        max_steps=args.max_steps,
        device=args.device,
        sensitivity_samples=args.sensitivity_samples,
    )
    row = run_one(spec, progress=args.progress)
    if args.json:
        print(json.dumps(row))
    else:
        print(f"{args.model} on RHM(v={args.v}, n_c={args.nc}, m={args.m}, s={args.s}, L={args.L}), P = {args.P}, seed {args.seed}")
        for name in REPORTED + tuple(k for k in row if k.startswith("S_k")):
            print(f"  {name}: {row[name]}")
    return 0
