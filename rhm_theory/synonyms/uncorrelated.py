"""The uncorrelated RHM: a grammar with no token-class correlation at any position (docs/theory.md, 'The uncorrelated RHM').

Construction ("balanced blocks"). Split the v**s possible s-tuples into the v**(s-1) blocks

    B(delta) = {(delta_0 + c, ..., delta_{s-2} + c, c) mod v : c in range(v)},  delta in Z_v**(s-1).

Every tuple lies in exactly one block (its block is the vector of differences b_i - b_{s-1} mod v),
and inside a block every symbol appears exactly once at every slot. Each parent (class, or symbol of
levels 2..L) owns m / v whole blocks, drawn without replacement among all blocks independently per
level, so productions are distinct and unambiguous, and for every parent the child at any slot is
uniform over range(v). By induction down the tree every input token is uniform given the class:
P(x_j = mu | alpha) = 1/v for every position j, token mu and class alpha. For L >= 2 tuples are
uniform too: P(patch j = mu | alpha) = 1/(v m) for the v m tuples of the lowest level (the level-2
symbol above the patch is uniform), so the s-tuple correlations vanish as well; the class is carried
only by correlations between patches.

Requires m to be a multiple of v (a parent owns whole blocks) and the usual feasibility
n_c m <= v**s, v m <= v**s.
"""

from __future__ import annotations

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import codes_to_tuples, draw_distinct
from rhm_theory.core.validation import as_generator, check_params


def balanced_block(delta_code: int, v: int, s: int) -> np.ndarray:
    """The v tuples (v, s) of block ``delta_code`` (code of delta in Z_v**(s-1)); row c ends with c."""
    delta = codes_to_tuples(delta_code, v, s - 1) if s > 1 else np.zeros(0, dtype=np.int64)
    shifts = np.arange(v, dtype=np.int64)[:, None]
    return np.concatenate([(delta[None, :] + shifts) % v, shifts], axis=1)


def uncorrelated_grammar(v, n_c, m, s, L, seed) -> Grammar:
    """A random uncorrelated RHM grammar (construction in the module docstring).

    ``seed``: int or numpy Generator; the blocks of each parent and the order of its m productions
    are drawn from it. Raises ValueError if m is not a multiple of v or the grammar is infeasible.
    """
    v, n_c, m, s, L = check_params(v, n_c, m, s, L)
    if m % v:
        raise ValueError(
            f"the uncorrelated RHM needs m to be a multiple of v (each parent owns whole balanced "
            f"blocks of v tuples), got m = {m}, v = {v}"
        )
    rng = as_generator(seed)
    blocks_per_parent = m // v
    rules = []
    for k in range(L):
        owners = n_c if k == 0 else v
        block_codes = draw_distinct(v ** (s - 1), owners * blocks_per_parent, rng)
        tuples = np.concatenate([balanced_block(int(c), v, s) for c in block_codes])
        productions = tuples.reshape(owners, m, s)
        order = rng.permuted(np.tile(np.arange(m), (owners, 1)), axis=1)
        rules.append(np.take_along_axis(productions, order[:, :, None], axis=1))
    return Grammar.from_rules(rules, v)
