"""Tidy experiment results in an embedded SQLite file: one row per run, identified by its run key.

Rows are flat dicts of int, float, str, bool or None values (NaN is stored as NULL and read back
as None). Columns are created as new row keys appear, so every row keeps all its fields. Each
``append`` is its own committed transaction, so a crash loses at most the run in progress and
``finished_keys()`` tells a rerun what to skip. Failed attempts are kept in a second table
(``record_failure``/``failures``) and never count as finished, so a rerun retries them. Only the process that owns the store writes to it
(pool workers return rows; the driver appends them). A row's learning curve (its ``history`` entry:
records of rhm_theory.learning.history) goes to a third table, ``history`` (key, step, epoch,
train_loss, test_error, test_loss), in the same transaction as the row; files written before it
existed get the table when a history is first appended (never on read-only opens).

Our files carry SQLite's application id APPLICATION_ID; any other existing file (a 0-byte file, another
program's database, not SQLite at all) is refused, and files opened for reading are opened read-only.
Files written before the id was set are recognised by their tables (``runs`` with a ``key`` column).
What is read is checked against the schema: the columns of each table, the type of every run field
of rhm_theory.runs.spec.RunSpec and of the result fields (RESULT_KINDS), and of every history record;
a mismatch is a ValueError naming the file and the field.

Concurrency is SQLite's own: a file another process holds (a reader's transaction blocks a commit, a
writer's blocks everything) is waited for up to ``timeout`` seconds (LOCK_TIMEOUT by default) by
SQLite's busy handler; past it the operation is rolled back whole and :class:`StoreLocked` says the file
is locked by another process. Nothing already stored is ever deleted or replaced.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import quote

from rhm_theory.core.files import check_distinct, write_atomically
from rhm_theory.learning.config import field_kinds
from rhm_theory.learning.history import HISTORY_FIELDS, HistoryRecord
from rhm_theory.runs.spec import SEED_ROLES, RunSpec

if TYPE_CHECKING:  # pandas is optional (the [pandas] extra), imported by to_pandas only
    import pandas as pd

TABLE = "runs"
FAILURES = "failures"  # one row per failed attempt: key, error text, time
HISTORY = "history"  # one row per learning-curve record: key, step, epoch, train_loss, test_error, test_loss
_HISTORY_SCHEMA = (
    f'CREATE TABLE IF NOT EXISTS {HISTORY} ("key" TEXT NOT NULL, "step" INTEGER NOT NULL, "epoch" INTEGER NOT NULL, '
    '"train_loss" REAL, "test_error" REAL, "test_loss" REAL, PRIMARY KEY ("key", "step"))'
)
APPLICATION_ID = 0x52484D52  # "RHMR": PRAGMA application_id of an rhm results file
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FAILURES_SCHEMA = (
    f'CREATE TABLE IF NOT EXISTS {FAILURES} ("key" TEXT NOT NULL, "error" TEXT NOT NULL, '
    '"at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)'
)
TABLE_COLUMNS = {TABLE: ("key",), FAILURES: ("key", "error", "at"), HISTORY: ("key", *HISTORY_FIELDS)}
# The type of every run field a row may have: the spec fields, the derived seeds and the results of rhm_theory.runs.experiment.
RESULT_KINDS = {
    "test_error": float,
    "test_loss": float,
    "train_loss": float,
    "epochs": int,
    "steps": int,
    "seconds": float,
    "stop_reason": str,
    "wall_seconds": float,
    "key": str,
    **{f"{role}_seed": int for role in SEED_ROLES},
}
RUN_KINDS = {**field_kinds(RunSpec), **RESULT_KINDS}
LOCK_TIMEOUT = 60.0  # seconds SQLite's busy handler waits for a file another process holds


class StoreLocked(ValueError):
    """The results file stayed locked by another process past the timeout; nothing was changed."""


def _is_locked(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


class ResultsStore:
    """Results table in the SQLite file ``path``. Writing (default): created with its parent folder when
    missing. ``readonly=True``: the file must exist, and is never modified. Either way an existing file
    must be an rhm results file (ValueError otherwise). ``timeout``: seconds to wait for a file another
    process holds (default LOCK_TIMEOUT), then :class:`StoreLocked`. Usable as a context manager; ``close()``
    releases the file.
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False, timeout: float | None = None):
        self.path = Path(path)
        self.timeout = LOCK_TIMEOUT if timeout is None else float(timeout)
        if self.path.is_dir():
            raise ValueError(f"results file {self.path} is a folder, not a file")
        existed = self.path.exists()
        if existed and self.path.stat().st_size == 0:
            raise ValueError(
                f"results file {self.path} is empty (0 bytes), not an rhm results file: remove it or choose another name"
            )
        if readonly:
            if not existed:
                raise ValueError(f"results file {self.path} does not exist")
            self._connection = sqlite3.connect(
                f"file:{quote(str(self.path.resolve()))}?mode=ro", uri=True, isolation_level=None, timeout=self.timeout
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not existed:
                self._create()
            # Autocommit mode: append() opens and commits its own transaction, column additions included.
            self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=self.timeout)
        try:
            self._check_ours()
        except BaseException:
            self._connection.close()
            raise

    def _locked(self, action: str) -> StoreLocked:
        return StoreLocked(
            f"results file {self.path} is locked by another process (waited {self.timeout:g} s to {action}): "
            "nothing was changed; retry when that process is done"
        )

    def _execute(self, action: str, sql: str, arguments: Sequence[object] = ()) -> sqlite3.Cursor:
        """``sql`` on the file; a lock held past the timeout is :class:`StoreLocked`."""
        try:
            return self._connection.execute(sql, arguments)
        except sqlite3.OperationalError as error:
            if _is_locked(error):
                raise self._locked(action) from None
            raise

    def _check_ours(self) -> None:
        """ValueError unless the open file is an rhm results file whose tables have their columns."""
        try:
            (application_id,) = self._connection.execute("PRAGMA application_id").fetchone()
            tables = {
                name for (name,) in self._connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            columns = {
                table: {row[1] for row in self._connection.execute(f"PRAGMA table_info({table})")}
                for table in TABLE_COLUMNS
            }
        except sqlite3.DatabaseError as error:
            if _is_locked(error):
                raise self._locked("open it") from None
            raise ValueError(f"results file {self.path} is not an SQLite database ({error})") from None
        key_column = "key" in columns[TABLE]
        if application_id == APPLICATION_ID or (
            application_id == 0 and key_column and tables <= {TABLE, FAILURES, HISTORY}
        ):
            if TABLE not in tables:
                raise ValueError(f"results file {self.path} is damaged: it has no {TABLE} table")
            for table, needed in TABLE_COLUMNS.items():
                missing = [name for name in needed if table in tables and name not in columns[table]]
                if missing:
                    raise ValueError(
                        f"results file {self.path} is damaged: its table {table} lacks the field {missing[0]!r} "
                        f"(an rhm results file's {table} table has {', '.join(needed)})"
                    )
            return
        raise ValueError(
            f"{self.path} is not an rhm results file (SQLite application id {application_id:#x}, tables "
            f"{sorted(tables)}): refusing to use another program's database; choose another file"
        )

    def _create(self) -> None:
        """Write a new results file: built under a temporary name and linked into place, so no reader
        or concurrent writer ever sees it half made (if another process created it first, keep theirs)."""
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        connection = sqlite3.connect(partial, isolation_level=None)
        try:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f'CREATE TABLE {TABLE} ("key" TEXT PRIMARY KEY NOT NULL)')
            connection.execute(_FAILURES_SCHEMA)
            connection.execute(_HISTORY_SCHEMA)
            connection.close()
            os.link(partial, self.path)
        except FileExistsError:
            pass
        finally:
            connection.close()
            partial.unlink(missing_ok=True)

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def columns(self) -> list[str]:
        """Column names in creation order (``key`` first)."""
        return [row[1] for row in self._execute("read it", f"PRAGMA table_info({TABLE})")]

    def finished_keys(self) -> set[str]:
        """Run keys already stored."""
        return {key for (key,) in self._execute("read it", f'SELECT "key" FROM {TABLE}')}

    def append(self, row: dict) -> None:
        """Store one run. ``row["key"]`` must be a new run key (ValueError if already stored).
        ``row["history"]``, if present, is the run's learning curve: a list of dicts (or HistoryRecords)
        with the fields HISTORY_FIELDS, stored in the history table."""
        history = []
        if isinstance(row, dict) and "history" in row:
            row = dict(row)
            history = _check_history(row.pop("history"))
        row = check_row(row)
        existing = {name.lower(): name for name in self.columns()}  # SQLite names ignore case
        for name in row:
            if existing.get(name.lower(), name) != name:
                raise ValueError(
                    f"column name {name!r} clashes with the stored column {existing[name.lower()]!r} (SQLite ignores case)"
                )
        self._execute(f"store run {row['key']}", "BEGIN IMMEDIATE")  # the row is stored completely or not at all
        try:
            for name in row:
                if name.lower() not in existing:
                    self._connection.execute(f'ALTER TABLE {TABLE} ADD COLUMN "{name}"')
            names = ", ".join(f'"{name}"' for name in row)
            marks = ", ".join("?" for _ in row)
            self._connection.execute(f"INSERT INTO {TABLE} ({names}) VALUES ({marks})", list(row.values()))
            if history:
                self._connection.execute(_HISTORY_SCHEMA)
                columns = ", ".join(f'"{name}"' for name in ("key", *HISTORY_FIELDS))
                self._connection.executemany(
                    f"INSERT INTO {HISTORY} ({columns}) VALUES ({', '.join('?' * (1 + len(HISTORY_FIELDS)))})",
                    [(row["key"], *record) for record in history],
                )
        except sqlite3.IntegrityError as error:
            self._connection.execute("ROLLBACK")
            raise ValueError(
                f"run key {row['key']!r} is already stored in {self.path}; each run is stored once"
            ) from error
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        try:
            self._execute(f"store run {row['key']}", "COMMIT")
        except (
            BaseException
        ):  # a reader held the file past the timeout (or Ctrl-C): the row is not stored, nothing else changes
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise

    def record_failure(self, key: str, error: str) -> None:
        """Record a failed attempt of run ``key``; the run stays unfinished, so a rerun retries it."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"a failure needs a non-empty string run key, got {key!r}")
        self._execute(f"record a failure of run {key}", _FAILURES_SCHEMA)
        self._execute(
            f"record a failure of run {key}",
            f'INSERT INTO {FAILURES} ("key", "error") VALUES (?, ?)',
            (key, str(error)),
        )

    def failures(self, unresolved: bool = True) -> list[dict]:
        """Failed attempts (key, error, at), oldest first; ``unresolved``: only runs not finished since
        ([] for files without a failures table)."""
        if not self._has_table(FAILURES):
            return []
        query = f'SELECT "key", "error", "at" FROM {FAILURES}'
        if unresolved:
            query += f' WHERE "key" NOT IN (SELECT "key" FROM {TABLE})'
        cursor = self._execute("read it", query + " ORDER BY rowid")
        return [dict(zip(("key", "error", "at"), values)) for values in cursor]

    def rows(self, require: Sequence[str] | None = None) -> list[dict]:
        """All rows in insertion order, as dicts over every column (None where a row lacks a field).
        ``require`` (names of the columns the caller needs): read the rows as runs, checked against the
        schema: the columns exist (when there are rows) and every field of RUN_KINDS has its type, else
        ValueError naming the file and the field."""
        cursor = self._execute("read it", f"SELECT * FROM {TABLE} ORDER BY rowid")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, values)) for values in cursor]
        if require is None:
            return rows
        missing = [name for name in require if name not in names]
        if rows and missing:
            raise ValueError(
                f"results file {self.path} has no field {missing[0]!r} in its runs table (needed: {', '.join(require)})"
            )
        for row in rows:
            for name, value in row.items():
                if name in RUN_KINDS and not _has_kind(value, RUN_KINDS[name]):
                    raise ValueError(
                        f"results file {self.path}: run {row.get('key')!r} has field {name} = {value!r}, "
                        f"not {_KIND_NAMES[RUN_KINDS[name]]}"
                    )
        return rows

    def history(self, key: str | None = None) -> list[dict]:
        """Learning-curve records (key, step, epoch, train_loss, test_error, test_loss) of run ``key``, or
        of every run (in the order the runs were stored), by increasing step; [] for files without a
        history table."""
        if not self._has_table(HISTORY):
            return []
        columns = ", ".join(f'h."{name}"' for name in ("key", *HISTORY_FIELDS))
        query = f'SELECT {columns} FROM {HISTORY} h LEFT JOIN {TABLE} r ON r."key" = h."key"'
        arguments: tuple[str, ...] = ()
        if key is not None:
            query, arguments = query + ' WHERE h."key" = ?', (key,)
        cursor = self._execute("read it", query + ' ORDER BY r.rowid, h."key", h."step"', arguments)
        records = [dict(zip(("key", *HISTORY_FIELDS), values)) for values in cursor]
        for record in records:
            for name in HISTORY_FIELDS:
                kind, value = (int, record[name]) if name in ("step", "epoch") else (float, record[name])
                if not _has_kind(value, kind) or (kind is int and value is None):
                    raise ValueError(
                        f"results file {self.path}: history record of run {record['key']!r} has field {name} = "
                        f"{value!r}, not {_KIND_NAMES[kind]}"
                    )
        return records

    def has_history_table(self) -> bool:
        return self._has_table(HISTORY)

    def _has_table(self, name: str) -> bool:
        return (
            self._execute(
                "read it", "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()[0]
            > 0
        )

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write all rows as CSV with a header line, whole or not at all (never onto the results file
        itself); returns the path."""
        path = Path(path)
        check_distinct({"CSV file": path}, {"results file": self.path})
        columns, rows = self.columns(), self.rows()

        def write(f: BinaryIO) -> None:
            text = io.TextIOWrapper(f, newline="", encoding="utf-8")
            writer = csv.DictWriter(text, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
            text.flush()
            text.detach()

        return write_atomically(path, write)

    def to_pandas(self) -> pd.DataFrame:
        """All rows as a pandas DataFrame (needs pandas: the ``[pandas]`` extra of this package)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                'to_pandas() needs pandas: pip install "rhm-theory[pandas]", or use rows() / to_csv()'
            ) from error
        return pd.DataFrame(self.rows(), columns=self.columns())


def check_row(row: object) -> dict:
    """``row`` with every value as SQLite stores it, or ValueError naming the first field it cannot store
    (checked before a run starts as well as when it is appended)."""
    return {name: _check_value(name, value) for name, value in _check_row(row).items()}


def _has_kind(value: object, kind: type) -> bool:
    """Whether a value read back has the type of a field of that kind (None: no value)."""
    if value is None:
        return True
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind) and not isinstance(value, bool)


_KIND_NAMES = {int: "an integer", float: "a number", str: "text", bool: "a bool"}


def _check_row(row: object) -> dict:
    if not isinstance(row, dict):
        raise ValueError(f"a row must be a dict, got {type(row).__name__}")
    if not isinstance(row.get("key"), str) or not row["key"]:
        raise ValueError(f"a row needs a non-empty string 'key' (its run key), got {row.get('key')!r}")
    for name in row:
        if not isinstance(name, str) or not _COLUMN_NAME.match(name):
            raise ValueError(f"column name {name!r} must match {_COLUMN_NAME.pattern} (letters, digits, underscores)")
    return row


def _check_history(history: object) -> list[tuple]:
    """A learning curve as value tuples in HISTORY_FIELDS order (ValueError naming a malformed record)."""
    if not isinstance(history, (list, tuple)):
        raise ValueError(f"row field history must be a list of learning-curve records, got {type(history).__name__}")
    checked: list[tuple] = []
    for record in history:
        record = record.as_dict() if isinstance(record, HistoryRecord) else record
        if not isinstance(record, dict) or set(record) != set(HISTORY_FIELDS):
            raise ValueError(
                f"a history record must have exactly the fields {', '.join(HISTORY_FIELDS)}, got {record!r}"
            )
        checked.append(tuple(_check_record_value(name, record[name]) for name in HISTORY_FIELDS))
    steps = [record[0] for record in checked]
    if steps != sorted(set(steps)):
        raise ValueError(f"history steps must be distinct integers in increasing order, got {steps}")
    return checked


def _check_record_value(name: str, value: object) -> int | float | str | None:
    """A learning-curve value: step and epoch integers (not bools), losses numbers (not bools or text),
    stored as NULL when NaN or infinite."""
    if name in ("step", "epoch"):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"history field {name} must be an integer, got {value!r} ({type(value).__name__})")
        return _check_value(f"history.{name}", value)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, type(None))):
        raise ValueError(f"history field {name} must be a number or None, got {value!r} ({type(value).__name__})")
    return None if value is None or not math.isfinite(value) else float(value)


def _check_value(name: str, value: object) -> int | float | str | None:
    """A value SQLite stores as is: None, str, bool (as 0/1), int or float (numpy scalars converted)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, numbers.Integral)):
        value = int(value)
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"row field {name} = {value} does not fit SQLite's 64-bit integers; store it as a string")
        return value
    if isinstance(value, numbers.Real):
        value = float(value)
        return None if math.isnan(value) else value
    raise ValueError(f"row field {name} = {value!r} ({type(value).__name__}) must be None, str, bool, int or float")
