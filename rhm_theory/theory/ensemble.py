"""Rule-ensemble averages of class-token statistics, by brute force and by Monte Carlo.

The independent counterpart of :mod:`rhm_theory.theory.symbolic`: here nothing is derived. The exact
ensemble average enumerates every possible draw of the rules of a tiny grammar, computes the exact
class-token probabilities of each (``rhm_theory.theory.exact``, fractions) and averages the statistics
in exact arithmetic. Monte Carlo averages the same statistics over random grammars (floats).

Two reductions make the enumeration affordable; ``reduce=False`` switches both off so that a test
can prove they change nothing:

- sets: the order of an owner's productions does not change the distribution of the data, so each
  level enumerates sets of productions (every set stands for the same number, (m!)^owners, of
  equally likely ordered draws);
- slot counts: ``p_j(mu|alpha)`` depends on the rules of level k only through the counts of the
  slot on the path to position j (docs/theory.md, 'Exact statistics of one grammar'), so draws with equal counts are grouped and weighted
  (for s-tuples, the bottom level is not grouped).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from math import factorial, prod

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import codes_to_tuples, path_slots
from rhm_theory.core.validation import as_generator, check_int, check_params
from rhm_theory.theory.exact import class_token_probs, class_tuple_probs

MAX_DRAWS_PER_LEVEL = 10**5
MAX_GRAMMARS = 2 * 10**5
STATISTICS = ("eps", "delta2", "var_pbar", "sigma_f2")


# ----- statistics of one grammar ---------------------------------------------------------------------
def class_statistics(probs: np.ndarray) -> dict:
    """Class-token statistics of one grammar, from its class-conditional probabilities.

    Works on floats and on object arrays of Fractions (exact).

    Parameters
    ----------
    probs : ndarray, shape (n_c, C)
        ``probs[alpha, mu] = p(mu|alpha)``, with C tokens or tuple codes; float or object (Fractions).

    Returns
    -------
    dict
        Averaged over the classes: ``"eps"`` = sum over mu of ``(p - 1/C)^2``; ``"delta2"`` = mean over
        mu and ordered pairs alpha != beta of ``(p(mu|alpha) - p(mu|beta))^2`` (None when n_c = 1);
        ``"var_pbar"`` = mean over mu of ``(pbar(mu) - 1/C)^2``; ``"sigma_f2"`` = mean over alpha and
        the mu that occur (pbar > 0) of ``(n_c f(alpha|mu) - 1)^2 = (p/pbar - 1)^2``. Fractions for
        exact input, floats otherwise.

    Examples
    --------
    >>> from fractions import Fraction
    >>> import numpy as np
    >>> from rhm_theory.theory.ensemble import class_statistics
    >>> probs = np.array([[Fraction(1), Fraction(0)], [Fraction(0), Fraction(1)]])  # class = token
    >>> {name: str(value) for name, value in class_statistics(probs).items()}
    {'eps': '1/2', 'delta2': '1', 'var_pbar': '0', 'sigma_f2': '1'}
    """
    n_c, n_categories = probs.shape
    uniform = Fraction(1, n_categories) if probs.dtype == object else 1 / n_categories
    eps = ((probs - uniform) ** 2).sum() / n_c
    delta2 = None
    if n_c > 1:
        differences = probs[:, None, :] - probs[None, :, :]
        delta2 = (differences**2).sum() / (n_c * (n_c - 1) * n_categories)
    pbar = probs.sum(axis=0) / n_c
    var_pbar = ((pbar - uniform) ** 2).sum() / n_categories
    occurs = np.array([p != 0 for p in pbar], dtype=bool)
    sigma_f2 = ((probs[:, occurs] / pbar[occurs] - 1) ** 2).sum() / (n_c * int(occurs.sum()))
    return {"eps": eps, "delta2": delta2, "var_pbar": var_pbar, "sigma_f2": sigma_f2}


# ----- enumeration of rule draws ----------------------------------------------------------------------
def count_level_draws(owners: int, m: int, n_tuples: int, ordered: bool) -> int:
    """Number of draws of one level: disjoint m-sets (or ordered m-sequences) for each owner.

    Parameters
    ----------
    owners : int
        Symbols owning productions at this level (n_c at the top, else v).
    m : int
        Productions per owner.
    n_tuples : int
        Tuples to draw from, v**s.
    ordered : bool
        Count ordered m-sequences instead of m-sets.

    Returns
    -------
    int
        ``n_tuples! / ((m!)**owners (n_tuples - owners m)!)``, times ``(m!)**owners`` if ``ordered``.

    Examples
    --------
    >>> from rhm_theory.theory.ensemble import count_level_draws
    >>> count_level_draws(2, 2, 4, ordered=False), count_level_draws(2, 2, 4, ordered=True)  # 4!/(2! 2!), 4!
    (6, 24)
    """
    sets = factorial(n_tuples) // (factorial(m) ** owners * factorial(n_tuples - owners * m))
    return sets * factorial(m) ** owners if ordered else sets


def level_draws(owners: int, m: int, v: int, s: int, ordered: bool = False) -> np.ndarray:
    """Every possible draw of one level of rules.

    ``ordered=False``: each owner's productions as a set (listed in increasing tuple code);
    ``ordered=True``: every ordered sequence, i.e. every outcome of the sampler. Either way all rows
    are equally likely under the uniform draw.

    Parameters
    ----------
    owners : int
        Symbols owning productions at this level (n_c at the top, else v).
    m : int
        Productions per owner.
    v : int
        Vocabulary size.
    s : int
        Tuple length.
    ordered : bool, default False
        List ordered sequences instead of sets.

    Returns
    -------
    ndarray of int64, shape (n_draws, owners, m, s)
        The draws; n_draws is ``count_level_draws(owners, m, v**s, ordered)``.

    Raises
    ------
    ValueError
        If there are more than MAX_DRAWS_PER_LEVEL draws.

    Examples
    --------
    >>> from rhm_theory.theory.ensemble import level_draws
    >>> draws = level_draws(owners=2, m=2, v=2, s=2)
    >>> draws.shape, level_draws(owners=2, m=2, v=2, s=2, ordered=True).shape
    ((6, 2, 2, 2), (24, 2, 2, 2))
    >>> draws[0].tolist()  # owner 0 gets tuples 00 and 01, owner 1 gets 10 and 11
    [[[0, 0], [0, 1]], [[1, 0], [1, 1]]]
    """
    n_tuples = v**s
    n_draws = count_level_draws(owners, m, n_tuples, ordered)
    if n_draws > MAX_DRAWS_PER_LEVEL:
        raise ValueError(
            f"one level has {n_draws} possible draws (owners={owners}, m={m}, v**s={n_tuples}), "
            f"above the enumeration limit {MAX_DRAWS_PER_LEVEL}"
        )
    if ordered:
        codes = np.array(list(itertools.permutations(range(n_tuples), owners * m)), dtype=np.int64)
    else:
        codes = np.array(list(_disjoint_sets(tuple(range(n_tuples)), owners, m)), dtype=np.int64)
    return codes_to_tuples(codes.reshape(n_draws, owners, m), v, s)


def _disjoint_sets(available: tuple[int, ...], owners: int, m: int) -> Iterator[tuple[int, ...]]:
    """Yield tuples of owners*m codes: one increasing m-subset per owner, pairwise disjoint."""
    if owners == 0:
        yield ()
        return
    for chosen in itertools.combinations(available, m):
        rest = tuple(c for c in available if c not in chosen)
        for tail in _disjoint_sets(rest, owners - 1, m):
            yield chosen + tail


def group_by_slot_counts(draws: np.ndarray, v: int, slot: int) -> tuple[np.ndarray, np.ndarray]:
    """Group draws by their slot counts, the number of each owner's productions with symbol b in ``slot``.

    Parameters
    ----------
    draws : ndarray of int, shape (n, owners, m, s)
        Draws of one level, as from :func:`level_draws`.
    v : int
        Vocabulary size (symbols b in range(v)).
    slot : int
        The slot, in range(s), whose counts (n, owners, v) define the groups.

    Returns
    -------
    representatives : ndarray of int, shape (n_groups, owners, m, s)
        One draw of each group.
    multiplicities : ndarray of int, shape (n_groups,)
        The size of each group (they sum to n).

    Examples
    --------
    >>> from rhm_theory.theory.ensemble import group_by_slot_counts, level_draws
    >>> representatives, multiplicities = group_by_slot_counts(level_draws(2, 2, 2, 2), v=2, slot=0)
    >>> representatives.shape, multiplicities.tolist()  # owner 0's first symbols: 00, 01 or 11
    ((3, 2, 2, 2), [1, 4, 1])
    """
    counts = (draws[..., slot, None] == np.arange(v)).sum(axis=2).reshape(len(draws), -1)
    _, first, multiplicity = np.unique(counts, axis=0, return_index=True, return_counts=True)
    return draws[first], multiplicity


def exact_ensemble_average(
    v: int, n_c: int, m: int, s: int, L: int, position: int = 0, tuples: bool = False, reduce: bool = True
) -> dict:
    """Exact average over every possible rule draw of :func:`class_statistics` (Fractions).

    Parameters
    ----------
    v, n_c, m, s, L : int
        The grammar's parameters.
    position : int, default 0
        The input position (``tuples=False``, in range(s**L)) or input patch (``tuples=True``, in
        range(s**(L-1))).
    tuples : bool, default False
        Statistics of the s-tuples in input patch ``position`` instead of the tokens at it.
    reduce : bool, default True
        Enable the two reductions of the module docstring (the result is the same).

    Returns
    -------
    dict
        The keys of :func:`class_statistics`, each an exact Fraction (``"delta2"`` None when n_c = 1).

    Raises
    ------
    ValueError
        If the parameters are invalid or infeasible, ``position`` is out of range, or the enumeration
        exceeds its limits (MAX_DRAWS_PER_LEVEL, MAX_GRAMMARS).

    See Also
    --------
    monte_carlo_statistics : The same statistics over random grammars.

    Examples
    --------
    One tuple per class at L = 1: the token at position 0 is its first symbol; the two classes'
    first symbols differ with probability 2/3 (2 of the 3 other tuples):

    >>> from rhm_theory.theory.ensemble import exact_ensemble_average
    >>> average = exact_ensemble_average(v=2, n_c=2, m=1, s=2, L=1)
    >>> str(average["eps"]), str(average["delta2"])
    ('1/2', '2/3')
    >>> exact_ensemble_average(v=2, n_c=2, m=1, s=2, L=1, reduce=False) == average
    True
    """
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    n_positions = s ** (L - 1) if tuples else s**L
    position = check_int("position", position, minimum=0)
    if position >= n_positions:
        raise ValueError(f"position must be in range({n_positions}), got {position}")
    slots = path_slots(position, s, L - 1 if tuples else L)
    levels = []  # per level: (representative draws, multiplicities)
    for k in range(L):
        draws = level_draws(n_c if k == 0 else v, m, v, s, ordered=not reduce)
        if reduce and k < len(slots):
            levels.append(group_by_slot_counts(draws, v, slots[k]))
        else:
            levels.append((draws, np.ones(len(draws), dtype=np.int64)))
    n_grammars = prod(len(draws) for draws, _ in levels)
    if n_grammars > MAX_GRAMMARS:
        raise ValueError(f"the ensemble has {n_grammars} (grouped) grammars, above the limit {MAX_GRAMMARS}")
    totals = dict.fromkeys(STATISTICS, Fraction(0))
    total_weight = 0
    for choice in itertools.product(*(range(len(draws)) for draws, _ in levels)):
        grammar = Grammar.from_rules([levels[k][0][i] for k, i in enumerate(choice)], v)
        weight = prod(int(levels[k][1][i]) for k, i in enumerate(choice))
        if tuples:
            probs = class_tuple_probs(grammar, position, exact=True)
        else:
            probs = class_token_probs(grammar, position, exact=True)
        for name, value in class_statistics(probs).items():
            if value is not None:
                totals[name] += weight * value
        total_weight += weight
    result: dict[str, Fraction | None] = {name: total / total_weight for name, total in totals.items()}
    if n_c == 1:
        result["delta2"] = None
    return result


def n_ensemble_grammars(v: int, n_c: int, m: int, s: int, L: int, reduce: bool = True) -> int:
    """Size of the full rule ensemble without grouping (sets if ``reduce``, else ordered draws).

    Parameters
    ----------
    v, n_c, m, s, L : int
        The grammar's parameters.
    reduce : bool, default True
        Count each owner's productions as sets (else as ordered draws).

    Returns
    -------
    int
        The product over levels of :func:`count_level_draws`.

    Raises
    ------
    ValueError
        If the parameters are invalid or infeasible.

    Examples
    --------
    >>> from rhm_theory.theory.ensemble import n_ensemble_grammars
    >>> n_ensemble_grammars(v=2, n_c=2, m=2, s=2, L=1), n_ensemble_grammars(v=2, n_c=2, m=2, s=2, L=1, reduce=False)
    (6, 24)
    """
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    return prod(count_level_draws(n_c if k == 0 else v, m, v**s, ordered=not reduce) for k in range(L))


# ----- Monte Carlo -------------------------------------------------------------------------------------
def monte_carlo_statistics(
    v: int,
    n_c: int,
    m: int,
    s: int,
    L: int,
    n_grammars: int,
    seed: int | np.random.SeedSequence | np.random.Generator,
    position: int = 0,
    tuples: bool = False,
) -> dict:
    """The :func:`class_statistics` of ``n_grammars`` random grammars.

    Grammar i is ``Grammar.random(..., seed=rng)`` with ``rng = numpy.random.default_rng(seed)``.

    Parameters
    ----------
    v, n_c, m, s, L : int
        The grammar's parameters.
    n_grammars : int
        Number of random grammars, >= 1.
    seed : int or numpy.random.Generator
        The random seed (required).
    position : int, default 0
        The input position, or input patch when ``tuples``.
    tuples : bool, default False
        Statistics of s-tuples instead of tokens.

    Returns
    -------
    dict of ndarray
        Each statistic as a float array, shape (n_grammars,); no ``"delta2"`` when n_c = 1.

    Raises
    ------
    ValueError
        If the parameters are invalid or infeasible, ``n_grammars`` is not an integer >= 1, ``seed`` is
        None or invalid, or ``position`` is out of range.

    Examples
    --------
    >>> from rhm_theory.theory.ensemble import monte_carlo_statistics
    >>> samples = monte_carlo_statistics(v=4, n_c=2, m=2, s=2, L=2, n_grammars=5, seed=0)
    >>> {name: values.shape for name, values in samples.items()}
    {'eps': (5,), 'delta2': (5,), 'var_pbar': (5,), 'sigma_f2': (5,)}
    """
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    n_grammars = check_int("n_grammars", n_grammars)
    rng = as_generator(seed)
    rows = []
    for _ in range(n_grammars):
        grammar = Grammar.random(v, n_c, m, s, L, seed=rng)
        probs = class_tuple_probs(grammar, position) if tuples else class_token_probs(grammar, position)
        rows.append(class_statistics(probs))
    return {
        name: np.array([row[name] for row in rows], dtype=float) for name in STATISTICS if n_c > 1 or name != "delta2"
    }


def confidence_interval(samples: ArrayLike, z: float = 2.5758293035489) -> tuple[float, float, float]:
    """Normal confidence interval of the mean of ``samples``.

    Parameters
    ----------
    samples : array_like of float, shape (n,)
        At least 2 samples.
    z : float, default 2.5758293035489
        Half-width in standard errors (2.576: 99 %).

    Returns
    -------
    mean : float
        The sample mean.
    low : float
        ``mean - z * std / sqrt(n)`` (std with ddof = 1).
    high : float
        ``mean + z * std / sqrt(n)``.

    Raises
    ------
    ValueError
        If ``samples`` is not 1-d with at least 2 entries.

    Examples
    --------
    >>> from rhm_theory.theory.ensemble import confidence_interval
    >>> mean, low, high = confidence_interval([1.0, 3.0], z=1.0)  # standard error sqrt(2) / sqrt(2) = 1
    >>> print(mean, low, high)
    2.0 1.0 3.0
    """
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 1 or samples.size < 2:
        raise ValueError(f"need a 1-d array of at least 2 samples, got shape {samples.shape}")
    mean = float(samples.mean())
    half = z * float(samples.std(ddof=1)) / np.sqrt(samples.size)
    return mean, mean - half, mean + half


# ----- token pairs (next-token task) --------------------------------------------------------------------
def exact_token_pair_average(v: int, n_c: int, m: int, s: int, L: int, distance: int) -> dict:
    """Exact rule-ensemble average of the correlation strength and noise constant of a token pair.

    For the pair (x_i, x_j) = (x_{d - distance}, x_d): ``strength = sum_{mu,nu} C(mu, nu)^2`` and
    ``noise = E_x[|a|^2 |b|^2] - strength`` (a(mu) = 1[x_i = mu] - p_i(mu), b likewise for x_j), both
    counted over each grammar's enumerated data (integers, then Fractions); the brute-force
    counterpart of rhm_theory.theory.next_token_symbolic.

    Parameters
    ----------
    v, n_c, m, s, L : int
        The grammar's parameters.
    distance : int
        Distance from x_i to the last token, in 1..d-1 (d = s**L).

    Returns
    -------
    dict
        ``"strength"`` and ``"noise"``, exact Fractions.

    Raises
    ------
    ValueError
        If the parameters are invalid or infeasible, ``distance`` is not in 1..d-1, or the ensemble
        has more than MAX_GRAMMARS grammars.

    Examples
    --------
    One tuple per class at L = 1: the two tokens are correlated only when the two tuples differ in
    both symbols (probability 1/3), then with strength 4 (1/4)^2 = 1/4 and no noise beyond it:

    >>> from rhm_theory.theory.ensemble import exact_token_pair_average
    >>> {name: str(value) for name, value in exact_token_pair_average(2, 2, 1, 2, 1, distance=1).items()}
    {'strength': '1/12', 'noise': '0'}
    """
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    d = s**L
    distance = check_int("distance", distance, minimum=1)
    if distance > d - 1:
        raise ValueError(f"distance must be in 1..d-1 = {d - 1}, got {distance}")
    levels = [level_draws(n_c if k == 0 else v, m, v, s) for k in range(L)]
    n_grammars = prod(len(draws) for draws in levels)
    if n_grammars > MAX_GRAMMARS:
        raise ValueError(f"the ensemble has {n_grammars} grammars, above the limit {MAX_GRAMMARS}")
    strength_total, noise_total = Fraction(0), Fraction(0)
    for choice in itertools.product(*(range(len(draws)) for draws in levels)):
        x, _ = Grammar.from_rules([levels[k][i] for k, i in enumerate(choice)], v).enumerate()
        first, last, n = x[:, d - 1 - distance], x[:, -1], len(x)
        counts = np.zeros((v, v), dtype=np.int64)
        np.add.at(counts, (first, last), 1)
        p_i, p_j = counts.sum(axis=1), counts.sum(axis=0)  # marginals times n
        strength = Fraction(int(((n * counts - np.outer(p_i, p_j)) ** 2).sum()), n**4)
        a_sq = n**2 - 2 * n * p_i[first].astype(object) + int((p_i**2).sum())  # n^2 |a|^2 per datum
        b_sq = n**2 - 2 * n * p_j[last].astype(object) + int((p_j**2).sum())
        strength_total += strength
        noise_total += Fraction(int((a_sq * b_sq).sum()), n**5) - strength
    return {"strength": strength_total / n_grammars, "noise": noise_total / n_grammars}
