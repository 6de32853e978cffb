"""GPU slots on a multi-GPU workstation: one job per GPU (or N), picked with lock files.

``snakemake --cores all --resources gpu=N`` lets at most N jobs that declare ``gpu=1`` run at once,
but Snakemake does not tell a job *which* GPU to use: every job would see all GPUs and pick
``cuda:0``. Each training command therefore takes a free slot before it starts:

- the slots are the visible GPUs (``CUDA_VISIBLE_DEVICES`` if set, else every device torch sees),
  times ``DPBENCH_JOBS_PER_GPU`` (default 1);
- a slot is an exclusive ``fcntl.flock`` on ``<lock_dir>/gpu<id>.slot<k>.lock``; the process keeps
  it while it runs and the kernel drops it when the process ends, however it ends (a killed or
  crashed job never leaves a GPU marked busy);
- the job then sees only its GPU (``CUDA_VISIBLE_DEVICES=<id>``, so ``cuda`` means that GPU);
- when every slot is taken the job logs that it is waiting and polls until one frees up, for at
  most ``DPBENCH_GPU_WAIT_S`` seconds (default 12 h), then fails.

Nothing happens under SLURM (``SLURM_JOB_ID`` set: the scheduler already gave the job its GPUs and
set ``CUDA_VISIBLE_DEVICES``), for ``--device cpu`` or an explicit ``cuda:<k>``, with one visible
GPU or none, or when ``DPBENCH_GPU_SLOTS=0``.

Environment: ``DPBENCH_GPU_LOCK_DIR`` (default ``<tmp>/dpbench-gpu-locks``: shared by every user of
the machine), ``DPBENCH_JOBS_PER_GPU``, ``DPBENCH_GPU_WAIT_S``, ``DPBENCH_GPU_SLOTS``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dpbench.params import JOBS_PER_GPU_ENV

log = logging.getLogger(__name__)

DEFAULT_WAIT_S = 12 * 3600.0


class GpuSlotTimeout(TimeoutError):
    """Every GPU slot stayed busy for longer than the wait limit."""


@dataclass
class GpuSlot:
    device: str  # the id as written in CUDA_VISIBLE_DEVICES (an index or a GPU-/MIG- UUID)
    slot: int  # which of the device's slots (0 .. jobs_per_gpu-1)
    lock_path: Path


def default_lock_dir() -> Path:
    return Path(os.environ.get("DPBENCH_GPU_LOCK_DIR") or Path(tempfile.gettempdir()) / "dpbench-gpu-locks")


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else torch's device count."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import torch

        count = torch.cuda.device_count()  # NVML-based: does not initialise CUDA
    except Exception:  # noqa: BLE001 - no torch/driver: no GPUs
        return []
    return [str(i) for i in range(count)]


def _lock_file(lock_dir: Path, device: str, slot: int) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", device)
    return lock_dir / f"gpu{safe}.slot{slot}.lock"


def _open_lock(path: Path) -> IO[Any]:
    # 0o666 so that every user of a shared workstation can take the same slots (the umask may narrow it)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    return os.fdopen(fd, "r+")


def try_acquire(devices: Sequence[str], lock_dir: Path, jobs_per_gpu: int = 1) -> tuple[GpuSlot, IO[Any]] | None:
    """Take the first free slot without waiting; fill every GPU's first slot before any second one."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a shared directory: anyone may add lock files
        os.chmod(lock_dir, 0o1777)
    for slot in range(jobs_per_gpu):
        for device in devices:
            path = _lock_file(lock_dir, device, slot)
            handle = _open_lock(path)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")  # informative only: the lock is the flock
            handle.flush()
            return GpuSlot(device, slot, path), handle
    return None


@contextlib.contextmanager
def gpu_slot(
    devices: Sequence[str] | None = None,
    lock_dir: str | Path | None = None,
    jobs_per_gpu: int | None = None,
    timeout: float | None = None,
    poll: float = 2.0,
    set_env: bool = True,
) -> Iterator[GpuSlot]:
    """Hold one GPU slot for the ``with`` block; set ``CUDA_VISIBLE_DEVICES`` to its GPU.

    Waits (logging once, then every ten minutes) while all slots are busy; raises
    :class:`GpuSlotTimeout` after ``timeout`` seconds. The environment is restored on exit.
    """
    devices = list(visible_gpus() if devices is None else devices)
    if not devices:
        raise ValueError("no GPU to take a slot on")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    jobs_per_gpu = jobs_per_gpu or int(os.environ.get(JOBS_PER_GPU_ENV, "1"))
    if jobs_per_gpu < 1:
        raise ValueError(f"jobs per GPU must be >= 1, got {jobs_per_gpu}")
    timeout = float(os.environ.get("DPBENCH_GPU_WAIT_S", DEFAULT_WAIT_S)) if timeout is None else timeout

    start = time.monotonic()
    next_log = start
    while True:
        got = try_acquire(devices, lock_dir, jobs_per_gpu)
        if got is not None:
            break
        waited = time.monotonic() - start
        if waited >= timeout:
            raise GpuSlotTimeout(
                f"all {len(devices) * jobs_per_gpu} GPU slots ({len(devices)} GPUs x {jobs_per_gpu}) in "
                f"{lock_dir} stayed busy for {waited:.0f}s; is --resources gpu=N larger than the GPU count?"
            )
        if time.monotonic() >= next_log:
            log.warning("all %d GPU slots in %s are busy; waiting (up to %.0fs)", len(devices) * jobs_per_gpu, lock_dir, timeout)
            next_log = time.monotonic() + 600
        time.sleep(min(poll, max(0.0, timeout - waited)))

    slot, handle = got
    old = os.environ.get("CUDA_VISIBLE_DEVICES")
    if set_env:
        os.environ["CUDA_VISIBLE_DEVICES"] = slot.device
        _forget_cached_device_count()
    log.info("GPU slot: device %s (slot %d, lock %s)", slot.device, slot.slot, slot.lock_path)
    try:
        yield slot
    finally:
        if set_env:
            if old is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = old
            _forget_cached_device_count()
        handle.close()  # closing the only descriptor releases the flock


def _forget_cached_device_count() -> None:
    """torch caches the NVML device count; drop it so it agrees with the new CUDA_VISIBLE_DEVICES."""
    import sys

    torch = sys.modules.get("torch")
    cached = getattr(getattr(torch, "cuda", None), "device_count", None)
    if hasattr(cached, "cache_clear"):
        cached.cache_clear()


def wants_slot(device: str | None) -> bool:
    """Whether a command run with ``--device <device>`` should take a GPU slot here."""
    if device is None or os.environ.get("DPBENCH_GPU_SLOTS", "1") == "0":
        return False
    if os.environ.get("SLURM_JOB_ID"):  # SLURM already assigned the job's GPUs
        return False
    if device not in ("auto", "cuda"):  # cpu, or an explicit cuda:<k> chosen by the user
        return False
    return len(visible_gpus()) > 1


def slot_for_args(args: Any) -> contextlib.AbstractContextManager[Any]:
    """The CLI's hook: a GPU slot for commands with a ``--device`` that resolves to one of several GPUs."""
    if wants_slot(getattr(args, "device", None)):
        return gpu_slot()
    return contextlib.nullcontext()
