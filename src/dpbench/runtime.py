"""Run-time context of a job: device choice, seeding and the metadata stored with each result."""

from __future__ import annotations

import logging
import os
import platform
import random
import sys
from importlib import metadata

import numpy as np
import torch

from dpbench.params import COMPILE_ENV, GRAPHS_ENV, JOBS_PER_GPU_ENV, TF32_ENV
from dpbench.params import DivergenceError as DivergenceError  # re-exported: where the training code raises it

logger = logging.getLogger(__name__)

# a staged job compiles one graph per depth it trains (n_layers = 1..T): room for every depth
_RECOMPILE_LIMIT = 64


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


def graphs_requested() -> bool:
    return os.environ.get(GRAPHS_ENV, "0") == "1"


def _model_device(model: torch.nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def graphs_active(model: torch.nn.Module) -> bool:
    """Whether ``model``'s training steps run as CUDA graphs: asked for, and the model is on a GPU."""
    return graphs_requested() and _model_device(model).type == "cuda"


class _GraphStep(torch.nn.Module):
    """``model`` compiled with ``mode="reduce-overhead"`` (CUDA graphs, replayed instead of launching
    each kernel), telling the graph trees that each call starts a new training step: the previous
    step's outputs are not read again, so their memory may be reused."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.compiled = torch.compile(model, mode="reduce-overhead", dynamic=False)

    def forward(self, *args: object, **kwargs: object) -> object:
        torch.compiler.cudagraph_mark_step_begin()
        return self.compiled(*args, **kwargs)


def _allow_recompiles() -> None:
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):  # the name changed across PyTorch releases
        if hasattr(config, name):
            setattr(config, name, max(getattr(config, name), _RECOMPILE_LIMIT))


def training_forward(model: torch.nn.Module) -> torch.nn.Module:
    """What a training loop calls instead of ``model``, as the workflow asks (``$DPBENCH_*``, set by the
    CLI's switches):

    - ``--cuda-graphs`` with the model on a GPU: ``torch.compile(model, mode="reduce-overhead")``, the
      step's kernels captured once per input shape and depth and replayed as one CUDA graph (our
      networks are small: a step is bound by kernel launches). On the CPU there are no CUDA graphs:
      the switch falls back to the next line, and the job's ``meta`` says ``cuda_graphs: false``;
    - ``--compile``: ``torch.compile(model)``;
    - else ``model`` itself (eager).

    The compiled module shares the model's parameters, so state dicts and checkpoints stay the
    model's own. Compiling costs seconds to tens of seconds per depth (README, Speed).
    """
    if graphs_requested():
        if graphs_active(model):
            _allow_recompiles()
            return _GraphStep(model)
        logger.warning("CUDA graphs asked for, but %s is on the %s: running without them", type(model).__name__,
                       _model_device(model).type)
    if compile_requested():
        _allow_recompiles()
        return torch.compile(model)
    return model


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
        # CUDA graphs run only on a GPU (dpbench.runtime.training_forward falls back to eager elsewhere)
        "cuda_graphs": graphs_requested() and device.type == "cuda",
        # jobs that may share this job's GPU (the config's slots_per_gpu): its wall time depends on it
        "jobs_per_gpu": int(os.environ.get(JOBS_PER_GPU_ENV, "1")),
    }
