"""The floor every anomaly detector must clear: motion energy, with no model at all.

A frame's score is the largest, over the non-overlapping ``block x block`` blocks of the frames
resized to ``size`` (120 x 180 for Ped2's 240 x 360), of the mean absolute difference between the
frame and the one before it, smoothed by a centred moving average of ``smooth`` frames (the first
frame takes the second's difference). This is the detector issue 26 of this project describes as
"tried independently as a new user would (max over 20x20 blocks of the mean absolute frame
difference at 120x180, smoothed over 5 frames)"; its parameters are fixed here, never chosen on
test videos. It learns nothing: the training clips are not read, and every seed gives the same scores.

It is the model ``motion_energy`` of the registry (family ``detector``): a row of every anomaly
table and figure, so that a coder's number can be read against what motion alone gives.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dpbench.anomaly.motion import resize_frames

DEFAULTS: dict[str, Any] = {"size": [120, 180], "block": 20, "smooth": 5}


def check_params(p: dict[str, Any]) -> dict[str, Any]:
    """The ``floor`` mapping (defaults filled) checked; ValueError names the culprit."""
    size = p["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s >= 1 for s in size)):
        raise ValueError(f"parameter 'floor.size' must be [height, width] in pixels, got {size!r}")
    for key in ("block", "smooth"):
        if isinstance(p[key], bool) or not isinstance(p[key], int) or p[key] < 1:
            raise ValueError(f"parameter 'floor.{key}' must be a positive integer, got {p[key]!r}")
    if p["block"] > min(size):
        raise ValueError(f"parameter 'floor.block' {p['block']} exceeds the frame size {size}")
    return p


class MotionEnergy:
    """The motion-energy detector (see the module docstring); ``score(clip)`` -> one raw score per frame."""

    trainable = False

    def __init__(self, size: list[int], block: int, smooth: int) -> None:
        self.size, self.block, self.smooth = list(size), int(block), int(smooth)

    @classmethod
    def from_params(cls, floor: dict[str, Any]) -> MotionEnergy:
        return cls(**check_params({**DEFAULTS, **floor}))

    def score(self, clip: np.ndarray) -> np.ndarray:
        """uint8 frames (T, H, W) -> (T,) scores, before smoothing."""
        x = resize_frames(clip, tuple(self.size))
        if x.shape[0] < 2:
            raise ValueError("a clip needs at least two frames")
        energy = F.avg_pool2d((x[1:] - x[:-1]).abs()[:, None], self.block)[:, 0].amax(dim=(1, 2))
        return torch.cat([energy[:1], energy]).double().numpy()

    def score_clips(self, clips: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
        """Raw scores of every clip and the seconds they took."""
        t0 = time.perf_counter()
        scores = [self.score(c) for c in clips]
        return scores, time.perf_counter() - t0
