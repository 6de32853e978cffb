"""LISTA-SC2Net: LISTA's unit in SC2Net's framework (Zhou et al., AAAI 2018, Table 2 and "Convergence
Analysis"), as the authors' code builds it.

The paper's Table 2 sets LISTA and LFISTA against "LISTA-SC2Net" and "LFISTA-SC2Net"; its convergence
section uses them as "baselines ... In other words, the only difference among all the evaluated methods is
the neural unit", and its related-work section says LISTA "uses the pre-computed sparse codes of ISTA as
supervisors" while SC2Net "does not require using the pre-computed sparse codes". The authors' code has
no gated LISTA: ``figure.py`` (lines 274-310) and ``synthetic.py`` (lines 307-341) fill the columns
"LISTA-SC2Net" and "LFISTA-SC2Net" with ``LIstaNetwork`` / ``LFistaNetwork(D, n_layers=10, shared=True,
..., Zpflag=False)``: LISTA's simple-RNN unit, weights shared over layers, trained on SC2Net's
unsupervised loss (eq. 10) with the decoder tied to the encoder, ``L W_e`` (``lista_network.py`` lines
101-136); with ``Zpflag=True`` (``synthetic.py`` lines 278-279) the same network regresses 1000-iteration
ISTA codes instead (``lista_network.py`` lines 137-139, 152-153), Gregor & LeCun's LISTA.

So this model is :class:`dpbench.sparse.lista.LISTA` with ``tied=True`` and ``decoder="tied"``
(:mod:`dpbench.sparse.decoder`); at initialisation it is ISTA and its decoder is ``D``. The image tasks
train it, as every learned encoder, on the unsupervised Lasso loss, here through its tied decoder. A
reading of Table 2 as "SC2Net's gates added to LISTA" is the variant ``sc2net[init=ista,activation=soft]``
(the SLSTM cell started as ISTA: a gated tied LISTA); docs/sc2net.md compares the two readings.
"""

from __future__ import annotations

import numpy as np
import torch

from dpbench.sparse.lista import LISTA


class LISTASC2Net(LISTA):
    """Tied LISTA decoding with ``L W_e^T``: the authors' ``LIstaNetwork(shared=True, Zpflag=False)``."""

    def __init__(
        self, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, tied: bool = True, decoder: str = "tied"
    ) -> None:
        super().__init__(D, lam, n_layers, tied=tied, decoder=decoder)
