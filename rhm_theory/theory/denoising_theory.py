"""Mean-field theory of the exact (BP) denoiser of RHM data under noise, derived with sympy.

Mean-field ansatz (in the spirit of arXiv:2402.16991, whose mean-field analysis of belief propagation
predicts that class reconstruction drops sharply at a critical noise as L grows): the upward message
of every node puts weight p on its true symbol and (1 - p)/(v - 1) on each other symbol, i.e. a
ratio delta = (1 - p)/((v - 1) p) between a wrong and the true symbol. For a parent, the true tuple
has weight 1 and any other tuple, its s symbols being uniform in the random-rule ensemble and
differing from the true tuple, has mean weight::

    g(delta) = ((1 + (v - 1) delta)^s - 1) / (v^s - 1).

The true parent owns the true tuple and m - 1 others, a wrong parent m others, so one level up::

    delta' = m g / (1 + (m - 1) g),   p' = 1 / (1 + (v - 1) delta').

p is the retention of the forward-backward experiment: the probability that a resampled symbol
equals the original one. delta = 0 (p = 1) and delta = 1 (p = 1/v) are fixed points; between them
lies the unstable fixed point delta*, which separates data whose class is kept (p_L -> 1) from data
whose class is lost (p_L -> 1/v) as L -> infinity: the critical noise eps* solves p_0(eps*) = p*.
For s = 2: delta* = (v + 1 - 2m) / ((m - 1)(v - 1)), p* = (m - 1)/(v - m); for s = 3 a quadratic.
Leaf retention p_0(eps) of the channels of :mod:`rhm_theory.theory.noise`: "mask" 1 - eps (v-1)/v;
"uniform" (1 - eps (v-1)/v)^2 + eps^2 (v-1)/v^2 (the posterior weight of the true token, averaged).
The ansatz ignores the spread of messages across nodes, so eps* is an estimate (docs/theory-diffusion.md
compares it with exact BP).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from rhm_theory.core.validation import check_feasible
from rhm_theory.theory.noise import check_channel, check_noise

v, m, s, p, delta, eps = sp.symbols("v m s p delta epsilon", positive=True)


def tuple_weight(delta_: sp.Expr | float = delta, v_: sp.Expr | float = v, s_: sp.Expr | float = s) -> sp.Expr | float:
    """g(delta): mean weight, relative to the true tuple, of a tuple that is not the true one."""
    return ((1 + (v_ - 1) * delta_) ** s_ - 1) / (v_**s_ - 1)


def delta_map(
    delta_: sp.Expr | float = delta, v_: sp.Expr | float = v, m_: sp.Expr | float = m, s_: sp.Expr | float = s
) -> sp.Expr | float:
    """delta one level up: m g / (1 + (m - 1) g)."""
    g = tuple_weight(delta_, v_, s_)
    return m_ * g / (1 + (m_ - 1) * g)


def retention_map(
    p_: sp.Expr | float = p, v_: sp.Expr | float = v, m_: sp.Expr | float = m, s_: sp.Expr | float = s
) -> sp.Expr | float:
    """p one level up, F(p) = 1 / (1 + (v - 1) delta'(delta(p)))."""
    return 1 / (1 + (v_ - 1) * delta_map((1 - p_) / ((v_ - 1) * p_), v_, m_, s_))


def leaf_retention(channel: str, eps_: sp.Expr | float = eps, v_: sp.Expr | float = v) -> sp.Expr | float:
    """p_0(eps): mean posterior weight of the true token after one channel use."""
    keep = 1 - eps_ * (v_ - 1) / v_
    if check_channel(channel) == "mask":
        return keep
    return keep**2 + eps_**2 * (v_ - 1) / v_**2


@lru_cache(maxsize=8)
def fixed_point_polynomial(s_: int) -> sp.Expr:
    """The polynomial in delta whose roots are the fixed points other than 0 and 1 (degree s - 1)."""
    g = tuple_weight(delta, v, s_)
    numerator = sp.expand(sp.numer(sp.together(delta * (1 + (m - 1) * g) - m * g)))
    quotient, remainder = sp.div(numerator, sp.expand(delta * (delta - 1)), delta)
    assert sp.simplify(remainder) == 0
    return sp.factor(quotient)


@lru_cache(maxsize=8)
def critical_delta(s_: int) -> sp.Expr:
    """delta*, the unstable fixed point in (0, 1), as a closed form in (v, m) for s = 2 and 3."""
    roots = sp.solve(fixed_point_polynomial(s_), delta)
    if s_ == 2:
        return sp.simplify(roots[0])
    # s = 3: the root that is positive when the transition exists (check: v = 8, m = 4 lies in (0, 1))
    for root in roots:
        value = complex(root.subs({v: 8, m: 4}))
        if abs(value.imag) < 1e-12 and 0 < value.real < 1:
            return sp.simplify(root)
    raise ValueError("no fixed point in (0, 1) at v = 8, m = 4")


def critical_retention(s_: int) -> sp.Expr:
    """p* = 1 / (1 + (v - 1) delta*): retention at the unstable fixed point (closed form, s = 2, 3)."""
    return sp.simplify(1 / (1 + (v - 1) * critical_delta(s_)))


def stability_at_clean() -> sp.Expr:
    """d delta'/d delta at delta = 0: m s (v - 1) / (v^s - 1); the clean fixed point is stable below 1."""
    return sp.simplify(sp.diff(delta_map(), delta).subs(delta, 0))


def _fixed_point_value(v_: int, m_: int, s_: int) -> float | None:
    """delta* at integers (v, m, s): the root in (0, 1) of the fixed-point polynomial, or None."""
    polynomial = sp.Poly(fixed_point_polynomial(s_).subs({v: v_, m: m_}), delta)
    roots = [complex(r) for r in polynomial.nroots(n=30)]
    inside = [r.real for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < 1]
    return inside[0] if len(inside) == 1 else None


def critical_noise(v_: int, m_: int, s_: int, *, channel: str) -> float | None:
    """eps* in [0, 1] where p_0(eps*) = p*, at integer (v, m, s); None when the mean-field recursion
    has no transition (no unstable fixed point in (0, 1), or p* not reached by any eps in [0, 1])."""
    v_, _, m_, s_, _ = check_feasible(v_, 1, m_, s_, 2)
    delta_star = _fixed_point_value(v_, m_, s_)
    if delta_star is None:
        return None
    p_star = 1 / (1 + (v_ - 1) * delta_star)
    candidates = sp.solve(
        sp.Eq(leaf_retention(channel, eps, sp.Integer(v_)), sp.nsimplify(p_star, rational=False)), eps
    )
    inside = [float(c) for c in candidates if c.is_real and 0 <= float(c) <= 1]
    return min(inside) if inside else None


def retention_profile(v_: int, m_: int, s_: int, L_: int, noise: float, *, channel: str) -> list[float]:
    """Mean-field retention p_0, p_1, ..., p_L at noise ``noise``: floats, tokens first, class last."""
    v_, _, m_, s_, L_ = check_feasible(v_, 1, m_, s_, L_)
    step = sp.lambdify(p, retention_map(p, v_, m_, s_))
    current = float(leaf_retention(channel, sp.Float(check_noise(noise)), sp.Integer(v_)))
    profile = [current]
    for _ in range(L_):
        current = float(step(current)) if current > 0 else 0.0
        profile.append(current)
    return profile
