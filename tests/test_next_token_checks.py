"""Negative and positive controls of the next-token check decisions (rhm_theory.report.next_token_checks):
synthetic learning curves drawn from the claim pass, curves drawn from the named alternative fail."""

import numpy as np

from rhm_theory.report import next_token_checks as decide

PLATEAUS = np.array([2.0, 1.1, 0.6, 0.3])
P_VALUES = np.array([16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192])
SETTING_OF_STEP = ["a"] * 3 + ["b"] * 3 + ["c"] * 3  # three settings of three steps each


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
    assert claim.passed
    assert claim.kind == "discriminating"
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

    def measured(truth):
        return [truth_k * 1.7 * np.exp(rng.normal(0, 0.15, 4)) for truth_k in truth]

    claim = decide.step_scaling_check(
        "s", measured(derived), derived, alternative, alternative_name="alt", settings=SETTING_OF_STEP, seed=0
    )
    assert claim.verdict == "PASS"
    assert claim.kind == "discriminating"
    wrong = decide.step_scaling_check(
        "s", measured(alternative), derived, alternative, alternative_name="alt", settings=SETTING_OF_STEP, seed=0
    )
    assert wrong.verdict == "FAIL"
    few = decide.step_scaling_check(
        "s",
        measured(derived)[:3],
        derived[:3],
        alternative[:3],
        alternative_name="alt",
        settings=SETTING_OF_STEP[:3],
        seed=0,
    )
    assert few.kind == "smoke"
    assert few.passed
    few_wrong = decide.step_scaling_check(
        "s",
        measured(alternative)[:3],
        derived[:3],
        alternative[:3],
        alternative_name="alt",
        settings=SETTING_OF_STEP[:3],
        seed=0,
    )
    assert few_wrong.kind == "smoke"
    assert not few_wrong.passed


def test_step_scaling_check_leaves_out_steps_some_seeds_miss():
    rng = np.random.default_rng(6)
    derived = np.array([20.0, 300, 4000, 15, 120, 900, 30, 500, 7000])
    alternative = np.array([24.0, 72, 108, 16, 32, 32, 18, 54, 81])
    measured = [d * np.exp(rng.normal(0, 0.15, 4)) for d in derived]
    early = [m.copy() for m in measured]
    for k in (2, 5, 8):  # the deepest step of each setting: two seeds never reach it, the others step early
        early[k][:2] = np.nan
        early[k][2:] /= 20
    check = decide.step_scaling_check(
        "s", early, derived, alternative, alternative_name="alt", settings=SETTING_OF_STEP, seed=0
    )
    assert check.passed, check.figure  # the early half would pull the slope down
    assert "6 of 9 steps" in check.figure, check.figure
    one_setting_left = [m if setting == "a" else np.full(4, np.nan) for m, setting in zip(measured, SETTING_OF_STEP)]
    smoke = decide.step_scaling_check(
        "s", one_setting_left, derived, alternative, alternative_name="alt", settings=SETTING_OF_STEP, seed=0
    )
    assert smoke.kind == "smoke", smoke.figure
    assert "in 1 settings" in smoke.figure, smoke.figure
    none_left = [np.full(4, np.nan) if k % 3 else m for k, m in enumerate(measured)][:1] + [np.full(4, np.nan)] * 8
    undecided = decide.step_scaling_check(
        "s", none_left, derived, alternative, alternative_name="alt", settings=SETTING_OF_STEP, seed=0
    )
    assert undecided.verdict == "INCONCLUSIVE"
    assert undecided.reason.startswith("too few points: only 1 of 9 steps")


def test_level_windows():
    assert decide.level_windows(2, 3) == [0, 1, 3, 7]
    assert decide.level_windows(3, 2) == [0, 2, 8]


def _positions_from_curves(steps_per_seed, rng, grid=P_VALUES):
    """Step positions and not-reached flags measured on staircase curves (one per seed) whose steps sit at
    ``steps_per_seed[i]``, on the P grid ``grid``."""
    curves = []
    for steps in steps_per_seed:
        curve = np.full(grid.size, PLATEAUS[0], dtype=float)
        for k, position in enumerate(steps):
            curve -= (PLATEAUS[k] - PLATEAUS[k + 1]) / (1 + np.exp(-8 * (np.log(grid) - np.log(position))))
        curves.append(curve + rng.normal(0, 0.005, grid.size))
    curves = np.array(curves)
    return decide.step_positions(grid, curves, PLATEAUS), decide.not_reached(grid, curves, PLATEAUS)


def _architectures(cnn_steps, delays, rng, seeds=8, spread=0.2):
    """Step positions of a CNN (steps at cnn_steps x seed noise) and of a transformer delayed by ``delays[k]``
    at step k, on the same grammars (the seed noise shared, as the same rules give the same steps)."""
    cnn_grid = P_VALUES
    common = [np.exp(rng.normal(0, spread, len(cnn_steps))) for _ in range(seeds)]
    cnn = _positions_from_curves([np.asarray(cnn_steps) * c for c in common], rng, cnn_grid)
    own = [np.exp(rng.normal(0, spread / 2, len(cnn_steps))) for _ in range(seeds)]
    transformer = _positions_from_curves(
        [np.asarray(cnn_steps) * np.asarray(delays) * c * o for c, o in zip(common, own)], rng, cnn_grid
    )
    return cnn, transformer


def test_architecture_check_passes_when_the_transformer_falls_further_behind():
    rng = np.random.default_rng(3)
    (cnn, _), (transformer, beyond) = _architectures([40, 300, 1500], [1.0, 2.0, 4.0], rng)
    check = decide.architecture_scaling_check(
        "a", cnn, transformer, transformer_beyond=beyond, transformer_last_P=P_VALUES[-1], seed=0
    )
    assert check.passed, check.figure
    assert check.kind == "discriminating", check.figure
    assert len(check.alternatives) == 2


def test_architecture_check_fails_on_a_faster_transformer_and_is_undecided_on_a_constant_delay():
    """A faster transformer (D < 0) excludes the claim D > 0: FAIL. A constant delay (D = 0) gives an
    interval around 0, which holds D = 0 and small D > 0 alike: INCONCLUSIVE, never PASS."""
    rng = np.random.default_rng(4)
    for delays, verdicts in (
        ([3.0, 3.0, 3.0], {"INCONCLUSIVE"}),
        ([1.0, 1.0, 1.0], {"INCONCLUSIVE"}),
        ([3.0, 1.0, 1.0], {"FAIL"}),
    ):
        (cnn, _), (transformer, beyond) = _architectures([40, 300, 1500], delays, rng)
        check = decide.architecture_scaling_check(
            "a", cnn, transformer, transformer_beyond=beyond, transformer_last_P=P_VALUES[-1], seed=0
        )
        assert check.verdict in verdicts, (delays, check.line())


def test_architecture_check_counts_a_step_beyond_the_grid_as_a_lower_bound():
    rng = np.random.default_rng(5)
    (cnn, _), (transformer, beyond) = _architectures([40, 300, 1500], [1.0, 4.0, 10.0], rng)
    assert beyond[:, 2].all()  # third step near 15000, past the grid
    assert not np.isfinite(transformer[:, 2]).any()
    check = decide.architecture_scaling_check(
        "a", cnn, transformer, transformer_beyond=beyond, transformer_last_P=P_VALUES[-1], seed=0
    )
    assert check.passed, check.figure
    assert "at step 3" in check.figure, check.figure
    assert "lower bound" in check.figure, check.figure
    unflagged = decide.architecture_scaling_check(
        "a", cnn, transformer, seed=0
    )  # without the flags: step 2 is the deepest
    assert "at step 2" in unflagged.figure, unflagged.figure
    assert "lower bound" not in unflagged.figure, unflagged.figure


def test_architecture_check_is_inconclusive_without_two_common_steps_and_is_smoke_with_few_seeds():
    nan = np.nan
    cnn = np.array([[40.0, 300, nan]] * 4)
    undecided = decide.architecture_scaling_check("a", cnn, np.array([[40.0, nan, nan]] * 4), seed=0)
    assert undecided.verdict == "INCONCLUSIVE"
    assert undecided.reason.startswith("too few points")
    few = decide.architecture_scaling_check("a", cnn[:2], np.array([[40.0, 900, nan]] * 2), seed=0)
    assert few.kind == "smoke"
    assert few.passed
    assert few.alternatives == ()
    assert not decide.architecture_scaling_check("a", cnn[:2], np.array([[40.0, 200, nan]] * 2), seed=0).passed
