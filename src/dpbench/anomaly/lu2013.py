"""Lu, Shi & Jia's released pipeline ("Abnormal event detection at 150 FPS in MATLAB", ICCV 2013).

As Cewu Lu's distributed code v1.0 computes it (mirrored in github.com/wenqingchu/aed, import
898330c: ``abnormality_event_system*.m``, ``functions/train_features.m``, ``test_features.m``,
``recError.m``; github.com/gongruya/abnormality-detection @4381077 ``functions/set_params.m``), not
the 3-D gradients of the paper's text (that is ``feature: gradients3d`` of the ``cuboids`` pipeline):

1. frames resized to ``size`` (H x W = 120 x 160) in [0, 1], blurred by a 3 x 3 Gaussian of
   sigma 1 (divided by the blurred all-ones image, so the border is not darkened), and the
   absolute temporal difference of consecutive frames taken (``feaVol = abs(volBlur(:,:,1:end-1) -
   volBlur(:,:,2:end))``);
2. a cuboid is ``patch x patch`` pixels (10 x 10) of ``depth`` = 5 consecutive differences centred
   on difference ``c`` (``depth <= c <= T - 2 - depth``, 0-based, as ``tprLen + 1 : end - tprLen``),
   kept only where its motion, the sum of its values (``motionResponse`` / ``motionVol``), exceeds
   ``motion_threshold`` (``MT_thr = 5``), and L2-normalised;
3. training cuboids on a grid of step ``train_stride`` = [5, 2] (``srs`` pixels, ``trs`` differences),
   at most ``max_per_clip`` per clip (``numEachVol = 7000``), drawn at random; PCA to ``pca_dims``
   = 100 on them (``princomp``; ``Tw = COEFF(:,1:PCAdim)'``, applied without centring, ``Tw * x``),
   and each projected vector L2-normalised again (``recError.m``);
4. one model for all locations (the code learns one set of sparse combinations on the cuboids of
   every position: ``sparse_combination(feaMatPCA, 20, 0.1)``), here our coder and dictionary
   (:mod:`dpbench.anomaly.coding`); a test cuboid's score is its reconstruction error;
5. test cuboids on the non-overlapping grid of regions (12 x 16 at 120 x 160), at every difference;
   a region without a kept cuboid scores 0 (``AbEvent = zeros(...)``); the (row, column, frame) map
   is smoothed by a ``smooth``-wide box (``smooth3(AbEvent, 'box', 5)``, border values repeated) and
   a frame scores the max over its regions (``region_pool: max``, the Avenue evaluation added to the
   code by wenqingchu; ``sum``: its UCSD script). A cuboid centred on difference ``c`` (frames
   ``c`` and ``c + 1``) is credited to frame ``c`` (``AbEvent(:,:,frameID)``).

The brief of this work and ``anomaly_anchors.md`` speak of "one model per spatial region"; the
released code learns one model for every region (the regions are only the test grid), and so do we.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dpbench.anomaly.datasets import AnomalyData

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "size": [120, 160],  # H x W the frames are resized to (params.H, params.W)
    "patch": 10,  # cuboid side and region size in pixels (patchWin)
    "depth": 5,  # differences per cuboid (tprLen); odd
    "train_stride": [5, 2],  # training grid step: pixels, differences (srs, trs)
    "motion_threshold": 5.0,  # a cuboid is kept when the sum of its values exceeds this (MT_thr)
    "max_per_clip": 7000,  # training cuboids kept per clip (numEachVol of the UCSD script)
    "pca_dims": 100,  # PCAdim
    "blur": True,  # the 3 x 3, sigma 1 Gaussian before differencing
    "smooth": 5,  # box size of the (row, column, frame) smoothing (smooth3 'box' 5); 1: none
    "region_pool": "max",  # max | sum over the regions of a frame
}
REGION_POOLS = ("max", "sum")


def check_params(p: dict[str, Any]) -> dict[str, Any]:
    """The ``lu`` mapping (defaults filled) checked; ValueError names the culprit."""
    def pair(key: str) -> None:
        v = p[key]
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and x >= 1 for x in v)):
            raise ValueError(f"parameter 'lu.{key}' must be a pair of positive integers, got {v!r}")

    pair("size")
    pair("train_stride")
    for key in ("patch", "depth", "max_per_clip", "pca_dims", "smooth"):
        if isinstance(p[key], bool) or not isinstance(p[key], int) or p[key] < 1:
            raise ValueError(f"parameter 'lu.{key}' must be a positive integer, got {p[key]!r}")
    if p["depth"] % 2 == 0:
        raise ValueError(f"parameter 'lu.depth' must be odd (a cuboid is centred on a difference), got {p['depth']}")
    if p["patch"] > min(p["size"]):
        raise ValueError(f"parameter 'lu.patch' {p['patch']} exceeds the frame size {p['size']}")
    if p["pca_dims"] > p["depth"] * p["patch"] ** 2:
        raise ValueError(f"parameter 'lu.pca_dims' {p['pca_dims']} exceeds the cuboid dimension {p['depth'] * p['patch'] ** 2}")
    if not isinstance(p["motion_threshold"], (int, float)) or isinstance(p["motion_threshold"], bool) or p["motion_threshold"] < 0:
        raise ValueError(f"parameter 'lu.motion_threshold' must be a number >= 0, got {p['motion_threshold']!r}")
    if p["region_pool"] not in REGION_POOLS:
        raise ValueError(f"parameter 'lu.region_pool' must be one of {REGION_POOLS}, got {p['region_pool']!r}")
    if not isinstance(p["blur"], bool):
        raise ValueError(f"parameter 'lu.blur' must be true or false, got {p['blur']!r}")
    return p


def feature_params(p: dict[str, Any]) -> dict[str, Any]:
    """The resolved task parameters the features depend on (the fingerprint of a features file)."""
    return {"pipeline": p["pipeline"], "lu": p["lu"], "val_clips": p["val_clips"]}


def _gauss3() -> torch.Tensor:
    """MATLAB's ``fspecial('gaussian', [3, 3], 1)``."""
    g = torch.exp(-torch.tensor([-1.0, 0.0, 1.0]) ** 2 / 2)
    k = torch.outer(g, g)
    return (k / k.sum())[None, None]


def difference_volume(clip: np.ndarray, size: list[int], blur: bool = True) -> torch.Tensor:
    """uint8 frames (T, H0, W0) -> (T - 1, H, W): |blurred F_{t+1} - blurred F_t| at ``size`` (step 1)."""
    from dpbench.anomaly.motion import resize_frames

    x = resize_frames(clip, tuple(size))[:, None]
    if x.shape[0] < 2:
        raise ValueError("a clip needs at least two frames")
    if blur:
        k = _gauss3()
        x = F.conv2d(x, k, padding=1) / F.conv2d(torch.ones_like(x[:1]), k, padding=1)
    return (x[1:] - x[:-1]).abs()[:, 0]


def _centres(n_diffs: int, depth: int, step: int) -> np.ndarray:
    """The difference indices a cuboid may be centred on: ``depth .. n_diffs - 1 - depth`` every ``step``."""
    return np.arange(depth, n_diffs - depth, step)


def training_cuboids(vol: torch.Tensor, lu: dict[str, Any], generator: torch.Generator) -> torch.Tensor:
    """Gated, L2-normalised training cuboids of one clip (at most ``max_per_clip``, drawn at random)."""
    patch, depth, half = lu["patch"], lu["depth"], lu["depth"] // 2
    s, trs = lu["train_stride"]
    windows = vol.unfold(1, patch, s).unfold(2, patch, s)  # (T-1, nh, nw, patch, patch)
    out = []
    for c in _centres(vol.shape[0], depth, trs):
        cubes = windows[c - half : c + half + 1].permute(1, 2, 0, 3, 4).flatten(0, 1).flatten(1)  # (nh*nw, depth*patch^2)
        kept = cubes[cubes.sum(dim=1) > lu["motion_threshold"]]
        if kept.shape[0]:
            out.append(kept)
    if not out:
        return vol.new_zeros(0, depth * patch * patch)
    x = torch.cat(out)
    if x.shape[0] > lu["max_per_clip"]:
        x = x[torch.randperm(x.shape[0], generator=generator)[: lu["max_per_clip"]]]
    return x / x.norm(dim=1, keepdim=True)


def test_cuboids(vol: torch.Tensor, lu: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Gated, L2-normalised cuboids of every region (non-overlapping grid) at every centre, and their
    locations ``(frame, row, column)`` (int64, the frame being the centre difference's first frame)."""
    patch, depth, half = lu["patch"], lu["depth"], lu["depth"] // 2
    n, h, w = vol.shape
    rows, cols = h // patch, w // patch
    regions = vol[:, : rows * patch, : cols * patch].reshape(n, rows, patch, cols, patch).permute(0, 1, 3, 2, 4)
    vectors, locations = [], []
    for c in _centres(n, depth, 1):
        cubes = regions[c - half : c + half + 1].permute(1, 2, 0, 3, 4).flatten(0, 1).flatten(1)  # (rows*cols, dim)
        keep = (cubes.sum(dim=1) > lu["motion_threshold"]).nonzero()[:, 0]
        if keep.numel():
            vectors.append(cubes[keep])
            locations.append(torch.stack([torch.full_like(keep, int(c)), keep // cols, keep % cols], dim=1))
    if not vectors:
        return vol.new_zeros(0, depth * patch * patch), torch.zeros(0, 3, dtype=torch.int64)
    x = torch.cat(vectors)
    return x / x.norm(dim=1, keepdim=True), torch.cat(locations)


class Projection:
    """Lu et al.'s PCA: principal directions of the training cuboids, applied without centring, then L2-normalised."""

    def __init__(self, components: torch.Tensor) -> None:
        self.components = components  # (dims, dim)

    @classmethod
    def fit(cls, x: torch.Tensor, dims: int) -> Projection:
        from sklearn.decomposition import PCA

        if dims > min(x.shape):
            raise ValueError(f"lu.pca_dims {dims} exceeds what {x.shape[0]} training cuboids of dimension {x.shape[1]} allow")
        pca = PCA(n_components=dims, svd_solver="full").fit(x.double().numpy())
        return cls(torch.as_tensor(pca.components_, dtype=torch.float32))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        z = x @ self.components.T
        return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def compute_features(data: AnomalyData, p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Lu et al.'s PCA'd cuboids of every clip (see the module docstring), as a features file's content."""
    from dpbench.anomaly.coding import held_out_clips

    lu = p["lu"]
    generator = torch.Generator().manual_seed(seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    val_names = held_out_clips(data.train_names, p["val_clips"], seed)
    train = [training_cuboids(difference_volume(clip, lu["size"], lu["blur"]), lu, generator) for clip in data.train]
    fit = torch.cat([x for x, name in zip(train, data.train_names) if name not in val_names])
    if fit.shape[0] == 0:
        raise ValueError("no training cuboid passes the motion threshold: the training clips are static (or lu.motion_threshold is too high)")
    projection = Projection.fit(fit, lu["pca_dims"])
    train = [projection(x) for x in train]
    timings["features_train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    test, locations = [], []
    for clip in data.test:
        x, loc = test_cuboids(difference_volume(clip, lu["size"], lu["blur"]), lu)
        test.append(projection(x))
        locations.append(loc)
    timings["features_test_s"] = time.perf_counter() - t0
    n_test_frames = sum(len(c) for c in data.test)
    timings["features_test_fps"] = n_test_frames / timings["features_test_s"] if timings["features_test_s"] > 0 else float("nan")
    grid = [lu["size"][0] // lu["patch"], lu["size"][1] // lu["patch"]]
    log.info("lu2013 features of %s: %d training cuboids, %d test cuboids kept (%.1f s)", data.dataset,
             sum(len(x) for x in train), sum(len(x) for x in test), sum(v for k, v in timings.items() if k.endswith('_s')))
    return {
        "pipeline": "lu2013", "dataset": data.dataset, "seed": int(seed),
        "params_json": json.dumps(feature_params(p), sort_keys=True),
        "train": train, "test": test, "test_locations": locations, "grid": grid,
        "test_frames": [len(c) for c in data.test], "train_names": list(data.train_names), "test_names": list(data.test_names),
        "val_clips": val_names, "info_json": json.dumps({"timings": timings, "dim": int(lu["pca_dims"]),
                                                          "n_fit_cuboids": int(fit.shape[0])}),
    }


def smooth3(volume: torch.Tensor, size: int) -> torch.Tensor:
    """MATLAB's ``smooth3(V, 'box', size)``: the mean over a ``size``-wide cube, border values repeated."""
    if size <= 1:
        return volume
    pad = size // 2
    v = F.pad(volume[None, None].double(), (pad, size - 1 - pad) * 3, mode="replicate")
    return F.avg_pool3d(v, size, stride=1)[0, 0]


def frame_scores(costs: torch.Tensor, locations: torch.Tensor, n_frames: int, grid: list[int], lu: dict[str, Any]) -> np.ndarray:
    """Per-cuboid costs at ``(frame, row, column)`` -> one score per frame (zero map, smoothing, max or sum over regions)."""
    volume = torch.zeros(n_frames, grid[0], grid[1], dtype=torch.float64)
    if costs.numel():
        volume[locations[:, 0], locations[:, 1], locations[:, 2]] = costs.double()
    volume = smooth3(volume, lu["smooth"])
    return (volume.amax(dim=(1, 2)) if lu["region_pool"] == "max" else volume.sum(dim=(1, 2))).numpy()
