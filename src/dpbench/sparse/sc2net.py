"""SC2Net: the Sparse LSTM (SLSTM) unit, i.e. adaptive ISTA as a recurrent cell.

Zhou et al., "SC2Net: Sparse LSTMs for sparse coding", AAAI 2018, as its authors' code builds it:
class ``Sparse_LSTM_wo_O_Gate_v2`` of ``Lcod/sparse_lstm.py`` in github.com/joeyzhouty/SC2Net
(Keras 1; ``build`` lines 566-641, ``step`` lines 680-729). With ``z_0 = 0`` and ``c_0 = 0``, for
``t = 1..n_layers`` (the input ``x`` is fed at every step)::

    i_t  = g(W_i x + U_i z_{t-1} + b_i)                      (input gate, line 712: adaptive step)
    f_t  = g(W_f x + U_f z_{t-1} + b_f)                      (forget gate, line 713: adaptive momentum)
    c_t  = f_t * c_{t-1} + i_t * (W_e x + S z_{t-1} + b_c)   (line 716: the candidate has no activation)
    z_t  = h(c_t)                                            (line 727; the output gate is fixed to 1, line 718)

``g`` is the gate function: ``gate="sigmoid"`` (the TF version ``Lcod/SLSTM.py`` lines 64-68) or
``gate="hard_sigmoid"``, ``clip(0.2 a + 0.5, 0, 1)`` (the Keras layer's default ``inner_activation``,
line 548). ``h`` is ``activation="double_tanh"``: ``h(c) = tanh(c + u) + tanh(c - u)`` with a learned
per-atom offset ``u`` (line 727; ``u`` is ``self.u_h``, drawn from ``N(1, 0.1)``, line 615), or
``activation="soft"``: ``soft(c, u)`` (the commented alternative of line 728). The offset/threshold is
the parameter ``theta`` (projected onto ``theta >= 0`` after each step; ``h`` is even in ``u``).
The weights are shared across steps (a recurrent unit).

Initialisation ``init="authors"`` (the default; ``build``, lines 589-616, and Keras 1's initialisers):
``W_e, W_i, W_f`` glorot-uniform (``U(-a, a)``, ``a = sqrt(6 / (m + n))``), ``S, U_i, U_f`` orthogonal
times 1.1 (Keras 1's ``orthogonal(shape, scale=1.1)``), ``b_i = b_c = 0``, forget-gate bias
``b_f = 1`` (``forget_bias_init='one'``), ``theta = u ~ N(1, 0.1)``. The dictionary is not used: the
authors' SLSTM learns from scratch (their README: only LISTA/LFISTA start from a learned dictionary).

``init="ista"`` (this benchmark's earlier cell, "starts as ISTA"): ``W_e = D^T / L``,
``S = I - D^T D / L``, ``b_c = 0``, gate weights ``W = U = 0``, biases ``b_i = +gate_bias``,
``b_f = -gate_bias`` (default 4: ``i ~ 0.982``, ``f ~ 0.018``), ``theta = lam / L`` for the soft
activation (``u ~ N(1, 0.1)`` for double tanh). With ``fixed_gates=True`` the gates are not learned and
set to ``i = 1, f = 0``: with ``init="ista"`` and ``activation="soft"`` the network is exactly ISTA at
initialisation (and tied LISTA once trained).

``momentum=True`` adds LFISTA's second path to the candidate, ``W_e x + S z_{t-1} + M z_{t-2} + b_c``
(Moreau & Bruna 2017; :mod:`dpbench.sparse.lfista`), ``M = 0`` at initialisation (the momentum of the
authors' shared LFISTA): with ``init="ista"`` and ``activation="soft"`` this is the issue's reading of
SC2Net's Table 2, "SC2Net's gates on LFISTA" (and without ``momentum``, on LISTA); with
``fixed_gates=True`` the cell is then a tied LFISTA. docs/sc2net.md says why Table 2 is read otherwise.

``decoder="tied"``: the decoder is the cell's input matrix, ``L W_e^T`` (SC2Net's eqs. 9-10, "we reuse
the encoding matrix W_d"; :mod:`dpbench.sparse.decoder`); default: the dictionary ``D``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from dpbench.sparse.base import SparseEncoder, soft_threshold, spectral_norm_sq
from dpbench.sparse.decoder import TiedDecoderMixin

ACTIVATIONS = ("double_tanh", "soft")
INITS = ("authors", "ista")
GATES = ("sigmoid", "hard_sigmoid")
GATE_METRICS = {"i": "input_gate_mean", "f": "forget_gate_mean"}
CHUNK = 4096


def double_tanh(c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``tanh(c + u) + tanh(c - u)``, the authors' smooth shrinkage (``sparse_lstm.py`` line 727)."""
    return torch.tanh(c + u) + torch.tanh(c - u)


def hard_sigmoid(a: torch.Tensor) -> torch.Tensor:
    """Keras 1's ``hard_sigmoid``: ``clip(0.2 a + 0.5, 0, 1)``."""
    return torch.clamp(0.2 * a + 0.5, 0.0, 1.0)


def glorot_uniform(n_out: int, n_in: int, like: torch.Tensor) -> torch.Tensor:
    """Keras 1's ``glorot_uniform``: ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))`` (torch's RNG)."""
    a = math.sqrt(6.0 / (n_in + n_out))
    return torch.empty(n_out, n_in, dtype=like.dtype, device=like.device).uniform_(-a, a)


def keras_orthogonal(n: int, like: torch.Tensor, scale: float = 1.1) -> torch.Tensor:
    """Keras 1's ``orthogonal(shape, scale=1.1)``: ``scale`` times an orthogonal factor of a Gaussian matrix."""
    a = torch.randn(n, n, dtype=like.dtype, device=like.device)
    u, _, _ = torch.linalg.svd(a)
    return scale * u


class SC2Net(TiedDecoderMixin, SparseEncoder):
    """SC2Net: unrolled Sparse LSTM cell with input and forget gates, no output gate."""

    recurrent = True
    gate_names: tuple[str, ...] = ("i", "f")

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
        decoder: str = "dictionary",
        momentum: bool = False,
    ) -> None:
        super().__init__(D, lam, n_layers)
        self._setup_decoder(decoder)
        for name, value, allowed in (("activation", activation, ACTIVATIONS), ("init", init, INITS), ("gate", gate, GATES)):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}: expected one of {allowed}")
        self.activation, self.init, self.gate = activation, init, gate
        self.fixed_gates = bool(fixed_gates)
        self.momentum = bool(momentum)
        self.gate_bias = float(gate_bias)
        D = self.D
        n, m = self.n_atoms, self.n_features
        L = spectral_norm_sq(D)
        if init == "ista":
            self.W_e = nn.Parameter((D.T / L).clone())
            self.S = nn.Parameter(torch.eye(n, dtype=D.dtype, device=D.device) - D.T @ D / L)
        else:
            self.W_e = nn.Parameter(glorot_uniform(n, m, D))
            self.S = nn.Parameter(keras_orthogonal(n, D))
        self.b_c = nn.Parameter(D.new_zeros(n))
        if self.momentum:
            self.M = nn.Parameter(D.new_zeros(n, n))
        if activation == "soft" and init == "ista":
            theta = D.new_full((n,), float(lam / L))
        else:
            theta = 1.0 + 0.1 * torch.randn(n, dtype=D.dtype, device=D.device)
        self.theta = nn.Parameter(theta)
        if not self.fixed_gates:
            for g in self.gate_names:
                self._add_gate(g)

    def input_matrix(self) -> torch.Tensor:
        """``W_e``, the matrix applied to ``x`` in the candidate (SC2Net's ``W_d``)."""
        return self.W_e

    def _gate_bias(self, g: str) -> float:
        """Initial bias of gate ``g``: the authors' (``b_f = 1``, others 0) or ``+-gate_bias`` for ``init="ista"``."""
        if self.init == "authors":
            return 1.0 if g == "f" else 0.0
        return -self.gate_bias if g == "f" else self.gate_bias

    def _add_gate(self, g: str) -> None:
        """Parameters ``W_g`` (atoms x features), ``U_g`` (atoms x atoms), ``b_g`` of gate ``g``."""
        D, n, m = self.D, self.n_atoms, self.n_features
        if self.init == "authors":
            W, U = glorot_uniform(n, m, D), keras_orthogonal(n, D)
        else:
            W, U = D.new_zeros(n, m), D.new_zeros(n, n)
        setattr(self, f"W_{g}", nn.Parameter(W))
        setattr(self, f"U_{g}", nn.Parameter(U))
        setattr(self, f"b_{g}", nn.Parameter(D.new_full((n,), self._gate_bias(g))))

    def _activate(self, c: torch.Tensor) -> torch.Tensor:
        if self.activation == "soft":
            return soft_threshold(c, self.theta)
        return double_tanh(c, self.theta)

    def _gate_fn(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(a) if self.gate == "sigmoid" else hard_sigmoid(a)

    def _gate(self, g: str, x_part: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """``g(W_g x + U_g z + b_g)`` with ``W_g x + b_g`` precomputed (``x_part``); ``z = None`` is ``z = 0``."""
        return self._gate_fn(x_part if z is None else x_part + z @ getattr(self, f"U_{g}").T)

    def _output(self, c: torch.Tensor, z_prev: torch.Tensor | None, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        """``z_t`` from the cell ``c_t`` (the previous code and this layer's gates are for subclasses)."""
        return self._activate(c)

    def _steps(self, x: torch.Tensor, n_layers: int) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        """Each layer's code ``z_t`` and its gates ``{"i": i_t, "f": f_t, ...}`` (empty with fixed gates)."""
        b = x @ self.W_e.T + self.b_c
        x_parts = {} if self.fixed_gates else {g: x @ getattr(self, f"W_{g}").T + getattr(self, f"b_{g}") for g in self.gate_names}
        z: torch.Tensor | None = None
        z_prev: torch.Tensor | None = None
        c: torch.Tensor | None = None
        for _ in range(n_layers):
            cand = b if z is None else b + z @ self.S.T
            if self.momentum and z_prev is not None:
                cand = cand + z_prev @ self.M.T
            gates = {g: self._gate(g, part, z) for g, part in x_parts.items()}
            if self.fixed_gates:
                c = cand
            else:
                c = gates["i"] * cand if c is None else gates["f"] * c + gates["i"] * cand
            z_prev, z = z, self._output(c, z, gates)
            yield z, gates

    def _iterates(self, x: torch.Tensor, n_layers: int) -> Iterator[torch.Tensor]:
        for z, _ in self._steps(x, n_layers):
            yield z

    @torch.no_grad()
    def gate_means(self, x: torch.Tensor, n_layers: int | None = None) -> dict[str, list[float]]:
        """Mean over the rows of ``x`` and the atoms of each gate, per layer: ``{"i": [...], "f": [...]}``.

        The forget gate of layer 1 multiplies ``c_0 = 0``; it is reported like the others. Empty with
        fixed gates."""
        if self.fixed_gates:
            return {}
        n = self.n_layers if n_layers is None else int(n_layers)
        sums = {g: [0.0] * n for g in self.gate_names}
        for start in range(0, len(x), CHUNK):
            for t, (_, gates) in enumerate(self._steps(x[start : start + CHUNK], n)):
                for g, value in gates.items():
                    sums[g][t] += float(value.sum())
        count = len(x) * self.n_atoms
        return {g: [s / count for s in values] for g, values in sums.items()}

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, activation={self.activation}, init={self.init}, gate={self.gate}, "
                f"fixed_gates={self.fixed_gates}, decoder={self.decoder_kind}, momentum={self.momentum}")


def gate_records(model: nn.Module, x: torch.Tensor) -> list[dict[str, Any]]:
    """Records ``input_gate_mean`` / ``forget_gate_mean`` per layer (column ``layers`` = the layer) of an
    SC2Net-type ``model`` over the inputs ``x``; none for other models or fixed gates."""
    if not isinstance(model, SC2Net):
        return []
    was_training = model.training
    model.eval()
    means = model.gate_means(x)
    model.train(was_training)
    return [{"metric": GATE_METRICS[g], "value": v, "layers": t}
            for g in GATE_METRICS if g in means for t, v in enumerate(means[g], start=1)]
