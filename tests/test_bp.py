"""Belief propagation against the brute-force posterior over the full enumeration."""

import math

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from strategies import grammars

from rhm_theory import Grammar, bp


def brute_force(x, y, n_c, likelihoods):
    weights = np.prod(likelihoods[:, np.arange(x.shape[1])[None, :], x], axis=2)  # (Q, p_max)
    joint = np.stack([weights[:, y == alpha].sum(axis=1) for alpha in range(n_c)], axis=1)
    return joint / joint.sum(axis=1, keepdims=True), np.log(weights.mean(axis=1))


@given(grammars(max_p_max=2000), st.integers(0, 2**32 - 1))
@hsettings(max_examples=40, deadline=None)
def test_posterior_equals_brute_force_on_noisy_inputs(grammar, seed):
    x, y = grammar.enumerate()
    rng = np.random.default_rng(seed)
    likelihoods = rng.random((8, grammar.d, grammar.v)) ** 2 + 1e-3
    expected, evidence = brute_force(x, y, grammar.n_c, likelihoods)
    assert np.abs(bp.posterior(grammar, likelihoods) - expected).max() <= 1e-10
    assert np.allclose(bp.log_evidence(grammar, likelihoods), evidence, rtol=1e-10)


@given(grammars(max_p_max=2000))
@hsettings(max_examples=40, deadline=None)
def test_clean_data_get_probability_one_on_their_class(grammar):
    x, y = grammar.enumerate()
    post = bp.posterior(grammar, x)
    assert np.abs(post[np.arange(y.size), y] - 1.0).max() <= 1e-12
    assert np.allclose(bp.log_evidence(grammar, x), -math.log(grammar.p_max))
    one_hot = np.eye(grammar.v)[x]  # the same data given as likelihoods
    assert np.abs(bp.posterior(grammar, one_hot) - post).max() <= 1e-12


def test_masked_tokens_marginalise_exactly():
    grammar = Grammar.random(3, 3, 2, 2, 2, seed=4)
    x, y = grammar.enumerate()
    likelihoods = np.eye(grammar.v)[x[:5]]
    likelihoods[:, 1:] = 1.0  # only the first token is observed
    from rhm_theory.theory.exact import correlations

    expected = correlations(grammar, 0).filled(np.nan)[:, x[:5, 0]].T
    assert np.allclose(bp.posterior(grammar, likelihoods), expected, atol=1e-12)


def test_deep_grammar_is_stable():
    grammar = Grammar.random(4, 4, 2, 2, 10, seed=0)
    x, y = grammar.sample(50, seed=0)
    noisy = np.where(np.eye(4)[x] > 0, 0.55, 0.15)
    post = bp.posterior(grammar, noisy)
    assert np.isfinite(post).all() and np.allclose(post.sum(axis=1), 1.0)
    assert np.allclose(bp.log_evidence(grammar, x), -math.log(grammar.p_max))
    assert (bp.posterior(grammar, x).argmax(axis=1) == y).all()


def test_impossible_inputs_raise_or_give_nan():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    x, _ = grammar.enumerate()
    seen = {row.tobytes() for row in x}
    outsider = next(np.array(t, dtype=np.int64) for t in np.ndindex(4, 4, 4, 4) if np.array(t, dtype=np.int64).tobytes() not in seen)
    batch = np.stack([x[0], outsider])
    with pytest.raises(ValueError, match=r"1 inputs have probability zero .*rows \[1\]"):
        bp.posterior(grammar, batch)
    post = bp.posterior(grammar, batch, on_impossible="nan")
    assert np.isnan(post[1]).all() and np.isfinite(post[0]).all()


def test_bad_input_shapes_are_errors():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"shape \(P, d=4\)"):
        bp.posterior(grammar, np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match=r"shape \(P, d=4, v=4\)"):
        bp.posterior(grammar, np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        bp.posterior(grammar, -np.ones((2, 4, 4)))
