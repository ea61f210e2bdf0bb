"""Lockstep P* searches (runs.pstar.adaptive_pstars) against separate searches, and the ``rules``
field of a run spec (the uncorrelated RHM) with run keys that stay valid for stored random-RHM runs."""

import hashlib
import json
import math
from dataclasses import asdict

import pytest

from rhm_theory.runs.experiment import RunSpec, run_key, run_one
from rhm_theory.runs.pstar import Bisection, adaptive_pstar, adaptive_pstars
from rhm_theory.runs.spec import KEY_DEFAULTS
from rhm_theory.runs.store import ResultsStore

FAKE = RunSpec(v=8, n_c=8, m=4, s=2, L=3, P=16, seed=0)


def runner(spec):
    """Fake run: error 0.6 - 0.1 ln(P / P0) + 0.02 (seed - 1), P0 = 10 for 8 classes and 40 for 4, so
    the mean error crosses 0.2 at P0 e^4 over seeds 0, 1, 2 and at P0 e^3.9 over seeds 0, 1."""
    P0 = 10 if spec.n_c == 8 else 40
    return {"key": run_key(spec), "test_error": 0.6 - 0.1 * math.log(spec.P / P0) + 0.02 * (spec.seed - 1)}


def test_lockstep_searches_equal_separate_searches(tmp_path):
    other = FAKE.replace(n_c=4, m=8)
    with ResultsStore(tmp_path / "together.sqlite") as store:
        together = adaptive_pstars(
            [Bisection(FAKE, 10, 100_000, [0, 1, 2], 0.2), Bisection(other, 10, 100_000, [0, 1], 0.2)],
            store,
            steps=5,
            workers=1,
            runner=runner,
        )
        stored = len(store.finished_keys())
    with ResultsStore(tmp_path / "apart.sqlite") as store:
        apart = [
            adaptive_pstar(FAKE, 10, 100_000, [0, 1, 2], store, steps=5, workers=1, runner=runner, threshold=0.2),
            adaptive_pstar(other, 10, 100_000, [0, 1], store, steps=5, workers=1, runner=runner, threshold=0.2),
        ]
        assert stored == len(store.finished_keys()) == 7 * 3 + 7 * 2
    for a, b in zip(together, apart):
        assert a.P_values == b.P_values
        assert a.pstar == pytest.approx(b.pstar)
    assert together[0].pstar == pytest.approx(10 * math.exp(4))
    assert together[1].pstar == pytest.approx(40 * math.exp(3.9))


def test_a_search_without_a_crossing_stops_after_its_bracket(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        (result,) = adaptive_pstars([Bisection(FAKE, 10, 20, [0], 0.2)], store, steps=3, workers=1, runner=runner)
    assert result.status == "above_grid"
    assert result.P_values == [10, 20]


def test_random_rules_keep_the_run_key_of_specs_stored_before_the_field():
    # Specs stored before the optional fields (rules, task) existed: their keys must not change.
    fields = {name: value for name, value in asdict(FAKE).items() if name not in KEY_DEFAULTS}
    before = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]
    assert run_key(FAKE) == before
    assert run_key(FAKE.replace(rules="uncorrelated", m=8)) != run_key(FAKE.replace(m=8))


def test_rules_are_validated():
    with pytest.raises(ValueError, match="unknown rules 'parity'"):
        FAKE.replace(rules="parity")
    with pytest.raises(ValueError, match="m to be a multiple of v, got m = 4, v = 8"):
        FAKE.replace(rules="uncorrelated")


def test_an_uncorrelated_run_trains():
    spec = RunSpec(v=2, n_c=2, m=2, s=2, L=2, P=8, seed=0, P_test=8, width=8, max_epochs=3, rules="uncorrelated")
    row = run_one(spec)
    assert row["key"] == run_key(spec)
    assert row["rules"] == "uncorrelated"
    assert 0 <= row["test_error"] <= 1


def test_an_extending_search_finds_a_crossing_outside_its_bracket_and_bisects_it(tmp_path):
    # The fake crossing is at 10 e^4 = 546 over seeds 0-2, above the bracket [10, 20]: two x4 extensions
    # (80, 320) still miss it, so a search with two extensions stops above its grid, and one with three
    # reaches 1280 and bisects [320, 1280] to x1.3, as a search started there would.
    with ResultsStore(tmp_path / "r.sqlite") as store:
        (two,) = adaptive_pstars(
            [Bisection(FAKE, 10, 20, [0, 1, 2], 0.2, extensions=2)], store, steps=6, workers=1, runner=runner
        )
        (three,) = adaptive_pstars(
            [Bisection(FAKE, 10, 20, [0, 1, 2], 0.2, extensions=3)],
            store,
            steps=8,
            workers=1,
            runner=runner,
            resolution=1.3,
        )
        (direct,) = adaptive_pstars(
            [Bisection(FAKE, 320, 1280, [0, 1, 2], 0.2)], store, steps=8, workers=1, runner=runner, resolution=1.3
        )
    assert two.status == "above_grid"
    assert two.P_values == [10, 20, 80, 320]
    assert three.status == "ok"
    assert three.P_values[:4] == [10, 20, 80, 320]
    assert three.P_values[-1] == 1280
    assert set(direct.P_values) <= set(three.P_values)
    assert three.pstar == pytest.approx(direct.pstar) == pytest.approx(10 * math.exp(4), rel=0.05)


def test_an_extension_stops_at_the_cap_and_below_at_one(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        (capped,) = adaptive_pstars(
            [Bisection(FAKE, 10, 20, [0], 0.2, extensions=3, P_cap=50)], store, steps=6, workers=1, runner=runner
        )
        (low,) = adaptive_pstars(
            [Bisection(FAKE.replace(n_c=4, m=8), 2, 3, [0], 0.95, extensions=3)],
            store,
            steps=6,
            workers=1,
            runner=runner,
        )
    assert capped.P_values == [10, 20, 50]
    assert capped.status == "above_grid"
    assert low.P_values == [1, 2, 3]  # 2 // 4 = 0 is no training-set size: 1, then stop
    assert low.status == "below_grid"


def test_extra_points_resolve_a_crossing_below_the_bracket_without_an_extension(tmp_path):
    # Extra points below the bracket [600, 2400]: the crossing at 546 lies between 300 and 600, so the
    # search bisects there; the bracket alone would be below_grid.
    with ResultsStore(tmp_path / "r.sqlite") as store:
        (result,) = adaptive_pstars(
            [Bisection(FAKE, 600, 2400, [0, 1, 2], 0.2, extra=(150, 300))],
            store,
            steps=4,
            workers=1,
            runner=runner,
            resolution=1.3,
        )
        (alone,) = adaptive_pstars(
            [Bisection(FAKE, 600, 2400, [0, 1, 2], 0.2)], store, steps=4, workers=1, runner=runner
        )
    assert result.status == "ok"
    assert result.pstar == pytest.approx(10 * math.exp(4), rel=0.05)
    assert any(300 < P < 600 for P in result.P_values)  # bisected between the extra point and the bracket
    assert alone.status == "below_grid"
    assert alone.P_values == [600, 2400]
