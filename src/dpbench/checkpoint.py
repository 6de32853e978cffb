"""Periodic training checkpoints that an interrupted job resumes from.

A training loop saves its state (model and optimiser ``state_dict``s, plain tensors such as a
jointly learned dictionary, the random generators it draws batches from, and its progress counters)
every ``every_seconds`` to ``path``, atomically. A restarted job with the same checkpoint path loads
that state and continues from the saved step; with the same generators restored, the resumed run
follows the uninterrupted one exactly. The job deletes the checkpoint once its result is written.
Checkpoints are read with ``weights_only=True``. The default interval is 60 s, or the value of the
environment variable ``DPBENCH_CHECKPOINT_SECONDS``.

A checkpoint carries a ``fingerprint`` of the job's parameters: one left behind by a run with other
parameters (the config changed between the interruption and the rerun) is discarded, never resumed;
so is one whose saved model state does not fit the model (other parameter names or shapes: the code
changed between the interruption and the rerun). Either is logged as a warning in the job's log.

:class:`StepProgress` does the same for jobs made of several independent steps (one network per
depth of a sweep): the result of each finished step is saved as it ends, and a restarted job skips
the steps already done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from dpbench.io import load_tensors, save_tensors

log = logging.getLogger(__name__)


def _fits(obj: Any, state: Any) -> bool:
    """Whether a saved ``state`` can be loaded into ``obj`` as it is: a tensor of the same shape, or a
    module's state with the same names and shapes (an optimiser's state is checked by loading it)."""
    if isinstance(obj, torch.Tensor):
        return isinstance(state, torch.Tensor) and state.shape == obj.shape
    if isinstance(obj, torch.nn.Module):
        own = obj.state_dict()
        return own.keys() == state.keys() and all(own[key].shape == state[key].shape for key in own)
    return True


class TrainingCheckpoint:
    """Save and restore a training loop's state at ``path`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], every_seconds: float | None = None, fingerprint: str = "") -> None:
        self.path = Path(path)
        if every_seconds is None:
            every_seconds = float(os.environ.get("DPBENCH_CHECKPOINT_SECONDS", 60))
        self.every_seconds = every_seconds
        self.fingerprint = fingerprint
        self._last_save = time.monotonic()

    @staticmethod
    def _states(objects: dict[str, Any]) -> dict[str, Any]:
        return {name: obj.detach().clone() if isinstance(obj, torch.Tensor) else obj.state_dict() for name, obj in objects.items()}

    def restore(self, objects: dict[str, Any], generators: list[torch.Generator | None] = ()) -> dict[str, Any] | None:
        """Load a saved state into ``objects`` and ``generators``; return its progress, or None."""
        if not self.path.exists():
            return None
        blob = load_tensors(self.path)
        if blob.get("fingerprint", "") != self.fingerprint:
            log.warning("checkpoint %s was saved for other parameters: starting over", self.path)
            self.discard()
            return None
        missing = set(objects) - set(blob["states"])
        if missing:
            raise ValueError(f"checkpoint {self.path} lacks {sorted(missing)}: delete it to start over")
        misfits = [name for name, obj in objects.items() if not _fits(obj, blob["states"][name])]
        if misfits:
            log.warning("checkpoint %s holds a state of %s that does not fit the model (saved by other code): starting over",
                        self.path, misfits)
            self.discard()
            return None
        for name, obj in objects.items():
            if isinstance(obj, torch.Tensor):
                with torch.no_grad():
                    obj.copy_(blob["states"][name])
            else:
                obj.load_state_dict(blob["states"][name])
        for gen, state in zip(generators, blob["generators"]):
            if gen is not None:
                gen.set_state(state)
        log.info("resumed from checkpoint %s at %s", self.path, blob["progress"])
        return blob["progress"]

    def maybe_save(
        self,
        objects: dict[str, Any],
        generators: list[torch.Generator | None],
        progress: dict[str, Any],
        force: bool = False,
    ) -> None:
        """Save if ``every_seconds`` have passed since the last save (or ``force``)."""
        if not force and time.monotonic() - self._last_save < self.every_seconds:
            return
        save_tensors(
            self.path,
            {
                "states": self._states(objects),
                "generators": [g.get_state() if g is not None else torch.empty(0, dtype=torch.uint8) for g in generators],
                "progress": progress,
                "fingerprint": self.fingerprint,
            },
        )
        self._last_save = time.monotonic()
        log.debug("checkpoint %s saved at %s", self.path, progress)

    def discard(self) -> None:
        """Remove the checkpoint (the job's result is safely written)."""
        self.path.unlink(missing_ok=True)


class StepProgress:
    """The saved results of the finished steps of a job, at ``path`` (see the module docstring).

    Results may hold tensors and plain values (they are saved with :func:`dpbench.io.save_tensors`).
    :meth:`checkpoint` gives the training checkpoint of a step in progress. With ``path=None``
    nothing is saved (a library call that need not survive interruption).
    """

    def __init__(self, path: str | os.PathLike[str] | None, fingerprint: str = "") -> None:
        self.path = None if path is None else Path(path)
        self.fingerprint = fingerprint
        self.done: dict[str, Any] = {}
        if self.path is not None and self.path.exists():
            blob = load_tensors(self.path)
            if blob.get("fingerprint") == fingerprint:
                self.done = dict(blob["done"])
                log.info("resuming %s: steps %s already done", self.path, sorted(self.done))
            else:
                log.warning("progress file %s was saved for other parameters: starting over", self.path)

    def checkpoint(self, step: str) -> TrainingCheckpoint | None:
        """Training checkpoint of ``step`` (None when nothing is saved)."""
        if self.path is None:
            return None
        return TrainingCheckpoint(self.path.with_name(f"{self.path.name}.{step}.ckpt"), fingerprint=self.fingerprint)

    def record(self, step: str, result: Any) -> None:
        """Save ``result`` as the outcome of ``step`` (atomically, with every earlier step)."""
        self.done[step] = result
        if self.path is not None:
            save_tensors(self.path, {"fingerprint": self.fingerprint, "done": self.done})
            self.checkpoint(step).discard()

    def discard(self) -> None:
        """Remove the progress file and any step checkpoint (the job's results are safely written)."""
        if self.path is not None:
            for path in self.path.parent.glob(f"{self.path.name}.*.ckpt"):
                path.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)


class EpochCheckpoint(TrainingCheckpoint):
    """A checkpoint of an epoch-based training loop that can be continued with more epochs.

    Saved every ``every`` epochs (0: never in between) and after the last epoch, and kept after the
    run: the same job rerun with a larger epoch count resumes from it. Its fingerprint must therefore
    leave out the epoch count (and anything else that does not change the trajectory). The saved
    progress holds ``epoch`` (epochs done) plus whatever the loop adds (histories).
    """

    def __init__(self, path: str | os.PathLike[str], every: int, fingerprint: str) -> None:
        super().__init__(path, every_seconds=float("inf"), fingerprint=fingerprint)
        self.every = every

    def resume(self, objects: dict[str, Any], generators: list[torch.Generator | None], epochs: int) -> dict[str, Any] | None:
        """Restore the saved state (see :meth:`restore`); an error naming the file when it holds more
        epochs than ``epochs`` (a shorter run would have to discard it)."""
        progress = self.restore(objects, generators)
        if progress is not None and int(progress["epoch"]) > epochs:
            raise ValueError(
                f"checkpoint {self.path} holds {int(progress['epoch'])} epochs, more than the {epochs} asked for; "
                "raise epochs to continue it, or delete it to train a shorter run"
            )
        return progress

    def after_epoch(self, done: int, epochs: int, objects: dict[str, Any], generators: list[torch.Generator | None], progress: dict[str, Any]) -> None:
        """Save after epoch ``done`` (1-based) if it is a multiple of ``every`` or the last one."""
        if (self.every and done % self.every == 0) or done == epochs:
            self.maybe_save(objects, generators, {"epoch": done, **progress}, force=True)


def data_digest(x: torch.Tensor) -> str:
    """A short hash of a tensor's values (part of a checkpoint's fingerprint: the data trained on)."""
    return hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def training_generators(device: torch.device, generator: torch.Generator) -> list[torch.Generator]:
    """The random generators a training loop draws from: its own (shuffling) and the global ones of
    the CPU and, on a GPU, of that device (initialisation, dropout), so that a resumed run draws the
    same numbers as an uninterrupted one."""
    generators = [generator, torch.default_generator]
    if device.type == "cuda":
        generators.append(torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()])
    return generators
