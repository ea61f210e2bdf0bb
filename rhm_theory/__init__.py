"""rhm-theory: exact statistics, symbolic closed forms and learning experiments for the Random
Hierarchy Model of Cagnetta, Petrini, Tomasini, Favero and Wyart (arXiv:2307.02129).

Layers (each imports only the ones above it in this list; see the README's module map):
core -> theory -> synonyms, learning -> runs -> report -> cli.

``from rhm_theory import Grammar, exact, bp, symbolic`` is the public entry point; ``rhm_theory.bp``,
``rhm_theory.sparse`` (the sparse RHM) and the others below are the modules of the layers, loaded on
first use (so importing the package loads neither torch nor sympy, nor networkx until ``Grammar``).
"""

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["Grammar", "bp", "ensemble", "exact", "next_token", "sparse", "stats", "symbolic"]
__version__ = "0.2.0"

# Public short names -> the module of the layer that holds them.
_SHORTCUTS = {
    "exact": "rhm_theory.theory.exact",
    "bp": "rhm_theory.theory.bp",
    "symbolic": "rhm_theory.theory.symbolic",
    "ensemble": "rhm_theory.theory.ensemble",
    "stats": "rhm_theory.theory.stats",
    "next_token": "rhm_theory.theory.next_token",  # last-token prediction (arXiv:2406.00048)
    "sparse": "rhm_theory.core.sparse",  # SparseRHM (arXiv:2404.10727)
}


def __getattr__(name):
    if name == "Grammar":  # loaded on first use too: networkx costs the CLI's start-up a second
        from rhm_theory.core.grammar import Grammar

        globals()[name] = Grammar
        return Grammar
    if name in _SHORTCUTS:
        module = importlib.import_module(_SHORTCUTS[name])
        globals()[name] = module
        sys.modules.setdefault(f"{__name__}.{name}", module)  # `import rhm_theory.bp` works afterwards too
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _ShortcutFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import rhm_theory.bp`` (and the other short names) load the layer's module itself."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __name__ and name in _SHORTCUTS:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(_SHORTCUTS[spec.name.rpartition(".")[2]])

    def exec_module(self, module):
        pass  # the module is already loaded; only its __spec__ names the alias


sys.meta_path.append(_ShortcutFinder())
