"""Periodic training checkpoints that an interrupted job resumes from.

A training loop saves its state (model and optimiser ``state_dict``s, plain tensors such as a
jointly learned dictionary, the random generators it draws batches from, and its progress counters)
every ``every_seconds`` to ``path``, atomically. A restarted job with the same checkpoint path loads
that state and continues from the saved step; with the same generators restored, the resumed run
follows the uninterrupted one exactly. The job deletes the checkpoint once its result is written.
Checkpoints are read with ``weights_only=True``. The default interval is 60 s, or the value of the
environment variable ``DPBENCH_CHECKPOINT_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from dpbench.io import load_tensors, save_tensors

log = logging.getLogger(__name__)


class TrainingCheckpoint:
    """Save and restore a training loop's state at ``path`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], every_seconds: float | None = None) -> None:
        self.path = Path(path)
        if every_seconds is None:
            every_seconds = float(os.environ.get("DPBENCH_CHECKPOINT_SECONDS", 60))
        self.every_seconds = every_seconds
        self._last_save = time.monotonic()

    @staticmethod
    def _states(objects: dict[str, Any]) -> dict[str, Any]:
        return {name: obj.detach().clone() if isinstance(obj, torch.Tensor) else obj.state_dict() for name, obj in objects.items()}

    def restore(self, objects: dict[str, Any], generators: list[torch.Generator | None] = ()) -> dict[str, Any] | None:
        """Load a saved state into ``objects`` and ``generators``; return its progress, or None."""
        if not self.path.exists():
            return None
        blob = load_tensors(self.path)
        missing = set(objects) - set(blob["states"])
        if missing:
            raise ValueError(f"checkpoint {self.path} lacks {sorted(missing)}: delete it to start over")
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
            },
        )
        self._last_save = time.monotonic()
        log.debug("checkpoint %s saved at %s", self.path, progress)

    def discard(self) -> None:
        """Remove the checkpoint (the job's result is safely written)."""
        self.path.unlink(missing_ok=True)
