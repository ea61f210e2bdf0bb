"""Negative and positive controls of the learning checks (rhm_theory.report.learning_checks).

Each decision is fed synthetic results drawn from its claim (verdict PASS), from each named
alternative (FAIL), and from an under-sized or under-trained design (INCONCLUSIVE: the rules of
docs/theory.md, 'Verdicts'). Synthetic test-error curves: seed i has the sigmoid error
chance / (1 + (P / P0_i)^2), so its P* (error below 0.1 chance) is 3 P0_i, with P0_i lognormal around
the law (seed spread SIGMA in log P, as seen between seeds of real runs) and binomial test-set noise.
"""

import math

import numpy as np
import pytest
from verification_scripts import load_verification_script

from rhm_theory.report import learning_checks as lc
from rhm_theory.report.checks import Cost

SIGMA = 0.3  # log-normal seed spread of P*
N_TEST = 1024
SEEDS = 5
# the full-mode design of verification/sample_complexity.py: n_c spans 8x, v 4x, m^L 4x with m in {2, 3, 4}
# and L in {3, 4}. Over 15 draws each check passed 14-15 times on the claim and 0 times on its alternatives.
DESIGN = [
    (8, 4, 3, 3),
    (8, 2, 3, 3),
    (8, 8, 3, 3),
    (8, 16, 3, 3),
    (8, 4, 4, 3),
    (8, 4, 2, 4),
    (4, 4, 3, 3),
    (16, 4, 3, 3),
    (4, 2, 3, 3),
    (16, 2, 3, 3),
]


def curves_for(P0_law, n_c, rng, grid_low=0.05, grid_high=20.0, points=30, seeds=SEEDS, sigma=SIGMA):
    """(P_values, errors (seeds, n_P)) around the law P0_law, on a geometric grid relative to it
    (30 points over 400x: neighbours x1.23 apart, inside the x1.3 resolution rule)."""
    P_values = np.unique(np.round(np.geomspace(grid_low * P0_law, grid_high * P0_law, points)).astype(int))
    P0 = P0_law * np.exp(sigma * rng.standard_normal(seeds))
    mean = lc.chance(n_c) / (1 + (P_values[None, :] / P0[:, None]) ** 2)
    return P_values, rng.binomial(N_TEST, mean) / N_TEST


def trained(curves, under=0.0):
    """Converged flags for ``curves``: the first ``under`` fraction of the runs under-trained."""
    flags = [np.ones(e.shape, bool) for _, e in curves]
    total, marked = sum(f.size for f in flags), 0
    for f in flags:
        for index in np.ndindex(f.shape):
            if marked < round(under * total):
                f[index], marked = False, marked + 1
    return flags


def scaling_checks(law, seed, design=DESIGN, under=0.0, **grid):
    rng = np.random.default_rng(seed)
    curves = [curves_for(law(v, n_c, m, L), n_c, rng, **grid) for v, n_c, m, L in design]
    checks = lc.pstar_scaling_checks(design, curves, s=2, converged=trained(curves, under), n_boot=300, seed=seed)
    return {c.name.split(":")[0]: c for c in checks}


CLAIM = lambda v, n_c, m, L: 2 * n_c * m**L  # noqa: E731


@pytest.mark.parametrize("seed", [0, 1])
def test_pstar_scaling_passes_on_the_claim(seed):
    checks = scaling_checks(CLAIM, seed)
    assert all(c.verdict == "PASS" and c.kind == "discriminating" for c in checks.values()), [
        c.line() for c in checks.values()
    ]


@pytest.mark.parametrize(
    "law, failing",
    [
        (lambda v, n_c, m, L: 8 * m**L, "P* ~ n_c^a"),  # a = 0: no n_c dependence
        (lambda v, n_c, m, L: 4 * math.sqrt(n_c) * m**L, "P* ~ n_c^a"),  # a = 0.5
        (lambda v, n_c, m, L: n_c * (m**L) ** (7 / 3) / 50, "P* ~ (m^L)^b"),  # b of P_max at L = 3
        (lambda v, n_c, m, L: 2 * n_c * m**L * math.sqrt(v / 8), "P* ~ v^c"),  # c = 0.5
    ],
)
def test_pstar_scaling_fails_on_each_alternative(law, failing):
    checks = scaling_checks(law, 0)
    assert checks[failing].verdict == "FAIL", checks[failing].line()


@pytest.mark.parametrize(
    "design, rule",
    [
        ({"under": 0.2}, "under-trained: 300 of 1500 runs"),  # > 10% of the runs stopped at their step limit
        ({"points": 12}, "P* unresolved"),  # neighbours x1.72 apart around P*
        ({"design": DESIGN[:4]}, "too few points: 4 settings"),  # 3 exponents and a prefactor need 5
        ({"grid_high": 2.0}, "P* censored"),  # the grid ends below P* = 3 P0
    ],
)
def test_pstar_scaling_is_inconclusive_on_an_under_sized_or_under_trained_design(design, rule):
    for check in scaling_checks(CLAIM, 0, **design).values():
        assert check.verdict == "INCONCLUSIVE", check.line()
        assert check.reason.startswith(rule), check.line()
        assert check.needs, check.line()


def test_pstar_scaling_is_inconclusive_when_the_interval_holds_the_claim_and_an_alternative():
    rng = np.random.default_rng(0)
    curves = [
        curves_for(CLAIM(*p), p[1], rng, seeds=4, sigma=0.8, grid_low=0.01, grid_high=100, points=40) for p in DESIGN
    ]  # seeds 2.7x more spread than between real runs
    cost = Cost(seeds=4, runs=1600, cpu_seconds=1600 * 3.0)
    check = {
        c.name.split(":")[0]: c
        for c in lc.pstar_scaling_checks(DESIGN, curves, s=2, converged=trained(curves), n_boot=300, seed=0, cost=cost)
    }["P* ~ n_c^a"]
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert "contains the claim 1 and the alternative" in check.reason, check.line()
    assert "seeds instead of 4" in check.needs
    assert "CPU-min more at the measured 3.0 s per run" in check.needs


def test_pstar_scaling_is_smoke_when_the_design_is_narrow():
    narrow = [(8, 4, 3, 3), (8, 8, 3, 3), (8, 4, 4, 3), (8, 4, 2, 4), (12, 4, 3, 3), (12, 8, 2, 4)]  # n_c x2, v x1.5
    checks = scaling_checks(CLAIM, 0, narrow)
    assert checks["P* ~ n_c^a"].kind == "smoke"
    assert checks["P* ~ v^c"].kind == "smoke"
    assert checks["P* ~ (m^L)^b"].kind == "discriminating"


def test_pstar_scaling_is_inconclusive_when_a_curve_never_crosses():
    rng = np.random.default_rng(0)
    curves = [curves_for(CLAIM(*p), p[1], rng) for p in DESIGN]
    P, errors = curves[0]
    curves[0] = (P, np.full_like(errors, 0.5))  # stays at 0.5 / 0.75 of chance
    checks = lc.pstar_scaling_checks(DESIGN, curves, s=2, converged=trained(curves), n_boot=50, seed=0)
    assert all(c.verdict == "INCONCLUSIVE" and "censored in 1 setting" in c.reason for c in checks)


# ----- P* against the derived P_c -----------------------------------------------------------------
def pc_of(v, n_c, m, L):
    """A stand-in for the derived P_c: n_c m^L times a v-dependent factor, so that P_c and n_c m^L differ."""
    return n_c * m**L * (8 / v) ** 0.4


def pc_check(law, seed=0, under=0.0, design=DESIGN):
    rng = np.random.default_rng(seed)
    curves = [curves_for(law(*p), p[1], rng) for p in design]
    P_max = [n_c * m ** (2**L - 1) for v, n_c, m, L in design]
    return lc.pc_scaling_check(
        design, curves, [pc_of(*p) for p in design], P_max, converged=trained(curves, under), n_boot=300, seed=seed
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_pc_scaling_passes_when_pstar_follows_pc(seed):
    check = pc_check(lambda *p: 1.5 * pc_of(*p), seed)
    assert check.verdict == "PASS", check.line()
    assert check.kind == "discriminating", check.line()
    assert "P_c collapses P* better" in check.figure


@pytest.mark.parametrize(
    "law",
    [
        lambda v, n_c, m, L: 20 * math.sqrt(pc_of(v, n_c, m, L)),  # k = 0.5
        lambda v, n_c, m, L: 1e-3 * n_c * m ** (2**L - 1),  # P* ~ P_max
    ],
)
def test_pc_scaling_fails_on_its_alternatives(law):
    check = pc_check(law)
    assert check.verdict == "FAIL", check.line()


def test_pc_scaling_is_inconclusive_when_under_trained_or_too_few_settings():
    assert pc_check(lambda *p: 1.5 * pc_of(*p), under=0.3).reason.startswith("under-trained")
    assert pc_check(lambda *p: 1.5 * pc_of(*p), design=DESIGN[:2]).reason.startswith("too few points")


# ----- (d) FCN ------------------------------------------------------------------------------------
FCN_GRAMMARS = [(8, 8, 8, 2, 2), (3, 3, 3, 2, 3), (8, 32, 2, 2, 3)]  # P_max/(n_c m^L) = 8, 81, 16
FCN_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 0.9)  # of P_max, as in the full verification
FCN_SEEDS = 4


def fcn_curves(law, rng):
    curves = []
    for _v, n_c, m, s, L in FCN_GRAMMARS:
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
    assert check.verdict == "PASS", check.line()
    assert check.kind == "discriminating", check.line()


def test_fcn_passes_when_pstar_is_beyond_the_grid():
    check = fcn_check(lambda scale, p_max: 10 * p_max)  # never learned below P_max: P* only bounded
    assert check.passed, check.line()


def test_fcn_fails_when_pstar_follows_nc_m_L():
    check = fcn_check(lambda scale, p_max: 2 * scale)  # the deep CNN's scaling
    assert check.verdict == "FAIL", check.line()


def test_fcn_is_inconclusive_when_pstar_falls_below_its_grid():
    check = fcn_check(lambda scale, p_max: 0.5 * scale)  # P* = 1.5 n_c m^L < P_max / 16 on (3, 3, 2, 3, 3)
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("P* censored below the grid in 1 grammar"), check.line()


def test_fcn_is_inconclusive_when_runs_are_under_trained():
    check = fcn_check(lambda scale, p_max: p_max / 6, converged=False)
    assert check.verdict == "INCONCLUSIVE"
    assert check.reason.startswith("under-trained")
    assert "under-trained runs: " in check.figure


def test_fcn_is_inconclusive_when_both_references_collapse_pstar():
    check = fcn_check(lambda scale, p_max: math.sqrt(scale * p_max) / 4)  # halfway: each spread ~ x3 < x4
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("both references collapse"), check.line()


# ----- (e) sensitivity --------------------------------------------------------------------------
SENSITIVITY_SETTINGS = [(8, 4, 3, 3), (8, 16, 3, 3), (8, 4, 2, 4)]


def sensitivity_data(drop_factor, low_pairs_drop=False, seed=0):
    """Curves with P* = 3 P0 and S_{k,l} (k > l) halving at drop_factor x P* (seed by seed)."""
    rng = np.random.default_rng(seed)
    curves, sensitivities = [], []
    for _v, n_c, m, L in SENSITIVITY_SETTINGS:
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
                S[:, :, k, l] = (
                    drop if k > l or low_pairs_drop else 0.9 + 0.02 * rng.standard_normal((SEEDS, len(P_values)))
                )
        sensitivities.append(S * (1 + 0.03 * rng.standard_normal(S.shape)))
    return curves, sensitivities


@pytest.mark.parametrize("seed", [0, 1])
def test_sensitivity_passes_when_the_drop_is_at_pstar(seed):
    curves, S = sensitivity_data(1.0, seed=seed)
    check = lc.sensitivity_drop_check(SENSITIVITY_SETTINGS, curves, S, converged=trained(curves), n_boot=200, seed=seed)
    assert check.verdict == "PASS", check.line()
    assert check.kind == "discriminating", check.line()


@pytest.mark.parametrize("factor", [0.2, 5.0, 100.0])  # early, late, never (beyond the grid)
def test_sensitivity_fails_when_the_drop_is_elsewhere(factor):
    curves, S = sensitivity_data(factor)
    check = lc.sensitivity_drop_check(SENSITIVITY_SETTINGS, curves, S, converged=trained(curves), n_boot=200, seed=0)
    assert check.verdict == "FAIL", check.line()


def test_sensitivity_is_inconclusive_when_under_trained_or_pstar_is_censored():
    curves, S = sensitivity_data(1.0)
    check = lc.sensitivity_drop_check(
        SENSITIVITY_SETTINGS, curves, S, converged=trained(curves, 0.5), n_boot=50, seed=0
    )
    assert check.verdict == "INCONCLUSIVE"
    assert check.reason.startswith("under-trained")
    short = [(P[:5], e[:, :5]) for P, e in curves]  # the grid ends before P*
    check = lc.sensitivity_drop_check(
        SENSITIVITY_SETTINGS, short, [s[:, :5] for s in S], converged=trained(short), n_boot=50, seed=0
    )
    assert check.verdict == "INCONCLUSIVE"
    assert check.reason.startswith("P* censored")


def test_sensitivity_fails_when_every_pair_drops():
    curves, S = sensitivity_data(1.0, low_pairs_drop=True)
    check = lc.sensitivity_drop_check(SENSITIVITY_SETTINGS, curves, S, converged=trained(curves), n_boot=200, seed=0)
    assert check.verdict == "FAIL"
    assert "(k <= l)" in check.figure


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
    assert check.verdict == "PASS", check.line()
    assert check.kind == "discriminating", check.line()


@pytest.mark.parametrize("P0", [2.0, 20.0])  # learned like the twin; learned late but before 32 n_c m^L
def test_control_fails_when_the_uncorrelated_grammar_is_learned(P0):
    params, P, un, co = control_data(P0)
    assert (
        lc.uncorrelated_control_check(params, P, un, co, np.ones(un.shape, bool), n_boot=300, seed=0).verdict == "FAIL"
    )


def test_control_is_inconclusive_when_under_trained_and_fails_when_the_twin_is_not_learned():
    params, P, un, co = control_data(math.inf)
    flags = np.ones(un.shape, bool)
    flags[0] = False  # 6 of 24 runs (25%) under-trained
    check = lc.uncorrelated_control_check(params, P, un, co, flags, n_boot=100, seed=0)
    assert check.verdict == "INCONCLUSIVE"
    assert check.reason.startswith("under-trained: 6 of 24")
    params, P, un, co = control_data(math.inf, twin_P0=math.inf)
    check = lc.uncorrelated_control_check(params, P, un, co, np.ones(un.shape, bool), n_boot=100, seed=0)
    assert check.verdict == "FAIL"


def test_control_is_smoke_below_32_n_c_m_L():
    params, P, un, co = control_data(math.inf)
    check = lc.uncorrelated_control_check(
        params, P[:4], un[:, :4], co[:, :4], np.ones((4, 4), bool), n_boot=100, seed=0
    )
    assert check.kind == "smoke"
    assert check.alternatives == ()


def test_the_full_verification_uses_the_tested_designs():
    """The power of the checks above is for these designs: verification/ must run the same ones."""
    modes = {name: load_verification_script(name).FULL for name in ("sample_complexity", "controls")}
    assert list(modes["sample_complexity"].settings) == DESIGN
    assert modes["sample_complexity"].seeds >= SEEDS
    assert [(v, n_c, m, 2, L) for v, n_c, m, L in modes["sample_complexity"].fcn_grammars] == FCN_GRAMMARS
    assert tuple(modes["sample_complexity"].fcn_fractions) == FCN_FRACTIONS
    assert modes["sample_complexity"].fcn_seeds >= FCN_SEEDS
    assert max(modes["controls"].ratios) >= 32
    assert modes["controls"].seeds >= 3
