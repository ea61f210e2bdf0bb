"""Runs on power-law (Zipf) grammars: RunSpec.zipf (validation, run key), i.i.d. data in run_one, ensembles
equal to separate runs, and --zipf on rhm train, pstar and sweep (grammar.zipf in sweep files)."""

import hashlib
import json
import math
from dataclasses import asdict

import numpy as np
import pytest

from rhm_theory.cli import main
from rhm_theory.core.grammar import Grammar
from rhm_theory.runs.batched import ensemble_groups
from rhm_theory.runs.experiment import prepare_run, run_one
from rhm_theory.runs.pstar import run_specs
from rhm_theory.runs.spec import KEY_DEFAULTS, RunSpec, derive_seeds, run_key
from rhm_theory.runs.store import ResultsStore

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = {
    "v": 8,
    "n_c": 4,
    "m": 4,
    "s": 2,
    "L": 2,
    "P": 64,
    "seed": 0,
    "P_test": 32,
    "width": 8,
    "max_steps": 20,
}  # p_max = 4 * 4**3 = 256
BAD = [-1, math.nan, math.inf, 0, "abc", True]
G = ["--v", "8", "--nc", "4", "--m", "4", "--s", "2", "--L", "2"]
SMALL = ["--P-test", "32", "--width", "8", "--max-steps", "5"]
SWEEP = (
    "[grammar]\nv = 8\nn_c = 4\nm = 4\ns = 2\nL = 2\n{zipf}\n[data]\nP = [32]\nP_test = 32\n"
    "[training]\nwidth = 8\nmax_steps = 5\n[run]\nseeds = 2\n"
)


def test_run_keys_at_zipf_none_are_those_stored_before_the_field():
    # Keys computed before RunSpec had zipf: a uniform spec keeps its key, and the field is not hashed.
    stored = {
        "6c1dd6e6a0e4883c887010db": RunSpec(v=8, n_c=8, m=4, s=2, L=3, P=16, seed=0),
        "aa1b140af0b3e829a4cddb12": RunSpec(**{**TINY, "seed": 3, "width": 16}, task="next-token"),
        "1b26ef6895235810f4d204b5": RunSpec(v=8, n_c=4, m=4, s=2, L=2, P=64, seed=1, s0=1, variant="B", P_test=32),
    }
    assert {key: run_key(spec) for key, spec in stored.items()} == {key: key for key in stored}
    assert KEY_DEFAULTS["zipf"] is None


def test_zipf_is_in_the_run_key_when_set():
    spec = RunSpec(**TINY, zipf=1)
    kept = {name: value for name, value in asdict(spec).items() if KEY_DEFAULTS.get(name, object()) != value}
    assert kept["zipf"] == 1.0
    assert isinstance(spec.zipf, float)
    assert (
        run_key(spec)
        == hashlib.sha256(json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:24]
    )
    assert run_key(spec) == run_key(RunSpec(**TINY, zipf=np.float64(1.0))) != run_key(RunSpec(**TINY))
    assert run_key(spec) != run_key(RunSpec(**TINY, zipf=1.5))


@pytest.mark.parametrize("value", [*BAD, 10**400], ids=repr)
def test_bad_zipf_is_refused_in_one_line(value):
    with pytest.raises(ValueError, match=r"^zipf must be a finite real number > 0 .*, got ") as error:
        RunSpec(**TINY, zipf=value)
    assert "\n" not in str(error.value)


def test_zipf_refuses_the_sparse_and_uncorrelated_rhm_and_lifts_the_p_max_bound():
    with pytest.raises(
        ValueError, match=r"^zipf = 1.5 needs s0 = 0 \(got s0 = 1\): the sparse RHM takes uniform rules$"
    ):
        RunSpec(**TINY, zipf=1.5, s0=1)
    with pytest.raises(ValueError, match=r"^zipf = 1.5 needs rules 'random' \(got 'uncorrelated'\)"):
        RunSpec(**{**TINY, "m": 8}, zipf=1.5, rules="uncorrelated")
    with pytest.raises(ValueError, match="exceed p_max = 256"):
        RunSpec(**{**TINY, "P": 240})
    assert RunSpec(**{**TINY, "P": 240}, zipf=1.5).iid  # i.i.d. data: P + P_test > p_max
    assert not RunSpec(**TINY).iid


def test_a_zipf_run_trains_on_iid_data_of_the_weighted_grammar():
    spec = RunSpec(**{**TINY, "P": 300}, zipf=1.5)  # P > p_max: some data repeat
    seeds = derive_seeds(spec.seed)
    run = prepare_run(spec)
    grammar = Grammar.random(8, 4, 4, 2, 2, seed=seeds["rules"], zipf=1.5)
    assert run.grammar == grammar
    assert run.grammar.zipf == 1.5
    uniform = Grammar.random(8, 4, 4, 2, 2, seed=seeds["rules"])  # the uniform run's rules
    assert all(np.array_equal(a, b) for a, b in zip(run.grammar.rules, uniform.rules, strict=True))
    (x, y), (x_test, y_test) = grammar.sample_train_test(300, 32, seed=seeds["data"], replace=True)
    assert np.array_equal(run.train_set[0], x)
    assert np.array_equal(run.train_set[1], y)
    assert np.array_equal(run.test_set[0], x_test)
    assert np.array_equal(run.test_set[1], y_test)
    assert len(np.unique(x, axis=0)) < 300
    row = run_one(spec.replace(P=64))
    assert row["key"] == run_key(spec.replace(P=64))
    assert row["zipf"] == 1.5
    assert 0 <= row["test_error"] <= 1


def test_a_zipf_next_token_run_trains():
    row = run_one(RunSpec(**TINY, zipf=0.5, task="next-token"))
    assert row["task"] == "next-token"
    assert row["zipf"] == 0.5
    assert row["steps"] == 20
    assert math.isfinite(row["test_loss"])


def test_zipf_seeds_train_as_one_ensemble_with_the_rows_of_separate_runs(tmp_path):
    specs = [RunSpec(**{**TINY, "seed": seed}, zipf=1.5, batch_size=16) for seed in range(3)]
    assert ensemble_groups(specs, 16) == [[0, 1, 2]]
    with ResultsStore(tmp_path / "r.sqlite") as store:
        rows = run_specs(specs, store, workers=1, ensembles=True)
    for row, spec in zip(rows, specs, strict=True):
        expected = run_one(spec)
        for name, value in expected.items():
            if name in ("seconds", "wall_seconds", "history"):
                continue
            if isinstance(value, float):
                assert row[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
            else:
                assert row[name] == value, name
    assert len({row["train_loss"] for row in rows}) == 3


def _one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in out + err, err
    return lines[0]


def test_train_and_pstar_take_zipf(tmp_path, capsys):
    assert main(["train", *G, "--P", "64", *SMALL, "--zipf", "1.5", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["zipf"] == 1.5
    assert row["key"] == run_key(RunSpec(**{**TINY, "max_steps": 5}, zipf=1.5))
    results = tmp_path / "r.sqlite"
    assert (
        main(
            [
                "pstar",
                *G,
                "--P",
                "32",
                "300",
                *SMALL,
                "--seeds",
                "1",
                "--zipf",
                "0.5",
                "--workers",
                "1",
                "--results",
                str(results),
                "--quiet",
            ]
        )
        == 0
    )
    assert "zipf=0.5" in capsys.readouterr().out
    with ResultsStore(results, readonly=True) as store:
        assert sorted((row["P"], row["zipf"]) for row in store.rows()) == [(32, 0.5), (300, 0.5)]


@pytest.mark.parametrize("command", ["train", "pstar"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "0", "abc", "true"])
def test_train_and_pstar_refuse_bad_zipf_in_one_line(tmp_path, capsys, command, value):
    extra = ["--results", str(tmp_path / "r.sqlite")] if command == "pstar" else []
    assert main([command, *G, "--P", "32", *SMALL, f"--zipf={value}", *extra]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"rhm {command}: error: argument --zipf: zipf must be a finite real number > 0")
    assert not list(tmp_path.iterdir())


def test_train_refuses_zipf_on_the_sparse_rhm(capsys):
    assert main(["train", *G, "--P", "32", *SMALL, "--zipf", "1", "--s0", "1"]) == 2
    assert (
        _one_error_line(capsys)
        == "rhm train: error: zipf = 1.0 needs s0 = 0 (got s0 = 1): the sparse RHM takes uniform rules"
    )


def test_sweep_file_takes_grammar_zipf(tmp_path, capsys):
    path = tmp_path / "z.toml"
    path.write_text(SWEEP.format(zipf="zipf = [0.5, 1.5]"))
    results = tmp_path / "r.sqlite"
    assert (
        main(["sweep", str(path), "--results", str(results), "--workers", "1", "--quiet", "--ensemble-size", "2"]) == 0
    )
    assert "4 runs" in capsys.readouterr().out
    with ResultsStore(results, readonly=True) as store:
        assert sorted((row["zipf"], row["seed"]) for row in store.rows()) == [(0.5, 0), (0.5, 1), (1.5, 0), (1.5, 1)]


@pytest.mark.parametrize(
    "value, why",
    [
        ("-1", "zipf must be a finite real number > 0"),
        ("nan", "zipf must be a finite real number > 0"),
        ("inf", "zipf must be a finite real number > 0"),
        ("0", "zipf must be a finite real number > 0"),
        ('"abc"', "must be a number, got 'abc'"),
        ("true", "must be a number, got True"),
    ],
)
def test_sweep_file_refuses_bad_grammar_zipf_and_keeps_the_stored_runs(tmp_path, capsys, value, why):
    results = tmp_path / "r.sqlite"
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(SWEEP.format(zipf="zipf = 1.5").replace("seeds = 2", "seeds = 1"))
    assert main(["sweep", str(good), "--results", str(results), "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    before = results.read_bytes()
    bad.write_text(SWEEP.format(zipf=f"zipf = [1.5, {value}]"))
    assert main(["sweep", str(bad), "--results", str(results), "--workers", "1", "--quiet"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("rhm sweep: error: field grammar.zipf")
    assert why in line
    assert results.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.toml",
        "good.toml",
        "r.sqlite",
    ]
