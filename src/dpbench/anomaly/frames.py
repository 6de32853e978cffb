"""The common "frames" layout of UCSD Ped2 / CUHK Avenue that much of the literature trains on.

::

    <root>/training/frames/01/000.jpg ...      normal training clips, one folder per clip
    <root>/testing/frames/01/000.jpg ...       test clips
    <root>/ped2.mat (or avenue.mat)            key ``gt``: one cell per test clip (in folder order),
                                               a 2 x K array of 1-based [first; last] abnormal frames

(the layout of the frame-prediction line of work, converted from the official videos; JPEG
pixels differ slightly from the official ``.tif`` ones, so a number from it says "Ped2 (JPEG frames)").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from dpbench.anomaly.matfile import load_mat_variable

_FRAME = re.compile(r"^\d+\.(jpe?g|png|tiff?)$", re.IGNORECASE)


def clip_dirs(root: Path, split: str) -> list[Path]:
    """The clip folders of ``root/<split>/frames`` in name order; a missing or empty one is an error."""
    folder = root / split / "frames"
    if not folder.is_dir():
        raise FileNotFoundError(f"missing folder {folder} (expected the frames layout: {split}/frames/NN/*.jpg)")
    clips = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: (len(p.name), p.name))
    if not clips:
        raise ValueError(f"no clip folders in {folder}")
    return clips


def read_clip(clip_dir: str | os.PathLike[str]) -> np.ndarray:
    """A folder of numbered frame images as grey uint8 frames (T, H, W), in frame-number order."""
    from PIL import Image

    clip_dir = Path(clip_dir)
    files = sorted((p for p in clip_dir.iterdir() if _FRAME.match(p.name)), key=lambda p: int(p.stem))
    if not files:
        raise ValueError(f"no numbered frame images in {clip_dir}")
    frames = []
    for path in files:
        try:
            with Image.open(path) as img:
                frames.append(np.asarray(img.convert("L"), dtype=np.uint8))
        except OSError as err:
            raise ValueError(f"cannot read frame {path}: {err}") from err
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames of different sizes {sorted(shapes)} in {clip_dir}")
    return np.stack(frames)


def find_gt_file(root: Path) -> Path:
    """The one ``*.mat`` ground-truth file at the top of ``root``."""
    mats = sorted(root.glob("*.mat"))
    if len(mats) != 1:
        raise ValueError(f"expected one ground-truth .mat file (e.g. ped2.mat) in {root}, found {[p.name for p in mats]}")
    return mats[0]


def parse_gt_mat(path: str | os.PathLike[str]) -> list[list[tuple[int, int]]]:
    """Per test clip, the abnormal frame ranges (1-based, inclusive) of a ``gt`` cell array."""
    clips = []
    for cell in load_mat_variable(path, "gt").ravel():
        arr = np.asarray(cell, dtype=np.int64)
        if arr.size == 0:
            clips.append([])
            continue
        if arr.ndim != 2 or arr.shape[0] != 2:
            raise ValueError(f"{path}: each 'gt' cell must be a 2 x K array of [first; last] frames, got shape {arr.shape}")
        ranges = [(int(a), int(b)) for a, b in arr.T]
        if any(a < 1 or b < a for a, b in ranges):
            raise ValueError(f"{path}: bad frame range in {ranges}")
        clips.append(ranges)
    return clips


def find_layout(data_dir: str | os.PathLike[str]) -> dict[str, object]:
    """Train and test clip folders of a frames-layout folder, and each test clip's abnormal ranges."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"missing frames folder {root}")
    train, test = clip_dirs(root, "training"), clip_dirs(root, "testing")
    gt_path = find_gt_file(root)
    gt = parse_gt_mat(gt_path)
    if len(gt) != len(test):
        raise ValueError(f"{gt_path} lists {len(gt)} test clips but {root / 'testing' / 'frames'} holds {len(test)} clip folders")
    return {"train": train, "test": test, "gt": gt}
