"""Next-token prediction on RHM data: the Bayes-optimal predictor of the last token x_d from the
tokens before it, and the exact minimal cross-entropy for every context window (docs/theory-next-token.md;
Cagnetta and Wyart, arXiv:2406.00048 §2).

Data are uniform over the grammar's p_max data. The window t keeps the last t tokens before x_d
(x_{d-t} .. x_{d-1}, 1-based) and masks all others; ``window=None`` keeps the whole context (t = d - 1).

Predictor: BP with the masked leaves' likelihoods all ones (rhm_theory.theory.bp, leave-one-out marginal
of the last position). Optimum: H(x_d | window) = -sum_{w, x} P(w, x) log P(x | w), computed exactly,
never by sampling: the last t + 1 tokens lie inside the rightmost subtree whose root is at level lam
(the smallest lam with s**(lam - 1) >= t + 1; lam = L + 1 is the class). Given its root symbol b (prior
pi(b), exact), that subtree's leaves are uniform over the m**n_nodes(s, lam - 1) expansions of b, so
enumerating owners * m**n_nodes(s, lam - 1) strings (instead of p_max) gives the joint of the window
and x_d exactly. The enumeration is refused above ``max_items`` with a ValueError naming the bound.
"""

from __future__ import annotations

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import n_nodes
from rhm_theory.core.sampling import check_tokens
from rhm_theory.core.validation import check_int
from rhm_theory.theory.bp import token_marginals
from rhm_theory.theory.exact import class_token_probs, transition_counts

ENUMERATION_LIMIT = 2**22  # strings enumerated by optimal_loss (covering subtree expansions)


def check_window(grammar: Grammar, window) -> int:
    """The window as an int t in 0..d-1 (None -> d - 1), else ValueError."""
    if window is None:
        return grammar.d - 1
    t = check_int("window", window, minimum=0)
    if t > grammar.d - 1:
        raise ValueError(f"window must be in 0..d-1 = {grammar.d - 1} (tokens before the last one), got {t}")
    return t


def masked_likelihoods(grammar: Grammar, x, window=None) -> np.ndarray:
    """Per-leaf likelihoods (P, d, v) of tokens x (P, d): one-hot on the last ``window`` tokens before
    x_d, all ones (masked) elsewhere, including x_d itself (its value is never read)."""
    t = check_window(grammar, window)
    x = check_tokens(grammar, x)
    likelihoods = np.ones(x.shape + (grammar.v,))
    seen = slice(grammar.d - 1 - t, grammar.d - 1)
    likelihoods[:, seen, :] = np.eye(grammar.v)[x[:, seen]]
    return likelihoods


def predictive(grammar: Grammar, x, window=None) -> np.ndarray:
    """Exact P(x_d = mu | the last ``window`` tokens before it), array (P, v), from tokens x (P, d)
    (x_d and the tokens outside the window are ignored). Contexts of probability zero are an error.
    """
    return token_marginals(grammar, masked_likelihoods(grammar, x, window), leave_one_out=True)[:, -1, :]


def covering_level(grammar: Grammar, window=None) -> int:
    """Level lam of the root of the smallest rightmost subtree holding x_d and its window: the smallest
    lam with s**(lam - 1) >= t + 1 (1 = the token itself, L + 1 = the class)."""
    t = check_window(grammar, window)
    lam = 1
    while grammar.s ** (lam - 1) < t + 1:
        lam += 1
    return lam


def _root_prior(grammar: Grammar, lam: int) -> np.ndarray:
    """Prior (owners,) of the rightmost node at level lam (uniform over classes for lam = L + 1)."""
    if lam == grammar.L + 1:
        return np.full(grammar.n_c, 1.0 / grammar.n_c)
    return class_token_probs(grammar, grammar.s ** (grammar.L - lam + 1) - 1, level=lam).mean(axis=0)


def _subtree_strings(grammar: Grammar, lam: int, max_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(leaves (N, s**(lam-1)), probability (N,)) of every expansion of the rightmost level-lam node."""
    prior = _root_prior(grammar, lam)
    if lam == 1:
        return np.arange(grammar.v)[:, None], prior
    depth = lam - 1
    count = prior.size * grammar.m ** n_nodes(grammar.s, depth)
    if count > max_items:
        raise ValueError(
            f"optimal_loss would enumerate {count} expansions of a level-{lam} subtree: above max_items = {max_items}"
        )
    sub = Grammar.from_rules(grammar.rules[grammar.L - depth :], grammar.v) if lam <= grammar.L else grammar
    x, root = sub.enumerate(max_items=max_items)
    return x, prior[root] / grammar.m ** n_nodes(grammar.s, depth)


def _entropy(probabilities: np.ndarray) -> float:
    p = probabilities[probabilities > 0]
    return float(-(p * np.log(p)).sum())


def _grouped(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Total weight of each distinct row of ``rows`` (N, k)."""
    if rows.shape[1] == 0:
        return np.array([weights.sum()])
    _, inverse = np.unique(rows, axis=0, return_inverse=True)
    return np.bincount(inverse.ravel(), weights=weights)


def optimal_loss(grammar: Grammar, window=None, *, max_items=ENUMERATION_LIMIT) -> float:
    """Exact minimal expected cross-entropy (nats) of predicting x_d from the last ``window`` tokens
    before it (None: the whole context) = H(x_d | window) = H(window, x_d) - H(window), data uniform.

    Exact enumeration of the covering subtree (module docstring): cost owners * m**n_nodes(s, lam - 1)
    strings, refused above ``max_items`` (ValueError). For ``window=None`` that is all p_max data.
    """
    t = check_window(grammar, window)
    max_items = check_int("max_items", max_items, minimum=1)
    lam = covering_level(grammar, t)
    leaves, weights = _subtree_strings(grammar, lam, max_items)
    tail = leaves[:, leaves.shape[1] - t - 1 :]
    return _entropy(_grouped(tail, weights)) - _entropy(_grouped(tail[:, :-1], weights))


def optimal_losses(grammar: Grammar, *, max_items=ENUMERATION_LIMIT) -> np.ndarray:
    """H(x_d | last t tokens) for t = 0..d-1, float array (d,) (non-increasing in t)."""
    return np.array([optimal_loss(grammar, t, max_items=max_items) for t in range(grammar.d)])


# ----- token-token correlations by distance (one grammar, exact) --------------------------------------
def ancestor_level(grammar: Grammar, distance) -> int:
    """Level of the lowest common ancestor of x_d and the token ``distance`` places before it
    (2 = the parent of the last patch, L + 1 = the class); distance in 1..d-1."""
    distance = check_int("distance", distance, minimum=1)
    if distance > grammar.d - 1:
        raise ValueError(f"distance must be in 1..d-1 = {grammar.d - 1}, got {distance}")
    i, j, level = grammar.d - 1 - distance, grammar.d - 1, 1
    while i != j:
        i, j, level = i // grammar.s, j // grammar.s, level + 1
    return level


def _descent(grammar: Grammar, position: int, level: int) -> np.ndarray:
    """P(token at input ``position`` | its level-``level`` ancestor), (v, v), from the slot chain."""
    probs = np.identity(grammar.v)
    for k in range(grammar.L - level + 1, grammar.L):
        slot = (position // grammar.s ** (grammar.L - 1 - k)) % grammar.s
        probs = probs @ (transition_counts(grammar, k, slot) / grammar.m)
    return probs


def token_correlation(grammar: Grammar, distance) -> np.ndarray:
    """C(mu, nu) = P(x_{d-t} = mu, x_d = nu) - P(x_{d-t} = mu) P(x_d = nu), float (v, v), t = distance.

    Exact: the lowest common ancestor A (level lam = :func:`ancestor_level`, prior pi exact) emits
    the pair of children on the two paths with the counts of its rules (slots of the two paths),
    and each child descends independently by its chain of one-slot transition matrices.
    """
    lam = ancestor_level(grammar, distance)
    i, j = grammar.d - 1 - distance, grammar.d - 1
    k = grammar.L + 1 - lam  # rules[k] produces the level-(lam - 1) children of A
    slot_i, slot_j = ((p // grammar.s ** (lam - 2)) % grammar.s for p in (i, j))
    rules = grammar.rule_tables[k]
    pair = np.zeros((rules.shape[0], grammar.v, grammar.v))  # (owners, b, c): P(children | A)
    owners = np.repeat(np.arange(rules.shape[0]), grammar.m)
    np.add.at(pair, (owners, rules[:, :, slot_i].ravel(), rules[:, :, slot_j].ravel()), 1.0 / grammar.m)
    children = np.einsum("a,abc->bc", _root_prior(grammar, lam), pair)
    joint = _descent(grammar, i, lam - 1).T @ children @ _descent(grammar, j, lam - 1)
    return joint - np.outer(joint.sum(axis=1), joint.sum(axis=0))


def correlation_strength(grammar: Grammar, distance) -> float:
    """sum_{mu, nu} C(mu, nu)**2 for the pair (x_{d-t}, x_d) (see :func:`token_correlation`)."""
    return float((token_correlation(grammar, distance) ** 2).sum())


def resolvable_size(grammar: Grammar, distance) -> float:
    """Training-set size at which the correlation at ``distance`` rises above its sampling noise:
    P_t = 1 / sum C**2, since the empirical joint of P i.i.d. pairs has noise
    sum_{mu, nu} Var = (1 - sum_{mu,nu} P(mu, nu)**2) / P, i.e. about 1/P (docs/theory-next-token.md)."""
    return 1.0 / correlation_strength(grammar, distance)
