"""Negative and positive controls of the learning checks (rhm_theory.report.learning_checks).

Each decision is fed synthetic results drawn from its claim (it must pass) and from each named
alternative (it must fail). Synthetic test-error curves: seed i has the sigmoid error
chance / (1 + (P / P0_i)^2), so its P* (error below 0.1 chance) is 3 P0_i, with P0_i lognormal around
the law (seed spread SIGMA in log P, as seen between seeds of real runs) and binomial test-set noise.
"""

import math

import numpy as np
import pytest
from verification_scripts import load_verification_script

from rhm_theory.report import learning_checks as lc

SIGMA = 0.3  # log-normal seed spread of P*
N_TEST = 1024
SEEDS = 5
# the full-mode design of verification/sample_complexity.py: n_c spans 8x, v 4x, m^L 4x with m in {2, 3, 4}
# and L in {3, 4}. Over 15 draws each check passed 14-15 times on the claim and 0 times on its alternatives.
DESIGN = [(8, 4, 3, 3), (8, 2, 3, 3), (8, 8, 3, 3), (8, 16, 3, 3), (8, 4, 4, 3), (8, 4, 2, 4), (4, 4, 3, 3),
          (16, 4, 3, 3), (4, 2, 3, 3), (16, 2, 3, 3)]


def curves_for(P0_law, n_c, rng, grid_low=0.05, grid_high=20.0, points=12, seeds=SEEDS):
    """(P_values, errors (seeds, n_P)) around the law P0_law, on a geometric grid relative to it."""
    P_values = np.unique(np.round(np.geomspace(grid_low * P0_law, grid_high * P0_law, points)).astype(int))
    P0 = P0_law * np.exp(SIGMA * rng.standard_normal(seeds))
    mean = lc.chance(n_c) / (1 + (P_values[None, :] / P0[:, None]) ** 2)
    return P_values, rng.binomial(N_TEST, mean) / N_TEST


def scaling_checks(law, seed, design=DESIGN):
    rng = np.random.default_rng(seed)
    curves = [curves_for(law(v, n_c, m, L), n_c, rng) for v, n_c, m, L in design]
    return {c.name.split(":")[0]: c for c in lc.pstar_scaling_checks(design, curves, s=2, n_boot=300, seed=seed)}


CLAIM = lambda v, n_c, m, L: 2 * n_c * m**L  # noqa: E731


@pytest.mark.parametrize("seed", [0, 1])
def test_pstar_scaling_passes_on_the_claim(seed):
    checks = scaling_checks(CLAIM, seed)
    assert all(c.passed and c.kind == "discriminating" for c in checks.values()), [c.line() for c in checks.values()]


@pytest.mark.parametrize("law, failing", [
    (lambda v, n_c, m, L: 8 * m**L, "P* ~ n_c^a"),                       # a = 0: no n_c dependence
    (lambda v, n_c, m, L: 4 * math.sqrt(n_c) * m**L, "P* ~ n_c^a"),      # a = 0.5
    (lambda v, n_c, m, L: n_c * (m**L) ** (7 / 3) / 50, "P* ~ (m^L)^b"),  # b of P_max at L = 3
    (lambda v, n_c, m, L: 2 * n_c * m**L * math.sqrt(v / 8), "P* ~ v^c"),  # c = 0.5
])
def test_pstar_scaling_fails_on_each_alternative(law, failing):
    checks = scaling_checks(law, 0)
    assert not checks[failing].passed, checks[failing].line()


def test_pstar_scaling_is_smoke_when_the_design_is_narrow():
    narrow = [(8, 4, 3, 3), (8, 8, 3, 3), (8, 4, 4, 3), (8, 4, 2, 4), (12, 4, 3, 3), (12, 8, 2, 4)]  # n_c x2, v x1.5
    checks = scaling_checks(CLAIM, 0, narrow)
    assert checks["P* ~ n_c^a"].kind == "smoke" and checks["P* ~ v^c"].kind == "smoke"
    assert checks["P* ~ (m^L)^b"].kind == "discriminating"


def test_pstar_scaling_fails_when_a_curve_never_crosses():
    rng = np.random.default_rng(0)
    curves = [curves_for(CLAIM(*p), p[1], rng) for p in DESIGN]
    P, errors = curves[0]
    curves[0] = (P, np.full_like(errors, 0.5))  # stays at 0.5 / 0.75 of chance
    assert not any(c.passed for c in lc.pstar_scaling_checks(DESIGN, curves, s=2, n_boot=50, seed=0))


# ----- (d) FCN ------------------------------------------------------------------------------------
FCN_GRAMMARS = [(8, 8, 8, 2, 2), (3, 3, 3, 2, 3), (8, 32, 2, 2, 3)]  # P_max/(n_c m^L) = 8, 81, 16
FCN_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 0.9)  # of P_max, as in the full verification
FCN_SEEDS = 4


def fcn_curves(law, rng):
    curves = []
    for v, n_c, m, s, L in FCN_GRAMMARS:
        p_max = n_c * m ** ((s**L - 1) // (s - 1))
        P_values = np.unique(np.round(np.array(FCN_FRACTIONS) * p_max).astype(int))
        P0 = law(n_c * m**L, p_max) * np.exp(SIGMA * rng.standard_normal(FCN_SEEDS))
        mean = lc.chance(n_c) / (1 + (P_values[None, :] / P0[:, None]) ** 2)
        curves.append((P_values, rng.binomial(N_TEST, mean) / N_TEST))
    return curves


def fcn_check(law, seed=0, converged=True):
    curves = fcn_curves(law, np.random.default_rng(seed))
    flags = [np.full(e.shape, converged) for _, e in curves]
    return lc.fcn_pmax_check(FCN_GRAMMARS, curves, flags, n_boot=300, seed=seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_fcn_passes_when_pstar_follows_pmax(seed):
    check = fcn_check(lambda scale, p_max: p_max / 6, seed)  # P* = 3 P0 = P_max / 2
    assert check.passed and check.kind == "discriminating", check.line()


def test_fcn_passes_when_pstar_is_beyond_the_grid():
    check = fcn_check(lambda scale, p_max: 10 * p_max)  # never learned below P_max: P* only bounded
    assert check.passed, check.line()


@pytest.mark.parametrize("factor", [0.5, 2])
def test_fcn_fails_when_pstar_follows_nc_m_L(factor):
    check = fcn_check(lambda scale, p_max: factor * scale)  # the deep CNN's scaling
    assert not check.passed, check.line()


def test_fcn_fails_when_runs_are_under_trained():
    check = fcn_check(lambda scale, p_max: p_max / 6, converged=False)
    assert not check.passed and "under-trained runs: " in check.figure


# ----- (e) sensitivity --------------------------------------------------------------------------
SENSITIVITY_SETTINGS = [(8, 4, 3, 3), (8, 16, 3, 3), (8, 4, 2, 4)]


def sensitivity_data(drop_factor, low_pairs_drop=False, seed=0):
    """Curves with P* = 3 P0 and S_{k,l} (k > l) halving at drop_factor x P* (seed by seed)."""
    rng = np.random.default_rng(seed)
    curves, sensitivities = [], []
    for v, n_c, m, L in SENSITIVITY_SETTINGS:
        law = 2 * n_c * m**L
        P_values = np.unique(np.round(np.geomspace(law / 20, law * 20, 14)).astype(int))
        P0 = law * np.exp(SIGMA * rng.standard_normal(SEEDS))
        mean = lc.chance(n_c) / (1 + (P_values[None, :] / P0[:, None]) ** 2)
        curves.append((P_values, rng.binomial(N_TEST, mean) / N_TEST))
        half = drop_factor * 3 * P0  # S = 0.9 / (1 + (P/half)^2) + 0.05 halves at about P = half
        drop = 0.9 / (1 + (P_values[None, :] / half[:, None]) ** 2) + 0.05
        S = np.empty((SEEDS, len(P_values), L, L))
        for k in range(L):
            for l in range(L):
                S[:, :, k, l] = drop if k > l or low_pairs_drop else 0.9 + 0.02 * rng.standard_normal((SEEDS, len(P_values)))
        sensitivities.append(S * (1 + 0.03 * rng.standard_normal(S.shape)))
    return curves, sensitivities


@pytest.mark.parametrize("seed", [0, 1])
def test_sensitivity_passes_when_the_drop_is_at_pstar(seed):
    curves, S = sensitivity_data(1.0, seed=seed)
    check = lc.sensitivity_drop_check(SENSITIVITY_SETTINGS, curves, S, n_boot=200, seed=seed)
    assert check.passed and check.kind == "discriminating", check.line()


@pytest.mark.parametrize("factor", [0.2, 5.0, 100.0])  # early, late, never (beyond the grid)
def test_sensitivity_fails_when_the_drop_is_elsewhere(factor):
    curves, S = sensitivity_data(factor)
    assert not lc.sensitivity_drop_check(SENSITIVITY_SETTINGS, curves, S, n_boot=200, seed=0).passed


def test_sensitivity_fails_when_every_pair_drops():
    curves, S = sensitivity_data(1.0, low_pairs_drop=True)
    check = lc.sensitivity_drop_check(SENSITIVITY_SETTINGS, curves, S, n_boot=200, seed=0)
    assert not check.passed and "(k <= l)" in check.figure


# ----- (g) uncorrelated control -----------------------------------------------------------------
def control_data(uncorrelated_P0, twin_P0=2.0, seed=0, seeds=4):
    """Normalised sigmoid errors at P/(n_c m^L) = 1..32 for the uncorrelated grammar and its twin."""
    rng = np.random.default_rng(seed)
    v, n_c, m, L = 2, 2, 2, 4
    scale = n_c * m**L
    P_values = [scale * r for r in (1, 2, 4, 8, 16, 32)]

    def errors(P0):
        P0 = P0 * scale * np.exp(SIGMA * rng.standard_normal(seeds))
        mean = lc.chance(n_c) / (1 + (np.array(P_values)[None, :] / P0[:, None]) ** 2)
        return rng.binomial(N_TEST, mean) / N_TEST

    return (v, n_c, m, L), P_values, errors(uncorrelated_P0), errors(twin_P0)


@pytest.mark.parametrize("seed", [0, 1])
def test_control_passes_at_chance_with_a_learned_twin(seed):
    params, P, un, co = control_data(math.inf, seed=seed)
    check = lc.uncorrelated_control_check(params, P, un, co, np.ones(un.shape, bool), n_boot=300, seed=seed)
    assert check.passed and check.kind == "discriminating", check.line()


@pytest.mark.parametrize("P0", [2.0, 20.0])  # learned like the twin; learned late but before 32 n_c m^L
def test_control_fails_when_the_uncorrelated_grammar_is_learned(P0):
    params, P, un, co = control_data(P0)
    assert not lc.uncorrelated_control_check(params, P, un, co, np.ones(un.shape, bool), n_boot=300, seed=0).passed


def test_control_fails_when_under_trained_or_the_twin_is_not_learned():
    params, P, un, co = control_data(math.inf)
    flags = np.ones(un.shape, bool)
    flags[0, -1] = False
    assert not lc.uncorrelated_control_check(params, P, un, co, flags, n_boot=100, seed=0).passed
    params, P, un, co = control_data(math.inf, twin_P0=math.inf)
    assert not lc.uncorrelated_control_check(params, P, un, co, np.ones(un.shape, bool), n_boot=100, seed=0).passed


def test_control_is_smoke_below_32_n_c_m_L():
    params, P, un, co = control_data(math.inf)
    check = lc.uncorrelated_control_check(params, P[:4], un[:, :4], co[:, :4], np.ones((4, 4), bool), n_boot=100, seed=0)
    assert check.kind == "smoke" and check.alternatives == ()


def test_the_full_verification_uses_the_tested_designs():
    """The power of the checks above is for these designs: verification/ must run the same ones."""
    modes = {name: load_verification_script(name).FULL for name in ("sample_complexity", "controls")}
    assert list(modes["sample_complexity"].settings) == DESIGN
    assert modes["sample_complexity"].seeds >= SEEDS
    assert [(v, n_c, m, 2, L) for v, n_c, m, L in modes["sample_complexity"].fcn_grammars] == FCN_GRAMMARS
    assert tuple(modes["sample_complexity"].fcn_fractions) == FCN_FRACTIONS
    assert modes["sample_complexity"].fcn_seeds >= FCN_SEEDS
    assert max(modes["controls"].ratios) >= 32 and modes["controls"].seeds >= 3
