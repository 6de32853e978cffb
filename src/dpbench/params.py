"""Parameters passed to jobs: the user-error type and the checks every command applies.

At the bottom of the package's layers (no PyTorch, no other dpbench module), so that models, data,
tasks, the report and the CLI all raise and check the same way without importing one another.
"""

from __future__ import annotations

import json
from typing import Any

# the speed switches of a job, set by the CLI's --tf32 / --compile (the workflow passes them as params:
# of every job that runs on the configured device) and read by dpbench.runtime
TF32_ENV = "DPBENCH_TF32"  # "1": TF32 matmuls and convolutions on CUDA (the config's ``tf32: true``)
COMPILE_ENV = "DPBENCH_COMPILE"  # "1": training steps run through torch.compile (the config's ``compile: true``)
# "1": training steps replayed as CUDA graphs, torch.compile(mode="reduce-overhead") (the config's ``cuda_graphs: true``)
GRAPHS_ENV = "DPBENCH_CUDA_GRAPHS"
# jobs that may share one GPU (the config's ``slots_per_gpu``, exported by the workflow; read by dpbench.gpu_slots)
JOBS_PER_GPU_ENV = "DPBENCH_JOBS_PER_GPU"
# summary columns holding a job's parameters: ``param.<key>`` (dpbench.results.flatten_params; read by the claims)
PARAM_PREFIX = "param."


class UserError(ValueError):
    """An error caused by the user's input: printed as one clear line, no traceback."""


class DivergenceError(RuntimeError):
    """A training loss became NaN or infinite; the message names the model and the step (re-exported by
    :mod:`dpbench.runtime`; defined here so that code catching it need not import PyTorch)."""


def parse_params(text: str) -> dict[str, Any]:
    """Parse a ``--params`` JSON object (hyperparameters passed by the workflow)."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"--params is not valid JSON: {err}") from err
    if not isinstance(params, dict):
        raise UserError(f"--params must be a JSON object, got {type(params).__name__}")
    return params


def with_defaults(kind: str, defaults: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """``defaults`` updated with ``overrides``; unknown keys raise :class:`UserError` naming them."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise UserError(f"unknown {kind} parameter(s) {unknown}: expected keys among {sorted(defaults)}")
    return {**defaults, **overrides}
