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

Variant B mixes several RHM positions at one input position, so its correlations are not the RHM's.
Their ensemble second moments are derived here at given integers s, s0 and L (:func:`second_moments`,
symbolic in v, n_c, m): P(x_j = mu | alpha) = sum_i w_i p_i(mu | alpha) over the slot paths i of the
RHM positions that can land at j, with weights that factorise over levels; the ensemble moments of
p_i p_i' factorise over levels as well (levels are drawn independently), with one 2x2 pair-moment
matrix for the same slot (the RHM's) and one for two different slots of the same productions
(:func:`different_slot_moments`). So the second moments at position j are a product of L 2x2
matrices, and their average over positions the same product with averaged factors. ``sigma_f2`` of
variant B is that position average, in the RHM's first-order form (exact where pbar is
deterministic, ``var_pbar`` = 0); :func:`statistics_at` gives one position. ``P_star_LCN`` and ``P_star_CNN`` are the paper's
empirical scalings (its Sec. 6 argues for the LCN one; the CNN's (s0+1)**2 is left unexplained there).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import sympy as sp

from rhm_theory.core.rules import SPARSE_VARIANTS
from rhm_theory.core.validation import check_int, check_sparse_size
from rhm_theory.theory import symbolic
from rhm_theory.theory.symbolic import IntOrExpr, L, P, m, n_c, s, v

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
    "sigma_f2": "ensemble variance of informative correlations (A: the RHM's; B: position mean)",
    "noise_f2": "sampling noise of n_c f from P samples, leading order in 1/P",
    "P_c": "training-set size where noise_f2 = sigma_f2",
    "P_c_over_rhm": "P_c / P_c of the RHM with the same (v, n_c, m, s, L)",
    "P_star_LCN": "empirical sample complexity of LCNs, (s0 + 1)^L n_c m^L (arXiv:2404.10727)",
    "P_star_CNN": "empirical sample complexity of CNNs, (s0 + 1)^2 n_c m^L (arXiv:2404.10727)",
}


@cache
def expressions(variant: str) -> dict:
    """Every quantity of :data:`QUANTITIES` as a sympy expression in v, n_c, m, s, L, s_0 (and P).

    For variant B, ``sigma_f2``, ``noise_f2``, ``P_c`` and ``P_c_over_rhm`` are None here: they are
    derived at given integers s, s0 and L only (:func:`evaluate`, :func:`second_moments`).
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
        values.update(sigma_f2=rhm["sigma_f2"], **_crossing(rhm["sigma_f2"], informative_fraction))
        values["P_c_over_rhm"] = sp.simplify(values["P_c"] / rhm["P_c"])
    return values


def evaluate(v: int, n_c: int, m: int, s: int, L: int, s0: int, variant: str = "A", P: IntOrExpr | None = None) -> dict:
    """All quantities exactly at the given integers (sympy numbers); the sparse RHM's size bounds
    (rhm_theory.core.validation.check_sparse_size: d, layouts, p_max) are checked first."""
    params = symbolic.bind_parameters((v, n_c, m, s, L), P)
    n_c, m, s, L = (int(params[symbol]) for symbol in symbolic.PARAMETERS[1:])
    check_sparse_size(n_c, m, s, L, s0, variant)
    params[globals()["s0"]] = sp.Integer(check_int("s0", s0, minimum=0))
    values = {
        name: (None if expr is None else sp.simplify(expr.subs(params))) for name, expr in expressions(variant).items()
    }
    if variant == "B":
        sigma_f2 = statistics_at(v, n_c, m, s, L, s0, "B", position=None)["sigma_f2"]
        crossing = _crossing(sigma_f2, sp.Rational(1, (s0 + 1) ** L))
        values.update(sigma_f2=sigma_f2, **{name: sp.simplify(value.subs(params)) for name, value in crossing.items()})
        values["P_c_over_rhm"] = sp.simplify(values["P_c"] / symbolic.critical_sample_size(v, n_c, m, s, L))
    return values


# ----- second moments at one position (both variants; variant B's sigma_f2) ----------------------------
def child_weights(s_value: int, s0_value: int, variant: str, offset: int) -> list:
    """P(patch position ``offset`` holds child i), i = 0..s-1, under a uniform layout (exact Rationals;
    they sum to 1/(s0+1)). A: child offset // (s0+1), with probability 1/(s0+1); B: C(offset, i)
    C(s' - 1 - offset, s - 1 - i) / C(s', s), s' = s(s0+1)."""
    patch = s_value * (s0_value + 1)
    if not 0 <= offset < patch:
        raise ValueError(f"offset must be in range({patch}) (a position in a patch of s(s0+1)), got {offset}")
    if variant == "A":
        return [sp.Rational(int(i == offset // (s0_value + 1)), s0_value + 1) for i in range(s_value)]
    layouts = sp.binomial(patch, s_value)
    return [sp.binomial(offset, i) * sp.binomial(patch - 1 - offset, s_value - 1 - i) / layouts for i in range(s_value)]


def different_slot_moments(v: IntOrExpr = v, m: IntOrExpr = m, s: IntOrExpr = s) -> sp.Matrix:
    """2x2 matrix ``E[M_i[a, b] M_i'[a', b']]`` for two different slots i != i' of one level's rules
    (``M_i[a, b]``: fraction of owner a's m productions with symbol b in slot i), rows [a == a'],
    columns [b == b'] (equal: two slots of one tuple are independent). One draw has b in slot i and
    b' in slot i' in v**(s-2) of the T = v**s tuples; two distinct draws in K**2 - v**(s-2) ordered
    pairs of T(T - 1), K = v**(s-1) (rhm_theory.theory.symbolic.count_pair_moment's argument)."""
    K, T = v ** (s - 1), v**s
    both = v ** (s - 2)
    two_draws = (K**2 - both) / (T * (T - 1))
    same_owner = (m * both / T + m * (m - 1) * two_draws) / m**2
    return sp.Matrix([[two_draws, two_draws], [same_owner, same_owner]]).applyfunc(sp.factor)


def second_moments(
    v: IntOrExpr,
    n_c: IntOrExpr,
    m: IntOrExpr,
    s_value: int,
    L_value: int,
    s0_value: int,
    variant: str,
    position: int | None = None,
) -> sp.Matrix:
    """``F[sigma, tau] = E[p_j(mu|alpha) p_j(mu'|beta)]`` (sigma = [alpha == beta], tau = [mu == mu'],
    informative mu, mu') at input position ``position`` of the sparse RHM, or averaged over the
    positions (None); exact rational functions of v, n_c, m (integers or symbols) at integers s, L, s0.

    Level k (top first) of position j has patch offset o_k (base-s' digit of j); the factor of level k
    is ``sum_{i, i'} w_i(o_k) w_i'(o_k) E[M_i M_i']`` = S2 same_slot + (rho1**2 - S2) different_slot,
    S2 = sum_i w_i(o_k)**2, rho1 = 1/(s0+1); between levels, the ordered symbol pairs are summed
    (diag(v(v-1), v)), as in rhm_theory.theory.symbolic (whose pair moments the same-slot matrix is).
    """
    v, m = sp.sympify(v), sp.sympify(m)
    s_value, L_value = check_int("s", s_value, minimum=2), check_int("L", L_value)
    s0_value = check_int("s0", s0_value, minimum=0)
    if variant not in SPARSE_VARIANTS:
        raise ValueError(f"variant must be one of {SPARSE_VARIANTS}, got {variant!r}")
    patch = s_value * (s0_value + 1)
    same_slot = symbolic.pair_moment_matrix(v ** (s_value - 1), v**s_value, m)
    other_slot = different_slot_moments(v, m, s_value)
    rho1 = sp.Rational(1, s0_value + 1)

    def level(offsets: Sequence[int]) -> sp.Matrix:  # the factor of one level, averaged over the given offsets
        squares = sum(sum(w**2 for w in child_weights(s_value, s0_value, variant, o)) for o in offsets) / len(offsets)
        return squares * same_slot + (rho1**2 - squares) * other_slot

    if position is None:
        factors = [level(range(patch))] * L_value
    else:
        d = patch**L_value
        if not 0 <= position < d:
            raise ValueError(f"position must be in range({d}), got {position}")
        factors = [level([(position // patch ** (L_value - 1 - k)) % patch]) for k in range(L_value)]
    pairs = symbolic.pair_count_matrix(v)
    moments = factors[0]
    for factor in factors[1:]:
        moments = moments * pairs * factor
    return moments.applyfunc(sp.factor)


def statistics_at(
    v: IntOrExpr,
    n_c: IntOrExpr,
    m: IntOrExpr,
    s_value: int,
    L_value: int,
    s0_value: int,
    variant: str,
    position: int | None = None,
) -> dict:
    """Rule-ensemble statistics of the informative tokens at ``position`` (None: averaged over the
    positions), from :func:`second_moments`: ``mean`` = E p_j(mu|alpha) = rho/v; ``var_pbar`` =
    E[(pbar - rho/v)^2]; ``p_minus_pbar_sq`` = E[(p - pbar)^2]; ``sigma_f2`` = E[(p - pbar)^2] /
    mean**2, the first-order form of E[(n_c f - 1)^2] (exact where var_pbar = 0)."""
    v, n_c, m = (sp.sympify(x) for x in (v, n_c, m))
    moments = second_moments(v, n_c, m, s_value, L_value, s0_value, variant, position)
    mean = sp.Rational(1, (s0_value + 1) ** L_value) / v
    stats = symbolic.moment_statistics(moments, v, classes=n_c, mean=mean)
    return {
        "mean": mean,
        "var_pbar": stats["var_pbar"],
        "p_minus_pbar_sq": stats["p_minus_pbar_sq"],
        "sigma_f2": sp.factor(stats["p_minus_pbar_sq"] / mean**2),
    }


def _crossing(sigma_f2: sp.Expr, informative_fraction: sp.Expr) -> dict:
    """``noise_f2``, the variance of n_c times the empirical correlation of a token seen in
    P informative_fraction / v of P samples (leading order in 1/P), and the ``P_c`` where it equals
    ``sigma_f2`` (both variants: every position is informative with that probability)."""
    f = 1 / n_c
    noise_f2 = n_c**2 * f * (1 - f) / (P * informative_fraction / v)
    (P_c,) = sp.solve(sp.Eq(noise_f2, sigma_f2), P)
    return {"noise_f2": sp.factor(noise_f2), "P_c": P_c}
