"""Exact rule-ensemble average of the squared token-token correlation of the last token x_d and the
token t places before it, derived by sympy (docs/theory-next-token.md, 'Rule-ensemble average';
Cagnetta and Wyart, arXiv:2406.00048 §3).

``C(mu, nu) = J(mu, nu) - p_i(mu) p_j(nu)`` (i = d - 1 - t, j = d - 1; J the joint, p_i, p_j the
marginals; rhm_theory.theory.next_token.token_correlation), and::

    sum C^2 = W1 - 2 W2 + W3,  W1 = sum J^2,  W2 = sum J(mu, nu) p_i(mu) p_j(nu),  W3 = |p_i|^2 |p_j|^2,

each a sum over 4 "lines" (token paths) of products of rule probabilities: W1 has two walkers that
each reach the lowest common ancestor A (level lam) and split there into an i-line and a j-line, W2
one splitting walker and two single ones, W3 four single walkers. The derivation runs as code and
extends the second-moment transfer matrix of rhm_theory.theory.symbolic to four lines:

1. Joint moments of the rule counts. At one level, ``N_a(constraints)`` counts the productions of
   owner a whose tuple has the given symbols in the given slots. ``E[prod N]`` over up to four
   factors: write each N as a sum over a's m draws; the factors' draws coincide according to a set
   partition rho (only draws of the same owner can coincide; (m)_k ordered choices per owner);
   the distinct draws are a uniform injective sequence of tuples out of T = v^s, and the number of
   injective assignments satisfying every draw's constraints is, by Moebius inversion on the set
   partitions sigma of the draws, ``sum_sigma mu(sigma) prod_blocks #tuples(constraints of the block)``
   with ``#tuples = v^(s - #constrained slots)`` (0 if a slot is asked two symbols).
2. Patterns. The ensemble is invariant under relabelling the symbols of each level, so every average
   depends on the lines' symbols only through their equality pattern (a set partition; 15 for four
   lines). A level is a transfer matrix from the owners' pattern to the children's pattern, its
   entry the moment of step 1 times the number (v)_blocks of symbol assignments of the children's
   pattern. Above A every line follows the rightmost path (slot s - 1); at A's level the splitting
   walkers' draws carry two slot constraints (the slots of the two paths); below A the i-lines and
   j-lines follow their own slots (the same or different at each level).
3. The classes are uniform: the start vector is (n_c)_blocks / n_c^n over the walkers' patterns; the
   end vector is the indicator that the lines pair up on equal tokens.

Also ``S_i = |p_i|^2`` and ``S_j`` (two lines on one path), hence the sampling-noise floor: the
empirical correlation of P i.i.d. pairs has ``E sum (C_hat - C)^2 = noise / P + O(1/P^2)`` with
``noise = 1 - S_i - S_j + 6 W2 - 4 W3 - W1`` (delta method: the influence function of C_hat is
``a(mu) b(nu) - C`` with ``a = 1[x_i = mu] - p_i(mu)``, ``b = 1[x_j = nu] - p_j(nu)``), exact per
grammar at leading order. The resolvable size is ``P_t = E[noise] / E[sum C^2]``.

Every function takes ``v, n_c, m`` as integers or sympy symbols, and ``s, L, distance`` as integers;
values are exact (sympy Rationals at integers).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction
from functools import cache
from math import factorial

import sympy as sp
from sympy.polys.domains import ZZ
from sympy.polys.rings import PolyElement, ring

from rhm_theory.core.rules import path_slots
from rhm_theory.core.validation import check_depth, check_feasible, check_int, shown

_RING, _V, _U, _M = ring("v, u, m", ZZ)  # integer polynomials in v, u = v**(s - 2) and m: fast exact arithmetic
_SYMBOLS = sp.symbols("v u m")

# Walkers of each term: "pair" splits at A into (i-line, j-line); "i", "j" follow one path.
# ``ends``: pairs of final lines whose tokens must be equal.
TERMS = {
    "W1": (("pair", "pair"), ((0, 2), (1, 3))),  # lines i0, j0, i1, j1
    "W2": (("pair", "i", "j"), ((0, 2), (1, 3))),  # lines i0, j0, i1, j2
    "W3": (("i", "i", "j", "j"), ((0, 1), (2, 3))),
    "S_i": (("i", "i"), ((0, 1),)),
    "S_j": (("j", "j"), ((0, 1),)),
}


# ----- set partitions ------------------------------------------------------------------------------
@cache
def partitions(n: int) -> tuple[tuple[int, ...], ...]:
    """Every set partition of n items as a restricted-growth label tuple (block of item k)."""
    if n == 0:
        return ((),)
    out = []
    for head in partitions(n - 1):
        out += [(*head, label) for label in range(max(head, default=-1) + 2)]
    return tuple(out)


def _blocks(labels: Sequence[int]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for item, label in enumerate(labels):
        groups.setdefault(label, []).append(item)
    return list(groups.values())


def _falling(x: int | sp.Expr | PolyElement, k: int) -> int | sp.Expr | PolyElement:
    result = 1
    for i in range(k):
        result = result * (x - i)
    return result


def _moebius(labels: Sequence[int]) -> int:
    """mu(0, sigma) on the partition lattice: prod over blocks (-1)^(|B|-1) (|B|-1)!."""
    value = 1
    for block in _blocks(labels):
        value *= (-1) ** (len(block) - 1) * factorial(len(block) - 1)
    return value


# ----- step 1: joint moments of the rule counts ----------------------------------------------------
def _tuples_satisfying(constraints: frozenset[tuple[int, int]]) -> int | PolyElement:
    """#tuples with the given (slot, symbol) constraints, v^(s - #slots) = v^2 u, v u, u (0 if a slot
    is asked two symbols)."""
    slots = [slot for slot, _ in constraints]
    if len(set(slots)) < len(slots):
        return 0
    return {0: _V**2 * _U, 1: _V * _U, 2: _U}[len(slots)]


def count_moment(owners: Sequence[Hashable], constraints: Sequence[frozenset[tuple[int, int]]]) -> dict:
    """``E[prod_k N_{owners[k]}(constraints[k])]`` for one level of rules as ``{n: poly}``, meaning
    ``sum_n poly_n / (T)_n`` with integer polynomials of (v, u, m) (u = v^(s-2); T = v^2 u tuples;
    n distinct draws; each owner has m distinct draws, all draws distinct).

    ``owners[k]``: the block (any hashable) of factor k's owner; ``constraints[k]``: frozenset of
    (slot, symbol block) pairs (module docstring, step 1).
    """
    total: dict = {}
    for rho in partitions(len(owners)):
        groups = _blocks(rho)
        if any(len({owners[k] for k in group}) > 1 for group in groups):
            continue  # only draws of the same owner can coincide
        per_owner: dict = {}
        for group in groups:
            per_owner[owners[group[0]]] = per_owner.get(owners[group[0]], 0) + 1
        draws = [frozenset().union(*(constraints[k] for k in group)) for group in groups]
        injective = _RING(0)
        for sigma in partitions(len(draws)):
            term = _RING(_moebius(sigma))
            for block in _blocks(sigma):
                term *= _tuples_satisfying(frozenset().union(*(draws[d] for d in block)))
                if term == 0:
                    break
            injective += term
        if injective != 0:
            ways = _RING(1)
            for count in per_owner.values():
                ways *= _falling(_M, count)
            total[len(draws)] = total.get(len(draws), _RING(0)) + ways * injective
    return total


# ----- step 2: transfer matrices ---------------------------------------------------------------------
def _level_items(
    kinds: tuple[str, ...], split: bool, slot_i: int, slot_j: int
) -> tuple[list[tuple[int, tuple[tuple[int, int], ...]]], int]:
    """Items (owner line, ((slot, target line), ...)) of one level for lines of ``kinds``; with
    ``split`` the kinds are walkers and "pair" walkers emit an i-line and a j-line."""
    items: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    target = 0
    for line, kind in enumerate(kinds):
        if kind == "pair" and split:
            items.append((line, ((slot_i, target), (slot_j, target + 1))))
            target += 2
        else:
            items.append((line, ((slot_i if kind == "i" else slot_j, target),)))
            target += 1
    return items, target


def _line_kinds(walkers: tuple) -> tuple:
    return tuple(kind for walker in walkers for kind in (("i", "j") if walker == "pair" else (walker,)))


@cache
def transfer_matrix(kinds: tuple, split: bool, same_slot: bool) -> tuple:
    """Transfer matrix of one level: rows the owners' patterns, columns the children's, entry
    E[prod N / m] x (v)_blocks(children) (module docstring, step 2), as (entries, n_items) with each
    entry ``{n: poly}`` = ``sum_n poly_n / ((T)_n m^n_items)``.

    ``kinds``: "i"/"j" per line ("pair" per walker when ``split``); ``same_slot``: whether the
    i-lines and j-lines use the same slot at this level (never at the split level)."""
    items, n_targets = _level_items(kinds, split, 0, 0 if same_slot else 1)
    rows = []
    for source in partitions(len(kinds)):
        row = []
        for target in partitions(n_targets):
            owners = [source[line] for line, _ in items]
            constraints = [frozenset((slot, target[line]) for slot, line in cons) for _, cons in items]
            children = _falling(_V, max(target) + 1)
            row.append({n: poly * children for n, poly in count_moment(owners, constraints).items()})
        rows.append(tuple(row))
    return tuple(rows), len(items)


def symbolic_transfer(kinds: tuple, split: bool, same_slot: bool) -> sp.Matrix:
    """:func:`transfer_matrix` as a sympy Matrix in the symbols v, u (= v^(s-2)) and m."""
    rows, n_items = transfer_matrix(kinds, split, same_slot)
    v, u, m = _SYMBOLS
    return sp.Matrix(
        [
            [
                (sum((poly.as_expr() / _falling(v**2 * u, n) for n, poly in entry.items()), sp.Integer(0)) / m**n_items)
                for entry in row
            ]
            for row in rows
        ]
    )


@cache
def _numeric_transfer(kinds: tuple, split: bool, same_slot: bool, v: int, u: int, m: int) -> list:
    """:func:`transfer_matrix` at integers, as Fractions."""
    rows, n_items = transfer_matrix(kinds, split, same_slot)
    return [
        [
            sum(
                (Fraction(int(poly(v, u, m)), _falling(v * v * u, n) * m**n_items) for n, poly in entry.items()),
                Fraction(0),
            )
            for entry in row
        ]
        for row in rows
    ]


# ----- step 3: one term ---------------------------------------------------------------------------------
def _check(v: int | sp.Expr, n_c: int | sp.Expr, m: int | sp.Expr, s: int, L: int, distance: int) -> tuple:
    numeric = all(isinstance(x, (int, sp.Integer)) for x in (v, n_c, m))
    s, L = check_int("s", s, minimum=2), check_int("L", L)
    check_depth(s, L)
    if numeric:
        v, n_c, m, s, L = check_feasible(int(v), int(n_c), int(m), s, L)
        if v < 2:
            raise ValueError(f"v must be >= 2 for the symbolic theory (got {v})")
    distance = check_int("distance", distance, minimum=1)
    if distance > s**L - 1:
        raise ValueError(f"distance must be in 1..d-1 = {s**L - 1}, got {shown(distance)}")
    return v, n_c, m, s, L, distance, numeric


def _ancestor_row(s: int, L: int, distance: int) -> int:
    """Index k of the rules that produce the children of the lowest common ancestor (rules[k]); the
    ancestor is at level L + 1 - k (2 = the parent of the last patch, L + 1 = the class)."""
    slots_i, slots_j = path_slots(s**L - 1 - distance, s, L), path_slots(s**L - 1, s, L)
    return next(k for k in range(L) if slots_i[k] != slots_j[k])


def term(name: str, v: int | sp.Expr, n_c: int | sp.Expr, m: int | sp.Expr, s: int, L: int, distance: int) -> sp.Expr:
    """One of :data:`TERMS` averaged over the rule ensemble, exact (sympy)."""
    if not isinstance(name, str) or name not in TERMS:
        raise ValueError(f"unknown term {shown(name)}: expected one of {', '.join(TERMS)}")
    v, n_c, m, s, L, distance, numeric = _check(v, n_c, m, s, L, distance)
    walkers, ends = TERMS[name]
    slots_i, slots_j = path_slots(s**L - 1 - distance, s, L), path_slots(s**L - 1, s, L)
    split_row = _ancestor_row(s, L, distance)
    if numeric:  # exact rationals through Fractions
        vector = [Fraction(_falling(n_c, max(p) + 1), n_c ** len(walkers)) for p in partitions(len(walkers))]
    else:
        values = dict(zip(_SYMBOLS, (v, v ** (s - 2), m)))
        vector = [
            _falling(sp.sympify(n_c), max(p) + 1) / sp.sympify(n_c) ** len(walkers) for p in partitions(len(walkers))
        ]
    kinds = walkers
    for k in range(L):
        split = k == split_row and "pair" in walkers
        same = slots_i[k] == slots_j[k]
        if numeric:
            matrix = _numeric_transfer(kinds, split, same, v, v ** (s - 2), m)
        else:
            matrix = symbolic_transfer(kinds, split, same).subs(values).tolist()
        vector = [sum(vector[a] * matrix[a][b] for a in range(len(vector))) for b in range(len(matrix[0]))]
        if split:
            kinds = _line_kinds(walkers)
    total = sum(
        weight
        for pattern, weight in zip(partitions(len(kinds)), vector)
        if all(pattern[a] == pattern[b] for a, b in ends)
    )
    return sp.Rational(total.numerator, total.denominator) if numeric else sp.factor(total)


def correlation_strength_average(
    v: int | sp.Expr, n_c: int | sp.Expr, m: int | sp.Expr, s: int, L: int, distance: int
) -> sp.Expr:
    """``E[sum_{mu, nu} C(mu, nu)^2]`` over the rule ensemble for x_{d - distance} and x_d, exact."""
    return sp.factor(
        term("W1", v, n_c, m, s, L, distance)
        - 2 * term("W2", v, n_c, m, s, L, distance)
        + term("W3", v, n_c, m, s, L, distance)
    )


def noise_average(v: int | sp.Expr, n_c: int | sp.Expr, m: int | sp.Expr, s: int, L: int, distance: int) -> sp.Expr:
    """``E[noise]``: the sampling-noise floor is ``E sum (C_hat - C)^2 = noise / P`` at leading order in
    1/P (P i.i.d. pairs; module docstring); noise = 1 - S_i - S_j + 6 W2 - 4 W3 - W1."""
    t = {name: term(name, v, n_c, m, s, L, distance) for name in TERMS}
    return sp.factor(1 - t["S_i"] - t["S_j"] + 6 * t["W2"] - 4 * t["W3"] - t["W1"])


def resolvable_size_average(
    v: int | sp.Expr, n_c: int | sp.Expr, m: int | sp.Expr, s: int, L: int, distance: int
) -> sp.Expr:
    """``P_t = E[noise] / E[sum C^2]``: the training-set size at which the ensemble-average signal
    sum C^2 equals the average noise floor noise / P."""
    return sp.factor(noise_average(v, n_c, m, s, L, distance) / correlation_strength_average(v, n_c, m, s, L, distance))


def leading_order_strength(
    v: int | sp.Expr, n_c: int | sp.Expr, m: int | sp.Expr, s: int, L: int, distance: int
) -> sp.Expr:
    """Large-v form of :func:`correlation_strength_average` (v -> oo at fixed n_c / v and m / v^(s-1),
    or at fixed m), with lam the level of the lowest common ancestor:

        (1 - m / v^(s-1)) m^(3 - 2 lam) [ (1/v) sum_{k=0}^{L-lam} m^(-k) + m^(lam - L - 1) / n_c ]

    (the hidden ancestors at levels lam..L contribute 1/v each, damped by 1/m per level above lam,
    the class 1/n_c). Read off the exact average, not derived in general: tests check that the exact
    average over this form tends to 1 like 1/v (docs/theory-next-token.md)."""
    v, n_c, m, s, L, distance, _ = _check(v, n_c, m, s, L, distance)
    lam = L + 1 - _ancestor_row(s, L, distance)
    hidden = sum(sp.Integer(m) ** -k for k in range(L - lam + 1)) / v
    return (
        (1 - sp.Integer(m) / sp.Integer(v) ** (s - 1))
        * sp.Integer(m) ** (3 - 2 * lam)
        * (hidden + sp.Integer(m) ** (lam - L - 1) / n_c)
    )
