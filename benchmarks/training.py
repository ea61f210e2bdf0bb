"""Training benchmark: throughput of the hierarchical CNN on (v=8, n_c=8, m=4, s=2, L=3), batch 128,
mean field, SGD, P = 4096 = 8 n_c m^L training data, on CPU with one thread (and CUDA when present).

Prints, as medians over interleaved repeats:
  1. the measured matmul peak: a 2048 x 2048 float32 matmul (GFLOP/s);
  2. at width 256, train()'s samples/s, the bare SGD steps on batches encoded beforehand, and the share
     of train()'s time spent outside forward/backward (target < 10%);
  3. for widths 32..512, samples/s and the fraction of the matmul peak for one run at a time
     (``train``) and for an ensemble of K runs at once (``train_ensemble``), and their ratio.
     The matmul FLOPs of a training step are counted from the network's shapes (forward, weight
     gradients, input gradients of every layer but the first). Targets: ensemble >= 4x single-run
     throughput at width <= 64; ensemble >= 50% of peak at width >= 128. These are the FLOPs of the
     network as train() computes it: the ensemble's CNN takes its first two layers from a table of
     the v**s patch codes (rhm_theory.learning.ensemble), about half the FLOPs here, so its "% peak"
     is an effective rate and may exceed 100%.
  4. the ceiling at width 64 of the direct route: samples/s of an ensemble step of the network as
     train() computes it, reduced to its batched matmuls alone.
The last line reads ``ensemble speed-up at width 64: <R>x`` (R = median ensemble samples/s over median
single-run samples/s). The load average is printed: the figures are only comparable within one run.
Usage: python benchmarks/training.py [--repeats 5] [--members 16] [--threads 1] [--device all|cpu|cuda]
"""

import argparse
import os
import statistics
import time

import torch

from rhm_theory import Grammar
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.ensemble import train_ensemble
from rhm_theory.learning.training import (
    data_to_device,
    initial_state,
    make_optimizer,
    schedule_length,
    train,
    train_step,
)

PARAMS = (8, 8, 4, 2, 3)  # (v, n_c, m, s, L)
P_TRAIN, P_TEST = 4096, 512  # P_TRAIN = 8 n_c m^L
BATCH = 128
WIDTHS = (32, 64, 128, 256, 512)
PEAK_SIZE = 2048
CPU_TARGET = " (a target set for the CPU)"


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(device: str, repeats: int) -> float:
    """Median FLOP/s of a PEAK_SIZE x PEAK_SIZE float32 matmul."""
    a = torch.randn(PEAK_SIZE, PEAK_SIZE, device=device)
    a @ a
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ a
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * PEAK_SIZE**3 / statistics.median(times)


def cnn_step_flops_per_sample(v: int, n_c: int, s: int, L: int, width: int) -> int:
    """Matmul FLOPs of one SGD step per sample for the CNN: layer k (k = 1..L) is a (s*channels) x width
    matmul at s**(L-k) patches, the readout width x n_c; forward + weight gradient for every layer, plus
    the input gradient for every layer but the first (the one-hot input needs none)."""
    forward = [2 * s ** (L - k) * s * (v if k == 1 else width) * width for k in range(1, L + 1)] + [2 * width * n_c]
    return 3 * sum(forward) - forward[0]


def cnn_matmul_shapes(v: int, n_c: int, s: int, L: int, width: int, batch: int) -> list[tuple[int, int, int, bool]]:
    """(rows, fan_in, fan_out, input gradient needed) of every layer's matmul in one CNN step on ``batch``
    samples: layer k has batch * s**(L-k) rows, the readout batch rows."""
    shapes = [(batch * s ** (L - k), s * (v if k == 1 else width), width, k > 1) for k in range(1, L + 1)]
    return [*shapes, (batch, width, n_c, True)]


def ensemble_matmul_ceiling(v, n_c, s, L, width, members, device, repeats) -> float:
    """Samples/s of an ensemble step if it were nothing but its batched matmuls (torch.bmm on random
    tensors of the step's shapes: forward, weight gradient, input gradient but for the first layer):
    the most any implementation built on torch.bmm can reach on this machine."""
    products = []
    for rows, fan_in, fan_out, input_gradient in cnn_matmul_shapes(v, n_c, s, L, width, BATCH):
        h, w, g = (
            torch.randn(members, *shape, device=device)
            for shape in ((rows, fan_in), (fan_in, fan_out), (rows, fan_out))
        )
        products += [(h, w), (h.transpose(1, 2), g)] + ([(g, w.transpose(1, 2))] if input_gradient else [])
    times = []
    for _ in range(repeats + 1):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        for _ in range(8):
            for a, b in products:
                torch.bmm(a, b)
        synchronize(device)
        times.append((time.perf_counter() - start) / 8)
    return members * BATCH / statistics.median(times[1:])


def single_run(grammar, train_set, test_set, config) -> float:
    """Samples/s of one train() run (its loop time: test evaluation excluded)."""
    result = train(grammar, train_set, test_set, config)
    if result.stop_reason != "max_steps":
        raise RuntimeError(f"benchmark run stopped early ({result.stop_reason})")
    return result.steps * config.batch_size / result.seconds


def ensemble_run(grammar, train_set, test_set, config, members: int) -> float:
    """Samples/s of an ensemble of ``members`` runs (all members' samples over the ensemble's loop time)."""
    results = train_ensemble(grammar, [train_set] * members, [test_set] * members, config, list(range(members)))
    if any(r.stop_reason != "max_steps" for r in results):
        raise RuntimeError("benchmark ensemble stopped early")
    return sum(r.steps for r in results) * config.batch_size / max(r.seconds for r in results)


def seconds_of_steps(grammar, train_set, config: TrainConfig, steps: int) -> float:
    """Wall time of ``steps`` bare SGD steps (rhm_theory.learning.training.train_step: forward, loss,
    backward, optimizer and schedule step) on batches encoded beforehand."""
    device = torch.device(config.device)
    model, _ = initial_state(grammar, config)
    model = model.to(device)
    x, y = data_to_device(grammar, train_set, "train", device)
    optimizer, schedule = make_optimizer(
        model.parameters(), config, model.lr_scale, schedule_length(x.shape[0], config)
    )
    batches = [
        (one_hot(x[i : i + config.batch_size], grammar.v), y[i : i + config.batch_size])
        for i in range(0, x.shape[0], config.batch_size)
    ]
    synchronize(config.device)
    start = time.perf_counter()
    for step in range(steps):
        train_step(model, optimizer, schedule, *batches[step % len(batches)])
    synchronize(config.device)
    return time.perf_counter() - start


def overhead(grammar, train_set, test_set, device: str, repeats: int) -> None:
    """Section 2: share of train()'s time outside forward/backward at width 256."""
    steps = 96
    config = TrainConfig(
        width=256, batch_size=BATCH, max_steps=steps, loss_threshold=1e-12, device=device, seed=0, history_per_decade=0
    )
    single_run(grammar, train_set, test_set, config)  # warm-up
    loops, bares = [], []
    for _ in range(repeats):  # interleaved, so that both see the same machine load
        loops.append(steps * BATCH / single_run(grammar, train_set, test_set, config))
        bares.append(seconds_of_steps(grammar, train_set, config, steps))
    loop, bare = statistics.median(loops), statistics.median(bares)
    outside = 1 - bare / loop
    print(
        f"width 256: train() {steps * BATCH / loop:,.0f} samples/s; forward/backward alone "
        f"{steps * BATCH / bare:,.0f} samples/s; time outside forward/backward {100 * outside:.1f}% "
        f"[{'target met' if outside < 0.10 else 'TARGET MISSED'}: < 10%{CPU_TARGET if device != 'cpu' else ''}]"
    )


def throughput_table(grammar, train_set, test_set, device, repeats, members, peak, widths) -> dict:
    """Section 3; returns {width: (single, ensemble) samples/s}."""
    v, n_c, _, s, L = PARAMS
    print(
        f"{'width':>5}  {'single samples/s':>16}  {'% peak':>6}  {'ensemble samples/s':>18}  {'% peak':>6}  {'ratio':>5}"
    )
    rates = {}
    for width in widths:
        steps = max(16, 64 * 256 // width)  # about the same FLOPs at every width
        # learning curves off (history_per_decade=0): a record evaluates each member on the test set, a
        # cost that does not depend on how the members are trained and would dominate these short runs
        single_config = TrainConfig(
            width=width,
            batch_size=BATCH,
            max_steps=steps,
            loss_threshold=1e-12,
            device=device,
            seed=0,
            history_per_decade=0,
        )
        ensemble_config = TrainConfig(
            width=width,
            batch_size=BATCH,
            max_steps=max(4, 4 * steps // members),
            loss_threshold=1e-12,
            device=device,
            seed=0,
            history_per_decade=0,
        )
        single_run(grammar, train_set, test_set, single_config)  # warm-up
        ensemble_run(grammar, train_set, test_set, ensemble_config, members)
        singles, ensembles = [], []
        for _ in range(repeats):
            singles.append(single_run(grammar, train_set, test_set, single_config))
            ensembles.append(ensemble_run(grammar, train_set, test_set, ensemble_config, members))
        single, ensemble = statistics.median(singles), statistics.median(ensembles)
        flops = cnn_step_flops_per_sample(v, n_c, s, L, width)
        rates[width] = single, ensemble
        print(
            f"{width:>5}  {single:>16,.0f}  {100 * single * flops / peak:>5.0f}%  {ensemble:>18,.0f}  "
            f"{100 * ensemble * flops / peak:>5.0f}%  {ensemble / single:>4.1f}x"
        )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--members", type=int, default=16, help="ensemble size K (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--widths", type=int, nargs="+", default=WIDTHS, help="table widths (default: %(default)s)")
    parser.add_argument(
        "--device",
        choices=("all", "cpu", "cuda"),
        default="all",
        help="all: CUDA when present, then the CPU (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch build sees no GPU")
    torch.set_num_threads(args.threads)

    grammar = Grammar.random(*PARAMS, seed=0)
    train_set, test_set = grammar.sample_train_test(P_TRAIN, P_TEST, seed=0)
    widths = sorted(set(args.widths) | {64})
    devices = (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]  # CPU last: its speed-up is the last line
    devices = devices if args.device == "all" else [args.device]
    for device in devices:
        label = torch.cuda.get_device_name() if device == "cuda" else f"cpu, {args.threads} thread(s)"
        print(f"== {device} ({label}); load average at start {os.getloadavg()[0]:.2f}; medians of {args.repeats}")
        peak = matmul_peak(device, args.repeats)
        print(f"matmul peak ({PEAK_SIZE} x {PEAK_SIZE} float32): {peak / 1e9:.1f} GFLOP/s")
        overhead(grammar, train_set, test_set, device, args.repeats)
        print(f"single = train(), one run at a time; ensemble = train_ensemble() with K = {args.members} members")
        rates = throughput_table(grammar, train_set, test_set, device, args.repeats, args.members, peak, widths)
        print(
            f"matmul peak again: {matmul_peak(device, args.repeats) / 1e9:.1f} GFLOP/s; "
            f"load average at end {os.getloadavg()[0]:.2f}"
        )
        v, n_c, _, s, L = PARAMS
        small = [w for w in widths if w <= 64]
        ratios = ", ".join(f"{w}: {rates[w][1] / rates[w][0]:.1f}x" for w in small)
        met = all(rates[w][1] >= 4 * rates[w][0] for w in small)
        scope = CPU_TARGET if device != "cpu" else ""
        print(f"target ensemble >= 4x single at width <= 64{scope} ({ratios}): {'met' if met else 'MISSED'}")
        large = [w for w in widths if w >= 128]
        shares = {w: rates[w][1] * cnn_step_flops_per_sample(v, n_c, s, L, w) / peak for w in large}
        listed = ", ".join(f"{w}: {100 * share:.0f}%" for w, share in shares.items())
        met = all(share >= 0.5 for share in shares.values())
        verdict = ("met" if met else "MISSED") if shares else "not measured (no width >= 128 in --widths)"
        print(f"target ensemble >= 50% of peak at width >= 128{scope} ({listed}): {verdict}")
        ceiling = ensemble_matmul_ceiling(v, n_c, s, L, 64, args.members, device, args.repeats)
        print(
            f"width 64: an ensemble step made of nothing but its batched matmuls would reach {ceiling:,.0f} "
            f"samples/s, {ceiling / rates[64][0]:.1f}x the single run (the ceiling of the one-hot bmm route here; "
            f"the code table does fewer FLOPs)"
        )
        speedup = rates[64][1] / rates[64][0]
    print(f"ensemble speed-up at width 64: {speedup:.1f}x")


if __name__ == "__main__":
    main()
