"""Sphinx configuration of the rhm-theory documentation site.

Build it (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API pages are generated at build time by autosummary into ``docs/api/generated`` and the
``rhm --help`` texts by :func:`write_cli_help` into ``docs/_generated`` (both ignored by git), so a
clean clone builds.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # document this checkout's rhm_theory, wherever the package is installed

# -- Project -------------------------------------------------------------------------------------
project = "rhm-theory"
author = "the rhm-theory authors"
copyright = "2026, the rhm-theory authors (MIT License)"
release = importlib.metadata.version("rhm-theory")  # the installed package's metadata: one source
version = release

# -- Extensions ----------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
nitpicky = False
highlight_language = "text"  # literal blocks of docstrings are formulas; code fences name their language

# -- MyST (the Markdown pages docs/*.md and the README) --------------------------------------------
# The theory pages write their formulas as ASCII inline code (`p_max = n_c m^n_nodes`); dollarmath and
# amsmath make $...$, $$...$$ and \begin{align} blocks render with MathJax wherever TeX is used.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # [text](theory.md#heading) links resolve to the heading's anchor

# -- autodoc / autosummary / numpydoc ------------------------------------------------------------------
autosummary_generate = True  # stubs in docs/api/generated, written at every build
autosummary_ignore_module_all = False  # a module's __all__, where it has one, is its public API
autosummary_imported_members = False  # a module page shows what the module defines
autodoc_member_order = "bysource"
autoclass_content = "class"
numpydoc_show_class_members = False  # no member tables on class pages (they duplicate autodoc's)
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"rhm-theory {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_show_sourcelink = True
html_sidebars = {"index": [], "quickstart": [], "cli": []}  # single pages: no section navigation


# -- The command-line page: `rhm --help` and every sub-command's, captured at build time --------------
def write_cli_help(app=None) -> None:
    """Write ``docs/_generated/cli.md``: ``rhm --help`` and ``rhm COMMAND --help`` for every command of
    :data:`rhm_theory.cli.COMMANDS`, in that order, as the argparse parser prints them (80 columns).
    ``docs/cli.md`` includes it, so the page follows the parser without a copy to keep in sync."""
    from rhm_theory.cli import COMMANDS, main

    def help_text(argv: list[str]) -> str:
        out = io.StringIO()
        saved = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "80"
        try:
            with contextlib.redirect_stdout(out):
                code = main([*argv, "--help"])
        finally:
            if saved is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = saved
        if code != 0:
            raise RuntimeError(f"rhm {' '.join(argv)} --help exited {code}")
        return out.getvalue().rstrip() + "\n"

    parts = ["## `rhm`\n", "```text\n" + help_text([]) + "```\n"]
    for name in COMMANDS:
        parts += [f"## `rhm {name}`\n", "```text\n" + help_text([name]) + "```\n"]
    target = DOCS / "_generated" / "cli.md"
    target.parent.mkdir(exist_ok=True)
    text = "\n".join(parts)
    if not target.exists() or target.read_text() != text:  # unchanged text keeps the page up to date
        target.write_text(text)


# -- The quick start: README.md included by quickstart.md -----------------------------------------------
# `:relative-docs: docs/` rewrites the README's links into docs/ (docs/theory.md -> theory.md); its other
# relative links (examples/walkthrough.ipynb) are made relative to docs/ here, so they resolve to the
# repository's files (download links) instead of missing documents.
OUTSIDE_LINK = re.compile(r"\]\((?!docs/|[A-Za-z][A-Za-z0-9+.-]*:|#|/)([^)\s]+)\)")


def relink_readme(app, relative_path, parent_docname, content) -> None:
    if Path(relative_path).name == "README.md" and Path(relative_path).parent == Path(".."):
        content[0] = OUTSIDE_LINK.sub(r"](../\1)", content[0])


def setup(app):
    app.connect("builder-inited", write_cli_help)
    app.connect("include-read", relink_readme)
