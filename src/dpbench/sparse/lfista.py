"""LFISTA, learned FISTA (Moreau & Bruna, ICLR 2017, "Understanding trainable sparse coding via matrix
factorization"; arXiv:1609.00285), the baseline of SC2Net's Tables 1-2.

FISTA (Beck & Teboulle 2009, eqs. 4.1-4.3; :mod:`dpbench.sparse.fista`) written as a two-step recurrence
in the codes, ``y_k = (1 + m_k) z_k - m_k z_{k-1}``, unrolled and every matrix learned. As Moreau &
Bruna's ``AdaptiveOptim`` code builds it, copied by the SC2Net authors as ``Lcod/lfista_network.py``
(``_layer``, lines 147-179), in this package's notation (``D`` is ``n_features x n_atoms``)::

    z_1 = eta(W_e^1 x, theta_1)
    z_k = eta(W_e^k x + W_g^k z_{k-1} + W_m^k z_{k-2}, theta_k),     k = 2..T,  z_0 = 0,

``eta`` soft thresholding with a threshold per atom. Initialisation (lines 155-161): ``W_e^k = D^T / L``,
``W_g^k = (1 + m_{k-1}) G``, ``W_m^k = -m_{k-1} G`` with ``G = I - D^T D / L``, ``theta_k = lam / L``
(their ``lmbd * theta``, ``theta = 1 / L``) and FISTA's momentum ``m_1 = 0``,
``m_j = (t_j - 1) / t_{j+1}``, ``t_1 = 1``, ``t_{j+1} = (1 + sqrt(1 + 4 t_j^2)) / 2`` (their
``mk = (theta_k[k] - 1) / theta_k[k+1]``, line 156, with ``theta_k = [1, 1, t_2, t_3, ...]``). So at
initialisation layer ``k`` of the untied network is FISTA's iterate ``k``.

``tied=True`` is the network the SC2Net authors run (``LFistaNetwork(D, n_layers=10, shared=True, ...)``
in ``figure.py`` line 289 and the README): one ``W_e, W_g, W_m, theta`` for every layer, built by
layer 0, whose momentum is ``m = 0``: ``W_m = 0`` at initialisation, i.e. it starts as ISTA (and as a
tied LISTA) and learns its momentum path. Untied, the parameters are stacked over layers (dim 0 =
layer; ``W_g[0]``, ``W_m[0]`` and ``W_m[1]`` multiply ``z_0 = 0`` and stay unused).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq
from dpbench.sparse.decoder import TiedDecoderMixin


def fista_momenta(n_layers: int) -> list[float]:
    """``m_1..m_{n_layers}``: FISTA's momentum after iterate ``k`` (``m_1 = 0``), Beck & Teboulle eq. 4.2-4.3."""
    momenta, t = [], 1.0
    for _ in range(n_layers):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        momenta.append((t - 1.0) / t_next)
        t = t_next
    return momenta


class LFISTA(TiedDecoderMixin, SparseEncoder):
    """Learned FISTA: per-layer ``W_e, W_g, W_m`` and per-atom thresholds (default), or one set for every
    layer (``tied=True``, the SC2Net authors' ``shared=True``)."""

    def __init__(
        self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, tied: bool = False, decoder: str = "dictionary"
    ) -> None:
        super().__init__(D, lam, n_layers)
        self.tied = bool(tied)
        self.recurrent = self.tied
        self._setup_decoder(decoder)
        D = self.D
        L = spectral_norm_sq(D)
        G = torch.eye(self.n_atoms, dtype=D.dtype, device=D.device) - D.T @ D / L
        copies = 1 if self.tied else n_layers
        # layer k (0-based) mixes z_{k-1} and z_{k-2} with FISTA's momentum m_k of the iterate before it;
        # tied: the momentum of layer 0, m = 0 (the authors' shared network)
        momenta = [0.0] + fista_momenta(n_layers)[:-1] if not self.tied else [0.0]
        m = torch.tensor(momenta, dtype=D.dtype, device=D.device).view(-1, 1, 1)
        self.W_e = nn.Parameter((D.T / L).expand(copies, -1, -1).clone())
        self.W_g = nn.Parameter((1.0 + m) * G)
        self.W_m = nn.Parameter(-m * G)
        self.theta = nn.Parameter(torch.full((copies, self.n_atoms), float(lam / L), dtype=D.dtype, device=D.device))
        self.register_buffer("L", L)

    def input_matrix(self) -> torch.Tensor:
        """``W_e`` (of the last layer when untied): the matrix the tied decoder reuses (SC2Net's eq. 9)."""
        return self.W_e[-1]

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        z_prev: torch.Tensor | None = None
        z: torch.Tensor | None = None
        for t in range(n_layers):
            k = 0 if self.tied else t
            v = x @ self.W_e[k].T
            if z is not None:
                v = v + z @ self.W_g[k].T
            if z_prev is not None:
                v = v + z_prev @ self.W_m[k].T
            z_prev, z = z, soft_threshold(v, self.theta[k])
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tied={self.tied}, decoder={self.decoder_kind}"
