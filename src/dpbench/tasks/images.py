"""Image tasks for the sparse coders: classification on codes, supervised classification, reconstruction.

Per dataset and seed a dictionary ``D`` (``n_atoms`` atoms, Lasso weight ``lam``) is learned once on
the training rows (``images-dictionary``, :func:`dpbench.sparse.dictionary.learn_dictionary`). Then,
for each encoder and each depth ``t`` of the sweep (``layers``):

One job (``images-run``) per (dataset, model, seed) runs the tasks whose outputs it is given:

* unsupervised: ISTA/FISTA run ``t`` iterations untrained; the learned encoders are built
  with ``t`` layers from ``D`` and trained on the unsupervised Lasso loss of the training rows
  (:func:`dpbench.sparse.train.train_encoder`). From the test codes ``z`` we report

  - task ``reconstruction``: ``x_hat = D z`` mapped back to pixels in [0, 1]; ``mse``
    (``skimage.metrics.mean_squared_error``), ``psnr`` (``peak_signal_noise_ratio`` over the whole
    test set, i.e. from the mean MSE, ``data_range = 1``), ``ssim`` (``structural_similarity``,
    the mean over test images, ``data_range = 1``) and ``sparsity`` (fraction of non-zero code
    entries); the first 8 test images (or the reassembled test windows of ``sample_patches``) and
    their reconstructions at the deepest ``t`` are saved for the error-map figure;
  - task ``classification_unsupervised`` (labelled datasets): a scikit-learn ``LogisticRegression``
    (after ``StandardScaler``) fitted on the training codes; test ``accuracy``.

* supervised (task ``classification_supervised``): encoder with ``t`` layers plus a linear
  softmax head trained end to end (:func:`dpbench.sparse.train.train_supervised`); test
  ``accuracy``. ``sup_loss="sc_weight"``: cross-entropy + ``sc_weight`` x Lasso loss;
  ``sup_loss="authors"``: Lasso loss + 0.1 x cross-entropy, as SC2Net's code weighs it
  (``Lcod/lista_network.py``, ``_get_cost``, lines 117-134). For ISTA/FISTA only the head learns.

``learn_dictionary=True`` (trainable encoders only) learns the decoder ``D`` with the encoder, in
both trainings, as the SC2Net code does (its TF ``Lcod/SLSTM.py`` holds ``D`` as a trained variable,
line 48; its LISTA decodes with ``L`` times its trained encoder matrix, ``lista_network.py`` line 104):
``D`` starts from the learned dictionary, its atoms are kept at unit norm (projection after each
step), and the reconstruction uses the learned ``D``.

Training options (``images.train``): ``optimizer`` ``adam`` or ``adadelta`` (SC2Net's paper trains every
neural method with Adadelta); ``encoder_loss`` ``lasso`` (SC2Net's unsupervised loss, eq. 10, through the
model's decoder: ``D``, the learned one, or a tied one, :mod:`dpbench.sparse.decoder`) or ``codes``
(Gregor & LeCun's LISTA: regress ``fista_iters`` FISTA codes of ``D``; the SC2Net authors' LISTA with
``Zpflag=True`` regresses 1000 ISTA iterations).

Evaluation protocol (data parameter ``protocol``, :mod:`dpbench.images.protocols`): ``official``, or
``authors`` (the SC2Net authors' split, standardisation and classifier). Under ``authors`` the paper
evaluates both settings by a classifier on the codes ("we therefore evaluate the performance of
supervised variants of these methods in the same way"): classification_supervised's ``accuracy`` is
then the protocol's classifier on the codes of the encoder trained with labels, and the trained head's
own test accuracy is ``head_accuracy``. Every record carries the column ``protocol``.

Every depth is a separately trained network (same hyperparameters, same seed). Records carry a
``layers`` column; each job's meta holds its wall time and the training time of every depth. For
SC2Net-type encoders with learned gates the deepest network also records ``input_gate_mean`` and
``forget_gate_mean`` over the test inputs, one row per layer of that network (``layers`` = the layer),
in the reconstruction (unsupervised training) and classification_supervised results.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dpbench.checkpoint import StepProgress, TrainingCheckpoint
from dpbench.images.data import FEATURE_DATASETS, LABELLED_DATASETS, ImageData, load_image_data, resolve_data_params
from dpbench.images.protocols import SOLVERS, authors_accuracy
from dpbench.io import load_tensors, save_tensors
from dpbench.metrics import logistic_accuracy, reconstruction_metrics, sparsity
from dpbench.params import UserError, parse_params, with_defaults
from dpbench.results import params_hash, write_diverged, write_result
from dpbench.runtime import DivergenceError, resolve_device, run_metadata, seed_everything, synchronize
from dpbench.sparse import build_model, check_model
from dpbench.sparse.dictionary import learn_dictionary
from dpbench.sparse.sc2net import gate_records
from dpbench.sparse.train import LAYER_LOSSES, OPTIMIZERS, train_encoder, train_supervised

log = logging.getLogger(__name__)

DICT_DEFAULTS: dict[str, Any] = {
    "n_atoms": 100,  # K (SC2Net's code: 100)
    "lam": 0.1,  # Lasso weight (SC2Net's code: 0.1)
    "n_iter": 10,  # passes of MiniBatchDictionaryLearning
    "batch_size": 256,
    "max_samples": None,  # learn on a seed-dependent random subset of the training rows (None: all)
}

TRAIN_DEFAULTS: dict[str, Any] = {
    # unsupervised Lasso training of the learned encoders
    "epochs": 20,
    "batch_size": 128,
    "lr": 1e-3,
    "layer_loss": "final",
    # supervised (encoder + linear head) training
    "sup_epochs": 30,
    "sup_batch_size": 128,
    "sup_lr": 1e-3,
    "sc_weight": 0.01,
    # "sc_weight": cross-entropy + sc_weight x Lasso; "authors": Lasso + 0.1 x cross-entropy (SC2Net's code)
    "sup_loss": "sc_weight",
    # learn the decoder D with the encoder (trainable encoders only)
    "learn_dictionary": False,
    # logistic regression on the codes (protocol official)
    "logreg_C": 1.0,
    "logreg_max_iter": 1000,
    # protocol authors: its classifier trained as the authors' script ("adadelta") or to its optimum ("lbfgs")
    "logreg_solver": "adadelta",
    # "adam" | "adadelta" (SC2Net's paper), for both trainings
    "optimizer": "adam",
    # unsupervised training: "lasso" (SC2Net's loss, eq. 10) | "codes" (regress FISTA codes, Gregor & LeCun)
    "encoder_loss": "lasso",
    "fista_iters": 1000,
    # keyword options of the model's constructor (e.g. {"tied": true}, {"activation": "double_tanh"})
    "options": {},
}

ENCODER_LOSSES = ("lasso", "codes")
SUP_LOSSES = {"sc_weight": None, "authors": (0.1, 1.0)}  # name -> (ce_weight, sc_weight), None: (1, sc_weight)
N_SAMPLES = 8  # test images kept for the error-map figure
CHUNK = 4096  # rows encoded at once


def resolve_dict_params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Dictionary-learning parameters; unknown keys raise :class:`UserError` naming them."""
    return with_defaults("dictionary", DICT_DEFAULTS, overrides)


def resolve_train_params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Training parameters of one model; unknown keys raise :class:`UserError` naming them."""
    params = with_defaults("training", TRAIN_DEFAULTS, overrides)
    if params["layer_loss"] not in LAYER_LOSSES:
        raise UserError(f"training parameter 'layer_loss' must be one of {LAYER_LOSSES}, got {params['layer_loss']!r}")
    if not isinstance(params["options"], dict):
        raise UserError("training parameter 'options' must be a JSON object")
    if params["sup_loss"] not in SUP_LOSSES:
        raise UserError(f"training parameter 'sup_loss' must be one of {sorted(SUP_LOSSES)}, got {params['sup_loss']!r}")
    for key, allowed in (("optimizer", OPTIMIZERS), ("encoder_loss", ENCODER_LOSSES), ("logreg_solver", SOLVERS)):
        if params[key] not in allowed:
            raise UserError(f"training parameter {key!r} must be one of {allowed}, got {params[key]!r}")
    if not isinstance(params["learn_dictionary"], bool):
        raise UserError(f"training parameter 'learn_dictionary' must be true or false, got {params['learn_dictionary']!r}")
    return params


def loss_weights(params: dict) -> tuple[float, float]:
    """``(ce_weight, sc_weight)`` of the supervised loss named by ``params["sup_loss"]``."""
    return SUP_LOSSES[params["sup_loss"]] or (1.0, float(params["sc_weight"]))


# ---------------------------------------------------------------------------------------------------
# dictionary


def dictionary(dataset: str, prepared: str | None, data_params: dict, dict_params: dict, seed: int, output: str) -> None:
    """Learn and save the dictionary of ``dataset`` for ``seed``."""
    data_params = resolve_data_params(dataset, data_params)
    dict_params = resolve_dict_params(dict_params)
    seed_everything(seed)
    data = load_image_data(dataset, prepared, data_params)
    x = data.x_train
    if dict_params["max_samples"] and dict_params["max_samples"] < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[: dict_params["max_samples"]]
        x = x[idx]
    start = time.perf_counter()
    D = learn_dictionary(x, dict_params["n_atoms"], dict_params["lam"], seed=seed, n_iter=dict_params["n_iter"], batch_size=dict_params["batch_size"])
    wall = time.perf_counter() - start
    log.info("dictionary %s seed %d: %s atoms from %d rows in %.1f s", dataset, seed, D.shape[1], len(x), wall)
    meta = run_metadata(torch.device("cpu"), seed) | {"seconds": wall, "n_rows": len(x)}
    save_tensors(output, {
        "D": D,
        "lam": float(dict_params["lam"]),
        "dataset": dataset,
        "params_json": json.dumps({"data": data_params, "dictionary": dict_params}, sort_keys=True),
        "meta_json": json.dumps(meta),
    })


def _load_dictionary(path: str, dataset: str, data_params: dict) -> tuple[torch.Tensor, float, dict]:
    saved = load_tensors(path)
    stored = json.loads(saved["params_json"])
    # resolved again: a dictionary saved before a data parameter existed has that parameter's default
    if saved["dataset"] != dataset or resolve_data_params(dataset, stored["data"]) != data_params:
        raise UserError(f"dictionary {path} was learned for {saved['dataset']} with data parameters {stored['data']}, "
                        f"not for {dataset} with {data_params}")
    return saved["D"], float(saved["lam"]), stored["dictionary"]


# ---------------------------------------------------------------------------------------------------
# encoders


@torch.no_grad()
def encode(model: nn.Module, x: torch.Tensor, n_layers: int | None = None) -> torch.Tensor:
    """Codes of the rows of ``x`` (no gradient, in chunks of rows)."""
    model.eval()
    return torch.cat([model(x[i : i + CHUNK], n_layers=n_layers) for i in range(0, len(x), CHUNK)])


def _built(name: str, D: torch.Tensor, lam: float, n_layers: int, params: dict, device: torch.device) -> nn.Module:
    model = build_model(name, D, lam, n_layers, **params["options"]).to(device)
    if params["learn_dictionary"] and not model.trainable:
        raise UserError(f"learn_dictionary is for the learned encoders; {name!r} has nothing to learn")
    if params["learn_dictionary"] and getattr(model, "tied_decoder", False):
        raise UserError(f"{name!r} decodes with its own input matrix (decoder tied): learn_dictionary would add a second decoder")
    if params["encoder_loss"] == "codes" and getattr(model, "tied_decoder", False):
        raise UserError(f"{name!r} is trained through its tied decoder (SC2Net's framework): encoder_loss 'codes' has no decoder")
    return model


def trained_encoder(
    name: str, D: torch.Tensor, lam: float, n_layers: int, x_train: torch.Tensor, params: dict, seed: int, device: torch.device,
    checkpoint: TrainingCheckpoint | None = None,
) -> tuple[nn.Module, list[float], torch.Tensor]:
    """Encoder ``name`` with ``n_layers`` layers, trained on the unsupervised Lasso loss when trainable;
    returns it, its losses and the decoder (``D``, or the one learned with it)."""
    seed_everything(seed, device)
    model = _built(name, D, lam, n_layers, params, device)
    if not model.trainable:
        return model, [], D
    result = train_encoder(
        model, x_train, D.to(device), lam, mode="unsupervised" if params["encoder_loss"] == "lasso" else "regress",
        epochs=params["epochs"], batch_size=params["batch_size"], lr=params["lr"], learn_dictionary=params["learn_dictionary"],
        layer_loss=params["layer_loss"], generator=torch.Generator().manual_seed(seed), device=device,
        log_every=max(1, params["epochs"] // 4), fista_iters=params["fista_iters"], checkpoint=checkpoint,
        optimizer=params["optimizer"],
    )
    return model, result.losses, result.D


# ---------------------------------------------------------------------------------------------------
# metrics


def code_accuracy(data: ImageData, z_train: torch.Tensor, z_test: torch.Tensor, params: dict, seed: int) -> float:
    """Test accuracy of the protocol's classifier on the codes: ``StandardScaler + LogisticRegression``
    (``official``) or the authors' softmax layer (``authors``, :func:`dpbench.images.protocols.authors_accuracy`)."""
    arrays = [t.cpu().numpy() for t in (z_train, data.y_train, z_test, data.y_test)]
    if data.protocol == "authors":
        return authors_accuracy(*arrays, seed=seed, solver=params["logreg_solver"])
    return logistic_accuracy(*arrays, params["logreg_C"], params["logreg_max_iter"], seed)


# ---------------------------------------------------------------------------------------------------
# jobs


def _sweep(progress: StepProgress, part: str, layers: list[int], depth: Callable[[int], dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """``depth(t)`` for every depth ``t``, each saved in ``progress`` as it ends and skipped when saved
    already; a divergence names the depth."""
    for t in sorted(layers):
        step = f"{part}-t{t}"
        if step not in progress.done:
            try:
                progress.record(step, depth(t))
            except DivergenceError as err:
                raise DivergenceError(f"depth t={t}: {err}") from err
    return {t: progress.done[f"{part}-t{t}"] for t in sorted(layers)}


def run_unsupervised(data: ImageData, D: torch.Tensor, lam: float, model_name: str, layers: list[int], params: dict,
                     seed: int, device: torch.device, classify: bool, progress: StepProgress | None = None) -> dict[str, Any]:
    """Train/evaluate ``model_name`` at every depth; returns records per task, samples and timings.

    Each finished depth is saved in ``progress`` and skipped when the job is restarted."""
    progress = progress or StepProgress(None)
    D = D.to(device)

    def depth(t: int) -> dict[str, Any]:
        start = time.perf_counter()
        # ISTA / FISTA come back untrained (t iterations of the solver, no losses)
        model, losses, decoder = trained_encoder(model_name, D, lam, t, data.x_train, params, seed, device,
                                                 progress.checkpoint(f"unsupervised-t{t}"))
        synchronize(device)
        seconds = time.perf_counter() - start
        z_test = encode(model, data.x_test, t)
        original, rebuilt = data.to_images(data.x_test), data.to_images(z_test @ decoder.T)
        metrics = reconstruction_metrics(original, rebuilt) | {"sparsity": sparsity(z_test.cpu().numpy())}
        out: dict[str, Any] = {"reconstruction": [{"metric": k, "value": v, "layers": t} for k, v in metrics.items()],
                               "classification": [], "seconds": seconds, "losses": losses}
        if t == max(layers):
            out["reconstruction"] += gate_records(model, data.x_test)
        if classify:
            acc = code_accuracy(data, encode(model, data.x_train, t), z_test, params, seed)
            out["classification"] = [{"metric": "accuracy", "value": acc, "layers": t}]
        log.info("%s t=%d: %s%s (%.1f s)", model_name, t, {k: round(v, 4) for k, v in metrics.items()},
                 f", accuracy {acc:.4f}" if classify else "", time.perf_counter() - start)
        if t == max(layers):
            out["samples"] = {"original": torch.as_tensor(original[:N_SAMPLES], dtype=torch.float32),
                              "reconstruction": torch.as_tensor(rebuilt[:N_SAMPLES], dtype=torch.float32),
                              "layers": t, "psnr": metrics["psnr"]}
        return out

    outs = _sweep(progress, "unsupervised", layers, depth)
    return {"reconstruction": [r for out in outs.values() for r in out["reconstruction"]],
            "classification": [r for out in outs.values() for r in out["classification"]],
            "samples": outs[max(layers)]["samples"],
            "train_seconds": {t: out["seconds"] for t, out in outs.items()},
            "train_losses": {t: out["losses"] for t, out in outs.items()}}


def run_supervised(data: ImageData, D: torch.Tensor, lam: float, model_name: str, layers: list[int], params: dict,
                   seed: int, device: torch.device, progress: StepProgress | None = None) -> dict[str, Any]:
    """Encoder + linear softmax head trained end to end at every depth; test accuracy per depth.

    Each finished depth is saved in ``progress`` and skipped when the job is restarted."""
    if not data.labelled:
        raise UserError("classification_supervised needs a labelled dataset")
    progress = progress or StepProgress(None)
    D = D.to(device)

    def depth(t: int) -> dict[str, Any]:
        seed_everything(seed, device)
        start = time.perf_counter()
        model = _built(model_name, D, lam, t, params, device)
        head = nn.Linear(model.n_atoms, data.n_classes).to(device)
        ce_weight, sc_weight = loss_weights(params)
        result = train_supervised(
            model, head, data.x_train, data.y_train, D, lam, sc_weight=sc_weight, ce_weight=ce_weight,
            learn_dictionary=params["learn_dictionary"], epochs=params["sup_epochs"], batch_size=params["sup_batch_size"],
            lr=params["sup_lr"], generator=torch.Generator().manual_seed(seed), device=device,
            log_every=max(1, params["sup_epochs"] // 4), checkpoint=progress.checkpoint(f"supervised-t{t}"),
            optimizer=params["optimizer"],
        )
        synchronize(device)
        seconds = time.perf_counter() - start
        z_test = encode(model, data.x_test, t)
        with torch.no_grad():
            logits = head(z_test)
        acc = float((logits.argmax(1) == data.y_test).float().mean())
        log.info("%s+head t=%d: accuracy %.4f (%.1f s)", model_name, t, acc, seconds)
        records = [{"metric": "accuracy", "value": acc, "layers": t}]
        if data.protocol == "authors":  # the paper scores the supervised codes with the same classifier
            codes = code_accuracy(data, encode(model, data.x_train, t), z_test, params, seed)
            log.info("%s+head t=%d: classifier on the codes %.4f", model_name, t, codes)
            records = [{"metric": "accuracy", "value": codes, "layers": t}, {"metric": "head_accuracy", "value": acc, "layers": t}]
        if t == max(layers):
            records += gate_records(model, data.x_test)
        return {"records": records, "seconds": seconds, "losses": result.losses}

    outs = _sweep(progress, "supervised", layers, depth)
    return {"records": [r for out in outs.values() for r in out["records"]],
            "train_seconds": {t: out["seconds"] for t, out in outs.items()},
            "train_losses": {t: out["losses"] for t, out in outs.items()}}


def _job_setup(dataset: str, prepared: str | None, dictionary_path: str, model: str, data_params: dict, params: dict, device_name: str):
    check_model(model, task="images")
    data_params = resolve_data_params(dataset, data_params)
    params = resolve_train_params(params)
    device = resolve_device(device_name)
    D, lam, dict_params = _load_dictionary(dictionary_path, dataset, data_params)
    data = load_image_data(dataset, prepared, data_params, device)
    return data, D, lam, dict_params, data_params, params, device


def run_job(args: argparse.Namespace) -> None:
    """One (dataset, model, seed) job: the tasks whose output files are given, over the depth sweep.

    Each finished depth is saved next to the outputs (``images-run.progress``, with the training
    checkpoint of the depth in progress), so a killed job resumes where it stopped. When training
    diverges, the part it belongs to (unsupervised: reconstruction and code classification;
    supervised) is recorded as diverged and the other part still runs.
    """
    start = time.perf_counter()
    layers = _parse_layers(args.layers)
    unsupervised = args.reconstruction_output or args.classification_output
    if bool(args.reconstruction_output) != bool(args.samples_output):
        raise UserError("--reconstruction-output and --samples-output go together")
    if not (unsupervised or args.supervised_output):
        raise UserError("nothing to do: give --reconstruction-output/--samples-output, --classification-output or --supervised-output")
    if args.reconstruction_output and args.dataset in FEATURE_DATASETS:
        raise UserError(f"dataset {args.dataset!r} holds CNN features, not images: it has no reconstruction task "
                        "(leave reconstruction out of images.tasks)")
    data, D, lam, dict_params, data_params, params, device = _job_setup(
        args.dataset, args.prepared, args.dictionary, args.model, parse_params(args.data_params), parse_params(args.params), args.device)
    if (args.classification_output or args.supervised_output) and not data.labelled:
        raise UserError(f"dataset {args.dataset!r} has no labels: it supports the reconstruction task only")
    all_params = {"model": params, "data": data_params, "dictionary": dict_params, "layers": layers, "encoder": args.model}
    ident = {"dataset": args.dataset, "model": args.label or args.model, "seed": args.seed}
    first_output = args.reconstruction_output or args.classification_output or args.supervised_output
    progress = StepProgress(Path(first_output).with_name("images-run.progress"), params_hash({
        **ident, "params": all_params, "classify": bool(args.classification_output), "device": device.type}))
    timings: dict[str, Any] = {}
    results: list[tuple[str, str, list]] = []
    diverged: list[tuple[str, str, DivergenceError]] = []
    if unsupervised:
        outputs = [(args.reconstruction_output, "reconstruction"), (args.classification_output, "classification_unsupervised")]
        try:
            out = run_unsupervised(data, D, lam, args.model, layers, params, args.seed, device, bool(args.classification_output), progress)
        except DivergenceError as err:
            diverged += [(path, task, err) for path, task in outputs if path]
        else:
            timings["unsupervised"] = {"train_seconds": out["train_seconds"], "train_losses": out["train_losses"]}
            if args.reconstruction_output:
                save_tensors(args.samples_output, out["samples"])
            records = {"reconstruction": out["reconstruction"], "classification_unsupervised": out["classification"]}
            results += [(path, task, records[task]) for path, task in outputs if path]
    if args.supervised_output:
        try:
            out = run_supervised(data, D, lam, args.model, layers, params, args.seed, device, progress)
        except DivergenceError as err:
            diverged.append((args.supervised_output, "classification_supervised", err))
        else:
            timings["supervised"] = {"train_seconds": out["train_seconds"], "train_losses": out["train_losses"]}
            results.append((args.supervised_output, "classification_supervised", out["records"]))
    meta = run_metadata(device, args.seed) | {"wall_seconds": time.perf_counter() - start, "timings": timings,
                                              "n_train": len(data.x_train), "n_test": len(data.x_test)}
    for path, task, err in diverged:
        message = write_diverged(path, task=task, **ident, params=all_params, error=err)
        if task == "reconstruction":
            save_tensors(args.samples_output, {"status": "diverged", "message": message})
    for path, task, records in results:
        records = [{**r, "protocol": data_params["protocol"]} for r in records]
        write_result(path, task=task, **ident, records=records, params=all_params, meta=meta)
    progress.discard()


def _parse_layers(text: str) -> list[int]:
    try:
        layers = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError as err:
        raise UserError(f"--layers must be comma-separated integers, got {text!r}") from err
    if not layers or layers[0] < 1:
        raise UserError(f"--layers must list integers >= 1, got {text!r}")
    return layers


# ---------------------------------------------------------------------------------------------------
# error-map figure


# ---------------------------------------------------------------------------------------------------
# SC2Net's CIFAR-10 features


def cnn_features_job(args: argparse.Namespace) -> None:
    """Train the Keras ``cifar10_cnn.py`` network on the prepared CIFAR-10's training images and save the
    features of all 60,000 images (:mod:`dpbench.images.cifar_cnn`); resumes from ``<output>.ckpt``."""
    from dpbench.data.datasets import load_prepared
    from dpbench.images.cifar_cnn import CNN_DEFAULTS, LAYERS, extract, train_cnn

    params = with_defaults("cnn", CNN_DEFAULTS, parse_params(args.params))
    if params["layer"] not in LAYERS:
        raise UserError(f"cnn parameter 'layer' must be one of {sorted(LAYERS)}, got {params['layer']!r}")
    data = load_prepared(args.prepared)
    if tuple(data.images.shape[1:]) != (3, 32, 32):
        raise UserError(f"{args.prepared}: expected 32x32 colour images (CIFAR-10), got shape {tuple(data.images.shape[1:])}")
    device = resolve_device(args.device)
    seed_everything(args.seed, device)
    images = data.images.to(torch.float32) / float(data.scale)
    train = torch.as_tensor(data.split.numpy() == 0)
    start = time.perf_counter()
    checkpoint = TrainingCheckpoint(f"{args.output}.ckpt", fingerprint=params_hash({"params": params, "seed": args.seed}))
    net, losses = train_cnn(images[train], data.labels[train].to(torch.int64), seed=args.seed, device=device,
                            params=params, checkpoint=checkpoint)
    train_seconds = time.perf_counter() - start
    features = extract(net, images, params["layer"], device)
    with torch.no_grad():
        logits = torch.cat([net(images[~train][i : i + 1000].to(device)).cpu() for i in range(0, int((~train).sum()), 1000)])
    test_acc = float((logits.argmax(1) == data.labels[~train]).float().mean())
    log.info("cifar10 cnn: test accuracy of the network itself %.4f; %s features %s", test_acc, params["layer"], tuple(features.shape))
    meta = run_metadata(device, args.seed) | {"train_seconds": train_seconds, "cnn_test_accuracy": test_acc}
    save_tensors(args.output, {"features": features, "labels": data.labels, "split": data.split, "layer": params["layer"],
                               "losses": torch.tensor(losses), "params_json": json.dumps(params, sort_keys=True),
                               "meta_json": json.dumps(meta)})
    checkpoint.discard()


# ---------------------------------------------------------------------------------------------------
# CLI


def limit_threads(n: int) -> None:
    """Use ``n`` threads in torch and in the BLAS/OpenMP pools of NumPy, SciPy and scikit-learn.

    Small problems on a shared CPU run far slower with one thread per core in every pool (a
    logistic regression on 1,200 codes: 3.6 s instead of 0.06 s), so the rules pass their ``threads``.
    """
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


def _with_threads(func):
    def run(args: argparse.Namespace) -> None:
        limit_threads(args.threads)
        func(args)

    return run


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=1, help="CPU threads (torch, BLAS, OpenMP)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--prepared", help="prepared dataset file (not for sample_patches)")
    p.add_argument("--data-params", default="{}", help="data parameters as a JSON object")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--device", default="auto")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("images-dictionary", help="learn the dictionary of an image dataset for one seed")
    _common_args(p)
    p.add_argument("--dict-params", default="{}", help="n_atoms, lam, n_iter, batch_size, max_samples (JSON)")
    p.add_argument("--output", required=True)
    p.set_defaults(func=_with_threads(
        lambda a: dictionary(a.dataset, a.prepared, parse_params(a.data_params), parse_params(a.dict_params), a.seed, a.output)))

    p = sub.add_parser("images-run", help="one (dataset, model, seed) job of the image tasks over the depth sweep")
    _common_args(p)
    p.add_argument("--dictionary", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--label", help="the model's name in the results (a variant of --model; default: --model)")
    p.add_argument("--layers", required=True, help="comma-separated depths, e.g. 1,3,5,10")
    p.add_argument("--params", default="{}", help="training parameters as a JSON object")
    p.add_argument("--reconstruction-output", help="result file of the reconstruction task")
    p.add_argument("--samples-output", help="first test images and their reconstructions (for the error-map figure)")
    p.add_argument("--classification-output", help="result file of classification_unsupervised (labelled datasets)")
    p.add_argument("--supervised-output", help="result file of classification_supervised (labelled datasets)")
    p.set_defaults(func=_with_threads(run_job))

    p = sub.add_parser("images-cnn-features", help="SC2Net's CIFAR-10: train the Keras cifar10_cnn.py network, save its features")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (torch, BLAS, OpenMP)")
    p.add_argument("--prepared", required=True, help="the prepared cifar10 file")
    p.add_argument("--params", default="{}", help="epochs, steps_per_epoch, batch_size, lr, layer, rotation, shift, zoom (JSON)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--output", required=True)
    p.set_defaults(func=_with_threads(cnn_features_job))



__all__ = ["LABELLED_DATASETS", "reconstruction_metrics", "run_supervised", "run_unsupervised"]
