"""The uncorrelated RHM: balanced productions, checked directly on the rules, against the foundation's
exact statistics, and against brute-force enumeration of all data."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from strategies import examples

from rhm_theory import Grammar
from rhm_theory.core.rules import tuples_to_codes
from rhm_theory.synonyms.uncorrelated import balanced_block, uncorrelated_grammar
from rhm_theory.theory.exact import class_token_probs, class_tuple_probs


@st.composite
def uncorrelated_settings(draw, min_L=1):
    """(v, n_c, m, s, L) with m a multiple of v and the grammar feasible."""
    s = draw(st.integers(2, 3))
    v = draw(st.integers(2, 3))
    L = draw(st.integers(min_L, 3))
    m_max = v ** (s - 1) if L >= 2 else v**s
    m = v * draw(st.integers(1, m_max // v))
    n_c = draw(st.integers(1, min(v**s // m, 4)))
    return v, n_c, m, s, L


@settings(max_examples=examples(25), deadline=None)
@given(params=uncorrelated_settings(), seed=st.integers(0, 2**16))
def test_every_parent_has_every_child_equally_often_at_every_slot(params, seed):
    v, n_c, m, s, L = params
    grammar = uncorrelated_grammar(v, n_c, m, s, L, seed)
    assert grammar.params == {"v": v, "n_c": n_c, "m": m, "s": s, "L": L}
    for rules in grammar.rules:
        for productions in rules:  # (m, s) of one parent
            for slot in range(s):
                assert np.bincount(productions[:, slot], minlength=v).tolist() == [m // v] * v


@settings(max_examples=examples(25), deadline=None)
@given(params=uncorrelated_settings(), seed=st.integers(0, 2**16))
def test_exact_class_token_probabilities_are_uniform_at_every_position(params, seed):
    grammar = uncorrelated_grammar(*params, seed)
    for position in range(grammar.d):
        probs = class_token_probs(grammar, position, exact=True)
        assert (probs == Fraction(1, grammar.v)).all()


@settings(max_examples=examples(25), deadline=None)
@given(params=uncorrelated_settings(min_L=2), seed=st.integers(0, 2**16))
def test_exact_tuple_probabilities_do_not_depend_on_the_class_for_L_above_1(params, seed):
    grammar = uncorrelated_grammar(*params, seed)  # (for L = 1 the patch is the class's own tuple)
    for patch in range(grammar.d // grammar.s):
        probs = class_tuple_probs(grammar, patch, exact=True)
        assert (probs == probs[0]).all()


@pytest.mark.parametrize("params", [(2, 2, 2, 2, 3), (3, 3, 3, 2, 2), (2, 1, 4, 3, 2)])
def test_enumerated_data_have_uniform_class_token_frequencies(params):
    grammar = uncorrelated_grammar(*params, seed=7)
    x, y = grammar.enumerate()
    for alpha in range(grammar.n_c):
        per_position = np.stack([np.bincount(column, minlength=grammar.v) for column in x[y == alpha].T])
        assert (per_position == per_position[0, 0]).all()


def test_a_random_grammar_is_correlated_so_the_uniformity_check_can_fail():
    grammar = Grammar.random(4, 4, 2, 2, 2, seed=0)
    assert any((class_token_probs(grammar, j, exact=True) != Fraction(1, 4)).any() for j in range(grammar.d))


@settings(max_examples=examples(20), deadline=None)
@given(v=st.integers(1, 5), s=st.integers(1, 4), data=st.data())
def test_balanced_blocks_partition_all_tuples(v, s, data):
    blocks = [balanced_block(code, v, s) for code in range(v ** (s - 1))]
    codes = np.sort(np.concatenate([tuples_to_codes(b, v) for b in blocks]))
    assert codes.tolist() == list(range(v**s))
    block = blocks[data.draw(st.integers(0, len(blocks) - 1))]
    assert all(sorted(block[:, slot]) == list(range(v)) for slot in range(s))


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError, match="multiple of v"):
        uncorrelated_grammar(4, 2, 6, 3, 2, seed=0)
    with pytest.raises(ValueError, match="infeasible"):
        uncorrelated_grammar(2, 4, 2, 2, 1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        uncorrelated_grammar(2, 1, 2, 2, 2, seed=None)
