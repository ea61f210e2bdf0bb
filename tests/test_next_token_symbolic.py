"""The rule-ensemble average of the squared token-token correlation (rhm_theory.theory.next_token_symbolic)
against brute force over every rule draw (rational equality), Monte Carlo over random grammars, and
its large-v form."""

import numpy as np
import pytest
import sympy as sp

from rhm_theory import Grammar, ensemble
from rhm_theory.theory import next_token, next_token_symbolic as nts

# (v, n_c, m, s, L, distances): ancestor at the class and at hidden levels (random prior), levels below
# the ancestor with equal and with different slots on the two paths, m < v^(s-1) with m >= 2, s = 3
BRUTE_FORCE = [
    (2, 3, 1, 2, 2, (1, 2, 3)),
    (2, 1, 2, 2, 2, (1, 2, 3)),
    (2, 2, 2, 3, 1, (1, 2)),
    (2, 1, 1, 3, 2, (1, 3)),
    (2, 2, 1, 2, 3, (3,)),
]


@pytest.mark.parametrize("v, n_c, m, s, L, distances", BRUTE_FORCE)
def test_average_equals_brute_force_over_every_rule_draw(v, n_c, m, s, L, distances):
    for t in distances:
        brute = ensemble.exact_token_pair_average(v, n_c, m, s, L, t)
        assert sp.Rational(brute["strength"]) == nts.correlation_strength_average(v, n_c, m, s, L, t)
        assert sp.Rational(brute["noise"]) == nts.noise_average(v, n_c, m, s, L, t)


def test_brute_force_settings_reach_every_case():
    levels = {(row[3], row[4], t): Grammar.random(*row[:5], seed=0) for row in BRUTE_FORCE for t in row[5]}
    ancestors = {next_token.ancestor_level(g, t) == g.L + 1 for (_, _, t), g in levels.items()}
    assert ancestors == {True, False}
    assert any(m >= 2 and m < v ** (s - 1) for v, _, m, s, _, _ in BRUTE_FORCE)


def test_draws_with_replacement_fail_the_brute_force(monkeypatch):
    """Negative control: forget that an owner's productions are distinct tuples (finest partition only)."""
    brute = ensemble.exact_token_pair_average(2, 1, 2, 2, 2, 1)
    monkeypatch.setattr(nts, "_moebius", lambda labels: int(max(labels) + 1 == len(labels)))
    nts._numeric_transfer.cache_clear()
    nts.transfer_matrix.cache_clear()
    try:
        assert sp.Rational(brute["strength"]) != nts.correlation_strength_average(2, 1, 2, 2, 2, 1)
    finally:
        nts._numeric_transfer.cache_clear()
        nts.transfer_matrix.cache_clear()


@pytest.mark.parametrize("v, n_c, m, s, L", [(8, 8, 4, 2, 3), (6, 3, 3, 2, 3)])
def test_monte_carlo_mean_within_99_percent_interval(v, n_c, m, s, L):
    rng = np.random.default_rng(3)
    grammars = [Grammar.random(v, n_c, m, s, L, seed=rng) for _ in range(300)]
    for t in (1, 2, 3, 4):
        samples = np.array([next_token.correlation_strength(g, t) for g in grammars])
        mean, low, high = ensemble.confidence_interval(samples)
        assert low <= float(nts.correlation_strength_average(v, n_c, m, s, L, t)) <= high, (t, mean, low, high)


@pytest.mark.parametrize("n_c_over_v, m, s, L", [(1, 3, 2, 3), (1 / 4, 4, 2, 3), (1 / 2, 5, 3, 2), (1, None, 2, 2)])
def test_leading_order_is_the_large_v_limit(n_c_over_v, m, s, L):
    """exact / leading order - 1 shrinks like 1/v (x16 smaller when v grows x16); m = None: m = v/2."""
    deviations = []
    for v in (2**7, 2**11):
        n_c, m_v = int(n_c_over_v * v), m or v // 2
        for t in (1, s ** (L - 1)):
            ratio = nts.correlation_strength_average(v, n_c, m_v, s, L, t) / nts.leading_order_strength(
                v, n_c, m_v, s, L, t
            )
            deviations.append(abs(float(ratio) - 1))
    half = len(deviations) // 2
    assert max(deviations[:half]) < 0.05
    assert max(deviations[half:]) < max(deviations[:half]) / 10


def test_resolvable_size_and_symbols():
    P_t = nts.resolvable_size_average(8, 8, 4, 2, 3, 4)
    assert P_t == nts.noise_average(8, 8, 4, 2, 3, 4) / nts.correlation_strength_average(8, 8, 4, 2, 3, 4)
    v = sp.Symbol("v", positive=True, integer=True)
    expression = nts.correlation_strength_average(v, 2, 1, 2, 1, 1)  # L = 1: one level, fast
    assert expression.free_symbols == {v}
    assert expression.subs(v, 3) == nts.correlation_strength_average(3, 2, 1, 2, 1, 1)


@pytest.mark.parametrize(
    "args, match",
    [
        ((8, 8, 4, 2, 3, 8), "distance"),
        ((2, 8, 4, 2, 3, 1), "infeasible"),
        ((8, 8, 4, 1, 3, 1), "s must be"),
        ((8, 8, 4, 2, 3, 0), "distance"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        nts.correlation_strength_average(*args)
