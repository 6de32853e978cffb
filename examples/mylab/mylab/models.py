"""A model of our own: LISTA-CP with one matrix that every layer shares.

LISTA-CP (Chen, Liu, Wang & Yin, NeurIPS 2018, eq. 10) gives every layer its own matrix ``W_t``::

    z_{t+1} = soft(z_t + W_t^T (x - D z_t), theta_t),    z_0 = 0.

Tying ``W_t = W`` for all layers keeps one ``n_features x n_atoms`` matrix instead of ``n_layers`` of
them; the thresholds ``theta_t`` stay one per layer. Started from ``W = D / L`` and
``theta_t = lam / L`` (``L = ||D||_2^2``), it is exactly ISTA.

For dpbench (the contract in ``dpbench.sparse.SparseEncoder``'s docstring):

* the constructor takes ``(D, lam, n_layers)`` and calls ``super().__init__`` first;
* ``W`` is used by every layer, so ``shared_parameters()`` names it; ``theta`` has one entry per
  layer (dim 0 = n_layers). Without ``shared_parameters()``, the staged training of the synthetic
  task stops with "LISTACPTied.W has shape (64, 128), but the staged schedule trains layer by layer...";
* ``ista_at_init = {}``: it equals ISTA at initialisation with no options (``dpbench check-model`` checks it);
* ``label`` is its name in dpbench's tables and figures.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from dpbench.sparse import SparseEncoder, soft_threshold, spectral_norm_sq


class LISTACPTied(SparseEncoder):
    """LISTA-CP whose matrix ``W`` all layers share; one threshold per layer."""

    label = "LISTA-CP (tied W)"
    ista_at_init: dict = {}

    def __init__(self, D: torch.Tensor, lam: float, n_layers: int) -> None:
        super().__init__(D, lam, n_layers)
        L = spectral_norm_sq(self.D)
        self.W = nn.Parameter((self.D / L).clone())  # (n_features, n_atoms), shared by every layer
        self.theta = nn.Parameter(self.D.new_full((n_layers,), float(lam / L)))  # one per layer

    def shared_parameters(self) -> set[str]:
        return {"W"}

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        z: torch.Tensor | None = None
        for t in range(n_layers):
            v = x @ self.W if z is None else z + (x - z @ self.D.T) @ self.W
            z = soft_threshold(v, self.theta[t])
            yield z
