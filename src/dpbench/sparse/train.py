"""Training loops for the learned sparse encoders (Adam, whole data set on the device).

* :func:`train_encoder` -- ``mode="unsupervised"`` minimises the Lasso objective of the network's
  output (SC2Net's unsupervised setting); ``mode="regress"`` minimises ``||z - z*||^2`` to target
  codes, by default FISTA solutions (Gregor & LeCun's setting).
* :func:`train_regression_stream` -- the same regression on freshly generated batches (the
  synthetic protocol of LISTA-CP / ALISTA).
* :func:`train_supervised` -- a linear softmax head on the codes, cross-entropy plus a weighted
  sparse-coding loss.

Layer-wise training: with ``layer_loss="mean"`` the loss is the mean of the per-layer losses over
all iterates ``z_1..z_T``, with ``"mean_log"`` the mean of their logarithms (i.e. of the per-layer
error in dB, so late layers with small errors still count) -- a simple one-stage stand-in for the
staged training of the LISTA-CP / ALISTA papers that makes every prefix ``t <= T`` of the network a
good encoder. ``layer_loss="final"`` (the default of :func:`train_encoder`) trains on the last
layer's output only.

Data are batched by slicing a random permutation of a tensor held on the device. A NaN or infinite
loss raises :class:`DivergenceError`, and so does a training that blew up while staying finite: an
epoch's mean loss above ``BLOWUP`` times the loss of the all-zero code (``1/2 ||x||^2`` for the Lasso,
``||z*||^2`` for the regression, plus ``log(classes)`` of cross-entropy for the supervised loss), which
any encoder beats by outputting nothing (LISTA-SC2Net under Adadelta at learning rate 1 on [0, 1]
pixels reached 10^25 without overflowing). After every optimiser step the thresholds are projected onto
``theta >= 0`` (:meth:`SparseEncoder.project_`).

Optimiser: ``optimizer="adam"`` (the default) or ``"adadelta"``, the one SC2Net's paper trains every
neural method with (Zeiler 2012; "we employ the same optimization solver, Adadelta ... using Keras"):
``torch.optim.Adadelta`` with Keras' and TensorFlow's ``rho = 0.95``, ``epsilon = 1e-8`` and the given
learning rate (Keras' default 1.0; the authors' TF LISTA/LFISTA use ``AdadeltaOptimizer(1)``,
``_loptim_network.py`` line 293).

A model with a tied decoder (``decoder="tied"``, :mod:`dpbench.sparse.decoder`) is trained through it:
the Lasso loss reconstructs with ``model.decoder_matrix()`` (SC2Net's eq. 10), and the result's ``D`` is
that decoder after training.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from dpbench.checkpoint import TrainingCheckpoint
from dpbench.progress import progress
from dpbench.runtime import DivergenceError, training_forward
from dpbench.sparse.base import SparseEncoder, lasso_objective
from dpbench.sparse.decoder import model_decoder
from dpbench.sparse.fista import FISTA

logger = logging.getLogger(__name__)

LAYER_LOSSES = ("final", "mean", "mean_log")
OPTIMIZERS = ("adam", "adadelta")
ADADELTA = {"rho": 0.95, "eps": 1e-8}  # Keras' and TensorFlow's defaults (torch's eps is 1e-6)
BLOWUP = 1e3  # an epoch's mean loss above this many times the all-zero code's loss: diverged


def make_optimizer(name: str, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` or ``torch.optim.Adadelta`` (Keras' rho and epsilon) at learning rate ``lr``."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, **ADADELTA)
    raise ValueError(f"unknown optimizer {name!r}: expected one of {OPTIMIZERS}")


@dataclass
class TrainResult:
    """Outcome of a training run: mean loss per epoch (or per logging window) and the dictionary."""

    losses: list[float] = field(default_factory=list)
    steps: int = 0
    D: torch.Tensor | None = None


def fista_codes(x: torch.Tensor, D: torch.Tensor, lam: float, n_iter: int = 1000, chunk: int = 4096) -> torch.Tensor:
    """Lasso codes of the rows of ``x`` by ``n_iter`` FISTA iterations (no gradient, in chunks).

    With more features than atoms (images: 784 pixels, 100 atoms) the same iterations run on the Gram
    matrix, ``D^T (x - D y) = D^T x - (D^T D) y`` with ``D^T x`` computed once (:func:`_fista_gram`)."""
    if D.shape[0] > D.shape[1]:
        with torch.no_grad():
            return torch.cat([_fista_gram(x[i : i + chunk], D, lam, n_iter) for i in range(0, x.shape[0], chunk)])
    solver = FISTA(D, lam, n_iter).to(x.device)
    with torch.no_grad():
        return torch.cat([solver(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])


def _fista_gram(x: torch.Tensor, D: torch.Tensor, lam: float, n_iter: int) -> torch.Tensor:
    """:class:`dpbench.sparse.fista.FISTA`'s ``n_iter`` iterations (Beck & Teboulle eqs. 4.1-4.3) in Gram form."""
    from dpbench.sparse.base import soft_threshold, spectral_norm_sq

    D = D.to(device=x.device, dtype=x.dtype)
    step = 1.0 / spectral_norm_sq(D)
    b, G = x @ D, D.T @ D
    z_prev = y = x.new_zeros(x.shape[0], D.shape[1])
    t = 1.0
    for _ in range(n_iter):
        z = soft_threshold(y + step * (b - y @ G), lam * step)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        y = z + ((t - 1.0) / t_next) * (z - z_prev)
        z_prev, t = z, t_next
    return z_prev


def _layer_loss(
    model: Callable[..., torch.Tensor], x: torch.Tensor, per_layer: Callable[[torch.Tensor], torch.Tensor], layer_loss: str
) -> torch.Tensor:
    if layer_loss == "final":
        return per_layer(model(x))
    losses = torch.stack([per_layer(z) for z in model(x, return_all=True)])
    return (losses.log() if layer_loss == "mean_log" else losses).mean()


def _check_layer_loss(layer_loss: str) -> None:
    if layer_loss not in LAYER_LOSSES:
        raise ValueError(f"unknown layer_loss {layer_loss!r}: expected one of {LAYER_LOSSES}")


def _batches(n: int, batch_size: int, generator: torch.Generator | None, device: torch.device) -> Iterator[torch.Tensor]:
    perm = torch.randperm(n, generator=generator).to(device)
    for start in range(0, n, batch_size):
        yield perm[start : start + batch_size]


def _resume(checkpoint: TrainingCheckpoint | None, state: dict, generators: list, result: TrainResult) -> int:
    """Restore a checkpoint into ``state``/``generators``/``result``; return the first epoch (or step) to run."""
    progress = checkpoint.restore(state, generators) if checkpoint is not None else None
    if progress is None:
        return 1
    result.losses, result.steps = list(progress["losses"]), int(progress["steps"])
    return int(progress["done"]) + 1


def _save(checkpoint: TrainingCheckpoint | None, state: dict, generators: list, result: TrainResult, done: int) -> None:
    if checkpoint is not None:
        checkpoint.maybe_save(state, generators, {"done": done, "steps": result.steps, "losses": result.losses})


def _optimise(
    name: str,
    loss_fn: Callable[[], torch.Tensor],
    optimiser: torch.optim.Optimizer,
    step: int,
    after_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """One Adam step on ``loss_fn()``; returns the detached loss without reading it back (no host
    synchronisation: a GPU keeps queueing steps). Callers check it with :func:`_finite`."""
    loss = loss_fn()
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    if after_step is not None:
        after_step()
    return loss.detach()


def _with_dictionary(
    model: SparseEncoder, D: torch.Tensor, learn: bool, params: list[torch.Tensor]
) -> tuple[torch.Tensor, Callable[[], torch.Tensor], Callable[[], None]]:
    """The dictionary, the decoder a loss uses (a function: a tied decoder moves with the model) and the
    projection after each optimiser step: ``D`` as it is, or (``learn``) a parameter appended to ``params``
    (the decoder learned with the encoder, as SC2Net's code does) whose atoms are renormalised to unit
    length after each step, or the model's tied decoder; the model's thresholds are projected onto
    ``theta >= 0`` either way."""
    tied = bool(getattr(model, "tied_decoder", False))
    if learn and tied:
        raise ValueError(f"{type(model).__name__} decodes with its own input matrix (decoder='tied'): "
                         "learn_dictionary=True would add a second decoder")
    if learn:
        D = nn.Parameter(D.clone())
        params.append(D)

    def after_step() -> None:
        model.project_()
        if learn:
            with torch.no_grad():
                D.div_(D.norm(dim=0, keepdim=True).clamp_min(1e-12))

    return D, (lambda: model_decoder(model, D)), after_step


def _zero_code_lasso(x: torch.Tensor) -> float:
    """:func:`lasso_objective` of the all-zero code, ``mean 1/2 ||x||^2`` (what :func:`_finite` compares with)."""
    return float(0.5 * x.pow(2).sum(dim=1).mean())


def _finite(name: str, loss: torch.Tensor, step: int, zero_code_loss: float = math.inf) -> float:
    """``float(loss)`` (a loss, or a sum of losses kept on the device: one read-back for many steps);
    raises :class:`DivergenceError` naming ``step`` (the last step it covers) if it is NaN or infinite,
    or above ``BLOWUP`` times ``zero_code_loss`` (the loss of the all-zero code: blown up)."""
    value = float(loss)
    if not math.isfinite(value):
        raise DivergenceError(f"{name}: training diverged at step {step}: loss = {value}")
    if value > BLOWUP * zero_code_loss:
        raise DivergenceError(f"{name}: training blew up by step {step}: loss = {value:.4g}, above {BLOWUP:g} x the "
                              f"all-zero code's loss {zero_code_loss:.4g}")
    return value


def _resolve_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    for tensor in (*model.buffers(), *model.parameters()):
        return tensor.device
    return torch.device("cpu")


def train_encoder(
    model: SparseEncoder,
    x_train: torch.Tensor,
    D: torch.Tensor,
    lam: float,
    *,
    mode: str = "unsupervised",
    targets: torch.Tensor | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    learn_dictionary: bool = False,
    layer_loss: str = "final",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    log_every: int = 1,
    fista_iters: int = 1000,
    checkpoint: TrainingCheckpoint | None = None,
    optimizer: str = "adam",
) -> TrainResult:
    """Train ``model`` on ``x_train`` (``n_samples x n_features``) with Adam (or ``optimizer="adadelta"``).

    ``mode="unsupervised"``: minimise ``lasso_objective(x, model(x), D, lam)``; with
    ``learn_dictionary=True`` ``D`` is learned jointly (columns renormalised to unit norm after each
    step) and returned in the result. ``mode="regress"``: minimise the mean over the batch of
    ``||model(x) - z*||^2`` where ``z*`` are ``targets`` or, if None, ``fista_iters`` FISTA codes.
    ``layer_loss`` is ``"final"`` or ``"mean"`` (over layers, see the module docstring).
    With a ``checkpoint``, the state is saved periodically and an interrupted run resumes from it.
    """
    if mode not in ("unsupervised", "regress"):
        raise ValueError(f"unknown training mode {mode!r}: expected 'unsupervised' or 'regress'")
    _check_layer_loss(layer_loss)
    if mode == "regress" and (learn_dictionary or getattr(model, "tied_decoder", False)):
        raise ValueError("learn_dictionary=True and a tied decoder need mode='unsupervised' (regression targets fix D)")
    if not model.trainable and not learn_dictionary:
        raise ValueError(f"{type(model).__name__} has no parameters to learn")
    device = _resolve_device(model, device)
    model.to(device).train()
    x = x_train.to(device=device, dtype=model.D.dtype)
    D_used: torch.Tensor = D.to(device=device, dtype=model.D.dtype)
    if mode == "regress":
        z_star = fista_codes(x, D_used, lam, fista_iters) if targets is None else targets.to(device=device, dtype=x.dtype)
        if z_star.shape[0] != x.shape[0]:
            raise ValueError(f"{z_star.shape[0]} targets for {x.shape[0]} inputs")
    params = [p for p in model.parameters() if p.requires_grad]
    D_used, decoder, after_step = _with_dictionary(model, D_used, learn_dictionary, params)

    optimiser = make_optimizer(optimizer, params, lr)
    name = type(model).__name__
    zero_code_loss = _zero_code_lasso(x) if mode == "unsupervised" else float(z_star.pow(2).sum(dim=1).mean())
    result = TrainResult()
    state = {"model": model, "optimiser": optimiser, **({"D": D_used} if learn_dictionary else {})}
    first_epoch = _resume(checkpoint, state, [generator], result)
    forward = training_forward(model)
    for epoch in progress(range(first_epoch, epochs + 1), f"{name} epochs"):
        total, count = x.new_zeros(()), 0  # summed on the device: read back (and checked) once per epoch
        for idx in _batches(x.shape[0], batch_size, generator, device):
            xb = x[idx]
            if mode == "unsupervised":
                per_layer = lambda z, xb=xb: lasso_objective(xb, z, decoder(), lam)  # noqa: E731
            else:
                zb = z_star[idx]
                per_layer = lambda z, zb=zb: (z - zb).pow(2).sum(dim=1).mean()  # noqa: E731
            result.steps += 1
            loss = _optimise(name, lambda: _layer_loss(forward, xb, per_layer, layer_loss), optimiser, result.steps, after_step)
            total, count = total + loss * xb.shape[0], count + xb.shape[0]
        result.losses.append(_finite(name, total / count, result.steps, zero_code_loss))
        _save(checkpoint, state, [generator], result, epoch)
        if log_every and (epoch % log_every == 0 or epoch == epochs):
            logger.info("%s epoch %d/%d: %s loss %.6g", name, epoch, epochs, mode, result.losses[-1])
    model.eval()
    result.D = decoder().detach()
    return result


def train_regression_stream(
    model: SparseEncoder,
    sample_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    *,
    n_steps: int,
    lr: float = 5e-4,
    layer_loss: str = "mean",
    device: torch.device | str | None = None,
    log_every: int = 100,
    checkpoint: TrainingCheckpoint | None = None,
    rng: torch.Generator | None = None,
) -> TrainResult:
    """Regress ``model(x)`` onto ``z`` for ``n_steps`` Adam steps on batches ``(x, z) = sample_batch()``.

    The loss is the batch mean of ``||z_t - z||^2`` for the last layer (``layer_loss="final"``),
    averaged over all layers (``"mean"``) or its logarithm averaged over layers (``"mean_log"``).
    ``result.losses`` holds the mean loss of each logging window (and of the last steps); the loss is
    read back, and checked for divergence, only there. With a ``checkpoint``, the state
    (including ``rng``, the generator ``sample_batch`` draws from) is saved at the end of logging
    windows and an interrupted run resumes from it.
    """
    _check_layer_loss(layer_loss)
    if not model.trainable:
        raise ValueError(f"{type(model).__name__} has no parameters to learn")
    device = _resolve_device(model, device)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=lr)
    name = type(model).__name__
    result = TrainResult()
    state = {"model": model, "optimiser": optimiser}
    first_step = _resume(checkpoint, state, [rng], result)
    forward = training_forward(model)
    window, window_len = torch.zeros((), device=device, dtype=model.D.dtype), 0
    for step in progress(range(first_step, n_steps + 1), f"{name} steps"):
        xb, zb = (t.to(device=device, dtype=model.D.dtype) for t in sample_batch())

        def loss_fn(xb: torch.Tensor = xb, zb: torch.Tensor = zb) -> torch.Tensor:
            return _layer_loss(forward, xb, lambda z: (z - zb).pow(2).sum(dim=1).mean(), layer_loss)

        window, window_len = window + _optimise(name, loss_fn, optimiser, step, model.project_), window_len + 1
        if (log_every and step % log_every == 0) or step == n_steps:
            result.losses.append(_finite(name, window, step) / window_len)
            window, window_len = torch.zeros_like(window), 0
            _save(checkpoint, state, [rng], result, step)
            logger.info("%s step %d/%d: regression loss %.6g", name, step, n_steps, result.losses[-1])
    result.steps = n_steps
    model.eval()
    result.D = model.D
    return result


def train_supervised(
    model: SparseEncoder,
    head: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    D: torch.Tensor,
    lam: float,
    *,
    sc_weight: float = 1.0,
    ce_weight: float = 1.0,
    learn_dictionary: bool = False,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    log_every: int = 1,
    checkpoint: TrainingCheckpoint | None = None,
    optimizer: str = "adam",
) -> TrainResult:
    """Train encoder and ``head`` (e.g. ``nn.Linear(n_atoms, n_classes)``) jointly (Adam, or ``optimizer="adadelta"``).

    Loss: ``ce_weight * cross_entropy(head(z), y) + sc_weight * lasso_objective(x, z, D, lam)`` with
    ``z = model(x)`` (SC2Net's supervised setting; their ``lista_network.py`` weighs it
    ``ce_weight = 0.1``, ``sc_weight = 1``). With ``learn_dictionary=True`` ``D`` is learned jointly
    (unit-norm columns, as in :func:`train_encoder`) and returned in the result. Untrainable encoders
    (ISTA/FISTA) are allowed: only the head (and ``D``) learns.
    """
    device = _resolve_device(model, device)
    model.to(device).train()
    head.to(device=device, dtype=model.D.dtype).train()
    x = x.to(device=device, dtype=model.D.dtype)
    y = y.to(device=device, dtype=torch.long)
    D = D.to(device=device, dtype=model.D.dtype)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{y.shape[0]} labels for {x.shape[0]} inputs")
    params = [p for p in (*model.parameters(), *head.parameters()) if p.requires_grad]
    D, decoder, after_step = _with_dictionary(model, D, learn_dictionary, params)

    optimiser = make_optimizer(optimizer, params, lr)
    name = f"{type(model).__name__}+{type(head).__name__}"
    n_classes = int(y.max()) + 1 if y.numel() else 1
    zero_code_loss = ce_weight * math.log(max(n_classes, 2)) + sc_weight * _zero_code_lasso(x)
    result = TrainResult()
    state = {"model": model, "head": head, "optimiser": optimiser, **({"D": D} if learn_dictionary else {})}
    first_epoch = _resume(checkpoint, state, [generator], result)
    forward = training_forward(model)
    for epoch in progress(range(first_epoch, epochs + 1), f"{name} epochs"):
        total, count = x.new_zeros(()), 0  # summed on the device: read back (and checked) once per epoch
        for idx in _batches(x.shape[0], batch_size, generator, device):
            xb, yb = x[idx], y[idx]

            def loss_fn(xb: torch.Tensor = xb, yb: torch.Tensor = yb) -> torch.Tensor:
                z = forward(xb)
                return ce_weight * F.cross_entropy(head(z), yb) + sc_weight * lasso_objective(xb, z, decoder(), lam)

            result.steps += 1
            total = total + _optimise(name, loss_fn, optimiser, result.steps, after_step) * xb.shape[0]
            count += xb.shape[0]
        result.losses.append(_finite(name, total / count, result.steps, zero_code_loss))
        _save(checkpoint, state, [generator], result, epoch)
        if log_every and (epoch % log_every == 0 or epoch == epochs):
            logger.info("%s epoch %d/%d: supervised loss %.6g", name, epoch, epochs, result.losses[-1])
    model.eval()
    head.eval()
    result.D = decoder().detach()
    return result

