"""The sympy closed forms of rhm_theory.theory.symbolic against independent computations.

- exact: brute-force averages over every possible rule draw (rhm_theory.theory.ensemble, built on the exact
  class-token probabilities of rhm_theory.theory.exact), compared by rational equality;
- Monte Carlo: means over random grammars within their 99 % confidence interval;
- the reductions used by the brute force, proven to change nothing on ensembles small enough to
  enumerate without them.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume as hypothesis_assume, given, settings, strategies as st
from strategies import examples

from rhm_theory import ensemble, symbolic
from rhm_theory.cli import theory as theory_cli

# (v, n_c, m, s, L, position): s = 2 and 3, L = 1..3, n_c != v, m below max(v**(s-1)), maximal cases.
TOKEN_SETTINGS = [
    (2, 3, 1, 2, 1, 1),
    (2, 4, 1, 2, 1, 0),
    (2, 3, 1, 2, 2, 3),
    (2, 1, 2, 2, 2, 0),
    (2, 2, 2, 2, 2, 1),
    (2, 3, 1, 2, 3, 5),
    (2, 2, 2, 2, 3, 6),
    (3, 2, 2, 2, 1, 1),
    (3, 3, 3, 2, 1, 0),
    (3, 2, 4, 2, 1, 1),  # L = 1 allows m > v**(s-1)
    (2, 1, 4, 2, 1, 1),
    (3, 4, 1, 2, 2, 3),
    (2, 3, 2, 3, 1, 2),
    (2, 3, 1, 3, 2, 7),
    (2, 2, 4, 3, 2, 4),
    (2, 3, 1, 3, 3, 13),
]
# (v, n_c, m, s, L, patch)
TUPLE_SETTINGS = [
    (2, 3, 1, 2, 1, 0),
    (3, 2, 2, 2, 1, 0),
    (3, 2, 4, 2, 1, 0),
    (2, 3, 1, 2, 2, 1),
    (2, 1, 2, 2, 2, 0),
    (2, 2, 2, 2, 2, 1),
    (2, 3, 1, 2, 3, 2),
    (2, 3, 1, 3, 2, 2),
]


@pytest.mark.parametrize("v, n_c, m, s, L, position", TOKEN_SETTINGS)
def test_token_closed_forms_equal_brute_force_ensemble(v, n_c, m, s, L, position):
    brute = ensemble.exact_ensemble_average(v, n_c, m, s, L, position=position)
    theory = symbolic.evaluate(v, n_c, m, s, L)
    assert sp.Rational(brute["eps"]) == theory["eps"]
    assert sp.Rational(brute["var_pbar"]) == theory["var_pbar"]
    if n_c > 1:
        assert sp.Rational(brute["delta2"]) == theory["delta2"]
    # sigma_f2 is claimed exact exactly when pbar is deterministic (zero ensemble variance)
    assert theory["sigma_f2_exact"] == (brute["var_pbar"] == 0)
    if theory["sigma_f2_exact"]:
        assert sp.Rational(brute["sigma_f2"]) == theory["sigma_f2"]


@pytest.mark.parametrize("v, n_c, m, s, L, patch", TUPLE_SETTINGS)
def test_tuple_closed_forms_equal_brute_force_ensemble(v, n_c, m, s, L, patch):
    brute = ensemble.exact_ensemble_average(v, n_c, m, s, L, position=patch, tuples=True)
    theory = symbolic.evaluate(v, n_c, m, s, L)
    assert sp.Rational(brute["eps"]) == theory["eps_tuple"]
    assert sp.Rational(brute["var_pbar"]) == theory["var_pbar_tuple"]
    if n_c > 1:
        assert sp.Rational(brute["delta2"]) == theory["delta2_tuple"]


def test_brute_force_settings_span_the_required_range():
    settings_ = [row[:5] for row in TOKEN_SETTINGS]
    assert {s for _, _, _, s, _ in settings_} == {2, 3}
    assert {L for *_, L in settings_} == {1, 2, 3}
    below_max = [(v, n_c, m, s, L) for v, n_c, m, s, L in settings_ if n_c != v and m < v ** (s - 1)]
    assert len(below_max) >= 6
    assert len(settings_) >= 10


@pytest.mark.parametrize(
    "v, n_c, m, s, L, position, tuples",
    [
        (2, 2, 1, 2, 2, 1, False),
        (2, 2, 1, 2, 2, 1, True),
        (2, 1, 2, 2, 2, 3, False),
        (2, 1, 2, 2, 2, 1, True),
        (2, 3, 1, 3, 1, 2, False),
        (2, 3, 1, 3, 1, 0, True),
        (2, 2, 1, 3, 2, 5, False),
    ],
)
def test_ensemble_reductions_change_nothing(v, n_c, m, s, L, position, tuples):
    """Sets instead of ordered draws, and grouping by slot counts, give the same exact averages."""
    full = ensemble.exact_ensemble_average(v, n_c, m, s, L, position, tuples=tuples, reduce=False)
    reduced = ensemble.exact_ensemble_average(v, n_c, m, s, L, position, tuples=tuples, reduce=True)
    assert full == reduced


def test_level_draws_enumerate_every_sampler_outcome_once():
    ordered = ensemble.level_draws(2, 2, 2, 2, ordered=True)
    sets = ensemble.level_draws(2, 2, 2, 2, ordered=False)
    assert len(ordered) == 4 * 3 * 2 * 1
    assert len(sets) == 6
    assert len({draw.tobytes() for draw in ordered}) == len(ordered)
    canonical = {np.sort(draw[:, :, 0] * 2 + draw[:, :, 1], axis=1).tobytes() for draw in ordered}
    assert canonical == {(draw[:, :, 0] * 2 + draw[:, :, 1]).tobytes() for draw in sets}


MONTE_CARLO = [(8, 8, 4, 2, 3, 2000), (16, 16, 4, 2, 3, 1000), (8, 8, 8, 2, 4, 1500)]


@pytest.mark.parametrize("v, n_c, m, s, L, n_grammars", MONTE_CARLO)
def test_monte_carlo_mean_within_99_percent_interval(v, n_c, m, s, L, n_grammars):
    theory = symbolic.evaluate(v, n_c, m, s, L)
    for tuples, suffix in ((False, ""), (True, "_tuple")):
        samples = ensemble.monte_carlo_statistics(v, n_c, m, s, L, n_grammars, seed=7 + L, position=1, tuples=tuples)
        names = ["eps", "delta2", "var_pbar"] + (["sigma_f2"] if theory["sigma_f2_exact"] and not tuples else [])
        for name in names:
            mean, low, high = ensemble.confidence_interval(samples[name])
            expected = float(theory[name + suffix])
            assert low <= expected <= high, (
                f"{name}{suffix}: closed form {expected:.6g}, Monte Carlo {mean:.6g} [{low:.6g}, {high:.6g}]"
            )


def test_symbolic_closed_form_equals_explicit_matrix_power():
    """The rsolve solution equals F = A^(L-1) E computed by repeated multiplication, for L up to 7."""
    derived = symbolic.derivation()
    for v, n_c, m, s in [(3, 2, 2, 2), (5, 7, 3, 2), (4, 4, 16, 3)]:
        point = {symbolic.v: v, derived["K"]: v ** (s - 1), symbolic.m: m}
        transfer = derived["transfer"].subs(point)
        moments = derived["token_moments"].subs(point)
        for L in range(1, 8):
            power = transfer ** (L - 1) * moments
            same, other = power[1, 1], power[0, 1]
            assert symbolic.delta2(v, n_c, m, s, L) == 2 * (same - other)
            assert symbolic.eps(v, n_c, m, s, L) == v * same - sp.Rational(1, v)


@settings(max_examples=examples(15), deadline=None)
@given(v=st.integers(2, 9), s=st.integers(2, 3), L=st.integers(1, 5), data=st.data())
def test_class_dependent_part_shrinks_by_level_factor(v, s, L, data):
    m = data.draw(st.integers(1, v ** (s - 1)))
    n_c = data.draw(st.integers(1, v**s // m))
    ratio = symbolic.delta2(v, n_c, m, s, L + 1) / symbolic.delta2(v, n_c, m, s, L)
    assert ratio == symbolic.level_factor(v, n_c, m, s, L)
    assert symbolic.eps(v, n_c, m, s, L) >= 0
    assert symbolic.var_pbar(v, n_c, m, s, L) >= 0
    # noise equals signal at P_c
    P_c = symbolic.critical_sample_size(v, n_c, m, s, L)
    if n_c > 1:
        assert symbolic.noise_f2(P_c, v, n_c, m, s, L).subs(symbolic.P, P_c) == symbolic.sigma_f2(v, n_c, m, s, L)


def test_P_c_over_nc_mL_tends_to_one():
    assert symbolic.quantity("P_c_over_nc_mL_limit", n_c=8, m=4, s=2, L=3) == 1
    assert symbolic.expressions()["P_c_over_nc_mL_limit"] == 1
    values = [float(symbolic.quantity("P_c_over_nc_mL", v, 8, 4, 2, 3)) for v in (8, 64, 512)]
    assert values[0] > values[1] > values[2] > 1
    assert values[2] - 1 < 0.01


def test_functions_accept_symbols_and_integers():
    v = sp.Symbol("v", positive=True, integer=True)
    expression = symbolic.eps(v, 8, 4, 2, 3)
    assert expression.free_symbols == {v}
    assert expression.subs(v, 8) == symbolic.eps(8, 8, 4, 2, 3)
    assert symbolic.eps().free_symbols == {symbolic.v, symbolic.m, symbolic.s, symbolic.L}
    assert symbolic.noise_f2(symbolic.P, 8, 8, 4, 2, 3) * symbolic.P == 56
    assert symbolic.quantity("p_max", 8, 8, 4, 2, 3) == 8 * 4**7


@pytest.mark.parametrize(
    "params, P, match",
    [
        ((2, 8, 4, 2, 3), None, "infeasible"),
        ((4, 2, 5, 2, 2), None, "infeasible"),
        ((1, 1, 1, 2, 2), None, "v must be >= 2"),
        ((2, 2, 1, 1, 2), None, "s must be >= 2"),
        ((8, 8, 4, 2, 3), 0, "P must be >= 1"),
        ((8, 8, 4, 2, 3), -5, "P must be >= 1"),
        ((8, 8, 0, 2, 3), None, "m must be >= 1"),
        ((8, 8, 2.5, 2, 3), None, "m must be an integer"),
    ],
)
def test_bad_input_raises_value_error(params, P, match):
    with pytest.raises(ValueError, match=match):
        symbolic.quantity("noise_f2", *params, P=P)


def test_cli_json_keys_and_formats(capsys):
    parser = argparse.ArgumentParser()
    theory_cli.register(parser.add_subparsers())
    args = parser.parse_args(["theory", "--v", "8", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--json"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == list(symbolic.QUANTITIES)
    values = symbolic.evaluate(8, 8, 4, 2, 3)
    assert printed["p_max"] == 8 * 4**7
    assert printed["d"] == 8
    assert sp.Rational(printed["eps"]) == values["eps"]
    assert "/" in printed["eps"]
    assert printed["sigma_f2_exact"] is False
    assert printed["noise_f2"] == "56/P"


def test_cli_table_latex_and_bad_input(capsys):
    from rhm_theory.cli import main

    assert main(["theory", "--v", "4", "--nc", "4", "--m", "2", "--s", "2", "--L", "2", "--P", "100"]) == 0
    table = capsys.readouterr().out
    assert len(table.splitlines()) == len(symbolic.QUANTITIES)
    assert "noise_f2" in table
    assert main(["theory", "--v", "4", "--nc", "4", "--m", "2", "--s", "2", "--L", "2", "--latex"]) == 0
    assert "\\frac" in capsys.readouterr().out
    assert main(["theory", "--v", "2", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--json"]) == 2
    assert "infeasible" in capsys.readouterr().err


def test_sample_complexity_scalings():
    values = symbolic.evaluate(16, 2, 8, 4, 2)
    assert values["P_star_exponent_in_d"] == sp.Rational(3, 2)  # 8**2 = (4**2)**(3/2)
    assert values["P_star_scaling"] == 2 * 8**2 == values["d"] ** values["P_star_exponent_in_d"] * 2
    assert values["P_shallow_scaling"] == values["p_max"] == 2 * 8 ** (1 + 4)
    assert values["P_cluster_scaling"] == sp.sqrt(2) * 64


@settings(max_examples=examples(8), deadline=None)
@given(v=st.integers(2, 3), s=st.integers(2, 3), L=st.integers(1, 3), data=st.data())
def test_closed_forms_equal_brute_force_on_random_tiny_settings(v, s, L, data):
    max_m = v**s if L == 1 else v ** (s - 1)
    m = data.draw(st.integers(1, max_m), label="m")
    n_c = data.draw(st.integers(1, v**s // m), label="n_c")
    tuples = data.draw(st.booleans(), label="tuples")
    n_positions = s ** (L - 1) if tuples else s**L
    position = data.draw(st.integers(0, n_positions - 1), label="position")
    size = ensemble.n_ensemble_grammars(v, n_c, m, s, L)
    hypothesis_assume(size <= 5000 if tuples else size <= 20000)
    brute = ensemble.exact_ensemble_average(v, n_c, m, s, L, position=position, tuples=tuples)
    theory = symbolic.evaluate(v, n_c, m, s, L)
    suffix = "_tuple" if tuples else ""
    for name in ("eps", "delta2", "var_pbar"):
        if brute[name] is not None:
            assert sp.Rational(brute[name]) == theory[name + suffix], name


@pytest.mark.parametrize("owners, m, v, s", [(2, 1, 2, 2), (3, 2, 3, 2), (2, 2, 2, 3), (1, 4, 2, 2)])
def test_level_draws_count(owners, m, v, s):
    sets = ensemble.level_draws(owners, m, v, s)
    assert len(sets) == ensemble.count_level_draws(owners, m, v**s, ordered=False)
    codes = sets[..., 0] * v ** (s - 1) + (sets[..., 1:] * v ** np.arange(s - 2, -1, -1)).sum(-1)
    assert len({np.sort(c, axis=1).tobytes() for c in codes}) == len(sets)  # all distinct
    assert all(len(np.unique(c)) == owners * m for c in codes)  # disjoint productions


def test_enumeration_limits_raise():
    with pytest.raises(ValueError, match="enumeration limit"):
        ensemble.level_draws(4, 2, 4, 2)
    with pytest.raises(ValueError, match="position must be in range"):
        ensemble.exact_ensemble_average(2, 3, 1, 2, 2, position=4)


def test_noise_with_pbar_fluctuations_reduces_to_noise_f2_exactly_where_pbar_is_deterministic():
    for params in [(8, 8, 8, 2, 2), (4, 4, 4, 2, 3), (3, 3, 9, 3, 2)]:
        assert symbolic.sigma_f2_exact(*params)
        assert symbolic.noise_f2_pbar(symbolic.P, *params) == symbolic.noise_f2(symbolic.P, *params)
    assert symbolic.noise_f2_pbar(symbolic.P, 8, 8, 4, 2, 3) > symbolic.noise_f2(symbolic.P, 8, 8, 4, 2, 3)


def test_a_rational_sample_size_must_be_positive():
    assert symbolic.bind_parameters((2, 2, 2, 2, 1), sp.Rational(3, 2))[symbolic.P] == sp.Rational(3, 2)
    for bad in (sp.Rational(-3, 2), sp.Integer(0)):
        with pytest.raises(ValueError, match="P must be"):
            symbolic.quantity("noise_f2", 2, 2, 2, 2, 1, P=bad)
