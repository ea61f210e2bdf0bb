"""Negative and positive controls of the scaling checks in verification/synonyms.py: synthetic crossing
curves drawn from the claim pass, curves drawn from each named alternative fail."""

import numpy as np
import pytest

from verification_scripts import load_verification_script

synonyms = load_verification_script("synonyms")


def synthetic_curves(settings, b: float, c: float, level: float, grid_span, seeds: int, rng):
    """Curves (P grid, errors (seeds, n_P)) whose crossing of ``level`` is at 3 n_c^b (m^L)^c, with
    per-seed log-normal jitter of the crossing (15 %) and additive noise (0.02), on the grid the script
    uses (``grid_span`` = (low, high, n) times the setting's scale, scale = sqrt(n_c) m^L)."""
    curves = []
    for _, n_c, m, L in settings:
        crossing = 3 * n_c**b * float(m) ** (L * c)
        scale = np.sqrt(n_c) * m**L
        low, high, n = grid_span
        grid = synonyms.scaled_grid(scale, low, high, n, p_max=10**12)
        grid = grid[(grid > crossing / 30) & (grid < crossing * 30)]  # the sweep brackets the crossing
        centre = crossing * ((1 - level) / level) ** -0.5  # error = 1 / (1 + (P / centre)^2) crosses level at `crossing`
        jitter = np.exp(0.15 * rng.standard_normal((seeds, 1)))
        errors = 1 / (1 + (grid / (centre * jitter)) ** 2) + 0.02 * rng.standard_normal((seeds, grid.size))
        curves.append((grid, errors))
    return curves


def decide(claims, settings, b, c, level, seed):
    curves = synthetic_curves(settings, b, c, level, (0.01, 300, 24), seeds=4, rng=np.random.default_rng(seed))
    checks, _ = synonyms.exponent_checks("synthetic", curves, synonyms.split_factors(settings), level, claims, n_boot=200)
    return [check.passed for check in checks]


CLUSTER_SETTINGS = synonyms.QUICK["cluster"]
STEP_SETTINGS = synonyms.QUICK["one_step"]


@pytest.mark.parametrize("b, expected", [(0.5, True), (0.0, False), (1.0, False)])
def test_clustering_n_c_exponent_passes_only_for_sqrt_n_c(b, expected):
    assert decide(synonyms.CLUSTER_CLAIMS, CLUSTER_SETTINGS, b, 1.0, synonyms.ONSET, seed=1)[0] is expected


@pytest.mark.parametrize("c, expected", [(1.0, True), (0.5, False), (1.5, False)])
def test_clustering_m_L_exponent_passes_only_for_m_L(c, expected):
    assert decide(synonyms.CLUSTER_CLAIMS, CLUSTER_SETTINGS, 0.5, c, synonyms.ONSET, seed=2)[1] is expected


@pytest.mark.parametrize("b, expected", [(1.0, True), (0.5, False), (0.0, False)])
def test_one_step_n_c_exponent_passes_only_for_n_c(b, expected):
    assert decide(synonyms.ONE_STEP_CLAIMS, STEP_SETTINGS, b, 1.0, synonyms.ONE_STEP_LEVEL, seed=3)[0] is expected


def test_the_alternatives_are_named_and_a_curve_that_never_crosses_fails_every_check():
    curves = synthetic_curves(CLUSTER_SETTINGS, 0.5, 1.0, synonyms.ONSET, (0.01, 300, 24), 4, np.random.default_rng(0))
    curves[0] = (curves[0][0], np.ones_like(curves[0][1]))  # stays at chance
    checks, fit = synonyms.exponent_checks("synthetic", curves, synonyms.split_factors(CLUSTER_SETTINGS), synonyms.ONSET,
                                           synonyms.CLUSTER_CLAIMS, n_boot=50)
    assert fit is None and not any(check.passed for check in checks)
    assert all(check.kind == "discriminating" and len(check.alternatives) == 2 for check in checks)
