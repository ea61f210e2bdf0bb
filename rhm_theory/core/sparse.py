"""The Sparse Random Hierarchy Model (Tomasini and Wyart, arXiv:2404.10727; docs/theory-sparse.md).

An RHM grammar plus a sparsity s0 >= 0. Every production lays its s children out in a patch of
s' = s(s0+1) positions; the other s' - s positions hold the empty symbol ``v`` (one more than the
vocabulary), which produces only empty symbols below it. The layout of each production is a latent
variable drawn with it, uniformly among ``n_placements`` layouts:

- variant "A": child i at position i(s0+1) + r_i of its own sub-patch, r_i in range(s0+1);
- variant "B": the s children, in order, at any s of the s' positions.

Layouts are numbered by ``placements`` (Q, s) (child positions within the patch, in increasing
lexicographic order). The input has ``d = s'**L`` tokens in range(v+1).

A datum is its class, the production choice of each informative node and the layout code of each:
``choices`` and ``placements`` (P, n_nodes) use the block layout of rhm_theory.core.sampling (block k
= the ``s**k`` informative nodes that use rules[k], left to right). Canonical datum index: the digits
choice * Q + layout in base m * Q after the class, so s0 = 0 (Q = 1) gives the RHM's index, data and
sampled bytes exactly.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import NoReturn, cast

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core import sampling
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import draw_distinct, n_placements, sparse_p_max
from rhm_theory.core.validation import (
    SeedLike,
    as_generator,
    check_bool,
    check_enumerable,
    check_instance,
    check_int,
    check_level,
    check_sparse_size,
    check_symbols,
    shown,
)


def placement_table(s: int, s0: int, variant: str) -> np.ndarray:
    """Child positions within a patch of s(s0+1) for every layout, in lexicographic order.

    Sizes are bounded first by ``check_sparse_size`` (rhm_theory.core.validation); the table is built
    by unranking, without Python tuples.

    Parameters
    ----------
    s : int
        Informative children per production.
    s0 : int
        Sparsity, >= 0: the patch has s(s0+1) positions.
    variant : {"A", "B"}
        "A": child i in its own sub-patch of s0+1 positions; "B": the s children, in order, at any s
        of the s(s0+1) positions.

    Returns
    -------
    ndarray of int64, shape (Q, s)
        Row q: the increasing child positions of layout q, Q = ``n_placements(s, s0, variant)``.

    Raises
    ------
    ValueError
        If ``variant`` is not "A" or "B".

    Examples
    --------
    >>> from rhm_theory.core.sparse import placement_table
    >>> placement_table(2, 1, "A").tolist()  # child i at 2i + r_i
    [[0, 2], [0, 3], [1, 2], [1, 3]]
    >>> placement_table(2, 1, "B").tolist()  # any 2 of 4 positions: C(4, 2) = 6 layouts
    [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    """
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
    """A sparse RHM: an RHM grammar whose productions spread their children over sparse patches.

    Never mutated after construction. See the module docstring for the layouts and the datum index.

    Parameters
    ----------
    grammar : Grammar
        The RHM grammar; its rules must be uniform (``grammar.weighted`` False).
    s0 : int
        Sparsity, >= 0: each production's s children lie in a patch of s(s0+1) positions.
    variant : {"A", "B"}, default "A"
        Layout family: "A", child i in its own sub-patch; "B", the children in order at any s positions.

    Attributes
    ----------
    grammar : Grammar
        The grammar given.
    s0 : int
        The sparsity.
    variant : str
        The layout variant.
    v, n_c, m, s, L : int
        The grammar's parameters.
    empty : int
        The empty token, ``v``.
    patch : int
        Positions per patch, ``s(s0+1)``.
    d : int
        Tokens per datum, ``patch**L``.
    n_nodes : int
        Informative productions per datum.
    n_placements : int
        Layouts per production, Q.
    placements : ndarray of int64, shape (Q, s)
        Read-only layout table, :func:`placement_table`.
    p_max : int
        Number of distinct data, ``n_c (m Q)**n_nodes`` (exact int).
    weighted : bool
        Always False: the data are uniform over the p_max data.

    Raises
    ------
    ValueError
        If ``grammar`` is not a Grammar or has weighted rules, if ``s0`` is not an integer >= 0, if
        ``variant`` is not "A" or "B", or if d, the layout table or p_max is above its size bound
        (docs/bounds.md).

    Examples
    --------
    >>> from rhm_theory.core.grammar import Grammar
    >>> from rhm_theory.core.sparse import SparseRHM
    >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> model = SparseRHM(grammar, s0=1)
    >>> model.patch, model.d == (2 * (1 + 1)) ** 2, model.n_placements, model.n_nodes
    (4, True, 4, 3)
    >>> model.p_max == 2 * (2 * 4) ** 3  # n_c (m Q)**n_nodes
    True
    """

    def __init__(self, grammar: Grammar, s0: int, variant: str = "A") -> None:
        check_instance("grammar", grammar, Grammar, "a rhm_theory Grammar")
        if grammar.weighted:
            raise ValueError(
                f"the sparse RHM takes a grammar with uniform rules (1/m each), got {grammar!r} with weighted rules"
            )
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
        self._digits = SimpleNamespace(
            n_c=self.n_c, m=self.m * self.n_placements, n_nodes=self.n_nodes, p_max=self.p_max
        )

    @property
    def params(self) -> dict:
        """The grammar's parameters ``v, n_c, m, s, L`` plus ``s0`` and ``variant``, as a dict."""
        return {**self.grammar.params, "s0": self.s0, "variant": self.variant}

    def __repr__(self) -> str:
        return f"SparseRHM({self.grammar!r}, s0={self.s0}, variant={self.variant!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparseRHM) and self.params == other.params and self.grammar == other.grammar

    def __hash__(self) -> int:
        return hash((self.grammar, self.s0, self.variant))

    # ----- data ------------------------------------------------------------------------------------
    def _from_digits(self, y: np.ndarray, digits_by_node: np.ndarray) -> np.ndarray:
        choices, placements = np.divmod(digits_by_node, self.n_placements)
        return self.expand(y, choices, placements)

    def expand(self, y: np.ndarray, choices_by_node: np.ndarray, placements_by_node: np.ndarray) -> np.ndarray:
        """Tokens from labels and node-major production choices and layout codes, without checks.

        The unchecked fast path of :meth:`decode` (arrays transposed); with s0 = 0 it is the RHM's own
        expansion, giving the same tokens.

        Parameters
        ----------
        y : ndarray of int64, shape (P,)
            Labels in range(n_c).
        choices_by_node : ndarray of int64, shape (n_nodes, P)
            Production choice of each informative node, in range(m).
        placements_by_node : ndarray of int64, shape (n_nodes, P)
            Layout code of each informative node, in range(n_placements).

        Returns
        -------
        ndarray of int64, shape (P, d)
            The tokens, in range(v+1).

        See Also
        --------
        decode : The same with validated, datum-major arrays.

        Examples
        --------
        >>> import numpy as np
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> y, choices, codes = np.array([1]), np.zeros((1, 3), dtype=np.int64), np.ones((1, 3), dtype=np.int64)
        >>> np.array_equal(model.expand(y, choices.T, codes.T), model.decode(y, choices, codes))
        True
        """
        if self.s0 == 0:  # one layout: the RHM itself (its faster expansion, the same tokens)
            return sampling.expand(self.grammar, y, choices_by_node)
        return self._expand_sparse(y, choices_by_node, placements_by_node)

    def _expand_sparse(self, y: np.ndarray, choices_by_node: np.ndarray, placements_by_node: np.ndarray) -> np.ndarray:
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

    def decode(self, y: ArrayLike, choices: ArrayLike, placements: ArrayLike) -> np.ndarray:
        """Tokens of the data with the given labels, production choices and layout codes.

        Parameters
        ----------
        y : array_like of int, shape (P,)
            Labels in range(n_c).
        choices : array_like of int, shape (P, n_nodes)
            Production choices in range(m), in the block layout of rhm_theory.core.sampling.
        placements : array_like of int, shape (P, n_nodes)
            Layout codes in range(n_placements), rows of :attr:`placements`.

        Returns
        -------
        ndarray of int64, shape (P, d)
            The tokens, in range(v+1).

        Raises
        ------
        ValueError
            If an array has the wrong shape, is not integer, or has entries out of range.

        See Also
        --------
        parse : The inverse.

        Examples
        --------
        >>> import numpy as np
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> x = model.decode([0], [[0, 1, 1]], [[0, 3, 3]])
        >>> x.shape, int((x != model.empty).sum())  # s**L = 4 informative tokens
        ((1, 16), 4)
        """
        x = self.grammar.decode(y, choices)  # validates y and choices (integer arrays)
        y, choices = np.asarray(y, dtype=np.int64), np.asarray(choices, dtype=np.int64)
        placements = np.asarray(placements)
        if placements.shape != (y.shape[0], self.n_nodes):
            raise ValueError(f"placements must have shape (P, n_nodes={self.n_nodes}), got {placements.shape}")
        placements = check_symbols("placements", placements, self.n_placements, f"n_placements={self.n_placements}")
        if self.s0 == 0:
            return x
        return self._expand_sparse(y, choices.T, placements.T)

    def sample(self, P: int, seed: SeedLike, replace: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Draw P data ``(x, y)``.

        ``replace=False`` (default): P distinct data, a uniform random P-subset of all p_max data in
        random order, for any p_max (the guarantees of Grammar.sample). ``replace=True``: P i.i.d.
        uniform data. With s0 = 0 the bytes equal ``grammar.sample``'s.

        Parameters
        ----------
        P : int
            Number of data, >= 0.
        seed : int or numpy.random.Generator
            The random seed (required).
        replace : bool, default False
            Draw with replacement (i.i.d.) instead of distinct data.

        Returns
        -------
        x : ndarray of int64, shape (P, d)
            Tokens in range(v+1).
        y : ndarray of int64, shape (P,)
            Labels in range(n_c).

        Raises
        ------
        ValueError
            If ``P`` is not an integer >= 0, ``seed`` is None or invalid, ``replace`` is not a bool, or
            ``P > p_max`` without replacement.

        Examples
        --------
        >>> import numpy as np
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> model = SparseRHM(grammar, s0=1)
        >>> x, y = model.sample(5, seed=0)
        >>> x.shape, y.shape, (x != model.empty).sum(axis=1).tolist()
        ((5, 16), (5,), [4, 4, 4, 4, 4])
        >>> len(np.unique(model.sample(model.p_max, seed=1)[0], axis=0)) == model.p_max  # all distinct
        True
        >>> np.array_equal(SparseRHM(grammar, s0=0).sample(3, seed=2)[0], grammar.sample(3, seed=2)[0])
        True
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

    def _pair(self, y: np.ndarray, digits_by_node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._from_digits(y, digits_by_node), y

    def _indices_to_data(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        digits_by_node, y = sampling.index_digits(self._digits, indices)
        return self._from_digits(y, digits_by_node), y

    def sample_train_test(
        self, P_train: int, P_test: int, seed: SeedLike, replace: bool = False
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Draw disjoint training and test sets; see Grammar.sample_train_test.

        Without replacement, P_train + P_test distinct data are drawn and split, so no test datum is a
        training datum; with replacement both sets are i.i.d. and may share data.

        Parameters
        ----------
        P_train : int
            Training-set size, >= 0.
        P_test : int
            Test-set size, >= 0.
        seed : int or numpy.random.Generator
            The random seed (required).
        replace : bool, default False
            Draw with replacement (i.i.d.).

        Returns
        -------
        train : tuple of ndarray
            ``(x_train, y_train)``, shapes (P_train, d) and (P_train,).
        test : tuple of ndarray
            ``(x_test, y_test)``, shapes (P_test, d) and (P_test,).

        Raises
        ------
        ValueError
            If a size is not an integer >= 0, ``seed`` or ``replace`` is invalid, or
            ``P_train + P_test > p_max`` without replacement.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> (x_train, y_train), (x_test, y_test) = model.sample_train_test(10, 5, seed=0)
        >>> x_train.shape, x_test.shape, len(set(map(bytes, x_train)) & set(map(bytes, x_test)))
        ((10, 16), (5, 16), 0)
        """
        return sampling.sample_train_test(self, P_train, P_test, seed, replace=replace)

    def enumerate(self, max_items: int = 2**22) -> tuple[np.ndarray, np.ndarray]:
        """All p_max data ``(x, y)`` in canonical index order.

        Parameters
        ----------
        max_items : int, default 2**22
            The most data to enumerate.

        Returns
        -------
        x : ndarray of int64, shape (p_max, d)
            Tokens in range(v+1); row i is the datum of index i.
        y : ndarray of int64, shape (p_max,)
            Labels.

        Raises
        ------
        ValueError
            If ``max_items`` is not an integer >= 1 or ``p_max > max_items``.

        Examples
        --------
        >>> import numpy as np
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> x, y = model.enumerate()
        >>> x.shape, np.array_equal(model.indices(x), np.arange(model.p_max))
        ((1024, 16), True)
        """
        check_enumerable(self.p_max, max_items)
        return self._indices_to_data(np.arange(self.p_max, dtype=np.int64))

    def indices(self, x: ArrayLike) -> np.ndarray:
        """Canonical datum indices of tokens; the inverse of the enumeration order.

        Parameters
        ----------
        x : array_like of int, shape (P, d)
            Data of this model.

        Returns
        -------
        ndarray of int64, shape (P,)
            Index of each datum in :meth:`enumerate`'s order.

        Raises
        ------
        ValueError
            If p_max is above 2**62 (the indices do not fit in int64), or a row of ``x`` is not a datum
            of this model (see :meth:`parse`).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> x, _ = model.enumerate()
        >>> model.indices(x[[5, 700]]).tolist()
        [5, 700]
        """
        if self.p_max > sampling.SINGLE_INDEX_LIMIT:
            raise ValueError(f"p_max = {shown(self.p_max)} is above 2**62: datum indices do not fit in int64")
        y, choices, placements = self.parse(x)
        index = y.copy()
        for choice, layout in zip(choices.T, placements.T):
            index = index * (self.m * self.n_placements) + choice * self.n_placements + layout
        return index

    def check_tokens(self, x: ArrayLike, name: str = "tokens") -> np.ndarray:
        """Tokens ``x`` as an int64 array, checked for shape (P, d) and range(v+1).

        Parameters
        ----------
        x : array_like of int
            The tokens (v is the empty token).
        name : str, default "tokens"
            Name of ``x`` in the error message.

        Returns
        -------
        ndarray of int64, shape (P, d)
            ``x``, with entries in range(v+1).

        Raises
        ------
        ValueError
            Naming ``name``, if ``x`` is not 2-d with d columns, is not integer or is out of range(v+1).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> model.check_tokens([[4] * 16]).shape  # all empty: valid tokens, though not a datum
        (1, 16)
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"{name} must have shape (P, d={self.d}), got {x.shape}")
        return check_symbols(name, x, self.v + 1, f"v+1={self.v + 1}")

    def parse(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels, production choices and layout codes of the data ``x``; the inverse of :meth:`decode`.

        Informative symbols are never empty, so each patch's layout is the set of its non-empty
        positions and its production is then unique. ``self.placements[codes]`` gives the children's
        positions within their patches, (P, n_nodes, s).

        Parameters
        ----------
        x : array_like of int, shape (P, d)
            Tokens in range(v+1).

        Returns
        -------
        y : ndarray of int64, shape (P,)
            Labels.
        choices : ndarray of int64, shape (P, n_nodes)
            Production choices.
        codes : ndarray of int64, shape (P, n_nodes)
            Layout codes.

        Raises
        ------
        ValueError
            If ``x`` fails :meth:`check_tokens`, or naming the first rows that are not data of this model.

        Examples
        --------
        >>> import numpy as np
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1, variant="B")
        >>> x, y = model.sample(20, seed=0)
        >>> labels, choices, codes = model.parse(x)
        >>> np.array_equal(labels, y), np.array_equal(model.decode(labels, choices, codes), x)
        (True, True)
        """
        x = self.check_tokens(x)
        P, s, m = x.shape[0], self.s, self.m
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
                self._reject(
                    P,
                    np.flatnonzero(bad.any(axis=1) | ~rows_ok),
                    k,
                    "a patch is neither empty nor a layout of s symbols",
                )
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
        # (N, s) reduced along axis 1: an array, never the scalar numpy's stub also allows
        valid = cast(np.ndarray, ((offsets >= 0) & (offsets <= self.s0)).all(axis=1))
        code = np.zeros(where.shape[0], dtype=np.int64)
        for column in np.where(valid[:, None], offsets, 0).T:
            code = code * (self.s0 + 1) + column
        return code, valid

    def _reject(self, P: int, rows: np.ndarray, k: int, why: str) -> NoReturn:
        raise ValueError(
            f"{rows.size} of {P} inputs are not data of this sparse RHM (rows {rows[:5].tolist()}...): "
            f"at rules level {k}, {why}"
        )

    # ----- discrete diffeomorphisms ---------------------------------------------------------------------
    def diffeomorphism(self, x: ArrayLike, levels: ArrayLike, seed: SeedLike) -> np.ndarray:
        """Discrete diffeomorphism D x: re-draw the layouts of the productions that make given levels.

        For each l in ``levels``, the layout of every production that makes level-l symbols is re-drawn
        uniformly (level 1 is the input, made by block L - 1). Classes, productions and so every symbol
        are kept; only positions move (arXiv:2404.10727, the diffeomorphism section). A re-drawn layout
        may coincide with the old one (probability 1/Q).

        Parameters
        ----------
        x : array_like of int, shape (P, d)
            Data of this model.
        levels : int or sequence of int
            Levels in 1..L whose layouts are re-drawn.
        seed : int or numpy.random.Generator
            The random seed (required).

        Returns
        -------
        ndarray of int64, shape (P, d)
            The moved data.

        Raises
        ------
        ValueError
            If a level is not in 1..L, ``seed`` is None or invalid, or a row of ``x`` is not a datum.

        Examples
        --------
        >>> import numpy as np
        >>> from rhm_theory.core.grammar import Grammar
        >>> from rhm_theory.core.sparse import SparseRHM
        >>> model = SparseRHM(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0), s0=1)
        >>> x, y = model.sample(8, seed=0)
        >>> labels, choices, _ = model.parse(model.diffeomorphism(x, levels=[1, 2], seed=1))
        >>> np.array_equal(labels, y), np.array_equal(choices, model.parse(x)[1])  # symbols kept
        (True, True)
        """
        rng = as_generator(seed)
        levels = sorted({check_level(level, self.L) for level in np.atleast_1d(levels).tolist()})
        y, choices, placements = self.parse(x)
        offsets = sampling.block_offsets(self.grammar)
        for level in levels:
            block = slice(offsets[self.L - level], offsets[self.L - level + 1])
            placements[:, block] = rng.integers(0, self.n_placements, size=placements[:, block].shape, dtype=np.int64)
        return self.decode(y, choices, placements)
