"""Spatio-temporal cuboid features of a video clip.

Every feature cuts a clip of T grey frames into windows of consecutive frames and each window into
``patch x patch`` cells on a grid of step ``stride``, at every scale of a ``pyramid``; a cell's
values are flattened into one feature vector (a "cuboid"). Kinds (``FEATURE_KINDS``):

* ``diff``: ``depth`` signed frame differences F_t - F_{t-1} (``absdiff``: their magnitude;
  ``grad``: magnitude times the spatial gradient magnitude, motion on edges);
* ``gradients3d``: Lu, Shi & Jia, "Abnormal event detection at 150 FPS in MATLAB", ICCV 2013,
  Sec. 3: the 3D gradient (d/dt, d/dy, d/dx, central differences) of ``depth`` consecutive frames in
  10x10 cells at three scales; the paper then reduces the 1500 values to 100 by PCA, which
  :class:`Projection` does (fitted on normal training cuboids only);
* ``dynamic_image``: AnomalyNet (Zhou et al., TIFS 2019; joeyzhouty/AnomalyNet ``di_gen.py``):
  approximate rank pooling of ``depth`` frames, ``DI = sum_t (2t - N - 1) F_t`` (t = 1..N), here
  divided by N; the authors' code then min-max stretches each DI to uint8 for display, a per-image
  statistic that we leave out so that a static scene stays at zero.

Window ``n`` covers frames ``n .. n + span - 1`` (``span = depth + EXTRA_FRAMES[kind]``: a frame
difference needs one more frame, a central time derivative two) and is credited to its centre
frame ``n + span // 2`` (:func:`centre_offset`); the frames before the first centre and after the
last take the nearest scored frame's score (:func:`pad_frames`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_KINDS = ("diff", "absdiff", "grad", "gradients3d", "dynamic_image")
# frames a window needs beyond its ``depth`` values
EXTRA_FRAMES = {"diff": 1, "absdiff": 1, "grad": 1, "gradients3d": 2, "dynamic_image": 0}
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


def cells(stacks: torch.Tensor, patch: int, stride: int) -> torch.Tensor:
    """(N, C, H, W) window stacks -> (N, n_patches, C*patch*patch) cells on the ``stride`` grid."""
    h, w = stacks.shape[-2:]
    if patch < 1 or stride < 1:
        raise ValueError("patch, depth and stride must be >= 1")
    if patch > min(h, w):
        raise ValueError(f"patch size {patch} exceeds the frame size {h}x{w}")
    cols = F.unfold(stacks.contiguous(), kernel_size=patch, stride=stride)  # (N, C*p*p, L)
    return cols.transpose(1, 2).contiguous()


def gradients3d(frames: torch.Tensor) -> torch.Tensor:
    """(T, H, W) frames -> (3, T-2, H, W): the time, row and column derivatives of frames 1..T-2
    by central differences (one-sided at the frame border), Lu et al. 2013's 3D gradient."""
    if frames.shape[0] < 3:
        raise ValueError("a clip needs at least three frames for 3D gradients")
    inner = frames[1:-1]
    gt = (frames[2:] - frames[:-2]) / 2
    gy, gx = torch.gradient(inner, dim=(1, 2))
    return torch.stack([gt, gy, gx])


def dynamic_images(frames: torch.Tensor, depth: int) -> torch.Tensor:
    """(T, H, W) frames -> (T - depth + 1, H, W) dynamic images of ``depth`` consecutive frames by
    approximate rank pooling (AnomalyNet ``di_gen.py``: weights ``2t - N - 1``, t = 1..N), over N."""
    if frames.shape[0] < depth:
        raise ValueError(f"clip too short: {frames.shape[0]} frames for dynamic images of {depth} frames")
    weights = (2 * torch.arange(1, depth + 1, dtype=frames.dtype) - depth - 1) / depth
    return torch.einsum("nhwt,t->nhw", frames.unfold(0, depth, 1), weights)


def window_stacks(frames: torch.Tensor, kind: str, depth: int) -> torch.Tensor:
    """(T, H, W) float frames -> (n_windows, C, H, W): the values of each window (see the module docstring)."""
    if depth < 1:
        raise ValueError("patch, depth and stride must be >= 1")
    if kind == "gradients3d":
        grads = gradients3d(frames)
        if grads.shape[1] < depth:
            raise ValueError(f"clip too short: {frames.shape[0]} frames for 3D-gradient cuboids of depth {depth}")
        return grads.unfold(1, depth, 1).permute(1, 0, 4, 2, 3).flatten(1, 2)  # (N, 3*depth, H, W)
    if kind == "dynamic_image":
        return dynamic_images(frames, depth)[:, None]
    vol = motion_volume(frames, kind)
    if vol.shape[0] < depth:
        raise ValueError(f"clip too short: {vol.shape[0]} differences for cuboids of depth {depth}")
    return vol.unfold(0, depth, 1).permute(0, 3, 1, 2)


def span(kind: str, depth: int) -> int:
    """Frames one window of ``kind`` covers."""
    if kind not in EXTRA_FRAMES:
        raise ValueError(f"unknown feature kind {kind!r}: expected one of {FEATURE_KINDS}")
    return depth + EXTRA_FRAMES[kind]


def centre_offset(kind: str, depth: int) -> int:
    """Window ``n`` is credited to frame ``n + centre_offset`` (0-based), the centre of its span."""
    return span(kind, depth) // 2


def grid_shape(height: int, width: int, patch: int, stride: int) -> tuple[int, int]:
    """Number of cuboid rows and columns on a frame."""
    return (height - patch) // stride + 1, (width - patch) // stride + 1


def pad_frames(per_window: np.ndarray, offset: int, n_frames: int) -> np.ndarray:
    """Scores of windows 0..N-1, credited to frames ``offset..offset+N-1`` -> scores of all ``n_frames``
    frames (the frames before and after take the first and last window's score)."""
    values = np.asarray(per_window, dtype=np.float64)
    after = n_frames - offset - values.size
    if after < 0 or offset < 0 or values.size == 0:
        raise ValueError(f"{values.size} window scores at offset {offset} do not fit {n_frames} frames")
    return np.concatenate([np.full(offset, values[0]), values, np.full(after, values[-1])])


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



class Projection:
    """PCA of the cuboids (``sklearn.decomposition.PCA``, full SVD), fitted on normal training cuboids
    only; ``dims`` None keeps the cuboids as they are. Lu et al. 2013 reduce to 100 dimensions."""

    def __init__(self, dims: int | None) -> None:
        self.dims = dims
        self.pca = None

    def fit(self, x: torch.Tensor) -> Projection:
        if self.dims is not None:
            from sklearn.decomposition import PCA

            if self.dims > min(x.shape):
                raise ValueError(f"pca_dims {self.dims} exceeds what {x.shape[0]} training cuboids of dimension {x.shape[1]} allow")
            self.pca = PCA(n_components=self.dims, svd_solver="full").fit(x.double().numpy())
        return self

    def _basis(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The fitted mean and principal directions (rows) as tensors of ``dtype``."""
        return torch.as_tensor(self.pca.mean_, dtype=dtype), torch.as_tensor(self.pca.components_, dtype=dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pca is None:
            return x
        mean, comps = self._basis(x.dtype)
        return (x - mean) @ comps.T

    def discarded(self, x: torch.Tensor) -> torch.Tensor:
        """Per row ``1/2 ||x - mean - P^T P (x - mean)||^2``: the energy the projection ``P`` drops
        (zeros without a projection). Added to the cost of the projected cuboid, it gives the cost of
        the cuboid itself (the residual and the projection are orthogonal)."""
        if self.pca is None:
            return x.new_zeros(x.shape[:-1])
        mean, comps = self._basis(x.dtype)
        centred = x - mean
        return 0.5 * (centred - (centred @ comps.T) @ comps).pow(2).sum(dim=-1)

    def state(self) -> dict[str, object]:
        if self.pca is None:
            return {"dims": None}
        return {"dims": self.dims, "explained_variance": float(self.pca.explained_variance_ratio_.sum())}


def clip_features(
    frames: np.ndarray, *, scale: float, kind: str, patch: int, depth: int, stride: int, pyramid: Sequence[float] = (1.0,)
) -> torch.Tensor:
    """uint8 frames (T, H, W) -> cuboids (n_windows, n_patches, dim) before projection and normalisation;
    the cells of every scale of ``pyramid`` (factors on ``scale``) follow each other on the patch axis."""
    parts = [cells(window_stacks(to_float_frames(frames, scale * s), kind, depth), patch, stride) for s in pyramid]
    return torch.cat(parts, dim=1)


def iter_clip_features(
    frames: np.ndarray, *, scale: float, kind: str, patch: int, depth: int, stride: int, pyramid: Sequence[float] = (1.0,),
    chunk: int = 64,
) -> Iterator[torch.Tensor]:
    """Like :func:`clip_features`, in chunks of at most ``chunk`` windows (bounded memory).

    Yields cuboid tensors (n, n_patches, dim) whose windows follow each other: concatenated along the
    first axis they equal ``clip_features(frames, ...)``.
    """
    width = span(kind, depth)
    n_frames = len(frames)
    if n_frames < width:
        raise ValueError(f"clip too short: {n_frames} frames for {kind} windows of {width} frames")
    for start in range(0, n_frames - width + 1, chunk):
        sub = frames[start : start + chunk + width - 1]
        yield clip_features(sub, scale=scale, kind=kind, patch=patch, depth=depth, stride=stride, pyramid=pyramid)
