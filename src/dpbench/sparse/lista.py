"""LISTA, learned ISTA (Gregor & LeCun, ICML 2010, "Learning fast approximations of sparse coding").

Eq. (3) of the paper, unrolled for ``n_layers`` steps from ``z_0 = 0``::

    z_{t+1} = soft(W_e x + S z_t, theta_t)

initialised as ISTA: ``W_e = D^T / L``, ``S = I - D^T D / L``, ``theta = lam / L`` (one threshold per
atom), so that at initialisation ``n_layers`` layers equal ``n_layers`` ISTA iterations. With
``tied=True`` (the paper's recurrent form) all layers share ``W_e, S, theta``; with ``tied=False``
(the default, the LISTA baseline of the LISTA-CP / ALISTA papers) every layer has its own copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq


class LISTA(SparseEncoder):
    """Learned ISTA with tied (shared) or untied (per-layer) weights."""

    def __init__(self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, tied: bool = False) -> None:
        super().__init__(D, lam, n_layers)
        self.tied = bool(tied)
        self.recurrent = self.tied
        D = self.D
        L = spectral_norm_sq(D)
        copies = 1 if self.tied else n_layers
        eye = torch.eye(self.n_atoms, dtype=D.dtype, device=D.device)
        self.W_e = nn.Parameter((D.T / L).expand(copies, -1, -1).clone())
        self.S = nn.Parameter((eye - D.T @ D / L).expand(copies, -1, -1).clone())
        self.theta = nn.Parameter(torch.full((copies, self.n_atoms), float(lam / L), dtype=D.dtype, device=D.device))

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        shared_b = x @ self.W_e[0].T if self.tied else None
        z: torch.Tensor | None = None
        for t in range(n_layers):
            k = 0 if self.tied else t
            b = shared_b if shared_b is not None else x @ self.W_e[k].T
            z = soft_threshold(b if z is None else b + z @ self.S[k].T, self.theta[k])
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tied={self.tied}"
