"""The documentation site (docs/conf.py): it builds with warnings as errors, and its pages hold what
they should (the API pages generated from the docstrings, the CLI help, the theory pages).

Skipped when the docs tools (``pip install -e ".[docs]"``) are not installed. The build writes its
output to a temporary folder; the generated API stubs (docs/api/generated) and CLI help
(docs/_generated) are written in docs/ as in any build (both ignored by git).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("myst_parser")
pytest.importorskip("pydata_sphinx_theme")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LAYERS = ("core", "theory", "synonyms", "learning", "runs", "report")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs-site")
    html = out / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    command += ["-d", str(out / "doctrees"), str(DOCS), str(html)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"sphinx build failed:\n{result.stdout[-5000:]}\n{result.stderr[-10000:]}"
    return html


def public_modules(layer: str) -> list[str]:
    folder = ROOT / "rhm_theory" / layer
    return [f"rhm_theory.{layer}.{path.stem}" for path in sorted(folder.glob("*.py")) if not path.stem.startswith("_")]


def test_site_builds_with_warnings_as_errors(site):
    assert (site / "index.html").is_file()
    for page in ("quickstart", "cli", "background", "reports", "bounds", "api/index"):
        assert (site / f"{page}.html").is_file(), page
    for theory in sorted(DOCS.glob("theory*.md")):
        assert (site / f"{theory.stem}.html").is_file(), theory.name


def test_every_public_module_of_every_layer_has_an_api_page(site):
    generated = site / "api" / "generated"
    for layer in LAYERS:
        modules = public_modules(layer)
        assert modules, layer
        for module in [f"rhm_theory.{layer}", *modules]:
            assert (generated / f"{module}.html").is_file(), module


def test_api_page_shows_the_docstrings(site):
    page = (site / "api" / "generated" / "rhm_theory.core.grammar.html").read_text()
    assert 'id="rhm_theory.core.grammar.Grammar"' in page
    assert 'id="rhm_theory.core.grammar.Grammar.random"' in page
    from rhm_theory.core.grammar import Grammar

    first_words = " ".join(Grammar.random.__doc__.split()[:4])
    assert first_words in " ".join(page.split())


def test_cli_page_has_the_help_of_every_command(site):
    from rhm_theory.cli import COMMANDS

    page = (site / "cli.html").read_text()
    assert "usage: rhm [-h]" in page
    for name in COMMANDS:
        assert f"usage: rhm {name}" in page, name
