"""Parameter checks shared by every public entry point (ValueError/TypeError naming the value)."""

from __future__ import annotations

import numbers

import numpy as np

INT64_LIMIT = 2**63


def check_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as a Python int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming the value and the choices."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: expected one of {', '.join(choices)}")
    return value


def check_symbols(name: str, values, n_symbols: int, alphabet: str) -> np.ndarray:
    """``values`` as an int64 array with entries in range(n_symbols), else ValueError naming ``name``
    and the range (written ``range(alphabet)``, e.g. ``alphabet="v=8"``)."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= n_symbols):
        raise ValueError(f"{name} must be in range({alphabet}), got values in [{values.min()}, {values.max()}]")
    return values.astype(np.int64, copy=False)


def check_level(level, L: int) -> int:
    """``level`` as an int in 1..L (a level of the hierarchy, tokens = 1), else ValueError."""
    level = check_int("level", level, minimum=1)
    if level > L:
        raise ValueError(f"level must be in 1..L = 1..{L}, got {level}")
    return level


def check_enumerable(p_max: int, max_items) -> None:
    """Raise unless the ``p_max`` data of a grammar fit under ``max_items`` (the cap of an enumeration)."""
    max_items = check_int("max_items", max_items, minimum=1)
    if p_max > max_items:
        raise ValueError(
            f"enumerate() refuses p_max = {p_max} data: above max_items = {max_items} "
            "(raise max_items if you really want them all, or use sample())"
        )


def check_params(v, n_c, m, s, L) -> tuple[int, int, int, int, int]:
    """Validate RHM parameters (docs/theory.md, 'Parameters and feasibility') and return them as Python ints.

    Feasibility: n_c * m <= v**s (each class owns m distinct tuples) and, when there are
    hidden levels (L >= 2), v * m <= v**s, i.e. m <= v**(s-1).
    """
    v, n_c, m, s, L = (check_int(k, x) for k, x in zip(("v", "n_c", "m", "s", "L"), (v, n_c, m, s, L)))
    n_tuples = v**s
    if n_tuples >= INT64_LIMIT:
        raise ValueError(f"v**s = {v}**{s} = {n_tuples} must be below 2**63 so that s-tuples have int64 codes")
    if n_c * m > n_tuples:
        raise ValueError(
            f"infeasible grammar: n_c*m = {n_c}*{m} = {n_c * m} must be <= v**s = {n_tuples} "
            "(the classes need that many distinct s-tuples)"
        )
    if L >= 2 and v * m > n_tuples:
        raise ValueError(
            f"infeasible grammar: v*m = {v}*{m} = {v * m} must be <= v**s = {n_tuples}, "
            f"i.e. m <= v**(s-1) = {v ** (s - 1)} (the symbols of each level need that many distinct s-tuples)"
        )
    return v, n_c, m, s, L


def as_generator(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, a SeedSequence or an existing Generator (never global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("seed must be given explicitly (an int or a numpy.random.Generator); got None")
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    return np.random.default_rng(check_int("seed", seed, minimum=0))
