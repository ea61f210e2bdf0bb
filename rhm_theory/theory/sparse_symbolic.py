"""Closed forms of the sparse RHM as functions of s0, derived by sympy (arXiv:2404.10727;
docs/theory-sparse.md, "Exact statistics" and "Sample complexities").

Derived here, exact at finite parameters:

- ``n_placements`` and ``p_max = n_c (m n_placements)**n_nodes`` (variants A and B);
- ``occupancy``: the probability that a given patch position holds an informative child of an
  informative parent, computed from the layout counts (A: (s0+1)**(s-1) of the (s0+1)**s layouts
  use a given position; B: C(s'-1, s-1) of the C(s', s)); sympy simplifies both to 1/(s0+1);
- ``informative_fraction = occupancy**L``: the probability that an input position is not empty, the
  same at every position and for every class;
- variant A only: P(x_j = mu | alpha) = informative_fraction * p_RHM(mu | alpha) at the RHM position
  whose slots are the sub-patches on the path to j, so the correlations f(alpha | mu) of the
  informative tokens, and their ensemble variance ``sigma_f2``, are the RHM's
  (rhm_theory.theory.symbolic, with its exactness condition); the empty token carries no class
  information. A token is then seen in P informative_fraction / v of P samples, so the sampling noise
  is the RHM's with P -> P informative_fraction and ``P_c = (s0+1)**L P_c(RHM)``.

Variant B mixes several RHM positions at one input position, so its correlations are not the RHM's;
their ensemble variance is not derived here. ``P_star_LCN`` and ``P_star_CNN`` are the paper's
empirical scalings (its Sec. 6 argues for the LCN one; the CNN's (s0+1)**2 is left unexplained there).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from rhm_theory.core.rules import SPARSE_VARIANTS
from rhm_theory.core.validation import check_int
from rhm_theory.theory import symbolic
from rhm_theory.theory.symbolic import L, P, m, n_c, s, v

s0 = sp.Symbol("s_0", integer=True, nonnegative=True)

QUANTITIES = (
    "n_placements",
    "p_max",
    "d",
    "occupancy",
    "informative_fraction",
    "sigma_f2",
    "noise_f2",
    "P_c",
    "P_c_over_rhm",
    "P_star_LCN",
    "P_star_CNN",
)

# One line per quantity, shown by ``rhm theory --s0`` (definitions in docs/theory-sparse.md).
DESCRIPTIONS = {
    "n_placements": "layouts of the s informative children in a patch of s (s0 + 1) positions",
    "p_max": "number of distinct data, n_c (m n_placements)^n_nodes",
    "d": "input length (s (s0 + 1))^L",
    "occupancy": "probability that a patch position holds an informative child, 1/(s0 + 1)",
    "informative_fraction": "probability that an input position is not empty, occupancy^L",
    "sigma_f2": "ensemble variance of the informative tokens' correlations (the RHM's; variant A)",
    "noise_f2": "sampling noise of n_c f from P samples, leading order in 1/P (variant A)",
    "P_c": "training-set size where noise_f2 = sigma_f2 (variant A)",
    "P_c_over_rhm": "P_c / P_c of the RHM with the same (v, n_c, m, s, L) (variant A)",
    "P_star_LCN": "empirical sample complexity of LCNs, (s0 + 1)^L n_c m^L (arXiv:2404.10727)",
    "P_star_CNN": "empirical sample complexity of CNNs, (s0 + 1)^2 n_c m^L (arXiv:2404.10727)",
}


@cache
def expressions(variant: str) -> dict:
    """Every quantity of :data:`QUANTITIES` as a sympy expression in v, n_c, m, s, L, s_0 (and P).

    For variant B, ``sigma_f2``, ``noise_f2``, ``P_c`` and ``P_c_over_rhm`` are None (not derived).
    """
    if variant not in SPARSE_VARIANTS:
        raise ValueError(f"variant must be one of {SPARSE_VARIANTS}, got {variant!r}")
    patch = s * (s0 + 1)
    if variant == "A":
        layouts = (s0 + 1) ** s
        using_position = (s0 + 1) ** (s - 1)  # the child of that sub-patch is there, the others anywhere
    else:
        layouts = sp.binomial(patch, s)
        using_position = sp.binomial(patch - 1, s - 1)  # one child there, s - 1 at the other positions
    occupancy = sp.simplify(sp.combsimp(using_position / layouts))
    if sp.simplify(occupancy - 1 / (s0 + 1)) != 0:
        raise RuntimeError(f"derivation failed: occupancy {occupancy} is not 1/(s0+1)")
    informative_fraction = occupancy**L
    n_nodes = sp.cancel((s**L - 1) / (s - 1))
    values = {
        "n_placements": layouts,
        "p_max": n_c * (m * layouts) ** n_nodes,
        "d": patch**L,
        "occupancy": occupancy,
        "informative_fraction": informative_fraction,
        "sigma_f2": None,
        "noise_f2": None,
        "P_c": None,
        "P_c_over_rhm": None,
        "P_star_LCN": (s0 + 1) ** L * n_c * m**L,  # empirical (the paper's fits)
        "P_star_CNN": (s0 + 1) ** 2 * n_c * m**L,
    }
    if variant == "A":
        rhm = symbolic.expressions()
        f = 1 / n_c
        noise_f2 = n_c**2 * f * (1 - f) / (P * informative_fraction / v)
        (P_c,) = sp.solve(sp.Eq(noise_f2, rhm["sigma_f2"]), P)
        values.update(
            sigma_f2=rhm["sigma_f2"],
            noise_f2=sp.factor(noise_f2),
            P_c=P_c,
            P_c_over_rhm=sp.simplify(P_c / rhm["P_c"]),
        )
    return values


def evaluate(v, n_c, m, s, L, s0, variant: str = "A", P=None) -> dict:
    """All quantities exactly at the given integers (sympy numbers; None where not derived)."""
    params = symbolic.bind_parameters((v, n_c, m, s, L), P)
    params[globals()["s0"]] = sp.Integer(check_int("s0", s0, minimum=0))
    return {name: (None if expr is None else sp.simplify(expr.subs(params))) for name, expr in expressions(variant).items()}
