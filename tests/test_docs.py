"""The theory document docs/theory.md and the references to it.

- no source file cites a document outside the repository or an issue number;
- every 'docs/theory.md, "Heading"' citation in the code names a heading that exists;
- the closed forms written in docs/theory.md equal the sympy derivation;
- ``rhm theory`` prints a description per quantity and ``--latex`` is a complete LaTeX document
  (compiled with pdflatex when it is installed; its structure is checked in any case).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from rhm_theory.cli import main
from rhm_theory.theory import sparse_symbolic, symbolic

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
SOURCE_DIRS = ("rhm_theory", "verification", "benchmarks")
SOURCE_SUFFIXES = (".py", ".toml")
FORBIDDEN = [
    (re.compile(r"THEORY\.md|THEORY\s*§"), "a theory file outside the repository (cite docs/theory.md)"),
    (re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE), "an issue number (cite docs/theory.md or the paper)"),
]
CITATION = re.compile(r"docs/theory\.md,\s*['\"]([^'\"]+)['\"]")


def source_files() -> list[Path]:
    files = [
        path for folder in SOURCE_DIRS for path in sorted((ROOT / folder).rglob("*")) if path.suffix in SOURCE_SUFFIXES
    ]
    assert len(files) > 30, "the source folders were not found"
    return [*files, ROOT / "README.md"]


def headings() -> set[str]:
    return {line.lstrip("#").strip() for line in THEORY.read_text().splitlines() if line.startswith("#")}


def test_no_references_to_outside_documents_or_issue_numbers():
    found = []
    for path in source_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found += [
                f"{path.relative_to(ROOT)}:{number}: {why}: {line.strip()}"
                for pattern, why in FORBIDDEN
                if pattern.search(line)
            ]
    assert not found, "\n".join(found)


def test_forbidden_patterns_catch_what_they_must():
    """The patterns above are not vacuous: they match the forms that were in the code."""
    for bad in ("(THEORY.md §2)", "(THEORY §3)", "(issue 5):", "Issue #12", "issues 3"):
        assert any(pattern.search(bad) for pattern, _ in FORBIDDEN), bad
    assert not any(pattern.search("see docs/theory.md, 'Sample complexity'") for pattern, _ in FORBIDDEN)


def test_every_cited_section_is_a_heading_of_the_theory_document():
    existing = headings()
    cited = {}
    for path in source_files():
        for section in CITATION.findall(path.read_text()):
            cited.setdefault(" ".join(section.split()), []).append(str(path.relative_to(ROOT)))
    assert len(cited) >= 8, f"expected the code to cite many sections, found {sorted(cited)}"
    missing = {section: paths for section, paths in cited.items() if section not in existing}
    assert not missing, f"sections cited but not headings of docs/theory.md: {missing}"


def test_theory_document_has_its_chapters_and_links():
    text = THEORY.read_text()
    for heading in (
        "The model",
        "Rule-ensemble statistics",
        "Sample complexity",
        "Synonymic sensitivity",
        "Synonyms from correlations",
        "The uncorrelated RHM",
        "The paper's claims and their status",
        "Further chapters",
    ):
        assert heading in headings(), heading
    for chapter in ("theory-sparse.md", "theory-diffusion.md", "theory-next-token.md", "theory-power-law.md"):
        assert f"({chapter})" in text
    for name in symbolic.QUANTITIES:  # every quantity of `rhm theory` is documented
        assert f"`{name}`" in text, name
    assert "docs/theory.md" in (ROOT / "README.md").read_text()


def level_factor(v, m, s):
    return Fraction(v ** (s - 1) * (v - 1), m * (v**s - 1))


@pytest.mark.parametrize(
    "v, n_c, m, s, L", [(8, 8, 4, 2, 3), (3, 2, 1, 2, 2), (5, 7, 3, 2, 4), (4, 4, 16, 3, 2), (2, 3, 1, 3, 1)]
)
def test_closed_forms_written_in_the_document_equal_the_derivation(v, n_c, m, s, L):
    """docs/theory.md simplifies some outputs of the derivation by hand; the simplified forms must agree."""
    lam = level_factor(v, m, s)
    written = {
        "level_factor": lam,
        "delta2": 2 * lam**L / v,
        "delta2_tuple": 2 * lam ** (L - 1) / (m * v**s),
        "sigma_f2": (1 - Fraction(1, n_c)) * v * lam**L,
        "P_c": n_c / lam**L,
        "P_c_over_nc_mL": Fraction(v**s - 1, v**s - v ** (s - 1)) ** L,
        "p_max": n_c * m ** ((s**L - 1) // (s - 1)),
    }
    for name, value in written.items():
        value = Fraction(value)
        assert symbolic.quantity(name, v, n_c, m, s, L) == sp.Rational(value.numerator, value.denominator), name
    assert symbolic.noise_f2(100, v, n_c, m, s, L) == sp.Rational(v * (n_c - 1), 100)


def test_sigma_f2_first_order_can_overestimate():
    """The document's example: exact 9/16 (brute force over every rule draw) against first order 27/32."""
    from rhm_theory.theory import ensemble

    exact = ensemble.exact_ensemble_average(3, 2, 1, 2, 2, position=0)["sigma_f2"]
    assert exact == Fraction(9, 16)
    assert symbolic.sigma_f2(3, 2, 1, 2, 2) == sp.Rational(27, 32) > exact
    assert symbolic.evaluate(3, 2, 1, 2, 2)["sigma_f2_exact"] is False


@pytest.mark.parametrize("module", [symbolic, sparse_symbolic])
def test_every_quantity_has_a_one_line_description(module):
    assert list(module.DESCRIPTIONS) == list(module.QUANTITIES)
    for name, text in module.DESCRIPTIONS.items():
        assert text.strip(), name
        assert "\n" not in text, name
        assert len(text) <= 90, name


def test_rhm_theory_table_prints_each_description_on_its_line(capsys):
    assert main(["theory", "--v", "8", "--nc", "8", "--m", "4", "--s", "2", "--L", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(symbolic.QUANTITIES)
    for line, name in zip(lines, symbolic.QUANTITIES):
        assert line.split()[0] == name, line
        assert line.rstrip().endswith(symbolic.DESCRIPTIONS[name]), line
    assert main(["theory", "--v", "8", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--s0", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(sparse_symbolic.QUANTITIES)
    assert all(line.rstrip().endswith(sparse_symbolic.DESCRIPTIONS[line.split()[0]]) for line in lines)


def test_rhm_theory_json_is_unchanged(capsys):
    """Keys in QUANTITIES order, no description keys, and the values worked out by hand in the document:
    level_factor = 8*7/(4*63) = 2/9, P_c = n_c / level_factor**L = 729, sigma_f2 = (7/8) 8 (2/9)**3."""
    import json

    assert main(["theory", "--v", "8", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == list(symbolic.QUANTITIES)
    assert printed["P_c"] == 729
    assert printed["level_factor"] == "2/9"
    assert printed["sigma_f2"] == "56/729"
    assert printed["eps"] == "53/1944"
    assert printed["p_max"] == 131072
    assert printed["sigma_f2_exact"] is False


LATEX_CASES = [("--P", "100"), ("--s0", "1", "--P", "100"), ("--variant", "B")]  # RHM, sparse A, sparse B


def latex_output(capsys, *extra) -> str:
    assert main(["theory", "--v", "4", "--nc", "4", "--m", "2", "--s", "2", "--L", "2", *extra, "--latex"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("extra", LATEX_CASES)
def test_latex_output_is_a_complete_document(capsys, extra):
    text = latex_output(capsys, *extra)
    module = sparse_symbolic if {"--s0", "--variant"} & set(extra) else symbolic
    assert text.lstrip().startswith(r"\documentclass")
    assert text.count(r"\begin{document}") == 1
    assert text.rstrip().endswith(r"\end{document}")
    environments = re.findall(r"\\(begin|end)\{([^}]*)\}", text)
    stack = []
    for kind, name in environments:
        if kind == "begin":
            stack.append(name)
        else:
            assert stack, f"\\end{{{name}}} does not close an open environment"
            assert stack.pop() == name, f"\\end{{{name}}} does not close an open environment"
    assert not stack
    unescaped = text.replace(r"\{", "").replace(r"\}", "")
    depth = 0
    for char in unescaped:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert 0 < text.count(r"\paragraph{") <= len(module.QUANTITIES)
    assert module.DESCRIPTIONS[module.QUANTITIES[0]].split()[0] in text
    body = text.split(r"\begin{document}")[1]
    assert re.search(r"(?<!\\)_", re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}", "", body, flags=re.S)) is None, (
        "an unescaped underscore in text mode does not compile"
    )


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (structure checked above)")
@pytest.mark.parametrize("extra", LATEX_CASES)
def test_latex_output_compiles(capsys, tmp_path, extra):
    (tmp_path / "theory.tex").write_text(latex_output(capsys, *extra))
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "theory.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "theory.pdf").stat().st_size > 1000
