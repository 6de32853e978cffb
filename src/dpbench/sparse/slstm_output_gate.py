"""SLSTM with an output gate: the SC2Net authors' ``Sparse_LSTM`` cell (Zhou et al., AAAI 2018).

Class ``Sparse_LSTM`` of ``Lcod/sparse_lstm.py`` in github.com/joeyzhouty/SC2Net (``build`` lines
63-140, ``step`` lines 179-221): the gates and cell of :class:`dpbench.sparse.sc2net.SC2Net` plus an
output gate and a learned output map ``W_h``::

    o_t = g(W_o x + U_o z_{t-1} + b_o)                                   (line 216)
    z_t = o_t * (tanh(z_{t-1} - c_t + u) + tanh(z_{t-1} - c_t - u)) W_h   (line 220)

i.e. ``z_t = o_t * h(z_{t-1} - c_t) W_h`` with ``h`` the activation of SC2Net (``double_tanh``, or
``soft`` with threshold ``u``). ``init="authors"``: ``W_o`` glorot-uniform, ``U_o`` orthogonal x 1.1,
``b_o = 0``, ``W_h`` glorot-uniform (line 112). ``init="ista"``: ``W_o = U_o = 0``,
``b_o = +gate_bias`` (``o ~ 0.982``) and ``W_h = -I``, so ``z_t = o_t * h(c_t - z_{t-1})`` (``h`` is
odd); because of the ``z_{t-1}`` term this cell is not ISTA at any initialisation. With
``fixed_gates=True`` the output gate is fixed to ``o = 1`` as well.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dpbench.sparse.sc2net import SC2Net, glorot_uniform


class SLSTMOutputGate(SC2Net):
    """The authors' Sparse LSTM cell with its output gate and output map ``W_h``."""

    gate_names = ("i", "f", "o")

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        activation: str = "double_tanh",
        init: str = "authors",
        gate: str = "sigmoid",
        fixed_gates: bool = False,
        gate_bias: float = 4.0,
    ) -> None:
        super().__init__(D, lam, n_layers, activation=activation, init=init, gate=gate, fixed_gates=fixed_gates,
                         gate_bias=gate_bias)
        n = self.n_atoms
        if init == "authors":
            W_h = glorot_uniform(n, n, self.D)
        else:
            W_h = -torch.eye(n, dtype=self.D.dtype, device=self.D.device)
        self.W_h = nn.Parameter(W_h)

    def _gate_bias(self, g: str) -> float:
        if g == "o":
            return 0.0 if self.init == "authors" else self.gate_bias
        return super()._gate_bias(g)

    def _output(self, c: torch.Tensor, z_prev: torch.Tensor | None, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        h = self._activate(-c if z_prev is None else z_prev - c) @ self.W_h.T
        return h if self.fixed_gates else gates["o"] * h
