"""Density evolution (population dynamics) of the exact BP denoiser: the large-L theory of the
forward-backward experiment in the random-rule tree ensemble (the cavity method; arXiv:2402.16991
describes BP on the RHM tree and its transition).

Every node is given fresh random rules (v owners of m distinct s-tuples each, the true parent owning
the true tuple), so the messages of different nodes are independent and the distribution of the
upward message, relabelled so the true symbol is index 0, obeys a closed recursion over levels. A
population of N messages represents that distribution: each new message combines s messages drawn
from the previous population through one random rule set. The retention at level l is the mean
weight of the true symbol; its large-depth limit is 1 below the critical noise and 1/v above it.
numpy only. Unlike the one-parameter mean field of :mod:`rhm_theory.theory.denoising_theory`, this
keeps the full spread of messages and is exact for the tree ensemble up to the O(1/sqrt(N)) noise.
"""

from __future__ import annotations

import numpy as np

from rhm_theory.core.validation import as_generator, check_feasible, check_int
from rhm_theory.theory.noise import check_channel, check_noise


def leaf_population(v: int, noise: float, channel: str, N: int, rng: np.random.Generator) -> np.ndarray:
    """N normalised leaf messages (N, v) after one channel use, the true token being index 0."""
    messages = np.zeros((N, v))
    hit = rng.random(N) < noise
    if channel == "mask":
        messages[~hit, 0] = 1.0
        messages[hit] = 1.0
    else:
        observed = np.where(hit, rng.integers(0, v, size=N), 0)
        messages[np.arange(N), observed] = 1.0 - noise
        messages += noise / v
    return messages / messages.sum(axis=1, keepdims=True)


def level_up(children: np.ndarray, v: int, m: int, s: int, rng: np.random.Generator) -> np.ndarray:
    """One level of density evolution: N new messages (N, v) from a population ``children`` (N', v)."""
    N = children.shape[0]
    picked = children[rng.integers(0, N, size=(N, s))]  # (N, s, v)
    # v*m distinct tuple codes per node: code 0 (the true tuple, all children true) owned by symbol 0,
    # then v*m - 1 distinct codes drawn from the v**s - 1 others; owner of column c is c // m.
    keys = rng.random((N, v**s - 1))
    others = (
        np.argpartition(keys, v * m - 2, axis=1)[:, : v * m - 1] + 1 if v * m > 1 else np.zeros((N, 0), dtype=np.int64)
    )
    codes = np.concatenate([np.zeros((N, 1), dtype=np.int64), others], axis=1)  # (N, v*m)
    weights = np.ones(codes.shape)
    for slot in range(s):
        digit = (codes // v ** (s - 1 - slot)) % v
        weights *= np.take_along_axis(picked[:, slot, :], digit, axis=1)
    parents = weights.reshape(N, v, m).sum(axis=2)
    return parents / parents.sum(axis=1, keepdims=True)


def retention_profile(
    v: int,
    m: int,
    s: int,
    depth: int,
    noise: float,
    *,
    channel: str,
    population: int,
    seed: int | np.random.SeedSequence | np.random.Generator,
) -> np.ndarray:
    """Retention (mean weight of the true symbol) at levels 0..depth (tokens first), array (depth+1,)."""
    v, _, m, s, depth = check_feasible(v, 1, m, s, depth)
    noise, channel = check_noise(noise), check_channel(channel)
    N = check_int("population", population, minimum=2)
    rng = as_generator(seed)
    messages = leaf_population(v, noise, channel, N, rng)
    profile = [messages[:, 0].mean()]
    for _ in range(depth):
        messages = level_up(messages, v, m, s, rng)
        profile.append(messages[:, 0].mean())
    return np.array(profile)


def critical_noise(
    v: int,
    m: int,
    s: int,
    *,
    channel: str,
    depth: int = 40,
    population: int = 4000,
    steps: int = 14,
    seed: int | np.random.SeedSequence | np.random.Generator,
) -> float:
    """Noise where the depth-``depth`` retention crosses halfway between 1/v and 1, by bisection on
    [0, 1] (``steps`` halvings); the estimate of the critical noise of the tree ensemble."""
    rng = as_generator(seed)
    middle = (1 + 1 / check_int("v", v)) / 2
    low, high = 0.0, 1.0
    for _ in range(check_int("steps", steps)):
        trial = (low + high) / 2
        kept = retention_profile(v, m, s, depth, trial, channel=channel, population=population, seed=rng)[-1]
        low, high = (trial, high) if kept > middle else (low, trial)
    return (low + high) / 2
