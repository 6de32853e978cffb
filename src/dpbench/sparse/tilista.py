"""TiLISTA, tied LISTA (Liu, Chen, Wang & Yin, ICLR 2019, "ALISTA: Analytic weights are as good as
learned weights in LISTA", eq. 14; VITA-Group's ``models/TiLISTA.py``)::

    z_{t+1} = eta_ss^{p_t}(z_t - gamma_t W^T (D z_t - x), theta_t),    z_0 = 0,

ALISTA's update with the weight ``W`` (``n_features x n_atoms``) learned and shared by all layers
instead of computed: ``W`` starts at ``D / L``, ``gamma_t`` at 1 and ``theta_t`` at ``lam / L``
(``L = ||D||_2^2``), as in the authors' code. Support selection (``p = 1.2``, ``p_max = 13``) is on
by default, as in their experiments.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, spectral_norm_sq
from dpbench.sparse.lista_cp import SupportSelectionMixin


class TiLISTA(SupportSelectionMixin, SparseEncoder):
    """One learned weight ``W`` for all layers, learned ``gamma_t`` and ``theta_t`` per layer."""

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
        L = spectral_norm_sq(self.D)
        self.W = nn.Parameter((self.D / L).clone())
        self.gamma = nn.Parameter(self.D.new_ones(n_layers))
        self.theta = nn.Parameter(self.D.new_full((n_layers,), float(lam / L)))

    def shared_parameters(self) -> set[str]:
        return {"W"}

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        D, W = self.D, self.W
        z: torch.Tensor | None = None
        for t in range(n_layers):
            v = self.gamma[t] * (x @ W) if z is None else z + self.gamma[t] * ((x - z @ D.T) @ W)
            z = self._shrink(v, self.theta[t], t)
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, support_selection={self.support_selection}"
