"""run_many: the rows equal run_one's (timings aside), specs grouped into ensembles by every field but the seed."""

import math

import pytest

from rhm_theory.runs.batched import ensemble_groups, run_many
from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.spec import RunSpec

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TIMINGS = ("seconds", "wall_seconds")


@pytest.fixture(scope="module")
def specs():
    base = RunSpec(v=6, n_c=6, m=3, s=2, L=2, P=60, seed=0, P_test=40, width=16, batch_size=16, max_epochs=6, sensitivity_samples=10)
    return [
        base, base.replace(seed=1), base.replace(seed=2),  # one ensemble (with S_{k,l})
        base.replace(P=50, model="lcn", seed=3), base.replace(P=50, model="lcn", seed=4),  # another
        base.replace(model="transformer", parametrization="standard", width=8, sensitivity_samples=0),  # alone
    ]


def test_groups(specs):
    assert ensemble_groups(specs, 16) == [[0, 1, 2], [3, 4], [5]]
    assert ensemble_groups(specs, 2) == [[0, 1], [2], [3, 4], [5]]
    with pytest.raises(ValueError, match="max_members must be >= 1, got 0"):
        run_many(specs, max_members=0)


def test_rows_equal_run_one(specs):
    rows = run_many(specs)
    assert len(rows) == len(specs)
    for row, spec in zip(rows, specs, strict=True):
        expected = run_one(spec)
        assert list(row) == list(expected)  # same columns, same order
        for name, value in expected.items():
            if name in TIMINGS:
                assert row[name] > 0
            elif name == "history":  # same learning curve: same steps and epochs, values up to rounding
                assert [(r["step"], r["epoch"]) for r in row[name]] == [(r["step"], r["epoch"]) for r in value]
                for got, want in zip(row[name], value):
                    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)
            elif isinstance(value, float) and not math.isnan(value):
                assert row[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
            else:
                assert row[name] == value, name
    assert {r["seed"] for r in rows[:3]} == {0, 1, 2} and "S_k1_l1" in rows[0]
    assert len({r["train_loss"] for r in rows[:3]}) == 3  # the members are different runs
