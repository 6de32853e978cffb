"""Shared pieces of the sparse-coding models: proximal operators, the Lasso objective, the base class.

Every model approximates the Lasso code ``z* = argmin_z 1/2 ||x - D z||^2 + lam ||z||_1`` for a
dictionary ``D`` of shape ``(n_features, n_atoms)``; inputs ``x`` are ``(batch, n_features)`` and
codes ``z`` are ``(batch, n_atoms)``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn


def soft_threshold(x: torch.Tensor, theta: torch.Tensor | float) -> torch.Tensor:
    """Soft thresholding ``sign(x) * max(|x| - theta, 0)``, the proximal operator of ``theta ||.||_1``."""
    return torch.sign(x) * torch.clamp(x.abs() - theta, min=0)


def support_selected_soft_threshold(v: torch.Tensor, theta: torch.Tensor | float, percent: float) -> torch.Tensor:
    """Soft thresholding with support selection (Chen et al., NeurIPS 2018, eq. 12).

    In each row, entries that are among the ``percent`` % largest in magnitude *and* above ``theta``
    pass unchanged (they are trusted to be in the support); all others are soft-thresholded.
    """
    k = int(percent / 100.0 * v.shape[-1])
    shrunk = soft_threshold(v, theta)
    if k <= 0:
        return shrunk
    top = v.abs().topk(k, dim=-1).indices
    keep = torch.zeros_like(v, dtype=torch.bool).scatter_(-1, top, True) & (v.abs() > theta)
    return torch.where(keep, v, shrunk)


def lasso_cost(x: torch.Tensor, z: torch.Tensor, D: torch.Tensor, lam: float) -> torch.Tensor:
    """Per row ``1/2 ||x - D z||^2 + lam ||z||_1`` (the sparse reconstruction cost of each input)."""
    residual = x - z @ D.T
    return 0.5 * residual.pow(2).sum(dim=-1) + lam * z.abs().sum(dim=-1)


def lasso_objective(x: torch.Tensor, z: torch.Tensor, D: torch.Tensor, lam: float) -> torch.Tensor:
    """Mean over the batch of ``1/2 ||x - D z||^2 + lam ||z||_1``."""
    return lasso_cost(x, z, D, lam).mean()


def spectral_norm_sq(D: torch.Tensor) -> torch.Tensor:
    """``L = ||D||_2^2``, the Lipschitz constant of the gradient of ``1/2 ||x - D z||^2``."""
    return torch.linalg.matrix_norm(D, ord=2) ** 2


def as_dictionary(D: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Return ``D`` as a floating-point 2-D tensor (NumPy arrays are converted, float64 is kept)."""
    D = torch.as_tensor(D)
    if D.ndim != 2:
        raise ValueError(f"dictionary must be 2-D (n_features, n_atoms), got shape {tuple(D.shape)}")
    if not D.is_floating_point():
        D = D.float()
    return D.detach().clone()


class SparseEncoder(nn.Module):
    """Base class: an unrolled solver with ``n_layers`` iterations (layers).

    Subclasses implement :meth:`_iterates`, a generator of the code after each layer. ``forward``
    returns the last one, or all of them with ``return_all=True`` (to compute per-layer curves in one
    pass). ``trainable`` is False for the classical solvers, which have nothing to learn.

    **The contract** every model meets, a model of your own too (``dpbench check-model
    package.module:Class`` checks it; docs/adding-a-model.md has a worked example):

    1. *Constructor* ``Model(D, lam, n_layers, **options)``: it calls
       ``super().__init__(D, lam, n_layers)`` first (which stores ``D`` as the buffer ``self.D``, of
       shape ``(n_features, n_atoms)``, with ``self.lam`` and ``self.n_layers``) and builds its
       parameters from ``self.D``. Options are keyword arguments with defaults: the config passes
       them (``model_options``, or a variant ``name[key=value]``). The tasks build a model with
       :meth:`from_dictionary`, which calls the constructor unless overridden.
    2. *Layers*: :meth:`_iterates` ``(x, n_layers)`` yields exactly ``n_layers`` codes, the code after
       each layer, each of shape ``(batch, n_atoms)`` in ``x``'s dtype and device; layer ``t`` of a
       shallower run equals layer ``t`` of a deeper one. :meth:`forward` checks ``x`` and the depth.
    3. *Parameters*: ``trainable = False`` for a model with nothing to learn (and then no
       parameters). A learned model's parameters are trained layer by layer by the staged schedule of
       the synthetic task (:mod:`dpbench.sparse.staged`), so each parameter is one of two kinds:
       *per layer*, stacked over layers with dim 0 equal to ``n_layers`` (layer ``t`` uses
       ``param[t]``), or *shared* by every layer and named by :meth:`shared_parameters`. A model
       whose every parameter is shared sets ``recurrent = True`` (it can then run any depth).
       Thresholds named ``theta`` are kept ``>= 0`` after every optimiser step (:meth:`project_`).
    4. *State*: every tensor the model needs is a parameter or a registered buffer, so that
       ``.to(device)``, ``.double()`` and ``state_dict()`` (training checkpoints) carry it; a
       ``float64`` dictionary gives ``float64`` codes.
    5. *ISTA at initialisation*, where claimed: a model that says so (the registry's
       ``ista_at_init``, or a class attribute ``ista_at_init = {options}``) equals ISTA at
       initialisation under those options: layer ``t`` is ISTA's iterate ``t`` from ``z_0 = 0`` with
       step ``1/L`` and threshold ``lam/L``, ``L = ||D||_2^2`` (to 1e-10 in float64).

    A class of your own may also set ``label`` (its name in tables and figures), ``tasks`` (default
    every sparse task) and ``needs_overcomplete`` (a reason it cannot run with fewer atoms than
    features); the config's ``models:`` section overrides them (:mod:`dpbench.external`).
    """

    trainable: bool = True
    #: whether the weights are shared across layers (then any depth can be run)
    recurrent: bool = False

    def __init__(self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        self.register_buffer("D", as_dictionary(D))
        self.lam = float(lam)
        self.n_layers = int(n_layers)

    @classmethod
    def from_dictionary(cls, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, **options: Any) -> SparseEncoder:
        """Build the model initialised from the dictionary (the classical-solver initialisation)."""
        return cls(D, lam, n_layers, **options)

    @property
    def n_features(self) -> int:
        return self.D.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.D.shape[1]

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, return_all: bool = False, n_layers: int | None = None
    ) -> torch.Tensor | list[torch.Tensor]:
        """Encode ``x`` with ``n_layers`` layers (default: all); ``return_all`` gives every iterate."""
        n = self.n_layers if n_layers is None else int(n_layers)
        if n < 1 or (n > self.n_layers and not self.recurrent):
            raise ValueError(f"{type(self).__name__} has {self.n_layers} layers, cannot run {n}")
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected input of shape (batch, {self.n_features}), got {tuple(x.shape)}")
        iterates = self._iterates(x, n)
        if return_all:
            return list(iterates)
        return deque(iterates, maxlen=1)[0]

    def shared_parameters(self) -> set[str]:
        """Names of the parameters every layer uses (trained from the first stage of the staged
        schedule on). Every other parameter is stacked over layers: its dim 0 indexes the layer
        (the contract's rule 3). Recurrent models share everything."""
        return {name for name, _ in self.named_parameters()} if self.recurrent else set()

    def project_(self) -> None:
        """Project the learned thresholds ``theta`` onto ``theta >= 0``, in place.

        Soft thresholding ``eta_theta`` is the proximal operator of ``theta ||.||_1`` only for
        ``theta >= 0``; a negative threshold would inflate every entry and never zero one. The
        training loops call this after each optimiser step (projected gradient descent).
        """
        with torch.no_grad():
            for name, param in self.named_parameters():
                if name.rsplit(".", 1)[-1] == "theta":
                    param.clamp_(min=0)

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, n_atoms={self.n_atoms}, lam={self.lam}, n_layers={self.n_layers}"
