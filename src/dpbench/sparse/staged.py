"""The staged (layer-wise) training of the LISTA-CP / ALISTA papers, as in the authors' code
(VITA-Group/LISTA-CPSS and VITA-Group/ALISTA, ``utils/train.py``: ``setup_sc_training`` and
``do_training``; defaults of their ``config.py``).

For ``t = 1..T`` the loss is ``||z_t - z||^2`` of layer ``t``'s output, and three sub-stages run:

1. the parameters new at layer ``t`` alone, Adam at ``lr`` (at ``t = 1`` this includes the
   parameters every layer shares, e.g. LISTA's ``W_e``);
2. then 3. all parameters of layers ``1..t``, Adam at ``lr * lr_decays[i]`` (0.2, 0.02), the
   gradient of each layer's parameters multiplied by ``layer_decay ** (t - k)`` for layer ``k``
   (shared ones by ``layer_decay ** (t - 1)``): the authors' ``lr_multiplier``, which they apply
   to the gradient (``get_train_op``); Adam is nearly invariant to that scale, so its effect is
   small, but it is what their code does.

Every sub-stage has a fresh Adam, draws a fresh training batch per step (on the device, from one
generator) and validates every ``val_every`` steps on a fixed validation set; every
``10 * val_every`` steps it ends if no better validation NMSE was seen for more than ``patience``
steps, else it ends after ``max_steps`` steps. Unlike the authors' ``do_training``, which keeps the
last weights, the best validated weights of each sub-stage are restored when it ends (the issue's
protocol). A training step reads nothing back to the host; only validation does.

The model says which parameters are shared (:meth:`SparseEncoder.shared_parameters`); every other
parameter is stacked over layers (dim 0 = layer), and a sub-stage trains a slice of it by masking the
gradient (a zero gradient leaves a fresh Adam's update exactly zero).

With a checkpoint, the state (model, best weights, Adam, generator, progress) is saved at every
sub-stage end and, inside a sub-stage, at validations once ``every_seconds`` have passed: a killed
job resumes where it was and ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from dpbench.checkpoint import TrainingCheckpoint
from dpbench.runtime import DivergenceError, training_forward
from dpbench.sparse import train as _train
from dpbench.sparse.base import SparseEncoder

logger = logging.getLogger(__name__)


@dataclass
class StagedResult:
    """What a staged run did: steps over all sub-stages, sub-stages run, and one entry per sub-stage
    (layer, learning rate, steps, best validation NMSE in dB)."""

    steps: int = 0
    stages: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


def substages(n_layers: int, lr: float, lr_decays: list[float]) -> list[tuple[int, float, bool]]:
    """``(layer index t (0-based), learning rate, only the new parameters?)`` in the order they run."""
    return [(t, lr * d, only_new) for t in range(n_layers) for d, only_new in [(1.0, True)] + [(d, False) for d in lr_decays]]


def layer_dimension_error(model: SparseEncoder, name: str, param: torch.Tensor) -> str:
    """Why parameter ``name`` breaks the layer-wise schedule, and the two ways to fix it (the contract of
    :class:`~dpbench.sparse.base.SparseEncoder`, rule 3)."""
    cls = type(model).__name__
    shape = tuple(param.shape)
    return (
        f"{cls}.{name} has shape {shape}, but the staged schedule trains layer by layer: a parameter must either "
        f"have one slice per layer (dim 0 = n_layers = {model.n_layers}; layer t uses {name}[t]) or be shared by "
        f"every layer and named by shared_parameters(). If every layer uses {name}, add it: "
        f"def shared_parameters(self): return {{{name!r}}} (with any other shared ones). If each layer should have "
        f"its own, build it as nn.Parameter(x.expand(n_layers, *x.shape).clone()). See the contract in "
        "dpbench.sparse.SparseEncoder's docstring and docs/adding-a-model.md; `dpbench check-model` checks a class."
    )


def gradient_scales(model: SparseEncoder, t: int, only_new: bool, layer_decay: float) -> dict[str, torch.Tensor]:
    """Per parameter, the factor its gradient is multiplied by in sub-stage ``(t, only_new)``:
    0 for parameters not trained there, else ``layer_decay ** (t - k)`` for layer ``k``."""
    shared = model.shared_parameters()
    scales: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        if name in shared:
            value = (1.0 if t == 0 else 0.0) if only_new else layer_decay**t
            scales[name] = param.new_tensor(value)
            continue
        if param.ndim == 0 or param.shape[0] != model.n_layers:
            raise ValueError(layer_dimension_error(model, name, param))
        k = torch.arange(model.n_layers, device=param.device, dtype=param.dtype)
        if only_new:
            s = (k == t).to(param.dtype)
        else:
            s = torch.where(k <= t, torch.as_tensor(layer_decay, dtype=param.dtype, device=param.device) ** (t - k), 0.0)
        scales[name] = s.view(-1, *([1] * (param.ndim - 1)))
    return scales


def scale_gradients(params: dict[str, torch.Tensor], scales: dict[str, torch.Tensor]) -> Callable[..., None]:
    """An optimiser step pre-hook multiplying each parameter's gradient by its factor in ``scales``
    (:func:`gradient_scales`: the authors' ``lr_multiplier``, applied to the gradient)."""

    def hook(*_: object) -> None:
        for name, param in params.items():
            if param.grad is not None:
                param.grad.mul_(scales[name])

    return hook


def _nmse(z_hat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return (z_hat - z).pow(2).sum() / z.pow(2).sum()


def train_staged(
    model: SparseEncoder,
    sample_batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    x_val: torch.Tensor,
    z_val: torch.Tensor,
    *,
    lr: float = 5e-4,
    lr_decays: list[float] = (0.2, 0.02),
    layer_decay: float = 0.3,
    batch_size: int = 64,
    val_every: int = 10,
    patience: int = 4000,
    max_steps: int = 200000,
    checkpoint: TrainingCheckpoint | None = None,
    rng: torch.Generator | None = None,
) -> StagedResult:
    """Train ``model`` stage by stage (see the module docstring) on batches ``(x, z) = sample_batch(batch_size)``.

    ``x_val, z_val`` is the fixed validation set. ``rng`` is the generator ``sample_batch`` draws
    from (saved in checkpoints). Raises :class:`DivergenceError` when a validation NMSE is not finite.
    """
    if not model.trainable:
        raise ValueError(f"{type(model).__name__} has no parameters to learn")
    if val_every < 1 or patience < 0 or max_steps < 0:
        raise ValueError(f"need val_every >= 1, patience >= 0, max_steps >= 0; got {val_every}, {patience}, {max_steps}")
    name = type(model).__name__
    model.train()
    best = copy.deepcopy(model)
    params = dict(model.named_parameters())
    plan = substages(model.n_layers, lr, list(lr_decays))
    result = StagedResult()
    start_k, start_i, best_nmse, best_vi, n_vals = 0, 0, math.inf, 0, 0

    progress = checkpoint.restore({"model": model, "best": best}, [rng]) if checkpoint is not None else None
    if progress is not None:
        start_k, start_i = int(progress["substage"]), int(progress["step"])
        best_nmse, best_vi, n_vals = float(progress["best_nmse"]), int(progress["best_vi"]), int(progress["n_vals"])
        result.steps, result.log = int(progress["steps"]), list(progress["log"])

    forward = training_forward(model)
    for k in range(start_k, len(plan)):
        t, stage_lr, only_new = plan[k]
        scales = gradient_scales(model, t, only_new, layer_decay)
        if not any(bool(s.any()) for s in scales.values()):
            continue  # nothing new at this layer (a recurrent model's later layers)
        optimiser = torch.optim.Adam(list(params.values()), lr=stage_lr)
        state = {"model": model, "best": best, "optimiser": optimiser}
        if k == start_k and start_i > 0:
            checkpoint.restore(state, [])
        else:
            best_nmse, best_vi, n_vals = math.inf, 0, 0

        def save(i: int, force: bool = False, k: int = k) -> None:
            if checkpoint is not None:
                checkpoint.maybe_save(state, [rng], {"substage": k, "step": i, "best_nmse": best_nmse, "best_vi": best_vi,
                                                     "n_vals": n_vals, "steps": result.steps, "log": result.log}, force)

        optimiser.register_step_pre_hook(scale_gradients(params, scales))
        i = start_i if k == start_k else 0
        while i <= max_steps:
            xb, zb = sample_batch(batch_size)
            _train._optimise(name, lambda xb=xb, zb=zb: (forward(xb, n_layers=t + 1) - zb).pow(2).sum(dim=1).mean(),
                             optimiser, result.steps + 1, model.project_)
            result.steps += 1
            if i % val_every == 0:
                with torch.no_grad():
                    nmse = float(_nmse(model(x_val, n_layers=t + 1), z_val))
                if not math.isfinite(nmse):
                    raise DivergenceError(f"{name}: training diverged at step {result.steps} (layer {t + 1}): validation NMSE = {nmse}")
                if nmse < best_nmse:
                    best_nmse, best_vi = nmse, n_vals
                    best.load_state_dict(model.state_dict())
                n_vals += 1
                if i % (10 * val_every) == 0 and (n_vals - best_vi - 1) * val_every > patience:
                    i += 1
                    break
                save(i + 1)
            i += 1
        model.load_state_dict(best.state_dict())
        result.log.append({"layer": t + 1, "lr": stage_lr, "steps": i, "best_val_nmse_db": 10 * math.log10(best_nmse)})
        logger.info("%s layer %d lr %.3g: %d steps, best validation NMSE %.2f dB", name, t + 1, stage_lr, i,
                    result.log[-1]["best_val_nmse_db"])
        save(0, force=True, k=k + 1)
        start_i = 0
    result.stages = len(result.log)
    model.eval()
    return result
