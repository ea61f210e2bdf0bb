"""Files written whole or not at all: the one way this package replaces an output file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable


def write_atomically(path, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` through ``write(f)`` (f: a binary file object) into a hidden temporary file next to
    it, then move that file onto ``path``. On any error, ``KeyboardInterrupt`` included, the temporary
    file is removed and ``path`` is left as it was. Returns ``path``."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as f:
            write(f)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
