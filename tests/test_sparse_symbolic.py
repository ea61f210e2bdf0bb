"""The sparse RHM's sympy closed forms against brute force (enumeration, exact probabilities, ensembles)."""

import itertools
from fractions import Fraction

import pytest
import sympy as sp

from rhm_theory import Grammar, ensemble, exact, symbolic
from rhm_theory.sparse import SparseRHM
from rhm_theory.theory import sparse_exact, sparse_symbolic


@pytest.mark.parametrize("variant", ["A", "B"])
@pytest.mark.parametrize("params, s0", [((3, 2, 2, 2, 2), 1), ((2, 2, 2, 3, 1), 2), ((4, 2, 2, 2, 1), 3)])
def test_p_max_and_layout_count_equal_the_enumeration(params, s0, variant):
    model = SparseRHM(Grammar.random(*params, seed=0), s0, variant)
    theory = sparse_symbolic.evaluate(*params, s0, variant)
    x, _ = model.enumerate()
    assert theory["p_max"] == len({row.tobytes() for row in x}) == model.p_max
    assert theory["n_placements"] == len(model.placements)
    assert theory["d"] == model.d


@pytest.mark.parametrize("variant", ["A", "B"])
@pytest.mark.parametrize("params, s0", [((3, 2, 2, 2, 2), 1), ((2, 2, 2, 3, 1), 2), ((3, 3, 1, 2, 2), 2)])
def test_informative_fraction_is_exact_at_every_position_and_class(params, s0, variant):
    model = SparseRHM(Grammar.random(*params, seed=1), s0, variant)
    rho = sparse_symbolic.evaluate(*params, s0, variant)["informative_fraction"]
    assert rho == sp.Rational(1, (s0 + 1) ** params[4])
    for position in range(model.d):
        probs = sparse_exact.class_token_probs(model, position, exact=True)
        assert all(p == 1 - Fraction(rho.p, rho.q) for p in probs[:, model.v])


@pytest.mark.parametrize("params, s0", [((3, 2, 2, 2, 2), 1), ((2, 2, 2, 3, 1), 2), ((3, 3, 1, 2, 2), 2)])
def test_variant_a_probabilities_are_the_rhm_ones_scaled_by_the_informative_fraction(params, s0):
    grammar = Grammar.random(*params, seed=2)
    model = SparseRHM(grammar, s0, "A")
    rho = Fraction(1, (s0 + 1) ** grammar.L)
    for position in range(model.d):
        digits = [(position // model.patch ** (grammar.L - 1 - k)) % model.patch for k in range(grammar.L)]
        rhm_position = sum((o // (s0 + 1)) * grammar.s ** (grammar.L - 1 - k) for k, o in enumerate(digits))
        sparse = sparse_exact.class_token_probs(model, position, exact=True)[:, : grammar.v]
        assert (sparse == rho * exact.class_token_probs(grammar, rhm_position, exact=True)).all()


def test_variant_a_correlation_variance_equals_the_brute_force_ensemble():
    """Average over every rule draw of (2, 2, 2, 2, 2) (pbar deterministic: sigma_f2 is exact) at s0 = 1."""
    params, s0, position = (2, 2, 2, 2, 2), 1, 5
    levels = [ensemble.level_draws(2, 2, 2, 2) for _ in range(2)]
    values = []
    for top, bottom in itertools.product(*levels):
        model = SparseRHM(Grammar.from_rules([top, bottom], 2), s0, "A")
        probs = sparse_exact.class_token_probs(model, position, exact=True)[:, :2]
        values.append(ensemble.class_statistics(probs)["sigma_f2"])
    theory = sparse_symbolic.evaluate(*params, s0, "A")
    assert symbolic.evaluate(*params)["sigma_f2_exact"]
    assert sp.Rational(sum(values, Fraction(0)) / len(values)) == theory["sigma_f2"]


def test_critical_sample_size_scales_as_s0_plus_one_to_the_L():
    expressions = sparse_symbolic.expressions("A")
    assert sp.simplify(expressions["P_c_over_rhm"] - (sparse_symbolic.s0 + 1) ** symbolic.L) == 0
    at = sparse_symbolic.evaluate(8, 8, 4, 2, 3, 2, "A")
    assert at["P_c"] == 27 * symbolic.evaluate(8, 8, 4, 2, 3)["P_c"]
    assert sparse_symbolic.evaluate(8, 8, 4, 2, 3, 0, "A")["P_c"] == symbolic.evaluate(8, 8, 4, 2, 3)["P_c"]
    assert at["P_star_LCN"] == 27 * 8 * 4**3
    assert at["P_star_CNN"] == 9 * 8 * 4**3
    b = sparse_symbolic.evaluate(8, 8, 4, 2, 3, 2, "B")  # derived at integers s, s0, L only
    assert sparse_symbolic.expressions("B")["P_c"] is None
    assert b["P_c"] > at["P_c"]
    assert sparse_symbolic.evaluate(8, 8, 4, 2, 3, 0, "B")["P_c"] == symbolic.evaluate(8, 8, 4, 2, 3)["P_c"]


def test_bad_input():
    with pytest.raises(ValueError, match="variant must be one of"):
        sparse_symbolic.expressions("C")
    with pytest.raises(ValueError, match="s0 must be >= 0"):
        sparse_symbolic.evaluate(8, 8, 4, 2, 3, -1)


def brute_force_moments(params, s0, variant):
    """Exact averages over every rule draw of (n_c, m) grammars with v = n_c (both levels enumerated):
    per position, E[p(mu|alpha)^2], E[p(mu|alpha) p(mu|beta)] (alpha != beta) and E[sigma_f2 of the
    grammar] (ensemble.class_statistics), as Fractions."""
    v, n_c, m, s, L = params
    levels = [ensemble.level_draws(n_c if k == 0 else v, m, v, s) for k in range(L)]
    grammars = [Grammar.from_rules(list(rules), v) for rules in itertools.product(*levels)]
    d = (s * (s0 + 1)) ** L
    same, other, sigma = [[Fraction(0)] * d for _ in range(3)]
    for grammar in grammars:
        model = SparseRHM(grammar, s0, variant)
        for j in range(d):
            probs = sparse_exact.class_token_probs(model, j, exact=True)[:, :v]
            same[j] += (probs**2).sum() / (n_c * v)
            other[j] += sum((probs[a] * probs[b]).sum() for a in range(n_c) for b in range(n_c) if a != b) / (
                n_c * (n_c - 1) * v
            )
            sigma[j] += ensemble.class_statistics(probs)["sigma_f2"]
    return [[sp.Rational(x / len(grammars)) for x in values] for values in (same, other, sigma)]


@pytest.mark.parametrize("variant", ["A", "B"])
@pytest.mark.parametrize("params", [(2, 2, 2, 2, 2), (2, 2, 1, 2, 2)])  # pbar deterministic; not
def test_second_moments_at_every_position_equal_the_brute_force_ensemble(params, variant):
    """The level-factorised second moments (same-slot and different-slot pair moments, layout weights)
    equal the averages over every rule draw at every position, s0 = 1; so does sigma_f2 where pbar is
    deterministic, and the position average of variant B's sigma_f2 is the one evaluate() gives."""
    v, n_c, m, s, L = params
    same, other, sigma = brute_force_moments(params, 1, variant)
    exact_sigma = symbolic.evaluate(*params)["sigma_f2_exact"]
    for j in range(len(same)):
        moments = sparse_symbolic.second_moments(v, n_c, m, s, L, 1, variant, position=j)
        assert (moments[1, 1], moments[0, 1]) == (same[j], other[j]), j
        stats = sparse_symbolic.statistics_at(v, n_c, m, s, L, 1, variant, position=j)
        assert (stats["var_pbar"] == 0) == exact_sigma
        if exact_sigma:
            assert stats["sigma_f2"] == sigma[j], j
    average = sparse_symbolic.second_moments(v, n_c, m, s, L, 1, variant)
    assert (average[1, 1], average[0, 1]) == (sum(same) / len(same), sum(other) / len(other))
    if exact_sigma:
        assert sparse_symbolic.evaluate(*params, 1, variant)["sigma_f2"] == sum(sigma) / len(sigma)


def test_variant_b_mixes_positions_and_variant_a_is_the_rhm():
    """Variant A's statistics are the RHM's at every position; variant B's differ between positions
    (an edge position of every patch holds one child only, an interior one mixes two) and its
    position average is smaller, so its P_c exceeds (s0+1)^L P_c(RHM)."""
    params, s0 = (3, 2, 2, 2, 3), 1
    rhm = symbolic.evaluate(*params)["sigma_f2"]
    assert {sparse_symbolic.statistics_at(*params, s0, "A", j)["sigma_f2"] for j in (0, 5, 37)} == {rhm}
    b = [sparse_symbolic.statistics_at(*params, s0, "B", j)["sigma_f2"] for j in (0, 1, 5)]
    assert b[0] == rhm
    assert b[1] < rhm
    assert b[2] < b[1]
    values = sparse_symbolic.evaluate(*params, s0, "B")
    assert values["sigma_f2"] < rhm
    assert values["P_c_over_rhm"] > (s0 + 1) ** params[4]
