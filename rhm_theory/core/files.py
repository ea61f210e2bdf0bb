"""Files written whole or not at all: the one way this package replaces an output file.

A command checks all its outputs before it computes anything (:func:`check_output_name`,
:func:`check_distinct`, :func:`check_writable_folder`), writes each into a hidden temporary file or
folder next to it (:func:`staged`, :func:`staged_folder`) and moves them into place only when the
whole command has succeeded: a refused or failed command leaves every existing file as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through ``write(f)`` (f: a binary file object) into a hidden temporary file next to
    it, then move that file onto ``path``. On any error, ``KeyboardInterrupt`` included, the temporary
    file is removed and ``path`` is left as it was. Returns ``path``."""
    path = Path(path)
    with staged(path) as (partial,), open(partial, "wb") as f:
        write(f)
    return path


@contextlib.contextmanager
def staged(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Hidden temporary paths (``.NAME.partial`` next to each of ``paths``) to write the outputs into;
    when the block ends normally each is moved onto its path, else all are removed and every path is
    left as it was."""
    targets = [Path(path) for path in paths]
    partials = [path.with_name(f".{path.name}.partial") for path in targets]
    try:
        yield partials
        for partial, path in zip(partials, targets):
            os.replace(partial, path)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A hidden temporary folder (in the nearest existing folder above ``path``) to write files into; when
    the block ends normally its files are moved into ``path`` (created with its parents; files of the
    same name replaced), else it is removed and nothing is left behind."""
    path = Path(path).absolute()
    existing = next(folder for folder in path.parents if folder.is_dir())
    partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=existing))
    try:
        yield partial
        path.mkdir(parents=True, exist_ok=True)
        for item in partial.iterdir():
            os.replace(item, path / item.name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def check_output_name(name: str, path: object) -> Path:
    """``path`` as a Path, or ValueError if it is empty or only blanks (``name``: the flag or argument)."""
    if not isinstance(path, (str, os.PathLike)) or not str(os.fspath(path)).strip():
        raise ValueError(f"{name} needs a file or folder name, got {path!r}")
    return Path(path)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether paths ``a`` and ``b`` name the same file (after symbolic links; hard links too when both exist)."""
    a, b = Path(a), Path(b)
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_distinct(
    outputs: Mapping[str, str | os.PathLike | None], inputs: Mapping[str, str | os.PathLike | None] | None = None
) -> None:
    """ValueError unless every output path (``{name: path}``, None entries ignored) differs from every
    other output and from every input path: a command never writes over what it reads, or twice in one place."""
    output_paths = [(name, path) for name, path in outputs.items() if path is not None]
    input_paths = [(name, path) for name, path in (inputs or {}).items() if path is not None]
    for i, (name, path) in enumerate(output_paths):
        for other, other_path in output_paths[:i]:
            if same_file(path, other_path):
                raise ValueError(
                    f"{name} {path} and {other} {other_path} are the same path: give each output its own name"
                )
        for other, other_path in input_paths:
            if same_file(path, other_path):
                raise ValueError(
                    f"output {name} {path} is the input {other} {other_path}: refusing to write over an input"
                )


def check_folder_path(name: str, path: str | os.PathLike) -> Path:
    """``path`` as a Path that can be (or is) a folder: neither it nor any of its parents is a file,
    else ValueError naming ``name`` (the flag, or what the folder is) and the file in the way."""
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{name} {path}: {folder} is a file, not a folder")
    return path


def check_writable_folder(name: str, path: object) -> Path:
    """``path`` as a folder that outputs can be added to, checked before anything is computed: no file
    among it and its parents, and its nearest existing folder writable (probed with a temporary file
    that is removed at once). Nothing is created."""
    path = check_folder_path(name, check_output_name(name, path))
    existing = next(folder for folder in (path.absolute(), *path.absolute().parents) if folder.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ValueError(f"{name} {path}: cannot write into {existing} ({error.strerror})") from None
    return path
