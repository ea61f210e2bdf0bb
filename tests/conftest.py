"""Shared fixtures, and the hypothesis profiles (README, 'Tests'): "ci" (derandomized, no deadline, failure
blobs printed; selected by .ci/run) and "dev" (4x the examples), chosen by the HYPOTHESIS_PROFILE
environment variable; without it hypothesis' own default profile runs."""

import os

import pytest
import torch
from hypothesis import settings

settings.register_profile("ci", max_examples=100, derandomize=True, deadline=None, print_blob=True, database=None)
settings.register_profile("dev", max_examples=400, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def one_torch_thread():
    """Small nets train fastest on one thread (and the test machine is shared); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
