"""``rhm theory``: the exact rule-ensemble closed forms of rhm_theory.theory.symbolic at given parameters.

``--json`` prints one object keyed as ``rhm_theory.theory.symbolic.QUANTITIES``: integers as JSON integers,
rationals as strings "a/b", booleans as booleans, any other exact value (``log(3)/log(2)``,
``128*sqrt(2)``, ``noise_f2`` as an expression in P when --P is not given) as sympy's string.
With ``--s0`` or ``--variant`` it prints the sparse RHM's closed forms instead
(rhm_theory.theory.sparse_symbolic; null where not derived).
"""

from __future__ import annotations

import json

import sympy as sp

from rhm_theory.theory import sparse_symbolic, symbolic
from . import add_grammar_args, add_sparse_args


def json_value(value):
    """An exact value as JSON: int, "a/b" string, bool, null, or sympy's string of the expression."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, sp.Integer):
        return int(value)
    if isinstance(value, sp.Rational):
        return f"{value.p}/{value.q}"
    return str(value)


def run(args) -> int:
    sparse = args.s0 is not None or args.variant is not None
    variant = args.variant or "A"
    if sparse:  # the sparse RHM's closed forms (None where not derived)
        values = sparse_symbolic.evaluate(args.v, args.nc, args.m, args.s, args.L, args.s0 or 0, variant, P=args.P)
    else:
        values = symbolic.evaluate(args.v, args.nc, args.m, args.s, args.L, P=args.P)
    if args.json:
        print(json.dumps({name: json_value(value) for name, value in values.items()}))
    elif args.latex:
        expressions = sparse_symbolic.expressions(variant) if sparse else symbolic.expressions()
        for name, value in values.items():
            if value is not None:
                print(f"{name}: {sp.latex(expressions[name])} = {sp.latex(value)}")
    else:
        for name, value in values.items():
            approx = f"{float(value):.6g}" if isinstance(value, sp.Expr) and value.is_number else ""
            print(f"{name:>22}  {str(value):<24}  {approx}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "theory",
        help="exact rule-ensemble averages (sympy closed forms) at given parameters",
        description="Exact finite-size ensemble averages of the RHM class-token statistics (THEORY.md §2).",
    )
    add_grammar_args(parser, seed=False)
    add_sparse_args(parser, default_s0=None)
    parser.add_argument("--P", type=int, default=None, help="training-set size for noise_f2 (default: keep P symbolic)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--latex", action="store_true", help="print the LaTeX of each expression and its value")
    parser.set_defaults(func=run)
