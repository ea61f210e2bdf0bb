"""Exact rule-ensemble averages of the RHM class-token statistics, derived by sympy (docs/theory.md, 'Rule-ensemble statistics').

``E`` is the average over the random draw of the rules; ``p_j(mu|alpha) = P(x_j = mu | class alpha)``.
The paper (arXiv:2307.02129) gives these averages as large-v asymptotics; the
derivation below is exact for every finite (v, n_c, m, s, L) with v >= 2 and s >= 2, and it runs as
code (nothing below is a formula typed in by hand):

1. Rule counts. At one level, an owner's m productions are drawn without replacement from the
   T = v**s tuples and different owners draw disjoint sets. Split the tuples into C categories of
   K tuples each (tokens: category = the symbol in slot i, C = v, K = v**(s-1); s-tuples: every tuple
   is its own category, C = v**s, K = 1). With ``N[a, b]`` the number of productions of owner a in
   category b, the pair moments ``E[N[a,b] N[a',b']]`` follow from indicator sums over the draws
   (one draw: K/T, two distinct draws: K(K - [b = b'])/(T(T - 1))), and depend only on
   ``(a == a', b == b')`` by the symmetry of the uniform draw: a 2x2 matrix per level.
2. Levels. ``p_j(mu|alpha) = e_alpha^T M^(0) ... M^(L-1) e_mu`` with ``M = N / m`` row-stochastic,
   and the levels are drawn independently, so the second moments ``F[sigma, tau] =
   E[p_j(mu|alpha) p_j(mu'|beta)]`` (sigma = [alpha == beta], tau = [mu == mu']) obey
   ``F_L = A^(L-1) E_bottom`` with the transfer matrix ``A = E_token diag(v(v-1), v)`` (the sum
   over the ordered symbol pairs of each hidden level), ``E_bottom = E_token`` for tokens and
   ``E_tuple`` for the s-tuples of an input patch. Pair moments involve two owners at most, so the
   class level (n_c owners) has the same matrix as the hidden levels (v owners).
3. Recursion. ``A`` fixes (1, 1) (rows of M sum to one), so its eigenvalues are 1 and
   ``level_factor = tr A - 1``; by Cayley-Hamilton every entry of ``A^n E`` obeys
   ``x(n+2) = (1 + level_factor) x(n+1) - level_factor x(n)``, which sympy's ``rsolve`` solves.
   ``level_factor`` is the exact factor by which the class-dependent part ``F[1,.] - F[0,.]``
   shrinks per level (the paper's "about 1/m").

Every quantity is a function of ``(v, n_c, m, s, L)`` (and ``P`` for the sampling noise) that accepts
Python/sympy integers or sympy symbols; :func:`evaluate` returns all of them exactly at integers.
"""

from __future__ import annotations

from functools import cache
from typing import TypeAlias

import sympy as sp

from rhm_theory.core.validation import check_int, check_params

v, n_c, m, s, L, P = sp.symbols("v n_c m s L P", positive=True, integer=True)
IntOrExpr: TypeAlias = (
    int | sp.Expr
)  # an integer parameter, or a sympy expression (a symbol keeps the formula symbolic)
RealOrExpr: TypeAlias = float | sp.Expr  # a real parameter (P, a Zipf exponent), or a sympy expression
PARAMETERS = (v, n_c, m, s, L)

# Order of the keys of :func:`evaluate` (and of ``rhm theory --json``).
QUANTITIES = (
    "p_max",
    "d",
    "eps",
    "delta2",
    "var_pbar",
    "level_factor",
    "eps_tuple",
    "delta2_tuple",
    "var_pbar_tuple",
    "sigma_f2",
    "sigma_f2_exact",
    "noise_f2",
    "P_c",
    "P_c_over_nc_mL",
    "P_c_over_nc_mL_limit",
    "P_star_scaling",
    "P_star_exponent_in_d",
    "P_shallow_scaling",
    "P_cluster_scaling",
)

# One line per quantity, shown by ``rhm theory`` (definitions in docs/theory.md, 'Rule-ensemble statistics').
DESCRIPTIONS = {
    "p_max": "number of distinct data, n_c m^((s^L - 1)/(s - 1))",
    "d": "input length s^L",
    "eps": "sum_mu E[(p_j(mu|alpha) - 1/v)^2], tokens at one position",
    "delta2": "E[(p_j(mu|alpha) - p_j(mu|beta))^2] for classes alpha != beta",
    "var_pbar": "E[(pbar_j(mu) - 1/v)^2], pbar the class-averaged p_j(mu|alpha)",
    "level_factor": "per-level shrinking factor of the class-dependent second moments (about 1/m)",
    "eps_tuple": "eps for the s-tuple of one input patch",
    "delta2_tuple": "delta2 for the s-tuple of one input patch",
    "var_pbar_tuple": "var_pbar for the s-tuple of one input patch",
    "sigma_f2": "E[(n_c f_j(alpha|mu) - 1)^2]: exact if sigma_f2_exact, else first order",
    "sigma_f2_exact": "whether var_pbar = 0, i.e. sigma_f2 is exact",
    "noise_f2": "variance of n_c f from P i.i.d. samples, leading order in 1/P",
    "P_c": "training-set size where noise_f2 = sigma_f2",
    "P_c_over_nc_mL": "P_c / (n_c m^L)",
    "P_c_over_nc_mL_limit": "limit of P_c / (n_c m^L) as v -> infinity (first-order form)",
    "P_star_scaling": "sample complexity of deep CNNs, n_c m^L (paper, Figs. 3-4)",
    "P_star_exponent_in_d": "x such that m^L = d^x",
    "P_shallow_scaling": "sample complexity of shallow networks, p_max (paper, Fig. 2)",
    "P_cluster_scaling": "layer-wise clustering algorithm, sqrt(n_c) m^L (paper, Appendix D)",
}


# ----- step 1: moments of the rule counts -------------------------------------------------------
def count_pair_moment(
    same_owner: bool, same_category: bool, category_size: sp.Expr, n_tuples: sp.Expr, multiplicity: sp.Expr
) -> sp.Expr:
    """Pair moment ``E[N[a,b] N[a',b']]`` of the rule counts of one level (sympy expression).

    ``N[a, b] = sum_r I[draw r of owner a lies in category b]``; the draws of one owner and of
    different owners are distinct draws without replacement from ``n_tuples`` tuples, of which
    ``category_size`` lie in each category (module docstring, step 1).

    Parameters
    ----------
    same_owner : bool
        Whether ``a == a'``.
    same_category : bool
        Whether ``b == b'``.
    category_size : sympy.Expr
        Tuples per category, K (pass sympy Integers, not Python ints, for an exact value).
    n_tuples : sympy.Expr
        Tuples in all, T.
    multiplicity : sympy.Expr
        Productions per owner, m.

    Returns
    -------
    sympy.Expr
        The moment.

    Examples
    --------
    Tokens at v = s = 2 (K = 2 of the T = 4 pairs share the first symbol b) and m = 2: both of an
    owner's pairs start with b with probability 1/6 and exactly one does with probability 2/3, so
    ``E[N**2] = 4 * 1/6 + 1 * 2/3 = 4/3``.

    >>> import sympy as sp
    >>> from rhm_theory.theory.symbolic import count_pair_moment
    >>> count_pair_moment(True, True, sp.Integer(2), sp.Integer(4), sp.Integer(2))
    4/3
    """
    delta = 1 if same_category else 0
    one_draw = sp.Rational(delta) * category_size / n_tuples
    two_draws = category_size * (category_size - delta) / (n_tuples * (n_tuples - 1))
    if same_owner:
        return multiplicity * one_draw + multiplicity * (multiplicity - 1) * two_draws
    return multiplicity**2 * two_draws


def pair_moment_matrix(category_size: sp.Expr, n_tuples: sp.Expr, multiplicity: sp.Expr) -> sp.Matrix:
    """2x2 matrix ``E[M[a,b] M[a',b']]`` of one level, with ``M = N / m``.

    Rows are [a == a'] and columns [b == b'] (0 = different); see :func:`count_pair_moment`.

    Parameters
    ----------
    category_size : sympy.Expr
        Tuples per category, K (1 for s-tuples, v**(s-1) for tokens).
    n_tuples : sympy.Expr
        Tuples in all, T = v**s.
    multiplicity : sympy.Expr
        Productions per owner, m.

    Returns
    -------
    sympy.Matrix, shape (2, 2)
        The pair moments.

    Examples
    --------
    s-tuples (K = 1) at v = s = 2, m = 2: different owners never share a tuple (entry [0, 1] is 0),
    and the rows of M sum to one, so ``1/8 + 3 * 1/24 = E[M[a, b]] = 1/4``.

    >>> import sympy as sp
    >>> from rhm_theory.theory.symbolic import pair_moment_matrix
    >>> pair_moment_matrix(sp.Integer(1), sp.Integer(4), sp.Integer(2))
    Matrix([
    [1/12,   0],
    [1/24, 1/8]])
    """
    return sp.Matrix(
        2,
        2,
        lambda same_owner, same_category: (
            count_pair_moment(bool(same_owner), bool(same_category), category_size, n_tuples, multiplicity)
            / multiplicity**2
        ),
    )


def pair_count_matrix(n_categories: IntOrExpr) -> sp.Matrix:
    """Diagonal matrix of the numbers of ordered category pairs (b, b') with b != b' and with b == b'.

    Parameters
    ----------
    n_categories : int or sympy.Expr
        Number of categories.

    Returns
    -------
    sympy.Matrix, shape (2, 2)
        ``diag(n_categories * (n_categories - 1), n_categories)``.

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import pair_count_matrix
    >>> pair_count_matrix(3)
    Matrix([
    [6, 0],
    [0, 3]])
    """
    return sp.diag(n_categories * (n_categories - 1), n_categories)


# ----- steps 2 and 3: levels and their recursion -----------------------------------------------
# The derivation works with K = v**(s-1) (so T = v*K) and W = level_factor**(L-1) as plain symbols,
# which keeps every intermediate a rational function that sympy simplifies fully; both are
# substituted back at the end.
_K, _W = sp.symbols("K W", positive=True)


@cache
def derivation() -> dict:
    """Run the derivation once and return its named steps (sympy, in v, n_c, m, K and W).

    The result is cached. K stands for v**(s-1) and W for level_factor**(L-1); see the module
    docstring for the steps.

    Returns
    -------
    dict
        ``K`` (the symbol standing for v**(s-1)), ``W`` (for level_factor**(L-1)),
        ``token_moments`` / ``tuple_moments`` (2x2 pair moments of one level), ``transfer`` (A),
        ``level_factor``, ``token_second_moments`` / ``tuple_second_moments`` (F_L in closed form).

    Raises
    ------
    RuntimeError
        If the transfer matrix does not fix (1, 1) (a failed derivation).

    Examples
    --------
    >>> import sympy as sp
    >>> from rhm_theory.theory.symbolic import derivation
    >>> steps = derivation()
    >>> steps["level_factor"]
    K*(v - 1)/(m*(K*v - 1))
    >>> (steps["transfer"] * sp.Matrix([1, 1])).applyfunc(sp.simplify)
    Matrix([
    [1],
    [1]])
    """
    token_moments = pair_moment_matrix(_K, v * _K, m)
    tuple_moments = pair_moment_matrix(sp.Integer(1), v * _K, m)
    transfer = (token_moments * pair_count_matrix(v)).applyfunc(sp.factor)
    ones = sp.Matrix([1, 1])
    if (transfer * ones - ones).applyfunc(sp.simplify) != sp.zeros(2, 1):
        raise RuntimeError("derivation failed: the transfer matrix does not fix (1, 1)")
    level_factor = sp.factor(transfer.trace() - 1)  # the eigenvalue other than 1

    n = sp.Symbol("n", integer=True, nonnegative=True)
    lam, x0, x1 = sp.symbols("lam x0 x1")
    x = sp.Function("x")
    general = sp.rsolve(x(n + 2) - (1 + lam) * x(n + 1) + lam * x(n), x(n), {x(0): x0, x(1): x1})
    general = sp.expand(general).subs(lam**n, _W)

    def at_depth(bottom: sp.Matrix) -> sp.Matrix:
        """``A^(L-1) bottom`` in closed form (entries from the recurrence solution at n = L - 1)."""
        first = transfer * bottom
        return sp.Matrix(
            2, 2, lambda i, j: sp.factor(general.subs({x0: bottom[i, j], x1: first[i, j], lam: level_factor}))
        )

    return {
        "K": _K,
        "W": _W,
        "token_moments": token_moments,
        "tuple_moments": tuple_moments,
        "transfer": transfer,
        "level_factor": level_factor,
        "token_second_moments": at_depth(token_moments),
        "tuple_second_moments": at_depth(tuple_moments),
    }


def moment_statistics(
    second_moments: sp.Matrix, n_categories: sp.Expr, *, classes: IntOrExpr = n_c, mean: sp.Expr | None = None
) -> dict:
    """eps, delta2, var_pbar and ``E[(p - pbar)^2]`` from the second moments ``F[sigma, tau]``.

    ``F[sigma, tau] = E[p_j(mu|alpha) p_j(mu'|beta)]`` (sigma = [alpha == beta], tau = [mu == mu'])
    over ``classes`` classes, using ``E p = mean``; only ``F[1, 1]`` and ``F[0, 1]`` enter.

    Parameters
    ----------
    second_moments : sympy.Matrix, shape (2, 2)
        The second moments F.
    n_categories : sympy.Expr
        Number of tokens (or tuples) mu (pass sympy Integers, not Python ints, for exact values).
    classes : int or sympy.Expr, default the symbol n_c
        Number of classes alpha.
    mean : sympy.Expr, optional
        ``E p``; default 1/n_categories (the sparse RHM's informative tokens have less).

    Returns
    -------
    dict
        ``eps``, ``delta2``, ``var_pbar`` and ``p_minus_pbar_sq`` (factored sympy expressions).

    Examples
    --------
    Two classes, each emitting its own token (``p(mu|alpha) = [mu == pi(alpha)]`` for a random
    bijection pi): ``F[1, 1] = 1/2`` and ``F[0, 1] = 0``; pbar is always 1/2.

    >>> import sympy as sp
    >>> from rhm_theory.theory.symbolic import moment_statistics
    >>> half = sp.Rational(1, 2)
    >>> moment_statistics(sp.Matrix([[half, 0], [0, half]]), sp.Integer(2), classes=sp.Integer(2))
    {'eps': 1/2, 'delta2': 1, 'var_pbar': 0, 'p_minus_pbar_sq': 1/4}
    """
    same, other = second_moments[1, 1], second_moments[0, 1]  # same token; same / other class
    mean = 1 / n_categories if mean is None else mean
    pbar_sq = same / classes + (1 - 1 / classes) * other  # E[pbar^2] = E[p pbar] (alpha uniform)
    return {
        "eps": sp.factor(n_categories * (same - mean**2)),  # sum over the n_categories tokens
        "delta2": sp.factor(2 * (same - other)),
        "var_pbar": sp.factor(pbar_sq - mean**2),
        "p_minus_pbar_sq": sp.factor(same - pbar_sq),  # E[p^2] - 2 E[p pbar] + E[pbar^2]
    }


@cache
def expressions() -> dict:
    """Every quantity of :data:`QUANTITIES` as a sympy expression in ``v, n_c, m, s, L, P``.

    The result is cached. ``sigma_f2 = v^2 E[(p - pbar)^2] = E[(p - pbar)^2] / E[pbar]^2`` (exact as
    written) is the first-order (delta-method) expansion of ``E[(n_c f - 1)^2] = E[(p/pbar - 1)^2]``
    around ``pbar = 1/v``. It equals ``E[(n_c f - 1)^2]`` exactly where ``var_pbar = 0``, i.e. pbar is
    deterministic (n_c m = v^s when L = 1; the maximal case n_c = v, m = v^(s-1) when L >= 2).
    Elsewhere it is a first-order approximation that can lie on either side of
    ``E[(n_c f - 1)^2]`` (exact / first order = 9/16 / 27/32 at (v, n_c, m, s, L) = (3, 2, 1, 2, 2),
    5/6 / 16/27 at (2, 3, 1, 2, 2)): its neglected terms are the correlations of ``(p - pbar)^2``
    with the fluctuations of pbar, whose relative size ``v^2 var_pbar`` is exact here, but no bound
    on the error is derived (docs/theory.md, 'Quantities and their status').

    ``noise_f2`` is the leading order in 1/P of the variance of ``n_c`` times the empirical
    correlation from P i.i.d. samples: a token seen ``P/v`` times with class frequencies
    ``f ~ 1/n_c`` has binomial variance ``f(1 - f)/(P/v)`` per class. ``P_c`` solves
    ``noise_f2(P) = sigma_f2``. ``noise_f2_pbar`` keeps the fluctuations of pbar to second order: a
    token is seen ``P pbar`` times, and ``E[1/pbar] = v (1 + v^2 var_pbar)`` up to third moments of
    ``pbar - 1/v``, so ``noise_f2_pbar = noise_f2 (1 + v^2 var_pbar)`` (equal to noise_f2 where pbar
    is deterministic).

    Returns
    -------
    dict
        Quantity name to sympy expression (a relational for ``sigma_f2_exact``), in
        :data:`QUANTITIES` order.

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import QUANTITIES, expressions
    >>> formulas = expressions()
    >>> list(formulas) == list(QUANTITIES)
    True
    >>> formulas["d"], formulas["P_star_scaling"], formulas["noise_f2"]
    (s**L, m**L*n_c, v*(n_c - 1)/P)
    """
    derived = derivation()
    token = moment_statistics(derived["token_second_moments"], v)
    tuple_ = moment_statistics(derived["tuple_second_moments"], v * _K)
    sigma_f2 = sp.factor(v**2 * token["p_minus_pbar_sq"])
    f = 1 / n_c
    noise_f2 = sp.factor(n_c**2 * f * (1 - f) / (P / v))
    (P_c,) = sp.solve(sp.Eq(noise_f2, sigma_f2), P)
    level_factor = derived["level_factor"]

    def finish(expr: sp.Expr) -> sp.Expr:
        """Substitute W and K back; an expression a + b W is written with a and b factored."""
        expr = sp.factor(expr)
        if sp.Poly(sp.numer(expr), _W).degree() <= 1 and not sp.denom(expr).has(_W):
            expr = sp.factor(expr.subs(_W, 0)) + sp.factor(sp.diff(expr, _W)) * _W
        expr = expr.subs(_W, level_factor ** (L - 1)).subs(_K, v ** (s - 1))
        return sp.powsimp(expr, combine="exp", deep=True)

    P_c_over_nc_mL = finish(P_c / (n_c * m**L))
    n_nodes = sp.cancel((s**L - 1) / (s - 1))
    x = sp.Symbol("x", real=True)
    (exponent,) = sp.solve(sp.Eq((s**L) ** x, m**L), x)  # P*/n_c = m^L = d^x with d = s^L
    return {
        "p_max": n_c * m**n_nodes,
        "d": s**L,
        "eps": finish(token["eps"]),
        "delta2": finish(token["delta2"]),
        "var_pbar": finish(token["var_pbar"]),
        "level_factor": finish(level_factor),
        "eps_tuple": finish(tuple_["eps"]),
        "delta2_tuple": finish(tuple_["delta2"]),
        "var_pbar_tuple": finish(tuple_["var_pbar"]),
        "sigma_f2": finish(sigma_f2),
        "sigma_f2_exact": sp.Eq(finish(token["var_pbar"]), 0),
        "noise_f2": noise_f2,
        "P_c": finish(P_c),
        "P_c_over_nc_mL": P_c_over_nc_mL,
        "P_c_over_nc_mL_limit": sp.limit(P_c_over_nc_mL, v, sp.oo),
        "P_star_scaling": n_c * m**L,  # the paper's Eq. 7
        "P_star_exponent_in_d": exponent,
        "P_shallow_scaling": n_c * m**n_nodes,
        "P_cluster_scaling": sp.sqrt(n_c) * m**L,  # the paper's clustering claim; docs/theory-clustering.md
    }


# ----- evaluation ----------------------------------------------------------------------------------
def _bound_value(name: str, value: object) -> sp.Expr:
    """A sympy expression with free symbols passes through; an integer is validated and made a sympy
    Integer; any other number (``Rational(17, 2)``, ``8.0``) is refused."""
    if isinstance(value, sp.Basic) and not value.is_Integer:
        if not value.free_symbols:
            raise ValueError(f"{name} must be an integer or a sympy expression in symbols, got the number {value}")
        return value
    return sp.Integer(check_int(name, int(value) if isinstance(value, sp.Integer) else value))


def bind_parameters(params: tuple, sample_size: IntOrExpr | None = None) -> dict:
    """Map the symbols v, n_c, m, s, L (and P) to the given values.

    Integers are validated (feasibility, v >= 2, s >= 2, P >= 1) and made sympy Integers; sympy
    expressions with free symbols pass through unchanged.

    Parameters
    ----------
    params : tuple of int or sympy.Expr
        The values of (v, n_c, m, s, L).
    sample_size : int, sympy.Rational or sympy.Expr, optional
        The value of P; a sympy Rational (a crossing such as P_c) is kept as it is, and must be > 0.

    Returns
    -------
    dict
        sympy Symbol to value.

    Raises
    ------
    ValueError
        If a value is a number but not an integer (e.g. ``8.0``, ``Rational(17, 2)``), an integer
        below 1, v < 2 or s < 2, P <= 0, or the integers give an infeasible or too large grammar.

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import bind_parameters
    >>> bind_parameters((2, 2, 2, 2, 1))
    {v: 2, n_c: 2, m: 2, s: 2, L: 1}
    >>> bind_parameters((1, 1, 1, 2, 1))
    Traceback (most recent call last):
    ...
    ValueError: v must be >= 2 for the symbolic theory (got 1): ...
    """
    values = [_bound_value(name, value) for name, value in zip(("v", "n_c", "m", "s", "L"), params)]
    if all(value.is_Integer for value in values):
        check_params(*(int(value) for value in values))
    for name, value in (("v", values[0]), ("s", values[3])):
        if value.is_Integer and value < 2:
            raise ValueError(
                f"{name} must be >= 2 for the symbolic theory (got {value}): with {name} = 1 there is a single tuple"
            )
    bindings = dict(zip(PARAMETERS, values))
    if sample_size is not None:
        rational = isinstance(sample_size, sp.Basic) and sample_size.is_Rational and not sample_size.is_Integer
        if rational and sample_size <= 0:
            raise ValueError(f"P must be > 0 (a number of training data), got {sample_size}")
        bindings[P] = sample_size if rational else _bound_value("P", sample_size)  # P may be a crossing such as P_c
    return bindings


def quantity(
    name: str,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
    P: IntOrExpr | None = None,
) -> sp.Expr:
    """One quantity of :data:`QUANTITIES` at the given parameters (integers or sympy symbols).

    Parameters
    ----------
    name : str
        One of :data:`QUANTITIES`.
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.
    P : int, sympy.Rational or sympy.Expr, optional
        The training-set size; it only enters ``noise_f2``. Left as None it stays the symbol P.

    Returns
    -------
    sympy.Expr
        The quantity (a sympy relational for ``sigma_f2_exact``).

    Raises
    ------
    ValueError
        If ``name`` is unknown, or for the parameters as in :func:`bind_parameters` (infeasible
        grammars, v < 2, s < 2 or integer P <= 0).

    Examples
    --------
    ``p_max = n_c m**n_nodes = 2 * 2**3`` with n_nodes = 1 + 2 internal nodes at s = L = 2:

    >>> from rhm_theory.theory.symbolic import quantity
    >>> quantity("d")
    s**L
    >>> quantity("p_max", 2, 2, 2, 2, 2)
    16
    """
    if name not in QUANTITIES:
        raise ValueError(f"unknown quantity {name!r}; expected one of {', '.join(QUANTITIES)}")
    bindings = bind_parameters((v, n_c, m, s, L), P)
    if name == "P_c_over_nc_mL_limit":  # the limit v -> oo at the other given parameters
        vocabulary = PARAMETERS[0]  # the symbol v (the argument v shadows the module's name)
        bindings.pop(vocabulary)
        return sp.limit(expressions()["P_c_over_nc_mL"].subs(bindings), vocabulary, sp.oo)
    value = expressions()[name].subs(bindings)
    if name == "P_star_exponent_in_d":
        value = sp.simplify(value)
    return value


def evaluate(v: int, n_c: int, m: int, s: int, L: int, P: IntOrExpr | None = None) -> dict:
    """All quantities, in :data:`QUANTITIES` order, exactly at the given integers.

    Parameters
    ----------
    v, n_c, m, s, L : int
        The RHM parameters.
    P : int or sympy.Rational, optional
        The training-set size; it only enters ``noise_f2``.

    Returns
    -------
    dict
        Quantity name to value: sympy Integers/Rationals (``P_star_exponent_in_d`` and
        ``P_cluster_scaling`` may be irrational, e.g. ``log(3)/log(2)``, ``sqrt(2)``), ``sigma_f2_exact``
        a Python bool, and ``noise_f2`` an expression in the symbol P unless ``P`` is given.

    Raises
    ------
    ValueError
        For bad parameters, as in :func:`quantity`.
    TypeError
        If a parameter is a sympy symbol (``sigma_f2_exact`` is then undecided).

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import evaluate
    >>> values = evaluate(2, 2, 2, 2, 1)
    >>> values["p_max"], values["sigma_f2"], values["sigma_f2_exact"], values["noise_f2"], values["P_c"]
    (4, 1/3, True, 2/P, 6)
    """
    values = {name: quantity(name, v, n_c, m, s, L, P) for name in QUANTITIES}
    values["sigma_f2_exact"] = bool(values["sigma_f2_exact"])
    return values


def eps(v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L) -> sp.Expr:
    """``sum_mu E[(p_j(mu|alpha) - 1/v)^2]`` (tokens at one input position).

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        eps (a Rational at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    At (v, n_c, m, s, L) = (2, 2, 2, 2, 1) a class owns 2 of the 4 pairs, so ``p_1(0|alpha)`` is 1 or
    0 (probability 1/6 each) or 1/2: eps = 2 * (1/4) * (1/3).

    >>> from rhm_theory.theory.symbolic import eps
    >>> eps(2, 2, 2, 2, 1)
    1/6
    """
    return quantity("eps", v, n_c, m, s, L)


def delta2(v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L) -> sp.Expr:
    """``E[(p_j(mu|alpha) - p_j(mu|beta))^2]`` for alpha != beta (same for every mu).

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        delta2 (a Rational at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    At (2, 2, 2, 2, 1) the two classes own complementary pairs: ``p_1(0|alpha) - p_1(0|beta)`` is
    +-1 with probability 1/3, else 0.

    >>> from rhm_theory.theory.symbolic import delta2
    >>> delta2(2, 2, 2, 2, 1)
    1/3
    """
    return quantity("delta2", v, n_c, m, s, L)


def var_pbar(v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L) -> sp.Expr:
    """``E[(pbar_j(mu) - 1/v)^2]`` with ``pbar_j(mu) = (1/n_c) sum_alpha p_j(mu|alpha)``.

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        var_pbar (a Rational at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    With n_c m = v^s and L = 1 every tuple is used, so pbar is deterministic:

    >>> from rhm_theory.theory.symbolic import var_pbar
    >>> var_pbar(2, 2, 2, 2, 1), var_pbar(3, 2, 1, 2, 2)
    (0, 37/288)
    """
    return quantity("var_pbar", v, n_c, m, s, L)


def level_factor(
    v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L
) -> sp.Expr:
    """Per-level shrinking factor of the class-dependent part of the second moments.

    It is the eigenvalue other than 1 of the transfer matrix (module docstring, step 3), the paper's
    "about 1/m".

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        The factor (a Rational at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import level_factor
    >>> level_factor()
    v**(s - 1)*(v - 1)/(m*(v**s - 1))
    >>> level_factor(2, 2, 2, 2, 1)
    1/3
    """
    return quantity("level_factor", v, n_c, m, s, L)


def sigma_f2(v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L) -> sp.Expr:
    """``E[(n_c f_j(alpha|mu) - 1)^2]``: exact when :func:`sigma_f2_exact`, else first order.

    See :func:`expressions` for the first-order form and its status.

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        sigma_f2 (a Rational at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    At (2, 2, 2, 2, 1) pbar = 1/2, so ``n_c f - 1 = 2 p - 1`` is +-1 with probability 1/3, else 0
    (exact here); at (3, 2, 1, 2, 2) the first-order value 27/32 differs from the exact 9/16.

    >>> from rhm_theory.theory.symbolic import sigma_f2
    >>> sigma_f2(2, 2, 2, 2, 1), sigma_f2(3, 2, 1, 2, 2)
    (1/3, 27/32)
    """
    return quantity("sigma_f2", v, n_c, m, s, L)


def sigma_f2_exact(
    v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L
) -> sp.Basic:
    """Condition that pbar is deterministic, i.e. that :func:`sigma_f2` is exact.

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Basic
        ``Eq(var_pbar, 0)``, a sympy relational (sympy ``true`` / ``false`` at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import sigma_f2_exact
    >>> sigma_f2_exact(2, 2, 2, 2, 1), sigma_f2_exact(3, 2, 1, 2, 2)
    (True, False)
    """
    return quantity("sigma_f2_exact", v, n_c, m, s, L)


def noise_f2(
    P: IntOrExpr = P,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
) -> sp.Expr:
    """Variance of ``n_c`` times the empirical correlation from ``P`` samples (leading order in 1/P).

    Parameters
    ----------
    P : int, sympy.Rational or sympy.Expr, default the symbol P
        The training-set size.
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        ``v (n_c - 1) / P``.

    Raises
    ------
    ValueError
        For bad parameters, as in :func:`bind_parameters` (including integer P <= 0).

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import noise_f2
    >>> noise_f2()
    v*(n_c - 1)/P
    >>> noise_f2(10, 2, 2, 2, 2, 1)
    1/5
    """
    return quantity("noise_f2", v, n_c, m, s, L, P=P)


def noise_f2_pbar(
    P: IntOrExpr = P,
    v: IntOrExpr = v,
    n_c: IntOrExpr = n_c,
    m: IntOrExpr = m,
    s: IntOrExpr = s,
    L: IntOrExpr = L,
) -> sp.Expr:
    """:func:`noise_f2` with the fluctuations of pbar to second order, ``noise_f2 (1 + v^2 var_pbar)``.

    See :func:`expressions`; it equals noise_f2 where pbar is deterministic.

    Parameters
    ----------
    P : int, sympy.Rational or sympy.Expr, default the symbol P
        The training-set size.
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        The variance, factored.

    Raises
    ------
    ValueError
        For bad parameters, as in :func:`bind_parameters` (including integer P <= 0).

    Examples
    --------
    At (3, 2, 1, 2, 2), ``(3/P) (1 + 9 * 37/288) = 207/(32 P)``; at (2, 2, 2, 2, 1) pbar is
    deterministic and the value is noise_f2's 2/P.

    >>> from rhm_theory.theory.symbolic import noise_f2_pbar
    >>> noise_f2_pbar(v=3, n_c=2, m=1, s=2, L=2), noise_f2_pbar(v=2, n_c=2, m=2, s=2, L=1)
    (207/(32*P), 2/P)
    """
    return sp.factor(noise_f2(P, v, n_c, m, s, L) * (1 + v**2 * var_pbar(v, n_c, m, s, L)))


def critical_sample_size(
    v: IntOrExpr = v, n_c: IntOrExpr = n_c, m: IntOrExpr = m, s: IntOrExpr = s, L: IntOrExpr = L
) -> sp.Expr:
    """``P_c``: the P where ``noise_f2(P) = sigma_f2`` (paper: P_c ~ n_c m^L).

    Parameters
    ----------
    v, n_c, m, s, L : int or sympy.Expr, default the module's symbols
        The RHM parameters (docs/theory.md, 'Parameters and feasibility'); integers are validated.

    Returns
    -------
    sympy.Expr
        P_c (a Rational at integers).

    Raises
    ------
    ValueError
        If a parameter is a number but not an integer, an integer below 1, v < 2 or s < 2, or the
        integers give an infeasible or too large grammar.

    Examples
    --------
    >>> from rhm_theory.theory.symbolic import critical_sample_size, noise_f2, sigma_f2
    >>> critical_sample_size(2, 2, 2, 2, 1)
    6
    >>> noise_f2(6, 2, 2, 2, 2, 1) == sigma_f2(2, 2, 2, 2, 1)
    True
    """
    return quantity("P_c", v, n_c, m, s, L)
