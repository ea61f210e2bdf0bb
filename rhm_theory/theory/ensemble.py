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
from fractions import Fraction
from math import factorial, prod

import numpy as np

from rhm_theory.theory.exact import class_token_probs, class_tuple_probs
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import codes_to_tuples, path_slots
from rhm_theory.core.validation import as_generator, check_int, check_params

MAX_DRAWS_PER_LEVEL = 10**5
MAX_GRAMMARS = 2 * 10**5
STATISTICS = ("eps", "delta2", "var_pbar", "sigma_f2")


# ----- statistics of one grammar ---------------------------------------------------------------------
def class_statistics(probs: np.ndarray) -> dict:
    """Statistics of ``probs[alpha, mu] = p(mu|alpha)``, (n_c, C) with C tokens or tuple codes.

    Works on floats and on object arrays of Fractions (exact). Returns, averaged over the classes:
    ``eps = sum_mu (p - 1/C)^2``; ``delta2`` = mean over mu and ordered pairs alpha != beta of
    ``(p(mu|alpha) - p(mu|beta))^2`` (None when n_c = 1); ``var_pbar`` = mean over mu of
    ``(pbar(mu) - 1/C)^2``; ``sigma_f2`` = mean over alpha and the mu that occur (pbar > 0) of
    ``(n_c f(alpha|mu) - 1)^2 = (p/pbar - 1)^2``.
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
    """Number of draws of one level: disjoint m-sets (or ordered m-sequences) for each owner."""
    sets = factorial(n_tuples) // (factorial(m) ** owners * factorial(n_tuples - owners * m))
    return sets * factorial(m) ** owners if ordered else sets


def level_draws(owners: int, m: int, v: int, s: int, ordered: bool = False) -> np.ndarray:
    """Every possible draw of one level of rules, int64 array (n_draws, owners, m, s).

    ``ordered=False``: each owner's productions as a set (listed in increasing tuple code);
    ``ordered=True``: every ordered sequence, i.e. every outcome of the sampler. Either way all rows
    are equally likely under the uniform draw.
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


def _disjoint_sets(available: tuple, owners: int, m: int):
    """Yield tuples of owners*m codes: one increasing m-subset per owner, pairwise disjoint."""
    if owners == 0:
        yield ()
        return
    for chosen in itertools.combinations(available, m):
        rest = tuple(c for c in available if c not in chosen)
        for tail in _disjoint_sets(rest, owners - 1, m):
            yield chosen + tail


def group_by_slot_counts(draws: np.ndarray, v: int, slot: int) -> tuple[np.ndarray, np.ndarray]:
    """Group draws (n, owners, m, s) by their slot counts (n, owners, v) = #{productions of each
    owner with symbol b in ``slot``}; returns (representative draws, multiplicities)."""
    counts = (draws[..., slot, None] == np.arange(v)).sum(axis=2).reshape(len(draws), -1)
    _, first, multiplicity = np.unique(counts, axis=0, return_index=True, return_counts=True)
    return draws[first], multiplicity


def exact_ensemble_average(v, n_c, m, s, L, position: int = 0, tuples: bool = False, reduce: bool = True) -> dict:
    """Exact average over every possible rule draw of :func:`class_statistics` (Fractions).

    ``tuples=False``: statistics of the tokens at input ``position``; ``tuples=True``: of the
    s-tuples in input patch ``position``. ``reduce`` enables the two reductions of the module
    docstring. Raises ValueError when the enumeration exceeds its limits.
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
    result = {name: total / total_weight for name, total in totals.items()}
    if n_c == 1:
        result["delta2"] = None
    return result


def n_ensemble_grammars(v, n_c, m, s, L, reduce: bool = True) -> int:
    """Size of the full rule ensemble without grouping (sets if ``reduce``, else ordered draws)."""
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    return prod(count_level_draws(n_c if k == 0 else v, m, v**s, ordered=not reduce) for k in range(L))


# ----- Monte Carlo -------------------------------------------------------------------------------------
def monte_carlo_statistics(v, n_c, m, s, L, n_grammars: int, seed, position: int = 0, tuples: bool = False) -> dict:
    """:func:`class_statistics` of ``n_grammars`` random grammars: dict of float arrays (n_grammars,).

    Grammar i is ``Grammar.random(..., seed=rng)`` with ``rng = numpy.random.default_rng(seed)``.
    """
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    n_grammars = check_int("n_grammars", n_grammars)
    rng = as_generator(seed)
    rows = []
    for _ in range(n_grammars):
        grammar = Grammar.random(v, n_c, m, s, L, seed=rng)
        probs = class_tuple_probs(grammar, position) if tuples else class_token_probs(grammar, position)
        rows.append(class_statistics(probs))
    return {name: np.array([row[name] for row in rows], dtype=float) for name in STATISTICS if n_c > 1 or name != "delta2"}


def confidence_interval(samples: np.ndarray, z: float = 2.5758293035489) -> tuple[float, float, float]:
    """(mean, low, high): normal confidence interval of the mean (z = 2.576: 99 %)."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 1 or samples.size < 2:
        raise ValueError(f"need a 1-d array of at least 2 samples, got shape {samples.shape}")
    mean = float(samples.mean())
    half = z * float(samples.std(ddof=1)) / np.sqrt(samples.size)
    return mean, mean - half, mean + half


# ----- token pairs (next-token task) --------------------------------------------------------------------
def exact_token_pair_average(v, n_c, m, s, L, distance) -> dict:
    """Exact average over every rule draw of ``strength = sum_{mu,nu} C(mu, nu)^2`` and of the noise
    constant ``noise = E_x[|a|^2 |b|^2] - strength`` (a(mu) = 1[x_i = mu] - p_i(mu), b likewise for x_j)
    of the pair (x_i, x_j) = (x_{d - distance}, x_d), both counted over each grammar's enumerated data
    (integers, then Fractions); the brute-force counterpart of rhm_theory.theory.next_token_symbolic.
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
