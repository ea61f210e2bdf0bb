"""Synonymic exchanges and the synonymic sensitivity S_{k,l} of a network's layers (docs/theory.md, 'Synonymic sensitivity').

Level-l symbols (l = 1..L, level 1 is the input) are produced by level-(l+1) symbols (by the class
for l = L). A synonymic exchange at level l, P_l, keeps the class and every production that makes
symbols of levels above l (so all level-(l+1) symbols are kept), and re-draws uniformly every
production that makes level-l symbols and every production below them. In the block layout of
``choices`` (rhm_theory.core.sampling) the nodes of block k produce level-(L-k) symbols, so P_l re-draws
blocks k >= L - l and keeps blocks k < L - l. A re-drawn production may coincide with the original
one (probability 1/m each).

S_{k,l} = <||f_k(x) - f_k(P_l x)||^2> / <||f_k(x) - f_k(y)||^2> (arXiv:2307.02129,
Figs. 5-6), f_k the post-activation output of hidden layer k and y an independent datum.

For the sparse RHM (arXiv:2404.10727; docs/theory-sparse.md) P_l keeps every layout, and the
diffeomorphism sensitivity D_{k,l} is the same ratio with P_l replaced by a discrete diffeomorphism
D_l (SparseRHM.diffeomorphism: the layouts of the productions making level-l symbols re-drawn).
"""

from __future__ import annotations

import numpy as np
import torch

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sampling import block_offsets
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.core.validation import as_generator, check_int, check_level
from rhm_theory.learning.encoding import one_hot


def exchanged_columns(grammar: Grammar, level) -> slice:
    """Columns of ``choices`` (P, n_nodes) re-drawn by a synonymic exchange at ``level``: blocks k >= L - level."""
    level = check_level(level, grammar.L)
    return slice(block_offsets(grammar)[grammar.L - level], grammar.n_nodes)


def synonymic_exchange(grammar: Grammar, x, level, seed) -> np.ndarray:
    """P_level x: tokens (P, d) of the same classes with every level-``level`` tuple re-drawn among the
    synonyms of its level-(level+1) owner, and all lower productions re-drawn (module docstring).

    ``x``: tokens (P, d) that are data of ``grammar`` (a Grammar, or a SparseRHM whose layouts are
    kept); ``seed``: int or numpy Generator.
    """
    rng = as_generator(seed)
    if isinstance(grammar, SparseRHM):  # the layouts are kept: only productions change
        y, choices, placements = grammar.parse(x)
        columns = exchanged_columns(grammar.grammar, level)
        choices[:, columns] = rng.integers(0, grammar.m, size=choices[:, columns].shape, dtype=np.int64)
        return grammar.decode(y, choices, placements)
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
        outputs = [[h] for h in layers] if outputs is None else [[*o, h] for o, h in zip(outputs, layers)]
    return [torch.cat(o) for o in outputs]


def synonymic_sensitivity(model, grammar, x, seed, batch_size: int = 1024, device="cpu") -> np.ndarray:
    """S_{k,l} for every hidden layer k = 1..K and level l = 1..L: array (K, L), entry [k-1, l-1].

    ``x``: tokens (P, d), P >= 2 distinct data of ``grammar`` (a Grammar or a SparseRHM; e.g. test
    data). The denominator pairs each datum with another one of x (a random cyclic pairing, never with
    itself). ``model`` must provide ``hidden_layers(one_hot (B, channels, d)) -> list of K tensors``
    (channels = v, or v + 1 for a SparseRHM); it is evaluated in eval mode and its mode is restored.
    Entries are NaN where a layer's output is the same for all data of x.
    """
    channels = grammar.v + 1 if isinstance(grammar, SparseRHM) else grammar.v
    return _relative_sensitivity(
        model,
        x,
        channels,
        grammar.L,
        lambda data, level, rng: synonymic_exchange(grammar, data, level, rng),
        seed,
        batch_size,
        device,
    )


def diffeomorphism_sensitivity(model, sparse: SparseRHM, x, seed, batch_size: int = 1024, device="cpu") -> np.ndarray:
    """D_{k,l} = <||f_k(x) - f_k(D_l x)||^2> / <||f_k(x) - f_k(y)||^2> for every hidden layer k and
    level l = 1..L, array (K, L): D_l re-draws the layouts of the productions making level-l symbols
    (SparseRHM.diffeomorphism; arXiv:2404.10727, diffeomorphism section). Same conventions as
    :func:`synonymic_sensitivity`, with v + 1 input channels.
    """
    if not isinstance(sparse, SparseRHM):
        raise ValueError(f"diffeomorphisms need a SparseRHM, got {type(sparse).__name__}")
    return _relative_sensitivity(
        model,
        x,
        sparse.v + 1,
        sparse.L,
        lambda data, level, rng: sparse.diffeomorphism(data, [level], rng),
        seed,
        batch_size,
        device,
    )


def _relative_sensitivity(model, x, channels, n_levels, transform, seed, batch_size, device) -> np.ndarray:
    """(K, n_levels): mean squared change of each hidden layer under ``transform(x, level, rng)``,
    relative to its change between two different data of x."""
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
        reference = _hidden_outputs(model, x, channels, batch_size, device)
        others = _hidden_outputs(model, partner, channels, batch_size, device)
        denominators = np.array([((f - g) ** 2).sum(dim=1).mean().item() for f, g in zip(reference, others)])
        S = np.empty((len(reference), n_levels))
        for level in range(1, n_levels + 1):
            changed = _hidden_outputs(model, transform(x, level, rng), channels, batch_size, device)
            S[:, level - 1] = [((f - g) ** 2).sum(dim=1).mean().item() for f, g in zip(reference, changed)]
    finally:
        model.train(was_training)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominators[:, None] > 0, S / denominators[:, None], np.nan)
