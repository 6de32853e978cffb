"""SC2Net: the Sparse LSTM (SLSTM) unit, i.e. adaptive ISTA as a recurrent cell.

Zhou et al., "SC2Net: Sparse LSTMs for sparse coding", AAAI 2018 (the SLSTM unit of Sec. 3). With
``z_0 = 0`` and ``c_0 = 0``, for ``t = 1..n_layers``::

    c~_t = W_e x + S z_{t-1}                        (the LISTA/ISTA candidate)
    i_t  = sigmoid(W_i [x, z_{t-1}] + b_i)           (input gate: adaptive, per-atom step)
    f_t  = sigmoid(W_f [x, z_{t-1}] + b_f)           (forget gate: adaptive momentum)
    c_t  = f_t * c_{t-1} + i_t * c~_t
    z_t  = h_theta(c_t)

There is no output gate (see :mod:`dpbench.sparse.slstm_output_gate` for that ablation). The weights
are shared across steps (a recurrent unit). ``activation="soft"`` uses ``h = soft(c, theta)``;
``activation="double_tanh"`` uses ``h(c) = tanh(c + theta) + tanh(c - theta)`` with the same learned
per-atom ``theta`` -- this is the form given in our brief; we could not check it against the paper's
text, so treat it as this benchmark's definition.

Initialisation: ``W_e = D^T / L``, ``S = I - D^T D / L``, ``theta = lam / L`` (ISTA), gate weights
``W_i = W_f = 0`` and biases ``b_i = +gate_bias``, ``b_f = -gate_bias`` (default 4, so ``i ~ 0.982``,
``f ~ 0.018``): at initialisation the unit is close to ISTA. With ``fixed_gates=True`` the gates are
not learned and set to exactly ``i = 1, f = 0``, which makes the network exactly ISTA at init (and
tied LISTA once trained).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq

ACTIVATIONS = ("soft", "double_tanh")


def double_tanh(c: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """``tanh(c + theta) + tanh(c - theta)``, a smooth, saturating surrogate of shrinkage."""
    return torch.tanh(c + theta) + torch.tanh(c - theta)


class SC2Net(SparseEncoder):
    """SC2Net: unrolled Sparse LSTM cell with input and forget gates, no output gate."""

    recurrent = True

    def __init__(
        self,
        D: torch.Tensor | np.ndarray,
        lam: float,
        n_layers: int,
        activation: str = "soft",
        fixed_gates: bool = False,
        gate_bias: float = 4.0,
    ) -> None:
        super().__init__(D, lam, n_layers)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: expected one of {ACTIVATIONS}")
        self.activation = activation
        self.fixed_gates = bool(fixed_gates)
        D = self.D
        L = spectral_norm_sq(D)
        n, m = self.n_atoms, self.n_features
        eye = torch.eye(n, dtype=D.dtype, device=D.device)
        self.W_e = nn.Parameter((D.T / L).clone())
        self.S = nn.Parameter(eye - D.T @ D / L)
        self.theta = nn.Parameter(torch.full((n,), float(lam / L), dtype=D.dtype, device=D.device))
        if not self.fixed_gates:
            self.W_i = nn.Parameter(D.new_zeros(n, m + n))
            self.b_i = nn.Parameter(D.new_full((n,), float(gate_bias)))
            self.W_f = nn.Parameter(D.new_zeros(n, m + n))
            self.b_f = nn.Parameter(D.new_full((n,), -float(gate_bias)))

    def _activate(self, c: torch.Tensor) -> torch.Tensor:
        if self.activation == "soft":
            return soft_threshold(c, self.theta)
        return double_tanh(c, self.theta)

    @staticmethod
    def _gate(W: torch.Tensor, x_part: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """``sigmoid(W [x, z] + b)`` with the ``W_x x + b`` part (``x_part``) precomputed."""
        pre = x_part if z is None else x_part + z @ W[:, -z.shape[1]:].T
        return torch.sigmoid(pre)

    def _gates_input(self, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The gate weights and their input-only pre-activations ``W_x x + b``, keyed by gate name."""
        m = self.n_features
        return {
            "i": (self.W_i, x @ self.W_i[:, :m].T + self.b_i),
            "f": (self.W_f, x @ self.W_f[:, :m].T + self.b_f),
        }

    def _output(self, c: torch.Tensor, z_prev: torch.Tensor | None, gates: dict) -> torch.Tensor:
        return self._activate(c)

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        b = x @ self.W_e.T
        gates = None if self.fixed_gates else self._gates_input(x)
        z: torch.Tensor | None = None
        c: torch.Tensor | None = None
        for _ in range(n_layers):
            cand = b if z is None else b + z @ self.S.T
            if gates is None:
                c = cand
            else:
                i = self._gate(*gates["i"], z)
                f = self._gate(*gates["f"], z)
                c = i * cand if c is None else f * c + i * cand
            z = self._output(c, z, gates)
            yield z

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation}, fixed_gates={self.fixed_gates}"
