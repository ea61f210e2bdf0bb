"""``rhm info``: parameters, d, p_max (exact integer) and feasibility of a grammar setting."""

from __future__ import annotations

import json

from rhm_theory.core.rules import n_nodes as count_nodes, n_placements, sparse_p_max
from rhm_theory.core.validation import check_int, check_params
from . import add_grammar_args, add_sparse_args


def describe(v, n_c, m, s, L, s0=0, variant="A") -> dict:
    """Facts of a setting (no rules drawn): d, n_nodes, p_max and whether the rules can exist.

    ``s0 > 0``: the sparse RHM (arXiv:2404.10727) of that sparsity and layout ``variant``.
    """
    v, n_c, m, s, L = (check_int(k, x) for k, x in zip(("v", "n_c", "m", "s", "L"), (v, n_c, m, s, L)))
    s0 = check_int("s0", s0, minimum=0)
    n_nodes = count_nodes(s, L)
    try:
        check_params(v, n_c, m, s, L)
        feasible, reason = True, ""
    except ValueError as error:
        feasible, reason = False, str(error)
    return {
        "v": v, "n_c": n_c, "m": m, "s": s, "L": L,
        "s0": s0, "variant": variant, "n_placements": n_placements(s, s0, variant),
        "d": (s * (s0 + 1)) ** L, "n_nodes": n_nodes, "p_max": sparse_p_max(n_c, m, s, L, s0, variant),
        "feasible": feasible, "infeasible_because": reason,
    }


def run(args) -> int:
    facts = describe(args.v, args.nc, args.m, args.s, args.L, args.s0, args.variant or "A")
    if args.json:
        print(json.dumps(facts))
    else:
        for key, value in facts.items():
            print(f"{key:>20}  {value}")
    return 0 if facts["feasible"] else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="parameters, d, p_max and feasibility of a setting")
    add_grammar_args(parser, seed=False)
    add_sparse_args(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
