"""The package's layers import only downwards (rhm_theory/__init__.py, README module map).

Each module is imported in a fresh interpreter; the test lists which heavy libraries and which
rhm_theory layers ended up loaded, and compares with what that layer may import.
"""

import json
import pkgutil
import subprocess
import sys

import pytest

import rhm_theory

LAYERS = ["core", "theory", "synonyms", "learning", "runs", "report", "cli"]
# What each layer may not load (beyond the layers above it in LAYERS, which no layer may load).
FORBIDDEN_LIBRARIES = {
    "core": {"torch", "sympy", "sklearn", "scipy", "matplotlib", "ray"},
    "theory": {"torch", "sklearn", "matplotlib", "ray"},
    "synonyms": {"torch", "sympy", "matplotlib", "ray"},
    "learning": {"sympy", "sklearn", "matplotlib", "ray"},
    "runs": {"sympy", "sklearn", "matplotlib", "ray"},
    "report": {"ray"},
    "cli": {"ray"},
}
# Modules of the theory layer that need sympy; the rest of the layer must not load it.
SYMPY_MODULES = {
    "rhm_theory.theory.symbolic",
    "rhm_theory.theory.crossing",
    "rhm_theory.theory.sparse_symbolic",
    "rhm_theory.theory.denoising_theory",
    "rhm_theory.theory.next_token_symbolic",
    "rhm_theory.theory.power_law_symbolic",
}
# Allowed sideways imports inside one rank: none (synonyms and learning never import each other).
SIBLINGS = {"synonyms": {"learning"}, "learning": {"synonyms"}}


def modules_of(layer: str) -> list[str]:
    package = f"rhm_theory.{layer}"
    path = [str(p) for p in __import__(package, fromlist=["_"]).__path__]
    return [package] + [f"{package}.{info.name}" for info in pkgutil.iter_modules(path)]


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


ALL_MODULES = [(layer, module) for layer in LAYERS for module in modules_of(layer)]


@pytest.mark.parametrize("layer, module", ALL_MODULES, ids=[m for _, m in ALL_MODULES])
def test_module_imports_only_downwards(layer, module):
    loaded = loaded_after_import(module)
    tops = {name.split(".")[0] for name in loaded}
    forbidden = set(FORBIDDEN_LIBRARIES[layer])
    if layer == "theory" and module not in SYMPY_MODULES and module != "rhm_theory.theory":
        forbidden.add("sympy")
    assert not (tops & forbidden), f"{module} loads {sorted(tops & forbidden)}"
    upper = set(LAYERS[LAYERS.index(layer) + 1 :]) | SIBLINGS.get(layer, set())
    layers_loaded = {name.split(".")[1] for name in loaded if name.startswith("rhm_theory.") and name.count(".") >= 1}
    assert not (layers_loaded & upper), f"{module} loads the upper layers {sorted(layers_loaded & upper)}"


def test_package_import_is_light():
    loaded = loaded_after_import("rhm_theory")
    assert not ({"torch", "sympy", "sklearn", "matplotlib"} & {n.split(".")[0] for n in loaded})
    assert rhm_theory.Grammar.__module__ == "rhm_theory.core.grammar"


def test_public_shortcuts_are_the_layer_modules():
    code = (
        "import rhm_theory.bp as b, rhm_theory.theory.bp as t; from rhm_theory import exact, symbolic;"
        "import rhm_theory.theory.exact as e, rhm_theory.theory.symbolic as s; print(b is t, exact is e, symbolic is s)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "True"]
