"""The next-token task in P* measurements (refused: no threshold) and in sweep files (grid sweeps accepted)."""

import pytest

from rhm_theory.cli import main
from rhm_theory.runs.pstar import Bisection, check_pstar_task
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.sweep import SweepError, adaptive_searches, expand_sweep

GRID = {
    "grammar": {"v": 4, "n_c": 4, "m": 3, "s": 2, "L": 2},
    "data": {"P": [10, 20], "P_test": 16},
    "training": {"task": ["class", "next-token"], "width": 8},
    "run": {"seeds": 2},
}


def test_grid_sweep_accepts_the_next_token_task():
    specs = expand_sweep(GRID)
    assert len(specs) == 2 * 2 * 2
    assert {spec.task for spec in specs} == {"class", "next-token"}


def test_adaptive_sweep_refuses_the_next_token_task_naming_the_field():
    document = {**GRID, "data": {"adaptive": {"P_low_over_ncmL": 0.5, "P_high_over_ncmL": 2, "steps": 1}, "P_test": 16}}
    with pytest.raises(SweepError, match=r"training.task"):
        adaptive_searches(document)
    assert len(adaptive_searches({**document, "training": {"task": "class"}})) == 1


def test_pstar_refuses_the_next_token_task(tmp_path, capsys):
    base = RunSpec(v=4, n_c=4, m=3, s=2, L=2, P=10, seed=0, P_test=16, task="next-token")
    with pytest.raises(ValueError, match="next-token"):
        check_pstar_task(base)
    with pytest.raises(ValueError, match="class"):
        Bisection(base, 10, 20, [0])
    assert check_pstar_task(base.replace(task="class")).task == "class"
    results = tmp_path / "p.sqlite"
    code = main(
        [
            "pstar",
            "--v",
            "4",
            "--nc",
            "4",
            "--m",
            "3",
            "--s",
            "2",
            "--L",
            "2",
            "--P",
            "10",
            "20",
            "--results",
            str(results),
            "--task",
            "next-token",
            "--P-test",
            "16",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "next-token" in err
    assert not results.exists()
