"""``rhm info``: parameters, d, p_max (exact integer) and feasibility of a grammar setting.

Text output prints p_max in full up to 60 digits (EXACT_DIGITS), else in scientific form; ``--json``
prints it as an exact JSON integer of any size (a reader of more than 4300 digits must lift Python's
int-to-text limit, sys.set_int_max_str_digits). Settings beyond the size bounds of rhm_theory.core.validation.check_size (and
check_sparse_size when s0 > 0) are reported infeasible, with the sizes that are too large to compute
given as null; every size is bounded by its logarithm before it is computed. ``--zipf A`` adds the
power-law rules' largest and smallest rule probabilities f_1, f_m and the data entropy
log n_c + n_nodes H(f) in nats (rhm_theory.theory.exact.data_entropy; null when infeasible).
"""

from __future__ import annotations

import math

from rhm_theory.core.rule_probs import row_entropies, zipf_weights
from rhm_theory.core.rules import SPARSE_VARIANTS, log2_placements, n_nodes as count_nodes, n_placements, sparse_p_max
from rhm_theory.core.validation import (
    MAX_P_MAX_BITS,
    check_choice,
    check_int,
    check_params,
    check_sparse_size,
    check_zipf,
    readable_number,
)

from . import add_grammar_args, add_sparse_args, add_zipf_arg, print_json

_CHEAP_BITS = 4096  # d, n_nodes and n_placements are computed exactly when they have at most this many bits


def describe(v, n_c, m, s, L, s0=0, variant="A", zipf=None) -> dict:
    """Facts of a setting (no rules drawn): d, n_nodes, p_max and whether the rules can exist.

    ``s0 > 0``: the sparse RHM (arXiv:2404.10727) of that sparsity and layout ``variant``.
    ``zipf=a``: power-law rules (arXiv:2505.07067; no sparse RHM), with the facts of their probabilities.
    """
    v, n_c, m, s, L = (check_int(k, x) for k, x in zip(("v", "n_c", "m", "s", "L"), (v, n_c, m, s, L)))
    s0 = check_int("s0", s0, minimum=0)
    check_choice("variant", variant, SPARSE_VARIANTS)
    if zipf is not None:
        zipf = check_zipf(zipf)
        if s0:
            raise ValueError(f"power-law rules (zipf = {zipf}) have no sparse RHM: s0 must be 0, got {s0}")
    try:
        check_params(v, n_c, m, s, L)
        check_sparse_size(n_c, m, s, L, s0, variant)
        feasible, reason = True, ""
    except ValueError as error:
        feasible, reason = False, str(error)
    patch = s * (s0 + 1)
    cheap = L * math.log2(patch) <= _CHEAP_BITS
    n_nodes = count_nodes(s, L) if cheap else None
    placements = n_placements(s, s0, variant) if log2_placements(s, s0, variant) <= _CHEAP_BITS else None
    small_p_max = (
        cheap and placements is not None and math.log2(n_c) + n_nodes * math.log2(m * placements) <= MAX_P_MAX_BITS
    )
    facts = {
        "v": v,
        "n_c": n_c,
        "m": m,
        "s": s,
        "L": L,
        "s0": s0,
        "variant": variant,
        "n_placements": placements,
        "d": patch**L if cheap else None,
        "n_nodes": n_nodes,
        "p_max": sparse_p_max(n_c, m, s, L, s0, variant) if small_p_max else None,
        "feasible": feasible,
        "infeasible_because": reason,
    }
    if zipf is not None:
        facts.update(zipf=zipf, rule_prob_first=None, rule_prob_last=None, data_entropy_nats=None)
        if feasible:  # m and n_nodes are bounded once the setting is feasible
            f = zipf_weights(m, zipf)
            facts.update(
                rule_prob_first=float(f[0]),
                rule_prob_last=float(f[-1]),
                data_entropy_nats=math.log(n_c) + n_nodes * float(row_entropies(f)),
            )
    return facts


def run(args) -> int:
    facts = describe(args.v, args.nc, args.m, args.s, args.L, args.s0, args.variant or "A", args.zipf)
    if args.json:
        print_json(facts)
    else:
        for key, value in facts.items():
            shown = readable_number(value) if isinstance(value, int) and not isinstance(value, bool) else value
            print(f"{key:>20}  {'too large to compute' if value is None else shown}")
    return 0 if facts["feasible"] else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser("info")
    add_grammar_args(parser, seed=False)
    add_sparse_args(parser)
    add_zipf_arg(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
