"""The ``rhm`` command line. Each sub-command lives in its own module exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import fields

from rhm_theory.learning.config import CHOICES, field_kinds
from rhm_theory.runs.spec import SETTING_FIELDS, RunSpec

# Sub-command modules (rhm_theory/cli/<name>.py). Add a new command by adding its module here.
COMMANDS = ["info", "sample", "verify", "train", "pstar", "theory", "sweep", "report", "diffuse"]


def add_grammar_args(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    """The grammar flags shared by every command: --v --nc --m --s --L (and --seed)."""
    parser.add_argument("--v", type=int, required=True, help="vocabulary size per level")
    parser.add_argument("--nc", type=int, required=True, help="number of classes n_c")
    parser.add_argument("--m", type=int, required=True, help="multiplicity (synonyms per symbol)")
    parser.add_argument("--s", type=int, required=True, help="patch size (branching)")
    parser.add_argument("--L", type=int, required=True, help="number of levels")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="seed of the rules (default: %(default)s)")


def add_sparse_args(parser: argparse.ArgumentParser, default_s0=0) -> None:
    """The sparse-RHM flags (arXiv:2404.10727): --s0 (empty positions per child) and --variant A|B."""
    parser.add_argument("--s0", type=int, default=default_s0, help="sparsity s0 >= 0 of the sparse RHM (default: %(default)s)")
    parser.add_argument("--variant", choices=("A", "B"), default=None, help="sparse layout variant (default: A)")


def add_run_settings(parser: argparse.ArgumentParser) -> None:
    """One flag per run setting (rhm_theory.runs.spec.SETTING_FIELDS: the training fields, --P-test,
    --sensitivity-samples) with the type, choices, help and default of the RunSpec field."""
    kinds = field_kinds(RunSpec)
    group = parser.add_argument_group("run settings (rhm_theory.runs.spec.RunSpec)")
    for field in fields(RunSpec):
        if field.name in SETTING_FIELDS:
            group.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name, type=kinds[field.name],
                               default=field.default, choices=CHOICES.get(field.name),
                               help=f"{field.metadata['help']} (default: %(default)s)")


def run_settings(args: argparse.Namespace) -> dict:
    """The run settings given by the flags of :func:`add_run_settings`."""
    return {name: getattr(args, name) for name in SETTING_FIELDS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rhm", description="Random Hierarchy Model: data, exact theory, experiments")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rhm_theory.cli.{name}").register(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as error:  # bad input: one clear line, no traceback
        print(f"rhm {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
