"""Negative and positive controls of the scaling checks in verification/synonyms.py: synthetic crossing
curves drawn from the claim pass, curves drawn from each named alternative fail; the same for the ladders
(one-factor fit per rung, trend verdict). Over seeds 0-19 the clustering ladder drawn at b = 0.5 passed 18
times and those drawn at b = 0 or 1 never passed, so the seeds below are typical draws."""

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
        centre = (
            crossing * ((1 - level) / level) ** -0.5
        )  # error = 1 / (1 + (P / centre)^2) crosses level at `crossing`
        jitter = np.exp(0.15 * rng.standard_normal((seeds, 1)))
        errors = 1 / (1 + (grid / (centre * jitter)) ** 2) + 0.02 * rng.standard_normal((seeds, grid.size))
        curves.append((grid, errors))
    return curves


def decide(claims, settings, b, c, level, seed):
    curves = synthetic_curves(settings, b, c, level, (0.01, 300, 24), seeds=4, rng=np.random.default_rng(seed))
    checks, _ = synonyms.exponent_checks(
        "synthetic", curves, synonyms.split_factors(settings), level, claims, n_boot=200
    )
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
    checks, fit = synonyms.exponent_checks(
        "synthetic",
        curves,
        synonyms.split_factors(CLUSTER_SETTINGS),
        synonyms.ONSET,
        synonyms.CLUSTER_CLAIMS,
        n_boot=50,
    )
    assert fit is None
    assert not any(check.passed for check in checks)
    assert all(check.kind == "discriminating" and len(check.alternatives) == 2 for check in checks)


# ----- ladders: one-factor fits per rung and their trend verdicts ------------------------------------
LADDER_SETTINGS = synonyms.grid_settings(32, (8, 32, 128), ((4, 3), (4, 4), (8, 3), (8, 4)))  # m^L 64, 256, 512, 4096
STEP_LADDER_SETTINGS = synonyms.grid_settings(32, (4, 16, 64), ((8, 2), (4, 4), (8, 3)))  # m^L 64, 256, 512 at each n_c


LADDER_SPAN = (
    0.01,
    300,
    64,
)  # denser than the joint-fit tests: a rung's interval is narrow, so interpolation bias shows


def cluster_ladder(b, seed):
    curves = synthetic_curves(LADDER_SETTINGS, b, 1.0, synonyms.ONSET, LADDER_SPAN, 8, np.random.default_rng(seed))
    factors = synonyms.split_factors(LADDER_SETTINGS)
    return synonyms.ladder_rungs(curves, factors[:, 1], factors[:, 0], synonyms.ONSET, min_span=16, n_boot=200)


@pytest.mark.parametrize("b", [0.5, 0.0, 1.0])
def test_each_rung_recovers_the_n_c_exponent_of_synthetic_crossings(b):
    rungs, notes = cluster_ladder(b, seed=4)
    assert [r["size"] for r in rungs] == [64, 256, 512, 4096]
    assert notes == []
    for rung in rungs:  # (4 seeds: a rung's bootstrap interval is narrow, so only a tolerance is asserted)
        assert abs(rung["estimate"] - b) < 0.12, rung
        assert all(not rung["ci_low"] <= wrong <= rung["ci_high"] for wrong in {0.0, 0.5, 1.0} - {b}), rung


@pytest.mark.parametrize("b, verdict", [(0.5, "PASS"), (0.0, "FAIL"), (1.0, "FAIL")])
def test_the_clustering_ladder_passes_only_for_sqrt_n_c(b, verdict):
    (_, claim, alternatives), source = synonyms.CLUSTER_CLAIMS[0], "arXiv:2307.02129, Appendix D, Fig. 10; ladder"
    check = synonyms.ladder_check(
        "synthetic ladder", *cluster_ladder(b, seed=5), claim=claim, alternatives=alternatives, source=source
    )
    assert check.verdict == verdict, check.line()
    assert check.claim == 0.5
    assert check.source == source
    assert check.kind == "discriminating"
    assert [r["size"] for r in check.trend] == [64, 256, 512, 4096]
    assert set(check.alternatives) == set(alternatives)


def test_a_ladder_with_no_rung_or_a_censored_size_is_inconclusive():
    (_, claim, alternatives), source = synonyms.CLUSTER_CLAIMS[0], "arXiv:2307.02129, Appendix D, Fig. 10; ladder"
    empty = synonyms.ladder_check(
        "no rungs", [], ["m^L 64: censored"], claim=claim, alternatives=alternatives, source=source
    )
    assert empty.verdict == "INCONCLUSIVE", empty.line()
    assert empty.reason == "no rung"
    assert empty.trend == []
    assert empty.claim == 0.5
    rungs, _ = cluster_ladder(0.5, seed=5)  # rungs that PASS on their own (test above)
    censored = synonyms.ladder_check(
        "censored", rungs, ["n_c 128 at m^L 4096: censored"], claim=claim, alternatives=alternatives, source=source
    )
    assert censored.verdict == "INCONCLUSIVE", censored.line()
    assert censored.reason.startswith("crossing censored at n_c 128 at m^L 4096")
    assert [r["size"] for r in censored.trend] == [64, 256, 512, 4096]


@pytest.mark.parametrize("c, verdict", [(1.0, "PASS"), (1.5, "FAIL"), (0.5, "FAIL")])
def test_the_one_step_ladder_recovers_the_m_L_exponent_at_each_n_c(c, verdict):
    span = (0.01, 10**4, 96)  # wide enough to hold the crossings of c = 1.5
    curves = synthetic_curves(STEP_LADDER_SETTINGS, 1.0, c, synonyms.ONE_STEP_LEVEL, span, 4, np.random.default_rng(6))
    factors = synonyms.split_factors(STEP_LADDER_SETTINGS)
    rungs, notes = synonyms.ladder_rungs(
        curves, factors[:, 0], factors[:, 1], synonyms.ONE_STEP_LEVEL, min_span=8, min_values=3, n_boot=200
    )
    assert [r["size"] for r in rungs] == [4, 16, 64], rungs
    assert all(abs(r["estimate"] - c) < 0.12 for r in rungs), rungs
    _, claim, alternatives = synonyms.ONE_STEP_CLAIMS[1]
    check = synonyms.ladder_check(
        "synthetic", rungs, notes, claim=claim, alternatives=alternatives, source="Eq. 13; ladder"
    )
    assert check.verdict == verdict, check.line()
    assert check.claim == 1.0, check.line()


def test_narrow_or_censored_rungs_are_not_rungs_and_a_censored_one_makes_the_ladder_inconclusive():
    curves = synthetic_curves(LADDER_SETTINGS, 0.5, 1.0, synonyms.ONSET, LADDER_SPAN, 4, np.random.default_rng(7))
    factors = synonyms.split_factors(LADDER_SETTINGS)
    rungs, notes = synonyms.ladder_rungs(curves, factors[:, 1], factors[:, 0], synonyms.ONSET, min_span=32, n_boot=50)
    assert rungs == []  # n_c spans only 16x
    assert len(notes) == 4
    assert all("no rung" in note for note in notes)
    _, claim, alternatives = synonyms.CLUSTER_CLAIMS[0]
    assert (
        synonyms.ladder_check("x", rungs, notes, claim=claim, alternatives=alternatives, source="s").verdict
        == "INCONCLUSIVE"
    )
    curves[-1] = (curves[-1][0], np.ones_like(curves[-1][1]))  # the largest rung's n_c = 128 curve stays at chance
    rungs, notes = synonyms.ladder_rungs(curves, factors[:, 1], factors[:, 0], synonyms.ONSET, min_span=16, n_boot=50)
    assert [r["size"] for r in rungs] == [64, 256, 512]
    assert "censored" in notes[0]
    check = synonyms.ladder_check("x", rungs, notes, claim=claim, alternatives=alternatives, source="s")
    assert check.verdict == "INCONCLUSIVE"
    assert "censored" in check.reason


def test_the_ladder_settings_extend_the_sizes_and_keep_the_joint_fit_grids():
    for config in (synonyms.QUICK, synonyms.FULL):
        joint = {m**L for _, _, m, L in config["cluster"]}
        extra = {m**L for _, _, m, L in config["cluster_ladder"]}
        assert len(joint | extra) >= 3
        assert not set(config["cluster_ladder"]) & set(config["cluster"])
        n_cs = {n_c for _, n_c, _, _ in config["one_step"] + config["one_step_ladder"]}
        assert len(n_cs) >= 3
    assert max(m**L for _, _, m, L in synonyms.FULL["cluster_ladder"]) == 8**5
    assert synonyms.token_gigabytes(128, 8, 5, 20) == pytest.approx(20 * np.sqrt(128) * 8**5 * 32 * 8 / 1e9)
