"""SLSTM with an LSTM output gate: the ablation of SC2Net (Zhou et al., AAAI 2018) that restores the
output gate of a standard LSTM (Hochreiter & Schmidhuber 1997)::

    o_t = sigmoid(W_o [x, z_{t-1}] + b_o)
    z_t = o_t * h_theta(c_t)

with the cell, gates and initialisation of :class:`dpbench.sparse.sc2net.SC2Net`. The output gate is
initialised like the input gate (``W_o = 0``, ``b_o = +gate_bias``, so ``o ~ 0.982``); with
``fixed_gates=True`` it is fixed to ``o = 1`` and the network is exactly ISTA at initialisation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dpbench.sparse.sc2net import SC2Net


class SLSTMOutputGate(SC2Net):
    """SC2Net's Sparse LSTM cell plus an output gate on the code."""

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        activation: str = "soft",
        fixed_gates: bool = False,
        gate_bias: float = 4.0,
    ) -> None:
        super().__init__(D, lam, n_layers, activation=activation, fixed_gates=fixed_gates, gate_bias=gate_bias)
        if not self.fixed_gates:
            n, m = self.n_atoms, self.n_features
            self.W_o = nn.Parameter(self.D.new_zeros(n, m + n))
            self.b_o = nn.Parameter(self.D.new_full((n,), float(gate_bias)))

    def _gates_input(self, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        gates = super()._gates_input(x)
        gates["o"] = (self.W_o, x @ self.W_o[:, : self.n_features].T + self.b_o)
        return gates

    def _output(self, c: torch.Tensor, z_prev: torch.Tensor | None, gates: dict) -> torch.Tensor:
        h = self._activate(c)
        if gates is None:
            return h
        return self._gate(*gates["o"], z_prev) * h
