"""The public API's docstrings follow numpydoc (README, 'Documentation'), and their examples run.

The public API is what ``rhm_theory.__all__`` names: ``Grammar`` and the modules ``bp``, ``ensemble``,
``exact``, ``next_token``, ``sparse``, ``stats`` and ``symbolic``, each with what it defines (its
``__all__``, or its public functions and classes), and the public methods and properties of the classes.
Each docstring is checked by numpydoc's own validator for the codes in :data:`REQUIRED`, and every
``Examples`` section runs as a doctest: an example that no longer prints what it shows fails here.
"""

from __future__ import annotations

import doctest
import importlib
import inspect

import numpy as np
import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is in the docs extra")

PUBLIC_MODULES = {
    "bp": "rhm_theory.theory.bp",
    "ensemble": "rhm_theory.theory.ensemble",
    "exact": "rhm_theory.theory.exact",
    "next_token": "rhm_theory.theory.next_token",
    "sparse": "rhm_theory.core.sparse",
    "stats": "rhm_theory.theory.stats",
    "symbolic": "rhm_theory.theory.symbolic",
    "Grammar": "rhm_theory.core.grammar",
}

# numpydoc's validation codes every public docstring must pass (numpydoc.validate.ERROR_MSGS).
REQUIRED = {
    "GL08": "the object has a docstring",
    "SS01": "it opens with a summary line",
    "SS03": "the summary ends with a period",
    "PR01": "every parameter is documented",
    "PR02": "no documented parameter is missing from the signature",
    "PR07": "every documented parameter has a description",
    "PR10": "a parameter is written 'name : type', with the space",
    "RT01": "a function that returns something has a Returns section",
    "RT03": "every returned value has a description",
    "GL02": "the closing quotes are on a line of their own",
    "GL03": "no double blank lines",
}


def module_objects(module_name: str) -> list[str]:
    """Names of what a module defines: its __all__, or its public functions and classes."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module_name
        ]
    return list(names)


def public_objects() -> list[str]:
    """Import paths of every public function, class, method and property."""
    paths = []
    for short, module_name in PUBLIC_MODULES.items():
        module = importlib.import_module(module_name)
        names = [short] if short == "Grammar" else module_objects(module_name)
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # a constant: documented in the module's docstring
            paths.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    if inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod, property)):
                        paths.append(f"{module_name}.{name}.{member}")
    return paths


PUBLIC = public_objects()


def test_the_public_api_is_large_enough_to_mean_something():
    assert len(PUBLIC) >= 100, len(PUBLIC)  # guards against the collection silently finding nothing


@pytest.mark.parametrize("path", PUBLIC)
def test_public_docstring_follows_numpydoc(path):
    errors = [
        f"{code} ({REQUIRED[code]}): {message}"
        for code, message in numpydoc_validate.validate(path)["errors"]
        if code in REQUIRED
    ]
    assert not errors, f"{path}:\n" + "\n".join(errors)


def test_the_validator_rejects_a_docstring_without_sections():
    # Negative control: the check above can fail.
    errors = {code for code, _ in numpydoc_validate.validate("tests.test_public_docstrings.module_objects")["errors"]}
    assert {"PR01", "RT01"} <= errors


def doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for module_name in sorted(set(PUBLIC_MODULES.values())):
        module = importlib.import_module(module_name)
        found += [test for test in finder.find(module, module_name, globs={"np": np}) if test.examples]
    return found


DOCTESTS = doctests()


def test_the_public_api_has_examples():
    assert len(DOCTESTS) >= 20, [test.name for test in DOCTESTS]


@pytest.mark.parametrize("test", DOCTESTS, ids=[test.name for test in DOCTESTS])
def test_docstring_example_runs(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy=False, precision=8, suppress=False):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} of {result.attempted} examples failed (output above)"
