"""The layer-wise clustering algorithm: on all data it recovers the hidden symbols of the grammar up to
relabelling (checked against the foundation's parse) and classifies perfectly; with a handful of
training data it is at chance on held-out data."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from strategies import examples

from rhm_theory import Grammar
from rhm_theory.synonyms.layerwise import UNKNOWN, fit_layerwise, layerwise_error_curve, reduce_patches


def is_relabelling(a, b) -> bool:
    """True when equal values of a are exactly equal values of b (a bijection between the labels)."""
    pairs = set(zip(a.ravel().tolist(), b.ravel().tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


@pytest.mark.parametrize("params", [(8, 8, 2, 2, 3), (6, 6, 3, 2, 2), (4, 4, 4, 3, 2)])
def test_all_data_recover_the_hidden_symbols_and_the_class(params):
    grammar = Grammar.random(*params, seed=3)
    x, y = grammar.enumerate()
    classifier = fit_layerwise(x, y, v=grammar.v, n_c=grammar.n_c, s=grammar.s, seed=0)
    np.testing.assert_array_equal(classifier.predict(x), y)
    # the level-2 clusters are the true level-2 symbols, relabelled: parse each patch on its own
    patches = x.reshape(-1, grammar.s)
    level_2 = Grammar.from_rules([grammar.rules[-1]], grammar.v).parse(patches)[0]  # one-level grammar
    clusters = reduce_patches(x, classifier.cluster_maps[0], grammar.v, grammar.s).ravel()
    assert is_relabelling(clusters, level_2)


def test_a_handful_of_data_leaves_the_algorithm_at_chance():
    errors = [layerwise_error_curve(Grammar.random(8, 8, 4, 2, 3, seed=s), [8], 500, seed=s)[0] for s in range(5)]
    assert np.mean(errors) > 0.8  # chance: 1 - 1/8


@settings(max_examples=examples(20), deadline=None)
@given(v=st.integers(2, 4), s=st.integers(2, 3), data=st.data())
def test_unknown_symbols_propagate_and_known_patches_use_the_table(v, s, data):
    table = np.array(data.draw(st.lists(st.integers(-1, v - 1), min_size=v**s, max_size=v**s)))
    symbols = np.array(
        data.draw(st.lists(st.lists(st.integers(-1, v - 1), min_size=2 * s, max_size=2 * s), min_size=1, max_size=4))
    )
    reduced = reduce_patches(symbols, table, v, s)
    for i, row in enumerate(symbols):
        for j in range(2):
            patch = row[j * s : (j + 1) * s]
            expected = UNKNOWN if (patch == UNKNOWN).any() else table[int("".join(map(str, patch)), v)]
            assert reduced[i, j] == expected


def test_bad_inputs_raise():
    x = np.zeros((2, 6), dtype=int)
    with pytest.raises(ValueError, match="power of s"):
        fit_layerwise(x, np.zeros(2, dtype=int), v=2, n_c=2, s=4, seed=0)
    with pytest.raises(ValueError, match="s must be >= 2"):
        fit_layerwise(x, np.zeros(2, dtype=int), v=2, n_c=2, s=1, seed=0)
    classifier = fit_layerwise(np.zeros((2, 4), dtype=int), np.zeros(2, dtype=int), v=2, n_c=2, s=2, seed=0)
    with pytest.raises(ValueError, match="shape"):
        classifier.predict(x)
