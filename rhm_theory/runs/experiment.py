"""One learning experiment: a run spec (rhm_theory.runs.spec.RunSpec) -> a tidy result row.
``run_one`` is a pure top-level function of its spec, so it runs unchanged in a process pool or on a
remote worker; the caller stores the rows (rhm_theory.runs.store).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.sensitivity import diffeomorphism_sensitivity, synonymic_sensitivity
from rhm_theory.learning.training import train
from rhm_theory.runs.spec import RunSpec, derive_seeds, run_key
from rhm_theory.synonyms.uncorrelated import uncorrelated_grammar

# How a run draws its rules (RunSpec.rules): the random RHM or the uncorrelated RHM (rhm_theory.synonyms.uncorrelated).
GRAMMARS = {"random": Grammar.random, "uncorrelated": uncorrelated_grammar}


def run_one(spec: RunSpec, progress: bool = False) -> dict:
    """Train one network as ``spec`` says and return its row: every spec field, the run key, the
    derived seeds, test_error, test_loss (mean test cross-entropy, nats), train_loss, epochs, steps, seconds (training), stop_reason, wall_seconds
    (whole run) and, when asked, S_k{k}_l{l} for every hidden layer k and level l (and D_k{k}_l{l} on the
    sparse RHM, s0 > 0).
    """
    start = time.perf_counter()
    run = prepare_run(spec, progress)
    row = result_row(spec, run, train(run.grammar, run.train_set, run.test_set, run.config))
    row["wall_seconds"] = time.perf_counter() - start
    return row


@dataclass
class PreparedRun:
    """What ``spec`` determines before training: derived seeds, grammar (a SparseRHM when s0 > 0), data,
    training config."""

    seeds: dict
    grammar: Grammar | SparseRHM
    train_set: tuple
    test_set: tuple
    config: TrainConfig


def prepare_run(spec: RunSpec, progress: bool = False) -> PreparedRun:
    """The rules, training and test sets and training config of ``spec`` (from its derived seeds)."""
    seeds = derive_seeds(spec.seed)
    grammar = GRAMMARS[spec.rules](spec.v, spec.n_c, spec.m, spec.s, spec.L, seed=seeds["rules"])
    if spec.s0:
        grammar = SparseRHM(grammar, spec.s0, spec.variant)
    train_set, test_set = grammar.sample_train_test(spec.P, spec.P_test, seed=seeds["data"])
    config = TrainConfig(**spec.settings(), seed=seeds["init"], progress=progress)
    return PreparedRun(seeds, grammar, train_set, test_set, config)


def result_row(spec: RunSpec, run: PreparedRun, result) -> dict:
    """The row of a trained run (``result``: a TrainResult), without wall_seconds; measures S_{k,l}
    (and D_{k,l} on the sparse RHM) on the trained network when the spec asks for it."""
    row = {"key": run_key(spec), **spec.row(), **{f"{role}_seed": value for role, value in run.seeds.items()}}
    row.update(
        test_error=float(result.test_error),
        test_loss=float(result.test_loss),
        train_loss=float(result.train_loss),
        epochs=int(result.epochs),
        steps=int(result.steps),
        seconds=float(result.seconds),
        stop_reason=str(result.stop_reason),
    )
    if spec.sensitivity_samples:
        S = synonymic_sensitivity(result.model, run.grammar, run.test_set[0][: spec.sensitivity_samples],
                                  seed=run.seeds["exchange"], device=spec.device)
        row.update({f"S_k{k + 1}_l{l + 1}": float(S[k, l]) for k in range(S.shape[0]) for l in range(S.shape[1])})
        if isinstance(run.grammar, SparseRHM):  # diffeomorphisms draw from a child of the exchange seed
            D = diffeomorphism_sensitivity(result.model, run.grammar, run.test_set[0][: spec.sensitivity_samples],
                                           seed=np.random.SeedSequence(run.seeds["exchange"]).spawn(1)[0], device=spec.device)
            row.update({f"D_k{k + 1}_l{l + 1}": float(D[k, l]) for k in range(D.shape[0]) for l in range(D.shape[1])})
    return row
