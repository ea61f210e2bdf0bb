"""Encodings and batch iteration."""

import math

import numpy as np
import pytest
import torch

from rhm_theory import Grammar
from rhm_theory.learning.encoding import RHMDataset, batches, encode, one_hot, tuple_one_hot, whitened_one_hot


@pytest.fixture(scope="module")
def data():
    grammar = Grammar.random(5, 4, 5, 2, 2, seed=0)  # p_max = 500
    return grammar, *grammar.sample(300, seed=1)


def test_one_hot_and_whitened(data):
    grammar, x, _ = data
    encoded = one_hot(x, grammar.v)
    assert encoded.shape == (300, 5, 4)
    assert torch.equal(encoded.argmax(dim=1), torch.from_numpy(x))
    assert torch.all(encoded.sum(dim=1) == 1)
    white = whitened_one_hot(x, grammar.v)
    assert torch.allclose(white.mean(dim=1), torch.zeros(300, 4), atol=1e-6)
    assert torch.allclose(white.norm(dim=1), torch.ones(300, 4), atol=1e-6)
    assert math.isclose(white[0, x[0, 0], 0].item(), (1 - 1 / 5) / math.sqrt(1 - 1 / 5), rel_tol=1e-6)


def test_tuple_one_hot_marks_each_patch_code(data):
    grammar, x, _ = data
    encoded = tuple_one_hot(x, grammar.v, grammar.s)
    assert encoded.shape == (300, 25, 2)
    codes = encoded.argmax(dim=1).numpy()
    assert np.array_equal(codes, x[:, 0::2] * 5 + x[:, 1::2])


def test_batches_cover_every_datum_once_and_are_reproducible(data):
    _grammar, x, y = data
    seen = []
    for inputs, labels in batches(x, y, 64, v=5, s=2, generator=torch.Generator().manual_seed(0)):
        assert inputs.shape[1:] == (5, 4)
        assert inputs.shape[0] == labels.shape[0] <= 64
        seen.append(inputs.argmax(dim=1))
    order = torch.cat(seen)
    assert order.shape[0] == 300
    assert sorted(map(tuple, order.tolist())) == sorted(map(tuple, x.tolist()))
    again = torch.cat(
        [b.argmax(dim=1) for b, _ in batches(x, y, 64, v=5, s=2, generator=torch.Generator().manual_seed(0))]
    )
    assert torch.equal(order, again)
    full = list(batches(x, y, 64, v=5, s=2, drop_last=True))
    assert len(full) == 4


def test_dataset_and_dataloader(data):
    _grammar, x, y = data
    dataset = RHMDataset(x, y, v=5, s=2, kind="whitened")
    assert len(dataset) == 300
    loader = torch.utils.data.DataLoader(dataset, batch_size=100)
    inputs, labels = next(iter(loader))
    assert inputs.shape == (100, 5, 4)
    assert torch.allclose(inputs, encode(x[:100], 5, 2, "whitened"))
    assert torch.equal(labels, torch.from_numpy(y[:100]))


def test_bad_encoding_requests_are_errors(data):
    _grammar, x, y = data
    with pytest.raises(ValueError, match="unknown encoding 'bits'"):
        encode(x, 5, 2, "bits")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        next(batches(x, y, 0, v=5, s=2))
    with pytest.raises(ValueError, match="not a multiple of the patch size s=3"):
        tuple_one_hot(x, 5, 3)
