"""Spatio-temporal cuboid features of a video clip.

A clip of T grey frames becomes a motion volume of T-1 frame differences; cuboids of
``depth`` consecutive differences and ``patch x patch`` pixels are cut on a grid with the given
spatial ``stride``, flattened, and normalised. Cuboid ``n`` ends on difference ``n + depth - 1``,
i.e. on frame ``n + depth`` (0-based), so frame ``t >= depth`` owns the cuboids that end on it;
the first ``depth`` frames of a clip take the score of frame ``depth`` (see :func:`pad_frames`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_KINDS = ("diff", "absdiff", "grad")
NORMALISATIONS = ("global", "l2", "none")


def to_float_frames(frames: np.ndarray, scale: float = 1.0) -> torch.Tensor:
    """uint8 frames (T, H, W) -> float32 tensor in [0, 1], resized by ``scale`` (area averaging)."""
    x = torch.as_tensor(np.asarray(frames), dtype=torch.float32) / 255.0
    if x.ndim != 3:
        raise ValueError(f"expected frames of shape (T, H, W), got {tuple(x.shape)}")
    if scale != 1.0:
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        size = (max(1, round(x.shape[1] * scale)), max(1, round(x.shape[2] * scale)))
        x = F.interpolate(x[:, None], size=size, mode="area" if scale < 1 else "bilinear")[:, 0]
    return x


def motion_volume(frames: torch.Tensor, kind: str = "diff") -> torch.Tensor:
    """(T, H, W) frames -> (T-1, H, W) motion volume.

    ``diff``: signed frame difference F_t - F_{t-1}; ``absdiff``: its magnitude; ``grad``: the
    temporal difference times the spatial gradient magnitude of the frame (motion on edges).
    """
    if frames.shape[0] < 2:
        raise ValueError("a clip needs at least two frames")
    d = frames[1:] - frames[:-1]
    if kind == "diff":
        return d
    if kind == "absdiff":
        return d.abs()
    if kind == "grad":
        gy = torch.zeros_like(frames[1:])
        gx = torch.zeros_like(frames[1:])
        gy[:, 1:-1] = (frames[1:, 2:] - frames[1:, :-2]) / 2
        gx[:, :, 1:-1] = (frames[1:, :, 2:] - frames[1:, :, :-2]) / 2
        return d.abs() * torch.sqrt(gx**2 + gy**2) * 4.0
    raise ValueError(f"unknown feature kind {kind!r}: expected one of {FEATURE_KINDS}")


def cuboids(volume: torch.Tensor, patch: int, depth: int, stride: int) -> torch.Tensor:
    """Cut a (T', H, W) motion volume into cuboids: returns (T' - depth + 1, n_patches, depth*patch*patch)."""
    n_t, h, w = volume.shape
    if depth < 1 or patch < 1 or stride < 1:
        raise ValueError("patch, depth and stride must be >= 1")
    if n_t < depth:
        raise ValueError(f"clip too short: {n_t} differences for cuboids of depth {depth}")
    if patch > min(h, w):
        raise ValueError(f"patch size {patch} exceeds the frame size {h}x{w}")
    stacks = volume.unfold(0, depth, 1).permute(0, 3, 1, 2)  # (N, depth, H, W)
    cols = F.unfold(stacks.contiguous(), kernel_size=patch, stride=stride)  # (N, depth*p*p, L)
    return cols.transpose(1, 2).contiguous()


def grid_shape(height: int, width: int, patch: int, stride: int) -> tuple[int, int]:
    """Number of cuboid rows and columns on a frame."""
    return (height - patch) // stride + 1, (width - patch) // stride + 1


def pad_frames(per_cuboid_frame: np.ndarray, depth: int) -> np.ndarray:
    """Scores of frames ``depth..T-1`` -> scores of all T frames (the first ``depth`` copy frame ``depth``)."""
    values = np.asarray(per_cuboid_frame, dtype=np.float64)
    return np.concatenate([np.full(depth, values[0]), values])


class Normalizer:
    """Feature normalisation fitted on the training cuboids.

    ``global``: divide by one scale (the RMS of the training cuboids), which keeps the motion
    energy that tells a fast object from a walker; ``l2``: each cuboid to unit norm (cuboids with
    a norm below ``eps`` times the training RMS are left small); ``none``: unchanged.
    """

    def __init__(self, kind: str = "global", eps: float = 0.1) -> None:
        if kind not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {kind!r}: expected one of {NORMALISATIONS}")
        self.kind = kind
        self.eps = eps
        self.scale = 1.0

    def fit(self, x: torch.Tensor) -> Normalizer:
        rms = float(x.pow(2).sum(dim=-1).mean().sqrt())
        self.scale = rms if rms > 0 else 1.0
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "none":
            return x
        if self.kind == "global":
            return x / self.scale
        norms = x.norm(dim=-1, keepdim=True).clamp_min(self.eps * self.scale)
        return x / norms

    def state(self) -> dict[str, object]:
        return {"kind": self.kind, "eps": self.eps, "scale": self.scale}


def clip_features(frames: np.ndarray, *, scale: float, kind: str, patch: int, depth: int, stride: int) -> torch.Tensor:
    """uint8 frames (T, H, W) -> cuboids (T - depth, n_patches, dim) (before normalisation)."""
    vol = motion_volume(to_float_frames(frames, scale), kind)
    return cuboids(vol, patch, depth, stride)


def iter_clip_features(
    frames: np.ndarray, *, scale: float, kind: str, patch: int, depth: int, stride: int, chunk: int = 64
):
    """Like :func:`clip_features`, in chunks of at most ``chunk`` scored frames (bounded memory).

    Yields cuboid tensors (n, n_patches, dim) whose frames follow each other: concatenated along the
    first axis they equal ``clip_features(frames, ...)``.
    """
    n_frames = len(frames)
    if n_frames <= depth:
        raise ValueError(f"clip too short: {n_frames} frames for cuboids of depth {depth}")
    for start in range(0, n_frames - depth, chunk):
        sub = frames[start : start + chunk + depth]
        yield clip_features(sub, scale=scale, kind=kind, patch=patch, depth=depth, stride=stride)
