"""Negative and positive controls of the next-token check decisions (rhm_theory.report.next_token_checks):
synthetic learning curves drawn from the claim pass, curves drawn from the named alternative fail."""

import numpy as np

from rhm_theory.report import next_token_checks as decide

PLATEAUS = np.array([2.0, 1.1, 0.6, 0.3])
P_VALUES = np.array([16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192])


def staircase(levels, positions, rng, noise=0.005, seeds=4):
    """Curves (seeds, n_P) that step from levels[k] to levels[k + 1] at positions[k] (sharp in log P)."""
    curves = []
    for _ in range(seeds):
        curve = np.full(P_VALUES.size, levels[0], dtype=float)
        for k, position in enumerate(positions):
            drop = 1 / (1 + np.exp(-8 * (np.log(P_VALUES) - np.log(position))))
            curve -= (levels[k] - levels[k + 1]) * drop
        curves.append(curve + rng.normal(0, noise, P_VALUES.size))
    return np.array(curves)


def test_plateau_check_passes_on_exact_plateaus_and_fails_between_them():
    rng = np.random.default_rng(0)
    claim = decide.plateau_check("c", P_VALUES, staircase(PLATEAUS, [40, 400, 3000], rng), PLATEAUS)
    assert claim.passed and claim.kind == "discriminating"
    midpoints = (PLATEAUS[:-1] + PLATEAUS[1:]) / 2
    shifted = np.concatenate([[PLATEAUS[0]], midpoints])  # levels off half-way between the exact optima
    alternative = decide.plateau_check("c", P_VALUES, staircase(shifted, [40, 400, 3000], rng), PLATEAUS)
    assert not alternative.passed
    smooth = np.tile(np.linspace(2.0, 0.3, P_VALUES.size), (4, 1))  # a power-law-like decay: no flat stretch
    assert not decide.plateau_check("c", P_VALUES, smooth, PLATEAUS).passed


def test_step_positions_recover_the_steps():
    rng = np.random.default_rng(1)
    positions = decide.step_positions(P_VALUES, staircase(PLATEAUS, [40, 400, 3000], rng), PLATEAUS)
    assert positions.shape == (4, 3)
    assert np.allclose(np.log(positions.mean(axis=0)), np.log([40, 400, 3000]), atol=0.15)


def test_step_scaling_check_rejects_the_class_task_scaling():
    rng = np.random.default_rng(2)
    derived = np.array([20.0, 300, 4000, 15, 120, 900, 30, 500, 7000])
    alternative = np.array([24.0, 72, 108, 16, 32, 32, 18, 54, 81])  # owners x m^(lam-1): grows far slower
    settings = 3

    def measured(truth):
        return [truth_k * 1.7 * np.exp(rng.normal(0, 0.15, 4)) for truth_k in truth]

    claim = decide.step_scaling_check("s", measured(derived), derived, alternative, alternative_name="alt",
                                      n_settings=settings, seed=0)
    assert claim.passed and claim.kind == "discriminating"
    wrong = decide.step_scaling_check("s", measured(alternative), derived, alternative, alternative_name="alt",
                                      n_settings=settings, seed=0)
    assert not wrong.passed
    few = decide.step_scaling_check("s", measured(derived)[:3], derived[:3], alternative[:3], alternative_name="alt",
                                    n_settings=1, seed=0)
    assert few.kind == "smoke" and few.passed
    few_wrong = decide.step_scaling_check("s", measured(alternative)[:3], derived[:3], alternative[:3],
                                          alternative_name="alt", n_settings=1, seed=0)
    assert few_wrong.kind == "smoke" and not few_wrong.passed


def test_level_windows():
    assert decide.level_windows(2, 3) == [0, 1, 3, 7]
    assert decide.level_windows(3, 2) == [0, 2, 8]
