"""LISTA-CP, LISTA with coupled weights (Chen, Liu, Wang & Yin, NeurIPS 2018, "Theoretical linear
convergence of unfolded ISTA and its practical weights and thresholds", eq. 10 / LISTA-CPSS eq. 13)::

    z_{t+1} = eta(z_t + W_t^T (x - D z_t), theta_t),    z_0 = 0,

with one matrix ``W_t`` (``n_features x n_atoms``) and one scalar threshold ``theta_t`` per layer,
initialised as ISTA (``W_t = D / L``, ``theta_t = lam / L``). ``eta`` is soft thresholding, or with
``support_selection=True`` the support-selected soft thresholding of the paper (CPSS): at layer
``t = 1..T`` the ``p_t = min(p * t, p_max)`` % largest-magnitude entries above the threshold are not
shrunk (defaults ``p = 1.2``, ``p_max = 13`` as in the paper).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq, support_selected_soft_threshold


def support_schedule(n_layers: int, p: float, p_max: float) -> list[float]:
    """Percentages ``p_t = min(p * t, p_max)`` for ``t = 1..n_layers``."""
    return [min(p * t, p_max) for t in range(1, n_layers + 1)]


class SupportSelectionMixin:
    """Applies soft thresholding, or support-selected thresholding following a growing schedule."""

    support_selection: bool
    schedule: list[float]

    def _setup_support(self, n_layers: int, support_selection: bool, p: float, p_max: float) -> None:
        self.support_selection = bool(support_selection)
        self.schedule = support_schedule(n_layers, p, p_max)

    def _shrink(self, v: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        if self.support_selection:
            return support_selected_soft_threshold(v, theta, self.schedule[t])
        return soft_threshold(v, theta)


class LISTACP(SupportSelectionMixin, SparseEncoder):
    """LISTA-CP (and LISTA-CPSS with ``support_selection=True``), untied weights per layer."""

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        support_selection: bool = False,
        p: float = 1.2,
        p_max: float = 13.0,
    ) -> None:
        super().__init__(D, lam, n_layers)
        self._setup_support(n_layers, support_selection, p, p_max)
        L = spectral_norm_sq(self.D)
        self.W = nn.Parameter((self.D / L).expand(n_layers, -1, -1).clone())
        self.theta = nn.Parameter(self.D.new_full((n_layers,), float(lam / L)))

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        D = self.D
        z: torch.Tensor | None = None
        for t in range(n_layers):
            v = x @ self.W[t] if z is None else z + (x - z @ D.T) @ self.W[t]
            z = self._shrink(v, self.theta[t], t)
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, support_selection={self.support_selection}"
