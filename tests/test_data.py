"""Sampling, enumeration, decoding and parsing of data."""

import math

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from strategies import examples, grammars

from rhm_theory import Grammar
from rhm_theory.core.sampling import data_to_indices, indices_to_data


def _rows(x):
    return {row.tobytes() for row in np.ascontiguousarray(x)}


@given(grammars())
@hsettings(max_examples=examples(40), deadline=None)
def test_enumerate_yields_exactly_p_max_distinct_data_that_parse(grammar):
    x, y = grammar.enumerate()
    assert x.shape == (grammar.p_max, grammar.d)
    assert y.shape == (grammar.p_max,)
    assert len(_rows(x)) == grammar.p_max
    assert np.bincount(y, minlength=grammar.n_c).tolist() == [grammar.p_max // grammar.n_c] * grammar.n_c
    labels, choices = grammar.parse(x)
    assert np.array_equal(labels, y)
    assert np.array_equal(grammar.decode(labels, choices), x)
    assert np.array_equal(data_to_indices(grammar, x), np.arange(grammar.p_max))


@given(grammars(), st.integers(0, 2**32 - 1), st.floats(0, 1))
@hsettings(max_examples=examples(40), deadline=None)
def test_sample_without_replacement_is_distinct_valid_and_reproducible(grammar, seed, fraction):
    P = int(fraction * grammar.p_max)
    x, y = grammar.sample(P, seed=seed)
    assert x.shape == (P, grammar.d)
    assert x.dtype == np.int64
    assert y.shape == (P,)
    assert len(_rows(x)) == P
    labels, _ = grammar.parse(x)  # every sample is a datum of the grammar, with its own label
    assert np.array_equal(labels, y)
    x2, y2 = grammar.sample(P, seed=seed)
    assert x.tobytes() == x2.tobytes()
    assert y.tobytes() == y2.tobytes()


def test_sample_all_p_max_without_replacement_gives_every_datum_once():
    grammar = Grammar.random(3, 3, 2, 2, 2, seed=0)
    x, _ = grammar.sample(grammar.p_max, seed=4)
    assert sorted(data_to_indices(grammar, x).tolist()) == list(range(grammar.p_max))


def test_sampling_beyond_int64_p_max_is_distinct_and_valid():
    grammar = Grammar.random(8, 8, 8, 2, 6, seed=0)
    assert grammar.p_max > 2**63
    x, y = grammar.sample(20_000, seed=1)
    assert x.shape == (20_000, 64)
    assert len(_rows(x)) == 20_000
    assert np.array_equal(grammar.parse(x)[0], y)
    x2, _ = grammar.sample(20_000, seed=1)
    assert x.tobytes() == x2.tobytes()


def test_sampling_beyond_int64_p_max_removes_repeats(monkeypatch):
    # force the digit-wise path on a tiny grammar, where repeats are frequent
    import rhm_theory.core.sampling as data

    grammar = Grammar.random(3, 2, 2, 2, 2, seed=0)  # p_max = 16
    monkeypatch.setattr(data, "SINGLE_INDEX_LIMIT", 1)
    x, _y = grammar.sample(grammar.p_max, seed=0)
    assert len(_rows(x)) == grammar.p_max


def test_uniform_sampling_chi_square():
    grammar = Grammar.random(3, 3, 2, 2, 2, seed=7)  # p_max = 24
    counts = np.bincount(data_to_indices(grammar, grammar.sample(24_000, seed=3, replace=True)[0]), minlength=24)
    chi2 = float(((counts - 1000) ** 2 / 1000).sum())
    assert chi2 < 49.7  # 99.9% quantile of chi-square with 23 degrees of freedom
    inclusion = np.zeros(24)
    rng = np.random.default_rng(0)
    for _ in range(3000):
        inclusion += np.bincount(data_to_indices(grammar, grammar.sample(6, seed=rng)[0]), minlength=24)
    expected = 3000 * 6 / 24
    chi2 = float(((inclusion - expected) ** 2 / (expected * (1 - 6 / 24))).sum())
    assert chi2 < 49.7


def test_train_test_split_is_disjoint_and_of_the_asked_sizes():
    grammar = Grammar.random(4, 4, 3, 2, 3, seed=0)
    (x_tr, y_tr), (x_te, y_te) = grammar.sample_train_test(500, 200, seed=1)
    assert x_tr.shape == (500, 8)
    assert x_te.shape == (200, 8)
    assert y_tr.shape == (500,)
    assert y_te.shape == (200,)
    assert not _rows(x_tr) & _rows(x_te)


def test_indices_and_data_are_inverse():
    grammar = Grammar.random(5, 3, 3, 2, 2, seed=2)
    indices = np.random.default_rng(0).integers(0, grammar.p_max, 100)
    x, y = indices_to_data(grammar, indices)
    assert np.array_equal(data_to_indices(grammar, x), indices)
    assert np.array_equal(y, indices // grammar.m**grammar.n_nodes)


def test_with_replacement_is_iid_and_may_repeat():
    grammar = Grammar.random(2, 2, 1, 2, 2, seed=0)  # p_max = 2
    x, _y = grammar.sample(50, seed=0, replace=True)
    assert x.shape == (50, 4)
    assert len(_rows(x)) == 2


# ----- bad input --------------------------------------------------------------------------------
def test_more_than_p_max_without_replacement_is_an_error():
    grammar = Grammar.random(3, 2, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"P = 17 .* p_max = 16"):
        grammar.sample(17, seed=0)
    x, _ = grammar.sample(17, seed=0, replace=True)  # allowed with replacement, never a silent switch
    assert x.shape == (17, 4)
    with pytest.raises(ValueError, match=r"exceeds p_max = 16"):
        grammar.sample_train_test(10, 7, seed=0)


def test_bad_P_and_seed_are_errors():
    grammar = Grammar.random(3, 2, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match="P must be >= 0, got -1"):
        grammar.sample(-1, seed=0)
    with pytest.raises(ValueError, match="P must be an integer"):
        grammar.sample(2.5, seed=0)
    with pytest.raises(ValueError, match="seed must be given"):
        grammar.sample(3, seed=None)


def test_enumerate_of_a_huge_grammar_is_refused_unless_the_limit_is_raised():
    grammar = Grammar.random(8, 8, 4, 2, 3, seed=0)  # p_max = 131072
    with pytest.raises(ValueError, match=r"p_max = 131072 .* max_items = 1000"):
        grammar.enumerate(max_items=1000)
    x, _ = grammar.enumerate(max_items=200_000)
    assert x.shape[0] == 131072
    huge = Grammar.random(8, 8, 8, 2, 6, seed=0)
    with pytest.raises(ValueError, match=f"p_max = {huge.p_max}"):
        huge.enumerate()


def test_parse_rejects_tokens_that_are_not_data():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    x, _ = grammar.enumerate()
    seen = _rows(x)
    outsider = next(np.array(t) for t in np.ndindex(*(4,) * 4) if np.array(t, dtype=np.int64).tobytes() not in seen)
    with pytest.raises(ValueError, match=r"1 of 1 inputs are not data"):
        grammar.parse(outsider[None, :])
    with pytest.raises(ValueError, match=r"range\(v=4\)"):
        grammar.parse(np.full((1, 4), 7))


def test_p_max_is_exact_for_huge_grammars():
    grammar = Grammar.random(32, 32, 32, 2, 8, seed=0)
    assert grammar.p_max == 32 * 32**255
    assert math.log2(grammar.p_max) == 5 + 5 * 255
