"""Training loop and ``rhm train``: convergence, generalisation on a small grammar, the cosine
schedule against its closed form, determinism, stop reasons and bad input."""

import json
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from rhm_theory import Grammar
from rhm_theory.cli import main
from rhm_theory.learning.config import MODEL_NAMES, TrainConfig
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.training import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small():
    """(6, 6, 3, 2, 2): p_max = 162 = 121 training + 41 test data."""
    grammar = Grammar.random(6, 6, 3, 2, 2, seed=0)
    return grammar, *grammar.sample_train_test(121, 41, seed=1)


def test_reaches_loss_threshold_and_generalises(small):
    grammar, train_set, test_set = small
    result = train(grammar, train_set, test_set, TrainConfig(width=64, batch_size=32, max_epochs=1000, seed=0))
    assert result.stop_reason == "loss_threshold"
    assert result.train_loss < 1e-3
    x, y = (torch.as_tensor(a) for a in train_set)
    x_test, y_test = (torch.as_tensor(a) for a in test_set)
    with torch.no_grad():  # the final model, evaluated afresh, has the reported fit and test error
        assert F.cross_entropy(result.model(one_hot(x, grammar.v)), y).item() < 2e-3
        wrong = (result.model(one_hot(x_test, grammar.v)).argmax(1) != y_test).float().mean().item()
    assert result.test_error == pytest.approx(wrong)
    assert result.test_error < 0.2  # chance is 5/6; P = 121 > 2 n_c m^L = 108


def test_few_data_stay_near_chance(small):
    grammar, (x, y), test_set = small
    result = train(grammar, (x[:6], y[:6]), test_set, TrainConfig(width=64, max_epochs=300, seed=0))
    assert result.train_loss < 0.05
    assert result.test_error > 0.5


def cosine_lr(base, step, total):
    """The annealing schedule: from base to 0.1 base over ``total`` steps (half a cosine period)."""
    low = 0.1 * base
    return low + (base - low) * (1 + math.cos(math.pi * step / total)) / 2


def test_cosine_schedule_spans_the_whole_run(small):
    grammar, train_set, test_set = small
    base = 0.1 * 16  # lr x width under mean field
    steps_per_epoch = math.ceil(121 / 50)
    config = TrainConfig(width=16, batch_size=50, max_epochs=4, loss_threshold=1e-12, seed=0)
    full = train(grammar, train_set, test_set, config)
    assert (full.stop_reason, full.epochs, full.steps) == ("max_epochs", 4, 4 * steps_per_epoch)
    assert full.final_lr == pytest.approx(cosine_lr(base, 12, 12))
    early = train(
        grammar, train_set, test_set, TrainConfig(width=16, batch_size=50, max_epochs=10, loss_threshold=100.0, seed=0)
    )
    assert (early.stop_reason, early.epochs, early.steps) == ("loss_threshold", 1, steps_per_epoch)
    assert early.final_lr == pytest.approx(cosine_lr(base, 3, 10 * steps_per_epoch))
    capped = train(
        grammar, train_set, test_set, TrainConfig(width=16, batch_size=50, max_steps=5, loss_threshold=1e-12, seed=0)
    )
    assert (capped.stop_reason, capped.epochs, capped.steps) == ("max_steps", 2, 5)
    assert capped.final_lr == pytest.approx(cosine_lr(base, 5, 5))


def test_same_seed_same_run_other_seed_other_run(small):
    grammar, train_set, test_set = small
    runs = [train(grammar, train_set, test_set, TrainConfig(width=16, max_epochs=3, seed=seed)) for seed in (4, 4, 5)]
    weights = [torch.cat([p.flatten() for p in r.model.parameters()]) for r in runs]
    assert runs[0].train_loss == runs[1].train_loss
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_every_model_and_optimizer_trains(small, name, optimizer):
    grammar, train_set, test_set = small
    config = TrainConfig(
        model=name,
        width=8,
        optimizer=optimizer,
        lr=0.01 if optimizer == "adam" else 0.1,
        max_steps=3,
        seed=0,
        parametrization="standard" if name == "transformer" else "mean_field",
    )
    result = train(grammar, train_set, test_set, config)
    assert result.steps == 3
    assert math.isfinite(result.train_loss)
    assert 0 <= result.test_error <= 1


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"train": (np.zeros((5, 3), dtype=np.int64), np.zeros(5, dtype=np.int64))},
            r"train must be x of shape \(P, d=4\)",
        ),
        ({"train": (np.full((5, 4), 6), np.zeros(5, dtype=np.int64))}, r"train tokens must be in range\(v=6\)"),
        ({"test": (np.zeros((0, 4), dtype=np.int64), np.zeros(0, dtype=np.int64))}, "test set is empty"),
        ({"test": (np.zeros((2, 4), dtype=np.int64), np.array([0, 6]))}, r"test labels must be in range\(n_c=6\)"),
        ({"config": TrainConfig(model="mlp", seed=0)}, "unknown model 'mlp'"),
        ({"config": TrainConfig(width=0, seed=0)}, "width must be >= 1, got 0"),
        ({"config": TrainConfig(optimizer="lbfgs", seed=0)}, "unknown optimizer 'lbfgs'"),
        ({"config": TrainConfig(lr=0.0, seed=0)}, "lr must be a positive finite number"),
        ({"config": TrainConfig(momentum=1.0, seed=0)}, r"momentum must be in \[0, 1\)"),
    ],
)
def test_bad_input_is_a_clear_error(small, change, message):
    grammar, train_set, test_set = small
    args = {"train": train_set, "test": test_set, "config": TrainConfig(max_steps=1, seed=0)}
    args.update(change)
    with pytest.raises(ValueError, match=message):
        train(grammar, args["train"], args["test"], args["config"])


GRAMMAR_FLAGS = ["--v", "6", "--nc", "6", "--m", "3", "--s", "2", "--L", "2", "--seed", "2"]


def test_rhm_train_prints_one_json_object(capsys):
    argv = ["train", *GRAMMAR_FLAGS, "--P", "100", "--P-test", "62", "--width", "16", "--max-epochs", "5", "--json"]
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)
    assert {"test_error", "train_loss", "epochs", "seconds"} <= row.keys()
    assert (row["P"], row["P_test"], row["epochs"]) == (100, 62, 5)
    assert main([*argv, "--progress"]) == 0  # same run, with a bar over epochs on stderr
    captured = capsys.readouterr()
    assert "epochs" in captured.err
    assert "5/5" in captured.err
    again = json.loads(captured.out)
    assert {k: again[k] for k in ("key", "test_error", "train_loss")} == {
        k: row[k] for k in ("key", "test_error", "train_loss")
    }


def test_rhm_train_refuses_more_data_than_p_max_minus_test(capsys):
    assert main(["train", *GRAMMAR_FLAGS, "--P", "101", "--P-test", "62"]) == 2
    assert "p_max = 162" in capsys.readouterr().err
    assert main(["train", *GRAMMAR_FLAGS, "--P", "10", "--width", "0"]) == 2
    assert "width must be >= 1, got 0" in capsys.readouterr().err
