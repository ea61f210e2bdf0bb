"""Training K independent networks at once, each as rhm_theory.learning.training trains one
(arXiv:2307.02129 §4; docs/theory.md, 'Networks and training protocol'): one stacked model whose
every weight has a leading member axis of size K, so that each layer is one batched matmul
(torch.bmm) over the K members instead of K small matmuls; at small widths this amortises the
per-step overhead of the training loop over K runs. The input is never one-hot encoded for a CNN
whose v**s patch codes are fewer than its second layer's rows: its first layer is then evaluated once
per code, its second layer's matmul once per code and patch position, and each datum sums table rows
(StackedNet.forward_tokens; at v = 8, s = 2, L = 3 this halves the FLOPs of a step). Measured against
the alternatives on one CPU thread (K = 16, batch 128, width 64): a grouped conv1d (groups = K) runs
the step at 0.4x and torch.func.vmap over functional_call at 0.8x the speed of torch.bmm.

Member k of ``train_ensemble(grammars, train_sets, test_sets, config, seeds)`` is the run
``train(grammars[k], train_sets[k], test_sets[k], TrainConfig(**config.settings(), seed=seeds[k]))``
(rhm_theory.learning.training): same initial weights, same batch order, same optimiser and cosine
schedule, same stopping rule, so the same result up to float rounding. The loss of the stacked model
is the sum of the members' mean batch losses, so member k's gradient is that of its own loss; SGD and
Adam act element-wise, so one optimiser over the stacked weights updates each member as its own
would. A member whose epoch loss falls below the threshold leaves the ensemble (its weights and
optimiser state are dropped from the stack), so it is not updated again and costs nothing more.

Supported models: "cnn", "lcn", "fcn", "deep_fcn" (the transformer trains with ``train`` only).
"""

from __future__ import annotations

import functools
import math
import time
from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.learning.config import TrainConfig, TrainSettings
from rhm_theory.learning.history import HistoryRecord, history_steps
from rhm_theory.learning.models import FullyConnectedNet, HierarchicalNet, RHMNet, check_model_size
from rhm_theory.learning.training import (
    EVAL_BATCH_SIZE,
    TrainResult,
    channels,
    data_to_device,
    early_stop,
    evaluate,
    initial_state,
    make_optimizer,
    schedule_length,
    update_overflows,
)

ENSEMBLE_MODELS = ("cnn", "lcn", "fcn", "deep_fcn")


class StackedNet(nn.Module):
    """K networks of one architecture (HierarchicalNet or FullyConnectedNet) as one module.

    ``weights[i]`` is the stack ``(K, *shape)`` of the members' i-th parameter, in ``parameters()`` order
    of the members; ``forward`` maps one-hot input (K, B, v, d) to logits (K, B, n_c), member k's
    logits being those of ``models[k]`` on input k; ``forward_tokens`` does the same from the tokens
    (K, B, d), for a CNN through a table of its first layer when that is cheaper (``tabulates``).
    """

    def __init__(self, models: Sequence[RHMNet]):
        super().__init__()
        template = models[0]
        if not isinstance(template, (HierarchicalNet, FullyConnectedNet)):
            raise ValueError(f"StackedNet stacks hierarchical or fully-connected nets, got {type(template).__name__}")
        self.hierarchical = isinstance(template, HierarchicalNet)
        self.s = template.s if self.hierarchical else None
        linears = [*template.layers, template.readout]
        self.scales = [layer.scale for layer in linears]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([p.detach() for p in member]))
            for member in zip(*(model.parameters() for model in models))
        )
        self.channels = template.layers[0].weight.shape[-2] // self.s if self.hierarchical else None  # v

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (A, B, n_c) of the members with stack indices ``members`` (all K when None) on
        their one-hot inputs x (A, B, v, d)."""
        *hidden, readout = self._layers(members)
        if self.hierarchical:
            h = self._patch_layers(x.transpose(2, 3), hidden)  # (A, B, d, v): a patch is s consecutive rows
        else:
            h = x.flatten(2)
            for weight, scale in hidden:
                h = F.relu(_scaled(torch.bmm, h, weight, scale, h.shape[1]), inplace=True)
        return _readout(h, *readout)

    def forward_tokens(self, tokens: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """``forward(one_hot_stack(tokens, v), members)`` for tokens (A, B, d) in range(v), the
        first two layers of a CNN computed by ``_second_layer_by_table`` when ``tabulates``."""
        if not self.tabulates(tokens.shape[1] * tokens.shape[2]):
            v = self.channels or self.weights[0].shape[1] // tokens.shape[2]  # a FCN's fan-in is v d
            return self.forward(one_hot_stack(tokens, v), members)
        first, second, *hidden, readout = self._layers(members)
        h = _second_layer_by_table(tokens, first, second, self.s, self.channels)
        return _readout(self._patch_layers(h, hidden), *readout)

    def tabulates(self, positions: int) -> bool:
        """Whether ``forward_tokens`` on a batch of ``positions`` = B d input positions per member takes
        the table route: a CNN with >= 2 hidden layers whose v**s patch codes are fewer than the rows
        B d / s**2 of its second layer's matmul (the table's matmuls then cost less than the direct ones)."""
        convolutional = self.hierarchical and self.weights[0].dim() == 3
        return convolutional and len(self.weights) >= 3 and self.channels**self.s < positions // self.s**2

    def _layers(self, members: torch.Tensor | None) -> list[tuple[torch.Tensor, float]]:
        """(stacked weight, scale) of every layer, restricted to the stack indices ``members``."""
        weights = self.weights if members is None else [weight[members] for weight in self.weights]
        return list(zip(weights, self.scales))

    def _patch_layers(self, h: torch.Tensor, layers) -> torch.Tensor:
        """Hierarchical layers (filter = stride = s, ReLU) on h (A, B, positions, channels) ->
        (A, B, positions / s**len(layers), width)."""
        members, batch = h.shape[:2]
        for weight, scale in layers:
            patches = h.shape[2] // self.s
            h = h.reshape(members, batch, patches, self.s * h.shape[3])
            if weight.dim() == 3:  # CNN: one filter, all patches of a member in one matmul
                h = _scaled(torch.bmm, h.reshape(members, batch * patches, -1), weight, scale, batch * patches)
                h = F.relu(h, inplace=True).reshape(members, batch, patches, -1)
            else:  # LCN: filter p for patch p, i.e. a matmul per (member, patch)
                h = F.relu(_scaled(_per_patch, h, weight, scale, batch), inplace=True)
        return h

    def keep(self, members: torch.Tensor) -> None:
        """Keep only the members with these indices (replaces every stacked parameter)."""
        for i, weight in enumerate(self.weights):
            self.weights[i] = nn.Parameter(weight.detach()[members])

    def copy_member(self, index: int, model: RHMNet) -> RHMNet:
        """Write member ``index``'s weights into ``model`` (same architecture) and return it."""
        with torch.no_grad():
            for target, weight in zip(model.parameters(), self.weights):
                target.copy_(weight[index])
        return model


def train_ensemble(
    grammars: Grammar | SparseRHM | Sequence[Grammar | SparseRHM],
    train_sets: Sequence,
    test_sets: Sequence,
    config: TrainSettings,
    seeds: Sequence[int],
) -> list[TrainResult]:
    """Train K = len(seeds) networks together; result k equals that of
    ``train(grammars[k], train_sets[k], test_sets[k], TrainConfig(**config.settings(), seed=seeds[k]))``.

    grammars: one Grammar (or SparseRHM) for all members, or a list of K with the same network shape
    (input channels, n_c, patch, L).
    train_sets: K pairs (x (P, d) int tokens, y (P,) labels), the same P for all members;
    test_sets: K pairs (any sizes). ``config``: the training settings (a TrainConfig's seed is not
    used: ``seeds`` replace it); result k's
    ``seconds`` is the ensemble's training time until member k stopped (without the learning-curve records, as
    train counts it), and its ``model`` member k's
    network (an ordinary RHMNet).
    """
    configs = [TrainConfig(**config.settings(), seed=seed) for seed in seeds]
    for member_config in configs:
        member_config.validate()
    K = len(configs)
    if K == 0:
        raise ValueError("seeds is empty: an ensemble needs at least one member")
    if config.select != "last":
        raise ValueError(f"select {config.select!r} cannot train as an ensemble: only select 'last' (use train())")
    if config.task != "class":
        raise ValueError(f"task {config.task!r} cannot train as an ensemble: only the class task (use train())")
    if config.model not in ENSEMBLE_MODELS:
        raise ValueError(
            f"model {config.model!r} cannot train as an ensemble: expected one of {', '.join(ENSEMBLE_MODELS)}"
        )
    grammars = list(grammars) if isinstance(grammars, (list, tuple)) else [grammars] * K
    for name, items in (("grammars", grammars), ("train_sets", train_sets), ("test_sets", test_sets)):
        if len(items) != K:
            raise ValueError(f"{name} has {len(items)} entries but there are {K} seeds: need one per member")
    shapes = [(channels(g), g.n_c, getattr(g, "patch", g.s), g.L) for g in grammars]
    for shape in shapes:
        if shape != shapes[0]:
            raise ValueError(
                f"grammar (channels, n_c, patch, L) = {shape} differs from {shapes[0]}: "
                "ensemble members need one network shape"
            )
    v, n_c = shapes[0][:2]
    device = torch.device(config.device)
    train_data = [data_to_device(g, data, "train", device) for g, data in zip(grammars, train_sets)]
    test_data = [data_to_device(g, data, "test", device) for g, data in zip(grammars, test_sets)]
    sizes = {x.shape[0] for x, _ in train_data}
    if len(sizes) != 1:
        raise ValueError(f"training sets have sizes {sorted(sizes)}: ensemble members need the same P")
    x_train = torch.stack([x for x, _ in train_data])  # (K, P, d)
    y_train = torch.stack([y for _, y in train_data])  # (K, P)
    n_train = x_train.shape[1]

    check_model_size(
        config.model, v=v, n_c=n_c, s=grammars[0].s, L=shapes[0][3], width=config.width, patch=shapes[0][2], members=K
    )
    models, orders = zip(*(initial_state(g, c) for g, c in zip(grammars, configs)))
    models = [model.to(device) for model in models]
    net = StackedNet(models)
    total_steps = schedule_length(n_train, config)
    optimizer, schedule = make_optimizer(net.parameters(), config, models[0].lr_scale, total_steps)
    record_at = set(history_steps(total_steps, config.history_per_decade))
    histories = [[] for _ in range(K)]
    test_sizes = {x.shape[0] for x, _ in test_data}
    stacked_test = (
        (torch.stack([x for x, _ in test_data]), torch.stack([y for _, y in test_data]))
        if len(test_sizes) == 1
        else None
    )

    def record(stack: list[int], members: list[int], step: int, epoch: int, losses: list[float]) -> None:
        """Learning-curve records of ``members`` (stack indices ``stack``), as train takes them: one
        batched evaluation when all test sets have one size, else one member at a time; their time is
        not training time (``recording_seconds``), as in train."""
        nonlocal recording_seconds
        begin = time.perf_counter()
        if stacked_test is None:
            evaluations = [evaluate(net.copy_member(i, models[k]), *test_data[k], v) for i, k in zip(stack, members)]
        else:
            x_test, y_test = stacked_test
            evaluations = evaluate_members(net, torch.tensor(stack, device=device), x_test[members], y_test[members])
        for k, loss, evaluation in zip(members, losses, evaluations):
            histories[k].append(HistoryRecord(step, epoch, loss, *evaluation))
        recording_seconds += time.perf_counter() - begin

    recording_seconds = 0.0
    start = time.perf_counter()
    active = [] if update_overflows(optimizer) else list(range(K))  # member indices still training, in stack order
    results: list[TrainResult | None] = [None] * K
    steps, epochs = 0, 0
    while active:
        A = len(active)
        order = torch.stack([torch.randperm(n_train, generator=orders[k]) for k in active]).to(device)  # (A, P)
        rows = torch.arange(A, device=device)[:, None]
        x_epoch, y_epoch = x_train[rows, order], y_train[rows, order]  # this epoch's batch order
        loss_sum = torch.zeros(A, device=device)
        seen = 0
        for first in range(0, n_train, config.batch_size):
            tokens, labels = (
                x_epoch[:, first : first + config.batch_size],
                y_epoch[:, first : first + config.batch_size],
            )
            batch = labels.shape[1]
            logits = net.forward_tokens(tokens)
            losses = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none").mean(dim=1)
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            schedule.step()
            steps += 1
            loss_sum += losses.detach() * batch
            seen += batch
            if steps in record_at:
                record(list(range(A)), active, steps, epochs + 1, (loss_sum / seen).tolist())
            if steps == total_steps:
                break
        epochs += 1
        train_losses = (loss_sum / seen).tolist()
        seconds = time.perf_counter() - start - recording_seconds
        reasons = [
            early_stop(loss, steps, config) or ("max_epochs" if epochs == config.max_epochs else None)
            for loss in train_losses
        ]
        stopped = [i for i, reason in enumerate(reasons) if reason is not None]
        unrecorded = [i for i in stopped if not histories[active[i]] or histories[active[i]][-1].step != steps]
        if unrecorded:
            record(unrecorded, [active[i] for i in unrecorded], steps, epochs, [train_losses[i] for i in unrecorded])
        for i in stopped:
            k, reason = active[i], reasons[i]
            results[k] = TrainResult(
                test_error=histories[k][-1].test_error,
                test_loss=histories[k][-1].test_loss,
                history=histories[k],
                train_loss=train_losses[i],
                epochs=epochs,
                steps=steps,
                seconds=seconds,
                stop_reason=reason,
                final_lr=optimizer.param_groups[0]["lr"],
                model=net.copy_member(i, models[k]),
            )
        if stopped:
            keep = [i for i in range(A) if i not in stopped]
            active = [active[i] for i in keep]
            if active:
                _drop_members(net, optimizer, torch.tensor(keep, device=device))
                x_train, y_train = x_train[keep], y_train[keep]
    if not results[
        0
    ]:  # the learning rate overflows the weights: every member diverged before its first step (as in train)
        record(list(range(K)), list(range(K)), 0, 0, [math.nan] * K)
        results = [
            TrainResult(
                test_error=histories[k][-1].test_error,
                test_loss=histories[k][-1].test_loss,
                history=histories[k],
                train_loss=math.nan,
                epochs=0,
                steps=0,
                seconds=0.0,
                stop_reason="diverged",
                final_lr=optimizer.param_groups[0]["lr"],
                model=models[k],
            )
            for k in range(K)
        ]
    return results


@torch.no_grad()
def evaluate_members(
    net: StackedNet, stack: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> list[tuple[float, float]]:
    """``evaluate`` (rhm_theory.learning.training) of the members with stack indices ``stack`` (A,) at once:
    tokens x (A, P, d), labels y (A, P) -> A pairs (misclassified fraction, mean cross-entropy in nats)."""
    wrong = torch.zeros(len(stack), dtype=torch.long, device=x.device)
    loss = torch.zeros(len(stack), dtype=torch.float64, device=x.device)
    chunk = max(1, EVAL_BATCH_SIZE // len(stack))  # inputs of the same size as evaluate's
    for first in range(0, x.shape[1], chunk):
        tokens, labels = x[:, first : first + chunk], y[:, first : first + chunk]
        logits = net.forward_tokens(tokens, stack)
        wrong += (logits.argmax(dim=2) != labels).sum(dim=1)
        loss += F.cross_entropy(logits.double().transpose(1, 2), labels, reduction="none").sum(dim=1)
    return [(w / x.shape[1], loss_sum / x.shape[1]) for w, loss_sum in zip(wrong.tolist(), loss.tolist())]


def one_hot_stack(tokens: torch.Tensor, v: int) -> torch.Tensor:
    """Tokens (A, B, d) -> one-hot (A, B, v, d), as StackedNet takes it."""
    return torch.zeros(*tokens.shape, v, device=tokens.device).scatter_(3, tokens[..., None], 1.0).transpose(2, 3)


def _readout(h: torch.Tensor, weight: torch.Tensor, scale: float) -> torch.Tensor:
    """Readout of the last hidden layer h (A, B, ...) -> logits (A, B, n_c)."""
    return _scaled(torch.bmm, h.reshape(*h.shape[:2], -1), weight, scale, h.shape[1])


def _second_layer_by_table(tokens: torch.Tensor, first, second, s: int, v: int) -> torch.Tensor:
    """Hidden layer 2 (A, B, d / s**2, width) of a CNN from tokens (A, B, d), ``first`` and ``second``
    its layers' (stacked weight, scale). Layer 1 sees a patch only through its code
    c = sum_j x_j v**(s-1-j), so it is evaluated once per code (a table (A, v**s, width)); layer 2's
    matmul is applied to the table, once per position j in its patch (A, v**s, s width), and each
    layer-2 patch sums the s rows of its layer-1 patches' codes and positions."""
    (w1, scale1), (w2, scale2) = first, second
    members, batch, d = tokens.shape
    patches = _all_patches(v, s, tokens.device)  # (v**s, s v) one-hot
    codes = len(patches)
    table = F.relu(_scaled(torch.matmul, patches, w1, scale1, codes))  # (A, v**s, width)
    width = table.shape[2]
    by_position = w2.view(members, s, width, -1).transpose(1, 2).reshape(members, width, -1)  # (A, width, s width)
    products = _scaled(torch.bmm, table, by_position, scale2, codes)  # (A, v**s, s width): row c, block j
    code = (tokens.view(members, batch, d // s, s) * _place_values(v, s, tokens.device)).sum(3)  # (A, B, d / s)
    position = torch.arange(d // s, device=tokens.device) % s  # of each layer-1 patch in its layer-2 patch
    rows = (torch.arange(members, device=tokens.device)[:, None, None] * codes + code) * s + position
    h = _RowSums.apply(products.view(members * codes * s, -1), rows.view(-1, s))  # (A B d / s**2, width)
    return F.relu(h).view(members, batch, d // s**2, -1)


class _RowSums(torch.autograd.Function):
    """Sums of table rows: table (R, width), rows (N, s) indices -> out (N, width), out[n] = sum_j
    table[rows[n, j]]. Forward: one fused embedding_bag; backward: an index_add_ per column j
    (embedding_bag's own backward sorts the indices: several times slower on CPU)."""

    @staticmethod
    def forward(ctx, table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(rows.t().contiguous())
        ctx.table_rows = table.shape[0]
        return F.embedding_bag(rows, table, mode="sum")

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (columns,) = ctx.saved_tensors
        grad, table_grad = grad.contiguous(), grad.new_zeros(ctx.table_rows, grad.shape[1])
        for column in columns:
            table_grad.index_add_(0, column, grad)
        return table_grad, None


@functools.cache
def _place_values(v: int, s: int, device: torch.device) -> torch.Tensor:
    """(s,) the place values v**(s-1-j) of the digits x_j of a patch code."""
    return v ** torch.arange(s - 1, -1, -1, device=device)


@functools.cache
def _all_patches(v: int, s: int, device: torch.device) -> torch.Tensor:
    """(v**s, s v) float: row c is the one-hot input patch (s positions of v channels) of code c."""
    digits = torch.arange(v**s, device=device)[:, None] // _place_values(v, s, device) % v  # (v**s, s)
    patches = torch.zeros(v**s, s * v, device=device)
    return patches.scatter_(1, torch.arange(s, device=device) * v + digits, 1.0)


def _scaled(product, h: torch.Tensor, weight: torch.Tensor, scale: float, rows: int) -> torch.Tensor:
    """``product(h, weight) * scale``, where each (fan_in, fan_out) matrix of ``weight`` makes ``rows``
    output rows; the scale multiplies whichever of weights and outputs is smaller (the same result up
    to float rounding)."""
    if weight.shape[-2] <= rows:
        return product(h, weight * scale)
    return product(h, weight) * scale


def _per_patch(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Locally connected layer: h (K, B, patches, fan_in), weight (K, patches, fan_in, fan_out) ->
    (K, B, patches, fan_out)."""
    return torch.einsum("kbpi,kpio->kbpo", h, weight)


def _drop_members(net: StackedNet, optimizer: torch.optim.Optimizer, keep: torch.Tensor) -> None:
    """Restrict the stacked weights and the optimiser's per-weight state (momentum, Adam moments) to the
    members ``keep``; step counters and the learning rate schedule are shared and stay as they are."""
    old = list(net.parameters())
    net.keep(keep)
    new = list(net.parameters())
    state = defaultdict(dict)
    for before, after in zip(old, new):
        state[after] = {
            name: value[keep] if isinstance(value, torch.Tensor) and value.dim() > 0 else value
            for name, value in optimizer.state[before].items()
        }
    optimizer.param_groups[0]["params"] = new
    optimizer.state = state
