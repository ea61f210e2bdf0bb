"""``rhm sample``: draw a grammar and P data, write tokens, labels and the grammar JSON to an .npz file."""

from __future__ import annotations

import numpy as np

from rhm_theory.core.grammar import Grammar
from . import add_grammar_args


def run(args) -> int:
    grammar = Grammar.random(args.v, args.nc, args.m, args.s, args.L, seed=args.seed)
    x, y = grammar.sample(args.P, seed=args.data_seed, replace=args.replace)
    np.savez_compressed(args.out, x=x, y=y, grammar=np.array(grammar.to_json()))
    print(f"wrote {args.P} data (d = {grammar.d}, p_max = {grammar.p_max}) to {args.out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sample", help="draw data of a random grammar into an .npz file")
    add_grammar_args(parser)
    parser.add_argument("--P", type=int, required=True, help="number of data")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the data draw (default: %(default)s)")
    parser.add_argument("--replace", action="store_true", help="i.i.d. data (default: distinct data)")
    parser.add_argument("--out", required=True, help="output .npz (arrays x, y and grammar JSON)")
    parser.set_defaults(func=run)
