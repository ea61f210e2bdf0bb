"""docs/bounds.md and the code's limits are the same: one test reads both."""

import importlib
import re
from pathlib import Path

from rhm_theory.core import validation

BOUNDS = Path(__file__).resolve().parents[1] / "docs" / "bounds.md"


def _value(text: str) -> int:
    """An integer written ``N`` or ``B**E`` in the table."""
    match = re.fullmatch(r"(\d+)(?:\*\*(\d+))?", text)
    assert match, f"bounds.md: value {text!r} is not N or B**E"
    base, exponent = match.groups()
    return int(base) ** int(exponent or 1)


def _constant(name: str):
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module) if module else validation, attribute)


def test_the_bounds_table_lists_every_bound_constant_with_its_value():
    lines = [line for line in BOUNDS.read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["quantity", "rule", "constant", "value", "reason"]
    listed = set()
    for line in lines[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))]
        assert len(cells) == 5, f"bounds.md: malformed row {line!r}"
        assert all(cells), f"bounds.md: malformed row {line!r}"
        name, value = cells[2].strip("`"), cells[3].strip("`")
        assert _constant(name) == _value(value), f"bounds.md says {name} = {value}, the code has {_constant(name)}"
        listed.add(name)
    bound_constants = {
        name
        for name, value in vars(validation).items()
        if re.fullmatch(r"MAX_[A-Z0-9_]+|INT64_LIMIT|EXACT_DIGITS", name) and isinstance(value, int)
    }
    assert bound_constants <= listed, (
        f"bounds of validation.py missing from docs/bounds.md: {sorted(bound_constants - listed)}"
    )
