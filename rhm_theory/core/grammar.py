"""The Random Hierarchy Model grammar: validated parameters and production rules (docs/theory.md, 'The model').

Rules are a list of L integer arrays in top-down order: ``rules[0]`` has shape (n_c, m, s) and holds
the class productions (entries are level-L symbols); ``rules[k]`` for k >= 1 has shape (v, m, s) and
holds the productions of the level-(L-k+1) symbols (entries are level-(L-k) symbols, level 1 being
the input alphabet). Within one level no s-tuple appears twice (the grammar is unambiguous).

Rule probabilities ``probs`` (rhm_theory.core.rule_probs): L float64 arrays (n_c, m) then (v, m), in the
order of the rules; 1/m everywhere for the RHM, power-law (Zipf) rows for the model of arXiv:2505.07067.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core import graphs, rule_probs, sampling
from rhm_theory.core.rules import codes_to_tuples, draw_distinct, n_nodes, p_max, tuples_to_codes
from rhm_theory.core.validation import (
    SeedLike,
    as_generator,
    check_int,
    check_params,
    check_symbols,
    check_zipf,
    shown,
)

if TYPE_CHECKING:  # networkx is imported at run time by rhm_theory.core.graphs only
    import networkx as nx

JSON_FORMAT = "rhm-grammar"
JSON_VERSION = 1


class Grammar:
    """An RHM grammar: validated parameters, production rules and rule probabilities.

    Build with :meth:`random`, :meth:`from_rules`, :meth:`from_json` or :meth:`from_networkx`; never
    mutated after construction. The layout of the rules is in the module docstring (docs/theory.md,
    'The model'); the rule probabilities are :attr:`probs`.

    Parameters
    ----------
    rules : list of array_like of int
        The L rule arrays, top-down: (n_c, m, s) then (v, m, s), entries in range(v); within one level
        no s-tuple appears twice.
    v : int
        Vocabulary size of every level.
    probs : list of array_like of float, optional
        Rule probabilities, L arrays (n_c, m) then (v, m), each row summing to 1. None (default) is 1/m
        everywhere: the same grammar, data and statistics as uniform ``probs`` given explicitly.
    zipf : float, optional
        Labels power-law probabilities of exponent a > 0: each row of ``probs`` must then be a
        permutation of ``rule_probs.zipf_weights(m, zipf)``.

    Attributes
    ----------
    v, n_c, m, s, L : int
        The paper's parameters.
    d : int
        Input tokens per datum, ``s**L``.
    n_nodes : int
        Productions per datum, ``(s**L - 1) / (s - 1)`` (L when s = 1).
    p_max : int
        Number of distinct data, ``n_c * m**n_nodes`` (exact int).
    zipf : float or None
        The power-law exponent a the probabilities were drawn with, or None.
    weighted : bool
        False when every probability is exactly 1/m.

    Raises
    ------
    ValueError
        If a parameter is not a positive integer or is infeasible, if ``rules`` has the wrong shapes,
        non-integer entries, symbols outside range(v) or a repeated s-tuple within a level, if ``probs``
        are not valid probabilities of the rules' shape, or if ``zipf`` does not match ``probs``.

    See Also
    --------
    rhm_theory.core.rule_probs : Rule probabilities and the power-law (Zipf) rules.

    Examples
    --------
    >>> from rhm_theory.core.grammar import Grammar
    >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> grammar
    Grammar(v=4, n_c=2, m=2, s=2, L=2)
    >>> grammar.d, grammar.n_nodes, grammar.p_max  # p_max = 2 * 2**3
    (4, 3, 16)
    >>> grammar.weighted, grammar.zipf
    (False, None)
    """

    def __init__(
        self,
        rules: Sequence[ArrayLike],
        v: int,
        probs: Sequence[ArrayLike] | None = None,
        *,
        zipf: float | None = None,
    ) -> None:
        v = check_int("v", v)
        if not isinstance(rules, (list, tuple)) or len(rules) == 0:
            raise ValueError(f"rules must be a non-empty list of L integer arrays, got {type(rules).__name__}")
        arrays = [_as_int_array(r, k) for k, r in enumerate(rules)]
        if arrays[0].ndim != 3:
            raise ValueError(f"rules[0] must have shape (n_c, m, s), got shape {arrays[0].shape}")
        n_c, m, s = arrays[0].shape
        L = len(arrays)
        self.v, self.n_c, self.m, self.s, self.L = check_params(v, n_c, m, s, L)
        for k, r in enumerate(arrays):
            owners = n_c if k == 0 else v
            if r.shape != (owners, m, s):
                raise ValueError(f"rules[{k}] must have shape ({owners}, {m}, {s}), got {r.shape}")
            bad = np.argwhere((r < 0) | (r >= v))
            if bad.size:
                where = tuple(int(i) for i in bad[0])
                raise ValueError(
                    f"rules[{k}]{list(where)} = {int(r[where])} is out of range: symbols must be in range(v={v})"
                )
            codes = tuples_to_codes(r.reshape(-1, s), v)
            uniq, _first, counts = np.unique(codes, return_index=True, return_counts=True)
            if (counts > 1).any():
                dup = int(uniq[np.argmax(counts > 1)])
                owners_of = [divmod(int(i), m) for i in np.flatnonzero(codes == dup)]
                raise ValueError(
                    f"rules[{k}] is ambiguous: the tuple {tuple(int(b) for b in codes_to_tuples(dup, v, s))} "
                    f"appears {int(counts.max())} times (as (owner, production) {owners_of}); "
                    "each s-tuple may have at most one owner and productions must be distinct"
                )
        self._rules = [r.copy() for r in arrays]
        for r in self._rules:
            r.setflags(write=False)
        owners = [self.owners(k) for k in range(L)]
        self._probs = rule_probs.uniform_probs(owners, m) if probs is None else rule_probs.check_probs(probs, owners, m)
        self.weighted = probs is not None and not rule_probs.is_uniform(self._probs, m)
        self.zipf = None if zipf is None else _check_zipf_rows(self._probs, m, check_zipf(zipf))
        self.d = s**L
        self.n_nodes = n_nodes(s, L)
        self.p_max = p_max(n_c, m, s, L)

    # ----- construction -------------------------------------------------------------------------
    @classmethod
    def random(cls, v: int, n_c: int, m: int, s: int, L: int, seed: SeedLike, *, zipf: float | None = None) -> Grammar:
        """Draw a random grammar: rules drawn uniformly without replacement among the v**s tuples.

        Each level is drawn independently. The same seed gives the same rules on every machine.

        Parameters
        ----------
        v, n_c, m, s, L : int
            Vocabulary size, number of classes, productions per symbol, tuple length and depth
            (feasible: n_c * m <= v**s and, for L >= 2, m <= v**(s-1)).
        seed : int, numpy.random.SeedSequence or numpy.random.Generator
            Source of randomness (an int in 0..2**63-1; never global state).
        zipf : float, optional
            Exponent a > 0 of power-law rules (arXiv:2505.07067): each symbol's m productions get
            f_r proportional to r**-(1+a) in a random rank order. The orders are drawn from the same
            generator after all the rules, so the rules are those of ``zipf=None``.

        Returns
        -------
        Grammar
            The grammar, weighted when ``zipf`` is given.

        Raises
        ------
        ValueError
            If the parameters are not positive integers, are infeasible or too large, if ``seed`` is
            None or out of range, or if ``zipf`` is not a finite real > 0.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> [r.shape for r in grammar.rules]
        [(2, 2, 2), (4, 2, 2)]
        >>> power_law = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)
        >>> power_law
        Grammar(v=4, n_c=2, m=2, s=2, L=2, zipf=1.0)
        >>> all(np.array_equal(a, b) for a, b in zip(power_law.rules, grammar.rules))
        True
        >>> np.sort(power_law.probs[0], axis=1)  # weights 1 : 2**-2, normalised
        array([[0.2, 0.8],
               [0.2, 0.8]])
        """
        v, n_c, m, s, L = check_params(v, n_c, m, s, L)
        if zipf is not None:
            zipf = check_zipf(zipf)
        rng = as_generator(seed)
        rules = []
        for k in range(L):
            owners = n_c if k == 0 else v
            codes = draw_distinct(v**s, owners * m, rng).reshape(owners, m)
            rules.append(codes_to_tuples(codes, v, s))
        if zipf is None:
            return cls(rules, v)
        probs = [rule_probs.draw_zipf_probs(r.shape[0], m, zipf, rng) for r in rules]
        return cls(rules, v, probs, zipf=zipf)

    @classmethod
    def from_rules(cls, rules: Sequence[ArrayLike], v: int, *, probs: Sequence[ArrayLike] | None = None) -> Grammar:
        """Build a grammar from explicit rules and optional rule probabilities.

        Parameters
        ----------
        rules : list of array_like of int
            The L rule arrays, top-down: (n_c, m, s) then (v, m, s) (see the module docstring).
        v : int
            Vocabulary size.
        probs : list of array_like of float, optional
            L arrays (owners, m) of rule probabilities; None (default) is 1/m everywhere.

        Returns
        -------
        Grammar
            The grammar of these rules.

        Raises
        ------
        ValueError
            If the rules or probabilities are invalid (see :class:`Grammar`).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.from_rules([[[[0, 1], [1, 0]], [[0, 0], [1, 1]]]], v=2)
        >>> grammar, grammar.p_max
        (Grammar(v=2, n_c=2, m=2, s=2, L=1), 4)
        >>> x, y = grammar.enumerate()
        >>> x.tolist(), y.tolist()
        ([[0, 1], [1, 0], [0, 0], [1, 1]], [0, 0, 1, 1])
        >>> Grammar.from_rules([[[[0, 1], [1, 0]], [[0, 1], [1, 1]]]], v=2)
        Traceback (most recent call last):
        ...
        ValueError: rules[0] is ambiguous: the tuple (0, 1) appears 2 times ...
        """
        return cls(rules, v, probs)

    @property
    def rules(self) -> list[np.ndarray]:
        """The rules as a list of L int64 arrays (copies), top-down: (n_c, m, s) then (v, m, s).

        See Also
        --------
        rule_tables : The same arrays as read-only views, without a copy.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> rules = grammar.rules
        >>> rules[0][...] = 0  # a copy: the grammar is unchanged
        >>> np.array_equal(grammar.rules[0], rules[0])
        False
        """
        return [r.copy() for r in self._rules]

    @property
    def rule_tables(self) -> tuple[np.ndarray, ...]:
        """Read-only views of the L rule arrays (no copy), top-down: (n_c, m, s) then (v, m, s).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> [(r.shape, r.flags.writeable) for r in grammar.rule_tables]
        [((2, 2, 2), False), ((4, 2, 2), False)]
        """
        return tuple(self._rules)

    @property
    def probs(self) -> list[np.ndarray]:
        """Rule probabilities, L read-only float64 arrays, top-down: (n_c, m) then (v, m).

        Entry [a, j] is the probability that symbol a uses production j of the rules, each row
        summing to 1 (1/m everywhere for the RHM).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> grammar.probs[0]
        array([[0.5, 0.5],
               [0.5, 0.5]])
        >>> [p.shape for p in grammar.probs]
        [(2, 2), (4, 2)]
        """
        return list(self._probs)

    @property
    def params(self) -> dict:
        """The parameters ``{"v", "n_c", "m", "s", "L"}`` as a dict of ints.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0).params
        {'v': 4, 'n_c': 2, 'm': 2, 's': 2, 'L': 2}
        """
        return {"v": self.v, "n_c": self.n_c, "m": self.m, "s": self.s, "L": self.L}

    def owners(self, k: int) -> int:
        """Number of symbols owning the productions of ``rules[k]``.

        Parameters
        ----------
        k : int
            Rules level, 0..L-1.

        Returns
        -------
        int
            The number n_c for k = 0 (the classes), else v.

        Raises
        ------
        ValueError
            If ``k`` is not an integer in 0..L-1.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> grammar.owners(0), grammar.owners(1)
        (2, 4)
        """
        return self.n_c if self._check_rules_level(k) == 0 else self.v

    def _check_rules_level(self, k: object) -> int:
        """``k`` as an int in 0..L-1 (an index of :attr:`rules`), else a one-line ValueError."""
        return check_int("k (rules level)", k, minimum=0, maximum=self.L - 1)

    @cached_property
    def slot_tables(self) -> list[list[np.ndarray]]:
        """Per level k and slot i: a 1-D int64 table, entry owner*m + j = slot i of production j of owner.

        ``slot_tables[k][i]`` has shape (owners(k) * m,).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> [[table.shape for table in level] for level in grammar.slot_tables]
        [[(4,), (4,)], [(8,), (8,)]]
        """
        return [[np.ascontiguousarray(r.reshape(-1, self.s)[:, i]) for i in range(self.s)] for r in self._rules]

    @cached_property
    def tuple_lookup(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per level k: (sorted tuple codes, flat production index owner*m + j for each code).

        Both arrays are int64 of shape (owners(k) * m,); the code of an s-tuple b is
        sum_i b_i v**(s-1-i).

        See Also
        --------
        find_productions : Look tuples up in these tables.
        """
        tables = []
        for r in self._rules:
            codes = tuples_to_codes(r.reshape(-1, self.s), self.v)
            order = np.argsort(codes)
            tables.append((codes[order], order.astype(np.int64)))
        return tables

    def find_productions(self, k: int, tuples: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The production of ``rules[k]`` that emits each s-tuple.

        The grammar is unambiguous, so at most one production does.

        Parameters
        ----------
        k : int
            Rules level, 0..L-1.
        tuples : array_like of int, shape (..., s)
            The s-tuples, entries in range(v).

        Returns
        -------
        index : ndarray of int64, shape (...)
            The flat production index owner * m + j, -1 where no production emits the tuple.
        found : ndarray of bool, shape (...)
            Whether a production emits the tuple.

        Raises
        ------
        ValueError
            If ``k`` is not in 0..L-1, an entry is not an integer in range(v), or the last axis is not s.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> index, found = grammar.find_productions(0, grammar.rules[0][1, 0])  # production 0 of class 1
        >>> int(index), bool(found)  # index = owner * m + j = 1 * 2 + 0
        (2, True)
        >>> every_tuple = np.array([[a, b] for a in range(4) for b in range(4)])
        >>> index, found = grammar.find_productions(1, every_tuple)
        >>> int(found.sum()), sorted(index[found].tolist())  # v * m = 8 of the v**s = 16 tuples
        (8, [0, 1, 2, 3, 4, 5, 6, 7])
        """
        sorted_codes, production = self.tuple_lookup[self._check_rules_level(k)]
        tuples = check_symbols("tuples", tuples, self.v, f"v={self.v}")
        if tuples.ndim == 0 or tuples.shape[-1] != self.s:
            raise ValueError(f"tuples must have a last axis of length s = {self.s}, got shape {tuples.shape}")
        codes = tuples_to_codes(tuples, self.v)
        where = np.searchsorted(sorted_codes, codes).clip(max=sorted_codes.size - 1)
        found = sorted_codes[where] == codes
        return np.where(found, production[where], -1), found

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Grammar)
            and self.params == other.params
            and all(np.array_equal(a, b) for a, b in zip(self._rules, other._rules))
            and all(np.array_equal(a, b) for a, b in zip(self._probs, other._probs))
        )

    def __hash__(self) -> int:
        probs = tuple(p.tobytes() for p in self._probs) if self.weighted else ()  # unweighted: all 1/m
        return hash((tuple(self.params.values()), tuple(r.tobytes() for r in self._rules), probs))

    def __repr__(self) -> str:
        weights = f", zipf={self.zipf}" if self.zipf is not None else ", weighted" if self.weighted else ""
        return f"Grammar(v={self.v}, n_c={self.n_c}, m={self.m}, s={self.s}, L={self.L}{weights})"

    # ----- data (implemented in rhm_theory.core.sampling) -------------------------------------------------
    def sample(self, P: int, seed: SeedLike, replace: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Draw P data ``(x, y)`` of the grammar.

        Without replacement (default) the P data are distinct and uniform, a random P-subset of the
        p_max data for any p_max; P > p_max is an error. With replacement they are i.i.d. A weighted
        grammar needs ``replace=True``: P i.i.d. data of its distribution.

        Parameters
        ----------
        P : int
            Number of data, >= 0.
        seed : int, numpy.random.SeedSequence or numpy.random.Generator
            Source of randomness.
        replace : bool, default False
            Draw i.i.d. data instead of distinct ones.

        Returns
        -------
        x : ndarray of int64, shape (P, d)
            Tokens in range(v).
        y : ndarray of int64, shape (P,)
            Labels in range(n_c).

        Raises
        ------
        ValueError
            If P or ``seed`` is invalid, if ``replace`` is not a bool, if P > p_max without
            replacement, or if a weighted grammar is sampled without replacement.

        See Also
        --------
        rhm_theory.core.sampling.sample : The implementation.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> x, y = grammar.sample(16, seed=1)  # all p_max = 16 data, in random order
        >>> x.shape, y.shape, len(np.unique(x, axis=0))
        ((16, 4), (16,), 16)
        >>> grammar.sample(17, seed=1)
        Traceback (most recent call last):
        ...
        ValueError: P = 17 distinct data requested but the grammar has only p_max = 16; ...
        """
        return sampling.sample(self, P, seed, replace=replace)

    def sample_train_test(
        self, P_train: int, P_test: int, seed: SeedLike, replace: bool = False
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Draw a training and a test set, disjoint without replacement.

        Without replacement, P_train + P_test distinct data are drawn and split. With replacement both
        sets are i.i.d. and may share data. A weighted grammar needs ``replace=True`` (both i.i.d.).

        Parameters
        ----------
        P_train, P_test : int
            Sizes of the training and test sets, >= 0.
        seed : int, numpy.random.SeedSequence or numpy.random.Generator
            Source of randomness.
        replace : bool, default False
            Draw i.i.d. data instead of distinct ones.

        Returns
        -------
        train : tuple of ndarray
            ``(x_train, y_train)``, shapes (P_train, d) and (P_train,), int64.
        test : tuple of ndarray
            ``(x_test, y_test)``, shapes (P_test, d) and (P_test,), int64.

        Raises
        ------
        ValueError
            If the sizes or ``seed`` are invalid, if P_train + P_test > p_max without replacement, or
            if a weighted grammar is sampled without replacement.

        See Also
        --------
        rhm_theory.core.sampling.sample_train_test : The implementation.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> (x_train, y_train), (x_test, y_test) = grammar.sample_train_test(10, 6, seed=0)
        >>> x_train.shape, x_test.shape
        ((10, 4), (6, 4))
        >>> set(map(tuple, x_train.tolist())) & set(map(tuple, x_test.tolist()))  # disjoint
        set()
        """
        return sampling.sample_train_test(self, P_train, P_test, seed, replace=replace)

    def enumerate(self, max_items: int = 2**22) -> tuple[np.ndarray, np.ndarray]:
        """All p_max data ``(x, y)`` in canonical order.

        The canonical index of a datum is y * m**n_nodes + sum_i choices[i] * m**(n_nodes - 1 - i)
        (rhm_theory.core.sampling).

        Parameters
        ----------
        max_items : int, default 2**22
            Refuse grammars with more data than this.

        Returns
        -------
        x : ndarray of int64, shape (p_max, d)
            Tokens.
        y : ndarray of int64, shape (p_max,)
            Labels, non-decreasing.

        Raises
        ------
        ValueError
            If p_max > max_items, or max_items is not a positive integer.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> x, y = grammar.enumerate()
        >>> x.shape, len(np.unique(x, axis=0)), np.bincount(y).tolist()  # m**n_nodes = 8 per class
        ((16, 4), 16, [8, 8])
        >>> grammar.enumerate(max_items=10)
        Traceback (most recent call last):
        ...
        ValueError: enumerate() refuses p_max = 16 data: above max_items = 10 ...
        """
        return sampling.enumerate_data(self, max_items=max_items)

    def decode(self, y: ArrayLike, choices: ArrayLike) -> np.ndarray:
        """Build the tokens of the data with the given labels and production choices.

        ``choices`` is laid out top-down by blocks: block k holds the s**k nodes that use rules[k],
        left to right, starting at column (s**k - 1) // (s - 1) (see rhm_theory.core.sampling).

        Parameters
        ----------
        y : array_like of int, shape (P,)
            Labels in range(n_c).
        choices : array_like of int, shape (P, n_nodes)
            Production choices in range(m) (floats are refused, never truncated).

        Returns
        -------
        ndarray of int64, shape (P, d)
            The tokens.

        Raises
        ------
        ValueError
            If the shapes disagree or the entries are not integers in range.

        See Also
        --------
        parse : The inverse.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> x = grammar.decode([1], [[0, 0, 0]])
        >>> x.shape, np.array_equal(x, grammar.enumerate()[0][8:9])  # canonical index 1 * 2**3
        ((1, 4), True)
        """
        return sampling.decode(self, y, choices)

    def check_tokens(self, x: ArrayLike, name: str = "tokens") -> np.ndarray:
        """Check tokens and return them as an int64 array.

        Parameters
        ----------
        x : array_like of int, shape (P, d)
            Tokens in range(v).
        name : str, default "tokens"
            Name of ``x`` in the error message.

        Returns
        -------
        ndarray of int64, shape (P, d)
            ``x`` as int64.

        Raises
        ------
        ValueError
            Naming ``name``, if ``x`` is not (P, d) or its entries are not integers in range(v).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> grammar.check_tokens([[0, 1, 2, 3]]).dtype
        dtype('int64')
        >>> grammar.check_tokens([[0, 1, 2]], "x")
        Traceback (most recent call last):
        ...
        ValueError: x must have shape (P, d=4), got (1, 3)
        """
        return sampling.check_tokens(self, x, name)

    def parse(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Recover the labels and production choices of tokens: the inverse of :meth:`decode`.

        The grammar is unambiguous, so the derivation of a datum is unique.

        Parameters
        ----------
        x : array_like of int, shape (P, d)
            Tokens of data of the grammar.

        Returns
        -------
        y : ndarray of int64, shape (P,)
            Labels.
        choices : ndarray of int64, shape (P, n_nodes)
            Production choices, in the block layout of :meth:`decode`.

        Raises
        ------
        ValueError
            If ``x`` is not valid tokens (see :meth:`check_tokens`), or naming the first rows that are
            not data of the grammar.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> x, y = grammar.enumerate()
        >>> labels, choices = grammar.parse(x)
        >>> choices.shape, np.array_equal(labels, y), np.array_equal(grammar.decode(labels, choices), x)
        ((16, 3), True, True)
        """
        return sampling.parse(self, x)

    # ----- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The grammar as a JSON-ready dict.

        ``probs`` (and ``zipf``) are written only when present, so an unweighted grammar writes what it
        always did.

        Returns
        -------
        dict
            Fields ``format``, ``version``, ``v``, ``n_c``, ``m``, ``s``, ``L``, ``rules`` (nested lists),
            and ``probs`` when weighted, ``zipf`` when it has one.

        See Also
        --------
        from_dict : The inverse.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> list(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0).to_dict())
        ['format', 'version', 'v', 'n_c', 'm', 's', 'L', 'rules']
        >>> list(Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0).to_dict())[-2:]
        ['probs', 'zipf']
        """
        data = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            **self.params,
            "rules": [r.tolist() for r in self._rules],
        }
        if self.weighted:
            data["probs"] = [p.tolist() for p in self._probs]
        if self.zipf is not None:
            data["zipf"] = self.zipf
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Grammar:
        """Build a grammar from the dict of :meth:`to_dict`.

        Parameters
        ----------
        data : dict
            The dict, as :meth:`to_dict` writes it.

        Returns
        -------
        Grammar
            The grammar it describes.

        Raises
        ------
        ValueError
            Naming the first missing or ill-typed field, a wrong format or version, or parameters that
            disagree with the rules.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> Grammar.from_dict(grammar.to_dict()) == grammar
        True
        >>> Grammar.from_dict({"format": "rhm-grammar", "version": 1, "v": 4})
        Traceback (most recent call last):
        ...
        ValueError: grammar JSON lacks the field(s) n_c, m, s, L, rules
        """
        if not isinstance(data, dict):
            raise ValueError(f"an RHM grammar must be a JSON object, got {type(data).__name__}")
        if data.get("format") != JSON_FORMAT:
            raise ValueError(f"not an RHM grammar: format is {data.get('format')!r}, expected {JSON_FORMAT!r}")
        version = data.get("version")
        if isinstance(version, bool) or version != JSON_VERSION:
            raise ValueError(f"unsupported grammar version {version!r}, expected {JSON_VERSION}")
        missing = [k for k in ("v", "n_c", "m", "s", "L", "rules") if k not in data]
        if missing:
            raise ValueError(f"grammar JSON lacks the field(s) {', '.join(missing)}")
        if not isinstance(data["rules"], list):
            raise ValueError(
                f"grammar JSON field rules must be a list of L nested integer lists, got {type(data['rules']).__name__}"
            )
        stated = {k: check_int(k, data[k]) for k in ("v", "n_c", "m", "s", "L")}
        check_params(*stated.values())
        try:
            rules = [np.asarray(r) for r in data["rules"]]
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"grammar JSON rules must be rectangular integer arrays: {error}") from None
        grammar = cls(rules, stated["v"], data.get("probs"), zipf=data.get("zipf"))
        if stated != grammar.params:
            raise ValueError(f"grammar JSON parameters {stated} disagree with its rules {grammar.params}")
        return grammar

    def to_json(self) -> str:
        """The grammar as compact JSON text (the dict of :meth:`to_dict`).

        Returns
        -------
        str
            JSON text without spaces.

        See Also
        --------
        from_json : The inverse.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0).to_json()
        '{"format":"rhm-grammar","version":1,"v":4,"n_c":2,"m":2,"s":2,"L":2,"rules":[...]}'
        """
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Grammar:
        """Build a grammar from the text of :meth:`to_json`.

        Parameters
        ----------
        text : str
            JSON text of a grammar.

        Returns
        -------
        Grammar
            The grammar it describes.

        Raises
        ------
        ValueError
            If ``text`` is not valid JSON, or not the JSON of a grammar (see :meth:`from_dict`).

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)
        >>> Grammar.from_json(grammar.to_json()) == grammar
        True
        >>> Grammar.from_json("not json")
        Traceback (most recent call last):
        ...
        ValueError: grammar JSON is not valid JSON text: ...
        """
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"grammar JSON is not valid JSON text: {error}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> None:
        """Write the grammar to a file as the JSON text of :meth:`to_json`.

        Parameters
        ----------
        path : str or os.PathLike
            File to write (overwritten).

        Raises
        ------
        OSError
            If the file cannot be written.

        See Also
        --------
        load : The inverse.

        Examples
        --------
        >>> import os, tempfile
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     grammar.save(os.path.join(folder, "grammar.json"))
        ...     Grammar.load(os.path.join(folder, "grammar.json")) == grammar
        True
        """
        with open(path, "w") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Grammar:
        """Read a grammar from a file written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            File holding the JSON text of a grammar.

        Returns
        -------
        Grammar
            The grammar it describes.

        Raises
        ------
        OSError
            If the file cannot be read.
        ValueError
            If the file is not the JSON of a grammar (see :meth:`from_json`).

        Examples
        --------
        >>> import os, tempfile
        >>> from rhm_theory.core.grammar import Grammar
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "grammar.json")
        ...     Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0).save(path)
        ...     Grammar.load(path)
        Grammar(v=4, n_c=2, m=2, s=2, L=2)
        """
        with open(path) as f:
            return cls.from_json(f.read())

    # ----- networkx (implemented in rhm_theory.core.graphs) -------------------------------------------
    def to_networkx(self) -> nx.MultiDiGraph:
        """The rules as a networkx MultiDiGraph, which round-trips exactly.

        Nodes are the classes, the symbols of levels 1..L and the productions; edges go from each owner
        to its productions (attribute ``prob``) and from each production to its s children (key = slot).
        The layout is in rhm_theory.core.graphs.

        Returns
        -------
        networkx.MultiDiGraph
            The graph, with graph attributes v, n_c, m, s, L (and zipf when the grammar has one).

        See Also
        --------
        rhm_theory.core.graphs.grammar_to_networkx : The implementation.
        from_networkx : The inverse.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> graph = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0).to_networkx()
        >>> graph.number_of_nodes()  # n_c + L v symbols + (n_c + (L-1) v) m = 2 + 8 + 12 productions
        22
        >>> graph.number_of_edges()  # 12 owner -> production + 12 s production -> child
        36
        """
        return graphs.grammar_to_networkx(self)

    @classmethod
    def from_networkx(cls, graph: nx.MultiDiGraph) -> Grammar:
        """Build a grammar from a graph made by :meth:`to_networkx`.

        The probabilities are read from the edges' ``prob`` attributes (1/m when no edge has one).

        Parameters
        ----------
        graph : networkx.MultiDiGraph
            The graph, in the layout of rhm_theory.core.graphs.

        Returns
        -------
        Grammar
            The grammar it describes.

        Raises
        ------
        ValueError
            If a graph or node attribute is missing or out of range, the graph does not describe full
            rules, gives only some productions a probability, or describes an invalid grammar.

        See Also
        --------
        rhm_theory.core.graphs.rules_from_networkx : Reads the rules.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)
        >>> Grammar.from_networkx(grammar.to_networkx()) == grammar
        True
        """
        rules, v, probs = graphs.rules_from_networkx(graph)
        return cls(rules, v, probs, zipf=graph.graph.get("zipf"))

    def derivation_tree(self, x: ArrayLike) -> nx.DiGraph:
        """The derivation tree of the hidden symbols of one datum.

        Nodes are (level, position) for levels 1..L+1 (level L+1, position 0 is the class), with
        attributes level, position, symbol, and for internal nodes production (the index j of the rule
        used); edges parent -> child carry the slot.

        Parameters
        ----------
        x : array_like of int, shape (d,)
            Tokens of one datum of the grammar.

        Returns
        -------
        networkx.DiGraph
            The tree, n_nodes + d nodes.

        Raises
        ------
        ValueError
            If ``x`` does not have shape (d,) or is not a datum of the grammar.

        See Also
        --------
        rhm_theory.core.graphs.derivation_tree : The implementation.

        Examples
        --------
        >>> from rhm_theory.core.grammar import Grammar
        >>> grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
        >>> x, y = grammar.enumerate()
        >>> tree = grammar.derivation_tree(x[9])
        >>> tree.number_of_nodes(), tree.number_of_edges()  # n_nodes + d = 3 + 4 nodes
        (7, 6)
        >>> tree.nodes[(3, 0)]["symbol"]  # the class of canonical index 9: 9 // m**n_nodes
        1
        """
        return graphs.derivation_tree(self, x)


def _check_zipf_rows(probs: list[np.ndarray], m: int, zipf: float) -> float:
    """``zipf`` if every row of ``probs`` is a permutation of the power-law weights of exponent zipf, else ValueError."""
    weights = rule_probs.zipf_weights(m, zipf)
    for k, p in enumerate(probs):
        bad = ~(np.sort(p, axis=1)[:, ::-1] == weights).all(axis=1)
        if bad.any():
            a = int(np.argmax(bad))
            raise ValueError(
                f"probs[{k}][{a}] = {shown(p[a].tolist())} (symbol {a} in rules[{k}]) is not a permutation "
                f"of the zipf = {zipf} weights {shown(weights.tolist())}"
            )
    return zipf


def _as_int_array(r: ArrayLike, k: int) -> np.ndarray:
    a = np.asarray(r)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"rules[{k}] must be an integer array, got dtype {a.dtype}")
    return a.astype(np.int64)
