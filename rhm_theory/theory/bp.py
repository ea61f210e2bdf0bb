"""Exact belief propagation on the derivation tree: P(class | x), the marginal of every hidden node
and token, and exact posterior sampling of whole derivations (docs/theory.md, 'Exact Bayes posterior';
arXiv:2402.16991 §BP).

The grammar is a tree, so BP is exact. Upward pass: the message of a node for symbol a is::

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

from collections.abc import Iterator
from functools import lru_cache
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sampling import check_tokens
from rhm_theory.core.validation import as_generator

_CHUNK_ELEMENTS = 2**22  # gathered message entries per chunk of rows (bounds the working memory)


def _leaf_messages(grammar: Grammar, x: ArrayLike) -> tuple[np.ndarray, bool]:
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
    return (a.reshape(-1, a.shape[-1]) @ b).reshape((*a.shape[:-1], b.shape[-1]))


def normalise(messages: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Scale each message (last axis) to sum 1, adding the log of its sum to the row's log scale.

    Parameters
    ----------
    messages : ndarray of float, shape (P, nodes, n)
        Non-negative messages of the nodes of P inputs.
    log_scale : ndarray of float64, shape (P,)
        Log scale of each input, updated in place: the log of the sums of its messages is added, and it
        becomes -inf when one of its messages is all zero.

    Returns
    -------
    ndarray of float64, shape (P, nodes, n)
        The messages divided by their sums; zero stays zero.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory.theory import bp
    >>> log_scale = np.zeros(1)
    >>> bp.normalise(np.array([[[1.0, 3.0], [2.0, 2.0]]]), log_scale)
    array([[[0.25, 0.75],
            [0.5 , 0.5 ]]])
    >>> np.allclose(log_scale, np.log(4 * 4))
    True
    """
    total = _matmul(messages, np.ones((messages.shape[-1], 1)))[..., 0]  # a matmul: faster than sum() over a short axis
    log_scale += np.log(np.where(total > 0, total, 1.0)).sum(axis=-1)
    log_scale[(total == 0).any(axis=-1)] = -np.inf
    return messages / np.where(total > 0, total, 1.0)[..., None]


@overload
def _upward(
    grammar: Grammar, leaves: np.ndarray, clean: bool, keep: Literal[False] = False
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def _upward(
    grammar: Grammar, leaves: np.ndarray, clean: bool, keep: Literal[True]
) -> tuple[list[np.ndarray], np.ndarray]: ...
def _upward(
    grammar: Grammar, leaves: np.ndarray, clean: bool, keep: bool = False
) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
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


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only: a cached array shared by every caller cannot be modified in place."""
    array.setflags(write=False)
    return array


@lru_cache(maxsize=64)
def production_average(owners: int, m: int) -> np.ndarray:
    """Matrix averaging the m production entries of each owner (uniform rules).

    Parameters
    ----------
    owners : int
        Number of owners (symbols with productions).
    m : int
        Number of productions per owner.

    Returns
    -------
    ndarray of float64, shape (owners * m, owners)
        Entry [a*m + j, a] = 1/m, zero elsewhere. Cached and read-only: the same array is returned
        for the same arguments.

    Examples
    --------
    >>> from rhm_theory.theory import bp
    >>> bp.production_average(2, 2)
    array([[0.5, 0. ],
           [0.5, 0. ],
           [0. , 0.5],
           [0. , 0.5]])
    """
    return _read_only(np.kron(np.identity(owners), np.full((m, 1), 1.0 / m)))


@lru_cache(maxsize=16)
def production_weights(grammar: Grammar, k: int) -> np.ndarray:
    """Matrix summing the m production entries of each owner of ``rules[k]``, weighted by their probabilities.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    k : int
        Rules level, in ``range(L)``.

    Returns
    -------
    ndarray of float64, shape (owners * m, owners)
        ``W[a*m + j, a] = probs[k][a, j]``, zero elsewhere (:func:`production_average` for uniform
        rules). Cached and read-only.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> np.array_equal(bp.production_weights(g, 1), bp.production_average(4, 2))
    True
    >>> w = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)  # power-law rules
    >>> bp.production_weights(w, 1).sum(axis=0)  # each owner's probabilities sum to 1
    array([1., 1., 1., 1.])
    """
    owners = grammar.owners(k)
    if not grammar.weighted:
        return production_average(owners, grammar.m)
    weights = np.zeros((owners * grammar.m, owners))
    weights[np.arange(owners * grammar.m), np.repeat(np.arange(owners), grammar.m)] = grammar.probs[k].ravel()
    return _read_only(weights)


@lru_cache(maxsize=16)
def slot_selections(grammar: Grammar, k: int) -> list[np.ndarray]:
    """0/1 matrices S_i with S_i[b, a*m + j] = 1 iff slot i of production j of a is b.

    ``u @ S_i`` gathers the child messages of every production by one matrix product (exact: 0/1).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    k : int
        Rules level, in ``range(L)``.

    Returns
    -------
    list of ndarray of float64, shape (v, owners * m)
        S_i for each slot i in ``range(s)``; each column has a single 1. Cached and read-only.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp
    >>> rules = np.array([[[0, 1], [1, 1]], [[2, 0], [1, 2]]])  # class 0: (0, 1), (1, 1); class 1: (2, 0), (1, 2)
    >>> bp.slot_selections(Grammar.from_rules([rules], v=3), 0)[1]  # the symbols in slot 1: 1, 1, 0, 2
    array([[0., 0., 1., 0.],
           [1., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    rules = grammar.rule_tables[k]
    columns = np.arange(rules.shape[0] * grammar.m)
    selections = []
    for slot in range(grammar.s):
        selection = np.zeros((grammar.v, columns.size))
        selection[rules[:, :, slot].ravel(), columns] = 1.0
        selections.append(selection)
    return [_read_only(selection) for selection in selections]


def _chunks(grammar: Grammar, P: int) -> list[slice]:
    """Row slices of at most _CHUNK_ELEMENTS gathered message entries each."""
    width = max(grammar.n_c, grammar.v) * grammar.m * grammar.d
    chunk = max(1, _CHUNK_ELEMENTS // width)
    return [slice(start, min(start + chunk, P)) for start in range(0, P, chunk)]


def _run(grammar: Grammar, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    leaves, clean = _leaf_messages(grammar, x)
    P = leaves.shape[0]
    top = np.empty((P, grammar.n_c))
    log_scale = np.empty(P)
    for rows in _chunks(grammar, P):
        top[rows], log_scale[rows] = _upward(grammar, leaves[rows], clean)
    return top, log_scale


def check_on_impossible(on_impossible: str) -> None:
    """Check what to do with inputs of probability zero.

    Parameters
    ----------
    on_impossible : str
        "raise" or "nan".

    Raises
    ------
    ValueError
        If ``on_impossible`` is neither "raise" nor "nan".

    Examples
    --------
    >>> from rhm_theory.theory import bp
    >>> bp.check_on_impossible("nan")
    >>> bp.check_on_impossible("skip")
    Traceback (most recent call last):
        ...
    ValueError: on_impossible must be 'raise' or 'nan', got 'skip'
    """
    if on_impossible not in ("raise", "nan"):
        raise ValueError(f"on_impossible must be 'raise' or 'nan', got {on_impossible!r}")


def impossible_rows(top: np.ndarray, log_scale: np.ndarray, on_impossible: str, offset: int = 0) -> np.ndarray:
    """Flag the inputs of probability zero, raising for them when asked to.

    Parameters
    ----------
    top : ndarray of float, shape (P, n_c)
        Class messages of the upward pass.
    log_scale : ndarray of float, shape (P,)
        Log scales of the upward pass (-inf for an impossible input).
    on_impossible : {"raise", "nan"}
        "raise": raise if any input is impossible.
    offset : int, default 0
        Number of the first row, for the error message (the rows of a chunk).

    Returns
    -------
    ndarray of bool, shape (P,)
        True for the inputs of probability zero: a log scale that is not finite, or an all-zero class
        message.

    Raises
    ------
    ValueError
        If an input has probability zero and ``on_impossible="raise"``; the message names its rows,
        numbered from ``offset``.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory.theory import bp
    >>> bp.impossible_rows(np.array([[0.5, 0.5], [0.0, 0.0]]), np.zeros(2), "nan")
    array([False,  True])
    """
    impossible = ~np.isfinite(log_scale) | (top.sum(axis=1) == 0)
    if impossible.any() and on_impossible == "raise":
        rows = np.flatnonzero(impossible) + offset
        raise ValueError(
            f"{rows.size} inputs have probability zero under the grammar (rows {rows[:5].tolist()}...); "
            "pass on_impossible='nan' to get NaN posteriors for them"
        )
    return impossible


def posterior(grammar: Grammar, x: ArrayLike, on_impossible: str = "raise") -> np.ndarray:
    """Exact P(class | x) by belief propagation on the derivation tree.

    Cost: O(P * d * max(n_c, v) * m * s / (s - 1)).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : ndarray of int, shape (P, d), or ndarray of float, shape (P, d, v)
        Clean tokens, or per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (noisy or masked
        inputs; all ones for a masked token).
    on_impossible : {"raise", "nan"}, default "raise"
        What to do with inputs of probability zero under the grammar, which have no posterior: raise
        a ValueError naming them, or return NaN rows for them.

    Returns
    -------
    ndarray of float64, shape (P, n_c)
        P(class | x) of each input, each row summing to 1 (NaN rows for impossible inputs with
        ``on_impossible="nan"``).

    Raises
    ------
    ValueError
        If ``x`` is neither integer nor float, integer tokens do not have shape (P, d) or are not in
        ``range(v)``, or float likelihoods do not have shape (P, d, v) or are not finite and
        non-negative; if ``on_impossible`` is not "raise" or "nan"; or if an input has probability
        zero and ``on_impossible="raise"``.

    See Also
    --------
    rhm_theory.theory.exact.correlations : P(class | one observed token), from the rules.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp, exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()  # all p_max = 16 data
    >>> np.array_equal(bp.posterior(g, x).argmax(axis=1), y)  # clean data: the class is certain
    True

    With only token 1 observed, as each of the v symbols, the posterior is the token-class correlation:

    >>> likelihoods = np.ones((g.v, g.d, g.v))
    >>> likelihoods[:, 1] = np.eye(g.v)
    >>> post = np.ma.masked_invalid(bp.posterior(g, likelihoods, on_impossible="nan").T)
    >>> f = exact.correlations(g, 1)
    >>> np.array_equal(post.mask, f.mask) and np.allclose(post.filled(0), f.filled(0))
    True
    """
    check_on_impossible(on_impossible)
    top, log_scale = _run(grammar, x)
    top[impossible_rows(top, log_scale, on_impossible)] = np.nan
    return top


def log_evidence(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """The log probability log P(x) of each input under the grammar.

    The class is uniform and the productions have the probabilities ``grammar.probs``. For clean data
    of uniform rules every datum has P(x) = 1 / p_max (:func:`rhm_theory.theory.exact.datum_log_probs`
    for weighted rules).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : ndarray of int, shape (P, d), or ndarray of float, shape (P, d, v)
        Clean tokens, or per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (noisy or masked
        inputs; all ones for a masked token).

    Returns
    -------
    ndarray of float64, shape (P,)
        The log probability of each input; -inf for inputs of probability zero.

    Raises
    ------
    ValueError
        If ``x`` is neither integer nor float, integer tokens do not have shape (P, d) or are not in
        ``range(v)``, or float likelihoods do not have shape (P, d, v) or are not finite and
        non-negative.

    See Also
    --------
    rhm_theory.theory.exact.datum_log_probs : The same from the derivation, for data only.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp, exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()  # all p_max = 16 data
    >>> np.allclose(bp.log_evidence(g, x), -np.log(g.p_max))
    True
    >>> w = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)  # power-law rules, the same data
    >>> np.allclose(bp.log_evidence(w, x), exact.datum_log_probs(w, x))
    True
    >>> np.allclose(bp.log_evidence(g, np.ones((1, g.d, g.v))), 0.0)  # no evidence: P = 1
    True
    """
    top, log_scale = _run(grammar, x)
    with np.errstate(divide="ignore"):
        return log_scale + np.log(top.sum(axis=1)) - np.log(grammar.n_c)


def class_entropy(grammar: Grammar, x: ArrayLike, on_impossible: str = "raise") -> np.ndarray:
    """Entropy in nats of the exact posterior P(class | x) (0 for clean data).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : ndarray of int, shape (P, d), or ndarray of float, shape (P, d, v)
        Clean tokens, or per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (noisy or masked
        inputs; all ones for a masked token).
    on_impossible : {"raise", "nan"}, default "raise"
        What to do with inputs of probability zero under the grammar, which have no posterior: raise
        a ValueError naming them, or return NaN rows for them.

    Returns
    -------
    ndarray of float64, shape (P,)
        The entropy of each input's posterior; NaN for impossible inputs with ``on_impossible="nan"``.

    Raises
    ------
    ValueError
        If ``x`` is neither integer nor float, integer tokens do not have shape (P, d) or are not in
        ``range(v)``, or float likelihoods do not have shape (P, d, v) or are not finite and
        non-negative; if ``on_impossible`` is not "raise" or "nan"; or if an input has probability
        zero and ``on_impossible="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp
    >>> rules = np.array([[[0, 0], [1, 1]], [[0, 1], [1, 0]]])  # parity: class 0 is (0, 0) or (1, 1)
    >>> parity = Grammar.from_rules([rules], v=2)
    >>> np.allclose(bp.class_entropy(parity, parity.enumerate()[0]), 0.0)
    True
    >>> one_token = np.array([[[1.0, 0.0], [1.0, 1.0]]])  # token 0 is 0, token 1 masked
    >>> np.allclose(bp.class_entropy(parity, one_token), np.log(2))
    True
    """
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
    outside: list[np.ndarray] = [np.empty(0)] * (L + 1)  # every entry is set below
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


def _both_passes(
    grammar: Grammar, x: ArrayLike, on_impossible: str
) -> Iterator[tuple[slice, list[np.ndarray], list[np.ndarray], np.ndarray]]:
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


def node_marginals(grammar: Grammar, x: ArrayLike, on_impossible: str = "raise") -> list[np.ndarray]:
    """Exact marginals of every node of the derivation tree given the evidence x, bottom-up.

    Exact on the tree (upward and downward passes, arXiv:2402.16991 §BP); cost about three upward
    passes. Levels as in :mod:`rhm_theory.theory.exact`: level 1 = the d tokens, level l has
    s**(L - l + 1) positions.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : ndarray of int, shape (P, d), or ndarray of float, shape (P, d, v)
        Clean tokens, or per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (noisy or masked
        inputs; all ones for a masked token).
    on_impossible : {"raise", "nan"}, default "raise"
        What to do with inputs of probability zero under the grammar, which have no posterior: raise
        a ValueError naming them, or return NaN rows for them.

    Returns
    -------
    list of ndarray of float64
        L + 1 arrays: entry l - 1 is level l, shape (P, s**(L - l + 1), v); the last entry is the class,
        shape (P, 1, n_c). NaN for impossible inputs with ``on_impossible="nan"``.

    Raises
    ------
    ValueError
        If ``x`` is neither integer nor float, integer tokens do not have shape (P, d) or are not in
        ``range(v)``, or float likelihoods do not have shape (P, d, v) or are not finite and
        non-negative; if ``on_impossible`` is not "raise" or "nan"; or if an input has probability
        zero and ``on_impossible="raise"``.

    See Also
    --------
    token_marginals : The level-1 marginals only, optionally leaving each observation out.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp, exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()  # all p_max = 16 data
    >>> marginals = bp.node_marginals(g, x)
    >>> [marginal.shape for marginal in marginals]  # levels 1, 2 and the class
    [(16, 4, 4), (16, 2, 4), (16, 1, 2)]
    >>> np.allclose(marginals[-1][:, 0], bp.posterior(g, x))
    True
    >>> prior = bp.node_marginals(g, np.ones((1, g.d, g.v)))  # no evidence: the grammar's distribution
    >>> np.allclose(prior[1][0], exact.class_token_probs_all(g, level=2).mean(axis=1))
    True
    """
    P = _leaf_messages(grammar, x)[0].shape[0]
    out = [np.empty((P, grammar.s ** (grammar.L - i), grammar.v)) for i in range(grammar.L)]
    out.append(np.empty((P, 1, grammar.n_c)))
    for rows, upward, outside, impossible in _both_passes(grammar, x, on_impossible):
        for i in range(grammar.L + 1):
            out[i][rows] = _marginals_at(upward[i], outside[i], impossible)
    return out


def token_marginals(
    grammar: Grammar, x: ArrayLike, on_impossible: str = "raise", *, leave_one_out: bool = False
) -> np.ndarray:
    """Exact P(x_j = mu | evidence) for every position j.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : ndarray of int, shape (P, d), or ndarray of float, shape (P, d, v)
        Clean tokens, or per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (noisy or masked
        inputs; all ones for a masked token).
    on_impossible : {"raise", "nan"}, default "raise"
        What to do with inputs of probability zero under the grammar, which have no posterior: raise
        a ValueError naming them, or return NaN rows for them.
    leave_one_out : bool, default False
        Leave out each position's own observation: P(x_j = mu | the evidence at the other positions),
        the Bayes-optimal masked-token (inpainting) predictor of every position at once. Masking
        position j in x (all-ones likelihood) gives the same row j.

    Returns
    -------
    ndarray of float64, shape (P, d, v)
        The marginal of each token; NaN for impossible inputs with ``on_impossible="nan"``.

    Raises
    ------
    ValueError
        If ``x`` is neither integer nor float, integer tokens do not have shape (P, d) or are not in
        ``range(v)``, or float likelihoods do not have shape (P, d, v) or are not finite and
        non-negative; if ``on_impossible`` is not "raise" or "nan"; or if an input has probability
        zero and ``on_impossible="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp, exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()  # all p_max = 16 data
    >>> prior = bp.token_marginals(g, np.ones((1, g.d, g.v)))[0]  # no evidence
    >>> np.allclose(prior, exact.class_token_probs_all(g).mean(axis=1))
    True
    >>> masked = np.eye(g.v)[x]
    >>> masked[:, 2] = 1.0  # token 2 masked
    >>> np.allclose(bp.token_marginals(g, x, leave_one_out=True)[:, 2], bp.token_marginals(g, masked)[:, 2])
    True
    """
    P = _leaf_messages(grammar, x)[0].shape[0]
    out = np.empty((P, grammar.d, grammar.v))
    for rows, upward, outside, impossible in _both_passes(grammar, x, on_impossible):
        out[rows] = _marginals_at(np.ones_like(upward[0]) if leave_one_out else upward[0], outside[0], impossible)
    return out


def sample_posterior(
    grammar: Grammar, x: ArrayLike, seed: int | np.random.SeedSequence | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one complete derivation per row exactly from P(derivation | evidence x).

    The class is drawn from the posterior, then each node's production given its symbol with
    probability proportional to the product of its children's upward messages and its probability
    (forward filtering, backward sampling on the tree). With no evidence (all-ones likelihoods) this is
    the grammar's distribution (uniform over the p_max data for uniform rules); with clean tokens it
    returns them.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : ndarray of int, shape (P, d), or ndarray of float, shape (P, d, v)
        Clean tokens, or per-leaf likelihoods l_j(mu) = P(observation at j | x_j = mu) (noisy or masked
        inputs; all ones for a masked token).
    seed : int or numpy.random.Generator
        Seed (0 <= seed < 2**63) or generator of the draws.

    Returns
    -------
    tokens : ndarray of int64, shape (P, d)
        The tokens of the drawn derivations.
    labels : ndarray of int64, shape (P,)
        Their classes.

    Raises
    ------
    ValueError
        If ``x`` is neither integer nor float, integer tokens do not have shape (P, d) or are not in
        ``range(v)``, or float likelihoods do not have shape (P, d, v) or are not finite and
        non-negative; if ``seed`` is None or not an integer in 0..2**63 - 1; or if an input has
        probability zero.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import bp, exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()  # all p_max = 16 data
    >>> tokens, labels = bp.sample_posterior(g, x, seed=0)  # clean tokens are returned
    >>> np.array_equal(tokens, x) and np.array_equal(labels, y)
    True
    >>> tokens, labels = bp.sample_posterior(g, np.ones((5, g.d, g.v)), seed=0)  # data of the grammar
    >>> np.array_equal(bp.posterior(g, tokens).argmax(axis=1), labels)
    True
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
            symbols = np.take_along_axis(options, choice[..., None, None], axis=2)[:, :, 0, :].reshape(
                symbols.shape[0], -1
            )
        tokens[rows] = symbols
    return tokens, labels


def _draw(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``weights`` (..., n) drawn with probability proportional to it."""
    cumulative = np.cumsum(weights, axis=-1)
    u = rng.random(weights.shape[:-1]) * cumulative[..., -1]
    return np.minimum((cumulative <= u[..., None]).sum(axis=-1), weights.shape[-1] - 1)
