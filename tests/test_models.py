"""Models: shapes, parameter counts (closed forms written here), agreement with torch's own
convolution, mean-field scaling at initialisation, seeding and bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from strategies import examples
from torch.nn import functional as F

from rhm_theory.learning.config import MODEL_NAMES, PARAMETRIZATIONS
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.models import build_model

SHAPES = [(3, 2, 2, 2), (4, 3, 2, 3), (3, 2, 3, 2), (2, 2, 2, 1)]  # (v, n_c, s, L)


def expected_parameter_count(name, v, n_c, s, L, w):
    d = s**L
    readout = w * n_c
    if name == "cnn":
        return s * v * w + (L - 1) * s * w * w + readout
    if name == "lcn":  # layer k has s**(L-k) independent filters
        return s ** (L - 1) * s * v * w + sum(s ** (L - k) * s * w * w for k in range(2, L + 1)) + readout
    if name == "fcn":
        return v * d * w + readout
    if name == "deep_fcn":
        return v * d * w + (L - 1) * w * w + readout
    # transformer: embedding, positions, per block two LayerNorms + qkv + output + 4x MLP, final LayerNorm
    per_block = 2 * (2 * w) + 3 * w * w + w * w + 2 * 4 * w * w
    return v * w + d * w + L * per_block + 2 * w + readout


def expected_hidden_shapes(name, B, s, L, w):
    if name in ("cnn", "lcn"):
        return [(B, s ** (L - k), w) for k in range(1, L + 1)]
    if name == "fcn":
        return [(B, w)]
    if name == "deep_fcn":
        return [(B, w)] * L
    return [(B, s**L, w)] * L


def random_inputs(B, v, d, seed=0):
    tokens = torch.randint(0, v, (B, d), generator=torch.Generator().manual_seed(seed))
    return one_hot(tokens, v)


@pytest.mark.parametrize("parametrization", PARAMETRIZATIONS)
@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("v, n_c, s, L", SHAPES)
def test_shapes_and_parameter_counts(name, parametrization, v, n_c, s, L):
    w, B = 8, 5
    model = build_model(name, v=v, n_c=n_c, s=s, L=L, width=w, parametrization=parametrization, seed=1)
    x = random_inputs(B, v, s**L)
    assert model(x).shape == (B, n_c)
    assert [tuple(h.shape) for h in model.hidden_layers(x)] == expected_hidden_shapes(name, B, s, L, w)
    assert sum(p.numel() for p in model.parameters()) == expected_parameter_count(name, v, n_c, s, L, w)
    assert model.lr_scale == (w if parametrization == "mean_field" else 1)


def torch_conv_reference(model, x, s):
    """The hierarchical CNN recomputed with F.conv1d (kernel = stride = s) on (B, channels, positions)."""
    h = x
    for layer in model.layers:
        channels = h.shape[1]
        # model weight rows are indexed (position in patch, channel); conv1d wants (out, channel, position)
        kernel = layer.weight.reshape(s, channels, -1).permute(2, 1, 0)
        h = F.relu(F.conv1d(h, kernel, stride=s) * layer.scale)
    return (h.squeeze(-1) @ model.readout.weight) * model.readout.scale


def lcn_loop_reference(model, x, s):
    """The hierarchical LCN recomputed patch by patch with an explicit loop."""
    h = x.transpose(1, 2)  # (B, positions, channels)
    for layer in model.layers:
        patches = []
        for j in range(h.shape[1] // s):
            patch = h[:, j * s : (j + 1) * s, :].reshape(h.shape[0], -1)
            patches.append(F.relu(patch @ layer.weight[j] * layer.scale))
        h = torch.stack(patches, dim=1)
    return (h[:, 0, :] @ model.readout.weight) * model.readout.scale


@settings(max_examples=examples(10), deadline=None)
@given(s=st.integers(2, 3), L=st.integers(1, 3), v=st.integers(2, 5), seed=st.integers(0, 2**31))
def test_hierarchical_nets_match_independent_implementations(s, L, v, seed):
    x = random_inputs(4, v, s**L, seed)
    g = np.random.default_rng(seed)
    cnn = build_model("cnn", v=v, n_c=3, s=s, L=L, width=6, seed=g)
    lcn = build_model("lcn", v=v, n_c=3, s=s, L=L, width=6, parametrization="standard", seed=g)
    torch.testing.assert_close(cnn(x), torch_conv_reference(cnn, x, s))
    torch.testing.assert_close(lcn(x), lcn_loop_reference(lcn, x, s))


@pytest.mark.parametrize("s, L", [(2, 3), (3, 2)])
def test_mean_field_preactivations_are_order_one_at_any_width(s, L):
    """Weights N(0,1) and 1/sqrt(fan_in): a one-hot patch has squared norm s among s*v inputs, so the
    first pre-activation is N(0, 1/v); ReLU halves the second moment, hence E[h_k^2] = 1/(v 2^k) at
    every width, and the readout (divided by width) has second moment E[h_L^2]/width (64 readout
    columns, because one column's random draw is shared by all inputs and would not average out)."""
    v = 4
    x = random_inputs(512, v, s**L, seed=3)
    for width in (256, 2048):
        model = build_model("cnn", v=v, n_c=64, s=s, L=L, width=width, seed=width)
        with torch.no_grad():
            hidden = model.hidden_layers(x)
            logits = model(x)
        for k, h in enumerate(hidden, start=1):
            assert h.pow(2).mean().item() == pytest.approx(1 / (v * 2**k), rel=0.25), (width, k)
        assert (logits.pow(2).mean() * width).item() == pytest.approx(1 / (v * 2**L), rel=0.25), width


def test_standard_parametrization_matches_pytorch_linear_init_range():
    model = build_model("fcn", v=3, n_c=2, s=2, L=2, width=50, parametrization="standard", seed=0)
    weight = model.layers[0].weight
    bound = 1 / math.sqrt(3 * 4)
    assert weight.abs().max().item() <= bound
    assert weight.var().item() == pytest.approx(bound**2 / 3, rel=0.15)  # uniform variance


def test_initialisation_uses_only_the_given_generator():
    state = torch.random.get_rng_state()
    a = build_model("transformer", v=3, n_c=2, s=2, L=2, width=8, seed=5)
    b = build_model("transformer", v=3, n_c=2, s=2, L=2, width=8, seed=5)
    c = build_model("transformer", v=3, n_c=2, s=2, L=2, width=8, seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    pairs = list(zip(a.parameters(), b.parameters(), c.parameters()))
    assert all(torch.equal(p, q) for p, q, _ in pairs)
    assert not all(torch.equal(p, r) for p, _, r in pairs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "resnet"}, "unknown model 'resnet'"),
        ({"width": 0}, "width must be >= 1, got 0"),
        ({"parametrization": "ntk"}, "unknown parametrization 'ntk'"),
        ({"seed": None}, "seed must be given explicitly"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    args = {"name": "cnn", "v": 3, "n_c": 2, "s": 2, "L": 2, "width": 4, "seed": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        build_model(args.pop("name"), **args)
