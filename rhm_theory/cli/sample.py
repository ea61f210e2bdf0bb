"""``rhm sample``: draw a grammar and P data, write tokens, labels and the grammar JSON to an .npz file.

With ``--zipf A`` (power-law rules, arXiv:2505.07067) the data are i.i.d. draws, with or without --replace:
distinct uniform data do not describe weighted rules. The printed line says so.
"""

from __future__ import annotations

import numpy as np

from rhm_theory.core.files import write_atomically
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.core.validation import readable_number

from . import add_force_arg, add_grammar_args, add_sparse_args, add_zipf_arg, output_file


def run(args) -> int:
    out = output_file(args.out, args.force)
    if args.zipf is not None and args.s0:
        raise ValueError(f"--zipf has no sparse RHM: --s0 must be 0, got {args.s0}")
    grammar = Grammar.random(args.v, args.nc, args.m, args.s, args.L, seed=args.seed, zipf=args.zipf)
    variant = args.variant or "A"
    # s0 = 0: the RHM itself, same data. Weighted rules have only i.i.d. data, which the printed line says.
    model = grammar if grammar.weighted else SparseRHM(grammar, args.s0, variant)
    x, y = model.sample(args.P, seed=args.data_seed, replace=args.replace or grammar.weighted)
    write_atomically(
        out,
        lambda f: np.savez_compressed(
            f, x=x, y=y, grammar=np.array(grammar.to_json()), s0=np.array(args.s0), variant=np.array(variant)
        ),
    )
    sizes = f"d = {model.d}, p_max = {readable_number(model.p_max)}"
    if grammar.weighted:
        sizes = f"power-law rules, zipf = {grammar.zipf}, are always sampled with replacement; {sizes}"
    print(f"wrote {args.P}{' i.i.d.' if grammar.weighted else ''} data ({sizes}) to {out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("sample")
    add_grammar_args(parser)
    add_sparse_args(parser)
    add_zipf_arg(parser)
    parser.add_argument("--P", type=int, required=True, help="number of data")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the data draw (default: %(default)s)")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="i.i.d. data (default: distinct data; --zipf data are always i.i.d., and the output line says so)",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="output file, written under exactly this name (.npz format: arrays x, y, grammar JSON, s0, variant)",
    )
    add_force_arg(parser)
    parser.set_defaults(func=run)
