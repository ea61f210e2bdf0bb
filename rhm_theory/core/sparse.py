"""The Sparse Random Hierarchy Model (Tomasini and Wyart, arXiv:2404.10727; docs/theory-sparse.md).

An RHM grammar plus a sparsity s0 >= 0. Every production lays its s children out in a patch of
s' = s(s0+1) positions; the other s' - s positions hold the empty symbol ``v`` (one more than the
vocabulary), which produces only empty symbols below it. The layout of each production is a latent
variable drawn with it, uniformly among ``n_placements`` layouts:

- variant "A": child i at position i(s0+1) + r_i of its own sub-patch, r_i in range(s0+1);
- variant "B": the s children, in order, at any s of the s' positions.

Layouts are numbered by ``placements`` (Q, s) (child positions within the patch, in increasing
lexicographic order). The input has d = s'**L tokens in range(v+1).

A datum is its class, the production choice of each informative node and the layout code of each:
``choices`` and ``placements`` (P, n_nodes) use the block layout of rhm_theory.core.sampling (block k
= the s**k informative nodes that use rules[k], left to right). Canonical datum index: the digits
choice * Q + layout in base m * Q after the class, so s0 = 0 (Q = 1) gives the RHM's index, data and
sampled bytes exactly.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from rhm_theory.core import sampling
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import draw_distinct, n_placements, sparse_p_max
from rhm_theory.core.validation import (
    as_generator, check_bool, check_enumerable, check_instance, check_int, check_level, check_sparse_size, check_symbols,
    shown,
)


def placement_table(s: int, s0: int, variant: str) -> np.ndarray:
    """Child positions within a patch of s(s0+1) for every layout, int64 (Q, s), lexicographic order
    (sizes bounded first by check_sparse_size; built by unranking, without Python tuples)."""
    layouts = n_placements(s, s0, variant)  # validates the variant
    ranks = np.arange(layouts, dtype=np.int64)
    if variant == "A":  # child i at i(s0+1) + r_i, the r_i the base-(s0+1) digits of the rank
        digits = np.empty((layouts, s), dtype=np.int64)
        for i in range(s - 1, -1, -1):
            ranks, digits[:, i] = np.divmod(ranks, s0 + 1)
        return digits + (s0 + 1) * np.arange(s, dtype=np.int64)
    return _unrank_combinations(ranks, s * (s0 + 1), s)


def _binomial_columns(n: int, s: int) -> list[np.ndarray]:
    """``columns[b][a] = C(a, b)`` for b = 0..s and a in range(n - s + b), int64: exactly the entries
    the lexicographic rank of an s-subset of range(n) uses, each at most C(n, s) (so no overflow)."""
    columns = [np.ones(n - s, dtype=np.int64)]
    for _ in range(s):
        columns.append(np.concatenate([[0], np.cumsum(columns[-1])]))
    return columns


def _rank_combinations(positions: np.ndarray, n: int, s: int) -> np.ndarray:
    """Lexicographic ranks (int64) of increasing s-subsets ``positions`` (..., s) of range(n):
    C(n, s) - 1 - sum_i C(n - 1 - c_i, s - i) (the combinatorial number system)."""
    columns = _binomial_columns(n, s)
    total = np.zeros(positions.shape[:-1], dtype=np.int64)
    for i in range(s):
        total += columns[s - i][n - 1 - positions[..., i]]
    return math.comb(n, s) - 1 - total


def _unrank_combinations(ranks: np.ndarray, n: int, s: int) -> np.ndarray:
    """Inverse of :func:`_rank_combinations`: ranks (Q,) -> increasing s-subsets (Q, s) of range(n)."""
    columns = _binomial_columns(n, s)
    remainder = math.comb(n, s) - 1 - ranks
    positions = np.empty((ranks.size, s), dtype=np.int64)
    for i in range(s):  # greedy: the largest a with C(a, s - i) <= remainder is n - 1 - c_i
        a = np.searchsorted(columns[s - i], remainder, side="right") - 1
        positions[:, i] = n - 1 - a
        remainder = remainder - columns[s - i][a]
    return positions


class SparseRHM:
    """A sparse RHM: ``SparseRHM(grammar, s0, variant="A")``; never mutated after construction.

    The grammar's rules must be uniform (grammar.weighted False). Attributes: ``grammar``, ``s0``,
    ``variant``, the grammar's ``v, n_c, m, s, L``, ``empty = v``
    (the empty token), ``patch = s(s0+1)``, ``d = patch**L``, ``n_nodes`` (informative productions
    per datum), ``n_placements`` (Q), ``placements`` (Q, s) and ``p_max`` (exact int).
    """

    def __init__(self, grammar: Grammar, s0, variant: str = "A"):
        check_instance("grammar", grammar, Grammar, "a rhm_theory Grammar")
        if grammar.weighted:
            raise ValueError(f"the sparse RHM takes a grammar with uniform rules (1/m each), got {grammar!r} with weighted rules")
        self.weighted = False  # the data are uniform over the p_max data (see sampling.sample_train_test)
        self.grammar = grammar
        self.v, self.n_c, self.m, self.s, self.L = grammar.v, grammar.n_c, grammar.m, grammar.s, grammar.L
        self.n_placements = check_sparse_size(self.n_c, self.m, self.s, self.L, s0, variant)
        self.s0, self.variant = int(s0), variant
        self.empty = grammar.v
        self.patch = self.s * (self.s0 + 1)
        self.d = self.patch**self.L
        self.n_nodes = grammar.n_nodes
        self.p_max = sparse_p_max(self.n_c, self.m, self.s, self.L, self.s0, variant)
        self.placements = placement_table(self.s, self.s0, variant)
        self.placements.setflags(write=False)
        # The digit space of the data (class, then one digit in range(m * Q) per node): the sampling
        # routines of rhm_theory.core.sampling draw it exactly as they draw an RHM's (class, choices).
        self._digits = SimpleNamespace(n_c=self.n_c, m=self.m * self.n_placements, n_nodes=self.n_nodes, p_max=self.p_max)

    @property
    def params(self) -> dict:
        return {**self.grammar.params, "s0": self.s0, "variant": self.variant}

    def __repr__(self) -> str:
        return f"SparseRHM({self.grammar!r}, s0={self.s0}, variant={self.variant!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, SparseRHM) and self.params == other.params and self.grammar == other.grammar

    def __hash__(self):
        return hash((self.grammar, self.s0, self.variant))

    # ----- data ------------------------------------------------------------------------------------
    def _from_digits(self, y: np.ndarray, digits_by_node: np.ndarray) -> np.ndarray:
        choices, placements = np.divmod(digits_by_node, self.n_placements)
        return self.expand(y, choices, placements)

    def expand(self, y: np.ndarray, choices_by_node: np.ndarray, placements_by_node: np.ndarray) -> np.ndarray:
        """Tokens (P, d) from labels (P,) and node-major choices, layouts (n_nodes, P)."""
        if self.s0 == 0:  # one layout: the RHM itself (its faster expansion, the same tokens)
            return sampling.expand(self.grammar, y, choices_by_node)
        return self._expand_sparse(y, choices_by_node, placements_by_node)

    def _expand_sparse(self, y, choices_by_node, placements_by_node) -> np.ndarray:
        s, m, P = self.s, self.m, y.shape[0]
        offsets = sampling.block_offsets(self.grammar)
        symbols = y[None, :]
        positions = np.zeros((1, P), dtype=np.int64)  # of the informative nodes, in their level's grid
        for k in range(self.L):
            key = symbols * m + choices_by_node[offsets[k] : offsets[k + 1]]
            layout = self.placements[placements_by_node[offsets[k] : offsets[k + 1]]]  # (nodes, P, s)
            children = np.empty((key.shape[0] * s, P), dtype=np.int64)
            child_positions = np.empty_like(children)
            for slot in range(s):
                children[slot::s] = np.take(self.grammar.slot_tables[k][slot], key)
                child_positions[slot::s] = positions * self.patch + layout[..., slot]
            symbols, positions = children, child_positions
        x = np.full((P, self.d), self.empty, dtype=np.int64)
        np.put_along_axis(x, positions.T, symbols.T, axis=1)
        return x

    def decode(self, y, choices, placements) -> np.ndarray:
        """Tokens (P, d) of labels (P,), production choices (P, n_nodes) and layout codes (P, n_nodes)."""
        x = self.grammar.decode(y, choices)  # validates y and choices (integer arrays)
        y, choices = np.asarray(y, dtype=np.int64), np.asarray(choices, dtype=np.int64)
        placements = np.asarray(placements)
        if placements.shape != (y.shape[0], self.n_nodes):
            raise ValueError(f"placements must have shape (P, n_nodes={self.n_nodes}), got {placements.shape}")
        placements = check_symbols("placements", placements, self.n_placements, f"n_placements={self.n_placements}")
        if self.s0 == 0:
            return x
        return self._expand_sparse(y, choices.T, placements.T)

    def sample(self, P, seed, replace: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """P data ``(x, y)``: tokens (P, d) int64 in range(v+1), labels (P,) int64.

        replace=False (default): P distinct data, a uniform random P-subset of all p_max data in random
        order, for any p_max (the guarantees of Grammar.sample); P > p_max is an error.
        replace=True: P i.i.d. uniform data. With s0 = 0 the bytes equal ``grammar.sample``'s.
        """
        P = check_int("P", P, minimum=0)
        rng = as_generator(seed)
        if check_bool("replace", replace):
            return self._pair(*sampling.uniform_digits(self._digits, P, rng))
        if P > self.p_max:
            raise ValueError(
                f"P = {shown(P)} distinct data requested but this sparse RHM has only p_max = {shown(self.p_max)}; "
                "sampling without replacement needs P <= p_max (use replace=True for i.i.d. data)"
            )
        if self.p_max <= sampling.SINGLE_INDEX_LIMIT:
            return self._indices_to_data(draw_distinct(self.p_max, P, rng))
        return self._pair(*sampling.draw_distinct_digits(self._digits, P, rng))

    def _pair(self, y, digits_by_node):
        return self._from_digits(y, digits_by_node), y

    def _indices_to_data(self, indices) -> tuple[np.ndarray, np.ndarray]:
        digits_by_node, y = sampling.index_digits(self._digits, indices)
        return self._from_digits(y, digits_by_node), y

    def sample_train_test(self, P_train, P_test, seed, replace: bool = False):
        """Disjoint train and test sets ((x_train, y_train), (x_test, y_test)); see Grammar.sample_train_test."""
        return sampling.sample_train_test(self, P_train, P_test, seed, replace=replace)

    def enumerate(self, max_items=2**22) -> tuple[np.ndarray, np.ndarray]:
        """All p_max data ``(x, y)`` in canonical index order; ValueError if p_max > max_items."""
        check_enumerable(self.p_max, max_items)
        return self._indices_to_data(np.arange(self.p_max, dtype=np.int64))

    def indices(self, x) -> np.ndarray:
        """Canonical datum indices (P,) int64 of tokens x (P, d); inverse of the enumeration order."""
        if self.p_max > sampling.SINGLE_INDEX_LIMIT:
            raise ValueError(f"p_max = {shown(self.p_max)} is above 2**62: datum indices do not fit in int64")
        y, choices, placements = self.parse(x)
        index = y.copy()
        for choice, layout in zip(choices.T, placements.T):
            index = index * (self.m * self.n_placements) + choice * self.n_placements + layout
        return index

    def check_tokens(self, x, name: str = "tokens") -> np.ndarray:
        """Tokens ``x`` as int64 (P, d) in range(v+1) (v is the empty token), else ValueError naming ``name``."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"{name} must have shape (P, d={self.d}), got {x.shape}")
        return check_symbols(name, x, self.v + 1, f"v+1={self.v + 1}")

    def parse(self, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels (P,), production choices (P, n_nodes) and layout codes (P, n_nodes) of tokens x (P, d).

        Inverse of :meth:`decode`: informative symbols are never empty, so each patch's layout is the
        set of its non-empty positions and its production is then unique. ``self.placements[codes]``
        gives the children's positions within their patches, (P, n_nodes, s). Raises ValueError naming the
        first rows that are not data of this model.
        """
        x = self.check_tokens(x)
        P, s, m, Q = x.shape[0], self.s, self.m, self.n_placements
        offsets = sampling.block_offsets(self.grammar)
        choices = np.empty((P, self.n_nodes), dtype=np.int64)
        placements = np.empty((P, self.n_nodes), dtype=np.int64)
        symbols = x
        for k in range(self.L - 1, -1, -1):
            patches = symbols.reshape(P, -1, self.patch)
            full = patches != self.empty
            count = full.sum(axis=2)
            bad = (count != 0) & (count != s)
            informative = count == s
            # informative patches, in row-major order: per row, the s**k nodes of block k left to right
            rows_ok = informative.sum(axis=1) == s**k
            if bad.any() or not rows_ok.all():
                self._reject(P, np.flatnonzero(bad.any(axis=1) | ~rows_ok), k, "a patch is neither empty nor a layout of s symbols")
            where = np.nonzero(full[informative])[1].reshape(-1, s)  # child positions, increasing
            code, valid = self._layout_codes(where)
            if not valid.all():
                rows = np.unique(np.nonzero(informative)[0][~valid])
                self._reject(P, rows, k, f"a patch's symbols are not at a layout of variant {self.variant}")
            tuples = np.take_along_axis(patches[informative], where, axis=1)
            production, found = self.grammar.find_productions(k, tuples)
            if not found.all():
                self._reject(P, np.unique(np.nonzero(informative)[0][~found]), k, "a patch matches no production")
            owner, j = np.divmod(production, m)
            choices[:, offsets[k] : offsets[k + 1]] = j.reshape(P, -1)
            placements[:, offsets[k] : offsets[k + 1]] = code.reshape(P, -1)
            parents = np.full(informative.shape, self.empty, dtype=np.int64)
            parents[informative] = owner
            symbols = parents
        return symbols[:, 0], choices, placements

    def _layout_codes(self, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Layout codes (N,) of increasing child positions ``where`` (N, s) within a patch, and whether
        each is a layout of this variant; exact arithmetic ranks (every code < n_placements)."""
        if self.n_placements == 1:  # s0 = 0: the one layout, every position full
            return np.zeros(where.shape[0], dtype=np.int64), np.ones(where.shape[0], dtype=bool)
        if self.variant == "B":  # any increasing s positions are a layout
            return _rank_combinations(where, self.patch, self.s), np.ones(where.shape[0], dtype=bool)
        offsets = where - (self.s0 + 1) * np.arange(self.s, dtype=np.int64)  # r_i, a layout iff all in range(s0+1)
        valid = ((offsets >= 0) & (offsets <= self.s0)).all(axis=1)
        code = np.zeros(where.shape[0], dtype=np.int64)
        for column in np.where(valid[:, None], offsets, 0).T:
            code = code * (self.s0 + 1) + column
        return code, valid

    def _reject(self, P, rows, k, why):
        raise ValueError(
            f"{rows.size} of {P} inputs are not data of this sparse RHM (rows {rows[:5].tolist()}...): "
            f"at rules level {k}, {why}"
        )

    # ----- discrete diffeomorphisms ---------------------------------------------------------------------
    def diffeomorphism(self, x, levels, seed) -> np.ndarray:
        """D x: tokens (P, d) with the layout of every production that makes level-l symbols re-drawn
        uniformly, for each l in ``levels`` (1..L; level 1 is the input, made by block L - 1).

        Classes, productions and so every symbol are kept; only positions move (arXiv:2404.10727, the
        diffeomorphism section). A re-drawn layout may coincide with the old one (probability 1/Q).
        """
        rng = as_generator(seed)
        levels = sorted({check_level(level, self.L) for level in np.atleast_1d(levels).tolist()})
        y, choices, placements = self.parse(x)
        offsets = sampling.block_offsets(self.grammar)
        for level in levels:
            block = slice(offsets[self.L - level], offsets[self.L - level + 1])
            placements[:, block] = rng.integers(0, self.n_placements, size=placements[:, block].shape, dtype=np.int64)
        return self.decode(y, choices, placements)

