"""Exact class-token statistics of a grammar, from its rules and never by sampling (docs/theory.md, 'Exact statistics of one grammar').

The symbol at a node given its parent's symbol is a Markov step with matrix
T_k^i[a, b] = sum_j probs[k][a, j] [slot i of production j of a is b] (rules[k], slot i), i.e.
(1/m) #{productions of a whose slot i is b} for uniform rules; weighted (power-law) rules use their
probabilities (arXiv:2505.07067). A position at level l is reached from the root by the slots
i_0, i_1, ... (its base-s digits, most significant first), so
P(symbol = mu | class alpha) = (T_0^{i_0} T_1^{i_1} ... )[alpha, mu]. Classes are uniform.

Positions are numbered left to right at their level (level 1 = the d = s**L input tokens; level
l has s**(L-l+1) positions). Patches are the s**(L-1) input patches. Tuples are indexed by their
code sum_i b_i v**(s-1-i). ``exact=True`` returns numpy object arrays of fractions.Fraction; it is
refused (ValueError) for weighted grammars, whose float probabilities have no exact rational meaning.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rule_probs import production_log_probs, row_entropies
from rhm_theory.core.rules import path_slots, tuples_to_codes
from rhm_theory.core.validation import check_int, check_symbols

DENSE_TUPLE_LIMIT = 2**26  # n_c * v**s entries of a dense tuple table


def transition_counts(grammar: Grammar, k: int, slot: int) -> np.ndarray:
    """Count the productions of each owner of ``rules[k]`` by the symbol in one slot.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    k : int
        Rules level, in ``range(L)`` (0: the class productions ``rules[0]``).
    slot : int
        Slot of the productions, in ``range(s)``.

    Returns
    -------
    ndarray of int64, shape (owners_k, v)
        ``C[a, b]`` = #{productions of owner a in ``rules[k]`` whose slot ``slot`` is b}; owners_k is
        n_c for k = 0, else v. Each row sums to m.

    See Also
    --------
    transition_probs : The same counts weighted by the rule probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> rules = np.array([[[0, 1], [1, 1]], [[2, 0], [1, 2]]])  # class 0: (0, 1), (1, 1); class 1: (2, 0), (1, 2)
    >>> g = Grammar.from_rules([rules], v=3)
    >>> exact.transition_counts(g, 0, 1)  # slot 1: class 0 has 1 twice, class 1 has 0 and 2
    array([[0, 2, 0],
           [1, 0, 1]])
    """
    rules = grammar.rule_tables[k]
    owners = rules.shape[0]
    counts = np.zeros((owners, grammar.v), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(owners), grammar.m), rules[:, :, slot].ravel()), 1)
    return counts


def transition_probs(grammar: Grammar, k: int, slot: int) -> np.ndarray:
    """Markov step T_k^slot from a symbol to the symbol in one slot of its production.

    ``T[a, b]`` = P(slot ``slot`` of a production of a is b), production j of a having probability
    ``probs[k][a, j]``: ``counts / m`` for uniform rules (computed exactly that way), the rule
    probabilities for weighted (power-law) rules (arXiv:2505.07067).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    k : int
        Rules level, in ``range(L)`` (0: the class productions ``rules[0]``).
    slot : int
        Slot of the productions, in ``range(s)``.

    Returns
    -------
    ndarray of float64, shape (owners_k, v)
        The transition matrix (owners_k = n_c for k = 0, else v); each row sums to 1.

    See Also
    --------
    transition_counts : The integer counts of uniform rules.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> rules = np.array([[[0, 1], [1, 1]], [[2, 0], [1, 2]]])  # class 0: (0, 1), (1, 1); class 1: (2, 0), (1, 2)
    >>> g = Grammar.from_rules([rules], v=3)
    >>> exact.transition_probs(g, 0, 1)
    array([[0. , 1. , 0. ],
           [0.5, 0. , 0.5]])
    >>> w = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)  # power-law rules
    >>> np.allclose(exact.transition_probs(w, 1, 0).sum(axis=1), 1.0)
    True
    """
    if not grammar.weighted:
        return transition_counts(grammar, k, slot) / grammar.m
    rules = grammar.rule_tables[k]
    owners = rules.shape[0]
    probs = np.zeros((owners, grammar.v))
    np.add.at(probs, (np.repeat(np.arange(owners), grammar.m), rules[:, :, slot].ravel()), grammar.probs[k].ravel())
    return probs


def _check_exact(grammar: Grammar, exact: bool) -> bool:
    """``exact`` as a bool; exact=True with weighted rules is a one-line ValueError."""
    if exact and grammar.weighted:
        raise ValueError(
            f"exact=True needs uniform rules (1/m): {grammar!r} has weighted rules, use exact=False (float64)"
        )
    return bool(exact)


def _check_level_position(grammar: Grammar, level: int, position: int) -> tuple[int, int]:
    level = check_int("level", level)
    if level > grammar.L:
        raise ValueError(f"level must be in 1..L={grammar.L} (level 1 is the input), got {level}")
    n_positions = grammar.s ** (grammar.L - level + 1)
    position = check_int("position", position, minimum=0)
    if position >= n_positions:
        raise ValueError(f"position must be in range({n_positions}) at level {level}, got {position}")
    return level, position


def _to_fractions(counts: np.ndarray, denominator: int) -> np.ndarray:
    out = np.empty(counts.shape, dtype=object)
    for index, c in np.ndenumerate(counts):
        out[index] = Fraction(int(c), denominator)
    return out


def class_token_probs(grammar: Grammar, position: int, level: int = 1, exact: bool = False) -> np.ndarray:
    """P(symbol at ``position`` of ``level`` = mu | class alpha), from the rules.

    The product T_0^{i_0} T_1^{i_1} ... of the transition matrices along the slots i_0, i_1, ... from
    the root down to the position (docs/theory.md, 'Exact statistics of one grammar'). Cost:
    (L - level + 1) products of (n_c, v) by (v, v) matrices.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    position : int
        Position at ``level``, numbered left to right, in ``range(s**(L - level + 1))``.
    level : int, default 1
        Level of the hierarchy, in 1..L (level 1 is the input of d = s**L tokens).
    exact : bool, default False
        Return ``fractions.Fraction`` entries (uniform rules only) instead of float64.

    Returns
    -------
    ndarray, shape (n_c, v)
        Entry [alpha, mu]; each row sums to 1. float64, or an object array of ``fractions.Fraction``
        if ``exact``.

    Raises
    ------
    ValueError
        If ``level`` is not an integer in 1..L, ``position`` is not an integer in
        ``range(s**(L - level + 1))``, or ``exact=True`` for a grammar with weighted rules.

    See Also
    --------
    class_token_probs_all : Every position of a level at once.
    correlations : P(class | token) from these probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> p = exact.class_token_probs(g, position=3, exact=True)
    >>> p.shape
    (2, 4)
    >>> p.sum(axis=1)
    array([Fraction(1, 1), Fraction(1, 1)], dtype=object)
    >>> all((f * g.m**g.L).denominator == 1 for f in p.flat)  # counts of paths over m**depth
    True
    >>> np.allclose(exact.class_token_probs(g, position=3), p.astype(float))
    True
    """
    level, position = _check_level_position(grammar, level, position)
    path = path_slots(position, grammar.s, grammar.L - level + 1)  # one slot per rules level 0..L-level
    if _check_exact(grammar, exact):  # integer counts, divided once by m**depth
        counts = np.identity(grammar.n_c, dtype=object)
        for k, slot in enumerate(path):
            counts = counts.dot(transition_counts(grammar, k, slot).astype(object))
        return _to_fractions(counts, grammar.m ** len(path))
    probs = np.identity(grammar.n_c)
    for k, slot in enumerate(path):
        probs = probs @ transition_probs(grammar, k, slot)
    return probs


def class_token_probs_all(grammar: Grammar, level: int = 1) -> np.ndarray:
    """P(symbol at every position of ``level`` | class), all the positions at once.

    Computed top-down, one matrix product per node: O(n_positions n_c v^2).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    level : int, default 1
        Level of the hierarchy, in 1..L (level 1 is the input of d = s**L tokens).

    Returns
    -------
    ndarray of float64, shape (s**(L - level + 1), n_c, v)
        Entry [position, alpha, mu]: row ``position`` is ``class_token_probs(grammar, position, level)``.

    Raises
    ------
    ValueError
        If ``level`` is not an integer in 1..L.

    See Also
    --------
    class_token_probs : One position, optionally exact.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> probs = exact.class_token_probs_all(g)
    >>> probs.shape
    (4, 2, 4)
    >>> np.allclose(probs[3], exact.class_token_probs(g, 3))
    True
    >>> exact.class_token_probs_all(g, level=2).shape
    (2, 2, 4)
    """
    level = check_int("level", level)
    if level > grammar.L:
        raise ValueError(f"level must be in 1..L={grammar.L} (level 1 is the input), got {level}")
    probs = np.identity(grammar.n_c)[None]  # the class, as one position
    for k in range(grammar.L - level + 1):
        steps = [transition_probs(grammar, k, slot) for slot in range(grammar.s)]
        probs = np.stack([probs @ step for step in steps], axis=1).reshape(-1, grammar.n_c, grammar.v)
    return probs


def _check_patch(grammar: Grammar, patch: int) -> int:
    patch = check_int("patch", patch, minimum=0)
    n_patches = grammar.s ** (grammar.L - 1)
    if patch >= n_patches:
        raise ValueError(f"patch must be in range(s**(L-1) = {n_patches}), got {patch}")
    return patch


def class_tuple_probs_sparse(grammar: Grammar, patch: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """P(input patch = tuple | class) on the tuples that can occur in the patch.

    The tuples that can occur in a patch are the productions of the level-2 symbols (of the classes
    when L = 1): K = owners * m codes, each produced by one owner only (unambiguity). A tuple
    (b_0, ..., b_{s-1}) has code sum_i b_i v**(s-1-i).

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    patch : int
        Input patch (tokens ``patch * s`` to ``patch * s + s - 1``), in ``range(s**(L - 1))``.
    exact : bool, default False
        Return ``fractions.Fraction`` entries (uniform rules only) instead of float64.

    Returns
    -------
    codes : ndarray of int64, shape (K,)
        The tuple codes; entry owner * m + j is production j of owner (owners of ``rules[L - 1]``).
    probs : ndarray, shape (n_c, K)
        ``probs[alpha, c]`` = P(patch = tuple ``codes[c]`` | class alpha); each row sums to 1. float64,
        or an object array of ``fractions.Fraction`` if ``exact``.

    Raises
    ------
    ValueError
        If ``patch`` is not an integer in ``range(s**(L - 1))``, or ``exact=True`` for a grammar with
        weighted rules.

    See Also
    --------
    class_tuple_probs : The same probabilities over all the v**s tuple codes.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> codes, probs = exact.class_tuple_probs_sparse(g, patch=1, exact=True)
    >>> codes.shape, probs.shape  # K = v * m tuples
    ((8,), (2, 8))
    >>> probs.sum(axis=1)
    array([Fraction(1, 1), Fraction(1, 1)], dtype=object)
    """
    patch = _check_patch(grammar, patch)
    exact = _check_exact(grammar, exact)
    k_last = grammar.L - 1
    if grammar.L == 1:  # the patch is the whole input and its parent is the class
        identity = np.identity(grammar.n_c, dtype=np.int64)
        parent = _to_fractions(identity, 1) if exact else identity.astype(float)
    else:
        parent = class_token_probs(grammar, patch, level=2, exact=exact)  # (n_c, owners)
    rules = grammar.rule_tables[k_last]
    codes = tuples_to_codes(rules.reshape(-1, grammar.s), grammar.v)  # row owner*m + j
    probs = np.repeat(parent, grammar.m, axis=1)
    if grammar.weighted:  # column owner*m + j: P(owner | class) probs[k_last][owner, j]
        return codes, probs * grammar.probs[k_last].ravel()
    return codes, (probs * Fraction(1, grammar.m) if exact else probs / grammar.m)


def class_tuple_probs(grammar: Grammar, patch: int, exact: bool = False) -> np.ndarray:
    """P(input patch ``patch`` = tuple mu | class alpha), dense over all the v**s tuple codes.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    patch : int
        Input patch (tokens ``patch * s`` to ``patch * s + s - 1``), in ``range(s**(L - 1))``.
    exact : bool, default False
        Return ``fractions.Fraction`` entries (uniform rules only) instead of float64.

    Returns
    -------
    ndarray, shape (n_c, v**s)
        Entry [alpha, code] (code sum_i b_i v**(s-1-i) of the tuple (b_0, ..., b_{s-1})), 0 for the tuples
        that never occur; float64, or an object array of ``fractions.Fraction`` if ``exact``.

    Raises
    ------
    ValueError
        If the dense table has more than ``DENSE_TUPLE_LIMIT`` = 2**26 entries n_c * v**s (use
        :func:`class_tuple_probs_sparse`), ``patch`` is not an integer in ``range(s**(L - 1))``, or
        ``exact=True`` for a grammar with weighted rules.

    See Also
    --------
    class_tuple_probs_sparse : Only the tuples that can occur.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> rules = np.array([[[0, 1], [1, 1]], [[2, 0], [1, 2]]])  # class 0: (0, 1), (1, 1); class 1: (2, 0), (1, 2)
    >>> g = Grammar.from_rules([rules], v=3)
    >>> exact.class_tuple_probs(g, 0)  # codes 3 b_0 + b_1: (0, 1) = 1, (1, 1) = 4, (1, 2) = 5, (2, 0) = 6
    array([[0. , 0.5, 0. , 0. , 0.5, 0. , 0. , 0. , 0. ],
           [0. , 0. , 0. , 0. , 0. , 0.5, 0.5, 0. , 0. ]])
    """
    size = grammar.n_c * grammar.v**grammar.s
    if size > DENSE_TUPLE_LIMIT:
        raise ValueError(
            f"a dense tuple table needs n_c * v**s = {size} entries, above {DENSE_TUPLE_LIMIT}; "
            "use class_tuple_probs_sparse, which lists only the tuples that occur"
        )
    codes, probs = class_tuple_probs_sparse(grammar, patch, exact=exact)
    dense = np.zeros((grammar.n_c, grammar.v**grammar.s), dtype=probs.dtype)
    if exact:
        dense[:] = Fraction(0)
    dense[:, codes] = probs
    return dense


def class_posterior(joint: np.ndarray, exact: bool = False) -> np.ma.MaskedArray:
    """Column-normalise joint weights of (class, key) into P(class | key), masking columns of zeros.

    The weights are P(key | class) under uniform classes, or counts.

    Parameters
    ----------
    joint : ndarray, shape (n_c, K)
        Non-negative weights of (class, key); ``fractions.Fraction`` objects when ``exact``.
    exact : bool, default False
        Keep exact entries: the result holds ``fractions.Fraction`` objects.

    Returns
    -------
    numpy.ma.MaskedArray, shape (n_c, K)
        P(class | key); each column sums to 1, except the masked columns of keys of total weight 0
        (their data are 0).

    Examples
    --------
    >>> import numpy as np
    >>> from fractions import Fraction
    >>> from rhm_theory.theory import exact
    >>> print(exact.class_posterior(np.array([[1, 0, 2], [3, 0, 2]])))
    [[0.25 -- 0.5]
     [0.75 -- 0.5]]
    >>> joint = np.array([[Fraction(1, 3), Fraction(0)], [Fraction(1, 6), Fraction(0)]], dtype=object)
    >>> f = exact.class_posterior(joint, exact=True)
    >>> f[0, 0], f.mask[:, 1]
    (Fraction(2, 3), array([ True,  True]))
    """
    total = joint.sum(axis=0)
    never = np.array([t == 0 for t in total], dtype=bool)
    if exact:
        out = np.empty(joint.shape, dtype=object)
        out[:] = Fraction(0)
        for mu in np.flatnonzero(~never):
            out[:, mu] = joint[:, mu] / total[mu]
    else:
        out = np.divide(joint, total, out=np.zeros_like(joint, dtype=float), where=~never)
    return np.ma.masked_array(out, mask=np.broadcast_to(never, joint.shape).copy())


def correlations(grammar: Grammar, position: int, level: int = 1, exact: bool = False) -> np.ma.MaskedArray:
    """Token-class correlations f(alpha | mu) = P(class alpha | symbol at ``position`` = mu).

    Classes are uniform, so f = p(mu|alpha) / sum_beta p(mu|beta), with p from
    :func:`class_token_probs`.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    position : int
        Position at ``level``, numbered left to right, in ``range(s**(L - level + 1))``.
    level : int, default 1
        Level of the hierarchy, in 1..L (level 1 is the input of d = s**L tokens).
    exact : bool, default False
        Return ``fractions.Fraction`` entries (uniform rules only) instead of float64.

    Returns
    -------
    numpy.ma.MaskedArray, shape (n_c, v)
        Entry [alpha, mu]. Columns of tokens that never occur at that position are masked (their data
        are 0, not NaN).

    Raises
    ------
    ValueError
        If ``level`` is not an integer in 1..L, ``position`` is not an integer in
        ``range(s**(L - level + 1))``, or ``exact=True`` for a grammar with weighted rules.

    See Also
    --------
    empirical_correlations : The estimate from a sample.
    tuple_correlations : P(class | input patch).

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> rules = np.array([[[0, 1], [1, 1]], [[2, 0], [1, 2]]])  # class 0: (0, 1), (1, 1); class 1: (2, 0), (1, 2)
    >>> g = Grammar.from_rules([rules], v=3)
    >>> print(exact.correlations(g, 0, exact=True))  # token 0 only in class 0, 1 in both, 2 only in class 1
    [[Fraction(1, 1) Fraction(1, 2) Fraction(0, 1)]
     [Fraction(0, 1) Fraction(1, 2) Fraction(1, 1)]]

    In the parity grammar a single token says nothing about the class:

    >>> rules = np.array([[[0, 0], [1, 1]], [[0, 1], [1, 0]]])  # parity: class 0 is (0, 0) or (1, 1)
    >>> print(exact.correlations(Grammar.from_rules([rules], v=2), 1))
    [[0.5 0.5]
     [0.5 0.5]]
    """
    return class_posterior(class_token_probs(grammar, position, level, exact), exact)


def tuple_correlations(grammar: Grammar, patch: int, exact: bool = False) -> np.ma.MaskedArray:
    """P(class | input patch = tuple mu), over all the v**s tuple codes.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    patch : int
        Input patch (tokens ``patch * s`` to ``patch * s + s - 1``), in ``range(s**(L - 1))``.
    exact : bool, default False
        Return ``fractions.Fraction`` entries (uniform rules only) instead of float64.

    Returns
    -------
    numpy.ma.MaskedArray, shape (n_c, v**s)
        Entry [alpha, code]; columns of the tuples that never occur are masked. Synonyms (tuples of one
        owner) have the same column.

    Raises
    ------
    ValueError
        If the dense table has more than ``DENSE_TUPLE_LIMIT`` = 2**26 entries n_c * v**s, ``patch`` is
        not an integer in ``range(s**(L - 1))``, or ``exact=True`` for a grammar with weighted rules.

    See Also
    --------
    class_tuple_probs : The probabilities P(tuple | class) normalised here.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> rules = np.array([[[0, 0], [1, 1]], [[0, 1], [1, 0]]])  # parity: class 0 is (0, 0) or (1, 1)
    >>> parity = Grammar.from_rules([rules], v=2)
    >>> print(exact.tuple_correlations(parity, 0))  # the pair decides the class
    [[1.0 0.0 0.0 1.0]
     [0.0 1.0 1.0 0.0]]
    """
    return class_posterior(class_tuple_probs(grammar, patch, exact), exact)


# ----- the distribution of the data -------------------------------------------------------------------
def datum_log_probs(grammar: Grammar, x: ArrayLike) -> np.ndarray:
    """The log probability log P(x) of each datum of the grammar, from its derivation.

    It is -log n_c plus the log probability of each production of the derivation (unique: the grammar
    is unambiguous); -log p_max for uniform rules.

    Parameters
    ----------
    grammar : Grammar
        The grammar.
    x : array_like of int, shape (P, d)
        Data of the grammar.

    Returns
    -------
    ndarray of float64, shape (P,)
        The log probability of each row.

    Raises
    ------
    ValueError
        If ``x`` is not integer tokens of shape (P, d) in ``range(v)``, or a row is not a datum of the
        grammar (:func:`rhm_theory.theory.bp.log_evidence` gives such inputs -inf).

    See Also
    --------
    rhm_theory.theory.bp.log_evidence : The same by belief propagation, for any input.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> g.p_max  # n_c * m**n_nodes = 2 * 2**3
    16
    >>> x, y = g.enumerate()
    >>> np.allclose(exact.datum_log_probs(g, x), -np.log(16))
    True
    >>> w = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)  # power-law rules
    >>> np.allclose(np.exp(exact.datum_log_probs(w, x)).sum(), 1.0)  # the same 16 data, now not uniform
    True
    """
    return production_log_probs(grammar, x) - math.log(grammar.n_c)


def data_entropy(grammar: Grammar) -> float:
    """Entropy H(X) of the data in nats, exactly and without enumeration.

    A datum and its derivation (class, production of every node) determine each other, so
    H(X) = H(class) + H(productions | class) = log n_c + sum over the n_nodes nodes of
    sum_a P(node symbol = a) H(probs[k][a]) (the chain rule, node by node top-down: given its symbol a
    node's production is independent of everything above). With e_k(a) the expected number of block-k
    nodes of symbol a, e_0 = 1/n_c and e_{k+1} = e_k sum_i T_k^i, H(X) = log n_c + sum_k e_k . H(probs[k]).
    Uniform rules: log p_max; power-law rules (arXiv:2505.07067): log n_c + n_nodes H(f), each row being
    a permutation of f. Cost O(L v^2 s).

    Parameters
    ----------
    grammar : Grammar
        The grammar.

    Returns
    -------
    float
        H(X) in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> import math
    >>> math.isclose(exact.data_entropy(g), math.log(g.p_max))
    True
    >>> w = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0, zipf=1.0)  # power-law rules
    >>> log_p = exact.datum_log_probs(w, w.enumerate()[0])  # -sum P log P over all the data
    >>> math.isclose(exact.data_entropy(w), -float((np.exp(log_p) * log_p).sum()))
    True
    """
    expected = np.full(grammar.n_c, 1.0 / grammar.n_c)
    entropy = math.log(grammar.n_c)
    for k in range(grammar.L):
        entropy += float(expected @ row_entropies(grammar.probs[k]))
        expected = expected @ sum(transition_probs(grammar, k, slot) for slot in range(grammar.s))
    return entropy


# ----- empirical estimates from a sample (x, y) -----------------------------------------------------
def joint_counts(keys: np.ndarray, y: ArrayLike, *, n_c: int, n_keys: int) -> np.ndarray:
    """Counts of (label, key) pairs in a sample.

    Parameters
    ----------
    keys : ndarray of int
        Keys in ``range(n_keys)``, of any shape.
    y : array_like of int
        Labels in ``range(n_c)``, of the shape of ``keys``.
    n_c : int
        Number of classes.
    n_keys : int
        Number of keys.

    Returns
    -------
    ndarray of int64, shape (n_c, n_keys)
        Entry [alpha, key]: the number of places where the label is alpha and the key is key.

    Raises
    ------
    ValueError
        If ``keys`` are not integers in ``range(n_keys)``, or ``y`` does not have the shape of
        ``keys`` or is not integers in ``range(n_c)``.

    Examples
    --------
    >>> import numpy as np
    >>> from rhm_theory.theory import exact
    >>> exact.joint_counts(np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]), n_c=2, n_keys=3)
    array([[1, 1, 0],
           [0, 1, 1]])
    """
    keys = check_symbols("keys", keys, n_keys, f"n_keys={n_keys}")
    y = np.asarray(y)
    if y.shape != keys.shape:
        raise ValueError(f"labels have shape {y.shape}, expected {keys.shape}")
    y = check_symbols("labels", y, n_c, f"n_c={n_c}")
    return np.bincount((y * n_keys + keys).ravel(), minlength=n_c * n_keys).reshape(n_c, n_keys)


def _column(x: ArrayLike, position: int, v: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or not 0 <= position < x.shape[1]:
        raise ValueError(f"position {position} is not a column of tokens of shape {x.shape}")
    return check_symbols("tokens", x[:, position], v, f"v={v}")


def empirical_class_token_probs(x: ArrayLike, y: ArrayLike, *, v: int, n_c: int, position: int) -> np.ma.MaskedArray:
    """Frequency estimate of P(x_position = mu | class alpha) from a sample.

    Parameters
    ----------
    x : array_like of int, shape (P, d)
        Tokens of the sample, in ``range(v)``.
    y : array_like of int, shape (P,)
        Labels of the sample, in ``range(n_c)``.
    v : int
        Vocabulary size.
    n_c : int
        Number of classes.
    position : int
        Column of ``x``, in ``range(d)``.

    Returns
    -------
    numpy.ma.MaskedArray of float64, shape (n_c, v)
        Entry [alpha, mu]; rows of classes absent from the sample are masked.

    Raises
    ------
    ValueError
        If ``position`` is not a column of a 2-D ``x``, the tokens are not integers in ``range(v)``, or
        the labels ``y`` do not have shape (P,) or are not integers in ``range(n_c)``.

    See Also
    --------
    class_token_probs : The exact probabilities.

    Examples
    --------
    Over all the data of a uniform grammar the estimate is exact:

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()
    >>> p = exact.empirical_class_token_probs(x, y, v=4, n_c=2, position=2)
    >>> np.allclose(p, exact.class_token_probs(g, 2))
    True
    >>> exact.empirical_class_token_probs(x[y == 0], y[y == 0], v=4, n_c=2, position=2).mask[:, 0]
    array([False,  True])
    """
    counts = joint_counts(_column(x, position, v), y, n_c=n_c, n_keys=v)
    per_class = counts.sum(axis=1, keepdims=True)
    absent = per_class == 0
    probs = np.divide(counts, per_class, out=np.zeros(counts.shape), where=~absent)
    return np.ma.masked_array(probs, mask=np.broadcast_to(absent, counts.shape).copy())


def empirical_correlations(x: ArrayLike, y: ArrayLike, *, v: int, n_c: int, position: int) -> np.ma.MaskedArray:
    """Estimate of f(alpha | mu) = N(alpha, mu) / N(mu) from a sample.

    Parameters
    ----------
    x : array_like of int, shape (P, d)
        Tokens of the sample, in ``range(v)``.
    y : array_like of int, shape (P,)
        Labels of the sample, in ``range(n_c)``.
    v : int
        Vocabulary size.
    n_c : int
        Number of classes.
    position : int
        Column of ``x``, in ``range(d)``.

    Returns
    -------
    numpy.ma.MaskedArray of float64, shape (n_c, v)
        Entry [alpha, mu]; columns of tokens unseen at ``position`` are masked.

    Raises
    ------
    ValueError
        If ``position`` is not a column of a 2-D ``x``, the tokens are not integers in ``range(v)``, or
        the labels ``y`` do not have shape (P,) or are not integers in ``range(n_c)``.

    See Also
    --------
    correlations : The exact correlations.

    Examples
    --------
    Over all the data of a uniform grammar the estimate is exact, masks included:

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()
    >>> f = exact.empirical_correlations(x, y, v=4, n_c=2, position=1)
    >>> c = exact.correlations(g, 1)
    >>> np.array_equal(f.mask, c.mask) and np.allclose(f.filled(0), c.filled(0))
    True
    """
    counts = joint_counts(_column(x, position, v), y, n_c=n_c, n_keys=v).astype(float)
    return class_posterior(counts, exact=False)


def empirical_tuple_correlations(
    x: ArrayLike, y: ArrayLike, *, v: int, n_c: int, s: int, patch: int
) -> np.ma.MaskedArray:
    """Estimate of P(class | patch = tuple mu) from a sample.

    Parameters
    ----------
    x : array_like of int, shape (P, d)
        Tokens of the sample, in ``range(v)``.
    y : array_like of int, shape (P,)
        Labels of the sample, in ``range(n_c)``.
    v : int
        Vocabulary size.
    n_c : int
        Number of classes.
    s : int
        Patch size (tokens per tuple).
    patch : int
        Patch of ``x`` (columns ``patch * s`` to ``patch * s + s - 1``), in ``range(d // s)``.

    Returns
    -------
    numpy.ma.MaskedArray of float64, shape (n_c, v**s)
        Entry [alpha, code] over the tuple codes sum_i b_i v**(s-1-i); unseen tuples are masked.

    Raises
    ------
    ValueError
        If ``patch`` is not a patch of a 2-D ``x``, its tokens are not integers in ``range(v)``, or
        the labels ``y`` do not have shape (P,) or are not integers in ``range(n_c)``.

    See Also
    --------
    tuple_correlations : The exact correlations.

    Examples
    --------
    Over all the data of a uniform grammar the estimate is exact, masks included:

    >>> import numpy as np
    >>> from rhm_theory import Grammar
    >>> from rhm_theory.theory import exact
    >>> g = Grammar.random(v=4, n_c=2, m=2, s=2, L=2, seed=0)
    >>> x, y = g.enumerate()
    >>> f = exact.empirical_tuple_correlations(x, y, v=4, n_c=2, s=2, patch=1)
    >>> c = exact.tuple_correlations(g, 1)
    >>> np.array_equal(f.mask, c.mask) and np.allclose(f.filled(0), c.filled(0))
    True
    """
    x = np.asarray(x)
    if x.ndim != 2 or not 0 <= patch < x.shape[1] // s:
        raise ValueError(f"patch {patch} is not a patch of tokens of shape {x.shape} with s={s}")
    tokens = check_symbols("tokens", x[:, patch * s : (patch + 1) * s], v, f"v={v}")
    counts = joint_counts(tuples_to_codes(tokens, v), y, n_c=n_c, n_keys=v**s).astype(float)
    return class_posterior(counts, exact=False)
