"""Encodings of integer tokens for networks (docs/theory.md, 'Encodings'), produced per batch on a torch device.

Shapes: tokens (P, d) int; ``one_hot`` and ``whitened_one_hot`` (P, v, d) (channels first);
``tuple_one_hot`` (P, v**s, d/s) (one channel per s-tuple of an input patch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.validation import as_generator, check_int

ENCODINGS = ("tokens", "one_hot", "whitened", "tuples")


def as_token_tensor(x, device=None) -> torch.Tensor:
    """Tokens as an int64 tensor on ``device`` (numpy arrays are copied once, tensors moved)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))
    if not isinstance(x, torch.Tensor) or x.dtype.is_floating_point:
        raise ValueError(f"tokens must be an integer numpy array or tensor, got {type(x).__name__}")
    return x.to(device=device, dtype=torch.int64)


def one_hot(x, v: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(P, d) tokens -> (P, v, d) one-hot (channel mu at position j is 1 iff x_j = mu)."""
    x = as_token_tensor(x, device)
    return torch.nn.functional.one_hot(x, check_int("v", v)).to(dtype).transpose(1, 2).contiguous()


def whitened_one_hot(x, v: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(P, d) tokens -> (P, v, d) one-hot shifted and scaled, (e - 1/v)/sqrt(1 - 1/v): zero mean, unit norm."""
    v = check_int("v", v, minimum=2)
    return (one_hot(x, v, dtype, device) - 1.0 / v) / math.sqrt(1.0 - 1.0 / v)


def tuple_one_hot(x, v: int, s: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(P, d) tokens -> (P, v**s, d/s): one-hot of the tuple code sum_i x_{js+i} v**(s-1-i) of patch j."""
    v, s = check_int("v", v), check_int("s", s)
    x = as_token_tensor(x, device)
    if x.shape[1] % s:
        raise ValueError(f"input length {x.shape[1]} is not a multiple of the patch size s={s}")
    powers = v ** torch.arange(s - 1, -1, -1, device=x.device)
    codes = (x.reshape(x.shape[0], -1, s) * powers).sum(-1)
    return torch.nn.functional.one_hot(codes, v**s).to(dtype).transpose(1, 2).contiguous()


def encode(x, v: int, s: int, kind: str = "one_hot", dtype=torch.float32, device=None) -> torch.Tensor:
    """Encode tokens (P, d) as ``kind`` in ENCODINGS ("tokens" returns the int64 tokens unchanged)."""
    if kind == "tokens":
        return as_token_tensor(x, device)
    if kind == "one_hot":
        return one_hot(x, v, dtype, device)
    if kind == "whitened":
        return whitened_one_hot(x, v, dtype, device)
    if kind == "tuples":
        return tuple_one_hot(x, v, s, dtype, device)
    raise ValueError(f"unknown encoding {kind!r}: expected one of {ENCODINGS}")


def batches(
    x,
    y,
    batch_size: int,
    *,
    v: int,
    s: int,
    kind: str = "one_hot",
    generator: torch.Generator | None = None,
    device=None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield encoded (inputs, labels) batches: slices of one permutation of the data.

    Tokens live on ``device`` once; only the current batch is encoded, so a large one-hot set is
    never materialised. ``generator`` (torch.Generator) shuffles; None keeps the given order.
    """
    batch_size = check_int("batch_size", batch_size)
    x = as_token_tensor(x, device)
    y = as_token_tensor(y, x.device)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    P = x.shape[0]
    if generator is None:
        order = torch.arange(P, device=x.device)
    else:
        order = torch.randperm(P, generator=generator, device=generator.device).to(x.device)
    stop = P - P % batch_size if drop_last else P
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield encode(x[idx], v, s, kind, device=x.device), y[idx]


class RHMDataset(torch.utils.data.Dataset):
    """A torch Dataset over tokens (P, d) and labels (P,), encoded on access.

    Implements ``__getitems__`` so a DataLoader fetches a whole batch by one slice; for training
    loops prefer :func:`batches`, which avoids the DataLoader altogether.
    """

    def __init__(self, x, y, *, v: int, s: int, kind: str = "one_hot", device=None):
        if kind not in ENCODINGS:
            raise ValueError(f"unknown encoding {kind!r}: expected one of {ENCODINGS}")
        self.x, self.y = as_token_tensor(x, device), as_token_tensor(y, device)
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"x has {self.x.shape[0]} rows but y has {self.y.shape[0]}")
        self.v, self.s, self.kind = v, s, kind

    @classmethod
    def from_params(cls, v, n_c, m, s, L, *, P: int, seed, kind: str = "one_hot", device=None) -> RHMDataset:
        """P distinct data of ``Grammar.random(v, n_c, m, s, L)`` as a Dataset, in one line.

        ``seed`` (int or numpy Generator) draws the rules, then the data, from one generator; the
        grammar is kept as ``.grammar``. P > p_max is an error (no silent clipping).
        """
        rng = as_generator(seed)
        grammar = Grammar.random(v, n_c, m, s, L, seed=rng)
        x, y = grammar.sample(P, seed=rng)
        dataset = cls(x, y, v=grammar.v, s=grammar.s, kind=kind, device=device)
        dataset.grammar = grammar
        return dataset

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i):
        return encode(self.x[i : i + 1], self.v, self.s, self.kind)[0], self.y[i]

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, device=self.x.device)
        return list(zip(encode(self.x[idx], self.v, self.s, self.kind), self.y[idx]))
