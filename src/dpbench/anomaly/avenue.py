"""CUHK Avenue dataset: ``Avenue_Dataset.zip`` (videos) and ``ground_truth_demo.zip`` (labels).

* ``Avenue Dataset/training_videos/NN.avi`` (16 clips, normal only), ``testing_videos/NN.avi`` (21 clips);
* ``ground_truth_demo/testing_label_mask/N_label.mat``: variable ``volLabel``, a 1xT cell of HxW
  masks; a frame is abnormal when its mask has any positive pixel.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from dpbench.anomaly.matfile import load_mat_variable

VIDEO_URL = "http://www.cse.cuhk.edu.hk/leojia/projects/detectabnormal/Avenue_Dataset.zip"
GT_URL = "http://www.cse.cuhk.edu.hk/leojia/projects/detectabnormal/ground_truth_demo.zip"
VIDEO_ARCHIVE = "Avenue_Dataset.zip"
GT_ARCHIVE = "ground_truth_demo.zip"
# No checksums are published for these archives; the first download logs the SHA-256 and writes
# <archive>.sha256 beside it. Pin them here afterwards.
AVENUE_VIDEO_SHA256_UNPUBLISHED: str | None = None
AVENUE_GT_SHA256_UNPUBLISHED: str | None = None


def labels_from_mat(path: str | os.PathLike[str]) -> np.ndarray:
    """Per-frame 0/1 labels (int8) from an Avenue ``N_label.mat`` file (``volLabel`` cell of masks)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing label file: {path}")
    cells = load_mat_variable(path, "volLabel")
    if cells.dtype != object:
        # a plain H x W x T array (some re-saved copies): frames along the last axis
        if cells.ndim != 3:
            raise ValueError(f"{path}: volLabel has unexpected shape {cells.shape}")
        return (cells.reshape(-1, cells.shape[-1]) > 0).any(axis=0).astype(np.int8)
    return np.array([int(np.any(np.asarray(m) > 0)) for m in cells.ravel()], dtype=np.int8)


def _number(path: Path) -> int:
    m = re.match(r"^(\d+)", path.name)
    if not m:
        raise ValueError(f"cannot read a clip number from {path}")
    return int(m[1])


def _find_dir(root: Path, name: str) -> Path:
    if (root / name).is_dir():
        return root / name
    hits = sorted(p for p in root.rglob(name) if p.is_dir())
    if not hits:
        raise FileNotFoundError(f"no {name}/ folder under {root}")
    return hits[0]


def find_layout(data_dir: str | os.PathLike[str]) -> dict[str, object]:
    """Locate train videos, test videos and test label files under ``data_dir``.

    Returns ``{"train": [paths], "test": [paths], "labels": [paths aligned with test]}``.
    """
    root = Path(data_dir)
    train = sorted(_find_dir(root, "training_videos").glob("*.avi"), key=_number)
    test = sorted(_find_dir(root, "testing_videos").glob("*.avi"), key=_number)
    label_dir = _find_dir(root, "testing_label_mask")
    by_number = {_number(p): p for p in label_dir.glob("*_label.mat")}
    missing = [t.name for t in test if _number(t) not in by_number]
    if missing:
        raise FileNotFoundError(f"no label file in {label_dir} for test videos {missing}")
    if not train or not test:
        raise FileNotFoundError(f"no .avi videos under {root}")
    return {"train": train, "test": test, "labels": [by_number[_number(t)] for t in test]}


def read_video(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a video into a uint8 grey array (T, H, W) with PyAV (FFmpeg)."""
    import av

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing video: {path}")
    try:
        with av.open(str(path)) as container:
            frames = [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]
    except av.error.FFmpegError as err:
        raise ValueError(f"cannot decode video {path}: {err}") from err
    if not frames:
        raise ValueError(f"video {path} has no frames")
    return np.stack(frames).astype(np.uint8)
