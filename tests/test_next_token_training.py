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
    assert (inputs[:, -1] == grammar.v).all() and torch.equal(inputs[:, :-1], torch.as_tensor(x[:, :-1]))
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
