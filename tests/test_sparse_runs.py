"""Runs on the sparse RHM: RunSpec.s0 / variant (run keys of stored RHM runs unchanged), the data a run
trains on, D_{k,l} in its row, and --s0 / --variant on rhm train, pstar and sweep, with the size bounds."""

import json

import numpy as np
import pytest

from rhm_theory import Grammar
from rhm_theory.cli import main
from rhm_theory.runs.experiment import prepare_run, run_one
from rhm_theory.runs.spec import RunSpec, derive_seeds, run_key
from rhm_theory.runs.store import ResultsStore
from rhm_theory.runs.sweep import expand_sweep
from rhm_theory.sparse import SparseRHM

GRAMMAR = ["--v", "4", "--nc", "2", "--m", "2", "--s", "2", "--L", "2"]
TINY = ["--width", "8", "--max-steps", "4", "--max-epochs", "100", "--P-test", "32"]


def test_run_keys_of_stored_rhm_runs_do_not_change():
    # Keys computed by the code before s0 and variant existed (results files store them).
    assert run_key(RunSpec(v=8, n_c=8, m=4, s=2, L=3, P=16, seed=0)) == "6c1dd6e6a0e4883c887010db"
    spec = RunSpec(v=4, n_c=4, m=2, s=2, L=3, P=32, seed=3, model="lcn", width=16, sensitivity_samples=8, P_test=16)
    assert run_key(spec) == "11696be6ddd49716def76042"
    assert run_key(spec.replace(s0=0, variant="A")) == run_key(spec)
    keys = {run_key(spec.replace(s0=s0, variant=variant)) for s0 in (1, 2) for variant in "AB"}
    assert len(keys) == 4
    assert run_key(spec) not in keys


def test_a_sparse_run_trains_on_the_sparse_data_of_its_seeds():
    spec = RunSpec(
        v=4,
        n_c=2,
        m=2,
        s=2,
        L=2,
        P=64,
        P_test=32,
        seed=5,
        s0=1,
        variant="B",
        model="lcn",
        width=8,
        max_steps=3,
        max_epochs=100,
        sensitivity_samples=16,
    )
    run = prepare_run(spec)
    seeds = derive_seeds(5)
    model = SparseRHM(Grammar.random(4, 2, 2, 2, 2, seed=seeds["rules"]), 1, "B")
    assert run.grammar == model
    (x, _y), (_x_test, y_test) = model.sample_train_test(64, 32, seed=seeds["data"])
    assert np.array_equal(run.train_set[0], x)
    assert np.array_equal(run.test_set[1], y_test)
    assert x.shape == (64, 16)
    row = run_one(spec)
    assert row["s0"] == 1
    assert row["variant"] == "B"
    assert row["key"] == run_key(spec)
    for name in ("S", "D"):
        values = [row[f"{name}_k{k}_l{l}"] for k in (1, 2) for l in (1, 2)]
        assert all(np.isfinite(values))


def test_s0_zero_is_the_rhm_run_whatever_the_variant():
    spec = RunSpec(v=4, n_c=2, m=2, s=2, L=2, P=8, P_test=8, seed=1, width=8, max_steps=2, max_epochs=10)
    a, b = prepare_run(spec), prepare_run(spec.replace(variant="B"))
    assert isinstance(a.grammar, Grammar)
    assert a.grammar == b.grammar
    assert np.array_equal(a.train_set[0], b.train_set[0])
    assert "D_k1_l1" not in run_one(spec.replace(sensitivity_samples=4))


def test_sparse_spec_bad_input():
    base = {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 2, "P": 8, "seed": 0, "P_test": 8}
    with pytest.raises(ValueError, match="s0 must be >= 0, got -1"):
        RunSpec(**base, s0=-1)
    with pytest.raises(ValueError, match="unknown variant 'C'"):
        RunSpec(**base, s0=1, variant="C")
    with pytest.raises(ValueError, match="s0 = 1 needs task 'class'"):
        RunSpec(**base, s0=1, task="next-token")
    with pytest.raises(ValueError, match=r"exceed p_max = 1024"):  # the sparse p_max: 2 (2 * 4)**3
        RunSpec(**{**base, "P": 1020}, s0=1)
    RunSpec(**{**base, "P": 1016}, s0=1)
    # d = (2 * 1025)**2 > 2**20: refused before any data exist
    with pytest.raises(
        ValueError, match=r"d = \(s\(s0\+1\)\)\*\*L = 2050\*\*2 tokens per datum is too large for s0 = 1024"
    ):
        RunSpec(**base, s0=1024)


def test_train_pstar_and_sweep_take_s0(tmp_path, capsys):
    assert main(["train", *GRAMMAR, "--P", "32", "--s0", "1", "--variant", "B", "--model", "cnn", *TINY, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["s0"] == 1
    assert row["variant"] == "B"
    assert row["key"] == run_key(
        RunSpec(
            v=4,
            n_c=2,
            m=2,
            s=2,
            L=2,
            P=32,
            seed=0,
            s0=1,
            variant="B",
            width=8,
            max_steps=4,
            max_epochs=100,
            P_test=32,
        )
    )
    results = tmp_path / "p.sqlite"
    assert (
        main(
            [
                "pstar",
                *GRAMMAR,
                "--P",
                "16",
                "32",
                "--seeds",
                "1",
                "--s0",
                "2",
                "--workers",
                "1",
                "--quiet",
                "--results",
                str(results),
                *TINY,
            ]
        )
        == 0
    )
    assert "sparse RHM A(v=4, n_c=2, m=2, s=2, L=2, s0=2)" in capsys.readouterr().out
    with ResultsStore(results, readonly=True) as store:
        assert sorted((r["P"], r["s0"], r["variant"]) for r in store.rows()) == [(16, 2, "A"), (32, 2, "A")]
    document = {
        "grammar": {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 2, "s0": [0, 1], "variant": "B"},
        "data": {"P": 4, "P_test": 4},
        "training": {"model": "lcn"},
    }
    specs = expand_sweep(document)
    assert [(spec.s0, spec.variant) for spec in specs] == [(0, "B"), (1, "B")]
    sweep = tmp_path / "s.toml"
    sweep.write_text('[grammar]\nv = 4\nn_c = 2\nm = 2\ns = 2\nL = 2\nvariant = "C"\n[data]\nP = 16\n')
    assert main(["sweep", str(sweep), "--results", str(tmp_path / "s.sqlite")]) == 2
    assert "grammar.variant = 'C' is not a variant: expected one of A, B" in capsys.readouterr().err


def test_too_large_sparse_inputs_are_refused_on_one_line_and_nothing_is_written(tmp_path, capsys):
    results = tmp_path / "p.sqlite"
    big = ["--v", "2", "--nc", "2", "--m", "2", "--s", "2", "--L", "10"]  # d = 2**10 as an RHM, 4**10 at s0 = 1
    assert main(["pstar", *big, "--P", "16", "32", "--s0", "2", "--results", str(results), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "d = (s(s0+1))**L = 6**10 tokens per datum is too large for s0 = 2" in err
    assert not results.exists()
    assert main(["train", *big, "--P", "16", "--s0", "3"]) == 2
    assert "8**10 tokens per datum is too large" in capsys.readouterr().err
    assert main(["info", *big, "--s0", "2", "--json"]) == 1
    facts = json.loads(capsys.readouterr().out)
    assert not facts["feasible"]
    assert "too large for s0 = 2" in facts["infeasible_because"]
    with pytest.raises(ValueError, match="layout table may have at most 2\\*\\*26 entries"):
        SparseRHM(Grammar.random(2, 2, 2, 8, 1, seed=0), 100, "B")


def test_run_specs_as_ensembles_store_the_rows_of_run_one(tmp_path):
    from rhm_theory.runs.pstar import grid_specs, run_specs

    base = RunSpec(
        v=4,
        n_c=2,
        m=2,
        s=2,
        L=2,
        P=32,
        seed=0,
        P_test=32,
        s0=1,
        model="lcn",
        width=8,
        max_steps=6,
        max_epochs=100,
        sensitivity_samples=8,
    )
    specs = grid_specs(base, [16, 32], [0, 1])
    with ResultsStore(tmp_path / "e.sqlite") as store:
        rows = run_specs(specs, store, ensembles=True)
        assert [row["key"] for row in rows] == [run_key(spec) for spec in specs]
        assert len(store.finished_keys()) == 4
        assert run_specs(specs, store, ensembles=True) == rows  # all stored: nothing trains again
    single = run_one(specs[3])
    for name in ("test_error", "train_loss", "D_k2_l1", "S_k1_l2"):
        assert rows[3][name] == pytest.approx(single[name], rel=1e-4, abs=1e-6), name
