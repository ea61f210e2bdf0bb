"""Sweep files: a TOML description of many runs, expanded into run specs (rhm_theory.experiment.RunSpec).

Every value may be a scalar or a list; the sweep is the Cartesian product of all lists::

    [grammar]                  # the paper's parameters
    v = 8
    n_c = [4, 8]
    m = 4
    s = 2
    L = [2, 3]

    [data]
    P_over_ncmL = [0.5, 1, 2, 4]   # training-set sizes relative to n_c m^L (rounded), or
    # P = [128, 256, 512]          # absolute sizes (exactly one of the two)
    P_test = 1024

    [training]                 # any training field of RunSpec
    model = "cnn"
    width = 64
    max_epochs = 100

    [run]
    seeds = 3                  # seeds 0, 1, 2 (or an explicit list)
    sensitivity_samples = 0

Errors name the offending field (``data.P``, ``training.width``, ...).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import fields
from pathlib import Path

from .experiment import RunSpec
from .models import MODEL_NAMES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

GRAMMAR_FIELDS = ("v", "n_c", "m", "s", "L")
TRAINING_FIELDS = tuple(
    f.name for f in fields(RunSpec) if f.name not in GRAMMAR_FIELDS + ("P", "P_test", "seed", "sensitivity_samples")
)
SECTIONS = {
    "grammar": GRAMMAR_FIELDS,
    "data": ("P", "P_over_ncmL", "P_test"),
    "training": TRAINING_FIELDS,
    "run": ("seeds", "sensitivity_samples"),
}


class SweepError(ValueError):
    """A malformed sweep file; the message names the field."""


def load_sweep(path: str | os.PathLike) -> list[RunSpec]:
    """Read a sweep file and expand it into run specs (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SweepError(f"cannot read sweep file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"sweep file {path} is not valid TOML: {error}") from None
    return expand_sweep(document)


def _values(section: str, name: str, value) -> list:
    """A field's values as a non-empty list of scalars of the field's type."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SweepError(f"field {section}.{name} is an empty list")
    for item in values:
        if isinstance(item, (dict, list)):
            raise SweepError(f"field {section}.{name} must be a scalar or a list of scalars, got {item!r}")
    _check_type(section, name, values)
    return values


def expand_sweep(document: dict) -> list[RunSpec]:
    """Run specs of a parsed sweep document, in a deterministic order (product of all lists)."""
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
    if ("P" in data) == ("P_over_ncmL" in data):
        raise SweepError("give exactly one of data.P (sizes) and data.P_over_ncmL (sizes relative to n_c m^L)")
    run = document.get("run", {})
    seeds = run.get("seeds", 1)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise SweepError(f"field run.seeds = {seeds} must be >= 1 (a count) or a list of seeds")
        seeds = list(range(seeds))
    seeds = _values("run", "seeds", seeds)

    axes = {name: _values("grammar", name, grammar[name]) for name in GRAMMAR_FIELDS}
    axes.update({name: _values("training", name, value) for name, value in document.get("training", {}).items()})
    for name in ("P_test",):
        if name in data:
            axes[name] = _values("data", name, data[name])
    if "sensitivity_samples" in run:
        axes["sensitivity_samples"] = _values("run", "sensitivity_samples", run["sensitivity_samples"])
    size_field = "P" if "P" in data else "P_over_ncmL"
    sizes = _values("data", size_field, data[size_field])

    specs, seen = [], set()
    names = list(axes)
    for combination in itertools.product(*(axes[name] for name in names)):
        settings = dict(zip(names, combination))
        for size in sizes:
            P = size if size_field == "P" else _relative_size(size, settings)
            for seed in seeds:
                spec = _make_spec({**settings, "P": P, "seed": seed})
                if spec not in seen:
                    seen.add(spec)
                    specs.append(spec)
    return specs


def _relative_size(factor, settings: dict) -> int:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
        raise SweepError(f"field data.P_over_ncmL values must be positive numbers, got {factor!r}")
    return max(1, round(factor * settings["n_c"] * settings["m"] ** settings["L"]))


def _check_type(section: str, name: str, values: list) -> None:
    """Each value has the type of the RunSpec field (ints for counts, numbers for rates, names as strings)."""
    default = _DEFAULTS.get(name)
    if name in GRAMMAR_FIELDS + ("P", "P_test", "sensitivity_samples", "seeds", "width", "batch_size", "max_epochs", "max_steps"):
        expected, ok = "an integer", lambda x: isinstance(x, int) and not isinstance(x, bool)
    elif isinstance(default, float):
        expected, ok = "a number", lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
    elif isinstance(default, str):
        expected, ok = "a string", lambda x: isinstance(x, str)
    else:
        return
    for value in values:
        if not ok(value):
            raise SweepError(f"field {section}.{name} must be {expected}, got {value!r}")
    if name == "model":
        for value in values:
            if value not in MODEL_NAMES:
                raise SweepError(f"field training.model = {value!r} is not a model: expected one of {', '.join(MODEL_NAMES)}")


_DEFAULTS = {f.name: f.default for f in fields(RunSpec)}


def _make_spec(values: dict) -> RunSpec:
    try:
        return RunSpec(**values)
    except (ValueError, TypeError) as error:
        raise SweepError(f"invalid run {values}: {error}") from None
