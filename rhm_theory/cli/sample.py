"""``rhm sample``: draw a grammar and P data, write tokens, labels and the grammar JSON to an .npz file."""

from __future__ import annotations

import numpy as np

from rhm_theory.core.files import write_atomically
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.core.validation import readable_number
from . import add_force_arg, add_grammar_args, add_sparse_args, output_file


def run(args) -> int:
    out = output_file(args.out, args.force)
    grammar = Grammar.random(args.v, args.nc, args.m, args.s, args.L, seed=args.seed)
    variant = args.variant or "A"
    model = SparseRHM(grammar, args.s0, variant)  # s0 = 0: the RHM itself, same data
    x, y = model.sample(args.P, seed=args.data_seed, replace=args.replace)
    write_atomically(out, lambda f: np.savez_compressed(f, x=x, y=y, grammar=np.array(grammar.to_json()),
                                                        s0=np.array(model.s0), variant=np.array(variant)))
    print(f"wrote {args.P} data (d = {model.d}, p_max = {readable_number(model.p_max)}) to {out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sample")
    add_grammar_args(parser)
    add_sparse_args(parser)
    parser.add_argument("--P", type=int, required=True, help="number of data")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the data draw (default: %(default)s)")
    parser.add_argument("--replace", action="store_true", help="i.i.d. data (default: distinct data)")
    parser.add_argument("--out", required=True,
                        help="output file, written under exactly this name (.npz format: arrays x, y, grammar JSON, s0, variant)")
    add_force_arg(parser)
    parser.set_defaults(func=run)
