"""Next-token theory: BP predictor and context-limited optima vs brute force over the enumeration."""

import numpy as np
import pytest

from rhm_theory import Grammar
from rhm_theory.theory import next_token

TINY = [
    (3, 2, 2, 2, 2, 0),
    (4, 3, 3, 2, 2, 1),
    (3, 3, 2, 2, 3, 2),
    (3, 2, 3, 3, 2, 3),
]


def brute_predictive(x, t, v):
    """P(x_d | last t tokens) by counting over all data (uniform): (P, v), and H(x_d | window)."""
    d = x.shape[1]
    window = x[:, d - 1 - t : d - 1]
    _, group = np.unique(window, axis=0, return_inverse=True) if t else (None, np.zeros(len(x), int))
    group = group.ravel()
    counts = np.zeros((group.max() + 1, v))
    np.add.at(counts, (group, x[:, -1]), 1)
    conditional = counts / counts.sum(axis=1, keepdims=True)
    rows = conditional[group]
    entropy = -np.log(rows[np.arange(len(x)), x[:, -1]]).mean()
    return rows, entropy


@pytest.mark.parametrize("v, n_c, m, s, L, seed", TINY)
def test_predictive_and_optimal_loss_match_enumeration_for_every_window(v, n_c, m, s, L, seed):
    grammar = Grammar.random(v, n_c, m, s, L, seed=seed)
    x, _ = grammar.enumerate()
    for t in range(grammar.d):
        expected_rows, expected_entropy = brute_predictive(x, t, v)
        assert np.abs(next_token.predictive(grammar, x, window=t) - expected_rows).max() <= 1e-10
        assert abs(next_token.optimal_loss(grammar, t) - expected_entropy) <= 1e-10
    assert abs(next_token.optimal_loss(grammar) - brute_predictive(x, grammar.d - 1, v)[1]) <= 1e-10


def test_full_context_predictive_is_uniform_over_consistent_completions():
    grammar = Grammar.random(4, 3, 3, 2, 2, seed=5)
    x, _ = grammar.enumerate()
    q = next_token.predictive(grammar, x)
    support = q > 0
    assert np.allclose(q[support], (1.0 / support.sum(axis=1, keepdims=True) * np.ones_like(q))[support])


def test_optimal_losses_decrease_with_the_window_and_start_at_the_marginal_entropy():
    grammar = Grammar.random(4, 3, 3, 2, 3, seed=7)
    losses = next_token.optimal_losses(grammar)
    assert (np.diff(losses) <= 1e-12).all()
    x, _ = grammar.enumerate()
    marginal = np.bincount(x[:, -1], minlength=grammar.v) / len(x)
    marginal = marginal[marginal > 0]
    assert abs(losses[0] + (marginal * np.log(marginal)).sum()) <= 1e-12


def test_public_short_name_and_bad_input():
    import rhm_theory

    grammar = Grammar.random(3, 2, 2, 2, 2, seed=0)
    assert rhm_theory.next_token.optimal_loss(grammar, window=None) == next_token.optimal_loss(grammar)
    with pytest.raises(ValueError, match="window"):
        next_token.optimal_loss(grammar, window=grammar.d)
    with pytest.raises(ValueError, match="max_items"):
        next_token.optimal_loss(grammar, max_items=3)
