"""Training an encoder until a held-out set of normal cuboids stops improving (early stopping).

Adam on the unsupervised Lasso loss (SC2Net's unsupervised setting, as
:func:`dpbench.sparse.train.train_encoder`), on minibatches drawn uniformly with replacement (so
that a resumed run draws the same batches). Every ``eval_every`` steps the mean Lasso objective of
the encoder's codes on the held-out cuboids is measured; training stops after ``patience``
evaluations without a relative improvement of ``min_delta``, or at ``max_steps``, and the encoder
returns to its best evaluated state (step 0, its initialisation, included). A non-finite loss
raises :class:`dpbench.runtime.DivergenceError`; with a checkpoint the state (including the best
state and the batch generator) is saved at evaluations and an interrupted run resumes from it.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field

import torch

import dpbench.sparse.train as train_mod
from dpbench.checkpoint import TrainingCheckpoint
from dpbench.runtime import DivergenceError, training_forward
from dpbench.sparse.base import SparseEncoder, lasso_objective

log = logging.getLogger(__name__)


@dataclass
class ConvergenceResult:
    steps: int = 0  # Adam steps run
    best_step: int = 0  # step of the state kept (0: the initialisation)
    stopped: str = ""  # "patience" or "max_steps"
    train_losses: list[float] = field(default_factory=list)  # mean training loss of each evaluation window
    val_losses: list[float] = field(default_factory=list)  # held-out loss at step 0 and at each evaluation


def held_out_loss(model: SparseEncoder, x: torch.Tensor, D: torch.Tensor, lam: float, chunk: int = 8192) -> float:
    """Mean Lasso objective of ``model``'s codes on ``x`` (no gradient)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        total = sum(float(lasso_objective(x[i : i + chunk], model(x[i : i + chunk]), D, lam)) * x[i : i + chunk].shape[0]
                    for i in range(0, x.shape[0], chunk))
    model.train(was_training)
    return total / x.shape[0]


def train_to_convergence(
    model: SparseEncoder,
    x_fit: torch.Tensor,
    x_val: torch.Tensor,
    D: torch.Tensor,
    lam: float,
    *,
    max_steps: int,
    eval_every: int,
    patience: int,
    min_delta: float = 1e-4,
    batch_size: int = 256,
    lr: float = 1e-3,
    layer_loss: str = "final",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    checkpoint: TrainingCheckpoint | None = None,
) -> ConvergenceResult:
    """Train ``model`` on ``x_fit`` until ``x_val`` stops improving (see the module docstring)."""
    device = torch.device(device)
    model.to(device).train()
    dtype = model.D.dtype
    x, xv, D = (t.to(device=device, dtype=dtype) for t in (x_fit, x_val, D))
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=lr)
    best = copy.deepcopy(model)
    state = {"model": model, "optimiser": optimiser, "best": best}
    name = type(model).__name__
    res = ConvergenceResult()
    progress = checkpoint.restore(state, [generator]) if checkpoint is not None else None
    if progress is None:
        first = held_out_loss(model, xv, D, lam)
        if not math.isfinite(first):
            raise DivergenceError(f"{name}: held-out loss {first} before training")
        best_val, bad = first, 0
        res.val_losses = [first]
    else:
        res.steps, res.best_step, bad = int(progress["steps"]), int(progress["best_step"]), int(progress["bad"])
        res.train_losses, res.val_losses = list(progress["train_losses"]), list(progress["val_losses"])
        best_val = float(progress["best_val"])
    forward = training_forward(model)
    window: list[torch.Tensor] = []  # the step losses since the last evaluation, read back only there
    while res.steps < max_steps and bad < patience:
        idx = torch.randint(x.shape[0], (batch_size,), generator=generator).to(device)
        xb = x[idx]
        res.steps += 1
        loss = train_mod._optimise(
            name, lambda xb=xb: train_mod._layer_loss(forward, xb, lambda z: lasso_objective(xb, z, D, lam), layer_loss),
            optimiser, res.steps, model.project_,
        )
        window.append(loss)
        if res.steps % eval_every == 0 or res.steps == max_steps:
            val = held_out_loss(model, xv, D, lam)
            if not math.isfinite(val):
                raise DivergenceError(f"{name}: training diverged at step {res.steps}: held-out loss = {val}")
            res.train_losses.append(train_mod._finite(name, torch.stack(window).mean(), res.steps))
            res.val_losses.append(val)
            window = []
            if val < best_val * (1 - min_delta):
                best_val, bad, res.best_step = val, 0, res.steps
                best.load_state_dict(model.state_dict())
            else:
                bad += 1
            log.info("%s step %d: train %.6g, held-out %.6g (best %.6g at step %d)", name, res.steps, res.train_losses[-1], val, best_val, res.best_step)
            if checkpoint is not None:
                checkpoint.maybe_save(state, [generator], {
                    "steps": res.steps, "best_step": res.best_step, "bad": bad, "best_val": best_val,
                    "train_losses": res.train_losses, "val_losses": res.val_losses,
                })
    res.stopped = "patience" if bad >= patience else "max_steps"
    model.load_state_dict(best.state_dict())
    model.eval()
    return res
