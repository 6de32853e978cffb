"""Patch vectors of a feature map and the frame score of their reconstruction errors.

AnomalyNet (Zhou et al., TIFS 2019, Sec. V-D, "Feature Transfer Block"): the 7 x 7 x 2048 map of
ResNet-50's last block is divided into 1 x 1, 2 x 2 and 4 x 4 sub-regions, each max-pooled to one
2048-d vector, "1 x 1 + 2 x 2 + 4 x 4 = 21 samples. For the missing regions, zero padding is
applied": the map is padded with zeros (bottom and right) to a multiple of the grid before
pooling. sRNN (Luo et al., ICCV 2017; ``libs/feature_loader_multi_patch.py`` of
StevenLiuWen/sRNN_TSC_Anomaly_Detection) mean-pools the same 21 cells (``pool: mean``).

Frame score from the per-patch errors ``l_p = ||x_p - D z_p||^2`` (:func:`combine`):

* ``mean``: AnomalyNet, "the average reconstruction error of all patches within the current frame";
* ``srnn``: sRNN's Ped2 score ``(l[global] + max l[2x2] + max l[4x4]) / 3``
  (``libs/sista_rnn_anomaly_detection_coherence.py``): the mean over grids of the largest error of
  each grid's cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

PATCH_POOLS = ("max", "mean")
FRAME_SCORES = ("mean", "srnn")


def grid_pool(maps: torch.Tensor, grids: Sequence[int] = (1, 2, 4), pool: str = "max") -> torch.Tensor:
    """(N, C, h, w) feature maps -> (N, sum g^2, C) patch vectors: each ``g x g`` grid's cells pooled,
    the map zero-padded (bottom, right) to a multiple of ``g`` first; grids follow each other, cells row by row."""
    if pool not in PATCH_POOLS:
        raise ValueError(f"unknown patch pooling {pool!r}: expected one of {PATCH_POOLS}")
    if maps.ndim != 4:
        raise ValueError(f"expected feature maps of shape (N, C, h, w), got {tuple(maps.shape)}")
    h, w = maps.shape[-2:]
    parts = []
    for g in grids:
        if g < 1 or g > min(h, w):
            raise ValueError(f"a {g} x {g} grid does not fit a {h} x {w} feature map")
        padded = F.pad(maps, (0, (-w) % g, 0, (-h) % g))
        kernel = (padded.shape[-2] // g, padded.shape[-1] // g)
        pooled = F.max_pool2d(padded, kernel) if pool == "max" else F.avg_pool2d(padded, kernel)
        parts.append(pooled.flatten(2))
    return torch.cat(parts, dim=2).transpose(1, 2).contiguous()


def combine(errors: torch.Tensor, grids: Sequence[int], how: str = "mean") -> torch.Tensor:
    """(N, n_patches) per-patch errors, patches as :func:`grid_pool` orders them -> (N,) frame scores."""
    if how not in FRAME_SCORES:
        raise ValueError(f"unknown frame score {how!r}: expected one of {FRAME_SCORES}")
    sizes = [g * g for g in grids]
    if errors.shape[-1] != sum(sizes):
        raise ValueError(f"{errors.shape[-1]} patch errors per frame, but grids {list(grids)} give {sum(sizes)}")
    if how == "mean":
        return errors.mean(dim=-1)
    return torch.stack([part.amax(dim=-1) for part in errors.split(sizes, dim=-1)], dim=-1).mean(dim=-1)
