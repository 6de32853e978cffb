"""One coder on a features file of the AnomalyNet or Lu et al. pipeline: train on normal clips, score test frames.

The features file (``anomaly-features``: :func:`dpbench.anomaly.anomalynet.compute_features` or
:func:`dpbench.anomaly.lu2013.compute_features`) holds every clip's vectors, computed once per
(dataset, variant, seed) and shared by the dictionary job and every coder of that seed. Here
(:mod:`dpbench.anomaly.coding` for the coding block):

* :func:`dictionary` learns the dictionary every coder of the seed starts from;
* :func:`run_coded` trains one coder until the held-out normal clips stop improving, scores each
  test vector, turns the vectors' costs into one score per frame (AnomalyNet: the windows' patch
  errors combined and credited to their centre frames; Lu: the region map smoothed and pooled),
  smooths by ``smooth`` frames and evaluates as the cuboids pipeline does
  (:func:`dpbench.anomaly.scoring.frame_metrics`: ``auc``/``eer`` raw, ``auc_video_norm``/``eer_video_norm``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import numpy as np
import torch

from dpbench.anomaly import anomalynet, lu2013, motion
from dpbench.anomaly.coding import CodingSet, coding_set, vector_costs
from dpbench.anomaly.scoring import AnomalyResult, check_regime, clip_frames, feature_params, frames_and_metrics, n_atoms
from dpbench.checkpoint import TrainingCheckpoint

log = logging.getLogger(__name__)


def load_features(path: str | os.PathLike[str], dataset: str, seed: int, p: dict[str, Any]) -> dict[str, Any]:
    """A features file written for ``dataset``, ``seed`` and the feature parameters of ``p``; any other is refused, naming the difference."""
    from dpbench.io import load_for_setting

    return load_for_setting(path, dataset, seed, feature_params(p), made="computed", remedy="rerun anomaly-features")


def _coding_set(features: dict[str, Any], p: dict[str, Any], generator: torch.Generator) -> CodingSet:
    held_out = [name in features["val_clips"] for name in features["train_names"]]
    return coding_set(features["train"], held_out, p, generator)


def dictionary(features: dict[str, Any], p: dict[str, Any], seed: int) -> torch.Tensor:
    """The dictionary every coder of ``seed`` starts from, learned on the training vectors that :func:`run_coded` draws."""
    from dpbench.runtime import seed_everything
    from dpbench.sparse.dictionary import learn_dictionary

    cs = _coding_set(features, p, seed_everything(seed))
    return learn_dictionary(cs.fit, n_atoms(p, cs.fit.shape[1]), p["lam"], seed=seed, n_iter=p["dict_iter"])


def _window_frame_scores(costs: torch.Tensor, features: dict[str, Any], i: int, n_frames: int, p: dict[str, Any]) -> np.ndarray:
    """The frame scores of test clip ``i`` from its vectors' costs (per pipeline)."""
    if features["pipeline"] == "anomalynet":
        windows = anomalynet.window_scores(costs.reshape(features["test"][i].shape[:2]), p)
        return motion.frame_scores(windows, features["test_centres"][i].numpy(), n_frames)
    return lu2013.frame_scores(costs, features["test_locations"][i], n_frames, features["grid"], p["lu"])


def run_coded(
    features: dict[str, Any],
    labels: list[np.ndarray],
    model_name: str,
    p: dict[str, Any],
    *,
    seed: int,
    device: torch.device,
    checkpoint: TrainingCheckpoint | None = None,
    dictionary_tensor: torch.Tensor | None = None,
) -> AnomalyResult:
    """Train ``model_name`` on the features' normal training vectors and score the test clips (``labels``: per-frame labels)."""
    from dpbench.anomaly.training import train_to_convergence
    from dpbench.runtime import seed_everything
    from dpbench.sparse import build_model
    from dpbench.sparse.dictionary import learn_dictionary

    generator = seed_everything(seed, device)
    timings: dict[str, float] = {}
    info_features = json.loads(features["info_json"])
    timings.update({f"stage_{k}": v for k, v in info_features.get("timings", {}).items()})
    cs = _coding_set(features, p, generator)
    dim = cs.fit.shape[1]
    check_regime(model_name, n_atoms(p, dim), dim)
    D = dictionary_tensor
    if D is None:
        t0 = time.perf_counter()
        D = learn_dictionary(cs.fit, n_atoms(p, dim), p["lam"], seed=seed, n_iter=p["dict_iter"])
        timings["dictionary_s"] = time.perf_counter() - t0
    model = build_model(model_name, D, p["lam"], p["n_layers"], **p["model_options"])
    conv = None
    t0 = time.perf_counter()
    if model.trainable and p["max_steps"] > 0:
        conv = train_to_convergence(
            model, cs.fit, cs.val, D, p["lam"], max_steps=p["max_steps"], eval_every=p["eval_every"], patience=p["patience"],
            min_delta=p["min_delta"], batch_size=p["batch_size"], lr=p["lr"], layer_loss=p["layer_loss"], generator=generator,
            device=device, checkpoint=checkpoint,
        )
    timings["training_s"] = time.perf_counter() - t0
    model.to(device).eval()
    D_dev = model.D if hasattr(model, "D") else D.to(device)

    rows, encode_time, n_frames_total = [], 0.0, 0
    t_score = time.perf_counter()
    with torch.no_grad():
        warm = cs.fit[: min(256, cs.fit.shape[0])].to(device)  # allocations outside the timed region
        model(warm)
        for i, (name, y) in enumerate(zip(features["test_names"], labels)):
            x = features["test"][i]
            flat = cs.normaliser(x.reshape(-1, x.shape[-1]).float())
            costs, seconds = vector_costs(model, flat, D_dev, p, device) if flat.shape[0] else (torch.zeros(0, dtype=torch.float64), 0.0)
            encode_time += seconds
            n_frames_total += len(y)
            raw = _window_frame_scores(costs, features, i, len(y), p)
            rows.append(clip_frames(name, raw, y, p["smooth"]))
    timings["scoring_s"] = time.perf_counter() - t_score
    timings["encode_s"] = encode_time
    frames, metrics = frames_and_metrics(rows, n_frames_total, encode_time, conv.steps if conv else 0)
    info = {
        "pipeline": features["pipeline"], "features": info_features, "val_clips": list(features["val_clips"]),
        "n_train_vectors": int(cs.fit.shape[0]), "n_val_vectors": int(cs.val.shape[0]), "vector_dim": int(dim),
        "n_atoms": int(D.shape[1]), "n_test_frames": int(len(frames)), "normaliser": cs.normaliser.state(),
        "trainable": bool(model.trainable), "steps": int(conv.steps if conv else 0), "best_step": int(conv.best_step if conv else 0),
        "stopped": conv.stopped if conv else "not trained", "val_losses": conv.val_losses if conv else [],
    }
    log.info("%s on %s (%s): AUC %.4f (video-norm %.4f), EER %.4f, %.0f frames/s (encoder), %d steps", model_name,
             features["dataset"], features["pipeline"], metrics["auc"], metrics["auc_video_norm"], metrics["eer"], metrics["fps"], info["steps"])
    return AnomalyResult(frames=frames, metrics=metrics, timings=timings, train_losses=conv.train_losses if conv else [], info=info)


def run_floor(data: Any, p: dict[str, Any]) -> AnomalyResult:
    """The motion-energy floor (:mod:`dpbench.anomaly.floor`) on ``data``'s test clips."""
    from dpbench.anomaly.floor import MotionEnergy

    detector = MotionEnergy.from_params(p["floor"])
    raw_scores, seconds = detector.score_clips(data.test)
    rows = [clip_frames(name, raw, y, detector.smooth) for name, raw, y in zip(data.test_names, raw_scores, data.labels)]
    frames, metrics = frames_and_metrics(rows, sum(len(y) for y in data.labels), seconds, 0)
    info = {"pipeline": "floor", "n_test_frames": int(len(frames)), "trainable": False, "steps": 0, "stopped": "not trained"}
    return AnomalyResult(frames=frames, metrics=metrics, timings={"scoring_s": seconds}, info=info)
