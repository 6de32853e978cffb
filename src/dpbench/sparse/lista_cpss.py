"""LISTA-CPSS, LISTA with coupled weights and support selection (Chen, Liu, Wang & Yin, NeurIPS 2018,
"Theoretical linear convergence of unfolded ISTA and its practical weights and thresholds", eq. 13;
VITA-Group's ``models/LISTA_cpss.py``)::

    z_{t+1} = eta_ss^{p_t}(z_t + W_t^T (x - D z_t), theta_t),    z_0 = 0,

:class:`dpbench.sparse.lista_cp.LISTACP` with support selection on: at layer ``t = 1..T`` the
``p_t = min(p t, p_max)`` % largest-magnitude entries above ``theta_t`` are not shrunk
(``p = 1.2``, ``p_max = 13``, the authors' ``-p 1.2 -maxp 13``).
"""

from __future__ import annotations

import numpy as np
import torch

from dpbench.sparse.lista_cp import LISTACP


class LISTACPSS(LISTACP):
    """LISTA-CP with support selection on by default."""

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        support_selection: bool = True,
        p: float = 1.2,
        p_max: float = 13.0,
    ) -> None:
        super().__init__(D, lam, n_layers, support_selection=support_selection, p=p, p_max=p_max)
