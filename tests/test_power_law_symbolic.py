"""The closed forms of rhm_theory.theory.power_law_symbolic against independent computations: the
uniform tuple variance against the brute-force rule ensemble (every rule draw, exact fractions), the
Zipf sums against direct summation, and the derived exponent and range against their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from rhm_theory.theory import ensemble, power_law_symbolic as pl, symbolic

# (v, n_c, m, s, L, patch): tiny grammars whose every rule draw can be enumerated
TUPLE_SETTINGS = [(3, 2, 2, 2, 1, 0), (2, 3, 1, 2, 2, 1), (2, 2, 2, 2, 2, 1), (2, 3, 1, 2, 3, 2), (2, 3, 1, 3, 2, 2)]


@pytest.mark.parametrize("v, n_c, m, s, L, patch", TUPLE_SETTINGS)
def test_uniform_tuple_variance_equals_brute_force_ensemble(v, n_c, m, s, L, patch):
    # sum_y C(y, mu)^2 = (n_c - 1) / (2 n_c^2) * mean over ordered class pairs of (p(mu|y) - p(mu|y'))^2
    brute = ensemble.exact_ensemble_average(v, n_c, m, s, L, position=patch, tuples=True)
    expected = sp.Rational(n_c - 1, 2 * n_c**2) * sp.Rational(brute["delta2"])
    assert pl.uniform_tuple_variance(v, n_c, m, s, L) == expected


def test_uniform_tuple_variance_is_symbolic_in_every_parameter():
    expr = pl.uniform_tuple_variance()
    assert expr.free_symbols == {symbolic.v, symbolic.n_c, symbolic.m, symbolic.s, symbolic.L}


@pytest.mark.parametrize("m, a", [(2, 0.5), (5, 1.0), (12, 1.5), (7, 0.25)])
def test_rule_frequencies_are_normalised_zipf(m, a):
    f = np.array([float(pl.rule_frequency(k, m, sp.nsimplify(a))) for k in range(1, m + 1)])
    ranks = np.arange(1, m + 1, dtype=float)
    direct = ranks ** -(1 + a) / (ranks ** -(1 + a)).sum()
    np.testing.assert_allclose(f, direct, rtol=1e-13)
    assert math.isclose(f.sum(), 1.0, rel_tol=1e-13)


def test_error_exponent_is_minus_a_over_one_plus_a():
    assert sp.simplify(pl.error_exponent() + pl.a / (1 + pl.a)) == 0
    assert pl.error_exponent(sp.Rational(1, 2)) == sp.Rational(-1, 3)
    assert pl.error_exponent(sp.Rational(3, 2)) == sp.Rational(-3, 5)


def test_error_slope_matches_finite_differences_inside_the_range():
    params = (16, 4, 10, 2, 2)
    a = sp.Rational(1, 2)
    span = pl.power_law_range(*params, a)
    P1, P2 = 2 * span["P_1"], span["P_m"] / 2
    e1, e2 = (float(pl.error(P, *params, a)) for P in (P1, P2))
    slope = math.log(e2 / e1) / math.log(float(P2 / P1))
    assert math.isclose(slope, -1 / 3, rel_tol=1e-12)


@pytest.mark.parametrize("params, a", [((8, 4, 4, 2, 3), sp.Integer(1)), ((16, 4, 10, 2, 2), sp.Rational(1, 2))])
def test_detection_sizes_invert_rules_learned(params, a):
    m = params[2]
    for k in range(1, m + 1):
        P_k = pl.detection_size(k, *params, a)
        assert math.isclose(
            float(P_k * m * pl.rule_frequency(k, m, a)), float(symbolic.critical_sample_size(*params)), rel_tol=1e-12
        )
        assert math.isclose(float(pl.rules_learned(P_k, *params, a)), k, rel_tol=1e-12)
    assert float(pl.rules_learned(10 * pl.detection_size(m, *params, a), *params, a)) == m  # capped at m


@pytest.mark.parametrize("m, a", [(4, sp.Integer(1)), (10, sp.Rational(1, 2)), (6, sp.Rational(3, 2))])
def test_power_law_range_spans_one_plus_a_decades_of_m(m, a):
    span = pl.power_law_range(16, 2, m, 2, 2, a)
    assert math.isclose(float(span["decades"]), float((1 + a) * math.log10(m)), rel_tol=1e-12)
    assert float(span["P_1"]) < float(span["P_m"])


def test_unlearned_mass_exact_sum_and_its_continuum_form():
    m, a = 10_000, sp.Integer(1)
    f = np.arange(1, m + 1, dtype=float) ** -2.0
    f /= f.sum()
    for k_star in (0, 3, 100):
        exact = float(pl.unlearned_mass(k_star, m, a).doit())
        assert math.isclose(exact, f[k_star:].sum(), rel_tol=1e-9)
    # the continuum form k*^-a / (a H_m) approaches the sum for 1 << k* << m
    k_star = 100
    ratio = float(pl.unlearned_mass(k_star, m, a, continuum=True)) / f[k_star:].sum()
    assert abs(ratio - 1) < 0.02


def test_next_token_level_ratio_is_free_of_a_and_k():
    ratio = pl.next_token_level_ratio(1, 3, pl.k, 8, 4, 4, 2, 3, a=pl.a)
    assert pl.a not in ratio.free_symbols
    assert pl.k not in ratio.free_symbols
    uniform = symbolic_resolvable(3) / symbolic_resolvable(1)
    assert sp.simplify(ratio - uniform) == 0


def symbolic_resolvable(distance):
    from rhm_theory.theory import next_token_symbolic

    return next_token_symbolic.resolvable_size_average(8, 4, 4, 2, 3, distance)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_evaluate_refuses_a_that_is_not_positive_and_finite(bad):
    with pytest.raises(ValueError, match="a must be"):
        pl.evaluate(8, 4, 4, 2, 3, bad)


def bottom_weighted(v, n_c, m, s, L, a, seed):
    """A grammar with Zipf(a) rules at the bottom level and uniform rules above (the setting of
    rank_correlation_variance), and the rank (1..m) of each bottom production, (v, m)."""
    from rhm_theory.core.grammar import Grammar

    zipf = Grammar.random(v, n_c, m, s, L, seed=seed, zipf=a)
    probs = [np.full(p.shape, 1 / m) for p in zipf.probs[:-1]] + [zipf.probs[-1]]
    bottom = zipf.probs[-1]
    ranks = 1 + np.argsort(np.argsort(-bottom, axis=1, kind="stable"), axis=1)
    return Grammar.from_rules(zipf.rules, v, probs=probs), ranks


@pytest.mark.parametrize("v, n_c, m, s, L, a", [(4, 2, 3, 2, 2, 1.0), (3, 3, 3, 2, 3, 0.5)])
def test_rank_correlation_variance_matches_a_rule_ensemble_monte_carlo(v, n_c, m, s, L, a):
    # per grammar, exact C(y, mu) = P(y) (P(mu|y) - P(mu)) of the tuples of patch 0 (weighted exact
    # statistics), grouped by the rank of the production that emits mu; mean over 400 grammars with a
    # 99.9 % normal interval, against the closed form at every rank
    from rhm_theory.theory.exact import class_tuple_probs_sparse

    per_rank = [[] for _ in range(m)]
    for seed in range(400):
        grammar, ranks = bottom_weighted(v, n_c, m, s, L, a, seed)
        _, probs = class_tuple_probs_sparse(grammar, 0)  # (n_c, owners * m), column owner * m + j
        C = (probs - probs.mean(axis=0)) / n_c
        strength = (C**2).sum(axis=0).reshape(-1, m)  # (owners, m)
        for rank in range(1, m + 1):
            per_rank[rank - 1].append(strength[ranks == rank].mean())
    a_exact = sp.nsimplify(a)
    for rank in range(1, m + 1):
        samples = np.array(per_rank[rank - 1])
        mean, half = samples.mean(), 3.29 * samples.std(ddof=1) / np.sqrt(samples.size)
        theory = float(pl.rank_correlation_variance(rank, v, n_c, m, s, L, a_exact))
        assert abs(mean - theory) <= half, (rank, mean, half, theory)
    # the alternative "rank-independent strength" (no f_k^2 factor) is rejected at this size
    first, last = np.mean(per_rank[0]), np.mean(per_rank[-1])
    assert first / last > 0.5 * float((pl.rule_frequency(1, m, a_exact) / pl.rule_frequency(m, m, a_exact)) ** 2)


# ----- rhm theory --zipf --------------------------------------------------------------------------------
def test_cli_theory_zipf_prints_the_closed_forms(capsys):
    import json

    from rhm_theory.cli import main

    argv = [
        "theory",
        "--v",
        "16",
        "--nc",
        "4",
        "--m",
        "10",
        "--s",
        "2",
        "--L",
        "2",
        "--zipf",
        "0.5",
        "--P",
        "1000",
        "--json",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    direct = pl.evaluate(16, 4, 10, 2, 2, 0.5, P=1000)
    assert printed == pytest.approx(direct)
    assert printed["exponent"] == pytest.approx(-1 / 3)
    assert printed["decades"] == pytest.approx(1.5)


@pytest.mark.parametrize("extra", [["--s0", "1"], ["--latex"]])
def test_cli_theory_zipf_refuses_the_sparse_and_latex_outputs_in_one_line(capsys, extra):
    from rhm_theory.cli import main

    assert main(["theory", "--v", "16", "--nc", "4", "--m", "4", "--s", "2", "--L", "2", "--zipf", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--zipf" in err
