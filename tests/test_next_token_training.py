"""The next-token learning task: masked inputs, and a trained network's test cross-entropy is never
below the exact Bayes optimum by more than the test set's sampling error (a leakage check)."""

import numpy as np
import pytest
import torch

from rhm_theory import Grammar
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.training import task_data, train
from rhm_theory.runs.spec import RunSpec
from rhm_theory.theory import next_token


def not_below_optimum(model_nll: np.ndarray, optimal_nll: np.ndarray, z: float = 3.0) -> bool:
    """Paired check: mean(model - optimum) >= -z x its standard error (the excess is a KL, >= 0)."""
    excess = model_nll - optimal_nll
    return excess.mean() >= -z * excess.std(ddof=1) / np.sqrt(excess.size)


def test_task_data_masks_the_last_token():
    grammar = Grammar.random(4, 4, 3, 2, 2, seed=0)
    x, y = grammar.sample(10, seed=1)
    inputs, labels = task_data(grammar, (torch.as_tensor(x), torch.as_tensor(y)), "next-token")
    assert (inputs[:, -1] == grammar.v).all()
    assert torch.equal(inputs[:, :-1], torch.as_tensor(x[:, :-1]))
    assert torch.equal(labels, torch.as_tensor(x[:, -1]))


def test_trained_cnn_is_never_below_the_exact_optimum_and_a_leak_would_be():
    torch.set_num_threads(1)
    grammar = Grammar.random(4, 4, 3, 2, 3, seed=3)
    train_set, test_set = grammar.sample_train_test(1000, 2000, seed=4)
    config = TrainConfig(task="next-token", model="cnn", width=32, max_epochs=10, seed=5)
    result = train(grammar, train_set, test_set, config)
    x_test = test_set[0]
    inputs, labels = task_data(grammar, (torch.as_tensor(x_test), torch.as_tensor(test_set[1])), "next-token")
    with torch.no_grad():
        logits = result.model.eval()(one_hot(inputs, grammar.v + 1)).double()
    model_nll = torch.nn.functional.cross_entropy(logits, labels, reduction="none").numpy()
    assert abs(model_nll.mean() - result.test_loss) < 1e-9
    optimum = next_token.predictive(grammar, x_test)
    optimal_nll = -np.log(optimum[np.arange(len(x_test)), x_test[:, -1]])
    assert abs(optimal_nll.mean() - next_token.optimal_loss(grammar)) < 0.05  # the test set samples the optimum
    assert not_below_optimum(model_nll, optimal_nll)
    assert result.test_loss < next_token.optimal_loss(grammar, 0)  # it learned beyond the marginal
    # negative control: a predictor that sees x_d (leakage) is far below the optimum and fails
    leaky = np.full(len(x_test), -np.log(0.9))
    assert not not_below_optimum(leaky, optimal_nll)


def test_next_token_task_in_the_run_spec():
    spec = RunSpec(v=4, n_c=4, m=3, s=2, L=2, P=10, seed=0, P_test=10, task="next-token")
    assert spec.row()["task"] == "next-token"
    with pytest.raises(ValueError, match="task"):
        RunSpec(v=4, n_c=4, m=3, s=2, L=2, P=10, seed=0, P_test=10, task="next-token", sensitivity_samples=5)
    with pytest.raises(ValueError, match="task"):
        RunSpec(v=4, n_c=4, m=3, s=2, L=2, P=10, seed=0, P_test=10, task="masked")


class _Constant(torch.nn.Module):
    """A 'network' whose logits are fixed (one row of logits for every input)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))

    def forward(self, inputs):
        return self.logits.expand(inputs.shape[0], -1)


def test_select_best_chooses_on_one_half_and_measures_on_the_other():
    from rhm_theory.learning.training import _Selection, evaluate

    x = torch.zeros((8, 2), dtype=torch.int64)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])  # first half all 0, second half all 1
    selection = _Selection(x, y, v=2, total_steps=2)
    favours_0, favours_1 = _Constant([2.0, 0.0]), _Constant([0.0, 2.0])
    selection.checkpoint(favours_1, steps=1, last=False)
    selection.checkpoint(favours_0, steps=2, last=True)
    # chosen by the first half (label 0): favours_0; measured on the second half (label 1), where it is bad
    assert selection.best[1] == pytest.approx(evaluate(favours_0, x[4:], y[4:], 2)[1])
    assert selection.best[0] == 1.0
    # the biased alternative (choosing on the measured half) would have reported favours_1's low loss
    assert selection.best[1] > evaluate(favours_1, x[4:], y[4:], 2)[1] + 1


def test_select_best_run_reports_a_checkpoint_and_keeps_keys_of_select_last():
    from rhm_theory.runs.spec import run_key

    grammar = Grammar.random(4, 4, 3, 2, 3, seed=0)
    train_set, test_set = grammar.sample_train_test(64, 100, seed=1)
    last = train(grammar, train_set, test_set, TrainConfig(task="next-token", width=16, max_epochs=5, seed=2))
    best = train(
        grammar, train_set, test_set, TrainConfig(task="next-token", width=16, max_epochs=5, seed=2, select="best")
    )
    assert np.isfinite(best.test_loss)
    assert best.steps == last.steps
    spec = RunSpec(v=4, n_c=4, m=3, s=2, L=2, P=10, seed=0, P_test=10)
    assert run_key(spec) == run_key(spec.replace(select="last")) != run_key(spec.replace(select="best"))
