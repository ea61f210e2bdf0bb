"""One full-batch gradient step of a two-layer mean-field network on one patch (docs/theory.md, 'Synonyms from correlations').

The network reads one input patch as a one-hot s-tuple (V = v**s channels). For a tuple code mu,

    logits(mu) = (1/H) A relu(W[:, mu] / sqrt(V)),     W (H, V), A (n_c, H),

the mean-field parametrisation (fan-in scaling inside, 1/H at the readout, learning rate eta * H).
Symmetric initialisation: every input tuple starts with the same hidden weights, W0[:, mu] = w, and
hidden units come in pairs (w_h, a_h), (w_h, -a_h), so the initial logits are exactly 0 for every
input. One step of full-batch cross-entropy gradient descent then gives, with N(alpha, mu) the
(class, tuple) counts of the P training data and relu' = 1[w > 0],

    W1[h, mu] - w_h = eta relu'(w_h) / (sqrt(V) P) * sum_alpha A[alpha, h] (N(alpha, mu) - N(mu) / n_c),
    A1[alpha, h] - A[alpha, h] = eta relu(w_h / sqrt(V)) (N(alpha) / P - 1 / n_c),

i.e. the hidden weights of tuple mu move along a random projection of its (count-weighted) centred
correlation vector N(mu) (f^(. | mu) - 1/n_c): synonyms move together once P exceeds the noise scale
P_c ~ n_c m**L (arXiv:2307.02129, Eq. 13 and Fig. 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.validation import as_generator, check_int
from rhm_theory.synonyms.clustering import lowest_level_synonyms, tuple_class_counts


@dataclass(frozen=True)
class SymmetricTwoLayerNet:
    """Parameters of the symmetric initialisation: shared hidden weights ``w`` (H,), readout ``A`` (n_c, H)."""

    w: np.ndarray
    A: np.ndarray


def init_symmetric(n_c: int, width: int, seed) -> SymmetricTwoLayerNet:
    """Draw w_h, A[:, h] ~ N(0, 1) for the first width/2 units and mirror them (w, -A) for the rest."""
    n_c, width = check_int("n_c", n_c), check_int("width", width, minimum=2)
    if width % 2:
        raise ValueError(f"width must be even (hidden units come in mirrored pairs), got {width}")
    rng = as_generator(seed)
    half_w = rng.standard_normal(width // 2)
    half_A = rng.standard_normal((n_c, width // 2))
    return SymmetricTwoLayerNet(np.concatenate([half_w, half_w]), np.concatenate([half_A, -half_A], axis=1))


def initial_hidden_weights(net: SymmetricTwoLayerNet, n_inputs: int) -> np.ndarray:
    """W0 (H, n_inputs): every input channel starts with the shared hidden weights w."""
    return np.repeat(net.w[:, None], check_int("n_inputs", n_inputs), axis=1)


def cross_entropy(W, A, codes, y) -> float:
    """Mean cross-entropy of the network (W (H, V), A (n_c, H)) on tuple codes (P,) with labels (P,)."""
    W, A = np.asarray(W, dtype=float), np.asarray(A, dtype=float)
    hidden = np.maximum(W[:, codes] / np.sqrt(W.shape[1]), 0.0)  # (H, P)
    logits = A @ hidden / W.shape[0]  # (n_c, P)
    shifted = logits - logits.max(axis=0)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0))
    return float(-log_probs[y, np.arange(len(y))].mean())


def one_step(net: SymmetricTwoLayerNet, counts, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (W1 (H, V), A1 (n_c, H)) after one full-batch GD step with learning rate lr * H.

    ``counts``: (class, tuple) counts N (n_c, V) of the training patches (see
    :func:`rhm_theory.synonyms.clustering.tuple_class_counts`); closed form of the module docstring.
    """
    counts = np.asarray(counts, dtype=float)
    n_c, V = counts.shape
    if net.A.shape[0] != n_c:
        raise ValueError(f"counts have {n_c} classes but the readout has {net.A.shape[0]}")
    P = counts.sum()
    if P <= 0:
        raise ValueError("counts must contain at least one training datum")
    active = (net.w > 0).astype(float)
    centred = counts - counts.sum(axis=0) / n_c  # N(alpha, mu) - N(mu)/n_c
    W1 = initial_hidden_weights(net, V) + lr * (active[:, None] * (net.A.T @ centred)) / (np.sqrt(V) * P)
    class_freq = counts.sum(axis=1) / P
    A1 = net.A + lr * np.maximum(net.w / np.sqrt(V), 0.0)[None, :] * (class_freq - 1.0 / n_c)[:, None]
    return W1, A1


def synonym_sensitivity(columns, classes) -> float:
    """``S = <|c_mu - c_mu'|^2>`` over pairs of synonyms / ``<|c_mu - c_nu|^2>`` over all pairs (docs/theory.md, 'Synonyms from correlations').

    ``columns`` (H, n): one vector per tuple; ``classes`` (n,): synonym class of each tuple. Averages
    run over unordered pairs of distinct tuples. Returns NaN if all columns are equal.
    """
    columns = np.asarray(columns, dtype=float)
    classes = np.asarray(classes)

    def pair_sum(block) -> float:  # sum over unordered pairs of |c_i - c_j|^2 = n sum|c|^2 - |sum c|^2
        n = block.shape[1]
        return float(n * (block**2).sum() - (block.sum(axis=1) ** 2).sum())

    n = columns.shape[1]
    total = pair_sum(columns) / (n * (n - 1) / 2)
    groups = [np.flatnonzero(classes == c) for c in np.unique(classes)]
    n_pairs = sum(g.size * (g.size - 1) / 2 for g in groups)
    if n_pairs == 0:
        raise ValueError("no synonym pairs: every class has a single tuple")
    within = sum(pair_sum(columns[:, g]) for g in groups) / n_pairs
    return within / total if total > 0 else float("nan")


def effective_rank(matrix) -> float:
    """Participation ratio (sum sigma^2)^2 / sum sigma^4 of the singular values of ``matrix`` (H, n)
    after subtracting its mean column; 0 when all columns are equal."""
    matrix = np.asarray(matrix, dtype=float)
    sigma2 = np.linalg.svd(matrix - matrix.mean(axis=1, keepdims=True), compute_uv=False) ** 2
    return float(sigma2.sum() ** 2 / (sigma2**2).sum()) if sigma2.sum() > 0 else 0.0


def one_step_curves(grammar: Grammar, P_values, seed, width: int = 512, lr: float = 1.0, patch: int = 0):
    """First-layer synonym sensitivity S and effective rank of the hidden weights of the grammar's
    v m lowest-level tuples after one step, on nested training sets (patch ``patch``) of sizes P_values.

    One sample of max(P_values) data and one network are drawn from ``seed``. Returns two arrays
    (len(P_values),). The initial weights are equal for all tuples, so S and the rank measure the
    update alone and do not depend on lr.
    """
    P_values = [check_int("P", P) for P in P_values]
    rng = as_generator(seed)
    x, y = grammar.sample(max(P_values), rng)
    net = init_symmetric(grammar.n_c, width, rng)
    codes, owners = lowest_level_synonyms(grammar)
    sensitivity, rank = [], []
    for P in P_values:
        counts = tuple_class_counts(x[:P], y[:P], v=grammar.v, n_c=grammar.n_c, s=grammar.s, patch=patch)
        hidden = one_step(net, counts, lr)[0][:, codes]
        sensitivity.append(synonym_sensitivity(hidden, owners))
        rank.append(effective_rank(hidden))
    return np.array(sensitivity), np.array(rank)
