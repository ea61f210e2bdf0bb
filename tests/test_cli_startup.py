"""The command line's start-up and output contract: `rhm --help` and `rhm info` import neither torch
nor sympy (a fresh interpreter each), --version, strict JSON, hints in error messages."""

import json
import subprocess
import sys

import pytest

from rhm_theory import __version__
from rhm_theory.cli import main

HEAVY = ("torch", "sympy", "matplotlib")
GRAMMAR = ["--v", "3", "--nc", "2", "--m", "2", "--s", "2", "--L", "2"]


def heavy_modules_loaded(argv: list[str]) -> list[str]:
    """Top-level heavy packages a fresh interpreter has imported after ``rhm ARGV``."""
    code = (
        "import sys\n"
        "from rhm_theory.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted({{name.split('.')[0] for name in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


@pytest.mark.parametrize("argv", [["--help"], ["info", *GRAMMAR], ["info", *GRAMMAR, "--help"]])
def test_help_and_info_load_neither_torch_nor_sympy(argv):
    assert heavy_modules_loaded(argv) == []


def test_the_probe_sees_heavy_imports():
    """Negative control: `rhm theory` needs sympy, and the probe must see it."""
    assert "sympy" in heavy_modules_loaded(["theory", *GRAMMAR, "--json"])


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rhm {__version__}"


def strict_json(text: str):
    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def test_pstar_json_is_strict_when_nothing_crosses(tmp_path, capsys):
    """No P reaches the threshold: P* is infinite, printed as null with status "above_grid"."""
    argv = [
        "pstar",
        *GRAMMAR,
        "--P-test",
        "8",
        "--P",
        "4",
        "8",
        "--seeds",
        "1",
        "--workers",
        "1",
        "--max-epochs",
        "1",
        "--threshold",
        "1e-9",
        "--quiet",
        "--json",
        "--results",
        str(tmp_path / "r.sqlite"),
    ]
    assert main(argv) == 0
    result = strict_json(capsys.readouterr().out)
    assert result["status"] == "above_grid"
    assert result["pstar"] is None
    assert result["ci_high"] is None
    assert len(result["mean_test_error"]) == 2


def test_info_json_is_strict(capsys):
    assert main(["info", *GRAMMAR, "--json"]) == 0
    assert strict_json(capsys.readouterr().out)["p_max"] == 16


def test_p_max_error_suggests_p_test(capsys):
    assert main(["train", *GRAMMAR, "--P", "10"]) == 2
    assert "--P-test" in capsys.readouterr().err


def test_the_version_has_one_home():
    """pyproject reads rhm_theory.__version__ (dynamic); the installed metadata, the docs (importlib.metadata)
    and CITATION.cff carry the same string; the changelog has a section for it."""
    from importlib.metadata import version
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert version("rhm-theory") == __version__
    assert f"\nversion: {__version__}\n" in (root / "CITATION.cff").read_text()
    assert f"## [{__version__}]" in (root / "CHANGELOG.md").read_text()
    assert 'version = { attr = "rhm_theory.__version__" }' in (root / "pyproject.toml").read_text()
