"""LFISTA-SC2Net: LFISTA's unit in SC2Net's framework (Zhou et al., AAAI 2018, Table 2), as the authors'
code builds it: ``LFistaNetwork(D, n_layers=10, shared=True, ..., Zpflag=False)`` (``figure.py`` line 289,
``synthetic.py`` line 307), i.e. :class:`dpbench.sparse.lfista.LFISTA` with its weights shared over
layers (``tied=True``) and the decoder tied to the encoder, ``L W_e`` (``lfista_network.py`` lines 77-90;
:mod:`dpbench.sparse.decoder`), trained on SC2Net's unsupervised loss (eq. 10). At initialisation it is
ISTA (the shared network's momentum is layer 0's, ``m = 0``) and its decoder is ``D``. Why this and not a
gated LFISTA: :mod:`dpbench.sparse.lista_sc2net`.
"""

from __future__ import annotations

import numpy as np
import torch

from dpbench.sparse.lfista import LFISTA


class LFISTASC2Net(LFISTA):
    """Tied LFISTA decoding with ``L W_e^T``: the authors' ``LFistaNetwork(shared=True, Zpflag=False)``."""

    def __init__(
        self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, tied: bool = True, decoder: str = "tied"
    ) -> None:
        super().__init__(D, lam, n_layers, tied=tied, decoder=decoder)
