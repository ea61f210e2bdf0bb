"""Negative and positive controls of the sparse RHM's trained-network checks (rhm_theory.report.sparse_checks).

Synthetic results in the design of verification/sparse.py's full mode: seed i of sparsity s0 has the
error chance / (1 + 9 (P / P*_i)^2), i.e. P*_i where it is 0.1 chance, with P*_i lognormal (spread
SIGMA in log P, as between seeds of real runs) around C (s0+1)^k n_c m^L, binomial test-set noise, on
a grid of P around the law; the sensitivities fall from 1 to 0.1 around ``drop`` x P*_i.
"""

import numpy as np
import pytest
from verification_scripts import load_verification_script

from rhm_theory.report import sparse_checks as sc
from rhm_theory.report.learning_checks import chance

SIGMA = 0.3
N_TEST = 1024
FULL = load_verification_script("sparse").FULL_LEARNING
V, N_C, M, L = FULL.grammar
SEEDS = FULL.seeds


def synthetic(k, rng, drop=1.0, s0_values=FULL.s0_values, seeds=SEEDS, points=9, sigma=SIGMA):
    """(curves, D, S) per s0 for P* = 2 (s0+1)^k n_c m^L: D drops at ``drop`` x P*, S at P*."""
    curves, D, S = [], [], []
    for s0 in s0_values:
        law = 2 * (s0 + 1) ** k * N_C * M**L
        P = np.unique(np.round(np.geomspace(law / 6, law * 6, points)).astype(int))
        pstar = law * np.exp(sigma * rng.standard_normal(seeds))
        x = P[None, :] / pstar[:, None]
        curves.append((P, rng.binomial(N_TEST, chance(N_C) / (1 + 9 * x**2)) / N_TEST))
        for values, at in ((D, drop), (S, 1.0)):
            values.append((0.1 + 0.9 / (1 + (x / at) ** 2)) * np.exp(0.05 * rng.standard_normal(x.shape)))
    return curves, D, S


@pytest.mark.parametrize("model", ["lcn", "cnn"])
def test_exponent_and_collapse_pass_on_the_claim_and_fail_on_the_other_architecture(model):
    claim, other = sc.claimed_exponent(model, L), sc.claimed_exponent("cnn" if model == "lcn" else "lcn", L)
    for seed in (0, 1):
        curves, _, _ = synthetic(claim, np.random.default_rng(seed))
        check = sc.sparsity_exponent_check(model, FULL.s0_values, curves, n_c=N_C, L=L, n_boot=300, seed=seed)
        assert check.passed, check.line()
        assert check.kind == "discriminating", check.line()
        assert sc.collapse_check(model, FULL.s0_values, curves, n_c=N_C, L=L).passed
        curves, _, _ = synthetic(other, np.random.default_rng(seed + 10))
        assert not sc.sparsity_exponent_check(model, FULL.s0_values, curves, n_c=N_C, L=L, n_boot=300, seed=seed).passed
        assert not sc.collapse_check(model, FULL.s0_values, curves, n_c=N_C, L=L).passed
    flat, _, _ = synthetic(0, np.random.default_rng(3))  # no effect of sparsity
    assert not sc.sparsity_exponent_check(model, FULL.s0_values, flat, n_c=N_C, L=L, n_boot=300, seed=0).passed


def test_exponent_checks_are_smoke_when_they_cannot_discriminate():
    curves, _, _ = synthetic(2, np.random.default_rng(0), s0_values=(0, 1), seeds=2)
    check = sc.sparsity_exponent_check("cnn", (0, 1), curves, n_c=N_C, L=L, n_boot=100, seed=0)
    assert check.kind == "smoke"
    assert check.alternatives == ()
    curves, _, _ = synthetic(2, np.random.default_rng(0))
    assert sc.sparsity_exponent_check("lcn", FULL.s0_values, curves, n_c=N_C, L=2, n_boot=100, seed=0).kind == "smoke"
    never, _, _ = synthetic(2, np.random.default_rng(0))
    never[0] = (never[0][0], np.full_like(never[0][1], 0.5))  # s0 = 0 never learned: no P* inside the grid
    check = sc.sparsity_exponent_check("cnn", FULL.s0_values, never, n_c=N_C, L=L, n_boot=100, seed=0)
    assert not check.passed
    assert "no fit" in check.figure
    with pytest.raises(ValueError, match="'lcn' and 'cnn'"):
        sc.claimed_exponent("fcn", 3)


@pytest.mark.parametrize("drop, passes", [(1.0, True), (4.0, False), (0.2, False), (1e6, False)])
def test_invariance_drop_check(drop, passes):
    curves, D, S = synthetic(2, np.random.default_rng(5), drop=drop)
    check = sc.invariance_drop_check("cnn", FULL.s0_values, curves, {"D": D, "S": S}, n_c=N_C, n_boot=200, seed=0)
    assert check.passed == passes, check.line()
    assert check.kind == "discriminating", check.line()


def test_error_sensitivity_correlation_check():
    rng = np.random.default_rng(7)
    curves, D, _ = synthetic(2, rng)
    check = sc.error_sensitivity_correlation_check("cnn", "D", FULL.s0_values, curves, D, n_c=N_C, n_boot=300, seed=0)
    assert check.passed, check.line()
    assert check.kind == "discriminating", check.line()
    unrelated = [np.exp(0.3 * rng.standard_normal(d.shape)) for d in D]  # no relation to the error
    assert not sc.error_sensitivity_correlation_check(
        "cnn", "D", FULL.s0_values, curves, unrelated, n_c=N_C, n_boot=300, seed=0
    ).passed
    rising = [d[:, ::-1] for d in D]  # grows as the error falls
    assert not sc.error_sensitivity_correlation_check(
        "cnn", "D", FULL.s0_values, curves, rising, n_c=N_C, n_boot=300, seed=0
    ).passed


def test_under_trained_runs_make_every_learning_check_inconclusive():
    """More than 10% of the runs stopped at their step limit without fitting their training set make
    the checks that use them INCONCLUSIVE (docs/theory.md, 'Verdicts'), one run does not, and the count
    is in the figure either way; all runs trained leaves the verdicts as they were."""
    curves, D, S = synthetic(2, np.random.default_rng(5))
    trained = [np.ones(e.shape, dtype=bool) for _, e in curves]
    one_under = [t.copy() for t in trained]
    one_under[-1][0, -1] = False
    many_under = [t.copy() for t in trained]
    for flags in many_under:
        flags[0] = False  # the first of 8 seeds in every setting: 12.5%

    def checks(converged):
        return [
            sc.sparsity_exponent_check(
                "cnn", FULL.s0_values, curves, n_c=N_C, L=L, n_boot=200, seed=0, converged=converged
            ),
            sc.collapse_check("cnn", FULL.s0_values, curves, n_c=N_C, L=L, converged=converged),
            sc.invariance_drop_check(
                "cnn", FULL.s0_values, curves, {"D": D, "S": S}, n_c=N_C, n_boot=200, seed=0, converged=converged
            ),
            sc.error_sensitivity_correlation_check(
                "cnn", "D", FULL.s0_values, curves, D, n_c=N_C, n_boot=200, seed=0, converged=converged
            ),
        ]

    total = sum(t.size for t in trained)
    for check in checks(trained):
        assert check.passed, check.line()
        assert f"under-trained runs: 0/{total}" in check.figure, check.line()
    for check, before in zip(checks(one_under), checks(trained)):
        assert check.verdict == before.verdict, check.line()
        assert f"under-trained runs: 1/{total}" in check.figure, check.line()
    for check in checks(many_under):
        assert check.verdict == "INCONCLUSIVE", check.line()
        assert check.reason.startswith("under-trained: "), check.line()
        assert check.kind == "smoke" or "under-trained runs" in check.alternatives


def test_undefined_sensitivity_fails_and_says_so():
    """A NaN sensitivity (a layer silent on every test datum) fails the D checks with a stated reason,
    instead of a NaN correlation or interval."""
    curves, D, S = synthetic(2, np.random.default_rng(5))
    D[1] = D[1].copy()
    D[1][0, -1] = np.nan
    drop = sc.invariance_drop_check("cnn", FULL.s0_values, curves, {"D": D, "S": S}, n_c=N_C, n_boot=200, seed=0)
    assert not drop.passed, drop.line()
    assert f"D s0={FULL.s0_values[1]}: undefined in 1 of" in drop.figure, drop.line()
    correlation = sc.error_sensitivity_correlation_check(
        "cnn", "D", FULL.s0_values, curves, D, n_c=N_C, n_boot=200, seed=0
    )
    assert not correlation.passed, correlation.line()
    assert "D undefined in 1 of" in correlation.figure, correlation.line()


def ladder_rungs(k_of_size, sizes=(16, 32, 64), seed=0, sigma=0.1):
    """Synthetic rungs of the ladder check: at each size (= n_c m^L, n_c = size / m^L) the curves of
    :func:`synthetic` with exponent ``k_of_size(size)``."""
    rungs = []
    for i, size in enumerate(sizes):
        curves, _, _ = synthetic(k_of_size(size), np.random.default_rng(seed + i), sigma=sigma)
        rungs.append(
            {
                "size": size,
                "n_c": N_C,
                "s0_values": FULL.s0_values,
                "curves": curves,
                "device": "cpu",
                "converged": [np.ones(e.shape, dtype=bool) for _, e in curves],
                "seconds": 60.0 * size,
            }
        )
    return rungs


@pytest.mark.parametrize("model", ["lcn", "cnn"])
def test_ladder_passes_at_the_claim_and_fails_at_the_other_architecture(model):
    claim, other = sc.claimed_exponent(model, L), sc.claimed_exponent("cnn" if model == "lcn" else "lcn", L)
    check = sc.sparsity_ladder_check(model, ladder_rungs(lambda size: claim), L=L, n_boot=200, seed=0)
    assert check.verdict == "PASS", check.line()
    assert check.claim == claim
    assert [r["size"] for r in check.trend] == [16, 32, 64]
    assert check.source.endswith("; ladder")
    assert check.kind == "discriminating"
    at_other = sc.sparsity_ladder_check(model, ladder_rungs(lambda size: other, seed=5), L=L, n_boot=200, seed=0)
    assert at_other.verdict == "FAIL", at_other.line()
    assert "not shrinking" in at_other.figure, at_other.line()


def test_ladder_rules_too_few_rungs_censored_and_under_trained_rungs_are_inconclusive():
    two = sc.sparsity_ladder_check("lcn", ladder_rungs(lambda size: 3, sizes=(16, 32)), L=L, n_boot=200, seed=0)
    assert two.verdict == "INCONCLUSIVE", two.line()
    assert two.reason.startswith("too few rungs"), two.line()
    rungs = ladder_rungs(lambda size: 3)
    P, errors = rungs[1]["curves"][0]
    rungs[1]["curves"][0] = (P, np.full_like(errors, 0.5))  # s0 = 0 never learned at size 32: censored
    censored = sc.sparsity_ladder_check("lcn", rungs, L=L, n_boot=200, seed=0)
    assert censored.verdict == "INCONCLUSIVE", censored.line()
    assert censored.reason.startswith("rung size 32: P* censored"), censored.line()
    assert [r["size"] for r in censored.trend] == [16, 64]  # the decided rungs stay in the figure
    rungs = ladder_rungs(lambda size: 3)
    for flags in rungs[2]["converged"]:
        flags[:2] = False  # 2 of 8 seeds under-trained at the largest rung
    under = sc.sparsity_ladder_check("lcn", rungs, L=L, n_boot=200, seed=0)
    assert under.verdict == "INCONCLUSIVE", under.line()
    assert under.reason.startswith("rung size 64: under-trained"), under.line()
