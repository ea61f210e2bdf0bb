"""``rhm sample``: draw a grammar and P data, write tokens, labels and the grammar JSON to an .npz file."""

from __future__ import annotations

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from . import add_grammar_args, add_sparse_args


def run(args) -> int:
    grammar = Grammar.random(args.v, args.nc, args.m, args.s, args.L, seed=args.seed)
    variant = args.variant or "A"
    model = SparseRHM(grammar, args.s0, variant)  # s0 = 0: the RHM itself, same data
    x, y = model.sample(args.P, seed=args.data_seed, replace=args.replace)
    np.savez_compressed(
        args.out, x=x, y=y, grammar=np.array(grammar.to_json()), s0=np.array(model.s0), variant=np.array(variant)
    )
    print(f"wrote {args.P} data (d = {model.d}, p_max = {model.p_max}) to {args.out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sample", help="draw data of a random grammar into an .npz file")
    add_grammar_args(parser)
    add_sparse_args(parser)
    parser.add_argument("--P", type=int, required=True, help="number of data")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the data draw (default: %(default)s)")
    parser.add_argument("--replace", action="store_true", help="i.i.d. data (default: distinct data)")
    parser.add_argument("--out", required=True, help="output .npz (arrays x, y, grammar JSON, s0, variant)")
    parser.set_defaults(func=run)
