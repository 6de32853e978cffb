"""Sparse-coding model zoo: classical Lasso solvers and their unrolled, learned counterparts.

Every model solves or approximates ``z* = argmin_z 1/2 ||x - D z||^2 + lam ||z||_1`` for a
dictionary ``D`` (``n_features x n_atoms``), maps ``x`` of shape ``(batch, n_features)`` to ``z`` of
shape ``(batch, n_atoms)``, is built by ``Model.from_dictionary(D, lam, n_layers, **options)`` and
returns every layer's iterate with ``model(x, return_all=True)``::

    from dpbench.sparse import ISTA, LISTA

    ista = ISTA(D, lam=0.1, n_layers=100)          # 100 iterations, nothing to learn
    lista = LISTA(D, lam=0.1, n_layers=16)         # 16 layers, initialised as 16 ISTA iterations
    codes = lista(x)                               # the last layer's code
    per_layer = lista(x, return_all=True)          # the code after every layer

The classes, each documented in its module:

* :class:`ISTA`, :class:`FISTA`: the classical solvers (Daubechies et al. 2004; Beck & Teboulle 2009).
* :class:`LISTA` (Gregor & LeCun 2010; ``tied=True``: its recurrent form), :class:`LISTASS` (with
  support selection).
* :class:`LISTACP`, :class:`LISTACPSS` (coupled weights, Chen et al. 2018), :class:`TiLISTA`
  (tied, one matrix, Liu et al. 2019), :class:`ALISTA` (analytic weights, Liu et al. 2019).
* :class:`LFISTA` (learned FISTA, Moreau & Bruna 2017).
* :class:`SC2Net` (the Sparse LSTM, Zhou et al. 2018) and :class:`SLSTMOutputGate` (its authors'
  output-gate cell); :class:`LISTASC2Net`, :class:`LFISTASC2Net` (LISTA's and LFISTA's unit inside
  SC2Net's framework, its Table 2 as the authors' code runs it).

and :class:`SparseEncoder`, the base class whose docstring states the contract every model meets
(a model of your own too: docs/adding-a-model.md, ``dpbench check-model``), with the pieces models
are built from: :func:`soft_threshold`, :func:`spectral_norm_sq` (``L = ||D||_2^2``),
:func:`lasso_objective` and :func:`lasso_cost`. The models are the
``sparse`` entries of :mod:`dpbench.registry`; :func:`build_model` builds one by its registered name,
a variant (``lista[tied=true]``) or a class of your own (``mylab.models:MyLISTA``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dpbench import registry
from dpbench.sparse.alista import ALISTA
from dpbench.sparse.base import SparseEncoder, lasso_cost, lasso_objective, soft_threshold, spectral_norm_sq
from dpbench.sparse.fista import FISTA
from dpbench.sparse.ista import ISTA
from dpbench.sparse.lfista import LFISTA
from dpbench.sparse.lfista_sc2net import LFISTASC2Net
from dpbench.sparse.lista import LISTA
from dpbench.sparse.lista_cp import LISTACP
from dpbench.sparse.lista_cpss import LISTACPSS
from dpbench.sparse.lista_sc2net import LISTASC2Net
from dpbench.sparse.lista_ss import LISTASS
from dpbench.sparse.sc2net import SC2Net
from dpbench.sparse.slstm_output_gate import SLSTMOutputGate
from dpbench.sparse.tilista import TiLISTA

MODELS: dict[str, type[SparseEncoder]] = {name: registry.MODELS[name].load() for name in registry.model_names("sparse")}
"""Registered name -> class, in the registry's order."""


def check_model(name: str, task: str | None = None) -> None:
    """Raise :class:`dpbench.params.UserError` (a ValueError) unless ``name`` is a sparse model, a variant
    of one, or a sparse coder class of your own (``package.module:Class``); with ``task``, one that runs in
    that task (else the error says why not)."""
    registry.check_model(name, family="sparse", task=task)


def build_model(name: str, D: torch.Tensor | np.ndarray, lam: float, n_layers: int, **options: Any) -> SparseEncoder:
    """Build model ``name`` (a registered name, a variant ``name[key=value,...]`` whose options
    override ``options``, or a class ``package.module:Class``) from dictionary ``D``."""
    check_model(name)
    spec, variant = registry.parse_model(name)
    options = {**options, **variant}
    cls = MODELS[spec.name] if spec.name in MODELS else spec.load()
    try:
        return cls.from_dictionary(D, lam, n_layers, **options)
    except TypeError as err:
        raise ValueError(f"bad options {sorted(options)} for model {name!r}: {err}") from err


__all__ = [
    "ALISTA",
    "FISTA",
    "ISTA",
    "LFISTA",
    "LFISTASC2Net",
    "LISTA",
    "LISTACP",
    "LISTACPSS",
    "LISTASC2Net",
    "LISTASS",
    "MODELS",
    "SC2Net",
    "SLSTMOutputGate",
    "SparseEncoder",
    "TiLISTA",
    "build_model",
    "check_model",
    "lasso_cost",
    "lasso_objective",
    "soft_threshold",
    "spectral_norm_sq",
]
