"""The ``rhm`` command line. Each sub-command lives in its own module exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys

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
