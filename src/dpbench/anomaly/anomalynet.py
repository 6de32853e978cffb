"""AnomalyNet's feature pipeline (Zhou et al., IEEE TIFS 14(10), 2019): motion fusion -> backbone -> 21 patches.

For every clip (the frames resized to ``input_size``):

1. motion fusion (:mod:`dpbench.anomaly.motion`): a dynamic image of ``frames`` = T frames (Eq. 2,
   approximate rank pooling with the time-varying mean and the square-root kernel), one window
   every ``stride`` frames, each stretched to [0, 1] (``normalisation: minmax``); or the raw frame
   (``motion: frame``, Table VII's ablation);
2. the feature transfer block (:mod:`dpbench.anomaly.backbones`): ``resnet50`` (ImageNet weights, the
   paper's) or ``conv_ae`` (trained here on the normal training clips' images, early-stopped on
   the held-out ones), giving a ``C x h x w`` map;
3. patch vectors (:func:`dpbench.anomaly.pooling.grid_pool`): the map's cells on the ``grids``
   1 x 1, 2 x 2, 4 x 4, max-pooled (``pool: max``, AnomalyNet; ``mean``: sRNN): 21 vectors of ``C``.

:func:`compute_features` does this once per (dataset, seed) for every coder of that seed and saves it
(``anomaly-features``, one file). The coding block (:mod:`dpbench.anomaly.coding`) learns on the
training clips' patch vectors; a test window scores the mean of its 21 patch errors (``score: mean``,
AnomalyNet: "the average reconstruction error of all patches within the current frame") or sRNN's
global + max of the 2 x 2 + max of the 4 x 4 (``score: srnn``), credited to its centre frame
(:func:`dpbench.anomaly.motion.frame_scores`); the task then smooths (``smooth``) and evaluates.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np
import torch

from dpbench.anomaly import motion, pooling
from dpbench.anomaly.datasets import AnomalyData

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "motion": "dynamic_image",  # dynamic_image | frame (Table VII: "without motion fusion")
    "frames": 20,  # T, frames per dynamic image (the paper: 20, stable for T in [10, 30])
    "stride": 1,  # frames between successive windows (train and test)
    "kernel": "sqrt",  # psi: sqrt (Bilen et al.'s square-root kernel map, the paper) | none (di_gen.py)
    "time_varying_mean": True,  # v_t = mean of the first t frames (the paper); false: the frames (di_gen.py)
    "normalisation": "minmax",  # minmax: each image to [0, 1] (the paper's l2 + scale to [0, 255]) | none
    "input_size": [224, 224],  # frames resized to (height, width) before motion fusion (ResNet-50: 224 x 224)
    "backbone": "resnet50",  # resnet50 | conv_ae
    "weights": "imagenet",  # resnet50: imagenet | random
    "ae": {},  # conv_ae options (dpbench.anomaly.backbones.conv_ae.DEFAULTS)
    "grids": [1, 2, 4],  # the grids whose cells are pooled into patch vectors
    "pool": "max",  # max (AnomalyNet) | mean (sRNN)
    "score": "mean",  # mean of the patch errors (AnomalyNet) | srnn: (global + max 2x2 + max 4x4) / 3
}


def check_params(p: dict[str, Any]) -> dict[str, Any]:
    """``p`` (the ``anomalynet`` mapping, defaults filled) checked; the conv_ae options completed. ValueError names the culprit."""
    from dpbench.anomaly.backbones import BACKBONES
    from dpbench.anomaly.backbones.conv_ae import DEFAULTS as AE_DEFAULTS
    from dpbench.anomaly.backbones.resnet50 import WEIGHTS

    choices = {"motion": motion.MOTIONS, "kernel": motion.KERNELS, "normalisation": motion.DI_NORMALISATIONS,
               "backbone": tuple(BACKBONES), "weights": WEIGHTS, "pool": pooling.PATCH_POOLS, "score": pooling.FRAME_SCORES}
    for key, allowed in choices.items():
        if p[key] not in allowed:
            raise ValueError(f"parameter 'anomalynet.{key}' must be one of {allowed}, got {p[key]!r}")
    for key in ("frames", "stride"):
        if isinstance(p[key], bool) or not isinstance(p[key], int) or p[key] < 1:
            raise ValueError(f"parameter 'anomalynet.{key}' must be a positive integer, got {p[key]!r}")
    size = p["input_size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s >= 8 for s in size)):
        raise ValueError(f"parameter 'anomalynet.input_size' must be [height, width] in pixels (>= 8), got {size!r}")
    grids = p["grids"]
    if not (isinstance(grids, list) and grids and all(isinstance(g, int) and g >= 1 for g in grids)):
        raise ValueError(f"parameter 'anomalynet.grids' must be a non-empty list of positive integers, got {grids!r}")
    if p["score"] == "srnn" and grids[0] != 1:
        raise ValueError("parameter 'anomalynet.score: srnn' needs the 1 x 1 grid first (its global patch)")
    if not isinstance(p["time_varying_mean"], bool):
        raise ValueError(f"parameter 'anomalynet.time_varying_mean' must be true or false, got {p['time_varying_mean']!r}")
    if not isinstance(p["ae"], dict):
        raise ValueError(f"parameter 'anomalynet.ae' must be a mapping, got {p['ae']!r}")
    unknown = sorted(set(p["ae"]) - set(AE_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {['anomalynet.ae.' + k for k in unknown]}: expected keys among {sorted(AE_DEFAULTS)}")
    return {**p, "ae": {**AE_DEFAULTS, **p["ae"]}}


def feature_params(p: dict[str, Any]) -> dict[str, Any]:
    """The resolved task parameters the features depend on (the fingerprint of a features file)."""
    return {"pipeline": p["pipeline"], "anomalynet": p["anomalynet"], "val_clips": p["val_clips"]}


def _fused(clip: np.ndarray, a: dict[str, Any]) -> tuple[torch.Tensor, np.ndarray]:
    """The motion-fusion images of one clip and the frame each is credited to."""
    frames = motion.resize_frames(clip, tuple(a["input_size"]))
    images = torch.cat(list(motion.iter_fused(frames, motion=a["motion"], n_frames=a["frames"], stride=a["stride"],
                                              kernel=a["kernel"], time_varying_mean=a["time_varying_mean"],
                                              normalisation=a["normalisation"])))
    centres = motion.window_centres(len(clip), motion.window_length(a["motion"], a["frames"]), a["stride"])
    return images, centres


def compute_features(data: AnomalyData, p: dict[str, Any], seed: int, device: torch.device, checkpoint=None) -> dict[str, Any]:
    """Motion fusion, backbone (trained here if it learns) and patch vectors of every clip of ``data``.

    Returns the content of a features file: per clip ``(windows, patches, C)`` float32 tensors and the
    (0-based) frame of each window, the held-out training clips, what the backbone did and the seconds each stage took."""
    from dpbench.anomaly.backbones import build
    from dpbench.anomaly.coding import held_out_clips

    a = p["anomalynet"]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    train = [_fused(clip, a) for clip in data.train]
    test = [_fused(clip, a) for clip in data.test]
    timings["motion_fusion_s"] = time.perf_counter() - t0
    val_names = held_out_clips(data.train_names, p["val_clips"], seed)
    held_out = [name in val_names for name in data.train_names]
    options = a["ae"] if a["backbone"] == "conv_ae" else {"weights": a["weights"]}
    t0 = time.perf_counter()
    backbone = build(a["backbone"], options, [x for (x, _), out in zip(train, held_out) if not out],
                     [x for (x, _), out in zip(train, held_out) if out], seed=seed, device=device, checkpoint=checkpoint)
    timings["backbone_fit_s"] = time.perf_counter() - t0

    def patches(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([pooling.grid_pool(backbone.maps(images[i : i + 256]), a["grids"], a["pool"])
                          for i in range(0, images.shape[0], 256)])

    t0 = time.perf_counter()
    train_patches = [patches(x) for x, _ in train]
    timings["features_train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    test_patches = [patches(x) for x, _ in test]
    timings["features_test_s"] = time.perf_counter() - t0
    n_test_frames = sum(len(c) for c in data.test)
    timings["features_test_fps"] = n_test_frames / timings["features_test_s"] if timings["features_test_s"] > 0 else float("nan")
    seconds = sum(v for k, v in timings.items() if k.endswith("_s"))
    log.info("anomalynet features of %s: %d-d patches, %d training and %d test windows (%.1f s)", data.dataset,
             train_patches[0].shape[-1], sum(len(x) for x in train_patches), sum(len(x) for x in test_patches), seconds)
    return {
        "pipeline": "anomalynet", "dataset": data.dataset, "seed": int(seed),
        "params_json": json.dumps(feature_params(p), sort_keys=True),
        "train": train_patches, "test": test_patches,
        "train_centres": [torch.as_tensor(c) for _, c in train], "test_centres": [torch.as_tensor(c) for _, c in test],
        "train_names": list(data.train_names), "test_names": list(data.test_names), "val_clips": val_names,
        "info_json": json.dumps({**backbone.info, "timings": timings, "dim": int(train_patches[0].shape[-1])}),
    }


def window_scores(costs: torch.Tensor, p: dict[str, Any]) -> np.ndarray:
    """(windows, patches) patch costs -> (windows,) scores (``anomalynet.score``)."""
    return pooling.combine(costs, p["anomalynet"]["grids"], p["anomalynet"]["score"]).numpy()
