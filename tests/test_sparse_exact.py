"""Exact statistics and BP of the sparse RHM against brute force over its enumeration."""

from fractions import Fraction

import numpy as np
import pytest

from rhm_theory import Grammar, bp
from rhm_theory.sparse import SparseRHM
from rhm_theory.theory import sparse_exact

CASES = [((3, 2, 2, 2, 2), 1, "A"), ((3, 2, 2, 2, 2), 1, "B"), ((2, 2, 2, 3, 1), 2, "B"), ((3, 3, 1, 2, 2), 2, "A")]


def _model(params, s0, variant, seed=5):
    return SparseRHM(Grammar.random(*params, seed=seed), s0, variant)


@pytest.mark.parametrize("params, s0, variant", CASES)
def test_class_token_probs_equal_enumeration_frequencies(params, s0, variant):
    model = _model(params, s0, variant)
    x, y = model.enumerate()
    per_class = model.p_max // model.n_c
    counts = np.zeros((model.d, model.n_c, model.v + 1), dtype=np.int64)
    np.add.at(counts, (np.arange(model.d)[None, :], y[:, None], x), 1)
    probs = sparse_exact.class_token_probs_all(model)
    assert np.allclose(probs, counts / per_class, rtol=0, atol=1e-12)
    for position in (0, model.d - 1, model.d // 3):
        exact = sparse_exact.class_token_probs(model, position, exact=True)
        assert exact.tolist() == [[Fraction(int(c), per_class) for c in row] for row in counts[position]]
        assert np.allclose(sparse_exact.class_token_probs(model, position), probs[position], atol=1e-14)


def _brute_force_posterior(model, likelihoods):
    x, y = model.enumerate()
    weights = np.prod(likelihoods[:, np.arange(model.d), x], axis=2)  # (P, p_max) = P(obs | datum)
    joint = np.stack([weights[:, y == c].sum(axis=1) for c in range(model.n_c)], axis=1)
    return joint / joint.sum(axis=1, keepdims=True), np.log(joint.sum(axis=1) / model.p_max)


@pytest.mark.parametrize("params, s0, variant", CASES)
def test_bp_equals_brute_force_posterior_on_clean_noisy_and_masked_inputs(params, s0, variant):
    model = _model(params, s0, variant)
    rng = np.random.default_rng(0)
    x, y = model.sample(min(40, model.p_max), seed=1)
    clean = np.identity(model.v + 1)[x]
    noisy = 0.6 * clean + rng.uniform(0, 1, clean.shape)
    masked = clean.copy()
    masked[rng.uniform(size=x.shape) < 0.4] = 1.0
    for likelihoods in (clean, noisy, masked):
        expected, evidence = _brute_force_posterior(model, likelihoods)
        assert np.abs(sparse_exact.posterior(model, likelihoods) - expected).max() <= 1e-10
        assert np.abs(sparse_exact.log_evidence(model, likelihoods) - evidence).max() <= 1e-10
    assert np.array_equal(sparse_exact.posterior(model, x), np.identity(model.n_c)[y])
    assert np.allclose(sparse_exact.log_evidence(model, x), -np.log(model.p_max), atol=1e-12)


def test_bp_at_s0_zero_is_the_rhm_posterior():
    grammar = Grammar.random(4, 4, 2, 2, 3, seed=2)
    model = SparseRHM(grammar, 0, "A")
    x, _ = grammar.sample(30, seed=0)
    noisy = np.identity(grammar.v + 1)[x] + np.random.default_rng(1).uniform(0, 1, (30, grammar.d, grammar.v + 1))
    assert np.abs(sparse_exact.posterior(model, noisy) - bp.posterior(grammar, noisy[..., : grammar.v])).max() < 1e-12


def test_impossible_and_bad_inputs():
    model = _model((3, 2, 2, 2, 2), 1, "A")
    x, _ = model.sample(3, seed=0)
    x[0] = model.empty  # all empty: not a datum
    with pytest.raises(ValueError, match="probability zero"):
        sparse_exact.posterior(model, x)
    assert np.isnan(sparse_exact.posterior(model, x, on_impossible="nan")[0]).all()
    with pytest.raises(ValueError, match=r"range\(v\+1"):
        sparse_exact.posterior(model, x + 1)
    with pytest.raises(ValueError, match="v\\+1=4"):
        sparse_exact.posterior(model, np.ones((2, model.d, model.v)))
    with pytest.raises(ValueError, match="position must be in range"):
        sparse_exact.class_token_probs(model, model.d)
