"""Ensemble training: every member's result (stop reason, epochs, steps, losses, test error, learning
rate, final weights) equals that of a separate ``train`` run with the member's seed and data."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from rhm_theory import Grammar
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.ensemble import ENSEMBLE_MODELS, StackedNet, one_hot_stack, train_ensemble
from rhm_theory.learning.training import initial_state, train
from rhm_theory.sparse import SparseRHM

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def members():
    """Three members, each with its own (6, 6, 3, 2, 2) grammar and its own 48 training + 40 test data."""
    grammars = [Grammar.random(6, 6, 3, 2, 2, seed=seed) for seed in range(3)]
    splits = [grammar.sample_train_test(48, 40, seed=10 + i) for i, grammar in enumerate(grammars)]
    return grammars, [train for train, _ in splits], [test for _, test in splits]


def assert_same_runs(ensemble, separate):
    for a, b in zip(ensemble, separate, strict=True):
        assert (a.stop_reason, a.epochs, a.steps) == (b.stop_reason, b.epochs, b.steps)
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)
        assert a.final_lr == pytest.approx(b.final_lr, rel=1e-12)
        assert a.test_error == b.test_error
        assert a.test_loss == pytest.approx(b.test_loss, rel=1e-4)
        for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
        assert len(a.history) == len(b.history) > 1  # learning curves: the same records
        for r, t in zip(a.history, b.history):
            assert (r.step, r.epoch, r.test_error) == (t.step, t.epoch, t.test_error)
            assert (r.train_loss, r.test_loss) == pytest.approx((t.train_loss, t.test_loss), rel=1e-4)


@pytest.mark.parametrize("model", ENSEMBLE_MODELS)
def test_members_equal_separate_runs_and_stop_on_their_own(members, model):
    grammars, train_sets, test_sets = members
    # a loss threshold that some members reach within max_epochs and others do not
    threshold = 1.5 if model == "fcn" else 1.45
    config = TrainConfig(model=model, width=32, batch_size=16, max_epochs=40, loss_threshold=threshold, seed=0)
    seeds = [3, 4, 5]
    separate = [
        train(g, tr, te, replace(config, seed=seed)) for g, tr, te, seed in zip(grammars, train_sets, test_sets, seeds)
    ]
    assert {r.stop_reason for r in separate} == {"loss_threshold", "max_epochs"}  # the test exercises both
    assert_same_runs(train_ensemble(grammars, train_sets, test_sets, config, seeds), separate)


def test_one_grammar_adam_standard_parametrisation_max_steps(members):
    grammars, train_sets, test_sets = members
    config = TrainConfig(
        model="cnn",
        width=16,
        batch_size=10,
        optimizer="adam",
        lr=0.01,
        parametrization="standard",
        max_steps=13,
        loss_threshold=1e-9,
        seed=0,
    )
    seeds = [0, 1, 2, 0]  # a repeated seed on the same data gives the same run twice
    data = [train_sets[0], train_sets[1], train_sets[2], train_sets[0]]
    ensemble = train_ensemble(grammars[0], data, [test_sets[0]] * 4, config, seeds)
    separate = [train(grammars[0], tr, test_sets[0], replace(config, seed=seed)) for tr, seed in zip(data, seeds)]
    assert {r.stop_reason for r in separate} == {"max_steps"}
    assert separate[0].epochs == 3
    assert_same_runs(ensemble, separate)
    assert ensemble[0].train_loss == ensemble[3].train_loss


def test_sparse_rhm_members_equal_separate_runs():
    model = SparseRHM(Grammar.random(4, 4, 2, 2, 2, seed=0), 1, "A")  # d = 16, v + 1 = 5 channels
    splits = [model.sample_train_test(40, 30, seed=seed) for seed in (1, 2)]
    config = TrainConfig(model="cnn", width=16, batch_size=16, max_epochs=4, seed=0)
    separate = [train(model, tr, te, replace(config, seed=seed)) for (tr, te), seed in zip(splits, (5, 6))]
    ensemble = train_ensemble(model, [tr for tr, _ in splits], [te for _, te in splits], config, [5, 6])
    assert_same_runs(ensemble, separate)


def test_test_sets_of_different_sizes(members):
    """Members evaluated one at a time (their test sets cannot be stacked) give the same runs."""
    grammars, train_sets, test_sets = members
    config = TrainConfig(model="cnn", width=16, batch_size=16, max_epochs=5, seed=0)
    tests = [test_sets[0], (test_sets[1][0][:25], test_sets[1][1][:25])]
    separate = [
        train(g, tr, te, replace(config, seed=seed)) for g, tr, te, seed in zip(grammars, train_sets, tests, (1, 2))
    ]
    assert_same_runs(train_ensemble(grammars[:2], train_sets[:2], tests, config, [1, 2]), separate)


def test_members_are_independent(members):
    """A member's run does not depend on who else is in the ensemble."""
    grammars, train_sets, test_sets = members
    config = TrainConfig(model="lcn", width=16, batch_size=16, max_epochs=3, seed=0)
    alone = train_ensemble(grammars[:1], train_sets[:1], test_sets[:1], config, [7])[0]
    together = train_ensemble(grammars, train_sets, test_sets, config, [7, 8, 9])[0]
    assert_same_runs([alone], [together])


@pytest.mark.parametrize("params, batch_size", [((6, 6, 3, 2, 2), 40), ((4, 4, 2, 2, 3), 16)])
def test_cnn_trained_through_the_code_table_equals_separate_runs(params, batch_size):
    """Batches large enough for the table route (v**s codes < B d / s**2 rows of layer 2), and with
    L = 2 a last batch of 8 that takes the one-hot route: the same runs as train."""
    grammar = Grammar.random(*params, seed=0)
    splits = [grammar.sample_train_test(48, 40, seed=seed) for seed in (1, 2)]
    config = TrainConfig(model="cnn", width=16, batch_size=batch_size, max_epochs=6, seed=0)
    separate = [train(grammar, tr, te, replace(config, seed=seed)) for (tr, te), seed in zip(splits, (3, 4))]
    ensemble = train_ensemble(grammar, [tr for tr, _ in splits], [te for _, te in splits], config, [3, 4])
    assert_same_runs(ensemble, separate)


@pytest.mark.parametrize(
    "model, params, tabulates",
    [
        ("cnn", (8, 8, 4, 2, 3), True),
        ("cnn", (8, 8, 4, 2, 2), False),
        ("lcn", (8, 8, 4, 2, 3), False),
        ("fcn", (8, 8, 4, 2, 3), False),
    ],
)
def test_forward_tokens_equals_forward_on_one_hot_with_gradients(model, params, tabulates):
    """The token route (the code table where ``tabulates``, else one-hot) gives forward's logits and
    weight gradients on one-hot input, for every member."""
    grammar = Grammar.random(*params, seed=0)
    tokens = torch.as_tensor(grammar.sample_train_test(192, 1, seed=0)[0][0]).view(3, 64, grammar.d)
    net = StackedNet([initial_state(grammar, TrainConfig(model=model, width=16, seed=seed))[0] for seed in range(3)])
    assert net.tabulates(64 * grammar.d) == tabulates
    outputs = []
    for logits in (net.forward_tokens(tokens), net(one_hot_stack(tokens, grammar.v))):
        gradients = torch.autograd.grad(
            (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum(), list(net.parameters())
        )
        outputs.append((logits, *gradients))
    for a, b in zip(*outputs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    members = torch.tensor([2, 0])
    torch.testing.assert_close(
        net.forward_tokens(tokens[[2, 0]], members), net(one_hot_stack(tokens[[2, 0]], grammar.v), members)
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"seeds": []}, "seeds is empty"),
        ({"seeds": [1, 2]}, "grammars has 3 entries but there are 2 seeds"),
        ({"config": TrainConfig(model="transformer", seed=0)}, "model 'transformer' cannot train as an ensemble"),
        ({"config": TrainConfig(width=0, seed=0)}, "width must be >= 1, got 0"),
        (
            {"grammars": [Grammar.random(6, 6, 3, 2, 2, seed=0)] * 2 + [Grammar.random(6, 5, 3, 2, 2, seed=0)]},
            r"grammar \(channels, n_c, patch, L\) = \(6, 5, 2, 2\) differs",
        ),
        ({"train_sets": "short"}, "training sets have sizes \\[40, 48\\]"),
        ({"train_sets": "bad tokens"}, r"train tokens must be in range\(v=6\)"),
    ],
)
def test_bad_input_is_a_clear_error(members, change, message):
    grammars, train_sets, test_sets = members
    args = {
        "grammars": grammars,
        "train_sets": train_sets,
        "test_sets": test_sets,
        "config": TrainConfig(max_steps=1, seed=0),
        "seeds": [1, 2, 3],
    }
    if change.get("train_sets") == "short":
        change = {"train_sets": [train_sets[0], (train_sets[1][0][:40], train_sets[1][1][:40]), train_sets[2]]}
    elif change.get("train_sets") == "bad tokens":
        change = {"train_sets": [train_sets[0], (np.full((48, 4), 6), train_sets[1][1]), train_sets[2]]}
    args.update(change)
    with pytest.raises(ValueError, match=message):
        train_ensemble(**args)
