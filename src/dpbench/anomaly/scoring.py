"""Sparse-coding anomaly detection: train on normal cuboids, score test frames, compute AUC/EER/FPS.

Method (after Lu, Shi & Jia, "Abnormal event detection at 150 FPS", ICCV 2013, and the
sparse-coding baselines of SC2Net / sRNN-AE):

1. cuboids (:mod:`dpbench.anomaly.features`: frame differences, Lu et al.'s 3D gradients or
   AnomalyNet's dynamic images) on a grid, from normal training clips only; the cuboids with the
   least energy (below the ``motion_quantile``) are dropped, at most ``max_train_patches`` are kept
   at random, and a ``val_fraction`` of them is held out; an optional PCA (``pca_dims``) and the
   normaliser are fitted on the rest;
2. a dictionary is learned on them (:func:`dpbench.sparse.dictionary.learn_dictionary`), once per
   dataset and seed (:func:`anomaly_dictionary`: every model of a seed shares it), overcomplete by
   default (``n_atoms`` None: twice the feature dimension); ISTA and FISTA use it as is, the learned
   encoders start from it and are trained on the unsupervised Lasso loss until the held-out cuboids
   stop improving (:func:`dpbench.anomaly.training.train_to_convergence`);
3. each test cuboid scores ``1/2 ||x - D z||^2 + lam ||z||_1`` on its projected, normalised
   features (``score_space: projected``, Lu et al.'s choice), or that plus the normalised energy the
   PCA discards (``score_space: original``: the reconstruction cost of the cuboid itself, so that an
   event outside the subspace of normal motion still counts); a window of frames is credited to
   its centre frame and scores the ``max`` (or ``mean``) over its cuboids; scores are smoothed by a
   centred moving average of ``smooth`` frames;
4. two scoring conventions, both pooled over all test frames (``sklearn.metrics``):
   ``auc``/``eer`` sweep one global threshold over the raw scores (Lu et al. 2013, the UCSD
   protocol: the primary); ``auc_video_norm``/``eer_video_norm`` first min-max normalise the scores
   of each test video (Hasan et al. 2016, sRNN: a test-time statistic that assumes every clip holds
   an anomaly);
5. the throughput is the number of test frames divided by the time spent in the encoder's forward pass.
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
from dpbench.anomaly.features import (
    FEATURE_KINDS,
    NORMALISATIONS,
    Normalizer,
    Projection,
    centre_offset,
    iter_clip_features,
    pad_frames,
    span,
)
from dpbench.checkpoint import TrainingCheckpoint
from dpbench.metrics import equal_error_rate, roc_auc
from dpbench.progress import progress

log = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {
    # which feature pipeline: cuboids (this module: frame differences, 3-D gradients, ...), anomalynet
    # (dpbench.anomaly.anomalynet: motion fusion -> backbone -> 21 pooled patches) or lu2013 (Lu et al.'s
    # released code, dpbench.anomaly.lu2013); the keys up to "pool" below serve the cuboids pipeline only
    "pipeline": "cuboids",
    "scale": 1.0,  # resize factor applied to the frames before feature extraction
    "feature": "diff",  # see features.FEATURE_KINDS
    "pyramid": [1.0],  # scales (factors on ``scale``) whose cuboids a frame pools; Lu et al.: three
    "patch": 8,  # cuboid side in pixels
    "depth": 2,  # cuboid length: frame differences, gradient frames or frames per dynamic image
    "stride": 4,  # grid step in pixels
    "pca_dims": None,  # PCA of the cuboids (fitted on normal training cuboids); None: none
    "normalisation": "global",  # global | l2 | none
    "motion_quantile": 0.5,  # drop training cuboids below this quantile of energy
    "max_train_patches": 10000,
    "val_fraction": 0.1,  # training cuboids held out for early stopping
    "n_atoms": None,  # None: twice the feature dimension (an overcomplete dictionary)
    "lam": 0.3,
    "n_layers": 16,
    "dict_iter": 5,  # passes of dictionary learning
    "max_steps": 10000,  # Adam steps at most
    "eval_every": 100,  # steps between held-out evaluations
    "patience": 10,  # evaluations without improvement before stopping
    "min_delta": 1e-4,  # relative improvement of the held-out loss that counts
    "batch_size": 256,
    "lr": 1e-3,
    "layer_loss": "final",  # final | mean | mean_log
    "model_options": {},  # extra keyword arguments of dpbench.sparse.build_model
    "score_space": "projected",  # projected | original: the cost of the projected cuboid, or + what the PCA drops
    "pool": "max",  # max | mean over the cuboids of a frame
    "smooth": 5,  # moving-average window in frames (1: none)
    "encode_batch": 8192,
    # a test vector's cost: reconstruction (||x - D z||^2) | lasso (+ lam ||z||_1); null: the pipeline's
    # own (cuboids: lasso; anomalynet, lu2013: reconstruction, as AnomalyNet, sRNN and Lu et al. score)
    "cost": None,
    "val_clips": 2,  # anomalynet, lu2013: normal training clips held out for early stopping (drawn by the seed)
    "anomalynet": {},  # dpbench.anomaly.anomalynet.DEFAULTS
    "lu": {},  # dpbench.anomaly.lu2013.DEFAULTS
    "floor": {},  # the motion_energy model: dpbench.anomaly.floor.DEFAULTS
}
PIPELINES = ("cuboids", "anomalynet", "lu2013")
# the parameters only the cuboids pipeline reads, and the mapping only each other pipeline reads: a job's
# resolved parameters (its record) keep those of its own pipeline only (and the floor's, which any variant may run)
CUBOID_KEYS = ("scale", "feature", "pyramid", "patch", "depth", "stride", "pca_dims", "motion_quantile", "val_fraction",
               "score_space", "pool")
PIPELINE_MAPPINGS = {"cuboids": (), "anomalynet": ("anomalynet",), "lu2013": ("lu",)}
# the cost each pipeline scores a vector with when ``cost`` is null
PIPELINE_COST = {"cuboids": "lasso", "anomalynet": "reconstruction", "lu2013": "reconstruction"}

SCORE_SPACES = ("projected", "original")
# the parameters the training cuboids and the dictionary depend on
DICTIONARY_KEYS = ("scale", "feature", "pyramid", "patch", "depth", "stride", "pca_dims", "normalisation", "motion_quantile",
                   "max_train_patches", "val_fraction", "n_atoms", "lam", "dict_iter")

def _nested(out: dict[str, Any]) -> None:
    """Fill and check the pipelines' own mappings (``anomalynet``, ``lu``, ``floor``) in place."""
    from dpbench.anomaly import anomalynet, floor, lu2013

    for key, module in (("anomalynet", anomalynet), ("lu", lu2013), ("floor", floor)):
        given = out[key]
        if not isinstance(given, dict):
            raise ValueError(f"parameter {key!r} must be a mapping, got {given!r}")
        unknown = sorted(set(given) - set(module.DEFAULTS))
        if unknown:
            raise ValueError(f"unknown parameter(s) {[f'{key}.{k}' for k in unknown]}: expected keys among {sorted(module.DEFAULTS)}")
        out[key] = module.check_params({**module.DEFAULTS, **given})


def resolve_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overridden by ``params``; an unknown key or bad value raises ValueError naming it."""
    from dpbench.params import with_defaults

    out = with_defaults("anomaly", DEFAULT_PARAMS, params)
    if out["pipeline"] not in PIPELINES:
        raise ValueError(f"parameter 'pipeline' must be one of {PIPELINES}, got {out['pipeline']!r}")
    _nested(out)
    if out["cost"] is None:
        out["cost"] = PIPELINE_COST[out["pipeline"]]
    from dpbench.anomaly.coding import COSTS

    if out["cost"] not in COSTS:
        raise ValueError(f"parameter 'cost' must be one of {COSTS} or null, got {out['cost']!r}")
    if isinstance(out["val_clips"], bool) or not isinstance(out["val_clips"], int) or out["val_clips"] < 1:
        raise ValueError(f"parameter 'val_clips' must be a positive integer, got {out['val_clips']!r}")
    if out["feature"] not in FEATURE_KINDS:
        raise ValueError(f"parameter 'feature' must be one of {FEATURE_KINDS}, got {out['feature']!r}")
    if out["normalisation"] not in NORMALISATIONS:
        raise ValueError(f"parameter 'normalisation' must be one of {NORMALISATIONS}, got {out['normalisation']!r}")
    if out["score_space"] not in SCORE_SPACES:
        raise ValueError(f"parameter 'score_space' must be one of {SCORE_SPACES}, got {out['score_space']!r}")
    if out["score_space"] == "original" and out["normalisation"] == "l2":
        raise ValueError("parameter 'score_space: original' needs normalisation 'global' or 'none': with 'l2' each "
                         "cuboid has its own scale, so the energy the PCA drops has no common unit")
    if out["pool"] not in ("max", "mean"):
        raise ValueError(f"parameter 'pool' must be 'max' or 'mean', got {out['pool']!r}")
    for key in ("patch", "depth", "stride", "n_layers", "dict_iter", "batch_size", "max_train_patches", "smooth",
                "encode_batch", "eval_every", "patience"):
        if not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f"parameter {key!r} must be a positive integer, got {out[key]!r}")
    for key in ("n_atoms", "pca_dims"):
        if out[key] is not None and (not isinstance(out[key], int) or out[key] < 1):
            raise ValueError(f"parameter {key!r} must be a positive integer or null, got {out[key]!r}")
    if not isinstance(out["max_steps"], int) or out["max_steps"] < 0:
        raise ValueError(f"parameter 'max_steps' must be a non-negative integer, got {out['max_steps']!r}")
    if not 0.0 <= float(out["motion_quantile"]) < 1.0:
        raise ValueError(f"parameter 'motion_quantile' must be in [0, 1), got {out['motion_quantile']!r}")
    if not isinstance(out["min_delta"], (int, float)) or out["min_delta"] < 0:
        raise ValueError(f"parameter 'min_delta' must be a number >= 0, got {out['min_delta']!r}")
    if not 0.0 < float(out["val_fraction"]) < 1.0:
        raise ValueError(f"parameter 'val_fraction' must be in (0, 1), got {out['val_fraction']!r}")
    pyramid = out["pyramid"]
    if not isinstance(pyramid, list) or not pyramid or not all(isinstance(f, (int, float)) and f > 0 for f in pyramid):
        raise ValueError(f"parameter 'pyramid' must be a non-empty list of positive scale factors, got {pyramid!r}")
    if not isinstance(out["model_options"], dict):
        raise ValueError("parameter 'model_options' must be a mapping")
    if out["pipeline"] == "cuboids" and out["cost"] != "lasso":
        raise ValueError("parameter 'cost: reconstruction' is for the anomalynet and lu2013 pipelines: the cuboids pipeline "
                         "scores the Lasso cost")
    unused = {"anomalynet", "lu"} - set(PIPELINE_MAPPINGS[out["pipeline"]])
    unused |= {"val_clips"} if out["pipeline"] == "cuboids" else set(CUBOID_KEYS)
    return {k: v for k, v in out.items() if k not in unused}


def n_atoms(p: dict[str, Any], dim: int) -> int:
    """The dictionary size: ``n_atoms``, or when it is None the pipeline's own: the feature dimension
    ``dim`` for anomalynet (AnomalyNet's square 2048 x 2048 dictionary), twice it otherwise."""
    if p["n_atoms"] is not None:
        return int(p["n_atoms"])
    return dim if p.get("pipeline") == "anomalynet" else 2 * dim


def check_regime(model: str, atoms: int, dim: int) -> None:
    """Refuse (:class:`dpbench.cli.UserError`, saying why) a ``model`` that cannot run with ``atoms`` atoms of dimension ``dim``."""
    from dpbench.params import UserError
    from dpbench.registry import model_spec

    reason = model_spec(model).needs_overcomplete
    if reason and atoms < dim:
        raise UserError(f"model {model!r} cannot run with an undercomplete dictionary ({atoms} atoms for "
                         f"{dim}-dimensional cuboids): {reason}; set anomaly.params.n_atoms >= {dim} "
                         "(or null)")


def _features(clip: np.ndarray, p: dict[str, Any]):
    return iter_clip_features(clip, scale=p["scale"], kind=p["feature"], patch=p["patch"], depth=p["depth"],
                              stride=p["stride"], pyramid=p["pyramid"])


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
    model: torch.nn.Module, cub: torch.Tensor, D: torch.Tensor, p: dict[str, Any], device: torch.device,
    extra: torch.Tensor | None = None,
) -> tuple[np.ndarray, float]:
    """Score normalised cuboids ``(frames, patches, dim)``: the sparse reconstruction cost of each
    patch (plus ``extra``, ``(frames, patches)``, when given), pooled per frame (max or mean), and the
    seconds spent in the encoder alone."""
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
    if extra is not None:
        per = per + extra.double()
    return (per.max(dim=1).values if p["pool"] == "max" else per.mean(dim=1)).numpy(), encode_time


@dataclass
class AnomalyResult:
    frames: pd.DataFrame  # clip, frame (1-based), score, score_video_norm, raw_score, label
    metrics: dict[str, float]  # auc, eer, auc_video_norm, eer_video_norm, fps, steps
    timings: dict[str, float] = field(default_factory=dict)
    train_losses: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        return [{"metric": k, "value": v} for k, v in self.metrics.items()]


def clip_frames(clip: str, raw: np.ndarray, labels: Any, smooth: int) -> pd.DataFrame:
    """One clip's per-frame table: the raw score, smoothed over ``smooth`` frames (``score``), that
    min-max normalised within the clip (``score_video_norm``) and the frame's label."""
    smoothed = moving_average(raw, smooth)
    return pd.DataFrame({"clip": clip, "frame": np.arange(1, len(raw) + 1), "score": smoothed,
                         "score_video_norm": minmax(smoothed), "raw_score": raw, "label": np.asarray(labels, dtype=np.int8)})


def frames_and_metrics(rows: list[pd.DataFrame], n_frames: int, encode_s: float, steps: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every clip's frames in one table and its metrics (:func:`frame_metrics`), with the encoder's frames
    per second and the training steps taken."""
    frames = pd.concat(rows, ignore_index=True)
    metrics = frame_metrics(frames)
    metrics["fps"] = n_frames / encode_s if encode_s > 0 else float("nan")
    metrics["steps"] = float(steps)
    return frames, metrics


def frame_metrics(frames: pd.DataFrame) -> dict[str, float]:
    """AUC and EER pooled over all frames, from the raw scores (``score``: one global threshold) and
    from the per-video min-max normalised ones (``score_video_norm``)."""
    y = frames["label"].to_numpy()
    out = {}
    for column, suffix in (("score", ""), ("score_video_norm", "_video_norm")):
        s = frames[column].to_numpy()
        out[f"auc{suffix}"] = roc_auc(y, s)
        out[f"eer{suffix}"] = equal_error_rate(y, s)
    return out


def training_cuboids(data: AnomalyData, p: dict[str, Any], generator: torch.Generator) -> torch.Tensor:
    """Normal training cuboids (flattened), the low-energy ones dropped, subsampled.

    Each chunk of each clip first contributes a random subset of its cuboids (enough to leave
    ``max_train_patches`` after the energy filter), so memory stays bounded on long videos.
    """
    q = float(p["motion_quantile"])
    per_clip = 2 * p["max_train_patches"] / (1 - q) / max(len(data.train), 1)
    feats = []
    for clip in progress(data.train, "training cuboids (clips)"):
        n_windows = len(clip) - span(p["feature"], p["depth"]) + 1
        for chunk in _features(clip, p):
            cubs = chunk.flatten(0, 1)
            keep = int(np.ceil(per_clip * chunk.shape[0] / n_windows))
            if cubs.shape[0] > keep:
                cubs = cubs[torch.randperm(cubs.shape[0], generator=generator)[:keep]]
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


@dataclass
class TrainingSet:
    """Projected, normalised training cuboids: ``fit`` (dictionary, encoder) and ``val`` (held out)."""

    fit: torch.Tensor
    val: torch.Tensor
    projection: Projection
    normaliser: Normalizer

    def transform(self, raw: torch.Tensor) -> torch.Tensor:
        return self.normaliser(self.projection(raw))

    def discarded(self, raw: torch.Tensor) -> torch.Tensor:
        """The energy the projection drops from each raw cuboid, in the units of the normalised features
        (``global`` divides by the training scale; ``l2`` is refused by :func:`resolve_params`)."""
        dropped = self.projection.discarded(raw)
        return dropped / self.normaliser.scale**2 if self.normaliser.kind == "global" else dropped


def _training_set(data: AnomalyData, p: dict[str, Any], generator: torch.Generator) -> TrainingSet:
    """The training cuboids split into fitted and held-out parts; projection and normaliser fitted on the first."""
    x_raw = training_cuboids(data, p, generator)
    n_val = max(1, int(round(p["val_fraction"] * x_raw.shape[0])))
    if n_val >= x_raw.shape[0]:
        raise ValueError(f"only {x_raw.shape[0]} training cuboids: too few to hold out {p['val_fraction']:.0%} of them")
    perm = torch.randperm(x_raw.shape[0], generator=generator)
    fit_raw, val_raw = x_raw[perm[n_val:]], x_raw[perm[:n_val]]
    projection = Projection(p["pca_dims"]).fit(fit_raw)
    fit_proj = projection(fit_raw)
    normaliser = Normalizer(p["normalisation"]).fit(fit_proj)
    return TrainingSet(normaliser(fit_proj), normaliser(projection(val_raw)), projection, normaliser)


def dictionary_params(p: dict[str, Any]) -> dict[str, Any]:
    """The resolved parameters ``p`` that the training vectors and the dictionary depend on."""
    if p["pipeline"] == "cuboids":
        return {k: p[k] for k in DICTIONARY_KEYS}
    return {**feature_params(p), **{k: p[k] for k in ("normalisation", "max_train_patches", "n_atoms", "lam", "dict_iter")}}


def feature_params(p: dict[str, Any]) -> dict[str, Any]:
    """The resolved parameters the features file of an anomalynet or lu2013 job depends on."""
    from dpbench.anomaly import anomalynet, lu2013

    if p["pipeline"] == "cuboids":
        raise ValueError("the cuboids pipeline has no features file: its cuboids are computed by each job")
    return (anomalynet if p["pipeline"] == "anomalynet" else lu2013).feature_params(p)


def _learn_dictionary(x_train: torch.Tensor, p: dict[str, Any], seed: int) -> torch.Tensor:
    from dpbench.sparse.dictionary import learn_dictionary

    return learn_dictionary(x_train, n_atoms(p, x_train.shape[1]), p["lam"], seed=seed, n_iter=p["dict_iter"])


def anomaly_dictionary(data: AnomalyData, params: dict[str, Any] | None, seed: int) -> torch.Tensor:
    """The dictionary that every model of ``seed`` starts from, learned on ``data``'s training cuboids
    (drawn as :func:`run_anomaly` draws them, so that both see the same cuboids)."""
    from dpbench.runtime import seed_everything

    p = resolve_params(params)
    return _learn_dictionary(_training_set(data, p, seed_everything(seed)).fit, p, seed)


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
    (learned here when None). Training resumes from ``checkpoint`` when one is saved. A model that
    cannot run in this setting is refused, saying why (:func:`check_regime`)."""
    from dpbench.anomaly.training import train_to_convergence
    from dpbench.runtime import seed_everything, synchronize
    from dpbench.sparse import build_model
    from dpbench.sparse.base import lasso_cost

    p = resolve_params(params)
    generator = seed_everything(seed, device)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    train = _training_set(data, p, generator)
    timings["features_train_s"] = time.perf_counter() - t0
    dim = train.fit.shape[1]
    check_regime(model_name, n_atoms(p, dim), dim)

    D = dictionary
    if D is None:
        t0 = time.perf_counter()
        D = _learn_dictionary(train.fit, p, seed)
        timings["dictionary_s"] = time.perf_counter() - t0

    model = build_model(model_name, D, p["lam"], p["n_layers"], **p["model_options"])
    losses: list[float] = []
    conv = None
    t0 = time.perf_counter()
    if model.trainable and p["max_steps"] > 0:
        conv = train_to_convergence(
            model, train.fit, train.val, D, p["lam"], max_steps=p["max_steps"], eval_every=p["eval_every"],
            patience=p["patience"], min_delta=p["min_delta"], batch_size=p["batch_size"], lr=p["lr"],
            layer_loss=p["layer_loss"], generator=generator, device=device, checkpoint=checkpoint,
        )
        losses = conv.train_losses
    timings["training_s"] = time.perf_counter() - t0
    model.to(device).eval()
    D_dev = model.D if hasattr(model, "D") else D.to(device)
    offset = centre_offset(p["feature"], p["depth"])

    rows = []
    encode_time = 0.0
    n_frames_total = 0
    t_score = time.perf_counter()
    with torch.no_grad():
        # warm-up (allocations, CUDA kernels) outside the timed region
        warm = train.fit[: min(256, train.fit.shape[0])].to(device)
        lasso_cost(warm, model(warm), D_dev, p["lam"])
        synchronize(device)
        for name, clip, labels in progress(zip(data.test_names, data.test, data.labels), "scoring (clips)", len(data.test)):
            pooled_parts = []
            for raw_cub in _features(clip, p):
                extra = train.discarded(raw_cub) if p["score_space"] == "original" else None
                pooled_chunk, seconds = pooled_frame_scores(model, train.transform(raw_cub), D_dev, p, device, extra)
                pooled_parts.append(pooled_chunk)
                encode_time += seconds
                n_frames_total += len(pooled_chunk)  # frames whose cuboids went through the encoder
            raw = pad_frames(np.concatenate(pooled_parts), offset, clip.shape[0])
            rows.append(clip_frames(name, raw, labels, p["smooth"]))
    timings["scoring_s"] = time.perf_counter() - t_score
    timings["encode_s"] = encode_time
    frames, metrics = frames_and_metrics(rows, n_frames_total, encode_time, conv.steps if conv else 0)
    info = {
        "n_train_cuboids": int(train.fit.shape[0]),
        "n_val_cuboids": int(train.val.shape[0]),
        "cuboid_dim": int(dim),
        "n_atoms": int(D.shape[1]),
        "n_encoded_frames": int(n_frames_total),
        "n_test_frames": int(len(frames)),
        "projection": train.projection.state(),
        "normaliser": train.normaliser.state(),
        "trainable": bool(model.trainable),
        "steps": int(conv.steps if conv else 0),
        "best_step": int(conv.best_step if conv else 0),
        "stopped": conv.stopped if conv else "not trained",
        "val_losses": conv.val_losses if conv else [],
    }
    log.info("%s on %s: AUC %.4f (video-norm %.4f), EER %.4f, %.0f frames/s (encoder), %d steps", model_name, data.dataset,
             metrics["auc"], metrics["auc_video_norm"], metrics["eer"], metrics["fps"], info["steps"])
    return AnomalyResult(frames=frames, metrics=metrics, timings=timings, train_losses=losses, info=info)
