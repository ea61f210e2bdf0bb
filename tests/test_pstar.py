"""P* measurement: grid, interpolation and bootstrap against closed forms; resumability after an
injected failure and after killing `rhm pstar`; the process pool; bad input."""

import contextlib
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.pstar import adaptive_pstar, geometric_grid, measure_pstar, run_specs
from rhm_theory.runs.spec import RunSpec, derive_seeds, error_threshold, run_key
from rhm_theory.runs.store import ResultsStore
from rhm_theory.theory.stats import estimate_pstar, first_crossing

BASE = RunSpec(v=4, n_c=4, m=2, s=2, L=3, P=16, seed=0, P_test=64, width=8, max_epochs=5)
FAKE = RunSpec(v=8, n_c=8, m=4, s=2, L=3, P=16, seed=0)  # p_max = 131072, for the fake runner


def log_linear_runner(spec):
    """Fake run: test error 0.6 - 0.1 ln(P / 10) + 0.02 (seed - 1), so with seeds 0, 1, 2 the mean
    error crosses 0.2 at P* = 10 e^4 and each seed's curve at 10 e^(4 + 0.2 (seed - 1))."""
    error = 0.6 - 0.1 * math.log(spec.P / 10) + 0.02 * (spec.seed - 1)
    return {"key": run_key(spec), "P": spec.P, "seed": spec.seed, "test_error": error}


def test_geometric_grid():
    grid = geometric_grid(10, 10_000, 4)
    assert grid == [10, 100, 1000, 10_000]
    assert geometric_grid(7, 7, 1) == [7]
    with pytest.raises(ValueError, match="only 3 distinct integers"):
        geometric_grid(1, 3, 5)
    with pytest.raises(ValueError, match="P_max = 5 must be larger than P_min = 9"):
        geometric_grid(9, 5, 3)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        geometric_grid(1, 10, 0)


def test_first_crossing_interpolates_in_log_P():
    P = np.geomspace(10, 1e5, 9)
    a, b, threshold = 0.9, 0.08, 0.3
    errors = a - b * np.log(P)  # crosses the threshold at exp((a - threshold) / b)
    pstar, status = first_crossing(P, errors, threshold)
    assert status == "ok"
    assert pstar == pytest.approx(math.exp((a - threshold) / b), rel=1e-12)
    assert first_crossing(P, errors, 2.0) == (10.0, "below_grid")
    assert first_crossing(P, errors, -5.0) == (math.inf, "above_grid")
    # non-monotone curve: the first crossing counts
    assert first_crossing([1, 10, 100, 1000], [0.5, 0.1, 0.6, 0.0], 0.3)[0] == pytest.approx(10**0.5)


def test_bootstrap_interval_brackets_the_seed_curves():
    P = geometric_grid(10, 10_000, 7)
    seeds = [0, 1, 2]
    errors = np.array([[log_linear_runner(FAKE.replace(P=p, seed=s))["test_error"] for p in P] for s in seeds])
    result = estimate_pstar(P, seeds, errors, threshold=0.2, n_bootstrap=500, seed=0)
    assert result.status == "ok"
    assert result.pstar == pytest.approx(10 * math.exp(4))
    # any resampled mean curve lies between the lowest and highest seed curves
    assert 10 * math.exp(3.8) - 1e-6 <= result.ci_low <= result.pstar <= result.ci_high <= 10 * math.exp(4.2) + 1e-6
    assert result.ci_low < result.ci_high
    identical = estimate_pstar(P, seeds, np.repeat(errors[1:2], 3, axis=0), threshold=0.2, n_bootstrap=50, seed=0)
    assert identical.ci_low == identical.ci_high == pytest.approx(identical.pstar)


def test_measure_pstar_in_process_and_in_a_pool_agree(tmp_path):
    P = geometric_grid(10, 10_000, 7)
    results = []
    for workers in (1, 2):
        with ResultsStore(tmp_path / f"w{workers}.sqlite") as store:
            results.append(
                measure_pstar(FAKE, P, [0, 1, 2], store, workers=workers, runner=log_linear_runner, threshold=0.2)
            )
            assert len(store.rows()) == 21
    assert results[0].pstar == pytest.approx(10 * math.exp(4))
    np.testing.assert_array_equal(results[0].errors, results[1].errors)
    assert results[0].to_dict() == results[1].to_dict()


def test_adaptive_search_narrows_on_the_crossing(tmp_path):
    with ResultsStore(tmp_path / "a.sqlite") as store:
        result = adaptive_pstar(
            FAKE, 10, 100_000, [0, 1, 2], store, steps=5, workers=1, runner=log_linear_runner, threshold=0.2
        )
    assert result.pstar == pytest.approx(10 * math.exp(4))
    assert len(result.P_values) == 7
    i = int(np.searchsorted(result.P_values, result.pstar))
    assert result.P_values[i] / result.P_values[i - 1] < 10_000 ** (1 / 2**4)  # bracket shrunk 5 times


def test_resume_after_an_injected_failure_runs_each_run_once(tmp_path):
    P = geometric_grid(10, 1000, 5)
    calls = []

    def failing_after_three(spec):
        if len(calls) == 3:
            raise RuntimeError("injected crash")
        calls.append(run_key(spec))
        return log_linear_runner(spec)

    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as store, pytest.raises(RuntimeError, match="injected crash"):
        measure_pstar(FAKE, P, [0, 1], store, workers=1, runner=failing_after_three, threshold=0.2)
    with ResultsStore(path) as store:
        assert store.finished_keys() == set(calls)
        resumed = []

        def counting(spec):
            resumed.append(run_key(spec))
            return log_linear_runner(spec)

        measure_pstar(FAKE, P, [0, 1], store, workers=1, runner=counting, threshold=0.2)
        keys = [row["key"] for row in store.rows()]
    assert len(resumed) == 10 - 3
    assert not set(resumed) & set(calls)
    assert len(keys) == len(set(keys)) == 10


def failing_at_P_100(spec):
    if spec.P == 100:
        raise RuntimeError("injected crash at P = 100")
    return log_linear_runner(spec)


def test_pool_failure_keeps_finished_rows_and_resumes(tmp_path):
    P = geometric_grid(10, 10_000, 4)
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as store, pytest.raises(RuntimeError, match="injected crash at P = 100"):
        measure_pstar(FAKE, P, [0, 1, 2], store, workers=2, runner=failing_at_P_100, threshold=0.2)
    with ResultsStore(path) as store:
        kept = store.rows()
        assert kept
        assert all(row["P"] != 100 for row in kept)
        assert all(
            row["test_error"] == log_linear_runner(FAKE.replace(P=row["P"], seed=row["seed"]))["test_error"]
            for row in kept
        )
        measure_pstar(FAKE, P, [0, 1, 2], store, workers=1, runner=log_linear_runner, threshold=0.2)
        keys = [row["key"] for row in store.rows()]
    assert len(keys) == len(set(keys)) == 12


def sleeping_runner(spec):
    """Records its process id in $PID_DIR, then works for a minute."""
    (Path(os.environ["PID_DIR"]) / str(os.getpid())).touch()
    time.sleep(60)
    return log_linear_runner(spec)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="looks processes up in /proc")
def test_pool_workers_exit_when_the_driver_is_killed(tmp_path):
    driver = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_pstar import FAKE, sleeping_runner
from rhm_theory.runs.pstar import run_specs
from rhm_theory.runs.store import ResultsStore
run_specs([FAKE.replace(P=P) for P in (10, 20, 30)], ResultsStore({str(tmp_path / "r.sqlite")!r}), workers=2, runner=sleeping_runner)
"""
    process = subprocess.Popen([sys.executable, "-c", driver], env={**os.environ, "PID_DIR": str(tmp_path)})
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("[0-9]*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name) for p in tmp_path.glob("[0-9]*")]
    assert len(workers) == 2
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    for pid in alive:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert not alive, "pool workers outlived their killed driver"


def test_killed_rhm_pstar_resumes_with_each_run_exactly_once(tmp_path):
    results = tmp_path / "runs.sqlite"
    command = [
        sys.executable,
        "-m",
        "rhm_theory",
        "pstar",
        "--v",
        "4",
        "--nc",
        "4",
        "--m",
        "2",
        "--s",
        "2",
        "--L",
        "3",
        "--P",
        "16",
        "32",
        "64",
        "128",
        "--seeds",
        "2",
        "--workers",
        "1",
        "--width",
        "8",
        "--max-epochs",
        "300",
        "--loss-threshold",
        "1e-12",
        "--P-test",
        "64",
        "--quiet",
        "--results",
        str(results),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900  # a safety net only: the loop waits for 2 stored runs, however slow the machine
    stored = 0
    while stored < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if results.exists():
            with sqlite3.connect(results) as connection, contextlib.suppress(sqlite3.OperationalError):
                stored = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]  # raises: table not created yet
    assert process.poll() is None, f"finished before it could be killed: {process.stderr.read().decode()}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with ResultsStore(results) as store:
        killed_at = len(store.rows())
    assert 2 <= killed_at < 8
    finished = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    with ResultsStore(results) as store:
        rows = store.rows()
    keys = [row["key"] for row in rows]
    assert len(keys) == len(set(keys)) == 8
    assert sorted((row["P"], row["seed"]) for row in rows) == sorted((P, s) for P in (16, 32, 64, 128) for s in (0, 1))
    means = [np.mean([row["test_error"] for row in rows if row["P"] == P]) for P in (16, 32, 64, 128)]
    np.testing.assert_allclose(summary["mean_test_error"], means)


def test_run_one_row_is_deterministic_and_complete():
    spec = BASE.replace(P=32, sensitivity_samples=16)
    row, again = run_one(spec), run_one(spec)
    assert row["key"] == run_key(spec)
    for name in ("test_error", "train_loss", "epochs", "steps"):
        assert row[name] == again[name]
    assert {f"S_k{k}_l{l}" for k in (1, 2, 3) for l in (1, 2, 3)} <= set(row)
    assert 0 <= row["test_error"] <= 1
    assert row["epochs"] <= 5
    assert row["rules_seed"] == derive_seeds(0)["rules"] != derive_seeds(1)["rules"]


def test_seeds_share_rules_across_P_and_differ_between_seeds():
    seeds = [derive_seeds(s) for s in range(3)]
    assert len({value for d in seeds for value in d.values()}) == 12
    assert all(0 <= value < 2**63 for d in seeds for value in d.values())


def test_thresholds():
    assert error_threshold(8, "cnn") == pytest.approx(0.1 * 7 / 8)
    assert error_threshold(8, "fcn") == pytest.approx(0.7 * 7 / 8)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"P": 500}, r"P = 500 training data plus P_test = 64 test data exceed p_max = 512"),
        ({"width": 0}, "width must be >= 1, got 0"),
        ({"model": "mlp"}, "unknown model 'mlp'"),
        ({"sensitivity_samples": 65}, "sensitivity_samples = 65 must be <= P_test = 64"),
        ({"m": 5}, "infeasible grammar"),
    ],
)
def test_bad_specs(changes, message):
    with pytest.raises(ValueError, match=message):
        BASE.replace(**changes)


def test_bad_measurements(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match="at least one seed"):
            measure_pstar(BASE, [16, 32], [], store, runner=log_linear_runner)
        with pytest.raises(ValueError, match="same run is listed twice"):
            measure_pstar(BASE, [16, 16], [0], store, workers=1, runner=log_linear_runner)
        with pytest.raises(ValueError, match="runner returned a row with key 'wrong'"):
            run_specs([BASE], store, workers=1, runner=lambda spec: {"key": "wrong"})
        assert store.rows() == []


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "give the training-set sizes"),
        (["--P", "16", "--P-min", "8"], "either --P or --P-min/--P-max"),
        (["--adaptive", "3", "--P-min", "8"], "--adaptive needs the bracket"),
        (["--P", "500"], "exceed p_max = 512"),
        (["--P-min", "8", "--P-max", "10", "--n-P", "5"], "only 3 distinct integers"),
        (["--P", "16", "--width", "0"], "width must be >= 1, got 0"),
    ],
)
def test_rhm_pstar_bad_input_is_a_clean_error(tmp_path, capsys, flags, message):
    from rhm_theory.cli import main

    grammar = ["--v", "4", "--nc", "4", "--m", "2", "--s", "2", "--L", "3", "--P-test", "64"]
    assert main(["pstar", *grammar, "--results", str(tmp_path / "r.sqlite"), *flags]) == 2
    assert message in capsys.readouterr().err
