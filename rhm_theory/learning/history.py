"""Training history: the learning curve of one run, recorded by rhm_theory.learning.training.train at
log-spaced SGD steps, and the callbacks that write it out (CSV, TensorBoard).

A record is taken after step t for every t in ``history_steps(total_steps, per_decade)`` that the run
reaches and always after its last step. ``train_loss`` is the mean minibatch loss of the current epoch
up to step t (so the last record's is the run's final ``train_loss``); ``test_error`` and ``test_loss``
(mean cross-entropy, nats) are measured on the whole test set. The test set is only monitored, never
used to select or stop (docs/theory.md, 'Networks and training protocol').

A callback is any callable taking one :class:`HistoryRecord`; the writers here are also context
managers (``close()`` flushes the file). TensorBoard needs the optional extra:
``pip install "rhm-theory[tensorboard]"``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from rhm_theory.core.validation import INT64_LIMIT, check_int, check_per_decade


@dataclass(frozen=True)
class HistoryRecord:
    """One point of a learning curve: after SGD ``step`` (1-based) in ``epoch`` (1-based)."""

    step: int
    epoch: int
    train_loss: float
    test_error: float
    test_loss: float

    def as_dict(self) -> dict:
        return asdict(self)


HISTORY_FIELDS = tuple(f.name for f in fields(HistoryRecord))


def history_steps(total_steps: int, per_decade: int) -> list[int]:
    """The steps in 1..total_steps at which a record is taken: round(10^(k / per_decade)) for
    k = 0, 1, ... (distinct integers, increasing) plus ``total_steps``; only ``total_steps`` when
    ``per_decade`` is 0. About per_decade x log10(total_steps) records in all, so both are bounded
    first: integers, 1 <= total_steps < 2**63 and 0 <= per_decade <= MAX_HISTORY_PER_DECADE."""
    total_steps = check_int("total_steps", total_steps, minimum=1, maximum=INT64_LIMIT - 1)
    per_decade = check_per_decade(per_decade)
    if per_decade == 0:
        return [total_steps]
    steps, k = set(), 0
    while (step := round(10 ** (k / per_decade))) < total_steps:
        steps.add(step)
        k += 1
    return sorted(steps | {total_steps})


class _Writer:
    """A callback that owns an open output: closed by ``close()`` or at the end of a ``with`` block."""

    def close(self) -> None:
        self._output.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CSVWriter(_Writer):
    """Callback writing each record as a CSV line (header: HISTORY_FIELDS) to ``path``, flushed at
    once so a running job's file can be read; an existing file is overwritten."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._output = open(self.path, "w", newline="")  # noqa: SIM115 - kept open across writes, closed by close()
        self._writer = csv.DictWriter(self._output, fieldnames=HISTORY_FIELDS)
        self._writer.writeheader()

    def __call__(self, record: HistoryRecord) -> None:
        self._writer.writerow(record.as_dict())
        self._output.flush()


def read_history_csv(path: str | os.PathLike) -> list[HistoryRecord]:
    """The records of a file written by :class:`CSVWriter`; ValueError naming the file, the line and
    the field when it is not one (a missing column, or a value that is not a number)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [name for name in HISTORY_FIELDS if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not a learning-curve file (no column {', '.join(missing)})")
        records = []
        for line, row in enumerate(reader, start=2):
            try:
                records.append(
                    HistoryRecord(
                        int(row["step"]), int(row["epoch"]), *(float(row[name]) for name in HISTORY_FIELDS[2:])
                    )
                )
            except (TypeError, ValueError):
                bad = next((name for name in HISTORY_FIELDS if not _is_number(row.get(name))), "a field")
                raise ValueError(f"{path}, line {line}: {bad} = {row.get(bad)!r} is not a number") from None
        return records


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def tensorboard_summary_writer():
    """torch.utils.tensorboard.SummaryWriter, or ImportError naming the extra that installs it."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError('TensorBoard logging needs tensorboard: pip install "rhm-theory[tensorboard]"') from None
    return SummaryWriter


class TensorBoardWriter(_Writer):
    """Callback writing each record as scalars ``train_loss``, ``test_error`` and ``test_loss`` at
    global step ``step`` into a TensorBoard event file in the folder ``log_dir`` (created)."""

    def __init__(self, log_dir: str | os.PathLike):
        self._output = tensorboard_summary_writer()(log_dir=str(log_dir))

    def __call__(self, record: HistoryRecord) -> None:
        for name in HISTORY_FIELDS[2:]:
            self._output.add_scalar(name, getattr(record, name), record.step)
        self._output.flush()
