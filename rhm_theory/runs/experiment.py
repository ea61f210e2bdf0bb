"""One learning experiment: a run spec (rhm_theory.runs.spec.RunSpec) -> a tidy result row.
``run_one`` is a pure top-level function of its spec, so it runs unchanged in a process pool or on a
remote worker; the caller stores the rows (rhm_theory.runs.store).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from rhm_theory.core.files import check_writable_folder, write_atomically
from rhm_theory.core.grammar import Grammar
from rhm_theory.core.sparse import SparseRHM
from rhm_theory.core.validation import check_entries
from rhm_theory.learning.config import TrainConfig
from rhm_theory.learning.models import check_model_size
from rhm_theory.learning.sensitivity import diffeomorphism_sensitivity, synonymic_sensitivity
from rhm_theory.learning.training import TrainResult, train
from rhm_theory.runs.spec import RunSpec, derive_seeds, run_key
from rhm_theory.runs.store import check_row
from rhm_theory.synonyms.uncorrelated import uncorrelated_grammar

if TYPE_CHECKING:
    from rhm_theory.learning.history import HistoryRecord

# How a run draws its rules (RunSpec.rules): the random RHM or the uncorrelated RHM (rhm_theory.synonyms.uncorrelated);
# RunSpec.zipf weights the random RHM's rules (Grammar.random(..., zipf=a)).
GRAMMARS = {"random": Grammar.random, "uncorrelated": uncorrelated_grammar}


def run_one(
    spec: RunSpec,
    progress: bool = False,
    *,
    device: str | None = None,
    callbacks: Sequence[Callable[[HistoryRecord], object]] = (),
    save_model: str | os.PathLike | None = None,
) -> dict:
    """Train one network as ``spec`` says and return its row: every spec field, the run key, the
    derived seeds, test_error, test_loss (mean test cross-entropy, nats), train_loss, epochs, steps, seconds (training), stop_reason, wall_seconds
    (whole run), when asked S_k{k}_l{l} for every hidden layer k and level l (and D_k{k}_l{l} on the
    sparse RHM, s0 > 0), and ``history``: the learning curve as a list of dicts
    (rhm_theory.learning.history; ResultsStore.append stores it in its own table).

    ``device``: train there instead of ``spec.device`` (the row and run key keep ``spec.device``: where
    a run happened to execute is not part of what it is). ``callbacks``: passed to ``train``.
    ``save_model``: a folder; the trained weights go to ``<folder>/<run key>.pt`` (state_dict, on CPU)
    and the spec to ``<folder>/<run key>.json`` (see :func:`save_checkpoint`).
    """
    start = time.perf_counter()
    if save_model is not None:  # refused before training, not after
        check_writable_folder("save_model", save_model)
    run = prepare_run(spec, progress, device)
    result = train(run.grammar, run.train_set, run.test_set, run.config, callbacks=callbacks)
    row = result_row(spec, run, result)
    if save_model is not None:
        save_checkpoint(save_model, spec, result.model)
    row["wall_seconds"] = time.perf_counter() - start
    return row


def save_checkpoint(folder: str | os.PathLike, spec: RunSpec, model: torch.nn.Module) -> Path:
    """Write ``model``'s state_dict (tensors on CPU) to ``folder/<run key>.pt`` and the spec with its
    key to ``folder/<run key>.json`` (folder created; a file of the same run is replaced, each file
    written whole or not at all). Reload with ``rhm_theory.learning.models.build_model`` and
    ``load_state_dict(torch.load(path))``. Returns the .pt path."""
    folder = check_writable_folder("save_model", folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = run_key(spec)
    weights = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    for suffix, write in (
        (".pt", lambda f: torch.save(weights, f)),
        (".json", lambda f: f.write(json.dumps({"key": key, **asdict(spec)}, indent=1).encode())),
    ):
        write_atomically(folder / f"{key}{suffix}", write)
    return folder / f"{key}.pt"


def check_runs(specs: Sequence[RunSpec], members: int = 1) -> list[RunSpec]:
    """``specs`` (a list of RunSpec) checked before any of them runs: each run's data arrays ((P + P_test) x d
    tokens) and network (times ``members`` trained as one ensemble) fit the allocation bounds of
    rhm_theory.core.validation, and its row fits the results file (rhm_theory.runs.store.check_row).
    ValueError naming the run's first offending size or field."""
    for spec in specs:
        if not isinstance(spec, RunSpec):
            raise ValueError(f"a run must be a RunSpec, got {type(spec).__name__}")
        patch = spec.s * (spec.s0 + 1)
        check_entries(
            f"the data of run P = {spec.P}, P_test = {spec.P_test} ((P + P_test) x d tokens)",
            (spec.P + spec.P_test) * patch**spec.L,
        )
        next_token = spec.task == "next-token"
        check_model_size(
            spec.model,
            v=spec.v + (1 if spec.s0 or next_token else 0),
            n_c=spec.v if next_token else spec.n_c,
            s=spec.s,
            L=spec.L,
            width=spec.width,
            patch=patch,
            members=members,
        )
        check_row({"key": run_key(spec), **spec.row()})
    return list(specs)


@dataclass
class PreparedRun:
    """What ``spec`` determines before training: derived seeds, grammar (a SparseRHM when s0 > 0), data,
    training config."""

    seeds: dict
    grammar: Grammar | SparseRHM
    train_set: tuple
    test_set: tuple
    config: TrainConfig


def prepare_run(spec: RunSpec, progress: bool = False, device: str | None = None) -> PreparedRun:
    """The rules, training and test sets and training config of ``spec`` (from its derived seeds): distinct
    data, or i.i.d. ones when ``spec.iid`` (power-law rules, ``spec.zipf``); the config trains on ``device``
    when given, else on ``spec.device``; sizes checked first (:func:`check_runs`)."""
    check_runs([spec])
    seeds = derive_seeds(spec.seed)
    weights = {} if spec.zipf is None else {"zipf": spec.zipf}  # RunSpec takes zipf with rules "random" only
    rhm = GRAMMARS[spec.rules](spec.v, spec.n_c, spec.m, spec.s, spec.L, seed=seeds["rules"], **weights)
    grammar: Grammar | SparseRHM = SparseRHM(rhm, spec.s0, spec.variant) if spec.s0 else rhm
    train_set, test_set = grammar.sample_train_test(spec.P, spec.P_test, seed=seeds["data"], replace=spec.iid)
    settings = {**spec.settings(), **({} if device is None else {"device": device})}
    config = TrainConfig(**settings, seed=seeds["init"], progress=progress)
    return PreparedRun(seeds, grammar, train_set, test_set, config)


def result_row(spec: RunSpec, run: PreparedRun, result: TrainResult) -> dict:
    """The row of a trained run (``result``: a TrainResult), without wall_seconds; measures S_{k,l}
    (and D_{k,l} on the sparse RHM) on the trained network when the spec asks for it."""
    row = {"key": run_key(spec), **spec.row(), **{f"{role}_seed": value for role, value in run.seeds.items()}}
    assert result.test_loss is not None  # train and train_ensemble always measure it (TrainResult allows None)
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
        S = synonymic_sensitivity(
            result.model,
            run.grammar,
            run.test_set[0][: spec.sensitivity_samples],
            seed=run.seeds["exchange"],
            device=run.config.device,
        )
        row.update({f"S_k{k + 1}_l{l + 1}": float(S[k, l]) for k in range(S.shape[0]) for l in range(S.shape[1])})
        if isinstance(run.grammar, SparseRHM):  # diffeomorphisms draw from a child of the exchange seed
            D = diffeomorphism_sensitivity(
                result.model,
                run.grammar,
                run.test_set[0][: spec.sensitivity_samples],
                seed=np.random.SeedSequence(run.seeds["exchange"]).spawn(1)[0],
                device=run.config.device,
            )
            row.update({f"D_k{k + 1}_l{l + 1}": float(D[k, l]) for k in range(D.shape[0]) for l in range(D.shape[1])})
    row["history"] = [record.as_dict() for record in result.history]
    return row
