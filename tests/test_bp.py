"""Belief propagation against the brute-force posterior over the full enumeration."""

import math

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from strategies import examples, grammars

from rhm_theory import Grammar, bp


def brute_force(x, y, n_c, likelihoods):
    weights = np.prod(likelihoods[:, np.arange(x.shape[1])[None, :], x], axis=2)  # (Q, p_max)
    joint = np.stack([weights[:, y == alpha].sum(axis=1) for alpha in range(n_c)], axis=1)
    return joint / joint.sum(axis=1, keepdims=True), np.log(weights.mean(axis=1))


@given(grammars(max_p_max=2000), st.integers(0, 2**32 - 1))
@hsettings(max_examples=examples(40), deadline=None)
def test_posterior_equals_brute_force_on_noisy_inputs(grammar, seed):
    x, y = grammar.enumerate()
    rng = np.random.default_rng(seed)
    likelihoods = rng.random((8, grammar.d, grammar.v)) ** 2 + 1e-3
    expected, evidence = brute_force(x, y, grammar.n_c, likelihoods)
    assert np.abs(bp.posterior(grammar, likelihoods) - expected).max() <= 1e-10
    assert np.allclose(bp.log_evidence(grammar, likelihoods), evidence, rtol=1e-10)


@given(grammars(max_p_max=2000))
@hsettings(max_examples=examples(40), deadline=None)
def test_clean_data_get_probability_one_on_their_class(grammar):
    x, y = grammar.enumerate()
    post = bp.posterior(grammar, x)
    assert np.abs(post[np.arange(y.size), y] - 1.0).max() <= 1e-12
    assert np.allclose(bp.log_evidence(grammar, x), -math.log(grammar.p_max))
    one_hot = np.eye(grammar.v)[x]  # the same data given as likelihoods
    assert np.abs(bp.posterior(grammar, one_hot) - post).max() <= 1e-12


def test_masked_tokens_marginalise_exactly():
    grammar = Grammar.random(3, 3, 2, 2, 2, seed=4)
    x, _y = grammar.enumerate()
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
    assert np.isfinite(post).all()
    assert np.allclose(post.sum(axis=1), 1.0)
    assert np.allclose(bp.log_evidence(grammar, x), -math.log(grammar.p_max))
    assert (bp.posterior(grammar, x).argmax(axis=1) == y).all()


def test_impossible_inputs_raise_or_give_nan():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    x, _ = grammar.enumerate()
    seen = {row.tobytes() for row in x}
    outsider = next(
        np.array(t, dtype=np.int64) for t in np.ndindex(4, 4, 4, 4) if np.array(t, dtype=np.int64).tobytes() not in seen
    )
    batch = np.stack([x[0], outsider])
    with pytest.raises(ValueError, match=r"1 inputs have probability zero .*rows \[1\]"):
        bp.posterior(grammar, batch)
    post = bp.posterior(grammar, batch, on_impossible="nan")
    assert np.isnan(post[1]).all()
    assert np.isfinite(post[0]).all()


def test_bad_input_shapes_are_errors():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"shape \(P, d=4\)"):
        bp.posterior(grammar, np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match=r"shape \(P, d=4, v=4\)"):
        bp.posterior(grammar, np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        bp.posterior(grammar, -np.ones((2, 4, 4)))


# ----- both passes: marginals of every node, posterior sampling -------------------------------------


def hidden_symbols(grammar, x):
    """Symbols of every level of each datum, bottom-up (tokens first, class last), by parsing patches."""
    levels = [x]
    symbols = x
    for k in range(grammar.L - 1, -1, -1):
        sorted_codes, production = grammar.tuple_lookup[k]
        codes = symbols.reshape(symbols.shape[0], -1, grammar.s) @ (grammar.v ** np.arange(grammar.s - 1, -1, -1))
        symbols = production[np.searchsorted(sorted_codes, codes)] // grammar.m
        levels.append(symbols)
    return levels


def brute_force_marginals(grammar, likelihoods):
    """Marginal of every node of every level, summing the weight of each of the p_max data."""
    x, _ = grammar.enumerate()
    weights = np.prod(likelihoods[:, np.arange(grammar.d)[None, :], x], axis=2)  # (Q, p_max)
    weights /= weights.sum(axis=1, keepdims=True)
    out = []
    for i, level in enumerate(hidden_symbols(grammar, x)):
        one_hot = np.eye(grammar.n_c if i == grammar.L else grammar.v)[level]  # (p_max, positions, symbols)
        out.append(np.einsum("qp,pns->qns", weights, one_hot))
    return out


def masked_and_noisy(grammar, rng, Q=6):
    """Noisy likelihoods, with a random third of the positions masked (all ones)."""
    likelihoods = rng.random((Q, grammar.d, grammar.v)) ** 2 + 1e-3
    likelihoods[rng.random((Q, grammar.d)) < 1 / 3] = 1.0
    return likelihoods


@given(grammars(max_p_max=3000), st.integers(0, 2**32 - 1))
@hsettings(max_examples=examples(25), deadline=None)
def test_marginals_of_every_node_equal_brute_force(grammar, seed):
    likelihoods = masked_and_noisy(grammar, np.random.default_rng(seed))
    expected = brute_force_marginals(grammar, likelihoods)
    got = bp.node_marginals(grammar, likelihoods)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for level, (g, e) in enumerate(zip(got, expected)):
        assert np.abs(g - e).max() <= 1e-10, level
    assert np.abs(bp.token_marginals(grammar, likelihoods) - expected[0]).max() <= 1e-10


@pytest.mark.parametrize("params", [(3, 2, 2, 2, 3), (2, 2, 2, 3, 2), (4, 3, 3, 2, 2)])
def test_leave_one_out_token_marginals_equal_masking_that_token(params):
    grammar = Grammar.random(*params, seed=3)
    likelihoods = masked_and_noisy(grammar, np.random.default_rng(0), Q=4)
    loo = bp.token_marginals(grammar, likelihoods, leave_one_out=True)
    for j in range(grammar.d):
        masked = likelihoods.copy()
        masked[:, j] = 1.0
        assert np.abs(bp.token_marginals(grammar, masked)[:, j] - loo[:, j]).max() <= 1e-12


def test_clean_marginals_are_one_hot_on_the_derivation():
    grammar = Grammar.random(4, 3, 2, 3, 2, seed=5)
    x, _y = grammar.sample(30, seed=0)
    for got, truth in zip(bp.node_marginals(grammar, x), hidden_symbols(grammar, x)):
        assert np.abs(got - np.eye(got.shape[-1])[truth]).max() <= 1e-12


@pytest.mark.parametrize("params", [(3, 2, 2, 2, 2), (2, 2, 2, 3, 2)])
def test_posterior_samples_without_evidence_are_uniform_over_the_data(params):
    from scipy.stats import chisquare

    from rhm_theory.core.sampling import data_to_indices

    grammar = Grammar.random(*params, seed=1)
    draws = 400 * grammar.p_max
    tokens, labels = bp.sample_posterior(grammar, np.ones((draws, grammar.d, grammar.v)), seed=2)
    indices = data_to_indices(grammar, tokens)  # raises if a sample is not a datum
    assert np.array_equal(grammar.parse(tokens)[0], labels)
    assert chisquare(np.bincount(indices, minlength=grammar.p_max)).pvalue > 1e-3


def test_posterior_samples_follow_the_brute_force_posterior():
    from scipy.stats import chisquare

    from rhm_theory.core.sampling import data_to_indices

    grammar = Grammar.random(3, 2, 2, 2, 2, seed=8)  # p_max = 16
    x, _ = grammar.enumerate()
    likelihoods = np.random.default_rng(4).random((1, grammar.d, grammar.v)) ** 2 + 0.05
    weights = np.prod(likelihoods[0, np.arange(grammar.d)[None, :], x], axis=1)
    draws = 20000
    tokens, _ = bp.sample_posterior(grammar, np.repeat(likelihoods, draws, axis=0), seed=5)
    counts = np.bincount(data_to_indices(grammar, tokens), minlength=grammar.p_max)
    assert chisquare(counts, draws * weights / weights.sum()).pvalue > 1e-3


def test_posterior_samples_of_clean_data_are_the_data():
    grammar = Grammar.random(5, 4, 3, 2, 3, seed=2)
    x, y = grammar.sample(200, seed=1)
    tokens, labels = bp.sample_posterior(grammar, x, seed=0)
    assert np.array_equal(tokens, x)
    assert np.array_equal(labels, y)
    again = bp.sample_posterior(grammar, np.ones((50, grammar.d, grammar.v)), seed=7)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(again, bp.sample_posterior(grammar, np.ones((50, grammar.d, grammar.v)), seed=7))
    )


def test_both_passes_are_stable_at_L_12():
    grammar = Grammar.random(4, 4, 2, 2, 12, seed=0)
    x, _y = grammar.sample(4, seed=0)
    rng = np.random.default_rng(1)
    ruled_out = rng.random((*x.shape, 4)) < 0.1  # noisy: some wrong tokens ruled out, never the true one
    noisy = np.where(np.eye(4)[x] > 0, 0.4, np.where(ruled_out, 0.0, 0.2))
    noisy[:, ::3] = 1.0  # and a third of the tokens masked
    marginals = bp.node_marginals(grammar, noisy)
    for level in marginals:
        assert np.isfinite(level).all()
        assert np.allclose(level.sum(axis=-1), 1.0, atol=1e-9)
    tokens, _labels = bp.sample_posterior(grammar, noisy, seed=0)
    grammar.parse(tokens)  # every sample is a datum of the grammar
    assert np.isfinite(bp.class_entropy(grammar, noisy)).all()


def test_class_entropy_is_the_entropy_of_the_posterior():
    grammar = Grammar.random(3, 3, 2, 2, 2, seed=0)
    likelihoods = np.random.default_rng(0).random((5, grammar.d, grammar.v))
    post = bp.posterior(grammar, likelihoods)
    assert np.allclose(bp.class_entropy(grammar, likelihoods), -(post * np.log(post)).sum(axis=1))
    assert np.allclose(bp.class_entropy(grammar, grammar.sample(5, seed=0)[0]), 0.0)


def test_marginals_and_sampling_refuse_impossible_inputs():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    x, _ = grammar.enumerate()
    seen = {row.tobytes() for row in x}
    outsider = next(
        np.array(t, dtype=np.int64) for t in np.ndindex(4, 4, 4, 4) if np.array(t, dtype=np.int64).tobytes() not in seen
    )
    batch = np.stack([x[0], x[1], outsider])
    for call in (
        lambda: bp.token_marginals(grammar, batch),
        lambda: bp.node_marginals(grammar, batch),
        lambda: bp.sample_posterior(grammar, batch, seed=0),
    ):
        with pytest.raises(ValueError, match=r"1 inputs have probability zero .*rows \[2\]"):
            call()
    marginals = bp.token_marginals(grammar, batch, on_impossible="nan")
    assert np.isnan(marginals[2]).all()
    assert np.isfinite(marginals[:2]).all()
