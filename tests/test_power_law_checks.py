"""The power-law decisions (rhm_theory.report.power_law_checks) and their negative controls: fed
learning curves of each named alternative, the checks must FAIL; fed too little range, too few seeds
or under-trained runs, INCONCLUSIVE."""

import numpy as np
import pytest
from verification_scripts import load_verification_script

from rhm_theory.core.grammar import Grammar
from rhm_theory.report import power_law_checks as decide
from rhm_theory.theory import exact

P_GRID = np.geomspace(150, 9800, 10).round()
P_TEST = 2048


def noisy_curve(slope: float, *, seeds: int = 6, scale: float = 0.3, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """Test errors (seeds, n_P) of a power law P^slope through ``scale`` at the first P, with
    multiplicative seed noise."""
    rng = np.random.default_rng(seed)
    curve = scale * (P_GRID / P_GRID[0]) ** slope
    return curve[None, :] * np.exp(noise * rng.standard_normal((seeds, P_GRID.size)))


ALTERNATIVES = {"slope -a": -0.5, "slope -1": -1.0, "a step": -1.5}


def classification(errors, converged=None, a: float = 0.5, P_test: int = P_TEST):
    converged = np.ones(errors.shape, bool) if converged is None else converged
    return decide.classification_exponent_check(
        "test", a, P_GRID, errors, converged, alternatives=ALTERNATIVES, P_test=P_test, seed=1
    )


def test_a_curve_with_the_claimed_exponent_passes():
    check = classification(noisy_curve(-1 / 3))
    assert check.verdict == "PASS", check.line()


@pytest.mark.parametrize("slope", [-0.5, -1.0, -1.5])
def test_curves_of_the_alternatives_fail(slope):
    check = classification(noisy_curve(slope, scale=0.6), P_test=16384)  # the steepest stays above 5 / P_test
    assert check.verdict == "FAIL", check.line()


def test_a_curve_censored_by_the_test_set_resolution_is_inconclusive():
    errors = noisy_curve(-1 / 3)
    errors[:, 4:] = 0.0  # every point beyond the fifth below 5 / P_test: 0.8 decades left
    check = classification(errors)
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("range censored"), check.reason


def test_under_trained_runs_make_the_check_inconclusive():
    converged = np.ones((6, P_GRID.size), bool)
    converged[:, -2:] = False  # 12 of 60 runs at their step cap
    check = classification(noisy_curve(-1 / 3), converged)
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("under-trained"), check.reason


def test_one_seed_is_inconclusive():
    check = classification(noisy_curve(-1 / 3, seeds=1))
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("too few seeds"), check.reason


def test_bootstrap_interval_narrows_with_seeds_and_covers_the_slope():
    rng = np.random.default_rng(3)
    keep = np.ones(P_GRID.size, bool)
    widths = []
    for seeds in (4, 32):
        slopes = decide.bootstrap_slopes(
            P_GRID, noisy_curve(-0.6, seeds=seeds, noise=0.3), keep, resolution=1e-6, n_boot=2000, rng=rng
        )
        low, high = np.percentile(slopes, [2.5, 97.5])
        assert low < -0.6 < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def next_token_curve(slope: float, *, seeds: int = 4, offset: float = 1.0, seed: int = 0):
    """(P_values, losses (seeds, n_P), floors (seeds,)): an excess loss P^slope above floors of 2 nats."""
    P_values = np.geomspace(100, 32000, 8).round()
    rng = np.random.default_rng(seed)
    excess = offset * (P_values / 100) ** slope * np.exp(0.05 * rng.standard_normal((seeds, P_values.size)))
    floors = 2.0 + 0.1 * rng.random(seeds)
    return P_values, floors[:, None] + excess, floors


def difference(curves):
    return decide.exponent_difference_check(
        "test", curves, alternative=("the classification difference", 4 / 15), seed=2
    )


def test_next_token_exponents_equal_across_a_pass():
    check = difference({0.5: next_token_curve(-0.3, seed=1), 1.5: next_token_curve(-0.3, seed=2)})
    assert check.verdict == "PASS", check.line()


def test_next_token_exponents_moving_with_a_as_the_classification_ones_fail():
    check = difference({0.5: next_token_curve(-1 / 3, seed=1), 1.5: next_token_curve(-3 / 5, seed=2)})
    assert check.verdict == "FAIL", check.line()


def test_next_token_curves_at_their_floor_are_inconclusive():
    check = difference({0.5: next_token_curve(-0.3, offset=0.03, seed=1), 1.5: next_token_curve(-0.3, seed=2)})
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("range censored"), check.reason


def test_the_exponent_difference_needs_two_curves():
    with pytest.raises(ValueError, match="exactly 2 values of a"):
        difference({0.5: next_token_curve(-0.3)})


def test_lookup_table_error_of_uniform_data_is_the_closed_form():
    n_c, p_max = 4, 500
    P_values = np.array([1, 10, 100, 1000])
    got = decide.lookup_table_error(np.full(p_max, -np.log(p_max)), P_values, n_c)
    np.testing.assert_allclose(got, (1 - 1 / n_c) * (1 - 1 / p_max) ** P_values, rtol=1e-12)


def test_lookup_table_error_matches_a_monte_carlo_of_training_sets():
    grammar = Grammar.random(3, 2, 3, 2, 2, seed=4, zipf=1.0)
    x, _ = grammar.enumerate()
    log_probs = exact.datum_log_probs(grammar, x)
    P, draws = 40, 4000
    rng = np.random.default_rng(5)
    p = np.exp(log_probs)
    unseen = np.empty(draws)
    for i in range(draws):  # the test mass of the data absent from one i.i.d. training set
        seen = np.zeros(p.size, bool)
        seen[rng.choice(p.size, size=P, p=p / p.sum())] = True
        unseen[i] = p[~seen].sum()
    expected = (1 - 1 / grammar.n_c) * unseen.mean()
    error = (1 - 1 / grammar.n_c) * unseen.std(ddof=1) / np.sqrt(draws)
    got = decide.lookup_table_error(log_probs, [P], grammar.n_c)[0]
    assert abs(got - expected) < 4 * error


@pytest.fixture(scope="module")
def script():
    return load_verification_script("power_law")


def test_the_smoke_checks_pass_on_the_package(script):
    assert script.bp_check(seed=3).verdict == "PASS"
    assert script.frequency_check(seed=3, P=3000).verdict == "PASS"


def test_the_frequency_check_fails_on_uniform_rules(script, monkeypatch):
    uniform = Grammar.random
    monkeypatch.setattr(script.Grammar, "random", lambda *args, zipf=None, **kwargs: uniform(*args, **kwargs))
    assert script.frequency_check(seed=3, P=3000).verdict == "FAIL"


def test_the_bp_check_fails_when_bp_ignores_the_rule_weights(script, monkeypatch):
    monkeypatch.setattr(
        script.bp, "production_weights", lambda grammar, k: script.bp.production_average(grammar.owners(k), grammar.m)
    )
    assert script.bp_check(seed=3).verdict == "FAIL"


def test_the_full_grids_span_the_declared_decades(script):
    for a, span in ((0.5, 1.81), (1.5, 2.02)):
        grid = script.FULL.grid(a)
        assert len(grid) == 10
        assert round(np.log10(grid[-1] / grid[0]), 2) == pytest.approx(span, abs=0.01)
