"""FISTA, the fast iterative shrinkage-thresholding algorithm.

Beck & Teboulle (SIAM J. Imaging Sci. 2009), constant step, eqs. 4.1-4.3::

    z_k     = soft(y_k + (1/L) D^T (x - D y_k), lam / L)
    t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2
    y_{k+1} = z_k + ((t_k - 1) / t_{k+1}) (z_k - z_{k-1}),     y_1 = z_0 = 0, t_1 = 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq


class FISTA(SparseEncoder):
    """Classical FISTA; ``n_layers`` is the default number of iterations, any number can be run."""

    trainable = False
    recurrent = True

    def __init__(self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int) -> None:
        super().__init__(D, lam, n_layers)
        self.register_buffer("L", spectral_norm_sq(self.D))

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        D = self.D
        step = 1.0 / self.L
        z_prev = x.new_zeros(x.shape[0], self.n_atoms)
        y = z_prev
        t = 1.0
        for _ in range(n_layers):
            z = soft_threshold(y + step * ((x - y @ D.T) @ D), self.lam * step)
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            y = z + ((t - 1.0) / t_next) * (z - z_prev)
            z_prev, t = z, t_next
            yield z
