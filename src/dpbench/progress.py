"""Progress bars for long jobs (tqdm) that switch themselves off when stderr is not a terminal.

Workflow jobs write stderr to their log file, so their logs stay free of bars; a job started by
hand in a terminal shows them. ``TQDM_DISABLE=1`` turns them off everywhere (tqdm reads its
``TQDM_*`` environment variables as defaults).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")

# disable=None: tqdm's "off unless the output stream (stderr) is a TTY"; leave=False: a finished
# inner bar (epochs within a depth sweep) makes room for the next one
_OPTIONS: dict[str, Any] = {"disable": None, "leave": False, "dynamic_ncols": True, "mininterval": 0.5}


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """``iterable`` unchanged, with a progress bar named ``desc`` while stderr is a terminal."""
    return iter(tqdm(iterable, desc=desc, total=total, **_OPTIONS))


def progress_bar(desc: str, total: int | None = None, unit: str = "it") -> tqdm:
    """A bar updated by hand (``bar.update(n)``), for loops run by a library; use it as a context manager."""
    return tqdm(desc=desc, total=total, unit=unit, **_OPTIONS)
