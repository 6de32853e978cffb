"""AnomalyNet's motion fusion block: a window of frames -> one image (a dynamic image or a raw frame).

Zhou et al., "AnomalyNet: an anomaly detection network for video surveillance", IEEE TIFS 14(10),
2019 (PDF ``PrintV.pdf`` of github.com/XLearning-SCU/2019-TIFS-AnomalyNet), Sec. III-A and V-D:
a window of ``T`` frames is compressed into one *dynamic image* by approximate rank pooling
(Bilen et al., CVPR 2016), Eq. (2)::

    x = sum_{t=1..T} beta_t v_t,   beta_t = 2t - T - 1,   v_t = (1/t) sum_{tau <= t} psi(I_tau)

with the time-varying mean ``v_t`` and the square-root kernel map ``psi(I) = sqrt(I)`` ("we follow
the setting of [51] to adopt the square rooting kernel maps and time-varying mean vectors"); then
"l2-normalization and scale layers constrain the range of outputs into [0, 255]". An l2
normalisation (a positive factor) followed by a min-max stretch is the min-max stretch alone, which
is also what the authors' released ``di_gen.py`` (github.com/joeyzhouty/AnomalyNet) does to its
dynamic image: ``normalisation: minmax`` stretches each image to [0, 1]. ``di_gen.py`` itself
weighs the frames directly (``time_varying_mean: false``, ``kernel: none``).

``motion: frame`` is the paper's ablation "without motion fusion" (Table VII, 79.4 on Avenue): the
window's centre frame as it is.

Windows start every ``stride`` frames; window ``n`` covers frames ``n*stride .. n*stride + T - 1``
and is credited to its centre frame ``n*stride + T//2`` (:func:`window_centres`); a frame between
two centres takes the linear interpolation of their scores, a frame before the first (after the
last) the first (last) score (:func:`frame_scores`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

MOTIONS = ("dynamic_image", "frame")
KERNELS = ("sqrt", "none")
DI_NORMALISATIONS = ("minmax", "none")


def rank_pooling_weights(n_frames: int, time_varying_mean: bool = True) -> torch.Tensor:
    """The weight of each frame in the dynamic image of ``n_frames`` frames (AnomalyNet Eq. 2).

    ``beta_t = 2t - T - 1``; with the time-varying mean, frame ``tau`` enters every ``v_t`` with
    ``t >= tau`` with weight ``1/t``, so its weight is ``alpha_tau = sum_{t >= tau} beta_t / t``.
    """
    if n_frames < 1:
        raise ValueError(f"a dynamic image needs at least one frame, got {n_frames}")
    t = torch.arange(1, n_frames + 1, dtype=torch.float64)
    beta = 2 * t - n_frames - 1
    if not time_varying_mean:
        return beta.float()
    return torch.flip(torch.cumsum(torch.flip(beta / t, [0]), 0), [0]).float()


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """uint8 grey frames (T, H, W) -> float32 (T, h, w) in [0, 1] at ``size`` (area averaging when shrinking)."""
    x = torch.as_tensor(np.asarray(frames), dtype=torch.float32)
    if x.ndim != 3:
        raise ValueError(f"expected frames of shape (T, H, W), got {tuple(x.shape)}")
    x = x[:, None] / 255.0
    h, w = int(size[0]), int(size[1])
    if (h, w) != tuple(x.shape[-2:]):
        shrink = h <= x.shape[-2] and w <= x.shape[-1]
        x = F.interpolate(x, size=(h, w), mode="area" if shrink else "bilinear", align_corners=None if shrink else False)
    return x[:, 0]


def window_length(motion: str, n_frames: int) -> int:
    """Frames one motion-fusion window covers: ``n_frames`` for a dynamic image, 1 for a raw frame."""
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion fusion {motion!r}: expected one of {MOTIONS}")
    return n_frames if motion == "dynamic_image" else 1


def window_centres(n_frames_clip: int, length: int, stride: int) -> np.ndarray:
    """The (0-based) frame each window of ``length`` frames, one every ``stride`` frames, is credited to."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if n_frames_clip < length:
        raise ValueError(f"clip too short: {n_frames_clip} frames for windows of {length} frames")
    starts = np.arange(0, n_frames_clip - length + 1, stride)
    return starts + length // 2


def frame_scores(window_scores: np.ndarray, centres: np.ndarray, n_frames_clip: int) -> np.ndarray:
    """Per-window scores credited to their centre frames -> a score for every frame of the clip
    (linear interpolation between centres, the nearest centre's score outside them)."""
    values = np.asarray(window_scores, dtype=np.float64)
    if values.shape != np.shape(centres) or values.size == 0:
        raise ValueError(f"{values.size} window scores for {np.size(centres)} window centres")
    return np.interp(np.arange(n_frames_clip), np.asarray(centres, dtype=np.float64), values)


def fuse(frames: torch.Tensor, *, motion: str, n_frames: int, stride: int, kernel: str = "sqrt",
         time_varying_mean: bool = True, normalisation: str = "minmax") -> torch.Tensor:
    """(T, h, w) frames in [0, 1] -> (N, h, w) motion-fusion images, one per window (module docstring)."""
    for name, value, allowed in (("kernel", kernel, KERNELS), ("normalisation", normalisation, DI_NORMALISATIONS)):
        if value not in allowed:
            raise ValueError(f"unknown motion-fusion {name} {value!r}: expected one of {allowed}")
    length = window_length(motion, n_frames)
    if frames.shape[0] < length:
        raise ValueError(f"clip too short: {frames.shape[0]} frames for windows of {length} frames")
    if motion == "frame":
        images = frames[::stride]
    else:
        x = frames.clamp_min(0).sqrt() if kernel == "sqrt" else frames
        windows = x.unfold(0, length, stride)  # (N, h, w, T)
        images = torch.einsum("nhwt,t->nhw", windows, rank_pooling_weights(length, time_varying_mean).to(x.dtype))
        images = images / length
    if normalisation == "minmax":
        flat = images.flatten(1)
        low, high = flat.amin(1)[:, None, None], flat.amax(1)[:, None, None]
        images = (images - low) / (high - low).clamp_min(1e-8)
    return images.contiguous()


def iter_fused(frames: torch.Tensor, *, motion: str, n_frames: int, stride: int, chunk: int = 64, **options) -> Iterator[torch.Tensor]:
    """Like :func:`fuse`, in chunks of at most ``chunk`` windows (bounded memory); concatenated, the
    chunks equal ``fuse(frames, ...)``."""
    length = window_length(motion, n_frames)
    n_windows = (frames.shape[0] - length) // stride + 1
    if n_windows < 1:
        raise ValueError(f"clip too short: {frames.shape[0]} frames for windows of {length} frames")
    for first in range(0, n_windows, chunk):
        last = min(first + chunk, n_windows)
        sub = frames[first * stride : (last - 1) * stride + length]
        yield fuse(sub, motion=motion, n_frames=n_frames, stride=stride, **options)
