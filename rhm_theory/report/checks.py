"""Verification reports: pass/fail checks with their measured figures, written as markdown and JSON.

Every script under verification/ exposes ``run(out_dir: Path, quick: bool = True) -> Section``;
``rhm verify`` runs them all and writes one ``report.md`` (figures are PNG files in ``out_dir``) and a
machine-readable ``report.json`` next to it (one object per check).

A check is "discriminating" when its pass rule rejects named alternative hypotheses (it passes only
if its interval contains the claim and excludes each alternative listed in ``alternatives``), and
"smoke" when it only shows that the pipeline runs and the claim is not contradicted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

KINDS = ("discriminating", "smoke")


@dataclass
class Check:
    """One verified claim: ``passed`` and the measured ``figure`` that decided it (a short string).

    ``alternatives``: the hypotheses the pass rule rejects (empty for a smoke check); ``kind``: one of
    KINDS; ``measured``: the deciding number (None if there is none), for report.json.
    """

    name: str
    passed: bool
    figure: str
    alternatives: tuple[str, ...] = ()
    kind: str = "smoke"
    measured: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"check kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "discriminating" and not self.alternatives:
            raise ValueError(f"check {self.name!r} is labelled discriminating but names no alternative it rejects")
        self.alternatives = tuple(self.alternatives)
        self.passed = bool(self.passed)

    def line(self) -> str:
        rejects = f"; rejects: {'; '.join(self.alternatives)}" if self.alternatives else ""
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.figure}  [{self.kind}{rejects}]"

    def to_dict(self) -> dict:
        measured = self.measured
        if measured is not None and not math.isfinite(float(measured)):
            measured = None  # strict JSON: no NaN or Infinity
        return {
            "name": self.name,
            "passed": self.passed,
            "kind": self.kind,
            "figure": self.figure,
            "measured": None if measured is None else float(measured),
            "alternatives_rejected": list(self.alternatives) if self.passed else [],
            "alternatives": list(self.alternatives),
        }


def interval_check(name: str, estimate: float, low: float, high: float, *, claim: float,
                   alternatives: dict[str, float], kind: str = "discriminating", detail: str = "") -> Check:
    """Decide a claim from a measured figure ``estimate`` with its interval ``[low, high]``.

    A "discriminating" check passes iff the interval contains ``claim`` and excludes every value in
    ``alternatives`` (a mapping from the alternative's description to its value). A "smoke" check (a
    design too small to reject anything) passes iff the interval contains the claim, and names no
    alternative as rejected; its figure still lists the alternatives the interval does not exclude.
    ``detail`` is appended to the figure.
    """
    if low > high:  # NaN bounds (no estimate) pass through and fail the check
        raise ValueError(f"interval must have low <= high, got [{low}, {high}]")
    if kind == "discriminating" and not alternatives:
        raise ValueError(f"check {name!r} is labelled discriminating but names no alternative it rejects")

    def inside(value: float) -> bool:  # a NaN bound contains nothing
        return bool(low <= value <= high)

    not_excluded = [label for label, value in alternatives.items() if inside(value)]
    figure = f"{estimate:.3f} [{low:.3f}, {high:.3f}]; claim {claim:g} {'inside' if inside(claim) else 'OUTSIDE'}"
    if not_excluded:
        figure += f"; NOT excluded: {'; '.join(not_excluded)}"
    if detail:
        figure += f"; {detail}"
    discriminating = kind == "discriminating"
    passed = inside(claim) and not (discriminating and not_excluded)
    return Check(name, passed, figure, alternatives=tuple(alternatives) if discriminating else (), kind=kind,
                 measured=estimate)


REACHED_THRESHOLD = "loss_threshold"  # the stop reason of a run that fitted its training set (rhm_theory.learning.training)


def reached_threshold(rows) -> np.ndarray:
    """One bool per result row: True where the run stopped at its training-loss threshold, False where it
    stopped at its epoch or step cap or diverged (an under-trained run, :func:`require_trained`)."""
    return np.array([row.get("stop_reason") == REACHED_THRESHOLD for row in rows], dtype=bool)


def require_trained(check: Check, converged) -> Check:
    """``check`` failed if any run behind it is under-trained: ``converged`` holds one bool per run (any
    nesting of arrays), True where the run reached its training-loss threshold. A run that stopped at
    its step limit without fitting its training set says nothing about what the data allow, so its
    test error cannot count for or against a claim. The count is appended to the figure either way,
    and a discriminating check names "under-trained runs" among the alternatives it rejects."""
    flags = np.concatenate([np.asarray(c, dtype=bool).ravel() for c in converged]) if len(converged) else np.zeros(0, bool)
    under = int((~flags).sum())
    figure = f"{check.figure}; under-trained runs: {under}/{flags.size}"
    alternatives = check.alternatives + (("under-trained runs",) if check.kind == "discriminating" else ())
    return replace(check, passed=check.passed and under == 0, figure=figure, alternatives=alternatives)


@dataclass
class Section:
    """What one verification script reports: its checks, markdown body and PNG files (relative names)."""

    title: str
    checks: list[Check] = field(default_factory=list)
    markdown: str = ""
    figures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        checks = [{**vars(c), "alternatives": list(c.alternatives), "measured": c.to_dict()["measured"]} for c in self.checks]
        return {"title": self.title, "checks": checks, "markdown": self.markdown, "figures": list(self.figures)}

    @classmethod
    def from_dict(cls, document: dict) -> "Section":
        """The Section that :meth:`to_dict` described (checks rebuilt and validated)."""
        checks = [Check(**{**c, "alternatives": tuple(c["alternatives"])}) for c in document["checks"]]
        return cls(document["title"], checks, document["markdown"], list(document["figures"]))

    def to_markdown(self) -> str:
        lines = [f"## {self.title}", "", "| check | kind | result | figure | alternatives rejected |", "|---|---|---|---|---|"]
        lines += [
            f"| {c.name} | {c.kind} | {'PASS' if c.passed else '**FAIL**'} | {c.figure} | {'; '.join(c.alternatives) or '-'} |"
            for c in self.checks
        ]
        lines += ["", self.markdown, ""]
        lines += [f"![{name}]({name})" for name in self.figures]
        return "\n".join(lines) + "\n"


def write_report(sections: list[Section], out_dir: Path, title: str = "rhm-theory verification report") -> Path:
    """Write ``out_dir/report.md`` and ``out_dir/report.json`` from the sections; return report.md's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_checks = sum(len(s.checks) for s in sections)
    n_failed = sum(not c.passed for s in sections for c in s.checks)
    head = [f"# {title}", "", f"{n_checks - n_failed} of {n_checks} checks passed.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(head) + "\n".join(s.to_markdown() for s in sections))
    document = {
        "title": title,
        "passed": n_failed == 0,
        "checks": [{"section": s.title, **c.to_dict()} for s in sections for c in s.checks],
    }
    (out_dir / "report.json").write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    return path


def section_main(run, description: str) -> None:
    """Command-line entry point shared by the verification scripts (``python verification/x.py``)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="quick mode (default)")
    mode.add_argument("--full", action="store_true", help="full mode (longer, larger)")
    parser.add_argument("--out", default="verification-report", help="output folder (default: %(default)s)")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    section = run(out_dir, quick=not args.full)
    for check in section.checks:
        print(check.line(), flush=True)
    print(f"report: {write_report([section], out_dir)}")
    sys.exit(0 if section.passed else 1)
