"""Exact belief propagation on the derivation tree: P(class | x), the marginal of every hidden node
and token, and exact posterior sampling of whole derivations (docs/theory.md, 'Exact Bayes posterior';
arXiv:2402.16991 §BP).

The grammar is a tree, so BP is exact. Upward pass: the message of a node for symbol a is
    u(a) = sum over a's productions j = (b_1..b_s) of probs[k][a, j] prod_i u_i(b_i)
(probs[k][a, j] = 1/m for uniform rules; weighted, e.g. power-law, rules as in arXiv:2505.07067),
starting from per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (one-hot for clean tokens,
all ones for a masked token). Downward pass: the outside message of slot i of a node is the
parent's outside message times the production's probability and the upward messages of the other
s - 1 slots, summed over the productions; a node's marginal is proportional to outside * upward. Messages are renormalised at
every node (the log of each upward scale is kept for the evidence), so nothing under- or overflows
up to L = 12 and beyond. Classes have a uniform prior.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rhm_theory.core.sampling import check_tokens
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.validation import as_generator

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


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (..., n) @ b (n, k) as one 2-D matrix product (numpy's stacked matmul is many times slower)."""
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + (b.shape[-1],))


def normalise(messages: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Scale each message (last axis) to sum 1, adding log(sum) to log_scale (P,); zero stays zero."""
    total = _matmul(messages, np.ones((messages.shape[-1], 1)))[..., 0]  # a matmul: faster than sum() over a short axis
    log_scale += np.log(np.where(total > 0, total, 1.0)).sum(axis=-1)
    log_scale[(total == 0).any(axis=-1)] = -np.inf
    return messages / np.where(total > 0, total, 1.0)[..., None]


def _upward(grammar: Grammar, leaves: np.ndarray, clean: bool, keep: bool = False):
    """Upward pass for a chunk: (class messages (P, n_c) normalised, log scale (P,)).

    ``keep=True`` (likelihood leaves only) returns instead the list of normalised messages of every
    level, bottom-up: [leaves (P, d, v), ..., level L (P, s, v), class (P, 1, n_c)], and the log scale.
    """
    P, s, m = leaves.shape[0], grammar.s, grammar.m
    log_scale = np.zeros(P)
    k_first = grammar.L - 1
    if clean:  # one-hot leaves: the bottom message is one-hot on the unique owner of the patch (0 if none), the
        # production's probability (1/m for uniform rules) going into the log scale
        production, found = grammar.find_productions(k_first, leaves.reshape(P, grammar.d // s, s))
        messages = np.zeros((P, found.shape[1], grammar.owners(k_first)))
        rows, patches = np.nonzero(found)
        messages[rows, patches, production[found] // m] = 1.0
        if grammar.weighted:
            with np.errstate(divide="ignore"):  # a production of probability 0: log 0 = -inf
                log_scale += np.log(np.where(found, grammar.probs[k_first].ravel()[production], 1.0)).sum(axis=1)
        else:
            log_scale -= np.log(m) * found.shape[1]
        log_scale[~found.all(axis=1)] = -np.inf
        levels = range(k_first - 1, -1, -1)
    else:  # divide by the largest entry first: sums of likelihoods near the float maximum stay finite
        peak = leaves.max(axis=-1, keepdims=True)
        peak = np.where(peak > 0, peak, 1.0)
        log_scale += np.log(peak).sum(axis=(1, 2))
        messages = normalise(leaves / peak, log_scale)
        levels = range(k_first, -1, -1)
    kept = [messages]
    for k in levels:
        children = messages.reshape(P, messages.shape[1] // s, s, messages.shape[-1])
        selections = slot_selections(grammar, k)
        product = _matmul(children[:, :, 0, :], selections[0])  # (P, parents, owners * m)
        for slot in range(1, s):
            product *= _matmul(children[:, :, slot, :], selections[slot])
        messages = normalise(_matmul(product, production_weights(grammar, k)), log_scale)
        kept.append(messages)
    return (kept if keep else messages[:, 0, :]), log_scale


@lru_cache(maxsize=64)
def production_average(owners: int, m: int) -> np.ndarray:
    """(owners * m, owners) matrix averaging the m production entries of each owner (uniform rules)."""
    return np.kron(np.identity(owners), np.full((m, 1), 1.0 / m))


@lru_cache(maxsize=16)
def production_weights(grammar: Grammar, k: int) -> np.ndarray:
    """(owners * m, owners) matrix W[a*m + j, a] = probs[k][a, j]: sums the m production entries of each
    owner weighted by their probabilities (:func:`production_average` for uniform rules)."""
    owners = grammar.owners(k)
    if not grammar.weighted:
        return production_average(owners, grammar.m)
    weights = np.zeros((owners * grammar.m, owners))
    weights[np.arange(owners * grammar.m), np.repeat(np.arange(owners), grammar.m)] = grammar.probs[k].ravel()
    return weights


@lru_cache(maxsize=16)
def slot_selections(grammar: Grammar, k: int) -> list[np.ndarray]:
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


def _chunks(grammar: Grammar, P: int):
    """Row slices of at most _CHUNK_ELEMENTS gathered message entries each."""
    width = max(grammar.n_c, grammar.v) * grammar.m * grammar.d
    chunk = max(1, _CHUNK_ELEMENTS // width)
    return [slice(start, min(start + chunk, P)) for start in range(0, P, chunk)]


def _run(grammar: Grammar, x) -> tuple[np.ndarray, np.ndarray]:
    leaves, clean = _leaf_messages(grammar, x)
    P = leaves.shape[0]
    top = np.empty((P, grammar.n_c))
    log_scale = np.empty(P)
    for rows in _chunks(grammar, P):
        top[rows], log_scale[rows] = _upward(grammar, leaves[rows], clean)
    return top, log_scale


def check_on_impossible(on_impossible: str) -> None:
    """Raise unless ``on_impossible`` is "raise" or "nan" (what to do with inputs of probability zero)."""
    if on_impossible not in ("raise", "nan"):
        raise ValueError(f"on_impossible must be 'raise' or 'nan', got {on_impossible!r}")


def impossible_rows(top: np.ndarray, log_scale: np.ndarray, on_impossible: str, offset: int = 0) -> np.ndarray:
    """Boolean (P,) of inputs of probability zero; raises for them (rows numbered from ``offset``)
    when ``on_impossible="raise"``."""
    impossible = ~np.isfinite(log_scale) | (top.sum(axis=1) == 0)
    if impossible.any() and on_impossible == "raise":
        rows = np.flatnonzero(impossible) + offset
        raise ValueError(
            f"{rows.size} inputs have probability zero under the grammar (rows {rows[:5].tolist()}...); "
            "pass on_impossible='nan' to get NaN posteriors for them"
        )
    return impossible


def posterior(grammar: Grammar, x, on_impossible: str = "raise") -> np.ndarray:
    """Exact P(class | x), array (P, n_c).

    x: clean tokens (P, d) int, or per-leaf likelihoods (P, d, v) float (noisy or masked inputs).
    Inputs of probability zero under the grammar have no posterior: ``on_impossible="raise"``
    (default) raises ValueError naming them, ``"nan"`` returns NaN rows for them.
    Cost: O(P * d * max(n_c, v) * m * s / (s - 1)).
    """
    check_on_impossible(on_impossible)
    top, log_scale = _run(grammar, x)
    top[impossible_rows(top, log_scale, on_impossible)] = np.nan
    return top


def log_evidence(grammar: Grammar, x) -> np.ndarray:
    """log P(x) under the grammar (uniform class, productions with grammar.probs), array (P,); -inf if impossible.

    For clean data of uniform rules every datum has P(x) = 1 / p_max (rhm_theory.theory.exact.datum_log_probs
    for weighted rules).
    """
    top, log_scale = _run(grammar, x)
    with np.errstate(divide="ignore"):
        return log_scale + np.log(top.sum(axis=1)) - np.log(grammar.n_c)


def class_entropy(grammar: Grammar, x, on_impossible: str = "raise") -> np.ndarray:
    """Entropy in nats of the exact posterior P(class | x), array (P,) (0 for clean data)."""
    post = posterior(grammar, x, on_impossible=on_impossible)
    entropy = -np.where(post > 0, post * np.log(np.where(post > 0, post, 1.0)), 0.0).sum(axis=1)
    entropy[np.isnan(post).any(axis=1)] = np.nan
    return entropy


# ----- both passes: marginals of every node, and exact posterior sampling ---------------------------


def _likelihood_chunk(grammar: Grammar, leaves: np.ndarray, clean: bool, rows: slice) -> np.ndarray:
    """Per-leaf likelihoods (chunk, d, v) float64 of a chunk of rows (clean tokens become one-hot)."""
    if clean:
        return np.eye(grammar.v)[leaves[rows]]
    return leaves[rows]


def _scaled(messages: np.ndarray) -> np.ndarray:
    """Each message (last axis) divided by its sum; all-zero messages stay zero."""
    total = messages.sum(axis=-1, keepdims=True)
    return messages / np.where(total > 0, total, 1.0)


def _downward(grammar: Grammar, upward: list[np.ndarray]) -> list[np.ndarray]:
    """Outside messages, bottom-up like ``upward``: out[i][p, node, a] is proportional to
    P(node = a, evidence outside the node's subtree); out[L] is the uniform class prior.

    The message to slot i of a production is the parent's outside message times the upward
    messages of the other s - 1 slots, summed over the productions that put each symbol in slot i.
    """
    L, s, m = grammar.L, grammar.s, grammar.m
    outside = [None] * (L + 1)
    outside[L] = np.full_like(upward[L], 1.0 / grammar.n_c)
    for i in range(L - 1, -1, -1):
        k = L - 1 - i  # rules[k] produces the level-i nodes from the level-(i + 1) ones
        selections = slot_selections(grammar, k)
        parents = outside[i + 1]
        P, n_parents, _ = parents.shape
        children = upward[i].reshape(P, n_parents, s, -1)
        gathered = [_matmul(children[:, :, slot, :], selections[slot]) for slot in range(s)]  # (P, parents, owners * m)
        base = np.repeat(parents, m, axis=-1)
        if grammar.weighted:  # (uniform rules: the common factor 1/m cancels in the normalisation)
            base = base * grammar.probs[k].ravel()
        prefix = [base]
        for slot in range(s - 1):
            prefix.append(prefix[-1] * gathered[slot])
        suffix = np.ones_like(base)
        messages = np.empty_like(children)
        for slot in range(s - 1, -1, -1):
            messages[:, :, slot, :] = _matmul(prefix[slot] * suffix, selections[slot].T)
            suffix = suffix * gathered[slot]
        outside[i] = _scaled(messages.reshape(P, n_parents * s, -1))
    return outside


def _both_passes(grammar: Grammar, x, on_impossible: str):
    """Yield (rows, upward, outside, impossible) per chunk of rows: the messages of both passes."""
    check_on_impossible(on_impossible)
    leaves, clean = _leaf_messages(grammar, x)
    for rows in _chunks(grammar, leaves.shape[0]):
        upward, log_scale = _upward(grammar, _likelihood_chunk(grammar, leaves, clean, rows), False, keep=True)
        impossible = impossible_rows(upward[-1][:, 0, :], log_scale, on_impossible, offset=rows.start)
        yield rows, upward, _downward(grammar, upward), impossible


def _marginals_at(upward: np.ndarray, outside: np.ndarray, impossible: np.ndarray) -> np.ndarray:
    marginal = _scaled(upward * outside)
    marginal[impossible] = np.nan
    return marginal


def node_marginals(grammar: Grammar, x, on_impossible: str = "raise") -> list[np.ndarray]:
    """Exact marginals of every node of the derivation tree given the evidence x, bottom-up.

    Returns a list of L + 1 float arrays: entry l - 1 is level l (docs of rhm_theory.theory.exact:
    level 1 = the d tokens, level l has s**(L - l + 1) positions), shape (P, s**(L-l+1), v); the last
    entry is the class, shape (P, 1, n_c). x as in :func:`posterior` (tokens, or likelihoods (P, d, v)
    with all ones for a masked token). Exact on the tree (upward and downward passes, arXiv:2402.16991
    §BP); cost about three upward passes.
    """
    P = _leaf_messages(grammar, x)[0].shape[0]
    out = [np.empty((P, grammar.s ** (grammar.L - i), grammar.v)) for i in range(grammar.L)]
    out.append(np.empty((P, 1, grammar.n_c)))
    for rows, upward, outside, impossible in _both_passes(grammar, x, on_impossible):
        for i in range(grammar.L + 1):
            out[i][rows] = _marginals_at(upward[i], outside[i], impossible)
    return out


def token_marginals(grammar: Grammar, x, on_impossible: str = "raise", *, leave_one_out: bool = False) -> np.ndarray:
    """Exact P(x_j = mu | evidence), array (P, d, v), for every position j.

    ``leave_one_out=True`` leaves out each position's own observation: P(x_j = mu | the evidence at
    the other positions), the Bayes-optimal masked-token (inpainting) predictor of every position at
    once. Masking position j in x (all-ones likelihood) gives the same row j.
    """
    P = _leaf_messages(grammar, x)[0].shape[0]
    out = np.empty((P, grammar.d, grammar.v))
    for rows, upward, outside, impossible in _both_passes(grammar, x, on_impossible):
        out[rows] = _marginals_at(np.ones_like(upward[0]) if leave_one_out else upward[0], outside[0], impossible)
    return out


def sample_posterior(grammar: Grammar, x, seed) -> tuple[np.ndarray, np.ndarray]:
    """Draw one complete derivation per row exactly from P(derivation | evidence x).

    Returns (tokens (P, d) int64, labels (P,) int64). The class is drawn from the posterior, then
    each node's production given its symbol with probability proportional to the product of its
    children's upward messages and its probability (forward filtering, backward sampling on the tree).
    With no evidence (all-ones likelihoods) this is the grammar's distribution (uniform over the p_max
    data for uniform rules); with clean tokens it returns them. ``seed``: int or numpy Generator. Inputs of probability zero are an error.
    """
    rng = as_generator(seed)
    leaves, clean = _leaf_messages(grammar, x)
    P, L, s = leaves.shape[0], grammar.L, grammar.s
    tokens = np.empty((P, grammar.d), dtype=np.int64)
    labels = np.empty(P, dtype=np.int64)
    for rows in _chunks(grammar, P):
        upward, log_scale = _upward(grammar, _likelihood_chunk(grammar, leaves, clean, rows), False, keep=True)
        impossible_rows(upward[-1][:, 0, :], log_scale, "raise", offset=rows.start)
        symbols = _draw(upward[L][:, 0, :], rng)[:, None]  # (chunk, 1)
        labels[rows] = symbols[:, 0]
        for i in range(L - 1, -1, -1):
            children = upward[i].reshape(symbols.shape[0], symbols.shape[1], s, -1)
            options = grammar.rule_tables[L - 1 - i][symbols]  # (chunk, parents, m, s)
            weights = grammar.probs[L - 1 - i][symbols] if grammar.weighted else np.ones(options.shape[:3])
            for slot in range(s):
                weights *= np.take_along_axis(children[:, :, slot, :], options[..., slot], axis=-1)
            choice = _draw(weights, rng)
            symbols = np.take_along_axis(options, choice[..., None, None], axis=2)[:, :, 0, :].reshape(symbols.shape[0], -1)
        tokens[rows] = symbols
    return tokens, labels


def _draw(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``weights`` (..., n) drawn with probability proportional to it."""
    cumulative = np.cumsum(weights, axis=-1)
    u = rng.random(weights.shape[:-1]) * cumulative[..., -1]
    return np.minimum((cumulative <= u[..., None]).sum(axis=-1), weights.shape[-1] - 1)
