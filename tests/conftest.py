"""Shared fixtures."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Small nets train fastest on one thread (and the test machine is shared); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
