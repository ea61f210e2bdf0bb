"""Negative and positive controls of the decisions in verification/correlations.py: measured curves and
limits drawn from the claim pass, those drawn from the named alternatives fail."""

import numpy as np
import sympy as sp
from verification_scripts import load_verification_script

from rhm_theory import symbolic
from rhm_theory.report.checks import interval_check

correlations = load_verification_script("correlations")

PARAMS = (8, 8, 4, 2, 3)  # pbar fluctuates: v^2 var_pbar = 0.14
SIZES = np.geomspace(200, 20000, 10)
CLAIM_SIGNAL = 0.103  # Monte Carlo rule-ensemble mean of (n_c f - 1)^2 at PARAMS (about 1.34 x sigma_f2)


def curves():
    claim = CLAIM_SIGNAL + float(symbolic.noise_f2_pbar(symbolic.P, *PARAMS) * symbolic.P) / SIZES
    first_order = float(symbolic.sigma_f2(*PARAMS)) + float(symbolic.noise_f2(symbolic.P, *PARAMS) * symbolic.P) / SIZES
    return claim, first_order


def measured(truth, standard_error, seed):
    return truth + standard_error * np.random.default_rng(seed).standard_normal(truth.size)


def decide(truth, standard_error, discriminate, seed=0):
    claim, first_order = curves()
    error = np.full(SIZES.size, standard_error)
    return correlations.noise_curve_check(
        "noise",
        measured(truth, error, seed),
        error,
        claim,
        first_order,
        0.002,
        discriminate=discriminate,
        n_grammars=100,
    )


def test_noise_curve_from_the_claim_passes_and_from_the_first_order_alternative_fails():
    claim, first_order = curves()
    for seed in range(5):
        assert decide(claim, 0.003, discriminate=True, seed=seed).passed
        assert not decide(first_order, 0.003, discriminate=True, seed=seed).passed


def test_noise_curve_too_noisy_to_reject_the_alternative_is_only_a_smoke_pass():
    claim, _ = curves()
    assert not decide(claim, 0.03, discriminate=True).passed  # cannot tell the first order apart
    smoke = decide(claim, 0.03, discriminate=False)
    assert smoke.passed
    assert smoke.kind == "smoke"
    assert smoke.alternatives == ()


def test_limit_check_fails_for_each_alternative_and_where_the_closed_form_is_not_exact():
    assert correlations.limit_check({(2, 2): (0, sp.Integer(1)), (3, 2): (0, sp.Integer(1))}).passed
    assert not correlations.limit_check({(2, 2): (0, sp.Integer(0))}).passed
    assert not correlations.limit_check({(2, 2): (0, sp.oo)}).passed
    assert not correlations.limit_check({(2, 2): (sp.Rational(1, 9), sp.Integer(1))}).passed


def test_the_exact_family_has_deterministic_pbar_and_limit_one():
    assert correlations.exact_family_limit(2, 3) == (0, 1)


def test_crossing_window_rejects_a_crossing_at_sqrt_n_c_m_L():
    n_c, m, L = 8, 8, 2
    alternatives = {"sqrt(n_c) m^L": np.sqrt(n_c) * m**L, "m^L": float(m**L)}
    claim = float(symbolic.critical_sample_size(8, 8, 8, 2, 2))
    for P_cross, expected in ((660.0, True), (np.sqrt(n_c) * m**L, False), (float(m**L), False)):
        f = correlations.CROSSING_FACTOR
        assert (
            interval_check("x", P_cross, P_cross / f, P_cross * f, claim=claim, alternatives=alternatives).passed
            is expected
        )
