"""Controls of the deep CNN's P* ladders (rhm_theory.report.pstar_ladders; docs/theory.md, 'P* ladders
of the deep CNN'): synthetic learning curves whose P* follows a known law. Data from the claim
(P* ~ n_c m^L, S halving at P*) pass every ladder; data from an alternative (P* ~ sqrt(n_c) m^L,
P* ~ P_max-like m^L, S halving at P*/2) fail the ladder it concerns; under-training, a coarse grid
or a halving outside the grid give INCONCLUSIVE with the rule that fired. Over data seeds 0-19, claim
data passed the three ladders 20, 19 and 20 times and P* ~ sqrt(n_c) m^L failed the n_c ladder 20 times."""

import numpy as np
import pytest

from rhm_theory.report.pstar_ladders import pstar_ladder_checks
from rhm_theory.report.trends import ladder_figure

GRID = [(16, n_c, m, 3) for m in (3, 4, 5, 6) for n_c in (2, 4, 8, 16)]
SEEDS = 6


def synthetic(a=1.0, b=1.0, half=1.0, spacing=1.15, seed=0, settings=GRID):
    """Per setting: P grid x``spacing`` apart, errors whose seed-mean crosses 0.1 x chance at
    P* = 2.5 n_c^a (m^L)^b, and S_{k,l} (k > l) halving at ``half`` x P*; each run's value scattered
    lognormally (15% for errors, 10% for S) around its curve."""
    rng = np.random.default_rng(seed)
    curves, sensitivities = [], []
    for _v, n_c, m, L in settings:
        pstar = 2.5 * n_c**a * float(m**L) ** b
        P = np.unique(
            np.round(
                pstar
                * spacing ** np.arange(np.floor(np.log(0.02) / np.log(spacing)), np.ceil(np.log(4) / np.log(spacing)))
            )
        )
        chance = 1 - 1 / n_c
        errors = chance / (1 + 9 * (P / pstar) ** 4) * np.exp(0.15 * rng.standard_normal((SEEDS, len(P))))
        S = np.ones((SEEDS, len(P), L, L))
        for k in range(L):
            for l in range(k):
                S[:, :, k, l] = np.exp(0.1 * rng.standard_normal((SEEDS, len(P)))) / (1 + (P / (half * pstar)) ** 4)
        curves.append((P, errors))
        sensitivities.append(S)
    return curves, sensitivities


def decide(curves, sensitivities, settings=GRID, under=0.0):
    converged = [np.random.default_rng(i).random(e.shape) >= under for i, (_, e) in enumerate(curves)]
    return pstar_ladder_checks(
        settings,
        curves,
        converged=converged,
        sensitivities=sensitivities,
        seconds=[10.0 * (i + 1) for i in range(len(settings))],
        devices=["cpu"] * len(settings),
        s=2,
        n_boot=300,
        seed=0,
    )


def test_data_from_the_claim_pass_every_ladder_with_rungs_claim_and_source():
    n_c, m_L, drop = decide(*synthetic())
    for check in (n_c, m_L, drop):
        assert check.verdict == "PASS", check.line()
        assert check.source.endswith("; ladder")
        assert check.claim is not None
    assert [r["size"] for r in n_c.trend] == [27, 64, 125, 216]
    assert [r["size"] for r in m_L.trend] == [2, 4, 8, 16]
    assert all(r["ci_low"] <= 1 <= r["ci_high"] for r in n_c.trend)
    fig = ladder_figure([n_c, m_L, drop], [{}, {}, {}], xlabel="size", ylabel="estimate")
    assert len(fig.axes) == 3


@pytest.mark.parametrize("a, b, failing", [(0.5, 1.0, 0), (1.0, 7 / 3, 1)])
def test_p_star_from_an_alternative_fails_its_ladder(a, b, failing):
    checks = decide(*synthetic(a=a, b=b))
    assert checks[failing].verdict == "FAIL", checks[failing].line()
    assert "not shrinking" in checks[failing].figure, checks[failing].line()
    assert checks[failing].measured == pytest.approx([a, b][failing], abs=0.1)


def test_a_drop_at_half_p_star_fails_the_sensitivity_ladder():
    drop = decide(*synthetic(half=0.5))[2]
    assert drop.verdict == "FAIL", drop.line()
    assert drop.measured == pytest.approx(-1, abs=0.15)


def test_under_training_makes_every_ladder_inconclusive():
    for check in decide(*synthetic(), under=0.2):
        assert check.verdict == "INCONCLUSIVE", check.line()
        assert check.reason.startswith("under-trained"), check.line()


def test_a_coarse_grid_or_a_halving_outside_it_names_the_rung():
    n_c, _, _drop = decide(*synthetic(spacing=1.6))
    assert n_c.verdict == "INCONCLUSIVE", n_c.line()
    assert n_c.reason.startswith("rung 27: P* unresolved"), n_c.line()
    late = decide(*synthetic(half=20.0))[2]  # S halves beyond the grid's top (4 P*)
    assert late.verdict == "INCONCLUSIVE", late.line()
    assert "P_half of S_2,1 censored" in late.reason, late.line()


def test_a_grid_of_several_depths_is_refused():
    settings = [*GRID[:-1], (16, 16, 6, 4)]
    with pytest.raises(ValueError, match="one depth L"):
        decide(*synthetic(settings=settings), settings=settings)
