"""Exact class-token statistics and Bayes posterior of the sparse RHM, positions included as latent
variables (arXiv:2404.10727; docs/theory-sparse.md, "Exact statistics" and "Belief propagation with
latent positions").

Statistics. A position of the sparse input is reached from the root by its base-s' digits o_0, o_1, ...
(s' = s(s0+1), most significant first). At each step the node at patch position o holds child i of its
parent's production with probability W[o, i] / Q (W counts the layouts putting child i at o) and is
empty otherwise; an empty parent has only empty children. So P(x_j = mu | class) is a product of
(v+1)-state transition matrices, mu = v being the empty token.

Posterior. The upward message of an informative node for symbol a sums over its productions and layouts::

    u(a) = 1/(m Q) sum_j sum_q prod_i u_{q_i}(b_ij) prod_{o not in q} u_o(empty),

and an empty node's message is prod_o u_o(empty). Leaves carry likelihoods l_j(mu) over v+1 symbols
(one-hot for clean tokens, all ones for a masked token). Classes have a uniform prior.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.sparse import SparseRHM
from rhm_theory.core.validation import check_instance, check_int, shown
from rhm_theory.theory import bp
from rhm_theory.theory.exact import transition_counts

_CHUNK_ELEMENTS = 2**22


def check_model(model: object) -> SparseRHM:
    """``model`` if it is a SparseRHM, else ValueError (a dense Grammar is SparseRHM(grammar, 0))."""
    return check_instance("model", model, SparseRHM, "a SparseRHM (wrap a dense Grammar as SparseRHM(grammar, 0))")


def slot_weights(model: SparseRHM) -> np.ndarray:
    """W (patch, s) int64: W[o, i] = number of layouts that put child i at patch position o."""
    check_model(model)
    weights = np.zeros((model.patch, model.s), dtype=np.int64)
    for i in range(model.s):
        np.add.at(weights[:, i], model.placements[:, i], 1)
    return weights


def position_transition_counts(model: SparseRHM, k: int, position: int) -> np.ndarray:
    """Integer counts T (owners_k + [k > 0], v+1) of the step to patch ``position`` at rules level k.

    T / (m Q) is P(child symbol at that position | parent symbol); row ``v`` (k > 0 only) is the empty
    parent, column ``v`` the empty child.
    """
    grammar, Q, m, v = check_model(model).grammar, model.n_placements, model.m, model.v
    k = check_int("k", k, minimum=0)
    if k >= model.L:
        raise ValueError(f"k must be a rules level in range(L = {model.L}), got {k}")
    position = check_int("position", position, minimum=0)
    if position >= model.patch:
        raise ValueError(f"position must be in range(patch = {model.patch}), got {shown(position)}")
    weights = slot_weights(model)[position]
    owners = grammar.owners(k)
    counts = np.zeros((owners + (k > 0), v + 1), dtype=np.int64)
    for i in range(model.s):
        counts[:owners, :v] += weights[i] * transition_counts(grammar, k, i)
    counts[:owners, v] = (Q - weights.sum()) * m
    if k > 0:
        counts[owners, v] = m * Q
    return counts


def class_token_probs(model: SparseRHM, position: int, exact: bool = False) -> np.ndarray:
    """P(x_position = mu | class alpha), array (n_c, v+1) (mu = v: the empty token).

    ``exact=True``: numpy object array of fractions.Fraction (integer counts over (m Q)**L).
    """
    check_model(model)
    position = check_int("position", position, minimum=0)
    if position >= model.d:
        raise ValueError(f"position must be in range(d = {model.d}), got {shown(position)}")
    digits = [(position // model.patch ** (model.L - 1 - k)) % model.patch for k in range(model.L)]
    counts = np.identity(model.n_c, dtype=object if exact else np.int64)
    probs = np.identity(model.n_c)
    for k, o in enumerate(digits):
        step = position_transition_counts(model, k, o)
        if exact:
            counts = counts.dot(step.astype(object))
        else:
            probs = probs @ (step / (model.m * model.n_placements))
    if not exact:
        return probs
    denominator = (model.m * model.n_placements) ** model.L
    return np.vectorize(lambda c: Fraction(int(c), denominator), otypes=[object])(counts)


def class_token_probs_all(model: SparseRHM) -> np.ndarray:
    """P(x_j = mu | class) at every input position, float array (d, n_c, v+1), computed top-down."""
    check_model(model)
    probs = np.identity(model.n_c)[None]  # the class, as one position
    for k in range(model.L):
        steps = [position_transition_counts(model, k, o) / (model.m * model.n_placements) for o in range(model.patch)]
        probs = np.stack([probs @ step for step in steps], axis=1).reshape(-1, model.n_c, model.v + 1)
    return probs


# ----- belief propagation --------------------------------------------------------------------------
def _leaf_likelihoods(model: SparseRHM, x: ArrayLike) -> np.ndarray:
    """Validated leaves as likelihoods (P, d, v+1): one-hot for integer tokens."""
    check_model(model)
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        tokens = model.check_tokens(x)
        return np.identity(model.v + 1)[tokens]
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be integer tokens (P, d) or float likelihoods (P, d, v+1), got dtype {x.dtype}")
    if x.ndim != 3 or x.shape[1:] != (model.d, model.v + 1):
        raise ValueError(f"likelihoods must have shape (P, d={model.d}, v+1={model.v + 1}), got {x.shape}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("likelihoods must be finite and non-negative")
    return x.astype(np.float64)


def _upward(model: SparseRHM, leaves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upward pass on a chunk of likelihoods (P, d, v+1): (class messages (P, n_c) normalised, log scale (P,))."""
    grammar, P, v, Q = model.grammar, leaves.shape[0], model.v, model.n_placements
    log_scale = np.zeros(P)
    messages = bp.normalise(leaves, log_scale)
    others = np.ones((Q, model.patch), dtype=bool)  # positions a layout leaves empty
    np.put_along_axis(others, model.placements, False, axis=1)
    for k in range(model.L - 1, -1, -1):
        children = messages.reshape(P, -1, model.patch, messages.shape[-1])
        empty = children[..., v]  # (P, parents, patch)
        selections = bp.slot_selections(grammar, k)
        gathered = {}  # (position, slot) -> child messages of every production, (P, parents, owners * m)
        total = 0.0
        for layout, free in zip(model.placements, others):
            product = np.prod(empty[..., free], axis=-1)[..., None]
            for slot, position in enumerate(layout.tolist()):
                if (position, slot) not in gathered:
                    gathered[position, slot] = children[:, :, position, :v] @ selections[slot]
                product = product * gathered[position, slot]
            total = total + product
        informative = total @ bp.production_average(grammar.owners(k), model.m) / Q
        if k > 0:
            informative = np.concatenate([informative, np.prod(empty, axis=-1)[..., None]], axis=-1)
        messages = bp.normalise(informative, log_scale)
    return messages[:, 0, :], log_scale


def _run(model: SparseRHM, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    leaves = _leaf_likelihoods(model, x)
    P = leaves.shape[0]
    width = (max(model.n_c, model.v) + 1) * model.m * model.d * model.s
    chunk = max(1, _CHUNK_ELEMENTS // width)
    top, log_scale = np.empty((P, model.n_c)), np.empty(P)
    for start in range(0, P, chunk):
        rows = slice(start, min(start + chunk, P))
        top[rows], log_scale[rows] = _upward(model, leaves[rows])
    return top, log_scale


def posterior(model: SparseRHM, x: ArrayLike, on_impossible: str = "raise") -> np.ndarray:
    """Exact P(class | x) with latent productions and positions, array (P, n_c).

    x: clean tokens (P, d) in range(v+1), or likelihoods (P, d, v+1) float (noisy or masked inputs).
    Inputs of probability zero: ``on_impossible="raise"`` (ValueError) or ``"nan"`` (NaN rows).
    """
    bp.check_on_impossible(on_impossible)
    top, log_scale = _run(model, x)
    impossible = bp.impossible_rows(top, log_scale, on_impossible)
    top[impossible] = np.nan
    return top / top.sum(axis=1, keepdims=True)


def log_evidence(model: SparseRHM, x: ArrayLike) -> np.ndarray:
    """log P(x) (uniform class, productions and layouts), array (P,); -log p_max for every clean datum."""
    top, log_scale = _run(model, x)
    with np.errstate(divide="ignore"):
        return log_scale + np.log(top.sum(axis=1)) - np.log(model.n_c)
