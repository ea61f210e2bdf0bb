"""Next-token prediction on RHM data: the Bayes-optimal predictor of the last token x_d from the
tokens before it, and the exact minimal cross-entropy for every context window (docs/theory-next-token.md;
Cagnetta and Wyart, arXiv:2406.00048 §2).

Data follow the grammar's distribution: uniform over its p_max data, or weighted by its rule probabilities
(grammar.probs, e.g. the power-law rules of arXiv:2505.07067). The window t keeps the last t tokens before x_d
(x_{d-t} .. x_{d-1}, 1-based) and masks all others; ``window=None`` keeps the whole context (t = d - 1).

Predictor: BP with the masked leaves' likelihoods all ones (rhm_theory.theory.bp, leave-one-out marginal
of the last position). Optimum: H(x_d | window) = -sum_{w, x} P(w, x) log P(x | w), computed exactly,
never by sampling: the last t + 1 tokens lie inside the rightmost subtree whose root is at level lam
(the smallest lam with s**(lam - 1) >= t + 1; lam = L + 1 is the class). Given its root symbol b (prior
pi(b), exact), that subtree's leaves range over the m**n_nodes(s, lam - 1) expansions of b, each with the
product of its productions' probabilities (uniform for uniform rules), so enumerating
owners * m**n_nodes(s, lam - 1) strings (instead of p_max) gives the joint of the window and x_d exactly. The enumeration is refused above ``max_items`` with a ValueError naming the bound.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rule_probs import production_log_probs
from rhm_theory.core.rules import n_nodes
from rhm_theory.core.sampling import check_tokens
from rhm_theory.core.validation import (
    MAX_NEXT_TOKEN_D,
    MAX_RULE_ENTRIES,
    check_choice,
    check_instance,
    check_int,
    shown,
)
from rhm_theory.theory.bp import token_marginals
from rhm_theory.theory.exact import class_token_probs, transition_probs

ENUMERATION_LIMIT = 2**22  # strings enumerated by optimal_loss (covering subtree expansions)
ENUMERATION_TOKEN_LIMIT = 2**26  # their tokens (strings x s**(lam - 1))


def check_grammar(grammar: object) -> Grammar:
    """Return ``grammar`` if it is a dense Grammar (the sparse RHM has no next-token theory).

    Parameters
    ----------
    grammar : object
        The value to check.

    Returns
    -------
    Grammar
        ``grammar`` itself.

    Raises
    ------
    ValueError
        If ``grammar`` is not a :class:`~rhm_theory.core.grammar.Grammar`.

    Examples
    --------
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import check_grammar
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> check_grammar(grammar) is grammar
    True
    >>> check_grammar("G")
    Traceback (most recent call last):
    ...
    ValueError: grammar must be a dense rhm_theory Grammar (the next-token theory has no sparse RHM), got str
    """
    return check_instance(
        "grammar", grammar, Grammar, "a dense rhm_theory Grammar (the next-token theory has no sparse RHM)"
    )


def check_window(grammar: Grammar, window: int | None) -> int:
    """Return the window as an int t in 0..d-1 (None gives d - 1).

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    window : int or None
        The number t of tokens before x_d that are seen, in 0..d-1 (None: the whole context, t = d - 1).

    Returns
    -------
    int
        The window t.

    Raises
    ------
    ValueError
        If ``grammar`` is not a dense Grammar or ``window`` is not an integer in 0..d-1.

    Examples
    --------
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import check_window
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> check_window(grammar, None), check_window(grammar, 2)
    (3, 2)
    """
    check_grammar(grammar)
    if window is None:
        return grammar.d - 1
    t = check_int("window", window, minimum=0)
    if t > grammar.d - 1:
        raise ValueError(f"window must be in 0..d-1 = {grammar.d - 1} (tokens before the last one), got {shown(t)}")
    return t


def masked_likelihoods(grammar: Grammar, x: ArrayLike, window: int | None = None) -> np.ndarray:
    """Per-leaf likelihoods of tokens x with every token outside the window masked.

    One-hot on the last ``window`` tokens before x_d, all ones (masked) elsewhere, including x_d
    itself (its value is never read).

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    x : ndarray of int, shape (P, d)
        Tokens in range(v).
    window : int or None, default None
        The number t of tokens before x_d that are seen, in 0..d-1 (None: the whole context, t = d - 1).

    Returns
    -------
    ndarray of float, shape (P, d, v)
        The likelihoods.

    Raises
    ------
    ValueError
        If ``grammar`` is not a dense Grammar, ``window`` is not in 0..d-1, or ``x`` is not an integer
        array of shape (P, d) with entries in range(v).

    Examples
    --------
    With window 1 only x_{d-1} (position 2 of 0..3) is seen: its row sums to 1, the masked rows to v.

    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import masked_likelihoods
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> x, _ = grammar.enumerate()
    >>> likelihoods = masked_likelihoods(grammar, x, window=1)
    >>> likelihoods.shape, likelihoods[0].sum(axis=1)
    ((16, 4, 3), array([3., 3., 1., 3.]))
    """
    t = check_window(grammar, window)
    x = check_tokens(grammar, x)
    likelihoods = np.ones((*x.shape, grammar.v))
    seen = slice(grammar.d - 1 - t, grammar.d - 1)
    likelihoods[:, seen, :] = np.eye(grammar.v)[x[:, seen]]
    return likelihoods


def predictive(grammar: Grammar, x: ArrayLike, window: int | None = None, on_impossible: str = "raise") -> np.ndarray:
    """Exact ``P(x_d = mu | the last window tokens before it)`` for every row of tokens x.

    BP with the masked leaves' likelihoods all ones (:func:`masked_likelihoods`), the leave-one-out
    marginal of the last position; x_d and the tokens outside the window are ignored
    (docs/theory-next-token.md, 'The Bayes-optimal predictor').

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    x : ndarray of int, shape (P, d)
        Tokens in range(v).
    window : int or None, default None
        The number t of tokens before x_d that are seen, in 0..d-1 (None: the whole context, t = d - 1).
    on_impossible : {"raise", "nan"}, default "raise"
        What a context of probability zero under the grammar gives: a ValueError, or a row of NaN
        (as in :func:`rhm_theory.theory.bp.token_marginals`).

    Returns
    -------
    ndarray of float, shape (P, v)
        The predictive probabilities of x_d.

    Raises
    ------
    ValueError
        If ``grammar``, ``x``, ``window`` or ``on_impossible`` is invalid (as in
        :func:`masked_likelihoods`), or, with ``on_impossible="raise"``, a context has probability
        zero under the grammar.

    Examples
    --------
    Each row sums to one; with window 0 every row is the exact marginal of x_d.

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.exact import class_token_probs
    >>> from rhm_theory.theory.next_token import predictive
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> x, _ = grammar.enumerate()
    >>> probs = predictive(grammar, x, window=1)
    >>> probs.shape, np.allclose(probs.sum(axis=1), 1)
    ((16, 3), True)
    >>> marginal = class_token_probs(grammar, grammar.d - 1).mean(axis=0)
    >>> np.allclose(predictive(grammar, x, window=0), marginal)
    True
    """
    likelihoods = masked_likelihoods(grammar, x, window)
    return token_marginals(grammar, likelihoods, on_impossible, leave_one_out=True)[:, -1, :]


def covering_level(grammar: Grammar, window: int | None = None) -> int:
    """Level lam of the root of the smallest rightmost subtree holding x_d and its window.

    lam is the smallest level with ``s**(lam - 1) >= t + 1`` (1 = the token itself, L + 1 = the class).

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    window : int or None, default None
        The number t of tokens before x_d that are seen, in 0..d-1 (None: the whole context, t = d - 1).

    Returns
    -------
    int
        The level lam, in 1..L+1.

    Raises
    ------
    ValueError
        If ``grammar`` is not a dense Grammar or ``window`` is not in 0..d-1.

    Examples
    --------
    At s = 2, L = 2: t = 0 needs only x_d, t = 1 its parent, t = 2 and 3 the class.

    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import covering_level
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> [covering_level(grammar, t) for t in range(grammar.d)]
    [1, 2, 3, 3]
    """
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
    """(leaves (N, s**(lam-1)), probability (N,)) of every expansion of the rightmost level-lam node;
    ValueError, before anything is enumerated, above ``max_items`` strings or ENUMERATION_TOKEN_LIMIT tokens."""
    if lam == 1:
        return np.arange(grammar.v)[:, None], _root_prior(grammar, lam)
    depth = lam - 1
    count = grammar.owners(grammar.L - depth) * grammar.m ** n_nodes(grammar.s, depth)
    if count > max_items:
        raise ValueError(
            f"optimal_loss would enumerate {shown(count)} expansions of a level-{lam} subtree: above max_items = {max_items}"
        )
    if count * grammar.s**depth > ENUMERATION_TOKEN_LIMIT:
        raise ValueError(
            f"optimal_loss would enumerate {count} expansions of {grammar.s**depth} tokens (level-{lam} subtree): "
            f"above ENUMERATION_TOKEN_LIMIT = 2**{ENUMERATION_TOKEN_LIMIT.bit_length() - 1} tokens"
        )
    prior = _root_prior(grammar, lam)
    levels = slice(grammar.L - depth, grammar.L)
    sub = (
        Grammar.from_rules(grammar.rules[levels], grammar.v, probs=grammar.probs[levels])
        if lam <= grammar.L
        else grammar
    )
    x, root = sub.enumerate(max_items=max_items)
    if grammar.weighted:
        return x, prior[root] * np.exp(production_log_probs(sub, x))
    return x, prior[root] / grammar.m ** n_nodes(grammar.s, depth)


def _entropy(probabilities: np.ndarray) -> float:
    p = probabilities[probabilities > 0]
    return float(-(p * np.log(p)).sum())


def _suffix_entropies(leaves: np.ndarray, weights: np.ndarray, longest: int) -> list[float]:
    """H(last k tokens of the strings ``leaves`` (N, n), weights (N,)) for k = 0..longest: the groups of
    the suffixes of length k + 1 refine those of length k by one token, so each k costs one sort of N."""
    groups = np.zeros(leaves.shape[0], dtype=np.int64)
    entropies = [_entropy(np.array([weights.sum()]))]
    for k in range(1, longest + 1):
        _, groups = np.unique(groups * (int(leaves[:, -k].max()) + 1) + leaves[:, -k], return_inverse=True)
        groups = groups.ravel()
        entropies.append(_entropy(np.bincount(groups, weights=weights)))
    return entropies


def _conditional_entropies(leaves: np.ndarray, weights: np.ndarray, longest: int) -> np.ndarray:
    """H(x_d | the t tokens before it) = H(last t + 1 tokens) - H(the t before the last), t = 0..longest."""
    joint = _suffix_entropies(leaves, weights, longest + 1)
    context = _suffix_entropies(leaves[:, :-1], weights, longest)
    return np.array(joint[1:]) - np.array(context)


def optimal_loss(grammar: Grammar, window: int | None = None, *, max_items: int = ENUMERATION_LIMIT) -> float:
    """Exact minimal expected cross-entropy (nats) of predicting x_d from the last ``window`` tokens.

    ``H(x_d | window) = H(window, x_d) - H(window)``, data distributed as the grammar's (uniform, or
    weighted rules). Exact enumeration of the covering subtree (module docstring;
    docs/theory-next-token.md, 'Exact context-limited optima'): cost owners * m**n_nodes(s, lam - 1)
    strings, refused above ``max_items``. For ``window=None`` that is all p_max data.

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    window : int or None, default None
        The number t of tokens before x_d that are seen, in 0..d-1 (None: the whole context, t = d - 1).
    max_items : int, default ENUMERATION_LIMIT
        The most strings the enumeration may hold.

    Returns
    -------
    float
        The conditional entropy H_t, in nats.

    Raises
    ------
    ValueError
        If ``grammar`` is not a dense Grammar, ``window`` is not in 0..d-1, ``max_items`` is not a
        positive integer, or the enumeration exceeds ``max_items`` strings or ENUMERATION_TOKEN_LIMIT
        tokens.

    See Also
    --------
    optimal_losses : Every window at once.

    Examples
    --------
    Window 0: the entropy of the exact marginal of x_d.

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.exact import class_token_probs
    >>> from rhm_theory.theory.next_token import optimal_loss
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> marginal = class_token_probs(grammar, grammar.d - 1).mean(axis=0)
    >>> q = marginal[marginal > 0]
    >>> bool(np.isclose(optimal_loss(grammar, 0), -(q * np.log(q)).sum()))
    True
    """
    t = check_window(grammar, window)
    max_items = check_int("max_items", max_items, minimum=1)
    return float(_conditional_entropies(*_subtree_strings(grammar, covering_level(grammar, t), max_items), t)[t])


def optimal_losses(grammar: Grammar, *, max_items: int = ENUMERATION_LIMIT, above_limit: str = "raise") -> np.ndarray:
    """``H(x_d | last t tokens)`` for every window t = 0..d-1, each equal to :func:`optimal_loss`.

    The losses are non-increasing in t; one enumeration per covering level. Refused when
    d > MAX_NEXT_TOKEN_D.

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    max_items : int, default ENUMERATION_LIMIT
        The most strings one enumeration may hold.
    above_limit : {"raise", "nan"}, default "raise"
        What a window whose enumeration exceeds a limit gets: a ValueError, or NaN.

    Returns
    -------
    ndarray of float, shape (d,)
        The conditional entropies H_0 .. H_{d-1}, in nats.

    Raises
    ------
    ValueError
        If ``grammar`` is not a dense Grammar, ``max_items`` is not a positive integer, ``above_limit``
        is not "raise" or "nan", d > MAX_NEXT_TOKEN_D, or (``above_limit="raise"``) an enumeration
        exceeds a limit.

    Examples
    --------
    At (v, n_c, m, s, L) = (2, 2, 2, 2, 2) every one of the 16 binary strings is a datum, so x_d is
    uniform whatever the window. With ``max_items=6`` the level-2 subtree (v m = 6 strings) is
    enumerated but not the class's n_c m**3 = 16.

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import optimal_losses
    >>> every_string = Grammar.random(v=2, n_c=2, m=2, s=2, L=2, seed=0)
    >>> np.allclose(optimal_losses(every_string), np.log(2))
    True
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> np.isnan(optimal_losses(grammar, max_items=6, above_limit="nan"))
    array([False, False,  True,  True])
    """
    check_grammar(grammar)
    max_items = check_int("max_items", max_items, minimum=1)
    check_choice("above_limit", above_limit, ("raise", "nan"))
    if grammar.d > MAX_NEXT_TOKEN_D:
        raise ValueError(
            f"d = {grammar.d} windows are too many for the next-token losses of every window: "
            f"d must be <= MAX_NEXT_TOKEN_D = 2**{MAX_NEXT_TOKEN_D.bit_length() - 1} (lower s or L)"
        )
    losses = np.full(grammar.d, np.nan)
    for lam in range(1, grammar.L + 2):
        windows = range(grammar.s ** (lam - 2) if lam > 1 else 0, min(grammar.s ** (lam - 1), grammar.d))
        if not windows:
            continue
        try:
            strings = _subtree_strings(grammar, lam, max_items)
        except ValueError:
            if above_limit == "raise":
                raise
            continue
        losses[windows[0] : windows[-1] + 1] = _conditional_entropies(*strings, windows[-1])[windows[0] :]
    return losses


# ----- token-token correlations by distance (one grammar, exact) --------------------------------------
def ancestor_level(grammar: Grammar, distance: int) -> int:
    """Level of the lowest common ancestor of x_d and the token ``distance`` places before it.

    2 is the parent of the last patch, L + 1 the class.

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    distance : int
        The distance t, in 1..d-1.

    Returns
    -------
    int
        The level, in 2..L+1.

    Raises
    ------
    ValueError
        If ``grammar`` is not a dense Grammar, ``distance`` is not an integer in 1..d-1, or v**2 exceeds
        MAX_RULE_ENTRIES.

    Examples
    --------
    At s = L = 2, x_{d-1} shares the parent of x_d; the two tokens before meet it at the class.

    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import ancestor_level
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> [ancestor_level(grammar, t) for t in (1, 2, 3)]
    [2, 3, 3]
    """
    check_grammar(grammar)
    distance = check_int("distance", distance, minimum=1)
    if distance > grammar.d - 1:
        raise ValueError(f"distance must be in 1..d-1 = {grammar.d - 1}, got {shown(distance)}")
    if grammar.v**2 > MAX_RULE_ENTRIES:
        raise ValueError(
            f"token pairs need a (v, v) table of v**2 = {grammar.v**2} entries: at most "
            f"2**{MAX_RULE_ENTRIES.bit_length() - 1} are allowed (lower v)"
        )
    i, j, level = grammar.d - 1 - distance, grammar.d - 1, 1
    while i != j:
        i, j, level = i // grammar.s, j // grammar.s, level + 1
    return level


def _descent(grammar: Grammar, position: int, level: int) -> np.ndarray:
    """P(token at input ``position`` | its level-``level`` ancestor), (v, v), from the slot chain."""
    probs = np.identity(grammar.v)
    for k in range(grammar.L - level + 1, grammar.L):
        slot = (position // grammar.s ** (grammar.L - 1 - k)) % grammar.s
        probs = probs @ transition_probs(grammar, k, slot)
    return probs


def token_correlation(grammar: Grammar, distance: int) -> np.ndarray:
    """Exact covariance table ``C(mu, nu) = P(x_{d-t} = mu, x_d = nu) - P(x_{d-t} = mu) P(x_d = nu)``.

    t = ``distance``. The lowest common ancestor A (level lam = :func:`ancestor_level`, prior pi
    exact) emits the pair of children on the two paths with the probabilities of its rules (slots of
    the two paths), and each child descends independently by its chain of one-slot transition
    matrices (docs/theory-next-token.md, 'Token-token correlations by distance').

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    distance : int
        The distance t, in 1..d-1.

    Returns
    -------
    ndarray of float, shape (v, v)
        C, rows mu (the token x_{d-t}) and columns nu (x_d).

    Raises
    ------
    ValueError
        As :func:`ancestor_level`.

    Examples
    --------
    A joint minus the product of its marginals: every row and column sums to zero.

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import token_correlation
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> table = token_correlation(grammar, 1)
    >>> table.shape, np.allclose(table.sum(axis=0), 0), np.allclose(table.sum(axis=1), 0)
    ((3, 3), True, True)
    """
    lam = ancestor_level(grammar, distance)
    i, j = grammar.d - 1 - distance, grammar.d - 1
    k = grammar.L + 1 - lam  # rules[k] produces the level-(lam - 1) children of A
    slot_i, slot_j = ((p // grammar.s ** (lam - 2)) % grammar.s for p in (i, j))
    rules = grammar.rule_tables[k]
    pair = np.zeros((rules.shape[0], grammar.v, grammar.v))  # (owners, b, c): P(children | A)
    owners = np.repeat(np.arange(rules.shape[0]), grammar.m)
    np.add.at(pair, (owners, rules[:, :, slot_i].ravel(), rules[:, :, slot_j].ravel()), grammar.probs[k].ravel())
    children = np.einsum("a,abc->bc", _root_prior(grammar, lam), pair)
    joint = _descent(grammar, i, lam - 1).T @ children @ _descent(grammar, j, lam - 1)
    return joint - np.outer(joint.sum(axis=1), joint.sum(axis=0))


def correlation_strength(grammar: Grammar, distance: int) -> float:
    """``sum_{mu, nu} C(mu, nu)**2`` for the pair (x_{d-t}, x_d) (see :func:`token_correlation`).

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    distance : int
        The distance t, in 1..d-1.

    Returns
    -------
    float
        The strength, >= 0.

    Raises
    ------
    ValueError
        As :func:`ancestor_level`.

    Examples
    --------
    When every binary string is a datum the tokens are independent:

    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import correlation_strength
    >>> every_string = Grammar.random(v=2, n_c=2, m=2, s=2, L=2, seed=0)
    >>> [correlation_strength(every_string, t) for t in (1, 2, 3)]
    [0.0, 0.0, 0.0]
    """
    return float((token_correlation(grammar, distance) ** 2).sum())


def resolvable_size(grammar: Grammar, distance: int) -> float:
    """Training-set size at which the correlation at ``distance`` rises above its sampling noise.

    ``P_t = 1 / sum C**2``, since the empirical joint of P i.i.d. pairs has noise
    ``sum_{mu, nu} Var = (1 - sum_{mu,nu} P(mu, nu)**2) / P``, i.e. about 1/P
    (docs/theory-next-token.md).

    Parameters
    ----------
    grammar : Grammar
        A dense grammar (uniform or weighted rules).
    distance : int
        The distance t, in 1..d-1.

    Returns
    -------
    float
        P_t; ``math.inf`` where the strength is exactly zero (tokens independent at that distance).

    Raises
    ------
    ValueError
        As :func:`ancestor_level`.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory.next_token import resolvable_size, token_correlation
    >>> grammar = Grammar.random(v=3, n_c=2, m=2, s=2, L=2, seed=0)  # d = 4, p_max = 16
    >>> bool(np.isclose(resolvable_size(grammar, 1), 1 / (token_correlation(grammar, 1) ** 2).sum()))
    True
    """
    strength = correlation_strength(grammar, distance)
    return math.inf if strength == 0 else 1.0 / strength  # independent tokens: no P resolves them
