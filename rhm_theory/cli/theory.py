"""``rhm theory``: the exact rule-ensemble closed forms of rhm_theory.theory.symbolic at given parameters.

``--json`` prints one object keyed as ``rhm_theory.theory.symbolic.QUANTITIES``: integers as JSON integers,
rationals as strings "a/b", booleans as booleans, any other exact value (``log(3)/log(2)``,
``128*sqrt(2)``, ``noise_f2`` as an expression in P when --P is not given) as sympy's string.
"""

from __future__ import annotations

import json

import sympy as sp

from rhm_theory.theory import symbolic
from . import add_grammar_args


def json_value(value):
    """An exact value as JSON: int, "a/b" string, bool, or sympy's string of the expression."""
    if isinstance(value, bool):
        return value
    if isinstance(value, sp.Integer):
        return int(value)
    if isinstance(value, sp.Rational):
        return f"{value.p}/{value.q}"
    return str(value)


def run(args) -> int:
    values = symbolic.evaluate(args.v, args.nc, args.m, args.s, args.L, P=args.P)
    if args.json:
        print(json.dumps({name: json_value(value) for name, value in values.items()}))
    elif args.latex:
        expressions = symbolic.expressions()
        for name, value in values.items():
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
    parser.add_argument("--P", type=int, default=None, help="training-set size for noise_f2 (default: keep P symbolic)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--latex", action="store_true", help="print the LaTeX of each expression and its value")
    parser.set_defaults(func=run)
