"""Integer helpers for production rules: distinct draws and s-tuple codes, and the counting formulas
of a grammar (productions per datum, number of data). numpy only; imports nothing from the package."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def n_nodes(s: int, L: int) -> int:
    """Productions (internal nodes) per datum: 1 + s + ... + s**(L-1) = (s**L - 1) / (s - 1), L when
    s = 1 (docs/theory.md, 'Parameters and feasibility')."""
    return (s**L - 1) // (s - 1) if s > 1 else L


def p_max(n_c: int, m: int, s: int, L: int) -> int:
    """Number of distinct data of a grammar, n_c * m**n_nodes(s, L), an exact int (docs/theory.md, 'Sampling and the number of data')."""
    return n_c * m ** n_nodes(s, L)


SPARSE_VARIANTS = ("A", "B")


def n_placements(s: int, s0: int, variant: str) -> int:
    """Layouts of the s informative children of one sparse production in s(s0+1) positions.

    Variant A: each child at one of the s0+1 positions of its own sub-patch, (s0+1)**s layouts.
    Variant B: the children, in order, at any s of the s(s0+1) positions, C(s(s0+1), s) layouts
    (arXiv:2404.10727, the model section; docs/theory-sparse.md).
    """
    if variant not in SPARSE_VARIANTS:
        raise ValueError(f"variant must be one of {SPARSE_VARIANTS}, got {variant!r}")
    if variant == "A":
        return (s0 + 1) ** s
    return math.comb(s * (s0 + 1), s)


def log2_placements(s: int, s0: int, variant: str) -> float:
    """log2 of :func:`n_placements` without computing it (to bound it first): exact up to float
    rounding when s(s0+1) < 2**52, else the lower bound k log2(s(s0+1) / k), k = min(s, s s0)."""
    if variant not in SPARSE_VARIANTS:
        raise ValueError(f"variant must be one of {SPARSE_VARIANTS}, got {variant!r}")
    if variant == "A":
        return s * math.log2(s0 + 1)
    n, k = s * (s0 + 1), min(s, s * s0)
    if k == 0:
        return 0.0
    if n < 2**52:
        return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)
    return k * math.log2(n / k)


def sparse_p_max(n_c: int, m: int, s: int, L: int, s0: int, variant: str) -> int:
    """Distinct data of a sparse RHM, n_c * (m * n_placements)**n_nodes(s, L), an exact int
    (docs/theory-sparse.md): every informative node draws a production and a layout; empty nodes none."""
    return n_c * (m * n_placements(s, s0, variant)) ** n_nodes(s, L)


def ncmL(n_c: int, m: int, L: int) -> int:
    """n_c * m**L: the paper's sample complexity of deep networks, P* ~ n_c m^L (arXiv:2307.02129,
    Eq. 7); training-set sizes are given relative to it."""
    return n_c * m**L


def path_slots(position: int, s: int, depth: int) -> list[int]:
    """Slots (in range(s)) from the top down to ``position`` in a tree of ``depth`` levels of
    branching s: the base-s digits of ``position``, ``depth`` of them, most significant first."""
    return [(position // s ** (depth - 1 - k)) % s for k in range(depth)]


def draw_distinct(n_population: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct integers drawn uniformly from range(n_population), in uniformly random order.

    Never materialises range(n_population) unless k >= n_population / 2 (then the output is that
    large anyway). Returns int64 array of shape (k,).
    """
    if k > n_population:
        raise ValueError(f"cannot draw {k} distinct values from a population of {n_population}")
    if 2 * k >= n_population:
        return rng.permutation(n_population)[:k].astype(np.int64, copy=False)
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < k:
        missing = k - chosen.size
        candidates = rng.integers(0, n_population, size=missing + missing // 16 + 16, dtype=np.int64)
        chosen = sorted_unique(np.concatenate([chosen, candidates]))
    # The set of distinct values is exchangeable, so a random k-subset of it in random order is a
    # uniform ordered sample without replacement.
    return chosen[rng.permutation(chosen.size)[:k]]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D int array, sorted (a plain sort: faster than np.unique here)."""
    ordered = np.sort(values)
    keep = np.empty(ordered.size, dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def codes_to_tuples(codes: ArrayLike, v: int, s: int) -> np.ndarray:
    """Tuple codes sum_i b_i v**(s-1-i) -> digits (..., s), most significant first."""
    powers = v ** np.arange(s - 1, -1, -1, dtype=np.int64)
    return (np.asarray(codes, dtype=np.int64)[..., None] // powers) % v


def tuples_to_codes(tuples: ArrayLike, v: int) -> np.ndarray:
    """Inverse of :func:`codes_to_tuples`: (..., s) digits -> int64 codes."""
    tuples = np.asarray(tuples, dtype=np.int64)
    s = tuples.shape[-1]
    powers = v ** np.arange(s - 1, -1, -1, dtype=np.int64)
    return tuples @ powers
