"""Parameter checks shared by every public entry point (ValueError/TypeError naming the value)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.rules import SPARSE_VARIANTS, log2_placements, n_nodes, n_placements

# Every bound below is listed, with its reason, in docs/bounds.md (tests/test_bounds.py keeps the two equal).
# Integers stored or drawn as int64 (v**s tuple codes, seeds, command-line integers) are below this.
INT64_LIMIT = 2**63
# Bounds on the work a grammar implies, checked before anything is computed: tokens per datum
# d = s**L, levels L, entries of the rule arrays (n_c + (L-1) v) m s, and bits of the exact p_max.
MAX_D = 2**20
MAX_L = 64
MAX_RULE_ENTRIES = 2**26
MAX_P_MAX_BITS = 2**18
# Learning-curve records per decade of SGD steps (rhm_theory.learning.history.history_steps).
MAX_HISTORY_PER_DECADE = 1000
# Inputs of the next-token theory over every window t < d (one exact loss per window).
MAX_NEXT_TOKEN_D = 2**16
# Exact integers of at most this many digits are printed in full; larger ones in scientific form.
EXACT_DIGITS = 60
# Allocation bounds, checked before the memory is allocated.
# Entries of one data array (P x d tokens of a run, P x d x v likelihoods of rhm diffuse, ...).
MAX_ARRAY_ENTRIES = 2**31
# Weights of one network (rhm_theory.learning.models.parameter_count), all members of an ensemble together.
MAX_MODEL_PARAMETERS = 2**31
# Runs of one sweep file or one rhm pstar grid (settings x sizes x seeds), counted before they are listed
# (each run spec takes about 0.3 ms to build and check; the paper's sweep has 600).
MAX_SWEEP_RUNS = 2**16

# What a seed may be (as_generator): an int in 0..2**63-1 (a numpy integer too), a SeedSequence or a Generator.
SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator

_T = TypeVar("_T")


def shown(value: object) -> str:
    """``value`` as text for an error message: an int of more than EXACT_DIGITS digits in scientific
    form (never Python's int-to-text limit), anything else as repr, cut to 80 characters."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return readable_number(int(value))
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(name: str, value: object, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise if it is not an integer in ``minimum..maximum``
    (no upper bound when ``maximum`` is None)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {shown(value)} ({type(value).__name__})")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {shown(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} = {shown(value)} is too large: {name} must be <= {readable_number(maximum)}")
    return value


def check_text(name: str, value: object) -> str:
    """Return ``value`` if it is a non-empty string (not only blanks), else raise naming it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {shown(value)} ({type(value).__name__})")
    return value


def check_instance(name: str, value: object, kind: type[_T], what: str) -> _T:
    """Return ``value`` if it is a ``kind`` (described as ``what``), else raise naming its type."""
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def check_choice(name: str, value: _T, choices: Collection[str]) -> _T:
    """Return ``value`` if it is one of ``choices``, else raise naming the value and the choices."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: expected one of {', '.join(choices)}")
    return value


def check_symbols(name: str, values: ArrayLike, n_symbols: int, alphabet: str) -> np.ndarray:
    """``values`` as an int64 array with entries in range(n_symbols), else ValueError naming ``name``
    and the range (written ``range(alphabet)``, e.g. ``alphabet="v=8"``)."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= n_symbols):
        raise ValueError(f"{name} must be in range({alphabet}), got values in [{values.min()}, {values.max()}]")
    return values.astype(np.int64, copy=False)


def check_level(level: object, L: int) -> int:
    """``level`` as an int in 1..L (a level of the hierarchy, tokens = 1), else ValueError."""
    level = check_int("level", level, minimum=1)
    if level > L:
        raise ValueError(f"level must be in 1..L = 1..{L}, got {level}")
    return level


def check_enumerable(p_max: int, max_items: object) -> None:
    """Raise unless the ``p_max`` data of a grammar fit under ``max_items`` (the cap of an enumeration)."""
    max_items = check_int("max_items", max_items, minimum=1)
    if p_max > max_items:
        raise ValueError(
            f"enumerate() refuses p_max = {shown(p_max)} data: above max_items = {shown(max_items)} "
            "(raise max_items if you really want them all, or use sample())"
        )


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` as a bool, or raise if it is not one (the string "False" is not a bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {shown(value)} ({type(value).__name__})")
    return bool(value)


def check_zipf(value: object) -> float:
    """The exponent a of power-law (Zipf) rules, f_k proportional to k**-(1+a) (arXiv:2505.07067), as a
    float: a finite real number > 0 (not a bool), else ValueError naming the value."""
    a = math.nan
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        try:
            a = float(value)
        except OverflowError:  # an int beyond the float range
            a = math.inf
    if not (math.isfinite(a) and a > 0):
        raise ValueError(
            f"zipf must be a finite real number > 0 (rule probabilities f_k ~ k**-(1+zipf)), got {shown(value)}"
        )
    return a


def check_params(v: object, n_c: object, m: object, s: object, L: object) -> tuple[int, int, int, int, int]:
    """Validate the parameters of a grammar to be built (docs/theory.md, 'Parameters and feasibility'):
    :func:`check_feasible` plus the size bounds of :func:`check_size`; returns them as Python ints."""
    v, n_c, m, s, L = (check_int(k, x) for k, x in zip(("v", "n_c", "m", "s", "L"), (v, n_c, m, s, L)))
    check_size(v, n_c, m, s, L)
    return check_feasible(v, n_c, m, s, L)


def check_feasible(v: object, n_c: object, m: object, s: object, L: object) -> tuple[int, int, int, int, int]:
    """Validate RHM parameters as numbers, with no size bound (for formulas that never build the
    grammar, e.g. a mean-field recursion over L levels); returns them as Python ints.

    Feasibility: n_c * m <= v**s (each class owns m distinct tuples) and, when there are
    hidden levels (L >= 2), v * m <= v**s, i.e. m <= v**(s-1). v**s is compared, never computed,
    when it is far above n_c * m.
    """
    v, n_c, m, s, L = (check_int(k, x) for k, x in zip(("v", "n_c", "m", "s", "L"), (v, n_c, m, s, L)))
    needed = max(n_c, v if L >= 2 else 1) * m
    if v > 1 and s * math.log2(v) > needed.bit_length() + 1:
        return v, n_c, m, s, L
    n_tuples = v**s
    if n_c * m > n_tuples:
        raise ValueError(
            f"infeasible grammar: n_c*m = {shown(n_c)}*{shown(m)} = {shown(n_c * m)} must be <= v**s = {shown(n_tuples)} "
            "(the classes need that many distinct s-tuples)"
        )
    if L >= 2 and v * m > n_tuples:
        raise ValueError(
            f"infeasible grammar: v*m = {shown(v)}*{shown(m)} = {shown(v * m)} must be <= v**s = {shown(n_tuples)}, "
            f"i.e. m <= v**(s-1) = {shown(v ** (s - 1))} (the symbols of each level need that many distinct s-tuples)"
        )
    return v, n_c, m, s, L


def check_depth(s: int, L: int, what: str = "d = s**L", why: str = "") -> None:
    """Reject L > MAX_L levels or d = s**L > MAX_D tokens (positive ints), comparing logarithms so that
    s**L is never computed past the bound; ``what`` names d and ``why`` ends the message."""
    if L > MAX_L:
        raise ValueError(f"L = {shown(L)} levels is too many: L must be <= {MAX_L}")
    if s > MAX_D or (s > 1 and L * math.log2(s) > math.log2(MAX_D)):
        raise ValueError(
            f"{what} = {shown(s)}**{L} tokens per datum is too large{why}: d must be <= 2**{MAX_D.bit_length() - 1}"
        )


def check_size(v: int, n_c: int, m: int, s: int, L: int) -> None:
    """Reject settings whose data, rules or p_max are too large to compute, before computing them
    (positive int arguments; the bounds are MAX_D, MAX_L, MAX_RULE_ENTRIES, MAX_P_MAX_BITS and v**s < 2**63)."""
    check_depth(s, L)
    if v > 1 and s * math.log2(v) >= 63:
        raise ValueError(f"v**s = {shown(v)}**{s} must be below 2**63 so that s-tuples have int64 codes")
    entries = (n_c + (L - 1) * v) * m * s
    if entries > MAX_RULE_ENTRIES:
        raise ValueError(
            f"the rules would have (n_c + (L-1) v) m s = {shown(entries)} entries: at most 2**{MAX_RULE_ENTRIES.bit_length() - 1} are allowed"
        )
    bits = math.log2(n_c) + n_nodes(s, L) * math.log2(m)
    if bits > MAX_P_MAX_BITS:
        raise ValueError(
            f"p_max = n_c m**n_nodes has about {bits:.4g} bits: at most 2**{MAX_P_MAX_BITS.bit_length() - 1} bits are allowed "
            "(reduce m, s or L)"
        )


def check_sparse_size(n_c: int, m: int, s: int, L: int, s0: int, variant: str) -> int:
    """Reject a sparse RHM (docs/theory-sparse.md) whose input or p_max is too large, after the grammar's own
    :func:`check_size`: d = (s(s0+1))**L <= MAX_D tokens, a layout table of n_placements x s <= MAX_RULE_ENTRIES
    entries, p_max = n_c (m n_placements)**n_nodes of at most MAX_P_MAX_BITS bits (positive ints, s0 >= 0,
    variant "A" or "B"). Each bound is checked before the size it limits is computed; returns n_placements."""
    s0 = check_int("s0", s0, minimum=0)
    if variant not in SPARSE_VARIANTS:
        raise ValueError(f"variant must be one of {SPARSE_VARIANTS}, got {shown(variant)}")
    if s0 >= MAX_D:
        raise ValueError(
            f"s0 = {shown(s0)} is too large: the patch s(s0+1) of d = (s(s0+1))**L tokens must be <= 2**{MAX_D.bit_length() - 1}"
        )
    check_depth(s * (s0 + 1), L, "d = (s(s0+1))**L", f" for s0 = {s0} (lower s0 or L)")
    log2_layouts = log2_placements(s, s0, variant)
    if log2_layouts + math.log2(s) > math.log2(MAX_RULE_ENTRIES) + 1:  # surely too many: never computed
        raise ValueError(
            f"about 2**{log2_layouts:.4g} layouts of s = {s} children for s0 = {s0}, variant {variant}, are too many: "
            f"the layout table may have at most 2**{MAX_RULE_ENTRIES.bit_length() - 1} entries (lower s0 or s)"
        )
    layouts = n_placements(s, s0, variant)
    if layouts * s > MAX_RULE_ENTRIES:
        raise ValueError(
            f"n_placements = {layouts} layouts of s = {s} children are too many for s0 = {s0}: "
            f"the layout table may have at most 2**{MAX_RULE_ENTRIES.bit_length() - 1} entries (lower s0 or s)"
        )
    bits = math.log2(n_c) + n_nodes(s, L) * math.log2(m * layouts)
    if bits > MAX_P_MAX_BITS:
        raise ValueError(
            f"p_max = n_c (m n_placements)**n_nodes has about {bits:.4g} bits for s0 = {s0}: "
            f"at most 2**{MAX_P_MAX_BITS.bit_length() - 1} bits are allowed (lower s0, m, s or L)"
        )
    return layouts


def check_per_decade(value: object, name: str = "per_decade") -> int:
    """Learning-curve records per decade of steps as an int in 0..MAX_HISTORY_PER_DECADE (0: only the
    last step), else ValueError naming ``name``."""
    return check_int(name, value, minimum=0, maximum=MAX_HISTORY_PER_DECADE)


def readable_number(numerator: int, denominator: int = 1, digits: int = 7) -> str:
    """An exact int or fraction as text: in full when both parts have at most EXACT_DIGITS digits,
    else in scientific form with ``digits`` significant digits (never converts a huge int to decimal)."""
    numerator, denominator = int(numerator), int(denominator)
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    limit = 10**EXACT_DIGITS
    if abs(numerator) < limit and denominator < limit:
        return str(numerator) if denominator == 1 else f"{numerator}/{denominator}"
    if numerator == 0:
        return "0"
    sign, numerator = ("-" if numerator < 0 else ""), abs(numerator)
    exponent = int((numerator.bit_length() - denominator.bit_length()) * math.log10(2))
    for _ in range(3):  # the estimate is off by at most one; settle the leading digit exactly
        shift = digits + 1 - exponent
        scaled = numerator * 10**shift // denominator if shift >= 0 else numerator // (denominator * 10 ** (-shift))
        if scaled >= 10 ** (digits + 2):
            exponent += 1
        elif scaled < 10 ** (digits + 1):
            exponent -= 1
        else:
            break
    mantissa = str((scaled + 50) // 100)  # digits significant digits, rounded
    if len(mantissa) > digits:
        mantissa, exponent = mantissa[:digits], exponent + 1
    return f"{sign}{mantissa[0]}.{mantissa[1:]}e{exponent:+d}"


def as_generator(seed: object) -> np.random.Generator:
    """A numpy Generator from an int seed (0 <= seed < 2**63), a SeedSequence or an existing Generator
    (never global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("seed must be given explicitly (an int or a numpy.random.Generator); got None")
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    return np.random.default_rng(check_int("seed", seed, minimum=0, maximum=INT64_LIMIT - 1))


def check_entries(what: str, entries: int, limit: int = MAX_ARRAY_ENTRIES) -> int:
    """``entries`` (an exact int) if it is at most ``limit``, else ValueError naming ``what``, the size and the limit."""
    if entries > limit:
        raise ValueError(
            f"{what} would have {shown(entries)} entries: at most 2**{limit.bit_length() - 1} = {limit} are allowed"
        )
    return entries
