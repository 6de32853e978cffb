"""Sparse-coding anomaly detection: train on normal cuboids, score test frames, compute AUC/EER/FPS.

Method (after Lu, Shi & Jia, "Abnormal event detection at 150 FPS", ICCV 2013, and the
sparse-coding baselines of SC2Net / sRNN-AE):

1. cuboids of frame differences on a grid (:mod:`dpbench.anomaly.features`), from normal
   training clips only; the cuboids with the least motion (below the ``motion_quantile`` of their
   energy) are dropped and at most ``max_train_patches`` are kept at random;
2. a dictionary is learned on them (:func:`dpbench.sparse.dictionary.learn_dictionary`), once per
   dataset and seed (:func:`anomaly_dictionary`: every model of a seed shares it); ISTA and FISTA
   use it as is, the learned encoders start from it and are trained with the unsupervised Lasso
   loss (:func:`dpbench.sparse.train.train_encoder`);
3. each test cuboid scores ``1/2 ||x - D z||^2 + lam ||z||_1``; a frame scores the ``max`` (or
   ``mean``) over its cuboids; scores are smoothed by a centred moving average of ``smooth``
   frames and min-max normalised per video;
4. frame-level ROC AUC and EER are pooled over all test frames; the throughput is the number of
   test frames divided by the time spent in the encoder's forward pass.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from dpbench.anomaly.datasets import AnomalyData
from dpbench.anomaly.features import FEATURE_KINDS, NORMALISATIONS, Normalizer, iter_clip_features, pad_frames
from dpbench.checkpoint import TrainingCheckpoint
from dpbench.metrics import equal_error_rate, roc_auc
from dpbench.progress import progress

log = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {
    "scale": 1.0,  # resize factor applied to the frames before feature extraction
    "feature": "diff",  # diff | absdiff | grad (see features.motion_volume)
    "patch": 8,  # cuboid side in pixels
    "depth": 2,  # cuboid length in frame differences
    "stride": 4,  # grid step in pixels
    "normalisation": "global",  # global | l2 | none
    "motion_quantile": 0.5,  # drop training cuboids below this quantile of motion energy
    "max_train_patches": 10000,
    "n_atoms": 64,
    "lam": 0.3,
    "n_layers": 16,
    "dict_iter": 5,  # passes of dictionary learning
    "epochs": 5,
    "batch_size": 256,
    "lr": 1e-3,
    "layer_loss": "final",  # final | mean
    "model_options": {},  # extra keyword arguments of dpbench.sparse.build_model
    "pool": "max",  # max | mean over the cuboids of a frame
    "smooth": 5,  # moving-average window in frames (1: none)
    "encode_batch": 8192,
}


# the parameters the training cuboids and the dictionary depend on
DICTIONARY_KEYS = ("scale", "feature", "patch", "depth", "stride", "normalisation", "motion_quantile",
                   "max_train_patches", "n_atoms", "lam", "dict_iter")


def resolve_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overridden by ``params``; an unknown key or bad value raises ValueError naming it."""
    from dpbench.params import with_defaults

    out = with_defaults("anomaly", DEFAULT_PARAMS, params)
    if out["feature"] not in FEATURE_KINDS:
        raise ValueError(f"parameter 'feature' must be one of {FEATURE_KINDS}, got {out['feature']!r}")
    if out["normalisation"] not in NORMALISATIONS:
        raise ValueError(f"parameter 'normalisation' must be one of {NORMALISATIONS}, got {out['normalisation']!r}")
    if out["pool"] not in ("max", "mean"):
        raise ValueError(f"parameter 'pool' must be 'max' or 'mean', got {out['pool']!r}")
    for key in ("patch", "depth", "stride", "n_atoms", "n_layers", "dict_iter", "batch_size", "max_train_patches", "smooth", "encode_batch"):
        if not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f"parameter {key!r} must be a positive integer, got {out[key]!r}")
    if not isinstance(out["epochs"], int) or out["epochs"] < 0:
        raise ValueError(f"parameter 'epochs' must be a non-negative integer, got {out['epochs']!r}")
    if not 0.0 <= float(out["motion_quantile"]) < 1.0:
        raise ValueError(f"parameter 'motion_quantile' must be in [0, 1), got {out['motion_quantile']!r}")
    if not isinstance(out["model_options"], dict):
        raise ValueError("parameter 'model_options' must be a mapping")
    return out


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average with edge values repeated (``window`` 1 returns ``x``)."""
    x = np.asarray(x, dtype=np.float64)
    if window <= 1 or x.size == 0:
        return x.copy()
    left = (window - 1) // 2
    padded = np.pad(x, (left, window - 1 - left), mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def minmax(x: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1] (a constant series becomes zeros)."""
    x = np.asarray(x, dtype=np.float64)
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def pooled_frame_scores(
    model: torch.nn.Module, cub: torch.Tensor, D: torch.Tensor, p: dict[str, Any], device: torch.device
) -> tuple[np.ndarray, float]:
    """Score normalised cuboids ``(frames, patches, dim)``: the sparse reconstruction cost of each
    patch, pooled per frame (max or mean), and the seconds spent in the encoder alone."""
    from dpbench.runtime import synchronize
    from dpbench.sparse.base import lasso_cost

    n_t, n_p, dim = cub.shape
    flat = cub.reshape(-1, dim).to(device)
    scores = torch.empty(flat.shape[0], dtype=torch.float64)
    encode_time = 0.0
    for start in range(0, flat.shape[0], p["encode_batch"]):
        xb = flat[start : start + p["encode_batch"]]
        synchronize(device)
        t0 = time.perf_counter()
        z = model(xb)
        synchronize(device)
        encode_time += time.perf_counter() - t0
        scores[start : start + xb.shape[0]] = lasso_cost(xb, z, D, p["lam"]).double().cpu()
    per = scores.reshape(n_t, n_p)
    return (per.max(dim=1).values if p["pool"] == "max" else per.mean(dim=1)).numpy(), encode_time


@dataclass
class AnomalyResult:
    auc: float
    eer: float
    fps: float
    frames: pd.DataFrame  # clip, frame (1-based), score, raw_score, label
    timings: dict[str, float] = field(default_factory=dict)
    train_losses: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        return [
            {"metric": "auc", "value": self.auc},
            {"metric": "eer", "value": self.eer},
            {"metric": "fps", "value": self.fps},
        ]


def training_cuboids(data: AnomalyData, p: dict[str, Any], generator: torch.Generator) -> torch.Tensor:
    """Normal training cuboids (flattened), the low-motion ones dropped, subsampled.

    Each clip first contributes a random subset of its cuboids (enough to leave
    ``max_train_patches`` after the motion filter), so memory stays bounded on long videos.
    """
    q = float(p["motion_quantile"])
    per_clip = int(np.ceil(2 * p["max_train_patches"] / (1 - q) / max(len(data.train), 1)))
    feats = []
    for clip in progress(data.train, "training cuboids (clips)"):
        cubs = torch.cat([
            c.flatten(0, 1)
            for c in iter_clip_features(clip, scale=p["scale"], kind=p["feature"], patch=p["patch"], depth=p["depth"], stride=p["stride"])
        ])
        if cubs.shape[0] > per_clip:
            cubs = cubs[torch.randperm(cubs.shape[0], generator=generator)[:per_clip]]
        feats.append(cubs)
    x = torch.cat(feats)
    energy = x.pow(2).sum(dim=-1)
    if q > 0:
        sample = energy[torch.randperm(energy.numel(), generator=generator)[:100000]]
        x = x[energy > torch.quantile(sample, q)]
    if x.shape[0] == 0:
        raise ValueError("no training cuboid has any motion: the training clips are static")
    if x.shape[0] > p["max_train_patches"]:
        x = x[torch.randperm(x.shape[0], generator=generator)[: p["max_train_patches"]]]
    return x


def _training_set(data: AnomalyData, p: dict[str, Any], generator: torch.Generator) -> tuple[torch.Tensor, Normalizer]:
    """The normalised training cuboids and their normaliser."""
    x_raw = training_cuboids(data, p, generator)
    norm = Normalizer(p["normalisation"]).fit(x_raw)
    return norm(x_raw), norm


def dictionary_params(p: dict[str, Any]) -> dict[str, Any]:
    """The resolved parameters ``p`` that the training cuboids and the dictionary depend on."""
    return {k: p[k] for k in DICTIONARY_KEYS}


def _learn_dictionary(x_train: torch.Tensor, p: dict[str, Any], seed: int) -> torch.Tensor:
    from dpbench.sparse.dictionary import learn_dictionary

    return learn_dictionary(x_train, p["n_atoms"], p["lam"], seed=seed, n_iter=p["dict_iter"])


def anomaly_dictionary(data: AnomalyData, params: dict[str, Any] | None, seed: int) -> torch.Tensor:
    """The dictionary that every model of ``seed`` starts from, learned on ``data``'s training cuboids
    (drawn as :func:`run_anomaly` draws them, so that both see the same cuboids)."""
    from dpbench.runtime import seed_everything

    p = resolve_params(params)
    x_train, _ = _training_set(data, p, seed_everything(seed))
    return _learn_dictionary(x_train, p, seed)


def run_anomaly(
    data: AnomalyData,
    model_name: str,
    params: dict[str, Any] | None,
    *,
    seed: int,
    device: torch.device,
    checkpoint: TrainingCheckpoint | None = None,
    dictionary: torch.Tensor | None = None,
) -> AnomalyResult:
    """Train ``model_name`` on the normal clips of ``data`` and score its test clips.

    ``dictionary``: the one :func:`anomaly_dictionary` gives for the same parameters and seed
    (learned here when None). Training resumes from ``checkpoint`` when one is saved."""
    from dpbench.runtime import seed_everything, synchronize
    from dpbench.sparse import build_model
    from dpbench.sparse.base import lasso_cost
    from dpbench.sparse.train import train_encoder

    p = resolve_params(params)
    generator = seed_everything(seed, device)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    x_train, norm = _training_set(data, p, generator)
    timings["features_train_s"] = time.perf_counter() - t0

    D = dictionary
    if D is None:
        t0 = time.perf_counter()
        D = _learn_dictionary(x_train, p, seed)
        timings["dictionary_s"] = time.perf_counter() - t0

    model = build_model(model_name, D, p["lam"], p["n_layers"], **p["model_options"])
    losses: list[float] = []
    t0 = time.perf_counter()
    if model.trainable and p["epochs"] > 0:
        result = train_encoder(
            model, x_train, D, p["lam"], mode="unsupervised", epochs=p["epochs"], batch_size=p["batch_size"],
            lr=p["lr"], layer_loss=p["layer_loss"], generator=generator, device=device, checkpoint=checkpoint,
        )
        losses = list(result.losses)
    timings["training_s"] = time.perf_counter() - t0
    model.to(device).eval()
    D_dev = model.D if hasattr(model, "D") else D.to(device)

    rows = []
    encode_time = 0.0
    n_frames_total = 0
    t_score = time.perf_counter()
    with torch.no_grad():
        # warm-up (allocations, CUDA kernels) outside the timed region
        warm = x_train[: min(256, x_train.shape[0])].to(device)
        lasso_cost(warm, model(warm), D_dev, p["lam"])
        synchronize(device)
        for name, clip, labels in progress(zip(data.test_names, data.test, data.labels), "scoring (clips)", len(data.test)):
            pooled_parts = []
            for raw_cub in iter_clip_features(clip, scale=p["scale"], kind=p["feature"], patch=p["patch"], depth=p["depth"], stride=p["stride"]):
                pooled_chunk, seconds = pooled_frame_scores(model, norm(raw_cub), D_dev, p, device)
                pooled_parts.append(pooled_chunk)
                encode_time += seconds
                n_frames_total += len(pooled_chunk)  # frames whose cuboids went through the encoder
            pooled = np.concatenate(pooled_parts)
            raw = pad_frames(pooled, p["depth"])
            final = minmax(moving_average(raw, p["smooth"]))
            rows.append(pd.DataFrame({
                "clip": name, "frame": np.arange(1, clip.shape[0] + 1), "score": final, "raw_score": raw,
                "label": np.asarray(labels, dtype=np.int8),
            }))
    timings["scoring_s"] = time.perf_counter() - t_score
    timings["encode_s"] = encode_time
    frames = pd.concat(rows, ignore_index=True)
    auc = roc_auc(frames["label"].to_numpy(), frames["score"].to_numpy())
    eer = equal_error_rate(frames["label"].to_numpy(), frames["score"].to_numpy())
    fps = n_frames_total / encode_time if encode_time > 0 else float("nan")
    info = {
        "n_train_cuboids": int(x_train.shape[0]),
        "cuboid_dim": int(x_train.shape[1]),
        "n_encoded_frames": int(n_frames_total),
        "n_test_frames": int(len(frames)),
        "normaliser": norm.state(),
        "trainable": bool(model.trainable),
    }
    log.info("%s on %s: AUC %.4f, EER %.4f, %.0f frames/s (encoder)", model_name, data.dataset, auc, eer, fps)
    return AnomalyResult(auc=auc, eer=eer, fps=fps, frames=frames, timings=timings, train_losses=losses, info=info)
