"""Synonymic exchanges and the synonymic sensitivity S_{k,l} of a network's layers (THEORY.md §3).

Level-l symbols (l = 1..L, level 1 is the input) are produced by level-(l+1) symbols (by the class
for l = L). A synonymic exchange at level l, P_l, keeps the class and every production that makes
symbols of levels above l (so all level-(l+1) symbols are kept), and re-draws uniformly every
production that makes level-l symbols and every production below them. In the block layout of
``choices`` (rhm_theory.core.sampling) the nodes of block k produce level-(L-k) symbols, so P_l re-draws
blocks k >= L - l and keeps blocks k < L - l. A re-drawn production may coincide with the original
one (probability 1/m each).

S_{k,l} = <||f_k(x) - f_k(P_l x)||^2> / <||f_k(x) - f_k(y)||^2> (paper, Sec. "Synonymic
sensitivity"), f_k the post-activation output of hidden layer k and y an independent datum.
"""

from __future__ import annotations

import numpy as np
import torch

from rhm_theory.core.sampling import block_offsets
from rhm_theory.learning.encoding import one_hot
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.validation import as_generator, check_int


def check_level(grammar: Grammar, level) -> int:
    """``level`` as an int in 1..L (the level whose tuples are exchanged), else ValueError."""
    level = check_int("level", level, minimum=1)
    if level > grammar.L:
        raise ValueError(f"level must be in 1..L = 1..{grammar.L}, got {level}")
    return level


def exchanged_columns(grammar: Grammar, level) -> slice:
    """Columns of ``choices`` (P, n_nodes) re-drawn by a synonymic exchange at ``level``: blocks k >= L - level."""
    level = check_level(grammar, level)
    return slice(block_offsets(grammar)[grammar.L - level], grammar.n_nodes)


def synonymic_exchange(grammar: Grammar, x, level, seed) -> np.ndarray:
    """P_level x: tokens (P, d) of the same classes with every level-``level`` tuple re-drawn among the
    synonyms of its level-(level+1) owner, and all lower productions re-drawn (module docstring).

    ``x``: tokens (P, d) that are data of ``grammar``; ``seed``: int or numpy Generator.
    """
    rng = as_generator(seed)
    y, choices = grammar.parse(x)
    columns = exchanged_columns(grammar, level)
    choices[:, columns] = rng.integers(0, grammar.m, size=choices[:, columns].shape, dtype=np.int64)
    return grammar.decode(y, choices)


@torch.no_grad()
def _hidden_outputs(model, x: np.ndarray, v: int, batch_size: int, device) -> list[torch.Tensor]:
    """Flattened hidden-layer outputs of ``model`` on tokens x (P, d): list of K tensors (P, features_k)."""
    outputs = None
    for start in range(0, x.shape[0], batch_size):
        inputs = one_hot(x[start : start + batch_size], v, device=device)
        layers = [h.reshape(h.shape[0], -1).float().cpu() for h in model.hidden_layers(inputs)]
        outputs = [[h] for h in layers] if outputs is None else [o + [h] for o, h in zip(outputs, layers)]
    return [torch.cat(o) for o in outputs]


def synonymic_sensitivity(model, grammar: Grammar, x, seed, batch_size: int = 1024, device="cpu") -> np.ndarray:
    """S_{k,l} for every hidden layer k = 1..K and level l = 1..L: array (K, L), entry [k-1, l-1].

    ``x``: tokens (P, d), P >= 2 distinct data of ``grammar`` (e.g. test data). The denominator pairs
    each datum with another one of x (a random cyclic pairing, never with itself). ``model`` must
    provide ``hidden_layers(one_hot (B, v, d)) -> list of K tensors``; it is evaluated in eval mode and
    its mode is restored. Entries are NaN where a layer's output is the same for all data of x.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must be tokens of shape (P, d) with P >= 2 data, got shape {x.shape}")
    batch_size = check_int("batch_size", batch_size)
    rng = as_generator(seed)
    x = x[rng.permutation(x.shape[0])]
    partner = np.roll(x, 1, axis=0)
    was_training = model.training
    model.eval()
    try:
        reference = _hidden_outputs(model, x, grammar.v, batch_size, device)
        others = _hidden_outputs(model, partner, grammar.v, batch_size, device)
        denominators = np.array([((f - g) ** 2).sum(dim=1).mean().item() for f, g in zip(reference, others)])
        S = np.empty((len(reference), grammar.L))
        for level in range(1, grammar.L + 1):
            exchanged = _hidden_outputs(model, synonymic_exchange(grammar, x, level, rng), grammar.v, batch_size, device)
            S[:, level - 1] = [((f - g) ** 2).sum(dim=1).mean().item() for f, g in zip(reference, exchanged)]
    finally:
        model.train(was_training)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominators[:, None] > 0, S / denominators[:, None], np.nan)
