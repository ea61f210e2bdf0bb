"""Forward noising channels on tokens, and their per-token likelihoods for belief propagation.

Two channels with a noise level eps in [0, 1] (arXiv:2402.16991 and arXiv:2410.13770 use both kinds):

- ``"uniform"`` (discrete diffusion): each token is, independently with probability eps, replaced by
  a uniformly random token of range(v) (possibly itself). Likelihood of an observed token o:
  l(mu) = (1 - eps) [mu == o] + eps / v.
- ``"mask"`` (absorbing diffusion): each token is, independently with probability eps, masked
  (observed as MASK = -1). Likelihood: one-hot on o, or all ones for a masked token.

Observations are int64 arrays (P, d) with MASK for masked tokens; likelihoods are (P, d, v) float64.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.validation import as_generator, check_int

CHANNELS = ("uniform", "mask")
MASK = -1


def check_noise(noise: object) -> float:
    """``noise`` as a float in [0, 1], else ValueError naming the value and the rule."""
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise ValueError(f"noise level must be a real number in [0, 1], got {noise!r}")
    value = float(noise)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"noise level must be in [0, 1], got {value}")
    return value


def check_channel(channel: object) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    return channel


def corrupt(
    x: ArrayLike, noise: float, *, v: int, channel: str, seed: int | np.random.SeedSequence | np.random.Generator
) -> np.ndarray:
    """Noisy observations (P, d) int64 of clean tokens x (P, d) in range(v); MASK marks masked tokens."""
    noise, channel, v = check_noise(noise), check_channel(channel), check_int("v", v)
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer) or x.ndim != 2:
        raise ValueError(f"tokens must be a 2-D integer array (P, d), got dtype {x.dtype} and shape {x.shape}")
    if x.size and (x.min() < 0 or x.max() >= v):
        raise ValueError(f"tokens must be in range(v={v}), got values in [{x.min()}, {x.max()}]")
    rng = as_generator(seed)
    hit = rng.random(x.shape) < noise
    if channel == "mask":
        return np.where(hit, MASK, x).astype(np.int64)
    return np.where(hit, rng.integers(0, v, size=x.shape), x).astype(np.int64)


def likelihoods(observed: ArrayLike, noise: float, *, v: int, channel: str) -> np.ndarray:
    """P(observation | x_j = mu) for every position, array (P, d, v), for :mod:`rhm_theory.theory.bp`."""
    noise, channel, v = check_noise(noise), check_channel(channel), check_int("v", v)
    observed = np.asarray(observed)
    if not np.issubdtype(observed.dtype, np.integer) or observed.ndim != 2:
        raise ValueError(
            f"observations must be a 2-D integer array (P, d), got dtype {observed.dtype} and shape {observed.shape}"
        )
    low = MASK if channel == "mask" else 0
    if observed.size and (observed.min() < low or observed.max() >= v):
        raise ValueError(
            f"observations of the {channel!r} channel must be in [{low}, {v - 1}], got values in [{observed.min()}, {observed.max()}]"
        )
    one_hot = np.zeros((*observed.shape, v))
    seen = observed >= 0
    one_hot[seen, observed[seen]] = 1.0
    if channel == "mask":
        one_hot[~seen] = 1.0
        return one_hot
    return (1.0 - noise) * one_hot + noise / v
