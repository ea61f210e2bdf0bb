"""Regression tests for hostile inputs and bad timing (no silent corruption, clean errors, bounded sizes)."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from strategies import examples
from test_sweep import SMALL_TOML

from rhm_theory import Grammar
from rhm_theory.cli import main
from rhm_theory.core.sampling import block_offsets
from rhm_theory.runs import backends
from rhm_theory.runs.experiment import RunSpec, run_key
from rhm_theory.runs.store import ResultsStore


def _decode_by_rules(grammar, y, choices):
    """Tokens (P, d) from labels and choices, walking the rule arrays top-down (no sampler tables)."""
    symbols = np.asarray(y)[:, None]
    offsets = block_offsets(grammar)
    for k, rules in enumerate(grammar.rules):
        symbols = rules[symbols, choices[:, offsets[k] : offsets[k + 1]]].reshape(len(y), -1)
    return symbols


def _with_top_tokens(grammar):
    """The same grammar with its input tokens relabelled so that the data use the largest ones."""
    rules = grammar.rules
    used = np.unique(rules[-1][np.unique(rules[-2])])
    top = np.arange(grammar.v - used.size, grammar.v)
    relabel = np.empty(grammar.v, dtype=np.int64)
    relabel[used] = top
    relabel[np.setdiff1d(np.arange(grammar.v), used)] = np.setdiff1d(np.arange(grammar.v), top)
    return Grammar.from_rules([*rules[:-1], relabel[rules[-1]]], grammar.v)


@pytest.mark.parametrize("v", [255, 256, 257, 65535, 65536, 65537])
@settings(max_examples=examples(3), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), replace=st.booleans())
def test_samples_at_token_dtype_boundaries_parse_and_match_the_rules(v, seed, replace):
    grammar = _with_top_tokens(Grammar.random(v=v, n_c=2, m=2, s=2, L=2, seed=seed))
    x, y = grammar.sample(grammar.p_max if not replace else 64, seed=seed, replace=replace)
    assert x.max() < v
    assert replace or x.max() == v - 1
    labels, choices = grammar.parse(x)
    assert np.array_equal(labels, y)
    assert np.array_equal(_decode_by_rules(grammar, labels, choices), x)
    assert np.array_equal(grammar.decode(labels, choices), x)


def test_tokens_above_65535_do_not_wrap():
    grammar = Grammar.random(v=70000, n_c=2, m=2, s=2, L=2, seed=0)
    x, _y = grammar.sample(16, seed=0)
    assert np.array_equal(_decode_by_rules(grammar, *grammar.parse(x)), x)
    assert x.max() > 2**16  # the rules use large symbols; a uint16 table would wrap them


# ----- sweep accounting: every run is stored, failed or (after Ctrl-C) not started -----------------
SPECS = [
    RunSpec(v=4, n_c=2, m=2, s=2, L=2, P=P, seed=seed, P_test=4, width=4, max_epochs=1)
    for seed in (0, 1)
    for P in (4, 8)
]


def key_runner(spec):
    """A run that only returns its key (no training)."""
    return {"key": run_key(spec), "P": spec.P}


class ScriptedPool:
    """A process pool stand-in that runs each call at submit time, in this process. Submissions are
    numbered from 1 across pools: those in ``broken_submits`` raise BrokenProcessPool (the pool
    broke between two runs), those in ``dead_runs`` return a future failed with BrokenProcessPool
    (its worker died)."""

    count = 0

    def __init__(self, broken_submits, dead_runs):
        self.broken_submits, self.dead_runs = broken_submits, dead_runs

    def submit(self, fn, *args):
        ScriptedPool.count += 1
        if ScriptedPool.count in self.broken_submits:
            raise BrokenProcessPool("injected: pool broken at submit")
        future = Future()
        if ScriptedPool.count in self.dead_runs:
            future.set_exception(BrokenProcessPool("injected: worker died"))
        else:
            future.set_result(fn(*args))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


@pytest.mark.parametrize(
    "broken_submits, dead_runs, finished, failed",
    [
        ({3}, set(), 4, 0),  # the case: submit raises after two runs; the third run must not vanish
        ({1}, set(), 3, 1),  # a pool that breaks before its first run: that run fails (no endless retry)
        (set(), {2}, 3, 1),  # a worker dies during run 2: that run fails, the others finish
        ({2, 3}, {1}, 2, 2),  # run 1's worker dies, the pool breaks, the next pool breaks at once
        (set(range(1, 100)), set(), 0, 4),  # pools that never start a run: every run fails, no endless loop
    ],
)
def test_sweep_accounting_is_exact_whenever_the_pool_breaks(
    tmp_path, monkeypatch, broken_submits, dead_runs, finished, failed
):
    ScriptedPool.count = 0
    monkeypatch.setattr(backends, "_new_pool", lambda workers, threads: ScriptedPool(broken_submits, dead_runs))
    with ResultsStore(tmp_path / "r.sqlite") as store:
        outcome = backends.execute(SPECS, store, workers=2, runner=key_runner, progress=False)
        assert (outcome.finished, outcome.failed) == (finished, failed)
        stored, failures = store.finished_keys(), {f["key"] for f in store.failures()}
    assert len(stored) == finished
    assert len(failures) == failed
    assert stored | failures == {run_key(spec) for spec in SPECS}


def dying_key_runner(spec):
    """Kills its worker process for one run; else returns the key row."""
    if spec.seed == 1 and spec.P == 4:
        os._exit(3)
    return key_runner(spec)


@pytest.mark.parametrize("repeat", range(int(os.environ.get("RHM_STRESS_REPEATS", "1"))))
def test_sweep_accounting_under_a_cpu_hog_with_dying_workers(tmp_path, repeat):
    """A real pool whose worker dies, with a busy-looping process competing for the CPUs
    (RHM_STRESS_REPEATS=20 runs it 20 times)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with ResultsStore(tmp_path / "r.sqlite") as store:
            outcome = backends.execute(SPECS, store, workers=2, runner=dying_key_runner, progress=False)
            stored, failures = store.finished_keys(), {f["key"] for f in store.failures()}
    finally:
        hog.kill()
        hog.wait()
    assert outcome.finished + outcome.failed == len(SPECS)
    assert outcome.failed >= 1
    assert stored | failures == {run_key(spec) for spec in SPECS}
    assert not stored & failures


# ----- Ctrl-C: a real SIGINT to a driver process ------------------------------------------------
def _sweep_toml(epochs):
    """test_sweep's small sweep with 12 runs of ``epochs`` epochs each (no early stop)."""
    slow = SMALL_TOML.replace("max_epochs = 2", f"max_epochs = {epochs}\nloss_threshold = 1e-12")
    return slow.replace("P = [4, 8]", "P = [4, 6, 8, 10]").replace("seeds = 2", "seeds = 3")


def _start_sweep(tmp_path, epochs):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(_sweep_toml(epochs))
    results = tmp_path / "results.sqlite"
    command = [
        sys.executable,
        "-m",
        "rhm_theory",
        "sweep",
        str(sweep),
        "--results",
        str(results),
        "--workers",
        "2",
        "--quiet",
    ]
    # A session of its own: the SIGINT goes to the driver and its workers, as from a terminal.
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, results


def _wait_for_rows(process, results, n, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists():
            with ResultsStore(results) as store:
                if len(store.finished_keys()) >= n:
                    return
        time.sleep(0.05)
    raise AssertionError(f"the sweep did not store {n} runs while running (exit code {process.poll()})")


def test_first_ctrl_c_stores_the_runs_in_flight_then_exits_130(tmp_path):
    # runs of seconds (thousands of steps), so that on a loaded machine too the Ctrl-C after the first
    # stored row arrives while most runs have not started
    process, results = _start_sweep(tmp_path, epochs=3000)
    _wait_for_rows(process, results, 1)
    os.killpg(process.pid, signal.SIGINT)
    _out, err = process.communicate(timeout=240)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("Ctrl-C: no new runs start")
    assert len(lines) == 2
    counts = re.fullmatch(
        r"rhm sweep: interrupted: (\d+) runs stored and (\d+) failed now, (\d+) not started; .*", lines[1]
    )
    finished, failed, not_started = (int(n) for n in counts.groups())
    with ResultsStore(results) as store:
        assert len(store.finished_keys()) == finished  # every finished run stored
        assert store.failures() == []
    assert failed == 0
    assert not_started > 0
    assert finished + not_started == 12


def test_second_ctrl_c_abandons_the_runs_in_flight_at_once(tmp_path):
    process, results = _start_sweep(tmp_path, epochs=100000)  # runs of minutes
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(_children(process.pid)) < 2:  # both workers spawned
        time.sleep(0.1)
    time.sleep(5)  # ... and busy with their first runs
    os.killpg(process.pid, signal.SIGINT)
    time.sleep(1)
    assert process.poll() is None  # waiting for the runs in flight
    os.killpg(process.pid, signal.SIGINT)
    start = time.monotonic()
    _out, err = process.communicate(timeout=60)
    assert time.monotonic() - start < 30
    assert process.returncode == 130
    assert "Traceback" not in err
    # multiprocessing's resource tracker may add its own warning about the killed workers' semaphores
    assert any(
        line.startswith("rhm sweep: interrupted by Ctrl-C (runs in flight abandoned") for line in err.splitlines()
    )
    with ResultsStore(results) as store:
        assert store.finished_keys() == set()
        assert store.failures() == []


def _children(pid):
    """Process ids of the children of ``pid`` (Linux /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split() if path.exists() else []


# ----- results files: read-only where reading, only our own files -------------------------------
def _foreign_sqlite(path):
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER, text TEXT)")
        connection.execute("INSERT INTO notes VALUES (1, 'not ours')")
    connection.close()
    return path


@pytest.mark.parametrize("readonly", [False, True])
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_bytes(b"x" * 4096), "is not an SQLite database"),
        (_foreign_sqlite, "is not an rhm results file"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_foreign_or_broken_results_files_are_refused_untouched(tmp_path, make, message, readonly):
    path = tmp_path / "r.sqlite"
    make(path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(ValueError, match=message):
        ResultsStore(path, readonly=readonly)
    assert (path.read_bytes() if path.is_file() else None) == before


def test_reading_never_creates_or_modifies_a_results_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        ResultsStore(tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as store:
        store.append({"key": "a", "P": 1})
    before = path.read_bytes()
    with ResultsStore(path, readonly=True) as store:
        assert store.rows() == [{"key": "a", "P": 1}]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.append({"key": "b", "P": 2})
    assert path.read_bytes() == before


def test_results_files_without_the_application_id_are_still_ours(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:  # the layout written before the id existed
        connection.execute('CREATE TABLE runs ("key" TEXT PRIMARY KEY NOT NULL, "P" INTEGER)')
        connection.execute('CREATE TABLE failures ("key" TEXT NOT NULL, "error" TEXT NOT NULL, "at" TEXT)')
        connection.execute("INSERT INTO runs VALUES ('a', 3)")
    connection.close()
    with ResultsStore(path, readonly=True) as store:
        assert store.rows() == [{"key": "a", "P": 3}]


# ----- Grammar.from_json ------------------------------------------------------------------------
GRAMMAR = Grammar.random(4, 2, 2, 2, 2, seed=0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1,2]", "must be a JSON object, got list"),
        ("null", "must be a JSON object, got NoneType"),
        ("not json", "not valid JSON"),
        (json.dumps({**GRAMMAR.to_dict(), "rules": None}), "field rules must be a list"),
        (json.dumps({**GRAMMAR.to_dict(), "version": True}), "unsupported grammar version True"),
        (json.dumps({k: v for k, v in GRAMMAR.to_dict().items() if k != "m"}), "lacks the field.* m"),
        (json.dumps({k: v for k, v in GRAMMAR.to_dict().items() if k != "rules"}), "lacks the field.* rules"),
        (json.dumps({**GRAMMAR.to_dict(), "v": "4"}), "v must be an integer, got '4'"),
        (json.dumps({**GRAMMAR.to_dict(), "rules": [[1, [2]]]}), "rectangular integer arrays"),
        (json.dumps({**GRAMMAR.to_dict(), "s": 3}), "disagree with its rules"),
    ],
)
def test_grammar_json_errors_are_value_errors_naming_the_field(text, message):
    with pytest.raises(ValueError, match=message):
        Grammar.from_json(text)


def test_grammar_json_round_trip_still_works():
    assert Grammar.from_json(GRAMMAR.to_json()) == GRAMMAR


# ----- unbounded sizes are refused before any work ------------------------------------------------
@pytest.mark.parametrize(
    "params, message",
    [
        ((8, 8, 8, 2, 64), r"L = 64|d = s\*\*L = 2\*\*64"),
        ((8, 8, 8, 2, 40), r"d = s\*\*L = 2\*\*40 tokens per datum is too large: d must be <= 2\*\*20"),
        ((8, 8, 8, 10**9, 13), r"d = s\*\*L"),
        ((2, 2, 2, 1, 10**9), r"L = 1000000000 levels is too many"),
        ((2**64, 2, 2, 1, 1), r"v\*\*s = 18446744073709551616\*\*1 must be below 2\*\*63"),
        ((2**30, 2, 2, 1, 2), r"the rules would have"),
        ((8, 8, 8, 2, 17), r"p_max = n_c m\*\*n_nodes has about"),
    ],
)
def test_infeasible_sizes_are_refused_at_once(params, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        Grammar.random(*params, seed=0)
    assert time.perf_counter() - start < 1.0


def test_huge_p_max_is_printed_readably(capsys):
    assert main(["info", "--v", "8", "--nc", "8", "--m", "8", "--s", "2", "--L", "13"]) == 0
    assert "p_max  1.297697e+7398" in capsys.readouterr().out  # 8 * 8**8191 = 2**24576
    assert main(["info", "--v", "8", "--nc", "8", "--m", "8", "--s", "2", "--L", "13", "--json"]) == 0
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # the exact integer has 7399 digits
    try:
        assert json.loads(capsys.readouterr().out)["p_max"] == 8 * 8**8191
    finally:
        sys.set_int_max_str_digits(limit)
    assert main(["info", "--v", "8", "--nc", "8", "--m", "8", "--s", "2", "--L", "40"]) == 1
    out = capsys.readouterr().out
    assert "too large to compute" in out
    assert "d must be <= 2**20" in out


def test_readable_number_matches_float_formatting():
    from fractions import Fraction

    from rhm_theory.core.validation import readable_number

    for numerator, denominator in [(3**200, 1), (-(7**100), 3), (1, 3**150), (2**400 + 1, 5**7)]:
        assert readable_number(numerator, denominator) == f"{float(Fraction(numerator, denominator)):.6e}"
    assert readable_number(123, 4) == "123/4"
    assert readable_number(10**59) == str(10**59)


# ----- small cases: no silent reinterpretation ----------------------------------------------------
def test_replace_must_be_a_bool():
    with pytest.raises(ValueError, match="replace must be True or False, got 'False'"):
        GRAMMAR.sample(4, seed=0, replace="False")
    with pytest.raises(ValueError, match="replace must be True or False"):
        GRAMMAR.sample_train_test(2, 2, seed=0, replace=1)


def test_symbolic_refuses_non_integer_numbers():
    import sympy as sp

    from rhm_theory.theory import symbolic

    with pytest.raises(ValueError, match="v must be an integer or a sympy expression in symbols, got the number 17/2"):
        symbolic.evaluate(sp.Rational(17, 2), 8, 4, 2, 3)
    assert symbolic.quantity("d", sp.Integer(8), 8, 4, 2, 3) == 8
    assert symbolic.quantity("d", symbolic.v, 8, 4, 2, 3) == 8  # a symbol still passes


def test_bp_with_likelihoods_near_the_float_maximum():
    from rhm_theory.theory import bp

    x, _y = GRAMMAR.sample(8, seed=1)
    one_hot = np.eye(GRAMMAR.v)[x]
    scaled = one_hot * 1.7e308 + (1 - one_hot) * 1e308
    expected = bp.posterior(GRAMMAR, one_hot * 1.7 + (1 - one_hot) * 1.0)
    assert np.allclose(bp.posterior(GRAMMAR, scaled), expected)
    shift = np.log(1e308) * GRAMMAR.d
    assert np.allclose(
        bp.log_evidence(GRAMMAR, scaled), bp.log_evidence(GRAMMAR, one_hot * 1.7 + (1 - one_hot)) + shift
    )


# ----- rhm verify runs only the scripts it is pointed at -----------------------------------------
def test_verify_never_runs_the_working_directory_scripts(tmp_path, monkeypatch, capsys):
    from rhm_theory.cli import verify

    marker = tmp_path / "ran"
    (tmp_path / "verification").mkdir()
    (tmp_path / "verification" / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    installed = tmp_path / "site-packages" / "rhm_theory" / "cli" / "verify.py"  # not a source tree
    monkeypatch.setattr(verify, "__file__", str(installed))
    assert main(["verify", "--out", str(tmp_path / "report")]) == 2
    assert "pass --checks DIR" in capsys.readouterr().err
    assert not marker.exists()
    assert not (tmp_path / "report").exists()


# ----- run specs are checked when built; diverged training is flagged; one spec, one key ----------
def test_run_specs_are_checked_when_built_and_devices_before_any_run(tmp_path):
    base = {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 2, "P": 4, "seed": 0, "P_test": 4}
    for change, message in (
        ({"lr": -1}, "lr must be a positive finite number"),
        ({"max_steps": 0}, "max_steps must be >= 1"),
        ({"lr": float("nan")}, "lr must be a positive finite number"),
    ):
        with pytest.raises(ValueError, match=message):
            RunSpec(**base, **change)
    with ResultsStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match="device 'foo' is not a torch device"):
            backends.execute([RunSpec(**base, device="foo")], store, workers=1, runner=key_runner, progress=False)
        assert store.rows() == []
        assert store.failures(unresolved=False) == []


def test_equal_specs_have_equal_keys_whatever_the_number_types():
    base = {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 2, "seed": 0, "P_test": 4}
    one = RunSpec(**base, P=np.int64(4), lr=1)
    other = RunSpec(**base, P=4, lr=1.0)
    assert one == other
    assert run_key(one) == run_key(other)
    assert type(one.P) is int
    assert type(one.lr) is float


def test_diverged_training_says_so_in_strict_json(capsys):
    argv = [
        "train",
        "--v",
        "4",
        "--nc",
        "2",
        "--m",
        "2",
        "--s",
        "2",
        "--L",
        "2",
        "--P",
        "8",
        "--P-test",
        "4",
        "--width",
        "4",
        "--max-epochs",
        "3",
        "--lr",
        "1e30",
        "--json",
    ]
    assert main(argv) == 1
    row = json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))
    assert row["stop_reason"] == "diverged"
    assert row["train_loss"] is None


def test_sample_writes_exactly_the_named_file_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "data_noext"
    argv = ["sample", "--v", "4", "--nc", "2", "--m", "2", "--s", "2", "--L", "2", "--P", "4", "--out", str(out)]
    assert main(argv) == 0
    assert f"to {out}\n" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["data_noext"]
    with np.load(out) as data:
        assert data["x"].shape == (4, 4)
    assert main(argv) == 2
    assert "exists: pass --force" in capsys.readouterr().err
    assert main([*argv, "--force", "--data-seed", "1"]) == 0
