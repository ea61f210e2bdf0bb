"""Production-rule probabilities: the power-law (Zipf) rules of Cagnetta, Kang and Wyart
(arXiv:2505.07067, the model section), their validation, and the rule frequencies of data.

``probs`` is a list of L float64 arrays in the top-down order of the rules: probs[k] has shape
(owners, m) (owners = n_c for k = 0, else v) and probs[k][a, j] is the probability that symbol a
uses its production j; every row sums to 1 within PROB_SUM_TOLERANCE. The RHM of arXiv:2307.02129 has
1/m everywhere. Power-law rules give each owner's m productions the probabilities
``f_r = r**-(1+a) / sum_{r'=1..m} r'**-(1+a)``, r = 1..m, in a random rank order drawn per owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.sampling import block_offsets, derivation
from rhm_theory.core.validation import check_zipf, shown

if TYPE_CHECKING:  # Grammar imports this module: no import at run time
    from rhm_theory.core.grammar import Grammar

PROB_SUM_TOLERANCE = 1e-9  # |sum of a row - 1| allowed for the m probabilities of one symbol


def zipf_weights(m: int, a: float) -> np.ndarray:
    """f_r proportional to r**-(1+a) for ranks r = 1..m, normalised: float64 (m,), non-increasing."""
    a = check_zipf(a)
    weights = np.arange(1, m + 1, dtype=np.float64) ** -(1.0 + a)
    return weights / weights.sum()


def draw_zipf_probs(owners: int, m: int, a: float, rng: np.random.Generator) -> np.ndarray:
    """(owners, m) rule probabilities: each row the weights of :func:`zipf_weights` in a uniformly
    random rank order, drawn independently per owner from ``rng``."""
    return rng.permuted(np.tile(zipf_weights(m, a), (owners, 1)), axis=1)


def uniform_probs(owners: list[int], m: int) -> list[np.ndarray]:
    """1/m everywhere: one (owners[k], m) float64 array per rules level (read-only views of one number)."""
    return [np.broadcast_to(np.float64(1.0 / m), (n, m)) for n in owners]


def check_probs(probs: object, owners: list[int], m: int) -> list[np.ndarray]:
    """``probs`` as read-only float64 arrays of shapes (owners[k], m), else a one-line ValueError naming
    the entry and its rule: finite, non-negative, each row summing to 1 within PROB_SUM_TOLERANCE = 1e-9."""
    if not isinstance(probs, (list, tuple)) or len(probs) != len(owners):
        got = f"{len(probs)} arrays" if isinstance(probs, (list, tuple)) else type(probs).__name__
        raise ValueError(
            f"probs must be a list of L = {len(owners)} arrays of rule probabilities (one per rules level), got {got}"
        )
    checked = []
    for k, (p, n) in enumerate(zip(probs, owners)):
        try:
            p = np.array(p)
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"probs[{k}] must be a rectangular array of shape ({n}, {m}): {error}") from None
        if not (np.issubdtype(p.dtype, np.integer) or np.issubdtype(p.dtype, np.floating)):
            raise ValueError(f"probs[{k}] must hold real numbers, got dtype {p.dtype}")
        if p.shape != (n, m):
            raise ValueError(f"probs[{k}] must have shape (owners, m) = ({n}, {m}), got {p.shape}")
        p = p.astype(np.float64)
        for bad, why in ((~np.isfinite(p), "is not finite"), (p < 0, "is negative")):
            if bad.any():
                a, j = (int(i) for i in np.argwhere(bad)[0])
                raise ValueError(
                    f"probs[{k}][{a}, {j}] = {shown(float(p[a, j]))} {why}: the probability of production {j} "
                    f"of symbol {a} in rules[{k}] must be a finite number >= 0"
                )
        sum_error = np.abs(p.sum(axis=1) - 1.0)
        if (sum_error > PROB_SUM_TOLERANCE).any():
            a = int(np.argmax(sum_error > PROB_SUM_TOLERANCE))
            raise ValueError(
                f"probs[{k}][{a}] sums to {float(p[a].sum())!r}: the {m} production probabilities of symbol {a} "
                f"in rules[{k}] must sum to 1 within {PROB_SUM_TOLERANCE:g}"
            )
        p.setflags(write=False)
        checked.append(p)
    return checked


def is_uniform(probs: list[np.ndarray], m: int) -> bool:
    """Whether every probability equals 1/m exactly (the unweighted RHM)."""
    return all((p == 1.0 / m).all() for p in probs)


def row_entropies(p: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of probabilities (..., m), with 0 log 0 = 0: array (...)."""
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)


# ----- the productions used by data ------------------------------------------------------------------
def production_indices(grammar: Grammar, x: ArrayLike) -> list[np.ndarray]:
    """The production of every node of the derivations of data x (P, d), one int64 array
    (P, s**k) per rules level k, entry owner * m + choice: an index into ``probs[k].ravel()``
    (ValueError naming the tokens that are not data of the grammar)."""
    _, choices, symbols = derivation(grammar, x)
    offsets = block_offsets(grammar)
    blocks = [slice(offsets[k], offsets[k + 1]) for k in range(grammar.L)]
    return [symbols[:, block] * grammar.m + choices[:, block] for block in blocks]


def production_log_probs(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """log P(x | class) = sum over the n_nodes productions of the derivation of log probs[k][owner, j],
    float64 (P,), for tokens x (P, d) that are data of the grammar (ValueError naming the others)."""
    indices = production_indices(grammar, x)
    total = np.zeros(indices[0].shape[0])
    with np.errstate(divide="ignore"):  # a production of probability 0: log 0 = -inf
        for p, index in zip(grammar.probs, indices):
            total += np.log(p.ravel()[index]).sum(axis=1)
    return total


def production_counts(grammar: Grammar, x: ArrayLike) -> list[np.ndarray]:
    """How often data x (P, d) use each production: one int64 array (owners, m) per rules level k,
    entry [a, j] = number of nodes of block k whose symbol a uses production j."""
    shapes = [(grammar.owners(k), grammar.m) for k in range(grammar.L)]
    return [
        np.bincount(index.ravel(), minlength=a * m).reshape(a, m)
        for (a, m), index in zip(shapes, production_indices(grammar, x))
    ]


def rank_frequencies(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """Empirical rank frequencies of the rules used by data x (P, d), float64 (L, m): entry [k, r] is the
    fraction of the P s**k nodes of block k that use the rank-(r+1) production of their symbol, ranks by
    decreasing probability (ties in production order). For power-law rules its expectation is f_{r+1}."""
    rows = []
    for counts, p in zip(production_counts(grammar, x), grammar.probs):
        ranked = np.take_along_axis(counts, np.argsort(-p, axis=1, kind="stable"), axis=1).sum(axis=0)
        rows.append(ranked / max(ranked.sum(), 1))
    return np.array(rows)
