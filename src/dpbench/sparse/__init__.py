"""Sparse-coding model zoo: classical Lasso solvers and their unrolled, learned counterparts.

Every model solves or approximates ``z* = argmin_z 1/2 ||x - D z||^2 + lam ||z||_1`` for a
dictionary ``D`` (``n_features x n_atoms``), maps ``x`` of shape ``(batch, n_features)`` to ``z`` of
shape ``(batch, n_atoms)``, is built by ``Model.from_dictionary(D, lam, n_layers, **options)`` and
returns every layer's iterate with ``model(x, return_all=True)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dpbench.sparse.alista import ALISTA
from dpbench.sparse.base import SparseEncoder, lasso_objective, soft_threshold
from dpbench.sparse.fista import FISTA
from dpbench.sparse.ista import ISTA
from dpbench.sparse.lista import LISTA
from dpbench.sparse.lista_cp import LISTACP
from dpbench.sparse.lista_cpss import LISTACPSS
from dpbench.sparse.lista_ss import LISTASS
from dpbench.sparse.sc2net import SC2Net
from dpbench.sparse.slstm_output_gate import SLSTMOutputGate
from dpbench.sparse.tilista import TiLISTA

MODELS: dict[str, type[SparseEncoder]] = {
    "ista": ISTA,
    "fista": FISTA,
    "lista": LISTA,
    "lista_ss": LISTASS,
    "lista_cp": LISTACP,
    "lista_cpss": LISTACPSS,
    "tilista": TiLISTA,
    "alista": ALISTA,
    "sc2net": SC2Net,
    "slstm_output_gate": SLSTMOutputGate,
}


def check_model(name: str) -> None:
    """Raise :class:`dpbench.cli.UserError` (a ValueError) naming ``name`` unless it is in :data:`MODELS`."""
    from dpbench.cli import UserError

    if name not in MODELS:
        raise UserError(f"unknown sparse-coding model {name!r}: expected one of {sorted(MODELS)}")


def build_model(name: str, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, **options: Any) -> SparseEncoder:
    """Build the model registered as ``name`` from dictionary ``D`` (see :data:`MODELS`)."""
    check_model(name)
    try:
        return MODELS[name].from_dictionary(D, lam, n_layers, **options)
    except TypeError as err:
        raise ValueError(f"bad options {sorted(options)} for model {name!r}: {err}") from err


__all__ = [
    "ALISTA",
    "FISTA",
    "ISTA",
    "LISTA",
    "LISTACP",
    "LISTACPSS",
    "LISTASS",
    "MODELS",
    "SC2Net",
    "SLSTMOutputGate",
    "SparseEncoder",
    "TiLISTA",
    "build_model",
    "check_model",
    "lasso_objective",
    "soft_threshold",
]
