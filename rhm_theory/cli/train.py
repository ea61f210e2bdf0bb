"""``rhm train``: draw a grammar and disjoint train/test sets from a seed (i.i.d. sets for power-law rules,
``--zipf A``), train one network, report.

The run is exactly one row of a P* measurement (rhm_theory.runs.experiment.run_one): the same flags and
seed give the same rules, data, initialisation and result as ``rhm pstar`` does for that point (both
commands take their run flags and defaults from rhm_theory.runs.spec.RunSpec). Its learning curve
(rhm_theory.learning.history) can go to a CSV file and a TensorBoard folder, its trained weights to a
checkpoint folder. Each output is checked before training and written whole at the end (the curve goes to a
hidden ``.FILE.partial`` while the run trains): a refused or failed run leaves every existing file as it was.
"""

from __future__ import annotations

import contextlib

import torch

from rhm_theory.core.files import check_distinct, check_output_name, check_writable_folder, staged, staged_folder
from rhm_theory.core.validation import check_int
from rhm_theory.learning.history import CSVWriter, TensorBoardWriter, tensorboard_summary_writer
from rhm_theory.learning.training import check_device
from rhm_theory.runs.experiment import check_runs, run_one
from rhm_theory.runs.spec import RunSpec, run_key

from . import (
    add_force_arg,
    add_grammar_args,
    add_run_settings,
    add_save_model_arg,
    describe_data,
    output_file,
    print_json,
    run_settings,
)

REPORTED = ("test_error", "test_loss", "train_loss", "epochs", "steps", "seconds", "stop_reason")


def register(subparsers) -> None:
    parser = subparsers.add_parser("train")
    add_grammar_args(parser)
    parser.add_argument("--P", type=int, required=True, help="number of training data")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch; small RHM nets train fastest on one (default: %(default)s)",
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar over epochs")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of text (without the history)"
    )
    parser.add_argument(
        "--history-csv",
        metavar="FILE",
        help="write the learning curve (step, epoch, train_loss, "
        "test_error, test_loss) to this CSV file (refused if it exists, unless --force)",
    )
    parser.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write the learning curve as TensorBoard scalars into DIR/<run key> (needs the [tensorboard] extra)",
    )
    add_save_model_arg(parser)
    add_force_arg(parser)
    add_run_settings(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    torch.set_num_threads(check_int("threads", args.threads))
    spec = RunSpec(v=args.v, n_c=args.nc, m=args.m, s=args.s, L=args.L, P=args.P, seed=args.seed, **run_settings(args))
    check_device(spec.device)
    check_runs([spec])
    # Every output is checked before training and written only when the whole run succeeded: a refused
    # or failed command leaves every file as it was (rhm_theory.core.files).
    names = {"--history-csv": args.history_csv, "--tensorboard": args.tensorboard, "--save-model": args.save_model}
    paths = {flag: None if name is None else check_output_name(flag, name) for flag, name in names.items()}
    check_distinct(paths)
    history_csv = output_file(paths["--history-csv"], args.force) if args.history_csv is not None else None
    tensorboard = (
        check_writable_folder("--tensorboard", paths["--tensorboard"]) / run_key(spec)
        if args.tensorboard is not None
        else None
    )
    save_model = check_writable_folder("--save-model", paths["--save-model"]) if args.save_model is not None else None
    if history_csv is not None:
        check_writable_folder("--history-csv", history_csv.parent)
    if tensorboard is not None:
        try:
            tensorboard_summary_writer()
        except ImportError as error:
            raise ValueError(str(error)) from None
    with contextlib.ExitStack() as stack:
        writers = []
        if history_csv is not None:
            (partial_csv,) = stack.enter_context(staged(history_csv))
            writers.append(stack.enter_context(CSVWriter(partial_csv)))
        if tensorboard is not None:
            writers.append(stack.enter_context(TensorBoardWriter(stack.enter_context(staged_folder(tensorboard)))))
        row = run_one(spec, progress=args.progress, callbacks=writers, save_model=save_model)
    history = row.pop("history")
    if args.json:
        print_json(row)
    else:
        print(f"{args.model} on {describe_data(spec)}, P = {args.P}, seed {args.seed}")
        for name in REPORTED + tuple(k for k in row if k.startswith("S_k")):
            print(f"  {name}: {row[name]}")
        print(f"  history: {len(history)} records, steps {history[0]['step']} to {history[-1]['step']}")
    return 1 if row["stop_reason"] == "diverged" else 0
