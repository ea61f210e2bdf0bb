"""One gradient step of the symmetric two-layer mean-field network: the closed-form update against
central finite differences of the loss, and the first-layer synonym sensitivity and effective rank
against brute-force definitions."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from strategies import examples

from rhm_theory import Grammar
from rhm_theory.synonyms.clustering import lowest_level_synonyms, tuple_class_counts
from rhm_theory.synonyms.one_step import (
    cross_entropy,
    effective_rank,
    init_symmetric,
    initial_hidden_weights,
    one_step,
    one_step_curves,
    synonym_sensitivity,
)


def numeric_gradient(loss, params, h=1e-6):
    grad = np.zeros_like(params)
    for index in np.ndindex(params.shape):
        plus, minus = params.copy(), params.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (loss(plus) - loss(minus)) / (2 * h)
    return grad


@settings(max_examples=examples(15), deadline=None)
@given(
    n_c=st.integers(2, 4),
    V=st.integers(2, 6),
    half_width=st.integers(1, 3),
    P=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_one_step_update_equals_minus_lr_times_finite_difference_gradient(n_c, V, half_width, P, seed):
    rng = np.random.default_rng(seed)
    codes, y = rng.integers(0, V, P), rng.integers(0, n_c, P)
    net = init_symmetric(n_c, 2 * half_width, seed)
    assume((np.abs(net.w) > 1e-3).all())  # keep finite differences away from the relu kink
    counts = np.zeros((n_c, V))
    np.add.at(counts, (y, codes), 1)
    lr, width = 0.7, 2 * half_width
    W1, A1 = one_step(net, counts, lr)
    W0 = initial_hidden_weights(net, V)
    grad_W = numeric_gradient(lambda W: cross_entropy(W, net.A, codes, y), W0)
    grad_A = numeric_gradient(lambda A: cross_entropy(W0, A, codes, y), net.A)
    np.testing.assert_allclose(W1 - W0, -lr * width * grad_W, atol=1e-7)
    np.testing.assert_allclose(A1 - net.A, -lr * width * grad_A, atol=1e-7)


def test_symmetric_initialisation_has_zero_logits_and_loss_log_n_c():
    net = init_symmetric(5, 8, seed=3)
    codes = np.arange(7)
    assert cross_entropy(initial_hidden_weights(net, 7), net.A, codes, codes % 5) == pytest.approx(np.log(5), abs=1e-12)


@settings(max_examples=examples(20), deadline=None)
@given(n=st.integers(3, 9), H=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_sensitivity_matches_pairwise_definition(n, H, seed):
    rng = np.random.default_rng(seed)
    columns = rng.standard_normal((H, n))
    classes = rng.integers(0, 3, n)
    classes[:2] = 0  # at least one synonym pair
    pairs = list(itertools.combinations(range(n), 2))
    distance = {p: np.sum((columns[:, p[0]] - columns[:, p[1]]) ** 2) for p in pairs}
    within = np.mean([distance[p] for p in pairs if classes[p[0]] == classes[p[1]]])
    assert synonym_sensitivity(columns, classes) == pytest.approx(within / np.mean(list(distance.values())))


def test_effective_rank_of_equal_singular_values_is_the_rank():
    rng = np.random.default_rng(0)
    left = np.linalg.qr(rng.standard_normal((10, 3)))[0]  # 3 orthonormal columns
    # 3 orthonormal vectors of length 6, orthogonal to (1, ..., 1) so that centring leaves them alone
    right = np.linalg.qr(np.column_stack([np.ones(6), rng.standard_normal((6, 3))]))[0][:, 1:]
    matrix = left @ right.T
    assert effective_rank(matrix) == pytest.approx(3.0)
    assert effective_rank(np.ones((4, 5))) == 0.0


def test_synonyms_move_together_on_all_data_and_not_at_tiny_P():
    grammar = Grammar.random(4, 4, 2, 2, 2, seed=1)
    x, y = grammar.enumerate()
    codes, owners = lowest_level_synonyms(grammar)
    W1, _ = one_step(init_symmetric(4, 64, seed=0), tuple_class_counts(x, y, v=4, n_c=4, s=2, patch=0), lr=1.0)
    assert synonym_sensitivity(W1[:, codes], owners) == pytest.approx(0.0, abs=1e-12)
    tiny = [one_step_curves(grammar, [2], seed=s, width=64)[0][0] for s in range(10)]
    assert np.mean(tiny) > 0.75  # chance: S about 1


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="even"):
        init_symmetric(3, 5, seed=0)
    with pytest.raises(ValueError, match="at least one"):
        one_step(init_symmetric(2, 4, seed=0), np.zeros((2, 3)), lr=1.0)
    with pytest.raises(ValueError, match="classes"):
        one_step(init_symmetric(2, 4, seed=0), np.ones((3, 3)), lr=1.0)
