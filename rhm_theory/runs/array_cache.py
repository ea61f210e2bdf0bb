"""A folder of computed arrays keyed by what computed them, so that a long computation made of many
independent pieces (one setting of a sweep each) resumes after an interruption.

Each piece is one ``.npz`` file named by a hash of its key (a JSON-serialisable description: function,
parameters, seeds, sizes), written whole or not at all (rhm_theory.core.files). The runs of trained networks have their own store (rhm_theory.runs.store).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rhm_theory.core.files import write_atomically


class ArrayCache:
    """Arrays by key under ``folder`` (created on the first write)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"array cache {self.folder}: a file, not a folder")
        self.computed = 0  # pieces computed (not read back) by this object
        self.reused = 0

    def path(self, key: object) -> Path:
        canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
        return self.folder / f"{hashlib.sha256(canonical.encode()).hexdigest()[:24]}.npz"

    def get(self, key: object, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The arrays stored under ``key``, else ``compute()`` (a dict of name -> array), stored and returned."""
        path = self.path(key)
        if path.is_file():
            with np.load(path, allow_pickle=False) as stored:
                self.reused += 1
                return {name: stored[name] for name in stored.files}
        arrays = {name: np.asarray(value) for name, value in compute().items()}
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]  # array names as keywords; numpy's stub lets them match allow_pickle
        self.computed += 1
        return arrays
