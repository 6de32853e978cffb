"""LISTA-SS, LISTA with support selection (Chen, Liu, Wang & Yin, NeurIPS 2018, Sec. 3.2 / eq. 12
applied to LISTA's update; VITA-Group's ``models/LISTA_ss.py``)::

    z_{t+1} = eta_ss^{p_t}(W_e x + S_t z_t, theta_t),    z_0 = 0,

:class:`dpbench.sparse.lista.LISTA` (shared ``W_e``, per-layer ``S_t`` and scalar ``theta_t``) with
support selection on: the ``p_t = min(p t, p_max)`` % largest entries above ``theta_t`` pass
unshrunk (``p = 1.2``, ``p_max = 13``).
"""

from __future__ import annotations

import numpy as np
import torch

from dpbench.sparse.lista import LISTA


class LISTASS(LISTA):
    """LISTA with support selection on by default (untied; a tied LISTA cannot select supports)."""

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        per_layer: bool = False,
        support_selection: bool = True,
        p: float = 1.2,
        p_max: float = 13.0,
    ) -> None:
        super().__init__(D, lam, n_layers, per_layer=per_layer, support_selection=support_selection, p=p, p_max=p_max)
