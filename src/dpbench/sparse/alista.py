"""ALISTA, analytic LISTA (Liu, Chen, Wang & Yin, ICLR 2019, "ALISTA: Analytic weights are as good
as learned weights in LISTA", eq. 15 / Sec. 3)::

    z_{t+1} = eta(z_t - gamma_t W^T (D z_t - x), theta_t),    z_0 = 0.

``W`` is not learned: it is computed from the dictionary by minimising the coherence
``||W^T D||_F^2`` subject to ``diag(W^T D) = 1``. That problem separates over columns and has the
closed form ``w_i = G^+ d_i / (d_i^T G^+ d_i)`` with ``G = D D^T`` (Lagrange conditions of
``min w^T G w  s.t.  d_i^T w = 1``). Only the per-layer step sizes ``gamma_t`` and thresholds
``theta_t`` are learned (``2 T`` parameters), initialised as in the authors' ``models/ALISTA.py``
(VITA-Group/ALISTA): ``gamma_t = 1`` (``diag(W^T D) = 1`` makes 1 the natural step) and
``theta_t = lam / L`` with ``L = ||D||_2^2``. Support selection as in LISTA-CPSS is on by default
(``p = 1.2``, ``p_max = 13``, the authors' ``-p 1.2 -maxp 13``; ALISTA is always run with it in the
paper); ``support_selection=False`` gives the plain ALISTA update.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, spectral_norm_sq
from dpbench.sparse.lista_cp import SupportSelectionMixin


def analytic_weight(D: torch.Tensor) -> torch.Tensor:
    """``W = argmin ||W^T D||_F^2  s.t.  diag(W^T D) = 1``, computed in float64, returned in ``D``'s dtype."""
    D64 = D.double()
    G_pinv_D = torch.linalg.pinv(D64 @ D64.T, hermitian=True) @ D64
    scale = (D64 * G_pinv_D).sum(dim=0, keepdim=True)
    if bool((scale.abs() < 1e-12).any()):
        raise ValueError("dictionary has an atom orthogonal to the range of D D^T; ALISTA weight undefined")
    return (G_pinv_D / scale).to(D.dtype)


class ALISTA(SupportSelectionMixin, SparseEncoder):
    """ALISTA: fixed analytic weight ``W``, learned ``gamma_t`` and ``theta_t`` per layer."""

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        support_selection: bool = True,
        p: float = 1.2,
        p_max: float = 13.0,
    ) -> None:
        super().__init__(D, lam, n_layers)
        self._setup_support(n_layers, support_selection, p, p_max)
        W = analytic_weight(self.D)
        self.register_buffer("W", W)
        self.gamma = nn.Parameter(self.D.new_ones(n_layers))
        self.theta = nn.Parameter(self.D.new_full((n_layers,), float(lam / spectral_norm_sq(self.D))))

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        D, W = self.D, self.W
        z: torch.Tensor | None = None
        for t in range(n_layers):
            r = x if z is None else x - z @ D.T
            v = self.gamma[t] * (r @ W) if z is None else z + self.gamma[t] * (r @ W)
            z = self._shrink(v, self.theta[t], t)
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, support_selection={self.support_selection}"
