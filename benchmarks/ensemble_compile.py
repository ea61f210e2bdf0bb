"""Benchmark: torch.compile (inductor, CPU) of the ensemble's training step (rhm_theory.learning.ensemble), for
the target of benchmarks/training.py, ensemble >= 4x the samples/s of one-at-a-time runs at width 64. Its setting:
(v=8, n_c=8, m=4, s=2, L=3), batch 128, mean-field CNN, SGD, K = 16 members, one CPU thread.

Per width, medians over interleaved repeats of bare steps on batches sliced (and one-hot encoded) beforehand:
samples/s of train_ensemble's step (StackedNet.forward_tokens, cross-entropy, backward, SGD, schedule) eager
and compiled: "fwd" compiles forward + loss (AOTAutograd compiles the backward) in mode "default" or
"max-autotune-no-cudagraphs" ("autotune"); "whole" compiles forward, backward and optimizer update in one
function (dynamo breaks the graph at backward(); the learning rate is a 0-d tensor, so that the schedule does not
recompile); the same for one-at-a-time steps (training.train_step), eager and compiled; each one's ratio to the
single eager and to the fastest compiled single; the compile time (the first two steps' wall time: the second
compiles the optimizer with momentum buffers; inductor's caches off, a fresh cache directory), which the
throughput excludes; max |parameter - eager parameter| (float32) after --check-steps steps from the same state.
"+relu": compiled without inductor's decomposition of ReLU's backward, which computes and saves a bool mask in
the forward (bool loads and stores are slow in this CPU build: see the "bool check" line); the backward then
reads the saved ReLU output, as eager does. Last, the batched matmuls' time in the fastest compiled ensemble step.
Usage: python benchmarks/ensemble_compile.py [--repeats 5] [--members 16] [--widths 64 256] [--check-steps 50]
"""

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import timeit

import torch
import torch._functorch.config
import torch._inductor.config
from torch._inductor.decomposition import select_decomp_table
from torch.nn import functional as F

from rhm_theory import Grammar
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.ensemble import StackedNet
from rhm_theory.learning.training import data_to_device, initial_state, make_optimizer, train_step

PARAMS = (8, 8, 4, 2, 3)  # (v, n_c, m, s, L)
P_TRAIN, BATCH, SCHEDULE = 4096, 128, 10_000  # SCHEDULE: the cosine schedule's length in steps
AUTOTUNE = "max-autotune-no-cudagraphs"


def settings(width: int, seed: int) -> TrainConfig:
    return TrainConfig(width=width, batch_size=BATCH, max_steps=SCHEDULE, seed=seed, history_per_decade=0)


@contextlib.contextmanager
def relu_output_saved(active: bool):
    """Compile without inductor's decomposition of threshold_backward (restored on exit)."""
    table, op = select_decomp_table(), torch.ops.aten.threshold_backward.default
    saved = table.pop(op) if active else None
    try:
        yield
    finally:
        if saved is not None:
            table[op] = saved


class Variant:
    """One way of stepping: its own copy of the initial state, a step function and the batches it cycles over."""

    def __init__(self, name, samples, step, parameters, batches, relu=False):
        self.name, self.samples, self.step, self.parameters, self.batches = name, samples, step, parameters, batches
        self.done, self.rates = 0, []
        with relu_output_saved(relu):
            self.compile_seconds = self.run(2)

    def run(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step(*self.batches[self.done % len(self.batches)])
            self.done += 1
        return time.perf_counter() - start


def ensemble(name, grammar, x, y, width, members, mode=None, whole=False, relu=False) -> Variant:
    """train_ensemble's step on K members (seeds 0..K-1), each on its own batch order."""
    states = [initial_state(grammar, settings(width, seed)) for seed in range(members)]
    net = StackedNet([model for model, _ in states])
    optimizer, schedule = make_optimizer(net.parameters(), settings(width, 0), states[0][0].lr_scale, SCHEDULE)
    orders = torch.stack([torch.randperm(x.shape[0], generator=generator) for _, generator in states])
    tokens, labels = x[orders], y[orders]  # (K, P, d), (K, P)
    batches = [(tokens[:, i : i + BATCH], labels[:, i : i + BATCH]) for i in range(0, x.shape[0], BATCH)]

    def losses(t, l):
        return F.cross_entropy(net.forward_tokens(t).transpose(1, 2), l, reduction="none").mean(dim=1)

    forward = torch.compile(losses, mode=mode, isolate_recompiles=True) if mode and not whole else losses

    def update(t, l):
        batch_losses = forward(t, l)
        optimizer.zero_grad(set_to_none=True)
        batch_losses.sum().backward()
        optimizer.step()
        return batch_losses.detach()

    if whole:
        group = optimizer.param_groups[0]
        group["lr"] = torch.tensor(group["lr"], dtype=torch.float64)
        update = torch.compile(update, mode=mode, isolate_recompiles=True)

    def step(t, l):
        update(t, l)
        schedule.step()

    return Variant(name, members * BATCH, step, list(net.parameters()), batches, relu)


def single(name, grammar, x, y, width, mode=None, relu=False) -> Variant:
    """train()'s step (training.train_step) on one network (seed 0) and one-hot batches."""
    model, generator = initial_state(grammar, settings(width, 0))
    optimizer, schedule = make_optimizer(model.parameters(), settings(width, 0), model.lr_scale, SCHEDULE)
    order = torch.randperm(x.shape[0], generator=generator)
    batches = [(one_hot(x[i], grammar.v), y[i]) for i in order.split(BATCH)]
    net = torch.compile(model, mode=mode, isolate_recompiles=True) if mode else model
    return Variant(
        name, BATCH, lambda i, l: train_step(net, optimizer, schedule, i, l), list(model.parameters()), batches, relu
    )


def compare(width, grammar, x, y, args) -> None:
    """Section of one width: build every variant, check its parameters, then time them interleaved."""
    K = args.members
    variants = [
        ensemble("ensemble eager", grammar, x, y, width, K),
        ensemble("ensemble fwd default", grammar, x, y, width, K, "default"),
        ensemble("ensemble fwd default +relu", grammar, x, y, width, K, "default", relu=True),
        ensemble("ensemble fwd autotune +relu", grammar, x, y, width, K, AUTOTUNE, relu=True),
        ensemble("ensemble whole default +relu", grammar, x, y, width, K, "default", whole=True, relu=True),
        single("single eager", grammar, x, y, width),
        single("single default", grammar, x, y, width, "default"),
        single("single default +relu", grammar, x, y, width, "default", relu=True),
    ]
    for v in variants:  # the same steps on the same batches from the same initial state as the eager variant
        v.run(args.check_steps - v.done)
        reference = variants[0 if v.samples > BATCH else 5].parameters
        v.error = max((p - q).abs().max().item() for p, q in zip(v.parameters, reference))
    largest = max(p.abs().max().item() for p in variants[0].parameters)
    member = max((p[0] - q).abs().max().item() for p, q in zip(variants[0].parameters, variants[5].parameters))
    steps = max(8, 4096 // width)  # ensemble steps per measurement; single runs take K x as many: same samples
    for _ in range(args.repeats):  # interleaved: all variants see the same machine load
        for v in variants:
            n = steps * (1 if v.samples > BATCH else K)
            v.rates.append(n * v.samples / v.run(n))
    rate = {v.name: statistics.median(v.rates) for v in variants}
    eager, compiled = rate["single eager"], max(rate[v.name] for v in variants[6:])
    print(f"\n== width {width}, K = {K}: medians of {args.repeats} (ensemble {steps} steps, single {steps * K})")
    print(
        f"{'variant':<29} {'samples/s':>9} {'/single eager':>13} {'/single compiled':>16} {'compile s':>9} {'max|dp|':>8}"
    )
    for v in variants:
        compile_time = "-" if "eager" in v.name else f"{v.compile_seconds:.1f}"
        print(
            f"{v.name:<29} {rate[v.name]:>9,.0f} {rate[v.name] / eager:>12.2f}x {rate[v.name] / compiled:>15.2f}x "
            f"{compile_time:>9} {v.error:>8.1e}"
        )
    best = max(variants[1:5], key=lambda v: rate[v.name])
    with torch.profiler.profile() as profile:
        best.run(10)
    matmul = sum(e.self_cpu_time_total for e in profile.key_averages() if e.key in ("aten::bmm", "aten::mm")) / 1e7
    print(
        f"max |p| of the eager ensemble {largest:.2f}; max|dp| of its member 0 against the eager single run (same "
        f"seed, same batches; the library's own rounding difference) {member:.1e}"
    )
    print(
        f"fastest compiled ensemble, {best.name}: {1e3 * best.samples / rate[best.name]:.2f} ms a step, batched "
        f"matmuls {1e3 * matmul:.2f} ms of it (profiled); were the rest free: {best.samples / matmul / eager:.1f}x "
        "the single eager run"
    )
    print(
        f"width {width}: ensemble / single eager: eager {rate['ensemble eager'] / eager:.2f}x, "
        f"best compiled {rate[best.name] / eager:.2f}x [target >= 4x at width <= 64]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--members", type=int, default=16, help="ensemble size K (default: %(default)s)")
    parser.add_argument("--widths", type=int, nargs="+", default=(64, 256))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--check-steps", type=int, default=50, help="steps before the parameter comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, cpu, {args.threads} thread(s); load average at start {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        torch._inductor.config.fx_graph_cache = False
        torch._functorch.config.enable_autograd_cache = False
        a = torch.randn(4096, 64)
        start = time.perf_counter()
        torch.compile(lambda t: torch.relu(t) * 2)(a)
        print(f"first compile of the process (relu(x) * 2): {time.perf_counter() - start:.1f} s")
        relu, mask = (min(timeit.repeat(f, number=20, repeat=5)) / 20 for f in (lambda: torch.relu(a), lambda: a > 0))
        print(f"bool check (4096 x 64, eager): relu(x) {1e6 * relu:.0f} us, x > 0 {1e6 * mask:.0f} us")
        grammar = Grammar.random(*PARAMS, seed=0)
        train_set, _ = grammar.sample_train_test(P_TRAIN, 512, seed=0)
        x, y = data_to_device(grammar, train_set, "train", torch.device("cpu"))
        for width in args.widths:
            compare(width, grammar, x, y, args)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
