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


@pytest.mark.parametrize("v, n_c, m, s, L, seed", TINY)
def test_token_correlation_matches_enumeration_at_every_distance(v, n_c, m, s, L, seed):
    grammar = Grammar.random(v, n_c, m, s, L, seed=seed)
    x, _ = grammar.enumerate()
    for t in range(1, grammar.d):
        joint = np.zeros((v, v))
        np.add.at(joint, (x[:, -1 - t], x[:, -1]), 1.0 / len(x))
        expected = joint - np.outer(joint.sum(axis=1), joint.sum(axis=0))
        assert np.abs(next_token.token_correlation(grammar, t) - expected).max() <= 1e-12
        level = next_token.ancestor_level(grammar, t)
        assert s ** (level - 2) <= t < s ** (level - 1) or (level == 2 and t < s)


def test_cli_theory_next_token(capsys):
    import json

    from rhm_theory.cli import main

    args = ["theory", "--v", "3", "--nc", "3", "--m", "2", "--s", "2", "--L", "3", "--task", "next-token"]
    assert main([*args, "--seed", "2", "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    grammar = Grammar.random(3, 3, 2, 2, 3, seed=2)
    assert values["optimal_loss_by_window"] == next_token.optimal_losses(grammar).tolist()
    assert [row["distance"] for row in values["levels"]] == [1, 2, 4]
    assert values["levels"][1]["P_t"] == 1 / next_token.correlation_strength(grammar, 2)
    assert main(args) == 2  # no seed: one line, non-zero exit
    assert "--seed" in capsys.readouterr().err
    assert main([*args[:-2], "--seed", "0"]) == 2  # a seed without the next-token task


def test_independent_tokens_have_no_finite_resolvable_size():
    grammar = Grammar.random(
        v=2, n_c=2, m=2, s=2, L=2, seed=0
    )  # p_max = n_c m^(1+s) = 16 = v^d: every string is a datum
    assert len({tuple(row) for row in grammar.enumerate()[0]}) == grammar.v**grammar.d
    assert next_token.correlation_strength(grammar, 1) == 0
    assert next_token.resolvable_size(grammar, 1) == float("inf")


def test_predictive_of_an_impossible_context_raises_or_gives_nan():
    grammar = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)  # 16 of the 256 strings are data
    data = {tuple(row) for row in grammar.enumerate()[0]}
    contexts = {row[:3] for row in data}
    impossible = next(x for x in np.ndindex(4, 4, 4) if x not in contexts)
    x = np.array([[*impossible, 0]])
    with pytest.raises(ValueError, match="probability zero"):
        next_token.predictive(grammar, x)
    assert np.isnan(next_token.predictive(grammar, x, on_impossible="nan")).all()
    with pytest.raises(ValueError, match="on_impossible"):
        next_token.predictive(grammar, x, on_impossible="skip")
