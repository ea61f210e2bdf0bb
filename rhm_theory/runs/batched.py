"""Many runs at once: ``run_many(specs)`` returns the rows ``[run_one(spec) for spec in specs]``
would, training the specs that differ only in their seed as ensembles
(rhm_theory.learning.ensemble.train_ensemble: one stacked model, bmm over the members), which at
small widths is several times faster than one run after the other.

Each member keeps its own derived seeds, so its rules, data, initial weights and batch order are
those of its ``run_one``; the rows agree up to float rounding, except the timings: ``seconds`` is the
ensemble's training time until that member stopped and ``wall_seconds`` the group's whole wall time
divided by its number of members.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from rhm_theory.core.validation import check_int
from rhm_theory.learning.ensemble import ENSEMBLE_MODELS, train_ensemble
from rhm_theory.runs.experiment import prepare_run, result_row, run_one
from rhm_theory.runs.spec import RunSpec


def ensemble_groups(specs: Sequence[RunSpec], max_members: int) -> list[list[int]]:
    """Indices of ``specs`` grouped by every field but the seed (input order kept inside a group),
    groups of at most ``max_members``; a model, task or selection that cannot train as an ensemble gets
    groups of one."""
    groups: dict[str, list[list[int]]] = {}
    for i, spec in enumerate(specs):
        if spec.model not in ENSEMBLE_MODELS or spec.task != "class" or spec.select != "last":
            groups[f"single {i}"] = [[i]]
            continue
        fields = spec.row()
        fields.pop("seed")
        chunks = groups.setdefault(json.dumps(fields, sort_keys=True), [[]])
        if len(chunks[-1]) == max_members:
            chunks.append([])
        chunks[-1].append(i)
    return [chunk for chunks in groups.values() for chunk in chunks]


def run_many(specs: Sequence[RunSpec], max_members: int = 16, device: str | None = None) -> list[dict]:
    """The rows of ``specs`` in their order, as ``run_one`` returns them (see the module docstring for
    the timing fields); specs equal but for the seed train together, at most ``max_members`` at once.
    ``device``: train there instead of each spec's device (as run_one's ``device``)."""
    check_int("max_members", max_members)
    for spec in specs:
        if not isinstance(spec, RunSpec):
            raise ValueError(f"run_many takes RunSpec objects, got {type(spec).__name__}")
    rows: list[dict | None] = [None] * len(specs)
    for group in ensemble_groups(specs, max_members):
        if len(group) == 1:
            rows[group[0]] = run_one(specs[group[0]], device=device)
            continue
        start = time.perf_counter()
        runs = [prepare_run(specs[i], device=device) for i in group]
        results = train_ensemble(
            [run.grammar for run in runs],
            [run.train_set for run in runs],
            [run.test_set for run in runs],
            runs[0].config,
            [run.config.seed for run in runs],
        )
        group_rows = [result_row(specs[i], run, result) for i, run, result in zip(group, runs, results)]
        share = (time.perf_counter() - start) / len(group)
        for i, row in zip(group, group_rows):
            rows[i] = {**row, "wall_seconds": share}
    done = [row for row in rows if row is not None]
    assert len(done) == len(specs)  # ensemble_groups puts every spec in exactly one group
    return done
