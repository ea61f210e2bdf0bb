"""Sweep files: a TOML description of many runs, expanded into run specs (rhm_theory.runs.spec.RunSpec).

Every value may be a scalar or a list; the sweep is the Cartesian product of all lists::

    [grammar]  # the paper's parameters
    v = 8
    n_c = [4, 8]
    m = 4
    s = 2
    L = [2, 3]
    # rules = "uncorrelated"   # optional: random (default) or uncorrelated rules
    # s0 = [0, 1, 2]           # optional: sparse RHM (arXiv:2404.10727), with variant = "A" (default) or "B"
    # zipf = [0.5, 1.5]        # optional: power-law rules (arXiv:2505.07067), a > 0; i.i.d. train and test data

    [data]
    P_over_ncmL = [0.5, 1, 2, 4]  # training-set sizes relative to n_c m^L (rounded; s0 does not enter), or
    # P = [128, 256, 512]          # absolute sizes, or a P* search by bisection in log P per setting:
    # adaptive = { P_low_over_ncmL = 0.25, P_high_over_ncmL = 8, steps = 4 }
    P_test = 1024

    [training]  # any training field (rhm_theory.learning.config.TrainSettings)
    model = "cnn"
    width = 64
    max_epochs = 100

    [run]
    seeds = 3  # seeds 0, 1, 2 (or an explicit list)
    sensitivity_samples = 0

Errors name the offending field (``data.P``, ``training.width``, ...).
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from rhm_theory.core.rules import ncmL
from rhm_theory.core.validation import MAX_SWEEP_RUNS, check_zipf
from rhm_theory.learning.config import TRAINING_FIELDS, field_kinds
from rhm_theory.runs.spec import SPEC_CHOICES, RunSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

GRAMMAR_FIELDS = ("v", "n_c", "m", "s", "L")
OPTIONAL_GRAMMAR_FIELDS = ("rules", "s0", "variant", "zipf")  # RunSpec fields with defaults
SECTIONS = {
    "grammar": GRAMMAR_FIELDS + OPTIONAL_GRAMMAR_FIELDS,
    "data": ("P", "P_over_ncmL", "adaptive", "P_test"),
    "training": TRAINING_FIELDS,
    "run": ("seeds", "sensitivity_samples"),
}


class SweepError(ValueError):
    """A malformed sweep file; the message names the field."""


def load_sweep(path: str | os.PathLike) -> list[RunSpec]:
    """Read a grid sweep file and expand it into run specs (see the module docstring)."""
    return expand_sweep(read_sweep(path))


def read_sweep(path: str | os.PathLike) -> dict:
    """The parsed TOML document of a sweep file (SweepError if unreadable or not TOML)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SweepError(f"cannot read sweep file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"sweep file {path} is not valid TOML: {error}") from None
    except RecursionError:
        raise SweepError(
            f"sweep file {path} nests tables or arrays too deeply: a sweep file has sections of scalars and lists"
        ) from None
    return document


def _values(section: str, name: str, value: object) -> list:
    """A field's values as a non-empty list of scalars of the field's type."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SweepError(f"field {section}.{name} is an empty list")
    for item in values:
        if isinstance(item, (dict, list)):
            raise SweepError(f"field {section}.{name} must be a scalar or a list of scalars, got {item!r}")
    _check_type(section, name, values)
    for item in values if name in _CHECKS else ():
        try:
            _CHECKS[name](item)
        except ValueError as error:
            raise SweepError(f"field {section}.{name} = {item!r}: {error}") from None
    return values


def expand_sweep(document: dict) -> list[RunSpec]:
    """Run specs of a parsed grid sweep document, in a deterministic order (product of all lists)."""
    data = document.get("data", {})
    sizes = data.get("P", data.get("P_over_ncmL")) if isinstance(data, dict) else None
    settings, seeds = _settings(document, sizes=len(sizes) if isinstance(sizes, list) else 1)
    if "adaptive" in data:
        raise SweepError("this sweep searches P adaptively (data.adaptive): use adaptive_searches()")
    if ("P" in data) == ("P_over_ncmL" in data):
        raise SweepError(
            "give exactly one of data.P (sizes), data.P_over_ncmL (sizes relative to n_c m^L) and data.adaptive"
        )
    size_field = "P" if "P" in data else "P_over_ncmL"
    sizes = _values("data", size_field, data[size_field])
    specs, seen = [], set()
    for setting in settings:
        for size in sizes:
            P = size if size_field == "P" else _relative_size(size, setting)
            for seed in seeds:
                spec = _make_spec({**setting, "P": P, "seed": seed})
                if spec not in seen:
                    seen.add(spec)
                    specs.append(spec)
    return specs


@dataclass(frozen=True)
class AdaptiveSearch:
    """P* of one setting by bisection in log P (rhm_theory.runs.pstar.adaptive_pstar) over all seeds.

    ``base`` is the setting (at P = P_low, first seed); the bracket [P_low, P_high] is measured
    first, then ``steps`` midpoints.
    """

    base: RunSpec
    seeds: tuple
    P_low: int
    P_high: int
    steps: int


ADAPTIVE_FIELDS = ("P_low_over_ncmL", "P_high_over_ncmL", "steps")


def adaptive_searches(document: dict) -> list[AdaptiveSearch]:
    """The per-setting P* searches of a sweep whose [data] has
    ``adaptive = { P_low_over_ncmL = 0.25, P_high_over_ncmL = 8, steps = 4 }``."""
    settings, seeds = _settings(document)
    data = document.get("data", {})
    adaptive = data.get("adaptive")
    if not isinstance(adaptive, dict):
        raise SweepError(
            "field data.adaptive must be a table { P_low_over_ncmL = ..., P_high_over_ncmL = ..., steps = ... }"
        )
    if "P" in data or "P_over_ncmL" in data:
        raise SweepError(
            "give exactly one of data.P (sizes), data.P_over_ncmL (sizes relative to n_c m^L) and data.adaptive"
        )
    for name in adaptive:
        if name not in ADAPTIVE_FIELDS:
            raise SweepError(f"unknown field data.adaptive.{name}: it takes {', '.join(ADAPTIVE_FIELDS)}")
    for name in ADAPTIVE_FIELDS:
        if name not in adaptive:
            raise SweepError(f"missing field data.adaptive.{name}")
    steps = adaptive["steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise SweepError(f"field data.adaptive.steps must be an integer >= 0, got {steps!r}")
    searches = []
    for setting in settings:
        P_low = _relative_size(adaptive["P_low_over_ncmL"], setting, "data.adaptive.P_low_over_ncmL")
        P_high = _relative_size(adaptive["P_high_over_ncmL"], setting, "data.adaptive.P_high_over_ncmL")
        if P_high <= P_low:
            raise SweepError(
                f"field data.adaptive: the bracket needs P_high > P_low, got {P_high} <= {P_low} for {setting}"
            )
        _make_spec({**setting, "P": P_high, "seed": seeds[0]})  # the bracket fits the grammar
        if setting.get("task", "class") != "class":
            raise SweepError(
                f"field training.task = {setting['task']!r}: an adaptive P* search needs task 'class' "
                "(the next-token task has no P*; use data.P or data.P_over_ncmL)"
            )
        searches.append(
            AdaptiveSearch(_make_spec({**setting, "P": P_low, "seed": seeds[0]}), tuple(seeds), P_low, P_high, steps)
        )
    return searches


def _settings(document: dict, sizes: int = 1) -> tuple[list[dict], list[int]]:
    """Validate the document; every combination of the non-size fields, and the seeds. The number of
    runs (combinations x ``sizes`` x seeds) is checked against MAX_SWEEP_RUNS before any is listed."""
    for section, content in document.items():
        if section not in SECTIONS:
            raise SweepError(f"unknown section [{section}]: expected {', '.join(SECTIONS)}")
        if not isinstance(content, dict):
            raise SweepError(f"[{section}] must be a table of fields")
        for name in content:
            if name not in SECTIONS[section]:
                raise SweepError(f"unknown field {section}.{name}: [{section}] takes {', '.join(SECTIONS[section])}")
    grammar = document.get("grammar", {})
    for name in GRAMMAR_FIELDS:
        if name not in grammar:
            raise SweepError(f"missing field grammar.{name}")
    data = document.get("data", {})
    run = document.get("run", {})
    seeds = run.get("seeds", 1)
    counts = [
        len(value) if isinstance(value, list) else 1
        for name, value in [*grammar.items(), *document.get("training", {}).items(), *data.items(), *run.items()]
        if name not in ("P", "P_over_ncmL", "adaptive", "seeds")
    ]
    n_seeds = (
        seeds
        if isinstance(seeds, int) and not isinstance(seeds, bool)
        else len(seeds)
        if isinstance(seeds, list)
        else 1
    )
    runs = math.prod(counts) * sizes * n_seeds
    if runs > MAX_SWEEP_RUNS:
        raise SweepError(
            f"the sweep has {runs} runs (settings x sizes x seeds = {math.prod(counts)} x {sizes} x {n_seeds}): "
            f"at most {MAX_SWEEP_RUNS} are allowed in one file; split it into several"
        )
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise SweepError(f"field run.seeds = {seeds} must be >= 1 (a count) or a list of seeds")
        seeds = list(range(seeds))
    seeds = _values("run", "seeds", seeds)
    axes = {
        name: _values("grammar", name, grammar[name])
        for name in GRAMMAR_FIELDS + OPTIONAL_GRAMMAR_FIELDS
        if name in grammar
    }
    axes.update({name: _values("training", name, value) for name, value in document.get("training", {}).items()})
    if "P_test" in data:
        axes["P_test"] = _values("data", "P_test", data["P_test"])
    if "sensitivity_samples" in run:
        axes["sensitivity_samples"] = _values("run", "sensitivity_samples", run["sensitivity_samples"])
    names = list(axes)
    return [dict(zip(names, combination)) for combination in itertools.product(*(axes[name] for name in names))], seeds


def _relative_size(factor: object, settings: dict, field: str = "data.P_over_ncmL") -> int:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 0:
        raise SweepError(f"field {field} values must be positive finite numbers, got {factor!r}")
    return max(1, round(factor * ncmL(settings["n_c"], settings["m"], settings["L"])))


# The type of every sweep field that is a RunSpec field, and of run.seeds (a list of run seeds).
_KINDS = {**field_kinds(RunSpec), "seeds": int}
# Fields whose values are also checked one by one, so that an error names the field.
_CHECKS = {"zipf": check_zipf}


def _check_type(section: str, name: str, values: list) -> None:
    """Each value has the type of the RunSpec field (integers, numbers, strings) and, for a field with
    a fixed list of names (model, parametrization, optimizer, rules, variant), is one of them."""
    kind = _KINDS.get(name)
    if kind is int:
        expected, ok = "an integer", lambda x: isinstance(x, int) and not isinstance(x, bool)
    elif kind is float:
        expected, ok = "a number", lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
    elif kind is str:
        expected, ok = "a string", lambda x: isinstance(x, str)
    else:
        return
    for value in values:
        if not ok(value):
            raise SweepError(f"field {section}.{name} must be {expected}, got {value!r}")
    choices = SPEC_CHOICES.get(name, values)
    for value in values:
        if value not in choices:
            article = "an" if name[0] in "aeiou" else "a"
            raise SweepError(
                f"field {section}.{name} = {value!r} is not {article} {name}: expected one of {', '.join(choices)}"
            )


def _make_spec(values: dict) -> RunSpec:
    try:
        return RunSpec(**values)
    except (ValueError, TypeError) as error:
        raise SweepError(f"invalid run {values}: {error}") from None
