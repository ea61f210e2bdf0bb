"""Training history: log-spaced records, callbacks, CSV and TensorBoard writers, the store's history
table (old files included), checkpoints and the ``rhm train`` flags."""

import csv
import json
import math
import sqlite3
import sys

import pytest
import torch

from rhm_theory.cli import main
from rhm_theory.learning.history import (
    HISTORY_FIELDS,
    CSVWriter,
    HistoryRecord,
    TensorBoardWriter,
    history_steps,
    read_history_csv,
)
from rhm_theory.learning.models import build_model
from rhm_theory.learning.training import train
from rhm_theory.runs.experiment import prepare_run, run_one
from rhm_theory.runs.spec import RunSpec, run_key
from rhm_theory.runs.store import APPLICATION_ID, ResultsStore

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SPEC = RunSpec(
    v=4, n_c=4, m=3, s=2, L=2, P=40, P_test=20, seed=3, width=16, batch_size=8, max_epochs=12
)  # 5 steps/epoch


def test_history_steps_are_log_spaced_and_end_at_the_last_step():
    # 10^(k/2) rounded: 1, 3.16, 10, 31.6, 100, 316; then the last step.
    assert history_steps(1000, 2) == [1, 3, 10, 32, 100, 316, 1000]
    assert history_steps(7, 4) == [1, 2, 3, 6, 7]  # 1, 1.78, 3.16, 5.62
    assert history_steps(50, 0) == [50]
    assert history_steps(1, 8) == [1]


def _trained(spec, callbacks=()):
    run = prepare_run(spec)
    return run, train(run.grammar, run.train_set, run.test_set, run.config, callbacks=callbacks)


def test_callbacks_see_every_record_in_step_order_and_the_last_is_the_result():
    seen = []
    run, result = _trained(SPEC, callbacks=[seen.append])
    assert seen == result.history
    assert len(seen) >= 5
    steps = [record.step for record in seen]
    assert steps == sorted(set(steps))
    assert steps[0] == 1
    assert steps[-1] == result.steps
    assert set(steps[:-1]) <= set(history_steps(12 * 5, SPEC.history_per_decade))
    assert all(record.epoch == math.ceil(record.step / 5) for record in seen)  # 40 data / batch 8 = 5 steps per epoch
    last = seen[-1]
    assert (last.train_loss, last.test_error, last.test_loss) == (
        result.train_loss,
        result.test_error,
        result.test_loss,
    )
    # The last record's test error, measured again by hand on the returned network.
    x, y = (torch.as_tensor(a) for a in run.test_set)
    with torch.no_grad():
        logits = result.model(torch.nn.functional.one_hot(x, 4).float().transpose(1, 2))
    assert last.test_error == (logits.argmax(1) != y).sum().item() / len(y)
    assert 0 < seen[0].train_loss  # it learns
    assert seen[-1].train_loss < seen[0].train_loss


def test_recording_changes_nothing_and_a_seed_reproduces_the_history():
    _, plain = _trained(SPEC.replace(history_per_decade=0))
    _, logged = _trained(SPEC.replace(history_per_decade=20))
    _, again = _trained(SPEC.replace(history_per_decade=20))
    assert len(plain.history) == 1
    assert len(logged.history) > 10
    assert plain.history[-1] == logged.history[-1]  # same training, whatever is recorded on the way
    for a, b in zip(plain.model.state_dict().values(), logged.model.state_dict().values()):
        assert torch.equal(a, b)
    assert logged.history == again.history


def test_history_is_not_in_the_run_key_at_its_default():
    assert run_key(SPEC) == run_key(SPEC.replace(history_per_decade=8))
    assert run_key(SPEC.replace(history_per_decade=3)) != run_key(SPEC)
    with pytest.raises(ValueError, match="history_per_decade must be >= 0, got -1"):
        SPEC.replace(history_per_decade=-1)


def test_history_round_trips_through_the_store_and_the_csv_file(tmp_path):
    with CSVWriter(tmp_path / "curve.csv") as writer:
        row = run_one(SPEC, callbacks=[writer])
    history = row["history"]
    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.append(row)
        other = run_one(SPEC.replace(seed=4))
        store.append(other)
        assert "history" not in store.columns()
    with ResultsStore(tmp_path / "r.sqlite", readonly=True) as store:
        stored = store.history(row["key"])
        everything = store.history()
    assert stored == [{"key": row["key"], **record} for record in history]
    assert everything == stored + [{"key": other["key"], **record} for record in other["history"]]
    with open(tmp_path / "curve.csv", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == list(HISTORY_FIELDS)
    assert [[float(value) for value in line] for line in lines[1:]] == [
        [record[name] for name in HISTORY_FIELDS] for record in history
    ]
    assert read_history_csv(tmp_path / "curve.csv") == [HistoryRecord(**record) for record in history]


def test_malformed_histories_are_refused_whole(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        record = {"step": 2, "epoch": 1, "train_loss": 0.5, "test_error": 0.25, "test_loss": 0.7}
        with pytest.raises(ValueError, match="distinct integers in increasing order, got \\[2, 2\\]"):
            store.append({"key": "a", "history": [record, record]})
        with pytest.raises(ValueError, match="exactly the fields step, epoch"):
            store.append({"key": "a", "history": [{"step": 1}]})
        assert store.finished_keys() == set()
        assert store.history() == []


def _old_file(path, application_id: bool) -> None:
    """A results file as written before the history table existed (with or without the application id)."""
    connection = sqlite3.connect(path)
    if application_id:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute('CREATE TABLE runs ("key" TEXT PRIMARY KEY NOT NULL, "test_error")')
    connection.execute('CREATE TABLE failures ("key" TEXT NOT NULL, "error" TEXT NOT NULL, "at" TEXT)')
    connection.execute("INSERT INTO runs VALUES ('old', 0.5)")
    connection.commit()
    connection.close()


def _tables(path) -> set:
    connection = sqlite3.connect(path)
    try:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()


@pytest.mark.parametrize("application_id", [True, False])
def test_old_files_without_a_history_table(tmp_path, application_id):
    path = tmp_path / "old.sqlite"
    _old_file(path, application_id)
    with ResultsStore(path, readonly=True) as store:
        assert store.rows() == [{"key": "old", "test_error": 0.5}]
        assert store.history() == []
    assert _tables(path) == {"runs", "failures"}  # reading creates nothing
    with ResultsStore(path) as store:
        store.append({"key": "plain", "test_error": 0.25})  # a row without history adds no table either
    assert _tables(path) == {"runs", "failures"}
    record = {"step": 1, "epoch": 1, "train_loss": 1.0, "test_error": 0.5, "test_loss": 1.5}
    with ResultsStore(path) as store:
        store.append({"key": "new", "test_error": 0.125, "history": [record]})
    with ResultsStore(path, readonly=True) as store:  # the file is still recognised, with its new table
        assert store.history() == [{"key": "new", **record}]
        assert store.finished_keys() == {"old", "plain", "new"}


def test_tensorboard_writer_writes_an_event_file(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with TensorBoardWriter(tmp_path / "tb") as writer:
        _, result = _trained(SPEC, callbacks=[writer])
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    for name in ("train_loss", "test_error", "test_loss"):
        scalars = events.Scalars(name)
        assert [event.step for event in scalars] == [record.step for record in result.history]
        assert [event.value for event in scalars] == pytest.approx([getattr(r, name) for r in result.history], rel=1e-6)


def test_tensorboard_missing_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as without tensorboard
    with pytest.raises(ImportError, match=r'pip install "rhm-theory\[tensorboard\]"'):
        TensorBoardWriter(tmp_path / "tb")
    code = main(
        [
            "train",
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
            "40",
            "--P-test",
            "20",
            "--tensorboard",
            str(tmp_path / "tb"),
            "--history-csv",
            str(tmp_path / "h.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "[tensorboard]" in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_rhm_train_writes_history_csv_tensorboard_and_checkpoint(tmp_path, capsys):
    args = [
        "train",
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
        "40",
        "--P-test",
        "20",
        "--seed",
        "3",
        "--width",
        "16",
        "--batch-size",
        "8",
        "--max-epochs",
        "12",
        "--json",
        "--history-csv",
        str(tmp_path / "h.csv"),
        "--save-model",
        str(tmp_path / "models"),
    ]
    if "tensorboard" in sys.modules or _has_tensorboard():
        args += ["--tensorboard", str(tmp_path / "tb")]
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)
    key = run_key(SPEC)
    assert row["key"] == key
    assert "history" not in row
    history = read_history_csv(tmp_path / "h.csv")
    assert history == [HistoryRecord(**record) for record in run_one(SPEC)["history"]]  # the same run
    assert history[-1].test_error == row["test_error"]
    if "--tensorboard" in args:
        assert list((tmp_path / "tb" / key).glob("events.out.tfevents.*"))
    # The checkpoint: reload the weights into a fresh network; its test error is the stored one.
    saved = json.loads((tmp_path / "models" / f"{key}.json").read_text())
    assert saved["key"] == key
    assert RunSpec(**{k: v for k, v in saved.items() if k != "key"}) == SPEC
    run = prepare_run(SPEC)
    model = build_model("cnn", v=4, n_c=4, s=2, L=2, width=16, seed=0)
    model.load_state_dict(torch.load(tmp_path / "models" / f"{key}.pt"))
    x, y = (torch.as_tensor(a) for a in run.test_set)
    with torch.no_grad():
        error = (model(torch.nn.functional.one_hot(x, 4).float().transpose(1, 2)).argmax(1) != y).sum().item() / len(y)
    assert error == row["test_error"]
    # An existing CSV is not overwritten without --force: one line, exit 2.
    assert main(args) == 2
    assert "exists: pass --force" in capsys.readouterr().err


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def test_rhm_report_draws_the_stored_learning_curves(tmp_path, capsys):
    import matplotlib.image

    from rhm_theory.report.learning_curves import learning_curves_figure

    runs = [run_one(SPEC), run_one(SPEC.replace(P=30))]
    with ResultsStore(tmp_path / "r.sqlite") as store:
        for row in runs:
            store.append(row)
        rows, history = store.rows(), store.history()
    assert main(["report", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "out")]) == 0
    assert matplotlib.image.imread(tmp_path / "out" / "learning_curves.png").ndim == 3
    assert "Learning curves of 2 runs" in (tmp_path / "out" / "summary.md").read_text()
    # The drawn lines are the stored records: one per run and panel, x = steps, y = training loss / test error.
    loss_ax, error_ax = learning_curves_figure(rows, history).axes[:2]
    for ax, column in ((loss_ax, "train_loss"), (error_ax, "test_error")):
        drawn = sorted((tuple(line.get_xdata()), tuple(line.get_ydata())) for line in ax.get_lines())
        stored = sorted(
            (tuple(r["step"] for r in row["history"]), tuple(r[column] for r in row["history"])) for row in runs
        )
        assert drawn == stored
    assert [text.get_text() for text in error_ax.get_legend().get_texts()] == ["$P=30$", "$P=40$"]


def test_rhm_report_without_history_says_so(tmp_path):
    path = tmp_path / "old.sqlite"
    with ResultsStore(path) as store:
        store.append({"key": "x", **SPEC.row(), "test_error": 0.5})
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE history")  # as in a file written before the table existed
    connection.commit()
    connection.close()
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 0
    assert (
        "No learning curves: no run in this file has a stored history" in (tmp_path / "out" / "summary.md").read_text()
    )
    assert not (tmp_path / "out" / "learning_curves.png").exists()
    assert _tables(path) == {"runs", "failures"}
