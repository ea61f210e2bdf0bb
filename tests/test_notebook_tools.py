"""Notebook and data-tool helpers: RHMDataset.from_params, draw_derivation's layout."""

import numpy as np
import pytest
import torch

from rhm_theory import Grammar
from rhm_theory.core.graphs import derivation_tree
from rhm_theory.learning.encoding import RHMDataset
from rhm_theory.report.derivation import derivation_layout, draw_derivation


def test_dataset_from_params_holds_data_of_its_grammar():
    dataset = RHMDataset.from_params(6, 3, 2, 2, 2, P=20, seed=5)
    assert len(dataset) == 20
    grammar = dataset.grammar
    assert grammar == Grammar.random(6, 3, 2, 2, 2, seed=np.random.default_rng(5))  # rules drawn first
    # every datum parses under the grammar to its stored label, and the data are distinct
    labels, _ = grammar.parse(dataset.x.numpy())
    assert np.array_equal(labels, dataset.y.numpy())
    assert len({tuple(row) for row in dataset.x.tolist()}) == 20
    inputs, label = dataset[3]
    assert inputs.shape == (6, 4)
    assert torch.equal(inputs.argmax(0), dataset.x[3])
    assert label == dataset.y[3]


def test_dataset_from_params_refuses_more_than_p_max():
    with pytest.raises(ValueError, match="p_max = 16"):
        RHMDataset.from_params(3, 2, 2, 2, 2, P=17, seed=0)


def test_derivation_layout_centres_parents_over_children():
    grammar = Grammar.random(6, 3, 2, 2, 3, seed=0)
    x, _y = grammar.sample(1, seed=1)
    tree = derivation_tree(grammar, x[0])
    layout = derivation_layout(tree)
    assert [layout[(1, j)] for j in range(8)] == [(float(j), 1) for j in range(8)]
    assert layout[(4, 0)] == (3.5, 4)  # the class over the middle of the 8 tokens
    assert layout[(3, 1)] == (5.5, 3)
    assert layout[(2, 2)] == (4.5, 2)


def test_draw_derivation_writes_the_tokens_and_the_class():
    grammar = Grammar.random(6, 3, 2, 2, 3, seed=0)
    x, y = grammar.sample(1, seed=1)
    fig = draw_derivation(grammar, x[0])
    texts = [(t.get_position(), t.get_text()) for t in fig.axes[0].texts]
    tokens = [label for (px, py), label in texts if py == 1 and not label.startswith("$")]
    assert tokens == [str(t) for t in x[0]]
    assert [label for (px, py), label in texts if py == 4 and not label.startswith("$")] == [str(y[0])]
    with pytest.raises(ValueError, match=r"not a datum|shape"):
        draw_derivation(grammar, x[0][:4])
