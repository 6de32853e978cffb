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

A model may also be named by its class, ``package.module:Class`` (a researcher's own model; see
:mod:`dpbench.external`): its entry is read off the class, updated with the config's ``models:``
section (:func:`set_model_overrides`), and it then goes wherever a registered model goes. Such a
name is the only one that imports anything (the user's module) when the workflow parses.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from dpbench import external
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


_VARIANT = re.compile(r"^(?P<base>[a-z0-9_]+|[A-Za-z_][\w.]*:[A-Za-z_]\w*)(?:\[(?P<options>[^\[\]]*)\])?$")
FAMILY_TASKS: dict[str, tuple[str, ...]] = {"sparse": SPARSE_TASKS, "cluster": ("clustering",)}

# the config's ``models:`` section (class path -> settings); None: read it from the environment
_overrides: dict[str, dict[str, Any]] | None = None


def set_model_overrides(overrides: dict[str, Any] | None) -> None:
    """Use the config's ``models:`` section (class path -> :data:`dpbench.external.OVERRIDE_KEYS`) for the
    models named by their class; ``None``: the section the workflow exported (:data:`dpbench.external.MODELS_ENV`)."""
    global _overrides
    _overrides = None if overrides is None else external.check_overrides(overrides)


def model_overrides() -> dict[str, dict[str, Any]]:
    """The ``models:`` section in force (see :func:`set_model_overrides`)."""
    return external.overrides_from_environment() if _overrides is None else _overrides


@functools.cache
def _class_spec(path: str, overrides_json: str) -> ModelSpec:
    fields = external.describe_class(path, external.load_class(path))
    fields.update(json.loads(overrides_json))
    family = fields.pop("family")
    tasks = tuple(fields.pop("tasks") or FAMILY_TASKS[family])
    wrong = sorted(set(tasks) - set(FAMILY_TASKS[family]))
    if wrong:
        raise UserError(f"model {path!r} ({family}) cannot declare task(s) {wrong}: its family runs {list(FAMILY_TASKS[family])}")
    return ModelSpec(path, path, family, tasks=tasks, **fields)


def class_spec(path: str) -> ModelSpec:
    """The entry of a model named by its class ``package.module:Class``: read off the class, then the
    config's ``models:`` settings for it (imports the user's module, once per process)."""
    return _class_spec(path, json.dumps(model_overrides().get(path, {}), sort_keys=True))


def _base_spec(base: str, name: str) -> ModelSpec:
    if external.is_class_path(base):
        return class_spec(base)
    if base not in MODELS:
        where = f" in {name!r}" if name != base else ""
        raise UserError(f"unknown model {base!r}{where}: expected one of {list(MODELS)}, "
                        "or a class of your own as package.module:Class (docs/adding-a-model.md)")
    return MODELS[base]


def parse_model(name: str) -> tuple[ModelSpec, dict[str, Any]]:
    """Split ``base[key=value,...]`` into the model (registered, or named by its class) and its options.

    Raises :class:`~dpbench.params.UserError` naming ``name`` when the base is neither registered nor
    an importable model class, or the options are malformed.
    """
    match = _VARIANT.match(name)
    if not match:
        raise UserError(f"malformed model name {name!r}: expected NAME, NAME[key=value,...] or package.module:Class")
    spec = _base_spec(match["base"], name)
    options: dict[str, Any] = {}
    for item in filter(None, (match["options"] or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"malformed option {item!r} in model {name!r}: expected key=value")
        options[key.strip()] = yaml.safe_load(value.strip())
    return spec, options


def model_spec(name: str) -> ModelSpec:
    """The registered model behind ``name`` (a plain name or a variant)."""
    return parse_model(name)[0]


def check_model(name: str, family: str | None = None, task: str | None = None) -> ModelSpec:
    """The spec of ``name``; a :class:`~dpbench.params.UserError` unless it fits ``family``/``task``."""
    spec, _ = parse_model(name)
    if task and task in dict(spec.refused):
        raise UserError(f"model {name!r} does not run in the {task} task: {dict(spec.refused)[task]}")
    if (family and spec.family != family) or (task and task not in spec.tasks):
        where = " ".join(filter(None, [family and f"a {family} model", task and f"of task {task}"]))
        own = f" ({name!r} is a {spec.family} model of {list(spec.tasks)})" if spec.name not in MODELS else ""
        raise UserError(f"model {name!r} cannot run here: expected {where}, one of {model_names(family, task)}{own}")
    return spec


# where a config names models: (section, key, family, task); a key of a mapping names a model too
CONFIG_MODEL_LISTS: list[tuple[str, str, str | None, str]] = [
    ("clustering", "models", "cluster", "clustering"),
    ("clustering", "params", "cluster", "clustering"),
    ("synthetic", "models", "sparse", "synthetic"),
    ("synthetic", "model_options", "sparse", "synthetic"),
    ("images", "models", "sparse", "images"),
    ("images", "params", "sparse", "images"),
    ("anomaly", "models", None, "anomaly"),  # sparse coders and the floor (a detector)
    ("anomaly", "model_options", "sparse", "anomaly"),
]


def check_config_models(config: dict[str, Any]) -> None:
    """Every model a config names is registered or an importable model class, and fits where it is
    named; its ``models:`` section is put in force (:func:`set_model_overrides`). Called where the
    workflow validates its config against the schema (and by :func:`dpbench.tasks.jobs.load_config`):
    the schema checks the form of a name, this its meaning. A :class:`UserError` names the culprit."""
    set_model_overrides(config.get("models") or {})
    for path in config.get("models") or {}:
        try:
            class_spec(path)
        except UserError as err:
            raise UserError(f"config models: {err}") from None
    variants = ((config.get("anomaly") or {}).get("variants") or {}).items()
    named = [(f"{section}.{key}", (config.get(section) or {}).get(key) or [], family, task)
             for section, key, family, task in CONFIG_MODEL_LISTS]
    named += [(f"anomaly.variants.{variant}.models", entry.get("models") or [], None, "anomaly")
              for variant, entry in variants]
    for where, names, family, task in named:
        for name in names:
            try:
                check_model(name, family=family, task=task)
            except UserError as err:
                raise UserError(f"config {where}: {err}") from None


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
    """Display name: the registry's label (a model class's own, see :mod:`dpbench.external`), with a
    variant's options after it; a name that is neither stays as it is."""
    match = _VARIANT.match(name)
    if not match:
        return name
    try:
        label = _base_spec(match["base"], name).label
    except UserError:
        return name
    return f"{label} [{match['options']}]" if match["options"] else label


__all__ = [
    "DATASETS",
    "MODELS",
    "DatasetSpec",
    "ModelSpec",
    "check_config_models",
    "check_model",
    "class_spec",
    "dataset_names",
    "model_label",
    "model_names",
    "model_rank",
    "model_overrides",
    "model_spec",
    "options_for",
    "parse_model",
    "set_model_overrides",
]
