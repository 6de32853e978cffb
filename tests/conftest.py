"""Shared fixtures: the repository root and the optional real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

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


class Interrupt(Exception):
    """What the ``interrupter`` raises in place of a training step: a kill, as the job sees it."""


@pytest.fixture
def interrupter(monkeypatch):
    """Counts training steps (calls of ``dpbench.sparse.train._optimise``) in ``.calls``; raises
    ``.Interrupt`` at call number ``.at`` (0: never). Checkpoints are saved at every chance."""
    import dpbench.sparse.train as train_mod

    real = train_mod._optimise
    state = SimpleNamespace(calls=0, at=0, Interrupt=Interrupt)

    def counted(name, loss_fn, optimiser, step, after_step=None):
        state.calls += 1
        if state.calls == state.at:
            raise Interrupt
        return real(name, loss_fn, optimiser, step, after_step)

    monkeypatch.setattr(train_mod, "_optimise", counted)
    monkeypatch.setenv("DPBENCH_CHECKPOINT_SECONDS", "0")
    return state


@pytest.fixture
def nan_loss(monkeypatch):
    """``nan_loss(only=None)`` makes every training loss NaN (or those of the loops whose name
    ``only(name)`` accepts, e.g. ``"LISTA"``, or ``"LISTA+Linear"`` for supervised training), so that
    the real divergence check fires; ``monkeypatch.undo()`` ends it."""
    import dpbench.sparse.train as train_mod

    real = train_mod._optimise

    def poison(only=None):
        def optimise(name, loss_fn, optimiser, step, after_step=None):
            poisoned = loss_fn if only is not None and not only(name) else (lambda: loss_fn() * float("nan"))
            return real(name, poisoned, optimiser, step, after_step)

        monkeypatch.setattr(train_mod, "_optimise", optimise)

    return poison
