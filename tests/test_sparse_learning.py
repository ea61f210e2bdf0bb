"""Networks on the sparse RHM (patch = s(s0+1), v + 1 channels) and the sensitivities S_{k,l}, D_{k,l},
checked with oracles whose hidden layers are symbol grids recomputed here by a dictionary parse."""

import numpy as np
import pytest
import torch

from rhm_theory import Grammar
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.models import build_model
from rhm_theory.learning.sensitivity import diffeomorphism_sensitivity, synonymic_exchange, synonymic_sensitivity
from rhm_theory.sparse import SparseRHM


def symbol_grids(model, x):
    """Level-(l) symbol grids, empties included, of tokens x (P, d): {1: x, ..., L + 1: class (P, 1)}."""
    grammar, grids = model.grammar, {1: np.asarray(x)}
    for level in range(2, grammar.L + 2):
        rules = grammar.rules[grammar.L - level + 1]
        owner_of = {tuple(t): owner for owner in range(rules.shape[0]) for t in rules[owner]}
        patches = grids[level - 1].reshape(len(x), -1, model.patch)
        grids[level] = np.array(
            [
                [owner_of[tuple(p[p != model.empty])] if (p != model.empty).any() else model.empty for p in row]
                for row in patches
            ]
        )
    return grids


class GridOracle(torch.nn.Module):
    """Hidden layer k = the one-hot grid of level-(k+1) symbols; ``positions=False`` drops the empties
    (the symbols left to right, wherever they sit)."""

    def __init__(self, model, positions=True):
        super().__init__()
        self.model, self.positions = model, positions

    def hidden_layers(self, inputs):
        grids = symbol_grids(self.model, inputs.argmax(dim=1).numpy())
        out = []
        for k in range(1, self.model.L + 1):
            grid = grids[k + 1]
            if not self.positions:
                grid = grid[grid != self.model.empty].reshape(len(grid), -1)
            out.append(torch.nn.functional.one_hot(torch.as_tensor(grid), self.model.v + 1).float())
        return out


@pytest.mark.parametrize("variant", ["A", "B"])
def test_diffeomorphism_sensitivity_of_oracles(variant):
    model = SparseRHM(Grammar.random(4, 4, 2, 2, 3, seed=3), 1, variant)
    x, _ = model.sample(100, seed=0)
    D = diffeomorphism_sensitivity(GridOracle(model), model, x, seed=1)
    k, l = np.meshgrid(np.arange(1, 4), np.arange(1, 4), indexing="ij")
    assert D.shape == (3, 3)
    assert np.all(D[k >= l] == 0)  # level-(k+1) positions depend only on layouts making levels >= k+1
    assert np.all(D[k < l] > 0.05)
    assert np.all(diffeomorphism_sensitivity(GridOracle(model, positions=False), model, x, seed=1) == 0)
    S = synonymic_sensitivity(GridOracle(model, positions=False), model, x, seed=1)
    assert np.all(S[k >= l] == 0)
    assert np.all(S[k < l] > 0.05)


def test_sparse_synonymic_exchange_keeps_layouts_class_and_symbols_above_the_level():
    model = SparseRHM(Grammar.random(4, 4, 2, 2, 3, seed=4), 2, "B")
    x, y = model.sample(200, seed=0)
    exchanged = synonymic_exchange(model, x, 2, seed=1)
    assert np.array_equal(model.parse(exchanged)[2], model.parse(x)[2])
    before, after = symbol_grids(model, x), symbol_grids(model, exchanged)
    assert all(np.array_equal(before[level], after[level]) for level in (3, 4))
    assert not np.array_equal(before[2], after[2])
    assert np.array_equal(model.parse(exchanged)[0], y)


@pytest.mark.parametrize("name", ["cnn", "lcn", "fcn"])
def test_networks_take_the_sparse_input(name):
    model = SparseRHM(Grammar.random(4, 4, 2, 2, 2, seed=0), 1, "A")
    net = build_model(name, v=5, n_c=4, s=2, L=2, width=8, patch=model.patch, seed=0)
    x, _ = model.sample(16, seed=0)
    inputs = one_hot(x, model.v + 1)
    assert net(inputs).shape == (16, 4)
    if name != "fcn":
        assert [tuple(h.shape) for h in net.hidden_layers(inputs)] == [(16, 4, 8), (16, 1, 8)]
        D = diffeomorphism_sensitivity(net, model, x, seed=0)
        assert D.shape == (2, 2)
        assert np.isfinite(D).all()
    with pytest.raises(ValueError, match="patch must be a multiple of s"):
        build_model(name, v=5, n_c=4, s=2, L=2, width=8, patch=3, seed=0)


def test_diffeomorphisms_need_a_sparse_model():
    grammar = Grammar.random(4, 4, 2, 2, 2, seed=0)
    x, _ = grammar.sample(4, seed=0)
    with pytest.raises(ValueError, match="need a SparseRHM"):
        diffeomorphism_sensitivity(GridOracle(None), grammar, x, seed=0)


def test_training_takes_a_sparse_model_and_validates_its_tokens():
    from rhm_theory.learning.config import TrainConfig
    from rhm_theory.learning.training import train

    model = SparseRHM(Grammar.random(4, 4, 4, 2, 2, seed=0), 1, "A")
    train_set, test_set = model.sample_train_test(256, 64, seed=0)
    config = TrainConfig(model="lcn", width=16, max_steps=10, max_epochs=10**6, seed=0)
    result = train(model, train_set, test_set, config)
    assert result.model.layers[0].weight.shape == (model.patch**model.L // model.patch, model.patch * (model.v + 1), 16)
    assert result.steps == 10
    assert 0 <= result.test_error <= 1
    with pytest.raises(ValueError, match=r"train tokens must be in range\(v\+1=5\)"):
        train(model, (train_set[0] + 5, train_set[1]), test_set, config)
