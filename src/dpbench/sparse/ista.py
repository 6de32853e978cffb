"""ISTA, the iterative shrinkage-thresholding algorithm.

Daubechies, Defrise & De Mol (2004); in the notation of Beck & Teboulle (SIAM J. Imaging Sci.
2009, eq. 1.4 / 3.1 with constant step 1/L)::

    z_{k+1} = soft(z_k + (1/L) D^T (x - D z_k), lam / L),   L = ||D||_2^2,  z_0 = 0.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq


class ISTA(SparseEncoder):
    """Classical ISTA; ``n_layers`` is the default number of iterations, any number can be run."""

    trainable = False
    recurrent = True

    def __init__(self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int) -> None:
        super().__init__(D, lam, n_layers)
        self.register_buffer("L", spectral_norm_sq(self.D))

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        D = self.D
        step = 1.0 / self.L
        z = x.new_zeros(x.shape[0], self.n_atoms)
        for _ in range(n_layers):
            z = soft_threshold(z + step * ((x - z @ D.T) @ D), self.lam * step)
            yield z
