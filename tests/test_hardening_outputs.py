"""Hardening of outputs, runs and results files (issue 26, classes 3 to 6b): outputs written whole or not
at all, no output over an input, refused commands write nothing, bounds before allocation, results files
checked against their schema and protected by SQLite's locking."""

import json
import math
import os
import sqlite3
import threading

import pytest
import torch
from hypothesis import given, settings, strategies as st
from strategies import examples

from rhm_theory import Grammar
from rhm_theory.cli import main
from rhm_theory.core import files
from rhm_theory.core.validation import MAX_ARRAY_ENTRIES, MAX_MODEL_PARAMETERS
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.ensemble import train_ensemble
from rhm_theory.learning.models import build_model, check_model_size, parameter_count
from rhm_theory.learning.training import train
from rhm_theory.runs import experiment, sweep as sweep_module
from rhm_theory.runs.backends import execute
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.store import ResultsStore, StoreLocked
from rhm_theory.runs.sweep import SweepError, adaptive_searches, expand_sweep, read_sweep
from rhm_theory.theory.diffusion import check_experiment_size

G = ["--v", "8", "--nc", "2", "--m", "4", "--s", "2", "--L", "2"]
TINY = ["--P-test", "16", "--max-epochs", "2", "--width", "4"]
TRAIN = ["train", *G, "--P", "8", *TINY]
PSTAR = ["pstar", *G, "--P", "8", "16", "--seeds", "2", *TINY, "--workers", "1", "--quiet"]
SWEEP = "[grammar]\nv = 8\nn_c = 2\nm = 4\ns = 2\nL = 2\n[data]\n{data}\nP_test = 16\n[training]\nwidth = {width}\nmax_epochs = 2\n[run]\nseeds = {seeds}\n"
SPEC = {"v": 8, "n_c": 2, "m": 4, "s": 2, "L": 2, "P": 8, "P_test": 16, "width": 4, "max_epochs": 2}


def contents(folder):
    """Every file and folder under ``folder`` with its bytes: what a refused command must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def refused(argv, capsys, needle=""):
    """Run ``rhm argv``: it must exit 2 with one line on stderr containing ``needle``."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err, err
    assert needle in err, err
    return err


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    """A results file with the 4 runs of PSTAR (copied by each test that changes it)."""
    path = tmp_path_factory.mktemp("results") / "r.sqlite"
    torch.set_num_threads(1)
    assert main([*PSTAR, "--results", str(path)]) == 0
    return path


def copy_results(results_file, folder, name="r.sqlite"):
    path = folder / name
    path.write_bytes(results_file.read_bytes())
    return path


def count_runs(path):
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM runs").fetchone()[0]


# ----- core/files.py: the one mechanism ------------------------------------------------------------
def test_staged_outputs_move_together_or_not_at_all(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("old a")
    with pytest.raises(RuntimeError), files.staged(a, b) as (partial_a, partial_b):  # noqa: PT012 - raises inside the block under test
        partial_a.write_text("new a")
        partial_b.write_text("new b")
        raise RuntimeError("the command failed after writing")
    assert contents(tmp_path) == {"a": b"old a"}
    with files.staged(a, b) as (partial_a, partial_b):
        partial_a.write_text("new a")
        partial_b.write_text("new b")
    assert contents(tmp_path) == {"a": b"new a", "b": b"new b"}


def test_a_staged_folder_leaves_nothing_when_the_command_fails(tmp_path):
    with pytest.raises(RuntimeError), files.staged_folder(tmp_path / "tb" / "run") as partial:  # noqa: PT012 - as above
        (partial / "events").write_text("half")
        raise RuntimeError
    assert contents(tmp_path) == {}
    with files.staged_folder(tmp_path / "tb" / "run") as partial:
        (partial / "events").write_text("whole")
    assert contents(tmp_path) == {"tb": None, "tb/run": None, "tb/run/events": b"whole"}


def test_the_same_file_under_another_name_is_the_same_path(tmp_path):
    target = tmp_path / "r.sqlite"
    target.write_text("x")
    os.symlink(target, tmp_path / "link")
    os.link(target, tmp_path / "hard")
    for other in (
        tmp_path / "link",
        tmp_path / "hard",
        tmp_path / "." / "r.sqlite",
        tmp_path / "sub" / ".." / "r.sqlite",
    ):
        with pytest.raises(ValueError, match="refusing to write over an input"):
            files.check_distinct({"--csv": other}, {"--results": target})
    files.check_distinct({"--csv": tmp_path / "r.csv", "--save-model": None}, {"--results": target})
    with pytest.raises(ValueError, match="same path"):
        files.check_distinct({"--history-csv": tmp_path / "m", "--save-model": tmp_path / "m"})


@pytest.mark.parametrize("name", ["", " ", "\t"])
def test_empty_output_names_are_refused(name):
    with pytest.raises(ValueError, match="needs a file or folder name"):
        files.check_output_name("--csv", name)


def test_a_folder_below_a_file_is_refused_and_nothing_is_created(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        files.check_writable_folder("--save-model", tmp_path / "afile" / "models")
    assert files.check_writable_folder("--save-model", tmp_path / "new" / "models") == tmp_path / "new" / "models"
    assert contents(tmp_path) == {"afile": b"x"}


# ----- class 3: training outputs are written whole at the end, or not at all -----------------------
@pytest.mark.parametrize(
    "bad",
    [["--width", "10000000000000"], ["--P-test", "1", "--select", "best"], ["--lr", "1e39"]],
    ids=["impossible width", "select best with one test datum", "lr that overflows"],
)
def test_a_failed_or_refused_train_keeps_the_existing_curve(tmp_path, capsys, one_torch_thread, bad):
    curve = tmp_path / "curve.csv"
    curve.write_text("old curve\n")
    code = main([*TRAIN, *bad, "--history-csv", str(curve), "--force"])
    capsys.readouterr()
    if bad[0] == "--lr":  # trains, diverges (exit 1), and then writes the whole curve
        assert code == 1
        assert curve.read_text().startswith("step,epoch")
    else:
        assert code == 2
        assert curve.read_text() == "old curve\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.csv"]  # no temporary left


def test_train_writes_the_whole_curve_and_checkpoint(tmp_path, capsys, one_torch_thread):
    assert main([*TRAIN, "--history-csv", str(tmp_path / "c.csv"), "--save-model", str(tmp_path / "m"), "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,train_loss,test_error,test_loss"
    assert int(lines[-1].split(",")[0]) == steps
    assert sorted(p.suffix for p in (tmp_path / "m").iterdir()) == [".json", ".pt"]
    assert not list(tmp_path.rglob(".*"))


# ----- class 4 and 5: a refused command writes nothing; empty names and stray flags are refused ----
@pytest.mark.parametrize(
    "outputs, needle",
    [
        (["--save-model", "{T}/afile/models", "--history-csv", "{T}/c.csv"], "is a file, not a folder"),
        (["--save-model", "{T}/m", "--history-csv", "{T}/m"], "same path"),
        (["--tensorboard", "{T}/m", "--history-csv", "{T}/m"], "same path"),
        (["--history-csv", ""], "needs a file or folder name"),
        (["--tensorboard", ""], "needs a file or folder name"),
        (["--save-model", " "], "needs a file or folder name"),
        (["--history-csv", "{T}/c.csv", "--width", "10000000000000"], "at most 2**31"),
    ],
)
def test_a_refused_train_writes_nothing(tmp_path, capsys, outputs, needle):
    (tmp_path / "afile").write_text("x")
    before = contents(tmp_path)
    refused([*TRAIN, *(a.replace("{T}", str(tmp_path)) for a in outputs)], capsys, needle)
    assert contents(tmp_path) == before


def test_an_unwritable_checkpoint_folder_is_found_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(
        experiment, "train", lambda *a, **k: pytest.fail("trained before checking the checkpoint folder")
    )
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        experiment.run_one(RunSpec(**SPEC, seed=0), save_model=tmp_path / "afile")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        experiment.save_checkpoint(tmp_path / "afile", RunSpec(**SPEC, seed=0), torch.nn.Linear(1, 1))


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seed", str(2**63 - 1)], "seed"),  # the second seed does not fit the results file
        (["--seeds", "100000000"], "at most 65536"),
        (["--width", "10000000000000"], "at most 2**31"),
        (["--csv", ""], "needs a file or folder name"),
        (["--save-model", ""], "needs a file or folder name"),
        (["--csv", "{T}/new.sqlite"], "refusing to write over an input"),
    ],
)
def test_a_refused_pstar_creates_no_results_file(tmp_path, capsys, argv, needle):
    refused(
        [*PSTAR, *(a.replace("{T}", str(tmp_path)) for a in argv), "--results", tmp_path / "new.sqlite"], capsys, needle
    )
    assert contents(tmp_path) == {}


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--address", "1.2.3.4:6379"], "only with --backend ray"),
        (["--save-model", ""], "needs a file or folder name"),
        (["--results", ""], "needs a file or folder name"),
        (["--results", "{T}/s.toml"], "refusing to write over an input"),
        (["--save-model", "{T}/r.sqlite"], "same path"),
    ],
)
def test_a_refused_sweep_writes_nothing(tmp_path, capsys, argv, needle):
    (tmp_path / "s.toml").write_text(SWEEP.format(data="P = [8]", width=4, seeds=1))
    before = contents(tmp_path)
    argv = [a.replace("{T}", str(tmp_path)) for a in argv]
    results = [] if "--results" in argv else ["--results", tmp_path / "r.sqlite"]
    refused(["sweep", tmp_path / "s.toml", *results, *argv, "--workers", "1", "--quiet"], capsys, needle)
    assert contents(tmp_path) == before


def test_the_local_backend_refuses_an_address_before_any_run(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match="Ray cluster"):
            execute([RunSpec(**SPEC, seed=0)], store, address="1.2.3.4:6379", workers=1, progress=False)
        assert store.rows() == []
        assert store.failures() == []


# ----- class 6: bounds before allocation, divergence as a stop reason ------------------------------
@settings(max_examples=examples(30), deadline=None)
@given(
    model=st.sampled_from(["cnn", "lcn", "fcn", "deep_fcn", "transformer"]),
    v=st.integers(1, 6),
    n_c=st.integers(1, 5),
    s=st.integers(1, 3),
    L=st.integers(1, 3),
    width=st.integers(1, 9),
    spread=st.integers(1, 2),
)
def test_parameter_count_is_that_of_the_built_model(model, v, n_c, s, L, width, spread):
    patch = s * spread
    if model in ("cnn", "lcn") and patch < 2:
        return
    net = build_model(model, v=v, n_c=n_c, s=s, L=L, width=width, seed=0, patch=patch)
    assert parameter_count(model, v=v, n_c=n_c, s=s, L=L, width=width, patch=patch) == sum(
        p.numel() for p in net.parameters()
    )


@settings(max_examples=examples(20), deadline=None)
@given(v=st.integers(2, 64), n_c=st.integers(2, 64), d=st.sampled_from([4, 16, 64]), offset=st.integers(-2, 2))
def test_the_model_bound_is_exact_at_its_edge(v, n_c, d, offset):
    per_width = v * d + n_c  # an fcn of width w has w (v d + n_c) weights
    width = MAX_MODEL_PARAMETERS // per_width + offset
    if width * per_width <= MAX_MODEL_PARAMETERS:
        assert check_model_size("fcn", v=v, n_c=n_c, s=d, L=1, width=width) == width * per_width
    else:
        with pytest.raises(ValueError, match=f"{width * per_width} entries: at most 2\\*\\*31"):
            check_model_size("fcn", v=v, n_c=n_c, s=d, L=1, width=width)


@settings(max_examples=examples(20), deadline=None)
@given(d=st.sampled_from([1, 4, 1024]), v=st.integers(2, 2**32), n_c=st.integers(1, 64), offset=st.integers(-1, 1))
def test_the_diffusion_bound_is_exact_at_its_edge(d, v, n_c, offset):
    P = max(1, MAX_ARRAY_ENTRIES // (d * v + n_c) + offset)
    if P * (d * v + n_c) <= MAX_ARRAY_ENTRIES:
        check_experiment_size(P, d, v, n_c)
    else:
        with pytest.raises(ValueError, match="at most 2\\*\\*31"):
            check_experiment_size(P, d, v, n_c)


@pytest.mark.parametrize(
    "argv",
    [
        ["diffuse", "--noise", "0.1", *G, "--P", "1000000000000000"],
        ["diffuse", "--noise", "0.1", "--v", "4294967296", "--nc", "1", "--m", "1", "--s", "1", "--L", "1"],
        ["train", *G, "--P", "8", "--P-test", "16", "--width", "10000000000000"],
        [
            "train",
            "--v",
            "64",
            "--nc",
            "2",
            "--m",
            "8",
            "--s",
            "2",
            "--L",
            "6",
            "--P",
            "1000000000000",
            "--P-test",
            "8",
        ],
    ],
    ids=["diffuse P", "diffuse v", "train width", "train P"],
)
def test_allocation_failures_are_one_line_refusals_naming_the_size_and_the_limit(argv, capsys):
    err = refused(argv, capsys, "entries: at most 2**31")
    assert "would have" in err


@pytest.mark.parametrize("optimizer, select", [("sgd", "last"), ("adam", "last"), ("sgd", "best")])
def test_a_learning_rate_that_overflows_the_weights_is_a_diverged_run(optimizer, select, one_torch_thread):
    grammar = Grammar.random(8, 2, 4, 2, 2, seed=0)
    train_set, test_set = grammar.sample_train_test(8, 16, seed=1)
    config = TrainConfig(width=4, max_epochs=2, lr=1e39, optimizer=optimizer, select=select, seed=0)
    result = train(grammar, train_set, test_set, config)
    assert (result.stop_reason, result.steps, result.epochs) == ("diverged", 0, 0)
    assert [record.step for record in result.history] == [0]
    assert math.isnan(result.train_loss)
    assert 0 <= result.test_error <= 1


def test_an_ensemble_with_an_overflowing_learning_rate_diverges_as_train_does(one_torch_thread):
    grammar = Grammar.random(8, 2, 4, 2, 2, seed=0)
    train_set, test_set = grammar.sample_train_test(8, 16, seed=1)
    config = TrainConfig(width=4, max_epochs=2, lr=1e39, seed=0)
    alone = [train(grammar, train_set, test_set, TrainConfig(**config.settings(), seed=seed)) for seed in (0, 1)]
    members = train_ensemble(grammar, [train_set] * 2, [test_set] * 2, config, [0, 1])
    assert [(m.stop_reason, m.steps, m.test_error) for m in members] == [("diverged", 0, a.test_error) for a in alone]


def test_train_json_says_diverged_for_an_overflowing_learning_rate(capsys, one_torch_thread):
    assert main([*TRAIN, "--lr", "1e39", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["stop_reason"] == "diverged"


# ----- sweep files ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        "P_over_ncmL = inf",
        "P_over_ncmL = nan",
        "P_over_ncmL = [1, -inf]",
        "adaptive = { P_low_over_ncmL = 0.25, P_high_over_ncmL = inf, steps = 1 }",
        "adaptive = { P_low_over_ncmL = nan, P_high_over_ncmL = 2, steps = 1 }",
    ],
)
def test_infinite_relative_sizes_are_refused(tmp_path, data):
    (tmp_path / "s.toml").write_text(SWEEP.format(data=data, width=4, seeds=1))
    document = read_sweep(tmp_path / "s.toml")
    with pytest.raises(SweepError, match="positive finite numbers"):
        (adaptive_searches if "adaptive" in data else expand_sweep)(document)


@pytest.mark.parametrize("width", ["[" * 3000 + "]" * 3000, "{a=" * 3000 + "1" + "}" * 3000])
def test_deeply_nested_sweep_files_are_refused(tmp_path, width):
    (tmp_path / "s.toml").write_text(SWEEP.format(data="P = [8]", width=width, seeds=1))
    with pytest.raises(SweepError, match="too deeply"):
        read_sweep(tmp_path / "s.toml")


@settings(max_examples=examples(25), deadline=None)
@given(sizes=st.integers(1, 6), seeds=st.integers(1, 6), widths=st.integers(1, 3))
def test_the_number_of_runs_is_bounded_before_the_runs_are_listed(sizes, seeds, widths):
    limit = 24
    document = {
        "grammar": {"v": 8, "n_c": 2, "m": 4, "s": 2, "L": 2},
        "data": {"P": list(range(8, 8 + sizes)), "P_test": 16},
        "training": {"width": list(range(4, 4 + widths))},
        "run": {"seeds": seeds},
    }
    runs = sizes * seeds * widths
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sweep_module, "MAX_SWEEP_RUNS", limit)
        if runs <= limit:
            assert len(expand_sweep(document)) == runs
        else:
            with pytest.raises(SweepError, match=f"the sweep has {runs} runs .* at most {limit}"):
                expand_sweep(document)


def test_a_huge_seed_count_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SWEEP.format(data="P = [8]", width=4, seeds=2**62))
    refused(["sweep", tmp_path / "s.toml", "--results", tmp_path / "r.sqlite"], capsys, "at most 65536")
    assert not (tmp_path / "r.sqlite").exists()


# ----- class 3b: results are never lost to an output path or another process -----------------------
@pytest.mark.parametrize("csv", ["{T}/r.sqlite", "{T}/./r.sqlite", "{T}/link.csv"])
def test_a_csv_export_onto_the_results_file_is_refused(results_file, tmp_path, capsys, csv):
    path = copy_results(results_file, tmp_path)
    os.symlink(path, tmp_path / "link.csv")
    before = contents(tmp_path)
    refused(
        [*PSTAR, "--results", path, "--csv", csv.replace("{T}", str(tmp_path)), "--force"],
        capsys,
        "refusing to write over an input",
    )
    assert contents(tmp_path) == before
    with ResultsStore(path) as store:
        with pytest.raises(ValueError, match="refusing to write over an input"):
            store.to_csv(tmp_path / "r.sqlite")
        assert len(store.rows()) == 4
    assert contents(tmp_path) == before


def _hold_read_transaction(path):
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM runs").fetchone()  # holds SQLite's shared lock until COMMIT
    return reader


def test_a_reader_past_the_timeout_makes_a_write_refuse_and_lose_nothing(results_file, tmp_path):
    path = copy_results(results_file, tmp_path)
    reader = _hold_read_transaction(path)
    with ResultsStore(path, timeout=0.1) as store:
        with pytest.raises(StoreLocked, match="locked by another process"):
            store.append(
                {
                    "key": "new",
                    "P": 1,
                    "history": [{"step": 1, "epoch": 1, "train_loss": 1.0, "test_error": 0.5, "test_loss": 1.0}],
                }
            )
        reader.execute("COMMIT")
        assert count_runs(path) == 4
        assert "new" not in store.finished_keys()
        assert store.history("new") == []
        store.append({"key": "new", "P": 1})  # the same row, once the reader is done
    assert count_runs(path) == 5
    reader.close()


def test_a_write_waits_for_a_reader_that_finishes(results_file, tmp_path):
    path = copy_results(results_file, tmp_path)
    reader = _hold_read_transaction(path)
    outcome = []

    def write():
        with ResultsStore(path, timeout=120) as store:
            store.append({"key": "new", "P": 1})
            outcome.append("stored")

    writer = threading.Thread(target=write)
    writer.start()
    probe = sqlite3.connect(path, timeout=0)
    while writer.is_alive():  # until the writer waits at its commit: SQLite then refuses new readers
        try:
            probe.execute("SELECT count(*) FROM runs").fetchone()
        except sqlite3.OperationalError as error:
            assert "locked" in str(error)  # noqa: PT017 - a polling loop: the refusal comes only once the writer waits
            break
    probe.close()
    reader.execute("COMMIT")
    writer.join()
    reader.close()
    assert outcome == ["stored"]
    assert count_runs(path) == 5


def test_a_locked_file_is_reported_as_locked(results_file, tmp_path, capsys):
    path = copy_results(results_file, tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreLocked, match="locked by another process"):
            ResultsStore(path, readonly=True, timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count_runs(path) == 4


# ----- class 6b: what is read is checked against the schema ----------------------------------------
def _hand_made(path, columns, values, app_id=True, wal=False, history=None):
    connection = sqlite3.connect(path)
    if app_id:
        connection.execute("PRAGMA application_id = 1380470098")
    if wal:
        connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f'CREATE TABLE runs ("key" TEXT PRIMARY KEY, {", ".join(columns)})')
    connection.execute(f"INSERT INTO runs VALUES ('a', {', '.join('?' for _ in columns)})", values)
    if history:
        connection.execute(history)
    connection.commit()
    connection.close()


SETTING = ["v", "n_c", "m", "s", "L", "model", "width", "P", "seed", "test_error"]
GOOD = [8, 2, 4, 2, 2, "cnn", 4, 8, 0, 0.5]


@pytest.mark.parametrize(
    "name, columns, values, options, field",
    [
        ("r.sqlite", SETTING[:6] + SETTING[7:], GOOD[:6] + GOOD[7:], {}, "'width'"),
        ("old.sqlite", ["P", "test_error"], [8, 0.5], {"app_id": False}, "'v'"),
        ("wal.sqlite", SETTING[:6] + SETTING[7:], GOOD[:6] + GOOD[7:], {"wal": True}, "'width'"),
        ("r?mode=rw#x%20.sqlite", SETTING[1:], GOOD[1:], {}, "'v'"),
        ("text.sqlite", SETTING, [*GOOD[:6], "wide", *GOOD[7:]], {}, "field width = 'wide', not an integer"),
        (
            "history.sqlite",
            SETTING,
            GOOD,
            {"history": 'CREATE TABLE history ("key" TEXT, "epoch" INTEGER)'},
            "lacks the field 'step'",
        ),
    ],
)
def test_report_names_the_file_and_the_field_it_cannot_read(tmp_path, capsys, name, columns, values, options, field):
    _hand_made(tmp_path / name, columns, values, **options)
    before = contents(tmp_path)
    err = refused(["report", tmp_path / name, "--out", tmp_path / "out"], capsys, field)
    sqlite_side_files = ("-wal", "-shm")  # SQLite's own, made by any reader of a WAL file
    assert name in err
    assert {k: v for k, v in contents(tmp_path).items() if not k.endswith(sqlite_side_files)} == before


def test_report_reads_a_hand_made_file_with_every_field(tmp_path, capsys):
    _hand_made(tmp_path / "r?mode=rw.sqlite", SETTING, GOOD, wal=True)
    assert main(["report", str(tmp_path / "r?mode=rw.sqlite"), "--out", str(tmp_path / "out")]) == 0
    assert "1 runs" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["summary.md", "collapse.png", "pstar.pdf"])
def test_report_refuses_a_results_file_named_like_its_outputs(results_file, tmp_path, capsys, name):
    (tmp_path / "out").mkdir()
    copy_results(results_file, tmp_path / "out", name)
    before = contents(tmp_path)
    refused(
        ["report", tmp_path / "out" / name, "--out", tmp_path / "out", "--force"],
        capsys,
        "refusing to write over an input",
    )
    assert contents(tmp_path) == before


RECORD = {"step": 1, "epoch": 1, "train_loss": 0.5, "test_error": 0.25, "test_loss": 0.75}


@settings(max_examples=examples(30), deadline=None)
@given(
    field=st.sampled_from(sorted(RECORD)),
    value=st.one_of(st.text(max_size=3), st.booleans(), st.floats(allow_nan=False)),
)
def test_history_records_of_the_wrong_type_are_refused_and_nothing_is_stored(tmp_path_factory, field, value):
    numeric = not isinstance(value, (str, bool))
    if numeric and field not in ("step", "epoch"):
        return  # a float loss is a loss
    path = tmp_path_factory.mktemp("history") / "r.sqlite"
    with ResultsStore(path) as store:
        with pytest.raises(ValueError, match=f"history field {field} must be"):
            store.append({"key": "a", "P": 1, "history": [{**RECORD, field: value}]})
        assert store.rows() == []
        assert store.history() == []


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_losses_are_stored_as_null(tmp_path, value):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.append({"key": "a", "P": 1, "history": [{**RECORD, "train_loss": value}]})
        assert store.history()[0]["train_loss"] is None


def test_a_garbage_history_file_is_refused_in_one_line_naming_the_file_and_field(tmp_path):
    from rhm_theory.learning.history import read_history_csv

    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"foreign.csv: not a learning-curve file"):
        read_history_csv(foreign)
    broken = tmp_path / "broken.csv"
    broken.write_text("step,epoch,train_loss,test_error,test_loss\n1,1,0.5,0.1,0.2\nx,1,0.5,0.1,0.2\n")
    with pytest.raises(ValueError, match=r"broken.csv, line 3: step = 'x' is not a number"):
        read_history_csv(broken)
