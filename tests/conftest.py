"""Shared fixtures: the repository root and the optional real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$DPBENCH_SHARED_DATA`` or ``<repo>/../shared/data`` (present on the project's machines only)."""
    return Path(os.environ.get("DPBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def mnist_dir() -> Path:
    path = shared_data_dir() / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST test files not found in {path}")
    return path


@pytest.fixture
def one_thread():
    """Tiny matrices run faster (and far faster on a loaded machine) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
