"""run_many: the rows equal run_one's (timings aside), specs grouped into ensembles by every field but the seed."""

import math

import pytest

from rhm_theory.runs import backends
from rhm_theory.runs.backends import execute
from rhm_theory.runs.batched import ensemble_groups, run_many
from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.spec import RunSpec, run_key
from rhm_theory.runs.store import ResultsStore

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TIMINGS = ("seconds", "wall_seconds")


@pytest.fixture(scope="module")
def specs():
    base = RunSpec(
        v=6,
        n_c=6,
        m=3,
        s=2,
        L=2,
        P=60,
        seed=0,
        P_test=40,
        width=16,
        batch_size=16,
        max_epochs=6,
        sensitivity_samples=10,
    )
    return [
        base,
        base.replace(seed=1),
        base.replace(seed=2),  # one ensemble (with S_{k,l})
        base.replace(P=50, model="lcn", seed=3),
        base.replace(P=50, model="lcn", seed=4),  # another
        base.replace(model="transformer", parametrization="standard", width=8, sensitivity_samples=0),  # alone
    ]


def test_groups(specs):
    assert ensemble_groups(specs, 16) == [[0, 1, 2], [3, 4], [5]]
    assert ensemble_groups(specs, 2) == [[0, 1], [2], [3, 4], [5]]
    with pytest.raises(ValueError, match="max_members must be >= 1, got 0"):
        run_many(specs, max_members=0)


def assert_rows_equal_run_one(rows, specs, stored=False):
    """``stored``: rows read back from a results file, whose columns are those of every run (None where
    a run has none)."""
    assert len(rows) == len(specs)
    for row, spec in zip(rows, specs, strict=True):
        expected = run_one(spec)
        if stored:
            assert set(expected) <= set(row)
            assert all(row[name] is None for name in set(row) - set(expected))
        else:
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


def test_rows_equal_run_one(specs):
    rows = run_many(specs)
    assert_rows_equal_run_one(rows, specs)
    assert {r["seed"] for r in rows[:3]} == {0, 1, 2}
    assert "S_k1_l1" in rows[0]
    assert len({r["train_loss"] for r in rows[:3]}) == 3  # the members are different runs


@pytest.mark.parametrize("workers", [1, 2])
def test_execute_trains_ensembles_as_worker_jobs(specs, tmp_path, workers):
    """execute(..., ensemble_size=K): every run stored once, equal to its run_one row; a rerun skips them."""
    with ResultsStore(tmp_path / "runs.sqlite") as store:
        outcome = execute(specs, store, workers=workers, progress=False, ensemble_size=16)
        assert (outcome.skipped, outcome.finished, outcome.failed) == (0, len(specs), 0)
        by_key = {row["key"]: row for row in store.rows()}  # the history has its own table: put it back
        stored = [
            {**by_key[key], "history": [{k: r[k] for k in r if k != "key"} for r in store.history(key)]}
            for key in map(run_key, specs)
        ]
        assert_rows_equal_run_one(stored, specs, stored=True)
        again = execute(specs, store, workers=workers, progress=False, ensemble_size=16)
        assert (again.skipped, again.finished, again.failed) == (len(specs), 0, 0)


def test_a_failed_ensemble_records_each_member_and_the_others_go_on(specs, tmp_path, monkeypatch):
    def run_many_failing_lcn(job, max_members, device=None):
        if job[0].model == "lcn":
            raise RuntimeError("out of memory")
        return run_many(job, max_members, device)

    monkeypatch.setattr(backends, "run_many", run_many_failing_lcn)
    with ResultsStore(tmp_path / "runs.sqlite") as store:
        outcome = execute(specs, store, workers=1, progress=False, ensemble_size=16)
        assert (outcome.finished, outcome.failed) == (4, 2)
        failures = store.failures()
        assert {f["key"] for f in failures} == {run_key(spec) for spec in specs[3:5]}
        assert all("RuntimeError: out of memory" in f["error"] for f in failures)
        assert store.finished_keys() == {run_key(spec) for spec in specs[:3] + specs[5:]}


def test_ensembles_need_run_one(specs, tmp_path):
    with ResultsStore(tmp_path / "runs.sqlite") as store, pytest.raises(ValueError, match="runner must be run_one"):
        execute(specs, store, workers=1, progress=False, ensemble_size=4, runner=abs)
    with (
        ResultsStore(tmp_path / "runs.sqlite") as store,
        pytest.raises(ValueError, match="ensemble_size must be >= 1, got 0"),
    ):
        execute(specs, store, workers=1, progress=False, ensemble_size=0)
