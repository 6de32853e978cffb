"""Sparse-coding model zoo: classical Lasso solvers and their unrolled, learned counterparts.

Every model solves or approximates ``z* = argmin_z 1/2 ||x - D z||^2 + lam ||z||_1`` for a
dictionary ``D`` (``n_features x n_atoms``), maps ``x`` of shape ``(batch, n_features)`` to ``z`` of
shape ``(batch, n_atoms)``, is built by ``Model.from_dictionary(D, lam, n_layers, **options)`` and
returns every layer's iterate with ``model(x, return_all=True)``. The models are the ``sparse``
entries of :mod:`dpbench.registry`; a name may carry options, ``lista[tied=true]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dpbench import registry
from dpbench.sparse.base import SparseEncoder, lasso_objective, soft_threshold

MODELS: dict[str, type[SparseEncoder]] = {name: registry.MODELS[name].load() for name in registry.model_names("sparse")}
"""Registered name -> class, in the registry's order."""


def check_model(name: str, task: str | None = None) -> None:
    """Raise :class:`dpbench.params.UserError` (a ValueError) unless ``name`` is a sparse model or a variant of
    one (and, with ``task``, one that runs in that task: else the error says why not)."""
    registry.check_model(name, family="sparse", task=task)


def build_model(name: str, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, **options: Any) -> SparseEncoder:
    """Build model ``name`` (a registered name, or a variant ``name[key=value,...]`` whose options
    override ``options``) from dictionary ``D``."""
    check_model(name)
    spec, variant = registry.parse_model(name)
    options = {**options, **variant}
    try:
        return MODELS[spec.name].from_dictionary(D, lam, n_layers, **options)
    except TypeError as err:
        raise ValueError(f"bad options {sorted(options)} for model {name!r}: {err}") from err


__all__ = ["MODELS", "SparseEncoder", "build_model", "check_model", "lasso_objective", "soft_threshold"]
