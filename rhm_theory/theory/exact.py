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

from fractions import Fraction

import math

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rule_probs import production_log_probs, row_entropies
from rhm_theory.core.rules import path_slots, tuples_to_codes
from rhm_theory.core.validation import check_int, check_symbols

DENSE_TUPLE_LIMIT = 2**26  # n_c * v**s entries of a dense tuple table


def transition_counts(grammar: Grammar, k: int, slot: int) -> np.ndarray:
    """Counts C (owners_k, v): C[a, b] = #{productions of owner a in rules[k] whose slot is b}."""
    rules = grammar.rule_tables[k]
    owners = rules.shape[0]
    counts = np.zeros((owners, grammar.v), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(owners), grammar.m), rules[:, :, slot].ravel()), 1)
    return counts


def transition_probs(grammar: Grammar, k: int, slot: int) -> np.ndarray:
    """T (owners_k, v) float64: T[a, b] = P(slot ``slot`` of a production of a is b), production j of a
    having probability probs[k][a, j] (counts / m for uniform rules, computed exactly that way)."""
    if not grammar.weighted:
        return transition_counts(grammar, k, slot) / grammar.m
    rules = grammar.rule_tables[k]
    owners = rules.shape[0]
    probs = np.zeros((owners, grammar.v))
    np.add.at(probs, (np.repeat(np.arange(owners), grammar.m), rules[:, :, slot].ravel()), grammar.probs[k].ravel())
    return probs


def _check_exact(grammar: Grammar, exact) -> bool:
    """``exact`` as a bool; exact=True with weighted rules is a one-line ValueError."""
    if exact and grammar.weighted:
        raise ValueError(f"exact=True needs uniform rules (1/m): {grammar!r} has weighted rules, use exact=False (float64)")
    return bool(exact)


def _check_level_position(grammar: Grammar, level, position) -> tuple[int, int]:
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


def class_token_probs(grammar: Grammar, position, level=1, exact: bool = False) -> np.ndarray:
    """P(symbol at ``position`` of ``level`` = mu | class alpha), array (n_c, v).

    Cost: (L - level + 1) products of (n_c, v) by (v, v) matrices.
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


def class_token_probs_all(grammar: Grammar, level=1) -> np.ndarray:
    """P(symbol at every position of ``level`` | class), float array (s**(L-level+1), n_c, v).

    Computed top-down, one matrix product per node: O(n_positions n_c v^2).
    """
    level = check_int("level", level)
    if level > grammar.L:
        raise ValueError(f"level must be in 1..L={grammar.L} (level 1 is the input), got {level}")
    probs = np.identity(grammar.n_c)[None]  # the class, as one position
    for k in range(grammar.L - level + 1):
        steps = [transition_probs(grammar, k, slot) for slot in range(grammar.s)]
        probs = np.stack([probs @ step for step in steps], axis=1).reshape(-1, grammar.n_c, grammar.v)
    return probs


def _check_patch(grammar: Grammar, patch) -> int:
    patch = check_int("patch", patch, minimum=0)
    n_patches = grammar.s ** (grammar.L - 1)
    if patch >= n_patches:
        raise ValueError(f"patch must be in range(s**(L-1) = {n_patches}), got {patch}")
    return patch


def class_tuple_probs_sparse(grammar: Grammar, patch, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """P(input patch = tuple | class) on the tuples that can occur: (codes (K,), probs (n_c, K)).

    The tuples that can occur in a patch are the productions of the level-2 symbols (of the classes
    when L = 1): K = owners * m codes, each produced by one owner only (unambiguity).
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


def class_tuple_probs(grammar: Grammar, patch, exact: bool = False) -> np.ndarray:
    """P(input patch ``patch`` = tuple mu | class alpha), dense array (n_c, v**s) over tuple codes."""
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
    """Column-normalise joint weights (n_c, K) of (class, key) -- P(key | class) under uniform classes,
    or counts -- into P(class | key) (n_c, K), masking columns of zeros. ``exact``: Fraction entries."""
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


def correlations(grammar: Grammar, position, level=1, exact: bool = False) -> np.ma.MaskedArray:
    """Token-class correlations f(alpha | mu) = P(class alpha | symbol at position = mu), (n_c, v).

    A masked array: columns of tokens that never occur at that position are masked (their data
    are 0, not NaN). Classes are uniform, so f = p(mu|alpha) / sum_beta p(mu|beta).
    """
    return class_posterior(class_token_probs(grammar, position, level, exact), exact)


def tuple_correlations(grammar: Grammar, patch, exact: bool = False) -> np.ma.MaskedArray:
    """P(class | input patch = tuple mu), masked array (n_c, v**s); synonyms share one column."""
    return class_posterior(class_tuple_probs(grammar, patch, exact), exact)


# ----- the distribution of the data -------------------------------------------------------------------
def datum_log_probs(grammar: Grammar, x) -> np.ndarray:
    """log P(x) of data x (P, d) of the grammar, float64 (P,): -log n_c plus the log probability of each
    production of the derivation (unique: the grammar is unambiguous); -log p_max for uniform rules.
    Inputs that are not data are a ValueError (rhm_theory.theory.bp.log_evidence gives them -inf)."""
    return production_log_probs(grammar, x) - math.log(grammar.n_c)


def data_entropy(grammar: Grammar) -> float:
    """Entropy H(X) of the data in nats, exactly and without enumeration.

    A datum and its derivation (class, production of every node) determine each other, so
    H(X) = H(class) + H(productions | class) = log n_c + sum over the n_nodes nodes of
    sum_a P(node symbol = a) H(probs[k][a]) (the chain rule, node by node top-down: given its symbol a
    node's production is independent of everything above). With e_k(a) the expected number of block-k
    nodes of symbol a, e_0 = 1/n_c and e_{k+1} = e_k sum_i T_k^i, H(X) = log n_c + sum_k e_k . H(probs[k]).
    Uniform rules: log p_max; power-law rules (arXiv:2505.07067): log n_c + n_nodes H(f), each row being a
    permutation of f. Cost O(L v^2 s).
    """
    expected = np.full(grammar.n_c, 1.0 / grammar.n_c)
    entropy = math.log(grammar.n_c)
    for k in range(grammar.L):
        entropy += float(expected @ row_entropies(grammar.probs[k]))
        expected = expected @ sum(transition_probs(grammar, k, slot) for slot in range(grammar.s))
    return entropy


# ----- empirical estimates from a sample (x, y) -----------------------------------------------------
def joint_counts(keys: np.ndarray, y: np.ndarray, *, n_c: int, n_keys: int) -> np.ndarray:
    """Counts (n_c, n_keys) of (label, key) pairs; keys and labels y of one shape (any), keys in
    range(n_keys), labels in range(n_c)."""
    y = np.asarray(y)
    if y.shape != keys.shape:
        raise ValueError(f"labels have shape {y.shape}, expected {keys.shape}")
    y = check_symbols("labels", y, n_c, f"n_c={n_c}")
    return np.bincount((y * n_keys + keys).ravel(), minlength=n_c * n_keys).reshape(n_c, n_keys)


def _column(x, position: int, v: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or not 0 <= position < x.shape[1]:
        raise ValueError(f"position {position} is not a column of tokens of shape {x.shape}")
    return check_symbols("tokens", x[:, position], v, f"v={v}")


def empirical_class_token_probs(x, y, *, v: int, n_c: int, position: int) -> np.ma.MaskedArray:
    """Frequency estimate of P(x_position = mu | class alpha), (n_c, v); rows of absent classes masked."""
    counts = joint_counts(_column(x, position, v), y, n_c=n_c, n_keys=v)
    per_class = counts.sum(axis=1, keepdims=True)
    absent = per_class == 0
    probs = np.divide(counts, per_class, out=np.zeros(counts.shape), where=~absent)
    return np.ma.masked_array(probs, mask=np.broadcast_to(absent, counts.shape).copy())


def empirical_correlations(x, y, *, v: int, n_c: int, position: int) -> np.ma.MaskedArray:
    """Estimate of f(alpha | mu) = N(alpha, mu) / N(mu) from a sample, (n_c, v); unseen tokens masked."""
    counts = joint_counts(_column(x, position, v), y, n_c=n_c, n_keys=v).astype(float)
    return class_posterior(counts, exact=False)


def empirical_tuple_correlations(x, y, *, v: int, n_c: int, s: int, patch: int) -> np.ma.MaskedArray:
    """Estimate of P(class | patch = tuple mu) from a sample, (n_c, v**s); unseen tuples masked."""
    x = np.asarray(x)
    if x.ndim != 2 or not 0 <= patch < x.shape[1] // s:
        raise ValueError(f"patch {patch} is not a patch of tokens of shape {x.shape} with s={s}")
    codes = tuples_to_codes(x[:, patch * s : (patch + 1) * s], v)
    counts = joint_counts(codes, y, n_c=n_c, n_keys=v**s).astype(float)
    return class_posterior(counts, exact=False)
