"""Grammaticality of token strings: how far up the hierarchy each string parses (a validity profile).

A string parses to level l when every patch of s tokens is a production of rules[L-1], every patch
of the resulting level-2 symbols a production of rules[L-2], ..., up to the level-l symbols (the
grammar is unambiguous, so each patch has at most one owner). Level L + 1 (the class) is reached
exactly by the data of the grammar. Use it to score samples of a generative model trained on RHM data.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sampling import check_tokens


def parsed_levels(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """Highest level each string parses to, int array (P,) in 1..L+1 (1: not even the bottom patches;
    L + 1: a datum of the grammar)."""
    x = check_tokens(grammar, x)
    P, s = x.shape[0], grammar.s
    reached = np.ones(P, dtype=np.int64)
    alive = np.ones(P, dtype=bool)
    symbols = x
    for level, k in enumerate(range(grammar.L - 1, -1, -1), start=2):
        production, found = grammar.find_productions(k, symbols.reshape(P, symbols.shape[1] // s, s))
        alive &= found.all(axis=1)
        reached[alive] = level
        symbols = np.where(alive[:, None], production // grammar.m, 0)
    return reached


def validity_profile(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """Fraction of the strings that parse at least to level l, for l = 2..L+1: array (L,).

    Entry 0: the bottom patches are all productions; entry L - 1: the string is a datum.
    """
    reached = parsed_levels(grammar, x)
    return np.array([(reached >= level).mean() for level in range(2, grammar.L + 2)])


def level_symbols(grammar: Grammar, x: ArrayLike) -> list[np.ndarray]:
    """The symbols of every level of data x (P, d), bottom-up: [tokens (P, d), level 2 (P, d/s), ...,
    level L (P, s), class (P, 1)]. Raises ValueError if a row is not a datum of the grammar."""
    x = check_tokens(grammar, x)
    if (parsed_levels(grammar, x) <= grammar.L).any():
        bad = np.flatnonzero(parsed_levels(grammar, x) <= grammar.L)
        raise ValueError(
            f"{bad.size} of {x.shape[0]} strings are not data of this grammar (rows {bad[:5].tolist()}...)"
        )
    levels = [x]
    for k in range(grammar.L - 1, -1, -1):
        production, _ = grammar.find_productions(k, levels[-1].reshape(x.shape[0], -1, grammar.s))
        levels.append(production // grammar.m)
    return levels
