"""Networks trained on the RHM (docs/theory.md, 'Networks and training protocol'): hierarchical CNN and LCN, fully-connected nets, transformer.

Every model takes one-hot float input of shape (B, v, d) with d = s**L (``rhm_theory.learning.encoding.one_hot``)
and returns logits (B, n_c). ``model.hidden_layers(x)`` returns the post-activation output of every
hidden layer k = 1..K (used for the synonymic sensitivity, docs/theory.md, 'Synonymic sensitivity'), and ``model.lr_scale`` is the
factor the training loop multiplies the SGD learning rate by.

Parametrisations (``parametrization=``):

- ``"mean_field"`` (the paper's, docs/theory.md, 'Networks and training protocol'): weights N(0, 1); every hidden layer computes
  ``x @ W / sqrt(fan_in)``; the readout computes ``h @ W / width``; ``lr_scale = width``.
- ``"standard"``: PyTorch's default ``nn.Linear`` initialisation, weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  no forward factor; ``lr_scale = 1``.

Layers have no biases (apart from the transformer's LayerNorms), so parameter counts are plain products.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rhm_theory.core.validation import MAX_MODEL_PARAMETERS, check_choice, check_entries, check_int
from rhm_theory.learning.config import MODEL_NAMES, PARAMETRIZATIONS

TRANSFORMER_MLP_RATIO = 4


class ScaledLinear(nn.Module):
    """``y = x @ W * scale`` without bias; W of shape (fan_in, fan_out), or (copies, fan_in, fan_out)
    for ``copies`` independent filters applied to ``copies`` input positions (locally connected layer).

    Input (..., fan_in) (with copies: (B, copies, fan_in)); output (..., fan_out).
    """

    def __init__(self, fan_in, fan_out, *, parametrization, generator, readout=False, copies=None):
        super().__init__()
        shape = (fan_in, fan_out) if copies is None else (copies, fan_in, fan_out)
        if parametrization == "mean_field":
            weight = torch.randn(shape, generator=generator)
            self.scale = 1.0 / fan_in if readout else 1.0 / math.sqrt(fan_in)
        else:
            weight = (2.0 * torch.rand(shape, generator=generator) - 1.0) / math.sqrt(fan_in)
            self.scale = 1.0
        self.weight = nn.Parameter(weight)
        self.shared = copies is None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return (x @ self.weight) * self.scale
        return torch.einsum("bpi,pio->bpo", x, self.weight) * self.scale


class RHMNet(nn.Module):
    """Common interface: ``forward(x) -> logits`` is the readout applied to the last hidden layer."""

    lr_scale: float

    def hidden_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The readout's input (B, width) computed from one-hot input (B, v, d)."""
        return self.hidden_layers(x)[-1].flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x))


class HierarchicalNet(RHMNet):
    """Depth L+1 hierarchical net (docs/theory.md, 'Networks and training protocol'): L layers with filter = stride = s, ReLU, linear readout.

    A convolution with filter = stride = s is a reshape of (B, positions, channels) into
    (B, positions/s, s*channels) followed by one matmul. ``shared=True`` is the CNN (one filter per
    layer), ``shared=False`` the LCN (an independent filter for every patch).
    Hidden layer k has shape (B, s**(L-k), width).
    """

    def __init__(self, *, v, n_c, s, L, width, parametrization, generator, shared):
        super().__init__()
        self.s = s
        self.layers = nn.ModuleList()
        channels = v
        for k in range(1, L + 1):
            copies = None if shared else s ** (L - k)
            self.layers.append(
                ScaledLinear(s * channels, width, parametrization=parametrization, generator=generator, copies=copies)
            )
            channels = width
        self.readout = ScaledLinear(width, n_c, parametrization=parametrization, generator=generator, readout=True)
        self.lr_scale = float(width) if parametrization == "mean_field" else 1.0

    def hidden_layers(self, x):
        batch = x.shape[0]
        h = x.transpose(1, 2)  # (B, d, v): positions first, so that a patch is s consecutive rows
        outputs = []
        for layer in self.layers:
            h = h.reshape(batch, h.shape[1] // self.s, self.s * h.shape[2])
            h = F.relu(layer(h))
            outputs.append(h)
        return outputs


class FullyConnectedNet(RHMNet):
    """Fully-connected ReLU net on the flattened input (B, v*d) with ``depth`` hidden layers of ``width``.

    Hidden layer k has shape (B, width).
    """

    def __init__(self, *, v, n_c, d, depth, width, parametrization, generator):
        super().__init__()
        fan_ins = [v * d] + [width] * (depth - 1)
        self.layers = nn.ModuleList(
            ScaledLinear(fan_in, width, parametrization=parametrization, generator=generator) for fan_in in fan_ins
        )
        self.readout = ScaledLinear(width, n_c, parametrization=parametrization, generator=generator, readout=True)
        self.lr_scale = float(width) if parametrization == "mean_field" else 1.0

    def hidden_layers(self, x):
        h = x.flatten(1)
        outputs = []
        for layer in self.layers:
            h = F.relu(layer(h))
            outputs.append(h)
        return outputs


class TransformerBlock(nn.Module):
    """Pre-LayerNorm encoder block: h + Attention(LN(h)), then h + MLP(LN(h)); h of shape (B, d, width)."""

    def __init__(self, width, n_heads, *, parametrization, generator):
        super().__init__()
        linear = {"parametrization": parametrization, "generator": generator}
        self.n_heads = n_heads
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = ScaledLinear(width, 3 * width, **linear)
        self.attention_out = ScaledLinear(width, width, **linear)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp_in = ScaledLinear(width, TRANSFORMER_MLP_RATIO * width, **linear)
        self.mlp_out = ScaledLinear(TRANSFORMER_MLP_RATIO * width, width, **linear)

    def forward(self, h):
        batch, length, width = h.shape
        q, k, v = self.qkv(self.attention_norm(h)).split(width, dim=-1)
        heads = [t.reshape(batch, length, self.n_heads, width // self.n_heads).transpose(1, 2) for t in (q, k, v)]
        attended = F.scaled_dot_product_attention(*heads).transpose(1, 2).reshape(batch, length, width)
        h = h + self.attention_out(attended)
        return h + self.mlp_out(F.gelu(self.mlp_in(self.mlp_norm(h))))


class TransformerNet(RHMNet):
    """Transformer encoder classifier: token embedding + learned positions, ``depth`` pre-LN blocks,
    final LayerNorm, mean over positions, linear readout. Hidden layer k (output of block k) is
    (B, d, width). Positions are drawn like the embedding weights (N(0, 1) mean field, else N(0, 0.02**2)).
    Measured: under mean field, SGD needs lr ~ 0.01 (x width) rather than the CNN's 0.1; the standard
    parametrisation trains well with Adam at lr 1e-3.
    """

    def __init__(self, *, v, n_c, d, depth, width, parametrization, generator):
        super().__init__()
        n_heads = next(h for h in (4, 2, 1) if width % h == 0)
        linear = {"parametrization": parametrization, "generator": generator}
        self.embedding = ScaledLinear(v, width, **linear)
        position_std = 1.0 if parametrization == "mean_field" else 0.02
        self.positions = nn.Parameter(position_std * torch.randn((d, width), generator=generator))
        self.blocks = nn.ModuleList(TransformerBlock(width, n_heads, **linear) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width)
        self.readout = ScaledLinear(width, n_c, readout=True, **linear)
        self.lr_scale = float(width) if parametrization == "mean_field" else 1.0

    def hidden_layers(self, x):
        h = self.embedding(x.transpose(1, 2)) + self.positions
        outputs = []
        for block in self.blocks:
            h = block(h)
            outputs.append(h)
        return outputs

    def features(self, x):
        return self.final_norm(self.hidden_layers(x)[-1]).mean(dim=1)


def torch_generator(seed) -> torch.Generator:
    """A CPU torch.Generator from an int seed (``manual_seed(seed)``) or a numpy Generator (one draw)."""
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    elif seed is None:
        raise ValueError("seed must be given explicitly (an int or a numpy.random.Generator); got None")
    return torch.Generator().manual_seed(check_int("seed", seed, minimum=0))


def parameter_count(name: str, *, v: int, n_c: int, s: int, L: int, width: int, patch: int | None = None) -> int:
    """The number of weights of ``build_model(name, ...)`` (exact, computed without building it)."""
    patch = s if patch is None else patch
    readout = width * n_c
    if name in ("cnn", "lcn"):
        copies = [1] * L if name == "cnn" else [patch ** (L - k) for k in range(1, L + 1)]
        return sum(c * patch * (v if k == 0 else width) * width for k, c in enumerate(copies)) + readout
    d = patch**L
    if name == "transformer":  # embedding, positions, per block 2 LayerNorms + qkv + out + 2 MLP layers, final norm
        block = 4 * width + 4 * width * width + 2 * TRANSFORMER_MLP_RATIO * width * width
        return v * width + d * width + L * block + 2 * width + readout
    depth = 1 if name == "fcn" else L
    return v * d * width + (depth - 1) * width * width + readout


def check_model_size(
    name: str, *, v: int, n_c: int, s: int, L: int, width: int, patch: int | None = None, members: int = 1
) -> int:
    """:func:`parameter_count` (times ``members`` networks trained together), or ValueError past MAX_MODEL_PARAMETERS."""
    count = members * parameter_count(name, v=v, n_c=n_c, s=s, L=L, width=width, patch=patch)
    what = (
        f"the weights of the {name} network" + (f"s ({members} members)" if members > 1 else "") + f" of width {width}"
    )
    return check_entries(what, count, MAX_MODEL_PARAMETERS)


def build_model(name, *, v, n_c, s, L, width, parametrization="mean_field", seed, patch=None) -> RHMNet:
    """A freshly initialised network for RHM parameters (v, n_c, s, L); see the module docstring.

    name: "cnn", "lcn" (hierarchical, L hidden layers), "fcn" (one hidden layer), "deep_fcn"
    (L hidden layers), "transformer" (L blocks). ``seed`` (int or numpy Generator) seeds the CPU
    torch.Generator (:func:`torch_generator`) that draws every initial weight, so the same seed gives
    the same model on every device. Returns the model on CPU.
    ``patch``: filter = stride of the hierarchical nets, input length d = patch**L (default s). For
    the sparse RHM (arXiv:2404.10727) pass v + 1 channels (the empty token) and patch = s(s0+1).
    """
    check_choice("model", name, MODEL_NAMES)
    check_choice("parametrization", parametrization, PARAMETRIZATIONS)
    v, n_c, s, L, width = (check_int(k, x) for k, x in zip(("v", "n_c", "s", "L", "width"), (v, n_c, s, L, width)))
    patch = s if patch is None else check_int("patch", patch)
    if patch % s:
        raise ValueError(f"patch must be a multiple of s = {s} (s(s0+1) for the sparse RHM), got patch = {patch}")
    check_model_size(name, v=v, n_c=n_c, s=s, L=L, width=width, patch=patch)
    common = {
        "v": v,
        "n_c": n_c,
        "width": width,
        "parametrization": parametrization,
        "generator": torch_generator(seed),
    }
    if name in ("cnn", "lcn"):
        if patch < 2:
            raise ValueError(f"a hierarchical {name} needs patch size >= 2, got {patch}")
        return HierarchicalNet(s=patch, L=L, shared=name == "cnn", **common)
    if name == "transformer":
        return TransformerNet(d=patch**L, depth=L, **common)
    return FullyConnectedNet(d=patch**L, depth=1 if name == "fcn" else L, **common)
