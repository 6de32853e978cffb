"""Run-time context of a job: device choice, seeding and the metadata stored with each result."""

from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata

import numpy as np
import torch

from dpbench.params import COMPILE_ENV, TF32_ENV


class DivergenceError(RuntimeError):
    """A training loss became NaN or infinite; the message names the model and the step."""


def resolve_device(name: str = "auto") -> torch.device:
    """Map the config's ``device`` value (``auto|cpu|cuda``) to a torch device.

    ``cuda`` without a visible GPU is an error (a ValueError, like any bad input value) rather
    than a silent fall-back to the CPU.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but no CUDA device is available")
    if name not in {"cpu"} and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}: expected auto, cpu or cuda")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so that a timing does not stop before the GPU does."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)




def set_tf32(enabled: bool) -> None:
    """Let CUDA run float32 matmuls and convolutions in TF32 (10-bit mantissa) or keep full IEEE float32."""
    precision = "tf32" if enabled else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision


def tf32_requested() -> bool:
    return os.environ.get(TF32_ENV, "0") == "1"


def compile_requested() -> bool:
    return os.environ.get(COMPILE_ENV, "0") == "1"


def training_forward(model: torch.nn.Module) -> torch.nn.Module:
    """What a training loop calls: ``torch.compile(model)`` when the workflow asks for it, else ``model``.

    The compiled module shares the model's parameters, so state dicts and checkpoints stay the
    model's own. Compiling costs seconds to tens of seconds once per job (README, Speed).
    """
    return torch.compile(model) if compile_requested() else model


def seed_everything(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """Seed Python, NumPy and PyTorch and return a seeded CPU generator.

    On CUDA it also asks for deterministic kernels (``torch.use_deterministic_algorithms``) and sets
    TF32 as the workflow asks (``$DPBENCH_TF32``, from the config's ``tf32``; off by default). The CPU
    kernels used here are deterministic without it, and its first call imports ``torch._dynamo``
    (one second or more per job), so CPU jobs skip it. On the CPU, denormal floats are flushed to
    zero: unrolled solvers drive many values and gradients below 1e-38, where x86 arithmetic slows
    down by orders of magnitude (ALISTA's backward pass ran 35 times slower), and values that small
    change no result.
    """
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.device(device).type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        set_tf32(tf32_requested())
    return torch.Generator().manual_seed(seed)


def run_metadata(device: torch.device, seed: int) -> dict[str, object]:
    """Versions and environment recorded with every result."""
    versions = {}
    for pkg in ("dpbench", "torch", "torchvision", "numpy", "scikit-learn", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "seed": seed,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "versions": versions,
        "torch_threads": torch.get_num_threads(),
        "tf32": device.type == "cuda" and torch.backends.cuda.matmul.fp32_precision == "tf32",
        "compile": compile_requested(),
    }
