"""Verification reports: pass/fail checks with their measured figures, written as markdown.

Every script under verification/ exposes ``run(out_dir: Path, quick: bool = True) -> Section``;
``rhm verify`` runs them all and writes one ``report.md`` (figures are PNG files in ``out_dir``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Check:
    """One verified claim: ``passed`` and the measured ``figure`` that decided it (a short string)."""

    name: str
    passed: bool
    figure: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.figure}"


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

    def to_markdown(self) -> str:
        lines = [f"## {self.title}", "", "| check | result | figure |", "|---|---|---|"]
        lines += [f"| {c.name} | {'PASS' if c.passed else '**FAIL**'} | {c.figure} |" for c in self.checks]
        lines += ["", self.markdown, ""]
        lines += [f"![{name}]({name})" for name in self.figures]
        return "\n".join(lines) + "\n"


def write_report(sections: list[Section], out_dir: Path, title: str = "rhm-theory verification report") -> Path:
    """Write ``out_dir/report.md`` from the sections and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_checks = sum(len(s.checks) for s in sections)
    n_failed = sum(not c.passed for s in sections for c in s.checks)
    head = [f"# {title}", "", f"{n_checks - n_failed} of {n_checks} checks passed.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(head) + "\n".join(s.to_markdown() for s in sections))
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
