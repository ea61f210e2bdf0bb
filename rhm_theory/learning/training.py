"""Training one network on RHM data (docs/theory.md, 'Networks and training protocol'): SGD with momentum (or Adam), cross-entropy,
cosine annealing of the learning rate to 0.1 x lr over the whole run, stop when the epoch's mean
training loss is below a threshold or at a maximum number of epochs / steps.

The data go to the training device once, as int tokens; each batch is a slice of a permutation drawn
from a seeded torch.Generator and is one-hot encoded on the device (rhm_theory.learning.encoding.batches). With
``select = "last"`` the reported test error and cross-entropy are those of the final network (the
learning-curve records only observe, they select nothing). With ``select = "best"`` (early stopping
without a biased figure) the network is also evaluated at up to EVAL_POINTS checkpoints (evenly
spaced in steps, and the last): the checkpoint with the lowest cross-entropy on the first half of the
test set is chosen and its test error and cross-entropy on the second half are reported (the
returned ``model`` and ``history`` are still those of the whole run).

Task "next-token" (docs/theory-next-token.md, 'The learning task'): the label is the last token x_d
(v outputs) and the input is the datum with x_d replaced by the mask token v (v + 1 one-hot channels),
so every model sees the same fixed-length input as in the class task and no architecture changes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.core.validation import check_symbols
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.encoding import batches, one_hot
from rhm_theory.learning.history import HistoryRecord, history_steps
from rhm_theory.learning.models import RHMNet, build_model, torch_generator

EVAL_BATCH_SIZE = 8192
EVAL_POINTS = 40  # checkpoints of select = "best"


@dataclass
class TrainResult:
    """Outcome of :func:`train`. ``train_loss``: mean loss of the last epoch; ``stop_reason``:
    "loss_threshold", "max_epochs", "max_steps" or "diverged" (NaN or infinite loss, or a learning rate too large
    to apply: then no step is taken, ``steps`` = 0 and the one history record, at step 0, measures the
    initial network); ``seconds``: wall time of the training loop
    (without the learning-curve records);
    ``final_lr``: the learning rate the schedule had reached (0.1 x lr x lr_scale after a full run)."""

    test_error: float
    train_loss: float
    epochs: int
    steps: int
    seconds: float
    stop_reason: str
    final_lr: float
    model: torch.nn.Module
    test_loss: float | None = None  # mean test cross-entropy (nats)
    history: list[HistoryRecord] = field(default_factory=list)  # learning curve, the last record at ``steps``


def train(grammar: Grammar | SparseRHM, train, test, config: TrainConfig, callbacks=()) -> TrainResult:
    """Train ``config.model`` on ``train = (x, y)`` and measure its error on ``test = (x, y)``.

    x: int tokens (P, d) in range(v), y: labels (P,) in range(n_c) (numpy arrays, as from
    ``grammar.sample_train_test``). Deterministic on CPU for a given ``config.seed``. ``grammar`` may
    be a SparseRHM: tokens in range(v+1), hierarchical nets with patch = s(s0+1).
    ``config.task == "next-token"``: the labels y are ignored; see the module docstring.
    ``callbacks``: callables each given every HistoryRecord as it is taken (rhm_theory.learning.history:
    log-spaced steps, ``config.history_per_decade`` per decade, and the last step); the result's
    ``history`` lists them all.
    """
    config.validate()
    device = check_device(config.device)
    x_train, y_train = task_data(grammar, data_to_device(grammar, train, "train", device), config.task)
    x_test, y_test = task_data(grammar, data_to_device(grammar, test, "test", device), config.task)
    model, order_generator = initial_state(grammar, config)
    model = model.to(device)
    total_steps = schedule_length(x_train.shape[0], config)
    optimizer, schedule = make_optimizer(model.parameters(), config, model.lr_scale, total_steps)
    record_at = set(history_steps(total_steps, config.history_per_decade))
    history, v_in, recording_seconds = [], channels(grammar, config.task), 0.0

    def record(step: int, epoch: int, loss: float) -> None:
        nonlocal recording_seconds
        begin = time.perf_counter()
        history.append(HistoryRecord(step, epoch, loss, *evaluate(model, x_test, y_test, v_in)))
        for callback in callbacks:
            callback(history[-1])
        recording_seconds += time.perf_counter() - begin

    selection = _Selection(x_test, y_test, v_in, total_steps) if config.select == "best" else None
    start = time.perf_counter()
    steps, epochs, train_loss, stop_reason = 0, 0, math.inf, "max_epochs"
    if update_overflows(optimizer):  # diverged before the first step: the weights would become infinite
        selection, train_loss, stop_reason = None, math.nan, "diverged"
    model.train()
    with tqdm(total=config.max_epochs, desc="epochs", disable=not config.progress) as bar:
        while epochs < config.max_epochs and stop_reason != "diverged":
            loss_sum = torch.zeros((), device=device)
            seen = 0
            for inputs, labels in batches(
                x_train, y_train, config.batch_size, v=v_in, s=grammar.s, generator=order_generator, device=device
            ):
                loss = train_step(model, optimizer, schedule, inputs, labels)
                steps += 1
                loss_sum += loss * labels.numel()
                seen += labels.numel()
                if steps in record_at:
                    record(steps, epochs + 1, (loss_sum / seen).item())
                if steps == total_steps:
                    break
            epochs += 1
            train_loss = (loss_sum / seen).item() if seen else train_loss
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.2e}")
            reason = early_stop(train_loss, steps, config)
            if selection is not None:
                begin = time.perf_counter()
                selection.checkpoint(model, steps, last=reason is not None or epochs == config.max_epochs)
                recording_seconds += time.perf_counter() - begin
            if reason is not None:
                stop_reason = reason
                break
    seconds = time.perf_counter() - start - recording_seconds  # training only
    if not history or history[-1].step != steps:
        record(steps, epochs, train_loss)
    test_error, test_loss = (history[-1].test_error, history[-1].test_loss) if selection is None else selection.best
    return TrainResult(
        test_error=test_error,
        test_loss=test_loss,
        history=history,
        train_loss=train_loss,
        epochs=epochs,
        steps=steps,
        seconds=seconds,
        stop_reason=stop_reason,
        final_lr=optimizer.param_groups[0]["lr"],
        model=model,
    )


class _Selection:
    """Checkpoints of ``select = "best"``: at most EVAL_POINTS evenly spaced in steps (and the last),
    each scored by the cross-entropy on the first half of the test set; ``best`` = (test error,
    cross-entropy) of the best checkpoint on the second half."""

    def __init__(self, x_test: torch.Tensor, y_test: torch.Tensor, v: int, total_steps: int):
        half = x_test.shape[0] // 2
        if half == 0:
            raise ValueError("select 'best' needs at least 2 test data (half choose the checkpoint, half measure it)")
        self.choose, self.measure, self.v = (x_test[:half], y_test[:half]), (x_test[half:], y_test[half:]), v
        self.every, self.next = max(1, total_steps // EVAL_POINTS), 0
        self.score, self.best = math.inf, (math.nan, math.nan)

    def checkpoint(self, model: torch.nn.Module, steps: int, last: bool) -> None:
        if steps < self.next and not last:
            return
        self.next = steps + self.every
        score = evaluate(model, *self.choose, self.v)[1]
        if score < self.score or math.isnan(self.best[0]):
            self.score = score
            self.best = evaluate(model, *self.measure, self.v)


def train_step(model: torch.nn.Module, optimizer, schedule, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """One SGD step on a batch (inputs (B, v, d) one-hot, labels (B,)): cross-entropy, backward,
    optimizer and schedule step. Returns the batch's mean loss (detached scalar tensor)."""
    loss = F.cross_entropy(model(inputs), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    schedule.step()
    return loss.detach()


def check_device(name: str) -> torch.device:
    """The torch device ``name`` if this machine can use it, else ValueError saying why."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {name!r} is not a torch device name (e.g. cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} is not available: this torch build has no CUDA support or sees no GPU")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} is not available: only {torch.cuda.device_count()} GPU(s) are visible")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} is not available on this machine")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {name!r}: only cpu, cuda[:N] and mps devices are supported")
    return device


def initial_state(grammar: Grammar, config: TrainConfig) -> tuple[RHMNet, torch.Generator]:
    """The freshly initialised network (on CPU) and the batch-order generator of a run, both derived
    from ``config.seed`` by numpy's SeedSequence."""
    init_seed, order_seed = np.random.SeedSequence(config.seed).generate_state(2)
    model = build_model(
        config.model,
        v=channels(grammar, config.task),
        n_c=grammar.v if config.task == "next-token" else grammar.n_c,
        s=grammar.s,
        L=grammar.L,
        patch=getattr(grammar, "patch", grammar.s),
        width=config.width,
        parametrization=config.parametrization,
        seed=int(init_seed),
    )
    return model, torch_generator(int(order_seed))


def schedule_length(n_train: int, config: TrainConfig) -> int:
    """Number of SGD steps the cosine schedule spans: max_epochs x ceil(P / batch), capped by max_steps."""
    total = config.max_epochs * math.ceil(n_train / config.batch_size)
    return total if config.max_steps is None else min(total, config.max_steps)


def make_optimizer(parameters, config: TrainConfig, lr_scale: float, total_steps: int):
    """(optimizer, schedule): SGD at lr x lr_scale with momentum, or Adam at lr, annealed by a cosine
    to 0.1 x its initial rate over ``total_steps`` steps."""
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(parameters, lr=config.lr * lr_scale, momentum=config.momentum)
    else:
        optimizer = torch.optim.Adam(parameters, lr=config.lr)
    base_lr = optimizer.param_groups[0]["lr"]
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0.1 * base_lr)


def update_overflows(optimizer) -> bool:
    """Whether the optimizer's largest step factor (SGD: lr; Adam: lr / (1 - beta1) at its first step; the
    cosine schedule only lowers it) exceeds the largest float of a parameter: torch cannot apply such a
    step, and it would make the weights infinite, so the run has diverged before its first step."""
    group = optimizer.param_groups[0]
    factor = group["lr"] / (1 - group["betas"][0]) if "betas" in group else group["lr"]
    return any(factor > torch.finfo(p.dtype).max for g in optimizer.param_groups for p in g["params"])


def early_stop(train_loss: float, steps: int, config: TrainConfig) -> str | None:
    """Why a run stops after an epoch with mean loss ``train_loss`` and ``steps`` steps in all
    ("diverged" when the loss is NaN or infinite, "loss_threshold" or "max_steps"), or None if it
    goes on (up to max_epochs)."""
    if not math.isfinite(train_loss):
        return "diverged"
    if train_loss < config.loss_threshold:
        return "loss_threshold"
    if config.max_steps is not None and steps == config.max_steps:
        return "max_steps"
    return None


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, v: int) -> tuple[float, float]:
    """(misclassified fraction, mean cross-entropy in nats) of the model on tokens x (P, d), labels y
    (P,), on the model's device; ``v``: one-hot channels."""
    was_training = model.training
    model.eval()
    wrong, loss = 0, 0.0
    for first in range(0, x.shape[0], EVAL_BATCH_SIZE):
        logits = model(one_hot(x[first : first + EVAL_BATCH_SIZE], v))
        labels = y[first : first + EVAL_BATCH_SIZE]
        wrong += (logits.argmax(dim=1) != labels).sum().item()
        loss += F.cross_entropy(logits.double(), labels, reduction="sum").item()
    model.train(was_training)
    return wrong / x.shape[0], loss / x.shape[0]


def channels(grammar, task: str = "class") -> int:
    """One-hot channels of the input: v, or v + 1 (the empty token of a SparseRHM, or the mask token
    of the next-token task)."""
    if task == "next-token" and isinstance(grammar, SparseRHM):
        raise ValueError("task 'next-token' is defined on the RHM only, not on the sparse RHM")
    return grammar.v + 1 if isinstance(grammar, SparseRHM) or task == "next-token" else grammar.v


def task_data(
    grammar: Grammar, data: tuple[torch.Tensor, torch.Tensor], task: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and labels of ``task``: (x, y) for "class"; (x with x_d replaced by the mask token v,
    x_d) for "next-token"."""
    x, y = data
    if task == "class":
        return x, y
    channels(grammar, task)
    masked = x.clone()
    masked[:, -1] = grammar.v
    return masked, x[:, -1].clone()


def data_to_device(grammar: Grammar, data, name: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated (tokens (P, d), labels (P,)) int64 tensors on ``device``; P >= 1."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (x, y) of tokens and labels, got {type(data).__name__}")
    x, y = (np.asarray(a) for a in data)
    if x.ndim != 2 or x.shape[1] != grammar.d or y.shape != (x.shape[0],):
        raise ValueError(
            f"{name} must be x of shape (P, d={grammar.d}) and y of shape (P,), got {x.shape} and {y.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} set is empty: need at least one datum")
    x = grammar.check_tokens(x, f"{name} tokens")
    y = check_symbols(f"{name} labels", y, grammar.n_c, f"n_c={grammar.n_c}")
    return torch.as_tensor(x, dtype=torch.int64, device=device), torch.as_tensor(y, dtype=torch.int64, device=device)
