"""LISTA, learned ISTA (Gregor & LeCun, ICML 2010, "Learning fast approximations of sparse coding").

Eq. (3) of the paper, unrolled for ``n_layers`` steps from ``z_0 = 0``::

    z_{t+1} = eta(W_e x + S_t z_t, theta_t)

in the parametrisation of the LISTA baseline of the LISTA-CP / ALISTA papers (VITA-Group's
``models/LISTA.py``, untied): one input matrix ``W_e`` shared by all layers, one ``S_t`` and one
scalar threshold ``theta_t`` per layer. Initialised as ISTA: ``W_e = D^T / L``,
``S_t = I - D^T D / L``, ``theta_t = lam / L``, so that at initialisation ``n_layers`` layers equal
``n_layers`` ISTA iterations with threshold ``lam``. Options: ``per_layer=True`` gives every layer
its own ``W_e`` and a threshold per atom (6 M parameters on the 250 x 500 problem); ``tied=True``
is the paper's recurrent form (one ``W_e, S, theta``, per-atom thresholds, any depth).
``eta`` is soft thresholding, or with ``support_selection=True`` the support-selected
thresholding of LISTA-CPSS (see :mod:`dpbench.sparse.lista_cp`; this is LISTA-SS).
``decoder="tied"`` decodes with ``L W_e^T`` (of the last layer when ``per_layer``), SC2Net's framework
(:mod:`dpbench.sparse.decoder`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, spectral_norm_sq
from dpbench.sparse.decoder import TiedDecoderMixin
from dpbench.sparse.lista_cp import SupportSelectionMixin


class LISTA(TiedDecoderMixin, SupportSelectionMixin, SparseEncoder):
    """Learned ISTA: shared input matrix and scalar thresholds (default), per-layer, or tied."""

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        tied: bool = False,
        per_layer: bool = False,
        support_selection: bool = False,
        p: float = 1.2,
        p_max: float = 13.0,
        decoder: str = "dictionary",
    ) -> None:
        super().__init__(D, lam, n_layers)
        self._setup_decoder(decoder)
        if tied and per_layer:
            raise ValueError("LISTA: tied=True and per_layer=True contradict each other")
        if tied and support_selection:
            raise ValueError("LISTA: support selection grows with the layer index, a tied (recurrent) LISTA has none")
        self._setup_support(n_layers, support_selection, p, p_max)
        self.tied, self.per_layer = bool(tied), bool(per_layer)
        self.recurrent = self.tied
        D = self.D
        L = spectral_norm_sq(D)
        copies = 1 if self.tied else n_layers
        eye = torch.eye(self.n_atoms, dtype=D.dtype, device=D.device)
        W_e = D.T / L
        self.W_e = nn.Parameter(W_e.expand(n_layers, -1, -1).clone() if self.per_layer else W_e.clone())
        self.S = nn.Parameter((eye - D.T @ D / L).expand(copies, -1, -1).clone())
        theta_shape = (copies,) if not (self.tied or self.per_layer) else (copies, self.n_atoms)
        self.theta = nn.Parameter(torch.full(theta_shape, float(lam / L), dtype=D.dtype, device=D.device))

    def input_matrix(self) -> torch.Tensor:
        """``W_e`` (of the last layer when ``per_layer``): the matrix a tied decoder reuses."""
        return self.W_e[-1] if self.per_layer else self.W_e

    def shared_parameters(self) -> set[str]:
        if self.tied:
            return super().shared_parameters()
        return set() if self.per_layer else {"W_e"}

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        shared_b = None if self.per_layer else x @ self.W_e.T
        z: torch.Tensor | None = None
        for t in range(n_layers):
            k = 0 if self.tied else t
            b = shared_b if shared_b is not None else x @ self.W_e[k].T
            z = self._shrink(b if z is None else b + z @ self.S[k].T, self.theta[k], t)
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tied={self.tied}, per_layer={self.per_layer}, support_selection={self.support_selection}, decoder={self.decoder_kind}"
