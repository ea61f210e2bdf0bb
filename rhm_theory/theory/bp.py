"""Exact Bayes posterior P(class | x) by belief propagation on the derivation tree (THEORY §5).

The grammar is a tree, so the upward pass is exact: the message of a node for symbol a is
    u(a) = (1/m) sum over a's productions (b_1..b_s) of prod_i u_i(b_i),
starting from per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (one-hot for clean tokens,
all ones for a masked token). Messages are renormalised at every node and the log of each scale is
kept, so nothing under- or overflows up to L = 10 and beyond. Classes have a uniform prior.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rhm_theory.core.sampling import check_tokens
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import tuples_to_codes

_CHUNK_ELEMENTS = 2**22  # gathered message entries per chunk of rows (bounds the working memory)


def _leaf_messages(grammar: Grammar, x) -> tuple[np.ndarray, bool]:
    """Validate input; return (tokens (P, d) int64, True) or (likelihoods (P, d, v) float64, False)."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        return check_tokens(grammar, x), True
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be integer tokens (P, d) or float likelihoods (P, d, v), got dtype {x.dtype}")
    if x.ndim != 3 or x.shape[1:] != (grammar.d, grammar.v):
        raise ValueError(f"likelihoods must have shape (P, d={grammar.d}, v={grammar.v}), got {x.shape}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("likelihoods must be finite and non-negative")
    return x.astype(np.float64), False


def _normalise(messages: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Scale each message (last axis) to sum 1, adding log(sum) to log_scale (P,); zero stays zero."""
    total = messages @ np.ones(messages.shape[-1])  # a matmul: faster than sum() over a short axis
    log_scale += np.log(np.where(total > 0, total, 1.0)).sum(axis=-1)
    log_scale[(total == 0).any(axis=-1)] = -np.inf
    return messages / np.where(total > 0, total, 1.0)[..., None]


def _upward(grammar: Grammar, leaves: np.ndarray, clean: bool) -> tuple[np.ndarray, np.ndarray]:
    """Upward pass for a chunk: (class messages (P, n_c) normalised, log scale (P,))."""
    P, s, m = leaves.shape[0], grammar.s, grammar.m
    log_scale = np.zeros(P)
    k_first = grammar.L - 1
    if clean:  # one-hot leaves: the bottom message is 1/m on the unique owner of the patch, else 0
        sorted_codes, production = grammar.tuple_lookup[k_first]
        codes = tuples_to_codes(leaves.reshape(P, grammar.d // s, s), grammar.v)
        where = np.searchsorted(sorted_codes, codes).clip(max=sorted_codes.size - 1)
        found = sorted_codes[where] == codes
        owners = grammar.owners(k_first)
        messages = np.zeros((P, codes.shape[1], owners))
        rows, patches = np.nonzero(found)
        messages[rows, patches, production[where[found]] // m] = 1.0
        log_scale -= np.log(m) * codes.shape[1]
        log_scale[~found.all(axis=1)] = -np.inf
        levels = range(k_first - 1, -1, -1)
    else:
        messages = _normalise(leaves, log_scale)
        levels = range(k_first, -1, -1)
    for k in levels:
        children = messages.reshape(P, messages.shape[1] // s, s, messages.shape[-1])
        selections = _slot_selections(grammar, k)
        product = children[:, :, 0, :] @ selections[0]  # (P, parents, owners * m)
        for slot in range(1, s):
            product *= children[:, :, slot, :] @ selections[slot]
        messages = _normalise(product @ _production_average(grammar.owners(k), m), log_scale)
    return messages[:, 0, :], log_scale


@lru_cache(maxsize=64)
def _production_average(owners: int, m: int) -> np.ndarray:
    """(owners * m, owners) matrix averaging the m production entries of each owner."""
    return np.kron(np.identity(owners), np.full((m, 1), 1.0 / m))


@lru_cache(maxsize=16)
def _slot_selections(grammar: Grammar, k: int) -> list[np.ndarray]:
    """0/1 matrices S_i (v, owners * m) with S_i[b, a*m + j] = 1 iff slot i of production j of a is b.

    ``u @ S_i`` gathers the child messages of every production by one matrix product (exact: 0/1).
    """
    rules = grammar.rule_tables[k]
    columns = np.arange(rules.shape[0] * grammar.m)
    selections = []
    for slot in range(grammar.s):
        selection = np.zeros((grammar.v, columns.size))
        selection[rules[:, :, slot].ravel(), columns] = 1.0
        selections.append(selection)
    return selections


def _run(grammar: Grammar, x) -> tuple[np.ndarray, np.ndarray]:
    leaves, clean = _leaf_messages(grammar, x)
    P = leaves.shape[0]
    width = max(grammar.n_c, grammar.v) * grammar.m * grammar.d
    chunk = max(1, _CHUNK_ELEMENTS // width)
    top = np.empty((P, grammar.n_c))
    log_scale = np.empty(P)
    for start in range(0, P, chunk):
        top[start : start + chunk], log_scale[start : start + chunk] = _upward(grammar, leaves[start : start + chunk], clean)
    return top, log_scale


def posterior(grammar: Grammar, x, on_impossible: str = "raise") -> np.ndarray:
    """Exact P(class | x), array (P, n_c).

    x: clean tokens (P, d) int, or per-leaf likelihoods (P, d, v) float (noisy or masked inputs).
    Inputs of probability zero under the grammar have no posterior: ``on_impossible="raise"``
    (default) raises ValueError naming them, ``"nan"`` returns NaN rows for them.
    Cost: O(P * d * max(n_c, v) * m * s / (s - 1)).
    """
    if on_impossible not in ("raise", "nan"):
        raise ValueError(f"on_impossible must be 'raise' or 'nan', got {on_impossible!r}")
    top, log_scale = _run(grammar, x)
    impossible = ~np.isfinite(log_scale) | (top.sum(axis=1) == 0)
    if impossible.any():
        if on_impossible == "raise":
            rows = np.flatnonzero(impossible)
            raise ValueError(
                f"{rows.size} inputs have probability zero under the grammar (rows {rows[:5].tolist()}...); "
                "pass on_impossible='nan' to get NaN posteriors for them"
            )
        top[impossible] = np.nan
    return top


def log_evidence(grammar: Grammar, x) -> np.ndarray:
    """log P(x) under the grammar (uniform class, uniform productions), array (P,); -inf if impossible.

    For clean data every datum has P(x) = 1 / p_max.
    """
    top, log_scale = _run(grammar, x)
    with np.errstate(divide="ignore"):
        return log_scale + np.log(top.sum(axis=1)) - np.log(grammar.n_c)
