"""The decoder of an encoder: the dictionary ``D`` it was built from, or tied to its own input matrix.

SC2Net's framework (Zhou et al., AAAI 2018, eqs. 9-10) reconstructs ``x`` from the code ``s`` with the
network's own input matrix, ``x ~ (1/tau) W_d^T s`` ("we do not learn the individual decoding matrix.
Instead, we reuse the encoding matrix W_d"), and trains on ``||x - (1/tau) W_d^T s||^2 + lam ||s||_1``.
The authors' LISTA and LFISTA in that framework (``Lcod/lista_network.py`` lines 101-116,
``Lcod/lfista_network.py`` lines 77-90) decode with ``L W_e`` (``wd = L * We``, ``rec = Zk wd^T``), ``L``
the squared spectral norm of the dictionary they start from: at initialisation (``W_e = D^T / L``) the
tied decoder is ``D`` itself, and it then moves with the encoder.

``decoder="tied"``: :meth:`TiedDecoderMixin.decoder_matrix` is ``L W_e^T`` (``n_features x n_atoms``);
the training loops (:mod:`dpbench.sparse.train`) and the image tasks reconstruct with it.
``decoder="dictionary"`` (the default): it is the buffer ``D``.
"""

from __future__ import annotations

import torch

from dpbench.sparse.base import spectral_norm_sq

DECODERS = ("dictionary", "tied")


class TiedDecoderMixin:
    """A decoder that is ``D`` or ``L`` times the transposed input matrix (:meth:`input_matrix`)."""

    D: torch.Tensor
    decoder_kind: str

    def _setup_decoder(self, decoder: str) -> None:
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}: expected one of {DECODERS}")
        self.decoder_kind = decoder
        self.register_buffer("decoder_scale", spectral_norm_sq(self.D))  # type: ignore[attr-defined]

    @property
    def tied_decoder(self) -> bool:
        return self.decoder_kind == "tied"

    def input_matrix(self) -> torch.Tensor:
        """The ``n_atoms x n_features`` matrix applied to ``x`` (SC2Net's ``W_d``)."""
        raise NotImplementedError

    def decoder_matrix(self) -> torch.Tensor:
        """``D``, or with ``decoder="tied"`` the differentiable ``L W_e^T`` (``n_features x n_atoms``)."""
        if self.tied_decoder:
            return self.decoder_scale * self.input_matrix().T  # type: ignore[attr-defined]
        return self.D


def model_decoder(model: torch.nn.Module, D: torch.Tensor) -> torch.Tensor:
    """The decoder a loss or a reconstruction uses for ``model``: its tied one, else ``D``."""
    if getattr(model, "tied_decoder", False):
        return model.decoder_matrix()  # type: ignore[operator]
    return D
