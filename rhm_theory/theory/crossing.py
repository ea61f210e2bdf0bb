"""The noise = signal crossing P_c of one setting, as the sample-complexity checks compare it with P*
(docs/theory.md, 'Sampling noise and the crossing P_c').

Two forms: the first-order closed form ``symbolic.evaluate(...)["P_c"]`` (noise_f2(P) = sigma_f2), and
the crossing with the fluctuations of pbar, noise_f2_pbar(P) = S. Where ``sigma_f2_exact`` the signal
S is the exact sigma_f2; elsewhere the closed form of sigma_f2 is first order only (low by up to
x4.6 at s = 3, L = 4), so S is the rule-ensemble Monte Carlo mean with its 99% interval
(``ensemble.monte_carlo_statistics``), and the crossing carries that interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rhm_theory.theory import ensemble, symbolic


@dataclass(frozen=True)
class Crossing:
    """P_c of one setting: ``first_order`` (closed form), ``with_pbar`` (noise_f2_pbar = S) and its
    interval [``low``, ``high``] (equal to it where S is exact); ``signal_exact``: whether S is the
    exact sigma_f2 (else a Monte Carlo mean over ``n_grammars`` grammars)."""

    first_order: float
    with_pbar: float
    low: float
    high: float
    signal_exact: bool
    n_grammars: int


def crossing(
    v: int,
    n_c: int,
    m: int,
    s: int,
    L: int,
    *,
    n_grammars: int,
    seed: int | np.random.SeedSequence | np.random.Generator,
) -> Crossing:
    """:class:`Crossing` of (v, n_c, m, s, L); the Monte Carlo (where needed) draws ``n_grammars``
    grammars from ``seed`` (an int or a numpy Generator)."""
    theory = symbolic.evaluate(v, n_c, m, s, L)
    noise_times_P = float(symbolic.noise_f2_pbar(symbolic.P, v, n_c, m, s, L) * symbolic.P)  # noise_f2_pbar = this / P
    if theory["sigma_f2_exact"]:
        P_c = noise_times_P / float(theory["sigma_f2"])
        return Crossing(float(theory["P_c"]), P_c, P_c, P_c, True, 0)
    samples = ensemble.monte_carlo_statistics(v, n_c, m, s, L, n_grammars, seed=seed)["sigma_f2"]
    signal, low, high = ensemble.confidence_interval(samples)
    return Crossing(
        float(theory["P_c"]),
        noise_times_P / signal,
        float(noise_times_P / high),
        float(noise_times_P / low),
        False,
        n_grammars,
    )
