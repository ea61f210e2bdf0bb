"""Verification reports: checks with their verdicts and measured figures, written as markdown and JSON.

Every script under verification/ exposes ``run(out_dir: Path, quick: bool = True) -> Section``;
``rhm verify`` runs them all and writes one ``report.md`` (figures are PNG files in ``out_dir``) and a
machine-readable ``report.json`` next to it (one object per check, and the claims table).

A check is "discriminating" when its pass rule rejects named alternative hypotheses (it passes only
if its interval contains the claim and excludes each alternative listed in ``alternatives``), and
"smoke" when it only shows that the pipeline runs and the claim is not contradicted.

Every check has a verdict, "PASS", "FAIL" or "INCONCLUSIVE", decided by the rules of docs/theory.md,
'Verdicts', the same for every check: the design rules (under-trained runs, a censored P*, an
unresolved P*, too few points) make a check INCONCLUSIVE before its figure is looked at; then a
discriminating interval that contains the claim and a named alternative is INCONCLUSIVE; then the
interval decides PASS (contains the claim, excludes every alternative) or FAIL (excludes the claim).
An INCONCLUSIVE check carries ``reason`` (the rule that fired, with its numbers) and ``needs`` (the
design that would decide it, with its estimated cost).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

KINDS = ("discriminating", "smoke")
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
# The design rules of docs/theory.md, 'Verdicts' (declared before the results were known).
MAX_UNDER_TRAINED = 0.10  # more than this fraction of the runs behind a figure under-trained: INCONCLUSIVE
MAX_BRACKET_RATIO = 1.3  # a P* whose measured neighbours are further apart than this: INCONCLUSIVE


@dataclass
class Check:
    """One verified claim: its ``verdict`` and the measured ``figure`` that decided it (a short string).

    Built either from ``passed`` alone (verdict PASS or FAIL) or with an explicit ``verdict``;
    afterwards ``passed`` is always ``verdict == "PASS"``. ``alternatives``: the hypotheses the pass
    rule rejects (empty for a smoke check); ``kind``: one of KINDS; ``measured``: the deciding number
    (None if there is none). INCONCLUSIVE checks carry ``reason`` and ``needs`` (module docstring).
    For the claims table: ``source`` (the paper's equation or figure), ``sizes`` (the sizes covered),
    ``versus`` (the measured figure against the claim) and ``conclusion`` (one generated line; by
    default written from the verdict, :func:`conclusion`). A ladder check (rhm_theory.report.trends)
    also carries ``claim`` (the claimed value) and ``trend`` (its rungs: dicts of size, estimate,
    ci_low, ci_high, device).
    """

    name: str
    passed: bool
    figure: str
    alternatives: tuple[str, ...] = ()
    kind: str = "smoke"
    measured: float | None = None
    verdict: str = ""
    reason: str = ""
    needs: str = ""
    source: str = ""
    sizes: str = ""
    versus: str = ""
    conclusion: str = ""
    claim: float | None = None
    trend: list = field(default_factory=list)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"check kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "discriminating" and not self.alternatives:
            raise ValueError(f"check {self.name!r} is labelled discriminating but names no alternative it rejects")
        if not isinstance(self.passed, (bool, np.bool_)):
            raise ValueError(f"check {self.name!r}: passed must be a bool, got {self.passed!r}")
        if self.verdict == "":
            self.verdict = "PASS" if self.passed else "FAIL"
        if self.verdict not in VERDICTS:
            raise ValueError(f"check {self.name!r}: verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict == "INCONCLUSIVE" and not (self.reason and self.needs):
            raise ValueError(
                f"check {self.name!r} is INCONCLUSIVE but does not say why (reason) and what would decide it (needs)"
            )
        self.alternatives = tuple(self.alternatives)
        self.passed = self.verdict == "PASS"

    def inconclusive(self, reason: str, needs: str) -> Check:
        """This check with the verdict INCONCLUSIVE: ``reason`` (the rule that fired, with its numbers)
        and ``needs`` (the design that would decide it)."""
        return replace(self, verdict="INCONCLUSIVE", passed=False, reason=reason, needs=needs)

    def line(self) -> str:
        rejects = f"; rejects: {'; '.join(self.alternatives)}" if self.alternatives else ""
        undecided = f" -- {self.reason}; needs: {self.needs}" if self.verdict == "INCONCLUSIVE" else ""
        return f"{self.verdict}  {self.name}: {self.figure}  [{self.kind}{rejects}]{undecided}"

    def to_dict(self) -> dict:
        measured = self.measured
        if measured is not None and not math.isfinite(float(measured)):
            measured = None  # strict JSON: no NaN or Infinity
        document = {
            "name": self.name,
            "verdict": self.verdict,
            "passed": self.passed,
            "kind": self.kind,
            "figure": self.figure,
            "measured": None if measured is None else float(measured),
            "alternatives_rejected": list(self.alternatives) if self.passed else [],
            "alternatives": list(self.alternatives),
        }
        if self.verdict == "INCONCLUSIVE":
            document.update(reason=self.reason, needs=self.needs)
        if self.trend:
            document.update(claim=self.claim, trend=[dict(rung) for rung in self.trend])
        return document


@dataclass(frozen=True)
class Cost:
    """The design behind a check, for its ``needs``: ``seeds`` per setting, ``runs`` in all, and the
    ``cpu_seconds`` they took (wall seconds on the machine that ran them)."""

    seeds: int
    runs: int
    cpu_seconds: float

    def minutes(self, factor: float) -> str:
        """What ``factor`` x this design costs on top of it, as text ("~12 CPU-min")."""
        extra = max(factor - 1, 0) * self.cpu_seconds / 60
        return f"~{extra:.{0 if extra >= 10 else 1}f} CPU-min more at the measured {self.cpu_seconds / max(self.runs, 1):.1f} s per run"


def seeds_to_separate(half_width: float, distance: float, cost: Cost | None) -> str:
    """``needs`` of an interval of half-width ``half_width`` that must shrink below half the ``distance``
    between the claim and the nearest alternative it contains (half-width ~ 1 / sqrt(seeds))."""
    factor = (2 * half_width / distance) ** 2 if distance > 0 else math.inf
    if not math.isfinite(factor):
        return "the claim and the alternative coincide: no design separates them"
    if cost is None:
        return f"x{factor:.1f} the seeds or samples (interval half-width {half_width:.3g} -> {distance / 2:.3g}; cost not measured)"
    seeds = math.ceil(cost.seeds * factor)
    return f"{seeds} seeds instead of {cost.seeds} (interval half-width {half_width:.3g} -> {distance / 2:.3g}): {cost.minutes(factor)}"


def interval_check(
    name: str,
    estimate: float,
    low: float,
    high: float,
    *,
    claim: float,
    alternatives: dict[str, float],
    kind: str = "discriminating",
    detail: str = "",
    cost: Cost | None = None,
    source: str = "",
    sizes: str = "",
) -> Check:
    """Decide a claim from a measured figure ``estimate`` with its interval ``[low, high]``.

    A "discriminating" check passes iff the interval contains ``claim`` and excludes every value in
    ``alternatives`` (a mapping from the alternative's description to its value); it is INCONCLUSIVE
    when the interval contains the claim and an alternative (``needs``: the seeds that would separate
    them, from ``cost``), and FAILs when the interval excludes the claim. A "smoke" check (a design
    too small to reject anything) passes iff the interval contains the claim, and names no
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
    check = Check(
        name,
        inside(claim) and not (discriminating and not_excluded),
        figure,
        alternatives=tuple(alternatives) if discriminating else (),
        kind=kind,
        measured=estimate,
        source=source,
        sizes=sizes,
        versus=f"{estimate:.3g} [{low:.3g}, {high:.3g}] vs {claim:g}",
    )
    if discriminating and inside(claim) and not_excluded:
        distance = min(abs(alternatives[label] - claim) for label in not_excluded)
        reason = (
            f"the interval [{low:.3g}, {high:.3g}] contains the claim {claim:g} and the alternative "
            f"{'; '.join(not_excluded)}"
        )
        return check.inconclusive(reason, seeds_to_separate((high - low) / 2, distance, cost))
    return check


REACHED_THRESHOLD = (
    "loss_threshold"  # the stop reason of a run that fitted its training set (rhm_theory.learning.training)
)


def reached_threshold(rows) -> np.ndarray:
    """One bool per result row: True where the run stopped at its training-loss threshold, False where it
    stopped at its epoch or step cap or diverged (an under-trained run, :func:`require_trained`)."""
    return np.array([row.get("stop_reason") == REACHED_THRESHOLD for row in rows], dtype=bool)


def require_trained(check: Check, converged, cost: Cost | None = None) -> Check:
    """The under-training rule of docs/theory.md, 'Verdicts': ``check`` becomes INCONCLUSIVE when more
    than MAX_UNDER_TRAINED of the runs behind it stopped without reaching their training-loss
    threshold. ``converged`` holds one bool per run (any nesting of arrays), True where the run
    reached it. A run that stopped at its step limit without fitting its training set says nothing
    about what the data allow. The count is appended to the figure either way, and a discriminating
    check names "under-trained runs" among the alternatives it rejects."""
    flags = (
        np.concatenate([np.asarray(c, dtype=bool).ravel() for c in converged]) if len(converged) else np.zeros(0, bool)
    )
    under = int((~flags).sum())
    figure = f"{check.figure}; under-trained runs: {under}/{flags.size}"
    alternatives = check.alternatives + (("under-trained runs",) if check.kind == "discriminating" else ())
    trained = replace(check, figure=figure, alternatives=alternatives)
    if flags.size and under / flags.size > MAX_UNDER_TRAINED:
        needs = f"the {under} under-trained runs retrained with 4x their step limit"
        if cost is not None:
            needs += f" ({cost.minutes(1 + 4 * under / max(cost.runs, 1))}, if a run's cost grows with its steps)"
        return trained.inconclusive(
            f"under-trained: {under} of {flags.size} runs ({under / flags.size:.0%}) stopped "
            f"without reaching their loss threshold (rule: <= {MAX_UNDER_TRAINED:.0%})",
            needs,
        )
    return trained


def conclusion(check: Check) -> str:
    """The claims table's one-line conclusion: ``check.conclusion`` if the check wrote one, else a line
    generated from its verdict and figures."""
    if check.conclusion:
        return check.conclusion
    if check.verdict == "INCONCLUSIVE":
        if check.reason.startswith("approaching"):  # a ladder whose deviation shrinks (rhm_theory.report.trends)
            return f"approaching, needs {check.needs}"
        return f"undecided ({check.reason}); needs {check.needs}"
    measured = check.versus or check.figure.split(";")[0]
    if check.verdict == "PASS":
        rejected = f", rejecting {'; '.join(check.alternatives)}" if check.alternatives else " (smoke: rejects nothing)"
        return f"holds: {measured}{rejected}"
    return f"fails: {measured}"


def claims_table(sections: list[Section]) -> list[dict]:
    """One row per claim of the paper (the checks that name a ``source``): claim, source, verdict,
    sizes covered, measured figure against the claim, one-line conclusion."""
    return [
        {
            "claim": c.name,
            "source": c.source,
            "verdict": c.verdict,
            "sizes": c.sizes,
            "measured_vs_claim": c.versus or c.figure.split(";")[0],
            "conclusion": conclusion(c),
            "section": s.title,
        }
        for s in sections
        for c in s.checks
        if c.source
    ]


def counts(checks) -> dict[str, int]:
    """How many checks have each verdict, in VERDICTS order."""
    checks = list(checks)
    return {verdict: sum(c.verdict == verdict for c in checks) for verdict in VERDICTS}


def summary(checks) -> str:
    """The summary line of a report: "N PASS, N FAIL, N INCONCLUSIVE"."""
    return ", ".join(f"{n} {verdict}" for verdict, n in counts(checks).items())


CHECK_FIELDS = {
    "name": str,
    "passed": bool,
    "figure": str,
    "alternatives": list,
    "kind": str,
    "measured": (int, float, type(None)),
    "verdict": str,
    "reason": str,
    "needs": str,
    "source": str,
    "sizes": str,
    "versus": str,
    "conclusion": str,
    "claim": (int, float, type(None)),
    "trend": list,
}
REQUIRED_FIELDS = ("name", "passed", "figure", "alternatives", "kind")


def check_from_dict(document: dict) -> Check:
    """The Check that :meth:`Section.to_dict` stored, its fields validated (ValueError naming the field);
    a check stored before verdicts existed gets the verdict of its ``passed``."""
    if not isinstance(document, dict):
        raise ValueError(f"a stored check must be an object, got {type(document).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in document]
    if missing:
        raise ValueError(f"stored check lacks the field(s) {', '.join(missing)}")
    for name, value in document.items():
        if name not in CHECK_FIELDS:
            raise ValueError(f"stored check has an unknown field {name!r}")
        if not isinstance(value, CHECK_FIELDS[name]) or (name in ("measured", "claim") and isinstance(value, bool)):
            raise ValueError(f"stored check {document.get('name')!r}: field {name!r} has the wrong type ({value!r})")
    check = Check(**{**document, "alternatives": tuple(document["alternatives"])})
    if document.get("verdict") and check.passed != document["passed"]:
        raise ValueError(
            f"stored check {check.name!r}: passed = {document['passed']} contradicts verdict {check.verdict}"
        )
    return check


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
        checks = [
            {**vars(c), "alternatives": list(c.alternatives), "measured": c.to_dict()["measured"]} for c in self.checks
        ]
        return {"title": self.title, "checks": checks, "markdown": self.markdown, "figures": list(self.figures)}

    @classmethod
    def from_dict(cls, document: dict) -> Section:
        """The Section that :meth:`to_dict` described (checks rebuilt and validated: ValueError)."""
        if not isinstance(document, dict) or not isinstance(document.get("checks"), list):
            raise ValueError("a stored section must be an object with a list of checks")
        for name, kind in (("title", str), ("markdown", str), ("figures", list)):
            if not isinstance(document.get(name), kind):
                raise ValueError(f"stored section: field {name!r} must be a {kind.__name__}")
        checks = [check_from_dict(c) for c in document["checks"]]
        return cls(document["title"], checks, document["markdown"], list(document["figures"]))

    def to_markdown(self) -> str:
        lines = [
            f"## {self.title}",
            "",
            "| check | kind | verdict | figure | alternatives rejected |",
            "|---|---|---|---|---|",
        ]
        for c in self.checks:
            verdict = {"PASS": "PASS", "FAIL": "**FAIL**", "INCONCLUSIVE": "*INCONCLUSIVE*"}[c.verdict]
            figure = c.figure + (f" -- *{c.reason}; needs: {c.needs}*" if c.verdict == "INCONCLUSIVE" else "")
            lines.append(
                f"| {cell(c.name)} | {c.kind} | {verdict} | {cell(figure)} | "
                f"{cell('; '.join(c.alternatives)) if c.passed else '-'} |"
            )
        lines += ["", self.markdown, ""]
        lines += [f"![{name}]({name})" for name in self.figures]
        return "\n".join(lines) + "\n"


def cell(text: str) -> str:
    """``text`` as one markdown table cell (its own '|' escaped)."""
    return text.replace("|", "\\|")


def claims_markdown(rows: list[dict]) -> str:
    """The claims table of report.md (rows of :func:`claims_table`)."""
    if not rows:
        return ""
    lines = [
        "## Claims",
        "",
        "| claim | source | verdict | sizes covered | measured vs claim | conclusion |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        "| " + " | ".join(cell(r[key]) for key in ("claim", "source", "verdict")) + f" | {cell(r['sizes'] or '-')} | "
        f"{cell(r['measured_vs_claim'])} | {cell(r['conclusion'])} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n\n"


def write_report(sections: list[Section], out_dir: Path, title: str = "rhm-theory verification report") -> Path:
    """Write ``out_dir/report.md`` (claims table first) and ``out_dir/report.json`` from the sections;
    return report.md's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    every = [c for s in sections for c in s.checks]
    claims = claims_table(sections)
    head = [f"# {title}", "", f"{summary(every)} (of {len(every)} checks; rules: docs/theory.md, 'Verdicts').", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(head) + claims_markdown(claims) + "\n".join(s.to_markdown() for s in sections))
    document = {
        "title": title,
        "passed": all(c.passed for c in every),
        "counts": counts(every),
        "claims": claims,
        "checks": [{"section": s.title, **c.to_dict()} for s in sections for c in s.checks],
    }
    (out_dir / "report.json").write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    return path


def exit_status(checks, strict: bool = False) -> int:
    """0 when no check FAILs (and, with ``strict``, none is INCONCLUSIVE), else 1."""
    found = counts(checks)
    return 1 if found["FAIL"] or (strict and found["INCONCLUSIVE"]) else 0


def section_main(run, description: str) -> None:
    """Command-line entry point shared by the verification scripts (``python verification/x.py``)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="quick mode (default)")
    mode.add_argument("--full", action="store_true", help="full mode (longer, larger)")
    parser.add_argument("--out", default="verification-report", help="output folder (default: %(default)s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on INCONCLUSIVE checks too")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    section = run(out_dir, quick=not args.full)
    for check in section.checks:
        print(check.line(), flush=True)
    print(f"{summary(section.checks)}; report: {write_report([section], out_dir)}")
    sys.exit(exit_status(section.checks, args.strict))
