"""Exact class-token statistics against counts over the full enumeration (independent computation)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings as hsettings
from strategies import examples, grammars

from rhm_theory import Grammar, exact
from rhm_theory.core.rules import tuples_to_codes


def _frequencies(keys, y, n_c, n_keys):
    """P(key | class) as Fractions, counted over all data."""
    out = np.empty((n_c, n_keys), dtype=object)
    for alpha in range(n_c):
        counts = np.bincount(keys[y == alpha], minlength=n_keys)
        out[alpha] = [Fraction(int(c), int((y == alpha).sum())) for c in counts]
    return out


def _hidden_symbols(grammar, x, level):
    """Symbols of every node of ``level`` (2..L+1) of each datum, by parsing bottom-up."""
    symbols = x
    for k in range(grammar.L - 1, grammar.L - level, -1):
        sorted_codes, production = grammar.tuple_lookup[k]
        codes = tuples_to_codes(symbols.reshape(x.shape[0], -1, grammar.s), grammar.v)
        symbols = production[np.searchsorted(sorted_codes, codes)] // grammar.m
    return symbols


@given(grammars(max_p_max=3000))
@hsettings(max_examples=examples(30), deadline=None)
def test_class_token_probs_equal_enumeration_frequencies_exactly(grammar):
    x, y = grammar.enumerate()
    for level in range(1, grammar.L + 1):
        symbols = _hidden_symbols(grammar, x, level)
        every = exact.class_token_probs_all(grammar, level=level)
        for position in range(symbols.shape[1]):
            expected = _frequencies(symbols[:, position], y, grammar.n_c, grammar.v)
            probs = exact.class_token_probs(grammar, position, level=level, exact=True)
            assert np.array_equal(probs, expected)
            assert (
                np.abs(exact.class_token_probs(grammar, position, level=level) - expected.astype(float)).max() < 1e-12
            )
            assert np.abs(every[position] - expected.astype(float)).max() < 1e-12


@given(grammars(max_p_max=3000))
@hsettings(max_examples=examples(30), deadline=None)
def test_tuple_probs_and_correlations_equal_enumeration(grammar):
    x, y = grammar.enumerate()
    n_tuples = grammar.v**grammar.s
    for patch in range(grammar.s ** (grammar.L - 1)):
        codes = tuples_to_codes(x[:, patch * grammar.s : (patch + 1) * grammar.s], grammar.v)
        expected = _frequencies(codes, y, grammar.n_c, n_tuples)
        assert np.array_equal(exact.class_tuple_probs(grammar, patch, exact=True), expected)
        correlations = exact.tuple_correlations(grammar, patch)
        empirical = exact.empirical_tuple_correlations(x, y, v=grammar.v, n_c=grammar.n_c, s=grammar.s, patch=patch)
        assert np.array_equal(correlations.mask, empirical.mask)
        assert np.abs(correlations.filled(0) - empirical.filled(0)).max() < 1e-12


@given(grammars(max_p_max=3000))
@hsettings(max_examples=examples(30), deadline=None)
def test_token_correlations_mask_never_occurring_tokens_and_match_enumeration(grammar):
    x, y = grammar.enumerate()
    for position in range(grammar.d):
        correlations = exact.correlations(grammar, position)
        occurs = np.bincount(x[:, position], minlength=grammar.v) > 0
        assert np.array_equal(correlations.mask.any(axis=0), ~occurs)
        assert not np.isnan(correlations.data).any()
        assert np.allclose(correlations.sum(axis=0)[occurs], 1.0)
        empirical = exact.empirical_correlations(x, y, v=grammar.v, n_c=grammar.n_c, position=position)
        assert np.abs(correlations.filled(0) - empirical.filled(0)).max() < 1e-12
        exact_fractions = exact.correlations(grammar, position, exact=True)
        assert np.allclose(exact_fractions.filled(Fraction(0)).astype(float), correlations.filled(0), atol=1e-15)
        probs = exact.empirical_class_token_probs(x, y, v=grammar.v, n_c=grammar.n_c, position=position)
        assert np.abs(probs - exact.class_token_probs(grammar, position)).max() < 1e-12


def test_synonymous_tuples_share_their_correlation_vector():
    grammar = Grammar.random(8, 8, 4, 2, 3, seed=1)
    correlations = exact.tuple_correlations(grammar, patch=0)
    rules = grammar.rules[-1]
    for owner in range(grammar.v):
        columns = correlations[:, tuples_to_codes(rules[owner], grammar.v)]
        assert np.allclose(columns, columns[:, :1])


def test_probabilities_are_stochastic_for_a_large_grammar():
    grammar = Grammar.random(32, 32, 8, 2, 6, seed=0)
    every = exact.class_token_probs_all(grammar)
    assert every.shape == (64, 32, 32)
    assert np.allclose(every.sum(axis=2), 1.0)


def test_bad_positions_are_errors():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"position must be in range\(4\) at level 1, got 4"):
        exact.class_token_probs(grammar, 4)
    with pytest.raises(ValueError, match=r"level must be in 1..L=2"):
        exact.class_token_probs(grammar, 0, level=3)
    with pytest.raises(ValueError, match=r"patch must be in range\(s\*\*\(L-1\) = 2\), got 2"):
        exact.class_tuple_probs(grammar, 2)
    with pytest.raises(ValueError, match=r"labels must be in range\(n_c=2\)"):
        exact.empirical_correlations(np.zeros((3, 4), int), np.array([0, 1, 2]), v=4, n_c=2, position=0)


def test_empirical_estimators_refuse_tokens_and_keys_out_of_range():
    # Unchecked, token 7 with v = 4 would be counted under another tuple's code, and key 3 of n_keys = 3
    # under the next label's row: silently wrong counts.
    x = np.array([[0, 7], [1, 1]])
    y = np.array([0, 1])
    with pytest.raises(ValueError, match=r"tokens must be in range\(v=4\)"):
        exact.empirical_tuple_correlations(x, y, v=4, n_c=2, s=2, patch=0)
    with pytest.raises(ValueError, match=r"keys must be in range\(n_keys=3\)"):
        exact.joint_counts(np.array([0, 3]), y, n_c=2, n_keys=3)
    assert exact.joint_counts(np.array([0, 2]), y, n_c=2, n_keys=3).tolist() == [[1, 0, 0], [0, 0, 1]]


def test_cached_bp_matrices_are_read_only():
    from rhm_theory.theory import bp

    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    weighted = Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1.0)
    shared = [bp.production_average(4, 2), bp.production_weights(weighted, 1), *bp.slot_selections(grammar, 0)]
    for array in shared:
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 5.0
