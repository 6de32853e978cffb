"""Models named by their class, ``package.module:Class``: a researcher's own model, benchmarked without
editing dpbench (docs/adding-a-model.md).

Wherever a config (or ``dpbench run``, or ``dpbench check-model``) names a model, a class importable
from the environment may be named instead of a registered model, optionally with options as a
variant: ``mylab.models:LISTACPTied`` or ``mylab.models:LISTACPTied[p=2]``. What the registry would
hold for it is read off the class (:func:`describe_class`):

* a subclass of :class:`dpbench.sparse.SparseEncoder` is a sparse coder of every sparse task
  (synthetic, images, anomaly), learned when its ``trainable`` attribute is true (the base class's
  default), its jobs then on the configured device;
* a class with a ``fit_predict`` method (a scikit-learn style clustering estimator) is a clustering
  model; it takes restarts when its constructor has ``n_init``, and the configured device when it
  has ``device``;

and a class may state the rest as attributes: ``label`` (its name in tables and figures; default the
class name), ``tasks``, ``ista_at_init`` (the options under which its layer ``t`` equals ISTA's
iterate ``t``, checked by ``dpbench check-model``), ``needs_overcomplete`` (why it cannot run with
fewer atoms than features). The config's ``models:`` section overrides any of these per class
(:data:`OVERRIDE_KEYS`); the workflow passes it to its jobs in :data:`MODELS_ENV`.

This module imports neither PyTorch nor the rest of dpbench: importing the user's class is what
imports them, and only when a config names one.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import sys
from typing import Any

from dpbench.params import UserError

#: ``package.module:Class``
CLASS_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
#: what the config's ``models:`` section may set for a class (each a field of dpbench.registry.ModelSpec)
OVERRIDE_KEYS = ("label", "tasks", "learned", "needs_gpu", "ista_at_init", "restarts", "needs_overcomplete")
#: the config's ``models:`` section as JSON, exported by the workflow to its jobs (and by ``dpbench run``)
MODELS_ENV = "DPBENCH_MODELS"
CONTRACT_DOC = "docs/adding-a-model.md"


def is_class_path(name: str) -> bool:
    """Whether ``name`` (without variant options) names a class, ``package.module:Class``."""
    return bool(CLASS_PATH.match(name))


def load_class(path: str) -> type:
    """Import the class ``package.module:Class``; a :class:`UserError` says what is missing and how to fix it."""
    if not is_class_path(path):
        raise UserError(f"{path!r} does not name a class: expected package.module:Class, e.g. mylab.models:MyLISTA")
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise UserError(
            f"model {path!r}: cannot import module {module_name!r} ({err}); install the package that holds it "
            "(pip install -e <your package>) or put its folder on PYTHONPATH"
        ) from err
    except Exception as err:  # the user's module failed while it was being imported
        raise UserError(f"model {path!r}: importing module {module_name!r} failed: {type(err).__name__}: {err}") from err
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        public = sorted(n for n, v in vars(module).items() if isinstance(v, type) and v.__module__ == module.__name__)
        raise UserError(f"model {path!r}: module {module_name!r} has no class {class_name!r} (its classes: {public})")
    return cls


def _is_sparse_encoder(cls: type) -> bool:
    # a SparseEncoder subclass has imported dpbench.sparse.base already: no import here
    base = sys.modules.get("dpbench.sparse.base")
    return base is not None and issubclass(cls, base.SparseEncoder)


def describe_class(path: str, cls: type) -> dict[str, Any]:
    """What the registry holds for a model class, read off the class (see the module docstring):
    ``family``, ``learned``, ``needs_gpu``, ``label``, ``tasks`` (None: every task of the family),
    ``ista_at_init``, ``restarts``, ``needs_overcomplete``."""
    common = {
        "label": str(getattr(cls, "label", cls.__name__)),
        "tasks": tuple(cls.tasks) if isinstance(getattr(cls, "tasks", None), (list, tuple)) else None,
        "ista_at_init": getattr(cls, "ista_at_init", None),
        "needs_overcomplete": getattr(cls, "needs_overcomplete", None),
    }
    if _is_sparse_encoder(cls):
        learned = bool(getattr(cls, "trainable", True))
        return {"family": "sparse", "learned": learned, "needs_gpu": learned, "restarts": False, **common}
    if callable(getattr(cls, "fit_predict", None)):
        try:
            arguments = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            arguments = {}
        return {"family": "cluster", "learned": bool(getattr(cls, "learned", False)), "needs_gpu": "device" in arguments,
                "restarts": "n_init" in arguments, **common}
    raise UserError(
        f"model {path!r} is neither a sparse coder (a subclass of dpbench.sparse.SparseEncoder) nor a clustering "
        f"estimator (a class with a fit_predict method): see {CONTRACT_DOC}"
    )


def check_overrides(overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The config's ``models:`` section, checked: every key a class path, every field known."""
    if not isinstance(overrides, dict):
        raise UserError(f"models: expected a mapping from package.module:Class to its settings, got {overrides!r}")
    for path, fields in overrides.items():
        if not is_class_path(str(path)):
            raise UserError(f"models: {path!r} is not a class path package.module:Class (registered models are set in dpbench.registry)")
        unknown = sorted(set(fields or {}) - set(OVERRIDE_KEYS))
        if unknown:
            raise UserError(f"models: {path}: unknown setting(s) {unknown}; expected some of {list(OVERRIDE_KEYS)}")
    return {str(path): dict(fields or {}) for path, fields in overrides.items()}


def overrides_from_environment() -> dict[str, dict[str, Any]]:
    """The ``models:`` section the workflow exported to this job (:data:`MODELS_ENV`), or none."""
    text = os.environ.get(MODELS_ENV)
    if not text:
        return {}
    try:
        return check_overrides(json.loads(text))
    except json.JSONDecodeError as err:
        raise UserError(f"${MODELS_ENV} is not valid JSON: {err}") from err


__all__ = ["CLASS_PATH", "MODELS_ENV", "OVERRIDE_KEYS", "check_overrides", "describe_class", "is_class_path", "load_class",
           "overrides_from_environment"]
