"""Data of a grammar: exact uniform sampling at any p_max, i.i.d. sampling of weighted rules,
enumeration, decoding and parsing.

A datum is fixed by its class y and the production choice of each of its n_nodes internal nodes,
so the data of a grammar are in bijection with range(p_max), p_max = n_c * m**n_nodes (docs/theory.md, 'Sampling and the number of data').
``choices`` (P, n_nodes) is laid out top-down by blocks: block k (k = 0..L-1) holds the s**k nodes
that use rules[k], left to right, starting at column (s**k - 1) // (s - 1) (column k when s = 1).
Canonical datum index: y * m**n_nodes + sum_i choices[i] * m**(n_nodes - 1 - i).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.rules import draw_distinct, n_nodes
from rhm_theory.core.validation import (
    INT64_LIMIT,
    SeedLike,
    as_generator,
    check_bool,
    check_enumerable,
    check_int,
    check_symbols,
    shown,
)

if TYPE_CHECKING:  # Grammar and SparseRHM import this module: no import at run time
    from types import SimpleNamespace

    from rhm_theory.core.grammar import Grammar
    from rhm_theory.core.sparse import SparseRHM

# Largest index space sampled through single int64 indices; above it data are drawn digit-wise.
SINGLE_INDEX_LIMIT = 2**62


def block_offsets(grammar: Grammar) -> list[int]:
    """Column where block k of ``choices`` starts, for k = 0..L (the last entry is n_nodes)."""
    offsets = [0]
    for k in range(grammar.L):
        offsets.append(offsets[-1] + grammar.s**k)
    return offsets


def decode(grammar: Grammar, y: ArrayLike, choices: ArrayLike) -> np.ndarray:
    """Tokens (P, d) int64 of the data with labels ``y`` (P,) and production ``choices`` (P, n_nodes),
    integer arrays (floats are refused, never truncated)."""
    y, choices = np.asarray(y), np.asarray(choices)
    if y.ndim != 1 or choices.shape != (y.shape[0], grammar.n_nodes):
        raise ValueError(
            f"expected y of shape (P,) and choices of shape (P, n_nodes={grammar.n_nodes}), "
            f"got {y.shape} and {choices.shape}"
        )
    y = check_symbols("labels", y, grammar.n_c, f"n_c={grammar.n_c}")
    choices = check_symbols("choices", choices, grammar.m, f"m={grammar.m}")
    return expand(grammar, y, choices.T)


def expand(grammar: Grammar, y: np.ndarray, choices_by_node: np.ndarray, use_subtree_table: bool = True) -> np.ndarray:
    """Tokens (P, d) from labels (P,) and node-major choices (n_nodes, P): the hot loop of sampling.

    Works node-major (one row per tree node) so each rule lookup is a 1-D ``np.take`` per slot. The
    bottom levels are expanded with one lookup per subtree in a precomputed table (see
    :func:`_subtree_table`), which does the same thing several times faster.
    """
    s, m = grammar.s, grammar.m
    offsets = block_offsets(grammar)
    table = _subtree_table(grammar) if use_subtree_table else None
    depth = table[0] if table else 0
    symbols = y[None, :]
    for k in range(grammar.L - depth):
        key = symbols * m + choices_by_node[offsets[k] : offsets[k + 1]]
        children = np.empty((key.shape[0] * s, key.shape[1]), dtype=np.int64)
        for slot in range(s):
            children[slot::s] = np.take(grammar.slot_tables[k][slot], key)
        symbols = children
    if not table:
        return np.ascontiguousarray(symbols.T)
    _, leaves, token_dtype = table
    key = symbols  # (n_roots, P): index of each subtree in the table, built from its choices
    n_roots, P = symbols.shape
    for k in range(grammar.L - depth, grammar.L):
        block = choices_by_node[offsets[k] : offsets[k + 1]].reshape(n_roots, s ** (k - grammar.L + depth), P)
        for node in range(block.shape[1]):
            key = key * m + block[:, node]
    return np.take(leaves, key.T).view(token_dtype).reshape(P, grammar.d).astype(np.int64)


_SUBTREE_TABLE_ENTRIES = 2**18  # about 1-2 MB: stays in cache
_SUBTREE_LEAF_BYTES = 16


@lru_cache(maxsize=16)
def _subtree_table(grammar: Grammar) -> tuple[int, np.ndarray, type[np.unsignedinteger]] | None:
    """(depth t, leaves, token dtype) for the deepest bottom subtrees worth tabulating, or None.

    A subtree of t levels is the datum of the sub-grammar rules[L-t:], whose canonical index is
    (root symbol, its choices in block order); ``leaves[index]`` holds its s**t tokens packed in one
    item (the smallest unsigned dtype holding range(v) each). t is the largest depth with at most 2**18
    entries of at most 16 bytes.
    """
    token_dtype = _smallest_uint(grammar.v)
    depth = 0
    for t in range(1, grammar.L + 1):
        entries = grammar.owners(grammar.L - t) * grammar.m ** n_nodes(grammar.s, t)
        if entries > _SUBTREE_TABLE_ENTRIES or grammar.s**t * token_dtype().itemsize > _SUBTREE_LEAF_BYTES:
            break
        depth = t
    if depth == 0:
        return None
    sub = type(grammar).from_rules(list(grammar.rule_tables[grammar.L - depth :]), grammar.v)
    indices = np.arange(sub.p_max, dtype=np.int64)
    tokens = expand(sub, *index_digits(sub, indices)[::-1], use_subtree_table=False)
    item = np.dtype((np.void, sub.d * token_dtype().itemsize))
    return depth, np.ascontiguousarray(tokens.astype(token_dtype)).view(item).ravel(), token_dtype


def parse(grammar: Grammar, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Labels (P,) and production choices (P, n_nodes) of tokens ``x`` (P, d); inverse of :func:`decode`.

    The grammar is unambiguous, so the derivation of a datum is unique. Raises ValueError naming the
    first rows that are not data of the grammar.
    """
    y, choices, _ = derivation(grammar, x)
    return y, choices


def derivation(grammar: Grammar, x: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`parse` plus the symbol of every internal node: (labels (P,), choices (P, n_nodes),
    symbols (P, n_nodes)), symbols[:, i] the owner whose production choices[:, i] is (block layout)."""
    x = check_tokens(grammar, x)
    P, s, m = x.shape[0], grammar.s, grammar.m
    offsets = block_offsets(grammar)
    choices = np.empty((P, grammar.n_nodes), dtype=np.int64)
    owners = np.empty((P, grammar.n_nodes), dtype=np.int64)
    symbols = x
    for k in range(grammar.L - 1, -1, -1):
        production, found = grammar.find_productions(k, symbols.reshape(P, symbols.shape[1] // s, s))
        if not found.all():
            rows = np.flatnonzero(~found.all(axis=1))
            raise ValueError(
                f"{rows.size} of {P} inputs are not data of this grammar (rows {rows[:5].tolist()}...): "
                f"a patch at rules level {k} matches no production"
            )
        owner, j = np.divmod(production, m)
        choices[:, offsets[k] : offsets[k + 1]] = j
        owners[:, offsets[k] : offsets[k + 1]] = owner
        symbols = owner
    return symbols[:, 0], choices, owners


def index_digits(grammar: Grammar | SimpleNamespace, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical datum indices (P,) -> node-major choices (n_nodes, P) and labels (P,)."""
    remainder = np.array(indices, dtype=np.int64)
    m = grammar.m
    choices_by_node = np.empty((grammar.n_nodes, remainder.size), dtype=np.int64)
    if m & (m - 1) == 0:  # power of two: digits by shifts, several times faster than division
        bits = m.bit_length() - 1
        for node in range(grammar.n_nodes):
            np.bitwise_and(remainder >> (bits * (grammar.n_nodes - 1 - node)), m - 1, out=choices_by_node[node])
        return choices_by_node, remainder >> (bits * grammar.n_nodes)
    for node in range(grammar.n_nodes - 1, -1, -1):
        remainder, choices_by_node[node] = np.divmod(remainder, m)
    return choices_by_node, remainder


def indices_to_data(grammar: Grammar, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Data ``(x, y)`` of canonical datum indices (int64 array, each < p_max <= 2**62)."""
    choices_by_node, y = index_digits(grammar, indices)
    return expand(grammar, y, choices_by_node), y


def data_to_indices(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """Canonical datum indices (P,) int64 of tokens x (P, d); inverse of :func:`indices_to_data`."""
    if grammar.p_max > SINGLE_INDEX_LIMIT:
        raise ValueError(f"p_max = {shown(grammar.p_max)} is above 2**62: datum indices do not fit in int64")
    y, choices = parse(grammar, x)
    index = y.copy()
    for column in choices.T:
        index = index * grammar.m + column
    return index


def uniform_digits(
    grammar: Grammar | SimpleNamespace, P: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """P i.i.d. uniform data as labels (P,) and node-major choices (n_nodes, P), int64."""
    y = rng.integers(0, grammar.n_c, size=P, dtype=_smallest_uint(grammar.n_c)).astype(np.int64)
    choices = rng.integers(0, grammar.m, size=(grammar.n_nodes, P), dtype=_smallest_uint(grammar.m))
    return y, choices.astype(np.int64)


def draw_distinct_digits(
    grammar: Grammar | SimpleNamespace, P: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """P distinct data (labels (P,), node-major choices (n_nodes, P)) drawn uniformly, for p_max > 2**62.

    Draws i.i.d. data and discards repeats (first occurrences kept, in draw order) until P remain;
    at these p_max repeats are vanishingly rare, so one round almost always suffices.
    """
    y, choices = uniform_digits(grammar, P, rng)
    while True:
        keep = _first_occurrences(grammar, y, choices)
        y, choices = y[keep], choices[:, keep]
        if y.size == P:
            return y, choices
        more_y, more_choices = uniform_digits(grammar, P - y.size, rng)
        y, choices = np.concatenate([y, more_y]), np.concatenate([choices, more_choices], axis=1)


def _first_occurrences(grammar: Grammar | SimpleNamespace, y: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Sorted indices of the first occurrence of each distinct datum among columns (y, choices)."""
    limbs = _pack_digits(grammar, y, choices)
    # Mix the limbs into one 64-bit hash with fixed odd multipliers (a Weyl sequence of the golden ratio).
    multipliers = np.uint64(0x9E3779B97F4A7C15) * (2 * np.arange(limbs.shape[0], dtype=np.uint64) + np.uint64(1))
    mixed = (limbs.astype(np.uint64) * multipliers[:, None]).sum(axis=0)
    ordered = np.sort(mixed)
    if not (ordered[1:] == ordered[:-1]).any():  # distinct hashes imply distinct data
        return np.arange(y.size)
    _, first = np.unique(limbs.T, axis=0, return_index=True)
    return np.sort(first)


def _pack_digits(grammar: Grammar | SimpleNamespace, y: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Pack data (y, node-major choices) injectively into int64 limbs of shape (n_limbs, P)."""
    digits = np.concatenate([y[None, :], choices], axis=0)
    radix = max(grammar.n_c, grammar.m, 2)
    per_limb = 1
    while radix ** (per_limb + 1) < INT64_LIMIT:
        per_limb += 1
    limbs = []
    for start in range(0, digits.shape[0], per_limb):
        limb = np.zeros(digits.shape[1], dtype=np.int64)
        for row in digits[start : start + per_limb]:
            limb *= radix
            limb += row
        limbs.append(limb)
    return np.stack(limbs)


def _smallest_uint(high: int) -> type[np.unsignedinteger]:
    """Smallest unsigned dtype holding range(high): fewer random bits per bounded draw."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if high <= np.iinfo(dtype).max + 1:
            return dtype
    return np.uint64


def weighted_data(grammar: Grammar, P: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """P i.i.d. data ``(x (P, d), y (P,))`` of a grammar with weighted rules (grammar.probs), exactly.

    Top-down, one level at a time: every node draws its production by inverse CDF of its owner's row
    of probabilities on one uniform draw u in [0, 1), j = #{r < m - 1 : cdf[r] <= u}. Labels are uniform
    over range(n_c).
    """
    # Equiprobable classes, as in the RHM: arXiv:2505.07067 weights the production rules (its text was
    # not at hand to confirm the class prior, so the RHM's is kept).
    y = rng.integers(0, grammar.n_c, size=P, dtype=_smallest_uint(grammar.n_c)).astype(np.int64)
    symbols = y[None, :]  # (nodes of the level, P)
    for k in range(grammar.L):
        cdf = np.cumsum(grammar.probs[k], axis=1)
        u = rng.random(symbols.shape)
        choice = np.zeros(symbols.shape, dtype=np.int64)
        for r in range(grammar.m - 1):
            choice += u >= np.take(cdf[:, r], symbols)
        key = symbols * grammar.m + choice
        children = np.empty((key.shape[0] * grammar.s, P), dtype=np.int64)
        for slot in range(grammar.s):
            children[slot :: grammar.s] = np.take(grammar.slot_tables[k][slot], key)
        symbols = children
    return np.ascontiguousarray(symbols.T), y


def check_replace(grammar: Grammar | SparseRHM, replace: object) -> bool:
    """``replace`` as a bool; a weighted grammar refuses replace=False (one line): its data are not
    uniform over the p_max data, so only i.i.d. draws describe them."""
    if not check_bool("replace", replace) and grammar.weighted:
        raise ValueError(
            "a grammar with weighted rules (e.g. zipf) has no uniform draw of distinct data: pass replace=True for i.i.d. data"
        )
    return bool(replace)


def sample(grammar: Grammar, P: int, seed: SeedLike, replace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Draw P data ``(x, y)``: tokens (P, d) int64, labels (P,) int64.

    replace=False (default): P distinct data, a uniform random P-subset of all p_max data in random
    order, for any p_max (exact Python int; above 2**62 the data are drawn digit-wise and
    de-duplicated). P > p_max is an error. replace=True: P i.i.d. uniform data. A weighted grammar
    (grammar.weighted) takes replace=True only: P i.i.d. data of its distribution (:func:`weighted_data`).
    """
    P = check_int("P", P, minimum=0)
    rng = as_generator(seed)
    if check_replace(grammar, replace):
        if grammar.weighted:
            return weighted_data(grammar, P, rng)
        y, choices_by_node = uniform_digits(grammar, P, rng)
        return expand(grammar, y, choices_by_node), y
    if P > grammar.p_max:
        raise ValueError(
            f"P = {shown(P)} distinct data requested but the grammar has only p_max = {shown(grammar.p_max)}; "
            "sampling without replacement needs P <= p_max (use replace=True for i.i.d. data)"
        )
    if grammar.p_max <= SINGLE_INDEX_LIMIT:
        return indices_to_data(grammar, draw_distinct(grammar.p_max, P, rng))
    y, choices_by_node = draw_distinct_digits(grammar, P, rng)
    return expand(grammar, y, choices_by_node), y


def sample_train_test(
    grammar: Grammar | SparseRHM, P_train: int, P_test: int, seed: SeedLike, replace: bool = False
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Training and test sets ``((x_train, y_train), (x_test, y_test))``.

    ``grammar``: a Grammar, or any data model with ``p_max``, ``weighted`` and ``sample(P, seed, replace)``
    (e.g. rhm_theory.core.sparse.SparseRHM).

    Without replacement, P_train + P_test distinct data are drawn and split, so no test datum is a
    training datum. With replacement, each set is i.i.d. but test data equal to a training datum are
    possible (their fraction is reported by the caller if it matters). A weighted grammar takes
    replace=True only: train and test are i.i.d. draws of its distribution, and a test datum may also
    be in the training set (frequent data are, often).
    """
    P_train = check_int("P_train", P_train, minimum=0)
    P_test = check_int("P_test", P_test, minimum=0)
    if not check_replace(grammar, replace) and P_train + P_test > grammar.p_max:
        raise ValueError(
            f"P_train + P_test = {shown(P_train)} + {shown(P_test)} = {shown(P_train + P_test)} exceeds p_max = {shown(grammar.p_max)}: "
            f"at most p_max - P_test = {shown(grammar.p_max - P_test)} training data are available "
            "disjoint from the test set"
        )
    x, y = grammar.sample(P_train + P_test, seed, replace=replace)
    return (x[:P_train], y[:P_train]), (x[P_train:], y[P_train:])


def enumerate_data(grammar: Grammar, max_items: int = 2**22) -> tuple[np.ndarray, np.ndarray]:
    """All p_max data ``(x, y)`` in canonical index order; ValueError if p_max > max_items."""
    check_enumerable(grammar.p_max, max_items)
    return indices_to_data(grammar, np.arange(grammar.p_max, dtype=np.int64))


def check_tokens(grammar: Grammar, x: ArrayLike, name: str = "tokens") -> np.ndarray:
    """Tokens ``x`` as int64 (P, d) in range(v), else ValueError naming ``name`` and what is wrong."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != grammar.d:
        raise ValueError(f"{name} must have shape (P, d={grammar.d}), got {x.shape}")
    return check_symbols(name, x, grammar.v, f"v={grammar.v}")
