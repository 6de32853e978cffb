"""Atomic file output and safe loading.

Every file a job produces is written to a temporary name in the same folder and renamed into
place, so an interrupted run never leaves a partial file that a later run would trust. The file
gets the mode a plain ``open(path, "w")`` would give it (``0666`` less the process's umask: with
the usual umask 022 or 002, the rest of a group can read a lab's results), not the ``0600`` of
:func:`tempfile.mkstemp`.

PyTorch is imported only by the functions that save or load tensors, so that writing JSON or a
table does not pay for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

FILE_MODE = 0o666  # what open() asks for; the kernel takes the umask off it


def new_temporary_file(path: str | os.PathLike[str]) -> Path:
    """A new, empty file next to ``path`` with a random name, created with :data:`FILE_MODE` (the umask
    applies), to be renamed onto ``path`` when complete."""
    path = Path(path)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name next to {path}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = new_temporary_file(path)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, naming the file in the error when it is missing or corrupt."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"missing file: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"corrupt JSON file {path}: {err}") from err


def save_tensors(path: str | os.PathLike[str], tensors: dict[str, Any]) -> None:
    """Save a dict of tensors (and plain values) with ``torch.save``, atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(tensors, tmp)


def load_tensors(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a file written by :func:`save_tensors` (``weights_only=True``: no pickled code runs)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"missing file: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise ValueError(f"corrupt or unreadable tensor file {path}: {err}") from err


def load_for_setting(path: str | os.PathLike[str], dataset: str, seed: int, wanted: dict[str, Any], *, made: str,
                     remedy: str = "") -> dict[str, Any]:
    """A file of :func:`save_tensors` holding ``dataset``, ``seed`` and ``params_json``, refused (a
    :class:`~dpbench.params.UserError` naming the difference) unless it was ``made`` ("computed",
    "learned") for that dataset, seed and the parameters ``wanted``."""
    from dpbench.params import UserError

    saved = load_tensors(path)
    stored = json.loads(saved["params_json"])
    if saved["dataset"] != dataset or int(saved["seed"]) != seed or stored != wanted:
        raise UserError(f"{path} was {made} for {saved['dataset']}, seed {int(saved['seed'])} with {stored}, "
                        f"not for {dataset}, seed {seed} with {wanted}" + (f": {remedy}" if remedy else ""))
    return saved
