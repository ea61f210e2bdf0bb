"""The hypothesis profiles of tests/conftest.py: "ci" is reproducible, "dev" draws more examples."""

import os

from hypothesis import settings
from strategies import BASE_EXAMPLES, examples


def test_ci_profile_is_derandomized_without_deadline_and_prints_blobs():
    ci = settings.get_profile("ci")
    assert ci.derandomize
    assert ci.deadline is None
    assert ci.print_blob
    assert ci.max_examples == BASE_EXAMPLES


def test_dev_profile_draws_four_times_the_examples():
    assert settings.get_profile("dev").max_examples == 4 * BASE_EXAMPLES


def test_examples_scale_with_the_loaded_profile():
    loaded = os.environ.get("HYPOTHESIS_PROFILE", "default")
    try:
        settings.load_profile("dev")
        assert examples(25) == 100
        settings.load_profile("ci")
        assert examples(25) == 25
    finally:
        settings.load_profile(loaded)
