"""The parameters of every job, from the workflow's config (free of PyTorch).

The Snakemake rules (``workflow/rules/*.smk``) and ``dpbench run`` (one cell without Snakemake,
:mod:`dpbench.run_cell`) both build a job's ``--params`` here, so a cell run by hand gets exactly the
parameters the workflow would give it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from dpbench.external import MODELS_ENV
from dpbench.params import UserError
from dpbench.registry import DATASETS, check_config_models, model_spec, options_for, parse_model
from dpbench.tasks.synthetic_grid import dataset_name, job_params


def merge_config(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` layered on ``base`` as Snakemake layers config files: mappings merged key by key,
    everything else (lists included) replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(files: list[str | Path], schema: str | Path | None = None) -> dict[str, Any]:
    """The config files layered in order and, when ``schema`` is given, validated as the workflow
    validates it: against the schema (:func:`snakemake.utils.validate`), then the models it names
    against the registry (:func:`dpbench.registry.check_config_models`, which also puts the config's
    ``models:`` section in force in this process and exports it to the commands it runs)."""
    config: dict[str, Any] = {}
    for path in files:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"config file not found: {path}")
        config = merge_config(config, yaml.safe_load(path.read_text()) or {})
    if schema is not None:
        from snakemake.utils import validate

        try:
            validate(config, str(schema))
        except Exception as err:  # WorkflowError with the jsonschema message
            raise UserError(f"invalid config {[str(f) for f in files]}: {err}") from err
        check_config_models(config)
        os.environ[MODELS_ENV] = json.dumps(config.get("models") or {}, sort_keys=True)
        add_declared_models(config)
    return config


# the config section whose ``models`` list each task's models come from
TASK_SECTIONS = {"clustering": "clustering", "synthetic": "synthetic", "images": "images", "anomaly": "anomaly"}


def add_declared_models(config: dict[str, Any]) -> dict[str, Any]:
    """Add every model class of the config's ``models:`` section to the ``models`` list of each task it
    runs in (its entry's ``tasks``: by default every task of its family), after the listed models, in
    place: naming a class there is enough to benchmark it everywhere it fits. Returns ``config``."""
    for path in config.get("models") or {}:
        spec = model_spec(path)
        for task, section in TASK_SECTIONS.items():
            listed = (config.get(section) or {}).get("models")
            if task in spec.tasks and listed is not None and path not in listed:
                config[section]["models"] = [*listed, path]
    return config


def dumps(params: dict[str, Any]) -> str:
    """A job's ``--params`` as the workflow writes it (sorted keys: the same params, the same string)."""
    return json.dumps(params, sort_keys=True)


def task_seeds(config: dict[str, Any], task: str) -> list[int]:
    """The seeds of a task: its own ``seeds`` list, or the global one."""
    return config[task].get("seeds", config["seeds"])


def raw_dir(config: dict[str, Any], dataset: str) -> str:
    """Where a dataset's raw files live: ``mnist_test`` reads a local folder, the rest download."""
    if dataset == "mnist_test":
        return config["mnist_test_dir"]
    spec = DATASETS.get(dataset)
    return f"{config['data_dir']}/raw/{spec.raw_from if spec is not None and spec.raw_from else dataset}"


def synthetic_snr(config: dict[str, Any], dataset: str) -> float | None:
    """The noise level of a synthetic dataset name (``synthetic_noiseless``, ``synthetic_snr40``)."""
    by_name = {dataset_name(s): s for s in config["synthetic"]["snr_db"]}
    if dataset not in by_name:
        raise UserError(f"synthetic dataset {dataset!r} is not in the config: expected one of {sorted(by_name)}")
    return by_name[dataset]


def synthetic_params(config: dict[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """A synthetic job's ``--params``: the problem, its noise level and the model's options."""
    return job_params(config["synthetic"], synthetic_snr(config, dataset), model)


def cluster_starts(config: dict[str, Any], model: str) -> list[int]:
    """The starts settings (``n_init``) a clustering model runs under: every configured one, or 1 for a
    model that starts once (``restarts`` in the registry)."""
    return config["clustering"].get("n_init", [1]) if model_spec(model).restarts else [1]


def cluster_params(config: dict[str, Any], model: str, n_init: int) -> dict[str, Any]:
    """A clustering job's hyperparameters: the model's configured ones plus the job's ``n_init``."""
    params = options_for(config["clustering"].get("params", {}), model)
    return {**params, "n_init": int(n_init)} if model_spec(model).restarts else params


def cluster_seeds(config: dict[str, Any], model: str) -> list[int]:
    """The seeds of a clustering model: its entry in ``clustering.model_seeds`` (e.g. one seed for a
    long end-to-end TELL run), else the task's seeds."""
    return config["clustering"].get("model_seeds", {}).get(model, task_seeds(config, "clustering"))


def learns_encoder(config: dict[str, Any], model: str) -> bool:
    """Whether ``model`` is TELL trained end to end (an encoder learned from the images): any
    ``kmeansnet_tell`` whose encoder (its variant's option, else its configured one) is not ``none``."""
    if parse_model(model)[0].name != "kmeansnet_tell":
        return False
    return {**cluster_params(config, model, 1), **parse_model(model)[1]}.get("encoder", "auto") != "none"


def autoencoder_params(config: dict[str, Any], kind: str) -> dict[str, Any]:
    """The pretraining parameters of autoencoder feature kind ``kind`` (``ae_mlp``, ``ae_conv``): the
    shared ``clustering.autoencoders.params`` updated with the kind's own entry."""
    cfg = config["clustering"].get("autoencoders", {})
    return {**cfg.get("params", {}), **cfg.get(kind, {})}


def cluster_runs(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every (dataset, features, model) cell of the clustering grid: each model on the raw pixels of
    ``datasets`` and on the ResNet-50 features of ``cnn_features``; every model but end-to-end TELL
    (:func:`learns_encoder`: it learns its own autoencoder from images) on the codes of TELL's
    autoencoders (``autoencoders.kinds``) of ``autoencoders.datasets`` (TELL's Table 4)."""
    cfg = config["clustering"]
    ae = cfg.get("autoencoders", {})
    runs = [(d, "pixels") for d in cfg["datasets"]] + [(d, "resnet50") for d in cfg.get("cnn_features", [])]
    runs += [(d, kind) for d in ae.get("datasets", []) for kind in ae.get("kinds", [])]
    return [(d, f, m) for d, f in runs for m in cfg["models"] if not (f.startswith("ae_") and learns_encoder(config, m))]


def images_layers(config: dict[str, Any]) -> str:
    """The depth sweep of the image tasks, as ``--layers`` takes it."""
    return ",".join(str(t) for t in config["images"]["layers"])


def images_data_params(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """A dataset's data parameters, with ``images.protocol`` when it is not the default ``official``
    (so that the parameters of official runs stay as they were)."""
    params = config["images"].get("data", {}).get(dataset, {})
    protocol = config["images"].get("protocol", "official")
    return params if protocol == "official" else {**params, "protocol": protocol}


def images_dict_params(config: dict[str, Any]) -> dict[str, Any]:
    cfg = config["images"]
    return {"n_atoms": cfg["n_atoms"], "lam": cfg["lam"], **cfg.get("dictionary", {})}


LEARNED_D = "+learned_D"  # suffix of the result name of an encoder whose decoder is learned with it


def images_result_names(config: dict[str, Any]) -> list[str]:
    """The result names of the image jobs: each of ``images.models``, and ``<model>+learned_D`` for the
    learned encoders when ``images.learn_dictionary`` holds true (``false``, ``true`` or both)."""
    cfg = config["images"]
    modes = cfg.get("learn_dictionary", False)
    modes = modes if isinstance(modes, list) else [modes]
    names = []
    for name in cfg["models"]:
        learned = model_spec(name).learned
        names += [name] if False in modes or not learned else []
        names += [name + LEARNED_D] if True in modes and learned else []
    return names


def images_split_label(label: str) -> tuple[str, bool]:
    """(model or variant, whether its dictionary is learned) of an image result name."""
    learned = label.endswith(LEARNED_D)
    return (label[: -len(LEARNED_D)] if learned else label), learned


def images_train_params(config: dict[str, Any], label: str) -> dict[str, Any]:
    """An image job's training parameters: the defaults, the model's own, and ``learn_dictionary``."""
    cfg = config["images"]
    model, learned = images_split_label(label)
    return {**cfg.get("train", {}), **options_for(cfg.get("params", {}), model), "learn_dictionary": learned}


def anomaly_variants(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The anomaly variants: name -> ``{"params": ..., "models": [...], "seeds": [...]}``, each variant's
    parameters layered on ``anomaly.params`` (mappings merged key by key), its models (its own list, else
    ``anomaly.models``) and seeds (its own, else the task's). Without ``anomaly.variants``, one variant
    named after ``params.pipeline`` (default ``cuboids``)."""
    cfg = config["anomaly"]
    base = cfg.get("params", {})
    variants = cfg.get("variants") or {base.get("pipeline", "cuboids"): {}}
    return {name: {"params": merge_config(base, v.get("params", {})), "models": list(v.get("models", cfg["models"])),
                   "seeds": list(v.get("seeds", task_seeds(config, "anomaly")))}
            for name, v in variants.items()}


def anomaly_variant(config: dict[str, Any], variant: str | None) -> tuple[str, dict[str, Any]]:
    """(name, variant) of ``variant`` (default: the first one); an unknown name is a UserError naming the known ones."""
    variants = anomaly_variants(config)
    name = variant or next(iter(variants))
    if name not in variants:
        raise UserError(f"unknown anomaly variant {name!r}: the config has {sorted(variants)}")
    return name, variants[name]


def anomaly_params(config: dict[str, Any], model: str, variant: str | None = None) -> dict[str, Any]:
    """An anomaly job's ``--params``: the variant's hyperparameters plus the model's options."""
    cfg = config["anomaly"]
    _, v = anomaly_variant(config, variant)
    return {**v["params"], "model_options": options_for(cfg.get("model_options", {}), model)}


def anomaly_dictionary_params(config: dict[str, Any], variant: str | None = None) -> dict[str, Any]:
    """The ``--params`` of the anomaly features and dictionary jobs (shared by every model of a dataset, variant and seed)."""
    return anomaly_variant(config, variant)[1]["params"]


def anomaly_pipeline(config: dict[str, Any], variant: str | None = None) -> str:
    """The feature pipeline of a variant (``cuboids``, ``anomalynet`` or ``lu2013``)."""
    return anomaly_dictionary_params(config, variant).get("pipeline", "cuboids")


ANOMALY_SOURCE = {"ucsd_ped1": "ucsd", "ucsd_ped2": "ucsd", "avenue": "avenue", "synthetic": "synthetic"}
# datasets in the common frames layout, read in place from a folder of the config (no download)
ANOMALY_FRAMES_DIR = {"ucsd_ped2_frames": "ped2_frames_dir", "avenue_frames": "avenue_frames_dir"}


def anomaly_raw_dir(config: dict[str, Any], dataset: str) -> str:
    """The folder anomaly-prepare reads a dataset from: a download, the generated video, or a frames folder."""
    if dataset in ANOMALY_FRAMES_DIR:
        key = ANOMALY_FRAMES_DIR[dataset]
        if key not in config["anomaly"]:
            raise UserError(f"dataset {dataset} needs anomaly.{key} (its frames folder) in the config")
        return config["anomaly"][key]
    return f"{config['data_dir']}/raw/anomaly_{ANOMALY_SOURCE[dataset]}"


def anomaly_synth_args(config: dict[str, Any]) -> list[str]:
    """``anomaly-synth``'s size options from ``anomaly.synthetic_video``."""
    video = config["anomaly"].get("synthetic_video", {})
    return [arg for key, value in video.items() for arg in (f"--{key.replace('_', '-')}", str(value))]
