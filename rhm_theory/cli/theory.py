"""``rhm theory``: the exact rule-ensemble closed forms of rhm_theory.theory.symbolic at given parameters.

``--json`` prints one object keyed as ``rhm_theory.theory.symbolic.QUANTITIES``: integers as JSON integers,
rationals as strings "a/b", booleans as booleans, any other exact value (``log(3)/log(2)``,
``128*sqrt(2)``, ``noise_f2`` as an expression in P when --P is not given) as sympy's string.
With ``--s0`` or ``--variant`` it prints the sparse RHM's closed forms instead
(rhm_theory.theory.sparse_symbolic; null where not derived).
``--task next-token --seed S`` prints instead the exact next-token quantities of the grammar drawn with
seed S (rhm_theory.theory.next_token; docs/theory-next-token.md; with --zipf A, of the power-law grammar): per level of the lowest common
ancestor, the first distance t reaching it, sum C**2 and P_t = 1 / sum C**2; and H(x_d | last t tokens)
for every window t (null where the exact enumeration exceeds next_token.ENUMERATION_LIMIT or
ENUMERATION_TOKEN_LIMIT; refused when d > MAX_NEXT_TOKEN_D, docs/bounds.md).
``--zipf A`` prints the power-law RHM's learning-curve closed forms at exponent A instead
(rhm_theory.theory.power_law_symbolic; docs/theory-power-law.md): f_k and P_k per rank, the power-law
range P_1..P_m and its decades, the exponent -A/(1+A), and with --P the rules learned k*(P).
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.validation import readable_number
from rhm_theory.theory import next_token, power_law_symbolic, sparse_symbolic, symbolic

from . import add_grammar_args, add_sparse_args, add_zipf_arg, print_json


def json_value(value):
    """An exact value as JSON: int, "a/b" string, bool, null, or sympy's string of the expression."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, sp.Integer):
        return int(value)
    if isinstance(value, sp.Rational):
        return f"{value.p}/{value.q}"
    return str(value)


def latex_text(text: str) -> str:
    """Plain text (a quantity's name or description) escaped for LaTeX text mode."""
    special = {
        "\\": r"\textbackslash{}",
        "_": r"\_",
        "^": r"\^{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "{": r"\{",
        "}": r"\}",
        "~": r"\~{}",
        "<": r"\textless{}",
        ">": r"\textgreater{}",
    }
    return "".join(special.get(char, char) for char in text)


def latex_document(module, expressions: dict, params: dict, values: dict) -> str:
    """A complete LaTeX document: per quantity of ``module`` (symbolic or sparse_symbolic) its
    description, its sympy expression (where one holds for all parameters) and its exact value
    (quantities not derived are left out)."""
    setting = ", ".join(f"{latex_text(name)} = {value}" for name, value in params.items() if value is not None)
    lines = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[landscape, margin=1.5cm]{geometry}",
        r"\usepackage{amsmath}",
        r"\allowdisplaybreaks",
        r"\begin{document}",
        r"\section*{RHM rule-ensemble quantities}",
        f"Exact values at {setting} ({latex_text(module.__name__)}; definitions in docs/theory.md).",
    ]
    for name, value in values.items():
        if value is None:
            continue
        general = [] if expressions[name] is None else [f"& {sp.latex(expressions[name])} \\\\"]
        lines += [
            r"\paragraph{" + latex_text(name) + "}" + latex_text(module.DESCRIPTIONS[name]) + ".",
            r"\begin{align*}",
            *general,
            f"&{'= ' if general else ' '}{sp.latex(value)}",
            r"\end{align*}",
        ]
    lines.append(r"\end{document}")
    return "\n".join(lines)


def next_token_values(grammar: Grammar) -> dict:
    """The next-token quantities of one grammar (see the module docstring), JSON-ready; the losses
    (bounded by MAX_NEXT_TOKEN_D) first."""
    losses = next_token.optimal_losses(grammar, above_limit="nan")  # NaN above the enumeration limits
    levels = []
    for level in range(2, grammar.L + 2):
        distance = grammar.s ** (level - 2)
        strength = next_token.correlation_strength(grammar, distance)
        levels.append(
            {
                "level": level,
                "distance": distance,
                "correlation_strength": strength,
                "P_t": 1.0 / strength if strength > 0 else None,
            }
        )
    return {"levels": levels, "optimal_loss_by_window": [None if np.isnan(loss) else float(loss) for loss in losses]}


def run_next_token(args) -> int:
    if args.seed is None:
        raise ValueError("--task next-token needs --seed (the quantities are those of one drawn grammar)")
    if args.s0 is not None or args.variant is not None or args.P is not None or args.latex:
        raise ValueError("--task next-token takes none of --s0, --variant, --P, --latex")
    # --zipf A: the exact quantities of the power-law grammar drawn with that seed (weighted next_token optima)
    values = next_token_values(Grammar.random(args.v, args.nc, args.m, args.s, args.L, seed=args.seed, zipf=args.zipf))
    if args.json:
        print_json(values)
        return 0
    print(f"{'level':>5} {'distance':>8} {'sum C^2':>12} {'P_t':>12}")
    for row in values["levels"]:
        P_t = "inf" if row["P_t"] is None else f"{row['P_t']:.4g}"
        print(f"{row['level']:>5} {row['distance']:>8} {row['correlation_strength']:>12.4g} {P_t:>12}")
    print("H(x_d | last t tokens), nats:")
    for window, loss in enumerate(values["optimal_loss_by_window"]):
        print(f"  t = {window:>4}: {'above the enumeration limit' if loss is None else f'{loss:.6f}'}")
    return 0


def readable(value) -> str:
    """An exact value as short text: rationals via readable_number, other huge numbers to 7 digits."""
    if isinstance(value, sp.Rational):
        return readable_number(value.p, value.q)
    try:
        return str(value)
    except ValueError:  # an integer inside the expression has more digits than Python prints
        return str(sp.N(value, 7))


def approximate(value) -> str:
    """A number to 6 significant digits (sympy's Float text outside the range of floats)."""
    number = sp.N(value, 6)
    as_float = float(number) if number.is_real else math.nan
    if (as_float != 0 and math.isfinite(as_float)) or number == 0:
        return f"{as_float:.6g}"
    return str(number)


def run(args) -> int:
    if args.task == "next-token":
        return run_next_token(args)
    if args.seed is not None:
        raise ValueError("--seed is only used with --task next-token (the closed forms are rule-ensemble averages)")
    sparse = args.s0 is not None or args.variant is not None
    if args.zipf is not None:
        return run_power_law(args, sparse)
    variant = args.variant or "A"
    if sparse:  # the sparse RHM's closed forms (None where not derived)
        module, expressions = sparse_symbolic, sparse_symbolic.expressions(variant)
        values = sparse_symbolic.evaluate(args.v, args.nc, args.m, args.s, args.L, args.s0 or 0, variant, P=args.P)
    else:
        module, expressions = symbolic, symbolic.expressions()
        values = symbolic.evaluate(args.v, args.nc, args.m, args.s, args.L, P=args.P)
    if args.json:
        print_json({name: json_value(value) for name, value in values.items()})
    elif args.latex:
        params = {"v": args.v, "n_c": args.nc, "m": args.m, "s": args.s, "L": args.L, "s_0": args.s0, "P": args.P}
        print(latex_document(module, expressions, params, values))
    else:
        for name, value in values.items():
            approx = approximate(value) if isinstance(value, sp.Expr) and value.is_number else ""
            print(f"{name:>22}  {readable(value):<24}  {approx:<12}  {module.DESCRIPTIONS[name]}")
    return 0


def run_power_law(args, sparse: bool) -> int:
    """``--zipf A``: power_law_symbolic.evaluate at the grammar's parameters (floats)."""
    if sparse or args.latex:
        raise ValueError("--zipf takes none of --s0, --variant, --latex (the power-law closed forms are for the RHM)")
    values = power_law_symbolic.evaluate(args.v, args.nc, args.m, args.s, args.L, args.zipf, P=args.P)
    if args.json:
        print_json(values)
        return 0
    print(
        f"power-law RHM, f_k ~ k^-(1+{args.zipf:g}) (docs/theory-power-law.md); P_k = P_c / (m f_k) is a scaling argument"
    )
    for rank, (f, P_k) in enumerate(zip(values["f"], values["P_k"]), start=1):
        print(f"  rank {rank:>3}: f_k = {f:.6g}, P_k = {P_k:.6g}")
    print(
        f"  power law from P_1 = {values['P_1']:.6g} to P_m = {values['P_m']:.6g} ({values['decades']:.3g} decades); "
        f"exponent d log eps / d log P = {values['exponent']:.6g}"
    )
    if args.P is not None:
        print(
            f"  at P = {args.P}: k* = {values['k_star']:.4g} rules learned, unlearned mass {values['unlearned_mass']:.6g}"
        )
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "theory",
        description="Exact finite-size ensemble averages of the RHM class-token statistics (docs/theory.md, 'Rule-ensemble statistics').",
    )
    add_grammar_args(parser, seed=False)
    add_sparse_args(parser, default_s0=None)
    parser.add_argument("--P", type=int, default=None, help="training-set size for noise_f2 (default: keep P symbolic)")
    parser.add_argument(
        "--task",
        choices=("class", "next-token"),
        default="class",
        help="class: ensemble closed forms; next-token: exact next-token quantities of one grammar (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the grammar (--task next-token only)")
    add_zipf_arg(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument(
        "--latex",
        action="store_true",
        help="print a LaTeX document (compiles with pdflatex) of every expression and its value",
    )
    parser.set_defaults(func=run)
