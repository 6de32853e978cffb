"""The one registry of models and datasets (free of PyTorch: the workflow imports it when it parses).

Every model is one entry: its name, the class that implements it (``module:Class``, imported only
when a job builds it), whether it learns, whether its jobs want a GPU, the tasks it runs in, and the
options under which it is exactly ISTA at initialisation (checked by the contract tests). The order
of :data:`MODELS` is the order of every table and figure, and so the colour of each model. The config
schema's names, the workflow's GPU resources, the report's order and the contract tests all come
from here (``tests/test_registry.py`` checks the schema against it), so adding a model is one module
plus one entry.

A *variant* is a model with options written into its name, ``lista[tied=true]`` or
``sc2net[fixed_gates=true,activation=soft]``: it is its own model in the config, in result paths and
in tables, so ablations never overwrite each other. :func:`parse_model` splits such a name into the
registered model and its options (values read as YAML scalars: ``true``, ``3``, ``0.5``, ``soft``).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

import yaml

from dpbench.params import UserError

SPARSE_TASKS = ("synthetic", "images", "anomaly")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the zoo."""

    name: str
    class_path: str  # "package.module:Class", imported only when a job builds the model
    family: str  # "sparse" (Lasso encoders), "cluster", or "detector" (an anomaly detector with no encoder: the floor)
    learned: bool  # has parameters trained by gradient descent
    needs_gpu: bool  # its jobs want a GPU slot when one is configured (else they run on the CPU, always)
    tasks: tuple[str, ...]
    label: str  # how tables and figures name it
    ista_at_init: dict[str, Any] | None = None  # options under which layer t equals ISTA's iterate t
    restarts: bool = False  # clustering: takes n_init (the best of n starts by its objective)
    needs_overcomplete: str | None = None  # why the model cannot run with fewer atoms than features (else None)
    fista_at_init: dict[str, Any] | None = None  # options under which layer t equals FISTA's iterate t
    refused: tuple[tuple[str, str], ...] = ()  # (task, why) for each sparse task it does not run in

    def load(self) -> type:
        """The implementing class (imports its module)."""
        module, _, name = self.class_path.partition(":")
        return getattr(importlib.import_module(module), name)


def _sparse(
    name: str, cls: str, label: str, learned: bool = True, ista_at_init: dict[str, Any] | None = None, needs_overcomplete: str | None = None,
    fista_at_init: dict[str, Any] | None = None, refused: tuple[tuple[str, str], ...] = (),
) -> ModelSpec:
    tasks = tuple(t for t in SPARSE_TASKS if t not in dict(refused))
    return ModelSpec(name, f"dpbench.sparse.{cls}", "sparse", learned, learned, tasks, label, ista_at_init,
                     needs_overcomplete=needs_overcomplete, fista_at_init=fista_at_init, refused=refused)


def _cluster(name: str, cls: str, label: str, learned: bool, needs_gpu: bool, restarts: bool = True) -> ModelSpec:
    return ModelSpec(name, cls, "cluster", learned, needs_gpu, ("clustering",), label, restarts=restarts)


# where a model in SC2Net's framework (its decoder tied to the encoder) does not run, and why
_SC2NET_FRAMEWORK = (
    ("synthetic", "the synthetic task regresses the known codes, where no decoder enters the loss: "
                  "this model is then tied LISTA / LFISTA (run lista[tied=true] or lfista[tied=true])"),
    ("anomaly", "the anomaly task trains and scores with the learned dictionary D, not a model's tied decoder: "
                "this model would be tied LISTA / LFISTA there (run lista[tied=true] or lfista[tied=true])"),
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        _cluster("kmeans", "dpbench.cluster.kmeans:KMeans", "k-means", learned=False, needs_gpu=True),
        _cluster("sklearn_kmeans", "sklearn.cluster:KMeans", "k-means (scikit-learn)", learned=False, needs_gpu=False),
        _cluster("kmeansnet", "dpbench.cluster.kmeansnet:KMeansNet", "k-meansNet", learned=True, needs_gpu=True),
        # trains from one random initialisation, as TELL's released code does (no n_init)
        _cluster("kmeansnet_tell", "dpbench.cluster.kmeansnet_tell:KMeansNetTELL", "k-meansNet (TELL)", learned=True, needs_gpu=True, restarts=False),
        _sparse("ista", "ista:ISTA", "ISTA", learned=False, ista_at_init={}),
        _sparse("fista", "fista:FISTA", "FISTA", learned=False),
        _sparse("lista", "lista:LISTA", "LISTA", ista_at_init={}),
        _sparse("lista_ss", "lista_ss:LISTASS", "LISTA-SS"),
        _sparse("lista_cp", "lista_cp:LISTACP", "LISTA-CP", ista_at_init={}),
        _sparse("lista_cpss", "lista_cpss:LISTACPSS", "LISTA-CPSS", ista_at_init={"support_selection": False}),
        _sparse("tilista", "tilista:TiLISTA", "TiLISTA"),
        _sparse(
            "alista",
            "alista:ALISTA",
            "ALISTA",
            needs_overcomplete="ALISTA's analytic weight W = (D D^T)^+ D reduces to the pseudo-inverse of an undercomplete D "
            "and cannot reach the Lasso solution",
        ),
        _sparse("sc2net", "sc2net:SC2Net", "SC2Net", ista_at_init={"fixed_gates": True, "init": "ista", "activation": "soft"}),
        # the authors' output-gate cell, z = o * h(z_prev - c) W_h: ISTA at no initialisation
        _sparse("slstm_output_gate", "slstm_output_gate:SLSTMOutputGate", "SLSTM + output gate"),
        # Moreau & Bruna 2017: FISTA at init untied; tied (the SC2Net authors' shared network) ISTA at init
        _sparse("lfista", "lfista:LFISTA", "LFISTA", ista_at_init={"tied": True}, fista_at_init={}),
        # SC2Net's Table 2 as the authors' code runs it: LISTA's / LFISTA's unit, shared weights, decoder tied to
        # the encoder, trained on SC2Net's unsupervised loss (docs/sc2net.md)
        _sparse("lista_sc2net", "lista_sc2net:LISTASC2Net", "LISTA-SC2Net", ista_at_init={}, refused=_SC2NET_FRAMEWORK),
        _sparse("lfista_sc2net", "lfista_sc2net:LFISTASC2Net", "LFISTA-SC2Net", ista_at_init={}, refused=_SC2NET_FRAMEWORK),
        # the floor of the anomaly task: motion energy, no model at all (dpbench.anomaly.floor)
        ModelSpec("motion_energy", "dpbench.anomaly.floor:MotionEnergy", "detector", False, False, ("anomaly",), "Motion energy (floor)"),
    ]
}


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: the tasks that can use it and whether it has class labels."""

    name: str
    tasks: tuple[str, ...]
    labelled: bool = True
    cnn_features: bool = False  # can be clustered on ResNet-50 features (colour or greyscale images)
    notes: str = ""
    raw_from: str | None = None  # reads the raw files of this other dataset (one download serves both)


_IMAGE_TASKS = ("clustering", "images")
DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("digits", _IMAGE_TASKS, notes="scikit-learn's 8x8 digits (ships with scikit-learn)"),
        DatasetSpec("mnist", _IMAGE_TASKS, cnn_features=True),
        DatasetSpec("mnist_test", _IMAGE_TASKS, cnn_features=True, notes="MNIST's 10,000 test images, read from a local folder"),
        DatasetSpec("cifar10", _IMAGE_TASKS, cnn_features=True),
        DatasetSpec("cifar100_coarse", _IMAGE_TASKS, cnn_features=True, notes="CIFAR-100 with its 20 superclasses"),
        DatasetSpec("cifar100_per_superclass", ("clustering",), raw_from="cifar100_coarse",
                    notes="CIFAR-100, each superclass's 5 fine classes clustered apart (TELL, JMLR 2022, Tables 2-3)"),
        DatasetSpec("sample_patches", ("images",), labelled=False, notes="8x8 patches of scikit-learn's photographs"),
        DatasetSpec("cifar10_cnn", ("images",), notes="CIFAR-10 as SC2Net runs it: 2,304-d features of the Keras cifar10_cnn.py "
                    "network trained on its training set (dpbench.images.cifar_cnn); classification only"),
        DatasetSpec("ucsd_ped1", ("anomaly",)),
        DatasetSpec("ucsd_ped2", ("anomaly",)),
        DatasetSpec("avenue", ("anomaly",)),
        DatasetSpec("synthetic", ("anomaly",), notes="generated video with planted anomalies"),
        DatasetSpec("ucsd_ped2_frames", ("anomaly",), notes="UCSD Ped2 in the common frames layout (JPEG), read in place"),
        DatasetSpec("avenue_frames", ("anomaly",), notes="CUHK Avenue in the common frames layout, read in place"),
    ]
}


def model_names(family: str | None = None, task: str | None = None) -> list[str]:
    """Registered model names in display order, optionally of one family or task."""
    return [
        spec.name
        for spec in MODELS.values()
        if (family is None or spec.family == family) and (task is None or task in spec.tasks)
    ]


def dataset_names(task: str) -> list[str]:
    """Registered dataset names usable by ``task``."""
    return [spec.name for spec in DATASETS.values() if task in spec.tasks]


_VARIANT = re.compile(r"^(?P<base>[a-z0-9_]+)(?:\[(?P<options>[^\[\]]*)\])?$")


def parse_model(name: str) -> tuple[ModelSpec, dict[str, Any]]:
    """Split ``base[key=value,...]`` into the registered model and its options.

    Raises :class:`~dpbench.params.UserError` naming ``name`` when the base is not registered or the
    options are malformed.
    """
    match = _VARIANT.match(name)
    if not match:
        raise UserError(f"malformed model name {name!r}: expected NAME or NAME[key=value,...]")
    base = match["base"]
    if base not in MODELS:
        raise UserError(f"unknown model {base!r} in {name!r}: expected one of {list(MODELS)}")
    options: dict[str, Any] = {}
    for item in filter(None, (match["options"] or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"malformed option {item!r} in model {name!r}: expected key=value")
        options[key.strip()] = yaml.safe_load(value.strip())
    return MODELS[base], options


def model_spec(name: str) -> ModelSpec:
    """The registered model behind ``name`` (a plain name or a variant)."""
    return parse_model(name)[0]


def check_model(name: str, family: str | None = None, task: str | None = None) -> ModelSpec:
    """The spec of ``name``; a :class:`~dpbench.params.UserError` unless it fits ``family``/``task``."""
    spec, _ = parse_model(name)
    if task and task in dict(spec.refused):
        raise UserError(f"model {name!r} does not run in the {task} task: {dict(spec.refused)[task]}")
    if (family and spec.family != family) or (task and task not in spec.tasks):
        raise UserError(f"model {name!r} cannot run here: expected one of {model_names(family, task)}")
    return spec


def options_for(per_model: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """A model's entry of a config mapping keyed by model (``model_options``, ``params``): a variant
    gets its base model's entry, updated with its own (the options in its name still win when the
    model is built)."""
    match = _VARIANT.match(name)
    base = match["base"] if match else name
    return {**per_model.get(base, {}), **(per_model.get(name, {}) if name != base else {})}


def model_rank(name: str) -> int:
    """Position of the base model of ``name`` in the registry (unknown names last)."""
    match = _VARIANT.match(name)
    base = match["base"] if match else name
    order = list(MODELS)
    return order.index(base) if base in order else len(order)


def model_label(name: str) -> str:
    """Display name: the registry's label, with a variant's options after it."""
    match = _VARIANT.match(name)
    if not match or match["base"] not in MODELS:
        return name
    label = MODELS[match["base"]].label
    return f"{label} [{match['options']}]" if match["options"] else label


__all__ = [
    "DATASETS",
    "MODELS",
    "DatasetSpec",
    "ModelSpec",
    "check_model",
    "dataset_names",
    "model_label",
    "model_names",
    "model_rank",
    "model_spec",
    "options_for",
    "parse_model",
]
