"""``rhm info``: parameters, d, p_max (exact integer) and feasibility of a grammar setting."""

from __future__ import annotations

import json

from rhm_theory.core.validation import check_int, check_params
from . import add_grammar_args


def describe(v, n_c, m, s, L) -> dict:
    """Facts of a setting (no rules drawn): d, n_nodes, p_max and whether the rules can exist."""
    v, n_c, m, s, L = (check_int(k, x) for k, x in zip(("v", "n_c", "m", "s", "L"), (v, n_c, m, s, L)))
    n_nodes = sum(s**k for k in range(L))
    try:
        check_params(v, n_c, m, s, L)
        feasible, reason = True, ""
    except ValueError as error:
        feasible, reason = False, str(error)
    return {
        "v": v, "n_c": n_c, "m": m, "s": s, "L": L,
        "d": s**L, "n_nodes": n_nodes, "p_max": n_c * m**n_nodes,
        "feasible": feasible, "infeasible_because": reason,
    }


def run(args) -> int:
    facts = describe(args.v, args.nc, args.m, args.s, args.L)
    if args.json:
        print(json.dumps(facts))
    else:
        for key, value in facts.items():
            print(f"{key:>20}  {value}")
    return 0 if facts["feasible"] else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="parameters, d, p_max and feasibility of a setting")
    add_grammar_args(parser, seed=False)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
