"""Loading a verification script (verification/NAME.py, not a package) as a module for its tests."""

import importlib.util
import sys
from pathlib import Path


def load_verification_script(name: str):
    path = Path(__file__).resolve().parents[1] / "verification" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"verification_{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses with postponed annotations look their module up
    spec.loader.exec_module(module)
    return module
