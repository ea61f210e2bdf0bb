"""Forward-backward experiments on RHM data with the exact denoiser (arXiv:2402.16991; arXiv:2410.13770).

A datum x is noised to level eps by a channel of :mod:`rhm_theory.theory.noise`, and a new datum is
drawn from the exact posterior P(datum | noisy x) by belief propagation (the Bayes-optimal
denoiser). Measured per level l = 1..L+1 (tokens first, class last):

- retention: P(the level-l symbol is unchanged), exactly as the posterior marginal of the original
  symbol averaged over nodes and data (no sampling noise from the backward step), and from samples;
- the fraction of tokens changed, the connected correlation C(r) of the change indicators c_j at
  distance r (normalised so C(0) = 1), and the susceptibility Var(sum_j c_j) / d, which peak where
  changes come in large correlated chunks (arXiv:2410.13770).

Curves over noise: :func:`noise_at` finds where a retention curve crosses a level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.validation import as_generator, check_entries
from rhm_theory.theory import bp, noise as channels
from rhm_theory.theory.grammaticality import level_symbols


@dataclass
class ForwardBackward:
    """Result of one forward-backward experiment at one noise level (arrays over levels 1..L+1)."""

    noise: float
    channel: str
    retention: np.ndarray  # (L + 1,) exact P(symbol unchanged), tokens first, class last
    retention_sampled: np.ndarray  # (L + 1,) the same from the drawn samples
    tokens_changed: float  # fraction of tokens of the new datum that differ from the original
    change_correlation: np.ndarray  # (d,) C(r), r = 0..d-1
    susceptibility: float  # Var(number of changed tokens) / d

    def to_dict(self) -> dict:
        return {
            "noise": self.noise,
            "channel": self.channel,
            "retention": [float(r) for r in self.retention],
            "retention_sampled": [float(r) for r in self.retention_sampled],
            "class_retention": float(self.retention[-1]),
            "tokens_changed": float(self.tokens_changed),
            "susceptibility": float(self.susceptibility),
            "change_correlation": [float(c) if np.isfinite(c) else None for c in self.change_correlation],
        }


def check_experiment_size(P: int, d: int, v: int, n_c: int) -> None:
    """ValueError unless the token likelihoods and class posteriors of P data (P x (d v + n_c) floats, the
    largest arrays of an experiment) fit MAX_ARRAY_ENTRIES; checked before anything is drawn or allocated."""
    check_entries(
        f"a forward-backward experiment on P = {P} data of d = {d} tokens, v = {v}, n_c = {n_c} "
        "(P x (d v + n_c) likelihoods and posteriors)",
        P * (d * v + n_c),
    )


def forward_backward(
    grammar: Grammar,
    x: ArrayLike,
    noise: float,
    *,
    channel: str,
    seed: int | np.random.SeedSequence | np.random.Generator,
) -> ForwardBackward:
    """Noise data x (P, d) (data of ``grammar``) to level ``noise`` with ``channel``, resample each from
    the exact posterior, and measure what changed. ``seed``: int or numpy Generator."""
    rng = as_generator(seed)
    if np.ndim(x) == 2:
        check_experiment_size(np.shape(x)[0], np.shape(x)[1], grammar.v, grammar.n_c)
    truth = level_symbols(grammar, x)
    observed = channels.corrupt(truth[0], noise, v=grammar.v, channel=channel, seed=rng)
    likelihoods = channels.likelihoods(observed, noise, v=grammar.v, channel=channel)
    marginals = bp.node_marginals(grammar, likelihoods)
    retention = np.array([np.take_along_axis(m, t[..., None], axis=-1).mean() for m, t in zip(marginals, truth)])
    tokens, _ = bp.sample_posterior(grammar, likelihoods, seed=rng)
    sampled = level_symbols(grammar, tokens)
    retention_sampled = np.array([(a == b).mean() for a, b in zip(sampled, truth)])
    changed = (tokens != truth[0]).astype(float)
    return ForwardBackward(
        noise=channels.check_noise(noise),
        channel=channel,
        retention=retention,
        retention_sampled=retention_sampled,
        tokens_changed=float(changed.mean()),
        change_correlation=change_correlation(changed),
        susceptibility=float(changed.sum(axis=1).var() / changed.shape[1]),
    )


def change_correlation(changed: np.ndarray) -> np.ndarray:
    """Connected correlation of 0/1 change indicators (P, d) at distance r = 0..d-1, array (d,):
    C(r) = (mean_{p, j} c_j c_{j+r} - c^2) / (c - c^2), c the mean; NaN where nothing or everything changed."""
    P, d = changed.shape
    c = changed.mean()
    spectrum = np.fft.rfft(changed, n=2 * d, axis=1)
    products = np.fft.irfft(spectrum * spectrum.conj(), n=2 * d, axis=1)[:, :d].sum(axis=0)
    pairs = P * (d - np.arange(d))
    variance = c - c * c
    if variance <= 0:
        return np.full(d, np.nan)
    return (products / pairs - c * c) / variance


def noise_at(noise_grid: ArrayLike, curve: ArrayLike, level: float) -> float:
    """Noise where a decreasing curve first drops below ``level`` (linear interpolation); NaN if the
    curve is below it at the first grid point or never drops below it."""
    noise_grid, curve = np.asarray(noise_grid, dtype=float), np.asarray(curve, dtype=float)
    below = np.flatnonzero(curve < level)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    i = int(below[0])
    fraction = (curve[i - 1] - level) / (curve[i - 1] - curve[i])
    return float(noise_grid[i - 1] + fraction * (noise_grid[i] - noise_grid[i - 1]))
