"""Training benchmark: throughput of rhm_theory.learning.training.train for the hierarchical CNN at
(v=8, n_c=8, m=4, s=2, L=3), width 256, batch 128, mean field, SGD, on CPU and on CUDA when present.

For each device it prints the median over repeats of
  - train(): training samples per second of the whole loop (batching, encoding, schedule, loss bookkeeping);
  - forward/backward alone: the same number of SGD steps (forward, loss, backward, optimizer step)
    on batches encoded beforehand;
  - the share of train()'s time spent outside forward/backward, 1 - (alone / train()): target < 10%.
Usage: python benchmarks/training.py [--repeats 5] [--epochs 3] [--threads 1]
"""

import argparse
import statistics
import time

import torch
from torch.nn import functional as F

from rhm_theory import Grammar
from rhm_theory.learning.encoding import one_hot
from rhm_theory.learning.models import build_model
from rhm_theory.learning.training import TrainConfig, train

PARAMS = (8, 8, 4, 2, 3)  # (v, n_c, m, s, L)
P_TRAIN, P_TEST = 4096, 512  # P_TRAIN = 8 n_c m^L, the reference training-set size


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def seconds_of_train(grammar, train_set, test_set, config: TrainConfig) -> float:
    """Wall time of train()'s loop (as it reports it; test evaluation excluded)."""
    result = train(grammar, train_set, test_set, config)
    if result.stop_reason != "max_epochs":
        raise RuntimeError(f"benchmark run stopped early ({result.stop_reason}); lower --epochs")
    return result.seconds


def seconds_of_steps(grammar, train_set, config: TrainConfig, epochs: int) -> float:
    """Wall time of epochs x (P / batch) bare SGD steps on batches encoded beforehand."""
    device = config.device
    model = build_model(config.model, v=grammar.v, n_c=grammar.n_c, s=grammar.s, L=grammar.L, width=config.width,
                        generator=torch.Generator().manual_seed(0)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr * model.lr_scale, momentum=config.momentum)
    x, y = (torch.as_tensor(a, device=device) for a in train_set)
    batches = [(one_hot(x[i : i + config.batch_size], grammar.v), y[i : i + config.batch_size])
               for i in range(0, x.shape[0], config.batch_size)]
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        for inputs, labels in batches:
            loss = F.cross_entropy(model(inputs), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed run (P = 4096, 32 steps each)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    grammar = Grammar.random(*PARAMS, seed=0)
    train_set, test_set = grammar.sample_train_test(P_TRAIN, P_TEST, seed=0)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        config = TrainConfig(model="cnn", width=256, batch_size=128, max_epochs=args.epochs, loss_threshold=1e-12, device=device)
        seconds_of_train(grammar, train_set, test_set, config)  # warm-up (allocator, kernels)
        loops, bares = [], []
        for _ in range(args.repeats):  # interleaved, so that both see the same machine load
            loops.append(seconds_of_train(grammar, train_set, test_set, config))
            bares.append(seconds_of_steps(grammar, train_set, config, args.epochs))
        loop, bare = statistics.median(loops), statistics.median(bares)
        samples = args.epochs * P_TRAIN
        outside = 1 - bare / loop
        label = torch.cuda.get_device_name() if device == "cuda" else f"cpu, {args.threads} thread(s)"
        print(f"{device} ({label}): train() {samples / loop:,.0f} samples/s; forward/backward alone "
              f"{samples / bare:,.0f} samples/s; time outside forward/backward {100 * outside:.1f}% "
              f"[{'target met' if outside < 0.10 else 'TARGET MISSED'}: < 10%] (median of {args.repeats})")


if __name__ == "__main__":
    main()
