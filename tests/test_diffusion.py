"""Noise channels, forward-backward experiments, grammaticality, the mean-field and density-evolution
theory of the denoiser, `rhm diffuse`, and negative controls of verification/diffusion.py."""

import json
import math

import numpy as np
import pytest
from verification_scripts import load_verification_script

from rhm_theory import Grammar, bp
from rhm_theory.cli import main
from rhm_theory.theory import denoising_theory, density_evolution, diffusion, grammaticality, noise

# ----- channels --------------------------------------------------------------------------------------


def test_channels_corrupt_at_the_stated_rates_and_give_their_likelihoods():
    x = np.zeros((2000, 16), dtype=np.int64)
    replaced = noise.corrupt(x, 0.3, v=4, channel="uniform", seed=0)
    assert abs((replaced != 0).mean() - 0.3 * 3 / 4) < 0.01  # replaced by another token 3/4 of the time
    masked = noise.corrupt(x, 0.3, v=4, channel="mask", seed=0)
    assert set(np.unique(masked)) == {noise.MASK, 0}
    assert abs((masked == noise.MASK).mean() - 0.3) < 0.01
    lik = noise.likelihoods(np.array([[2, noise.MASK]]), 0.3, v=4, channel="mask")
    assert np.array_equal(lik[0], [[0, 0, 1, 0], [1, 1, 1, 1]])
    lik = noise.likelihoods(np.array([[2]]), 0.4, v=4, channel="uniform")
    # P(observe 2 | x = mu): kept (0.6) or replaced by 2 (0.4 / 4)
    assert np.allclose(lik[0, 0], [0.1, 0.1, 0.7, 0.1])
    assert np.array_equal(
        noise.corrupt(x, 0.5, v=4, channel="uniform", seed=3), noise.corrupt(x, 0.5, v=4, channel="uniform", seed=3)
    )


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), True, "0.1"])
def test_bad_noise_levels_are_errors(bad):
    with pytest.raises(ValueError, match="noise level must be"):
        noise.corrupt(np.zeros((1, 4), dtype=np.int64), bad, v=2, channel="uniform", seed=0)


def test_bad_channel_and_observations_are_errors():
    with pytest.raises(ValueError, match="channel must be one of"):
        noise.likelihoods(np.zeros((1, 4), dtype=np.int64), 0.1, v=2, channel="gauss")
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        noise.likelihoods(np.full((1, 4), noise.MASK), 0.1, v=2, channel="uniform")


# ----- forward-backward ----------------------------------------------------------------------------


def test_forward_backward_limits_and_sampled_retention_agree_with_exact():
    grammar = Grammar.random(6, 4, 2, 2, 4, seed=1)
    x, _ = grammar.sample(300, seed=0, replace=True)
    clean = diffusion.forward_backward(grammar, x, 0.0, channel="uniform", seed=0)
    assert np.allclose(clean.retention, 1.0)
    assert clean.tokens_changed == 0.0
    erased = diffusion.forward_backward(grammar, x, 1.0, channel="mask", seed=0)
    assert abs(erased.retention[-1] - 1 / grammar.n_c) < 1e-12  # nothing observed: the uniform prior
    middle = diffusion.forward_backward(grammar, x, 0.4, channel="uniform", seed=1)
    sigma = np.sqrt(middle.retention * (1 - middle.retention) / 300)
    assert (np.abs(middle.retention_sampled - middle.retention) < 5 * sigma + 1e-9).all()
    assert json.loads(json.dumps(middle.to_dict(), allow_nan=False))["class_retention"] == middle.retention[-1]


def test_change_correlation_equals_direct_sums():
    changed = (np.random.default_rng(0).random((7, 12)) < 0.4).astype(float)
    c = changed.mean()
    direct = [((changed[:, : 12 - r] * changed[:, r:]).mean() - c * c) / (c - c * c) for r in range(12)]
    assert np.allclose(diffusion.change_correlation(changed), direct)


def test_noise_at_interpolates_the_first_drop_below_a_level():
    grid = np.linspace(0, 1, 11)
    assert math.isclose(diffusion.noise_at(grid, 1 - grid, 0.25), 0.75)
    assert math.isnan(diffusion.noise_at(grid, 1 - grid, 1.5))  # below the level from the start
    assert math.isnan(diffusion.noise_at(grid, 1 - grid, -0.5))  # never below it


# ----- grammaticality ------------------------------------------------------------------------------


def test_parsed_levels_match_brute_force_membership():
    grammar = Grammar.random(3, 2, 2, 2, 2, seed=0)
    strings = np.array(list(np.ndindex(*(3,) * grammar.d)), dtype=np.int64)  # all 81 strings
    data = {row.tobytes() for row in grammar.enumerate()[0]}
    bottom = {tuple(t) for t in grammar.rule_tables[1].reshape(-1, 2)}
    reached = grammaticality.parsed_levels(grammar, strings)
    for row, level in zip(strings, reached):
        assert (level == 3) == (row.tobytes() in data)
        assert (level >= 2) == all(tuple(row[i : i + 2]) in bottom for i in (0, 2))
    assert np.allclose(grammaticality.validity_profile(grammar, grammar.enumerate()[0]), 1.0)
    profile = grammaticality.validity_profile(grammar, strings)
    assert profile[-1] == len(data) / 81
    assert (np.diff(profile) <= 0).all()


def test_level_symbols_give_the_labels_and_refuse_non_data():
    grammar = Grammar.random(5, 3, 2, 3, 2, seed=4)
    x, y = grammar.sample(20, seed=0)
    levels = grammaticality.level_symbols(grammar, x)
    assert [a.shape for a in levels] == [(20, 9), (20, 3), (20, 1)]
    assert np.array_equal(levels[-1][:, 0], y)
    x[3, 0] = (x[3, 0] + 1) % 5
    if grammaticality.parsed_levels(grammar, x)[3] <= grammar.L:
        with pytest.raises(ValueError, match=r"not data of this grammar \(rows \[3\]"):
            grammaticality.level_symbols(grammar, x)


# ----- theory --------------------------------------------------------------------------------------


def test_tuple_weight_is_the_mean_over_every_other_tuple():
    for v, s, d in ((3, 2, 0.3), (4, 3, 0.05)):
        weights = [np.prod([1.0 if b == 0 else d for b in t]) for t in np.ndindex(*(v,) * s) if any(t)]
        assert math.isclose(float(denoising_theory.tuple_weight(d, v, s)), np.mean(weights))


@pytest.mark.parametrize("s_", [2, 3])
def test_critical_fixed_point_is_a_fixed_point(s_):
    for v_, m_ in ((8, 3), (16, 4)):
        d_star = float(denoising_theory.critical_delta(s_).subs({denoising_theory.v: v_, denoising_theory.m: m_}))
        assert 0 < d_star < 1
        assert math.isclose(float(denoising_theory.delta_map(d_star, v_, m_, s_)), d_star, rel_tol=1e-12)
    # s = 2: p* = (m - 1)/(v - m), derived by hand
    p_star = denoising_theory.critical_retention(2).subs({denoising_theory.v: 16, denoising_theory.m: 4})
    assert p_star == denoising_theory.sp.Rational(3, 12)


def test_critical_noise_separates_kept_and_lost_classes_in_the_recursion():
    eps_star = denoising_theory.critical_noise(16, 4, 2, channel="mask")
    assert math.isclose(eps_star, 0.8)  # p_0 = 1 - eps 15/16 = p* = 1/4
    below = denoising_theory.retention_profile(16, 4, 2, 60, eps_star - 0.02, channel="mask")
    above = denoising_theory.retention_profile(16, 4, 2, 60, eps_star + 0.02, channel="mask")
    assert below[-1] > 0.99
    assert abs(above[-1] - 1 / 16) < 0.01
    assert denoising_theory.critical_noise(4, 3, 2, channel="uniform") is None  # 2m > v + 1: no transition


def test_density_evolution_leaf_retention_and_limits():
    rng = np.random.default_rng(0)
    leaves = density_evolution.leaf_population(8, 0.3, "uniform", 200000, rng)
    expected = float(denoising_theory.leaf_retention("uniform", 0.3, 8))
    assert abs(leaves[:, 0].mean() - expected) < 3e-3
    clean = density_evolution.retention_profile(8, 2, 2, 5, 0.0, channel="mask", population=500, seed=0)
    assert np.allclose(clean, 1.0)
    erased = density_evolution.retention_profile(8, 2, 2, 5, 1.0, channel="mask", population=500, seed=0)
    assert np.allclose(erased, 1 / 8)


def test_density_evolution_predicts_the_exact_class_retention():
    """The tree-ensemble recursion at depth L predicts P(class kept) of fixed grammars of depth L (n_c = v)."""
    theory = density_evolution.retention_profile(16, 4, 2, 6, 0.2, channel="uniform", population=20000, seed=3)
    for L in (2, 4, 6):
        grammar = Grammar.random(16, 16, 4, 2, L, seed=L)
        x, y = grammar.sample(300, seed=1, replace=True)
        observed = noise.corrupt(x, 0.2, v=16, channel="uniform", seed=2)
        kept = bp.posterior(grammar, noise.likelihoods(observed, 0.2, v=16, channel="uniform"))[
            np.arange(300), y
        ].mean()
        assert abs(kept - theory[L]) < 0.05, L


# ----- CLI -----------------------------------------------------------------------------------------


def test_rhm_diffuse_prints_strict_json(capsys):
    args = [
        "diffuse",
        "--v",
        "6",
        "--nc",
        "3",
        "--m",
        "2",
        "--s",
        "2",
        "--L",
        "3",
        "--noise",
        "0.1,0.2",
        "--P",
        "40",
        "--json",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    document = json.loads(out, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))
    assert [r["noise"] for r in document["results"]] == [0.1, 0.2]
    assert len(document["results"][0]["retention"]) == 4
    assert document["grammar"]["L"] == 3


@pytest.mark.parametrize(
    "levels, message", [("0.1,-0.2", "got -0.2"), ("1.5", "got 1.5"), ("nan", "got nan"), ("x", "'x'")]
)
def test_rhm_diffuse_refuses_bad_noise_levels(capsys, levels, message):
    assert main(["diffuse", "--v", "6", "--nc", "3", "--m", "2", "--s", "2", "--L", "2", "--noise", levels]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1


# ----- verification checks: positive and negative controls ----------------------------------------


def load_verification():
    return load_verification_script("diffusion")


def synthetic_curves(widths: dict, centre: float, P: int, seed: int, chance: float = 0.0625):
    """Per-datum retention (n_noise, P) with mean chance + (1 - chance) logistic((centre - eps)/width)."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.1, 0.6, 11)
    curves = {}
    for L, width in widths.items():
        mean = chance + (1 - chance) / (1 + np.exp((grid - centre) / width))
        curves[L] = np.clip(mean[:, None] + 0.05 * rng.standard_normal((grid.size, P)), 0, 1)
    return grid, curves


def test_sharpening_check_fails_on_a_smooth_crossover_and_passes_on_a_transition():
    verification = load_verification()
    grid, sharp = synthetic_curves({2: 0.08, 6: 0.04, 10: 0.02}, 0.3, 150, 0)
    _, tokens = synthetic_curves({2: 0.15, 6: 0.15, 10: 0.15}, 0.4, 150, 1)
    passed = verification.slope_growth_check(grid, sharp, tokens, 200, 0)
    assert [c.passed for c in passed] == [True, True]
    _, smooth = synthetic_curves({2: 0.08, 6: 0.08, 10: 0.08}, 0.3, 150, 2)  # a crossover that does not sharpen
    crossover = verification.slope_growth_check(grid, smooth, tokens, 200, 0)[0]
    # its ratio interval holds 1 (the crossover) and ratios just above 1: undecided, never PASS
    assert crossover.verdict == "INCONCLUSIVE", crossover.line()
    assert "the crossover's 1" in crossover.reason, crossover.line()
    # tokens that jump with the class: the smoothness check must fail
    assert not verification.slope_growth_check(grid, sharp, sharp, 200, 0)[1].passed


def test_location_check_fails_when_the_transition_is_elsewhere():
    verification = load_verification()
    grid, curves = synthetic_curves({10: 0.02}, 0.3, 150, 0)
    midpoint_noise = 0.3  # the logistic's midpoint is at (1 + chance)/2
    assert verification.location_check(grid, curves, 0.0625, midpoint_noise, 0.55, 200, 0).passed
    grid, moved = synthetic_curves({10: 0.02}, 0.5, 150, 0)  # data from the alternative: transition at 0.5
    assert verification.location_check(grid, moved, 0.0625, midpoint_noise, 0.55, 200, 0).verdict == "FAIL"
    near = verification.location_check(
        grid, curves, 0.0625, midpoint_noise, 0.33, 200, 0
    )  # mean field within tolerance
    assert near.verdict == "INCONCLUSIVE", near.line()
    assert "and an alternative" in near.reason, near.line()


def test_susceptibility_check_needs_a_peak_inside_the_transition():
    verification = load_verification()
    grid, curves = synthetic_curves({10: 0.03}, 0.3, 300, 0)
    rng = np.random.default_rng(1)
    spread = 1 + 30 * np.exp(-(((grid - 0.3) / 0.06) ** 2))  # variance of the changed count peaks at 0.3
    peaked = np.maximum(0, 100 * grid[:, None] + np.sqrt(spread)[:, None] * rng.standard_normal((grid.size, 300)))
    assert verification.susceptibility_check(grid, curves[10], peaked, 64, 0.0625, 200, 0).passed
    monotone = np.maximum(0, 100 * grid[:, None] + (1 + 10 * grid)[:, None] * rng.standard_normal((grid.size, 300)))
    assert not verification.susceptibility_check(grid, curves[10], monotone, 64, 0.0625, 200, 0).passed
    _, elsewhere = synthetic_curves({10: 0.03}, 0.15, 300, 0)  # the class drops far from the peak
    assert not verification.susceptibility_check(grid, elsewhere[10], peaked, 64, 0.0625, 200, 0).passed
