"""The learning-curve theory of the power-law RHM as sympy closed forms (docs/theory-power-law.md;
Cagnetta, Kang and Wyart, arXiv:2505.07067).

The productions of a symbol have Zipf probabilities ``f_k = k^-(1+a) / H_m(1+a)``, k = 1..m, with
``H_m(b) = sum_k k^-b`` (a > 0). Write mu for an s-tuple of input patch j, sigma for the level-1 symbol
that emits it and k for the rank of that production. Then, for every grammar,

    C_j(y, mu) = P(y, X_j = mu) - P(y) P(X_j = mu) = f_k [P(y, sigma) - P(y) P(sigma)],

because ``P(X_j = mu | anything above sigma) = f_k``. This identity is exact; the statements below
build on it and are marked "exact" or "scaling argument" where they are made:

1. ``rank_correlation_variance`` (exact, bottom level weighted, upper levels uniform): the rule-ensemble
   average of ``sum_y C_j(y, mu)^2`` over the tuples emitted by a rank-k production is
   ``f_k^2 m v^(s-1)`` times the uniform RHM's average for one tuple (rhm_theory.theory.symbolic's tuple
   second moments at the same v, n_c, m, s, L; a given tuple is emitted at all with probability
   ``m / v^(s-1)``, and then with weight 1/m, in the uniform RHM).
2. ``detection_size`` (scaling argument): a rank-k tuple is seen ``P f_k P(sigma)`` times, so its
   sampling noise is ``m f_k`` times the uniform one and its signal ``(m f_k)^2`` times: the P at which its
   correlation is resolved is ``P_k = P_c / (m f_k)`` with the uniform RHM's ``P_c``
   (symbolic.critical_sample_size; paper: P_c ~ n_c m^L). The constant is the uniform one; only the ratio
   ``P_k / P_c = 1 / (m f_k)`` is derived.
3. ``rules_learned``: the ranks with ``P_k <= P``, ``k*(P) = (m P / (P_c H_m))^(1/(1+a))``, capped at m
   (exact consequence of 2, continuous in k).
4. ``unlearned_mass``: ``sum_{k > k*} f_k``, the probability that a patch uses a rule not yet learned, and
   its continuum form ``k*^-a / (a H_m)`` for 1 << k* << m. ``error`` (scaling argument): the test error is
   proportional to it, ``eps(P) ~ P^(-a/(1+a))`` (``error_exponent``, derived as a limit of the log-log
   slope). The prefactor grows with P_c, i.e. exponentially in L: the paper's "large multiplicative
   constant".
5. ``power_law_range``: the power law holds between ``P_1 = P_c H_m / m`` (the first rule; below it the
   error is at chance: the pre-asymptotic regime) and ``P_m = P_c H_m m^a`` (the last rule), a span of
   ``(1+a) log10 m`` decades.
6. Next-token counterpart (``next_token_detection_size``; scaling argument): the token at distance t of the
   last one is resolved at the uniform RHM's ``P_t`` (rhm_theory.theory.next_token_symbolic) divided by
   ``m f_k`` for its rank-k rules; the ratio of two distances' sizes does not depend on a or k
   (``next_token_level_ratio``), so the large-scale exponent, set by how P_t grows with t, is the
   uniform RHM's, and the weights move only where each step lies and how wide it is.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from rhm_theory.theory import next_token_symbolic, symbolic
from rhm_theory.theory.symbolic import IntOrExpr, L, P, RealOrExpr, m, n_c, s, v

a = sp.Symbol("a", positive=True)
k = sp.Symbol("k", positive=True)


@cache
def critical_size(
    v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L
) -> sp.Expr:
    """The uniform RHM's ``P_c`` (symbolic.critical_sample_size), kept per parameters."""
    return symbolic.critical_sample_size(v, n_c, m, s, L)


def normaliser(m: IntOrExpr = m, a: RealOrExpr = a) -> sp.Expr:
    """``H_m(1+a) = sum_{k=1}^m k^-(1+a)`` (sympy's generalised harmonic number)."""
    return sp.harmonic(m, 1 + a)


def rule_frequency(k: IntOrExpr = k, m: IntOrExpr = m, a: RealOrExpr = a) -> sp.Expr:
    """``f_k = k^-(1+a) / H_m(1+a)``: the probability of a symbol's rank-k production (docs/theory-power-law.md)."""
    return sp.sympify(k) ** (-(1 + a)) / normaliser(m, a)


def uniform_tuple_variance(
    v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L
) -> sp.Expr:
    """The uniform RHM's rule-ensemble average of ``sum_y C_j(y, mu)^2`` for one tuple mu of a patch:
    ``E[(p(mu|y) - pbar(mu))^2] / n_c`` from symbolic's tuple second moments (exact, classes uniform)."""
    derived = symbolic.derivation()
    moments = symbolic.moment_statistics(derived["tuple_second_moments"], v * derived["K"])
    expr = moments["p_minus_pbar_sq"] / n_c
    expr = expr.subs(derived["W"], derived["level_factor"] ** (L - 1)).subs(derived["K"], v ** (s - 1))
    return sp.factor(expr.subs({symbolic.v: v, symbolic.n_c: n_c, symbolic.m: m, symbolic.s: s, symbolic.L: L}))


def rank_correlation_variance(
    k: IntOrExpr = k,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    a: RealOrExpr = a,
) -> sp.Expr:
    """Rule-ensemble average of ``sum_y C_j(y, mu)^2`` given that mu is emitted by a rank-k production,
    the bottom level Zipf-weighted and the upper ones uniform (exact):
    ``f_k^2 m v^(s-1)`` times :func:`uniform_tuple_variance`."""
    return rule_frequency(k, m, a) ** 2 * m * v ** (s - 1) * uniform_tuple_variance(v, n_c, m, s, L)


def detection_size(
    k: IntOrExpr = k,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    a: RealOrExpr = a,
) -> sp.Expr:
    """``P_k = P_c / (m f_k)``: the training-set size at which rank-k rules are resolved (scaling
    argument; P_c = symbolic.critical_sample_size)."""
    return critical_size(v, n_c, m, s, L) / (m * rule_frequency(k, m, a))


def resolved_rank(
    P: RealOrExpr = P,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    a: RealOrExpr = a,
) -> sp.Expr:
    """``(m P / (P_c H_m))^(1/(1+a))``: the rank k whose P_k (:func:`detection_size`) equals P, uncapped."""
    return (m * P / (critical_size(v, n_c, m, s, L) * normaliser(m, a))) ** (1 / (1 + a))


def rules_learned(
    P: RealOrExpr = P,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    a: RealOrExpr = a,
) -> sp.Expr:
    """``k*(P) = min(m, (m P / (P_c H_m))^(1/(1+a)))``: the ranks k with P_k <= P (continuous in k)."""
    return sp.Min(m, resolved_rank(P, v, n_c, m, s, L, a), evaluate=False)  # numbers: compared by float()


def unlearned_mass(k_star: RealOrExpr, m: IntOrExpr = m, a: RealOrExpr = a, continuum: bool = False) -> sp.Expr:
    """Probability that a patch's production has rank > ``k_star`` (an integer 0..m):
    ``sum_{k > k*} f_k`` exactly, or with ``continuum=True`` its form ``k*^-a / (a H_m)`` for 1 << k* << m."""
    if continuum:
        return k_star ** (-a) / (a * normaliser(m, a))
    j = sp.Symbol("j", integer=True, positive=True)
    return sp.Sum(rule_frequency(j, m, a), (j, k_star + 1, m))


def error(
    P: RealOrExpr = P,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    a: RealOrExpr = a,
) -> sp.Expr:
    """The predicted test error up to its constant (scaling argument): the continuum unlearned mass at
    k*(P) inside the power-law range, ``(m P / (P_c H_m))^(-a/(1+a)) / (a H_m)``."""
    return unlearned_mass(resolved_rank(P, v, n_c, m, s, L, a), m, a, continuum=True)


def error_exponent(a: RealOrExpr = a) -> sp.Expr:
    """``d log eps / d log P`` of :func:`error`, derived by sympy: ``-a/(1+a)`` (the paper's exponent)."""
    t = sp.Symbol("t", real=True)  # t = log P
    slope = sp.diff(sp.log(error(sp.exp(t), a=a)), t)
    return sp.simplify(slope)


def power_law_range(
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    a: RealOrExpr = a,
) -> dict:
    """Where the power law holds: ``P_1`` (first rule resolved; chance error below it), ``P_m`` (last rule
    resolved) and ``decades = log10(P_m / P_1) = (1+a) log10 m``."""
    P_1, P_m = detection_size(1, v, n_c, m, s, L, a), detection_size(m, v, n_c, m, s, L, a)
    return {"P_1": sp.simplify(P_1), "P_m": sp.simplify(P_m), "decades": sp.simplify(sp.log(P_m / P_1, 10))}


def next_token_detection_size(
    distance: int,
    k: IntOrExpr,
    v: IntOrExpr,
    n_c: IntOrExpr,
    m: IntOrExpr,
    s: int,
    L: int,
    a: RealOrExpr = a,
) -> sp.Expr:
    """The P at which the rank-k rules of the token ``distance`` places before the last one are
    resolved: the uniform RHM's resolvable size (next_token_symbolic.resolvable_size_average) over
    ``m f_k`` (scaling argument, as :func:`detection_size`)."""
    uniform = next_token_symbolic.resolvable_size_average(v, n_c, m, s, L, distance)
    return uniform / (m * rule_frequency(k, m, a))


def next_token_level_ratio(
    near: int,
    far: int,
    k: IntOrExpr,
    v: IntOrExpr,
    n_c: IntOrExpr,
    m: IntOrExpr,
    s: int,
    L: int,
    a: RealOrExpr = a,
) -> sp.Expr:
    """``P_far / P_near`` of :func:`next_token_detection_size` at one rank k: free of a and k (the large-scale
    growth of the resolvable size with distance, hence the exponent, is the uniform RHM's)."""
    ratio = next_token_detection_size(far, k, v, n_c, m, s, L, a) / next_token_detection_size(
        near, k, v, n_c, m, s, L, a
    )
    return sp.simplify(ratio)


def evaluate(v: int, n_c: int, m: int, s: int, L: int, a: float, P: float | None = None) -> dict:
    """The closed forms at numbers (floats): f_k (k = 1..m), P_k, the power-law range, the exponent and,
    with ``P``, k*(P) and the exact unlearned mass at floor(k*)."""
    symbolic.bind_parameters((v, n_c, m, s, L))  # validates the grammar parameters
    a_exact = sp.nsimplify(a)
    if not (a_exact.is_real and a_exact > 0):
        raise ValueError(f"a must be a real number > 0 (the Zipf exponent f_k ~ k^-(1+a)), got {a_exact}")
    values = {
        "f": [float(rule_frequency(j, m, a_exact)) for j in range(1, m + 1)],
        "P_k": [float(detection_size(j, v, n_c, m, s, L, a_exact)) for j in range(1, m + 1)],
        **{name: float(value) for name, value in power_law_range(v, n_c, m, s, L, a_exact).items()},
        "exponent": float(error_exponent(a_exact)),
    }
    if P is not None:
        k_star = float(rules_learned(P, v, n_c, m, s, L, a_exact))
        values["k_star"] = k_star
        values["unlearned_mass"] = float(unlearned_mass(int(k_star), m, a_exact).doit())
    return values
