"""Synonymic exchange P_l and sensitivity S_{k,l}, checked against hidden symbols recomputed here by a
plain dictionary parse (independent of rhm_theory.core.sampling.parse)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from strategies import examples, grammars

from rhm_theory import Grammar
from rhm_theory.learning.models import build_model
from rhm_theory.learning.sensitivity import exchanged_columns, synonymic_exchange, synonymic_sensitivity


def hidden_symbols(grammar, x):
    """Symbols of every level of tokens x (P, d) by looking patches up in a dict of the rules:
    {1: x, 2: (P, d/s), ..., L: (P, s), L + 1: class (P, 1)}."""
    symbols = {1: np.asarray(x)}
    for level in range(2, grammar.L + 2):
        rules = grammar.rules[grammar.L - level + 1]
        owner_of = {tuple(t): owner for owner in range(rules.shape[0]) for t in rules[owner]}
        below = symbols[level - 1]
        patches = below.reshape(below.shape[0], -1, grammar.s)
        symbols[level] = np.array([[owner_of[tuple(p)] for p in row] for row in patches])
    return symbols


@settings(max_examples=examples(40), deadline=None)
@given(grammar=grammars(max_p_max=2000, min_m=2), level_choice=st.integers(0, 10), seed=st.integers(0, 2**16))
def test_exchange_keeps_class_and_symbols_above_level_and_changes_those_at_it(grammar, level_choice, seed):
    """m >= 2 (with m = 1 the exchange is the identity and the property is empty)."""
    level = 1 + level_choice % grammar.L
    x, _ = grammar.sample(30, seed, replace=True)
    exchanged = synonymic_exchange(grammar, x, level, seed + 1)
    before, after = hidden_symbols(grammar, x), hidden_symbols(grammar, exchanged)
    for kept in range(level + 1, grammar.L + 2):  # class and every symbol above level `level`
        np.testing.assert_array_equal(before[kept], after[kept])
    # the other direction: every level-`level` tuple (>= 1 per datum, 30 data) is re-drawn among its m
    # synonyms and stays the same with probability 1/m <= 1/2, so some change (none: p <= 2**-30)
    assert not np.array_equal(before[level], after[level])
    # choices of the kept blocks are identical; only the exchanged columns may differ
    _, choices = grammar.parse(x)
    _, new_choices = grammar.parse(exchanged)
    keep = np.ones(grammar.n_nodes, dtype=bool)
    keep[exchanged_columns(grammar, level)] = False
    np.testing.assert_array_equal(choices[:, keep], new_choices[:, keep])


def test_exchanged_columns_are_redrawn_uniformly():
    grammar = Grammar.random(v=4, n_c=4, m=3, s=2, L=3, seed=5)
    x, _ = grammar.sample(3000, seed=1, replace=True)
    for level, n_redrawn in [(1, 4), (2, 6), (3, 7)]:  # blocks of sizes 1, 2, 4 from the bottom up
        _, choices = grammar.parse(x)
        _, new_choices = grammar.parse(synonymic_exchange(grammar, x, level, seed=level))
        changed = (choices != new_choices).mean(axis=0)
        assert np.all(changed[: grammar.n_nodes - n_redrawn] == 0)
        # a re-drawn production differs from the old one with probability (m - 1)/m = 2/3
        np.testing.assert_allclose(changed[grammar.n_nodes - n_redrawn :], 2 / 3, atol=0.04)
        # the re-drawn choices are uniform over the m productions
        counts = np.bincount(new_choices[:, grammar.n_nodes - n_redrawn :].ravel(), minlength=3) / (3000 * n_redrawn)
        np.testing.assert_allclose(counts, 1 / 3, atol=0.02)


def test_exchange_at_the_top_level_keeps_only_the_class():
    grammar = Grammar.random(v=3, n_c=2, m=3, s=2, L=2, seed=0)
    x, y = grammar.enumerate()
    exchanged = synonymic_exchange(grammar, np.repeat(x[:1], 4000, axis=0), level=2, seed=0)
    # every datum of the class of x[0] appears, uniformly: m**n_nodes = 27 of them
    assert set(grammar.parse(exchanged)[0]) == {y[0]}
    _, counts = np.unique(exchanged, axis=0, return_counts=True)
    assert counts.size == 27
    assert counts.min() > 4000 / 27 / 2


class SymbolOracle(torch.nn.Module):
    """A 'network' whose hidden layer k outputs the one-hot of the level-(k+1) symbols (k = 1..L)."""

    def __init__(self, grammar):
        super().__init__()
        self.grammar = grammar

    def hidden_layers(self, one_hot):
        symbols = hidden_symbols(self.grammar, one_hot.argmax(dim=1).numpy())
        return [
            torch.nn.functional.one_hot(
                torch.as_tensor(symbols[k + 1]), self.grammar.v if k < self.grammar.L else self.grammar.n_c
            ).float()
            for k in range(1, self.grammar.L + 1)
        ]


def test_sensitivity_of_the_symbol_oracle_vanishes_exactly_above_the_exchanged_level():
    grammar = Grammar.random(v=4, n_c=4, m=2, s=2, L=3, seed=3)
    x, _ = grammar.sample(400, seed=0)
    S = synonymic_sensitivity(SymbolOracle(grammar), grammar, x, seed=1)
    assert S.shape == (3, 3)
    k, l = np.meshgrid(np.arange(1, 4), np.arange(1, 4), indexing="ij")
    assert np.all(S[k >= l] == 0)  # layer k holds level-(k+1) symbols, kept by P_l for l <= k
    assert np.all(S[k < l] > 0.2)


def test_sensitivity_of_a_cnn_is_finite_and_restores_training_mode():
    grammar = Grammar.random(v=4, n_c=4, m=3, s=2, L=2, seed=0)
    model = build_model("cnn", v=4, n_c=4, s=2, L=2, width=16, seed=0)
    model.train()
    x, _ = grammar.sample(64, seed=0)
    S = synonymic_sensitivity(model, grammar, x, seed=0, batch_size=10)
    assert S.shape == (2, 2)
    assert np.all(np.isfinite(S))
    assert np.all(S >= 0)
    assert model.training
    np.testing.assert_array_equal(S, synonymic_sensitivity(model, grammar, x, seed=0, batch_size=64))


class Constant(torch.nn.Module):
    def hidden_layers(self, one_hot):
        return [torch.ones(one_hot.shape[0], 3)]


def test_constant_layer_gives_nan():
    grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)
    x, _ = grammar.sample(10, seed=0)
    assert np.isnan(synonymic_sensitivity(Constant(), grammar, x, seed=0)).all()


def test_bad_input():
    grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)
    x, _ = grammar.sample(10, seed=0)
    for level in (0, 3):
        with pytest.raises(ValueError, match=f"level must be .*got {level}"):
            synonymic_exchange(grammar, x, level, seed=0)
    with pytest.raises(ValueError, match="not data of this grammar"):
        synonymic_exchange(grammar, (x + 1) % 3, 1, seed=0)
    with pytest.raises(ValueError, match="P >= 2"):
        synonymic_sensitivity(Constant(), grammar, x[:1], seed=0)
    with pytest.raises(ValueError, match="seed must be given"):
        synonymic_exchange(grammar, x, 1, seed=None)
