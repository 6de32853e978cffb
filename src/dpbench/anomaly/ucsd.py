"""UCSD Anomaly Detection Dataset v1p2 (Ped1, Ped2) and clips in the same layout.

Layout (the synthetic generator writes the same one)::

    UCSD_Anomaly_Dataset.v1p2/UCSDped2/Train/Train001/001.tif ...
                                      /Test/Test001/001.tif ...
                                      /Test/Test004_gt/...        (pixel masks: not clips)
                                      /Test/UCSDped2.m            (frame-level ground truth)

The ``.m`` ground-truth file holds one line per test clip, in clip order::

    TestVideoFile{end+1}.gt_frame = [61:180];
    TestVideoFile{end+1}.gt_frame = [1:100, 110:200];
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

URL = "http://www.svcl.ucsd.edu/projects/anomaly/UCSD_Anomaly_Dataset.tar.gz"
ARCHIVE_NAME = "UCSD_Anomaly_Dataset.tar.gz"
TOP_DIR = "UCSD_Anomaly_Dataset.v1p2"
# No checksum of the archive is published (the UCSD page lists none and we found none quoted
# elsewhere). The first download logs its SHA-256 and writes it to UCSD_Anomaly_Dataset.tar.gz.sha256;
# pin it here afterwards.
UCSD_ARCHIVE_SHA256_UNPUBLISHED: str | None = None
SUBSETS = {"ucsd_ped1": "UCSDped1", "ucsd_ped2": "UCSDped2"}

_ASSIGN = re.compile(r"TestVideoFile\s*\{\s*end\s*\+\s*1\s*\}\s*\.\s*gt_frame\s*=\s*\[(?P<body>[^\]]*)\]\s*;?")
_RANGE = re.compile(r"^(\d+)(?::(\d+))?$")
_FRAME = re.compile(r"^(\d+)\.tiff?$", re.IGNORECASE)


def parse_gt_text(text: str, source: str = "<string>") -> list[list[tuple[int, int]]]:
    """Parse the text of a UCSD ``.m`` ground-truth file.

    Returns, per test clip in order, the list of abnormal frame ranges as 1-based inclusive
    ``(start, end)`` pairs (a single number ``[7]`` gives ``(7, 7)``; ``[]`` gives no range).
    """
    clips: list[list[tuple[int, int]]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("%", 1)[0].strip()
        if not line or re.fullmatch(r"TestVideoFile\s*=\s*\{\s*\}\s*;?", line):
            continue
        m = _ASSIGN.fullmatch(line)
        if not m:
            raise ValueError(f"{source}:{lineno}: cannot parse ground-truth line {raw.strip()!r}")
        ranges = []
        body = re.sub(r"\s*:\s*", ":", m["body"].strip())
        for part in filter(None, re.split(r"[,;\s]+", body)):
            r = _RANGE.fullmatch(part)
            if not r:
                raise ValueError(f"{source}:{lineno}: bad frame range {part!r}")
            start = int(r[1])
            end = int(r[2]) if r[2] else start
            if start < 1 or end < start:
                raise ValueError(f"{source}:{lineno}: bad frame range {part!r}")
            ranges.append((start, end))
        clips.append(ranges)
    if not clips:
        raise ValueError(f"{source}: no TestVideoFile{{end+1}}.gt_frame entries")
    return clips


def parse_gt_file(path: str | os.PathLike[str]) -> list[list[tuple[int, int]]]:
    """Parse a UCSD ``.m`` ground-truth file (see :func:`parse_gt_text`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing ground-truth file: {path}")
    return parse_gt_text(path.read_text(errors="replace"), source=str(path))


def format_gt(clips: list[list[tuple[int, int]]]) -> str:
    """Write ranges back in the ``.m`` syntax (the inverse of :func:`parse_gt_text`)."""
    lines = ["TestVideoFile = {};"]
    for ranges in clips:
        body = ", ".join(f"{a}:{b}" for a, b in ranges)
        lines.append(f"TestVideoFile{{end+1}}.gt_frame = [{body}];")
    return "\n".join(lines) + "\n"


def frame_labels(ranges: list[tuple[int, int]], n_frames: int) -> np.ndarray:
    """Per-frame 0/1 labels (int8, length ``n_frames``) from 1-based inclusive ranges."""
    labels = np.zeros(n_frames, dtype=np.int8)
    for start, end in ranges:
        if start > n_frames:
            raise ValueError(f"abnormal range {start}:{end} starts after the clip's last frame {n_frames}")
        labels[start - 1 : min(end, n_frames)] = 1
    return labels


def find_subset_dir(data_dir: str | os.PathLike[str], subset: str) -> Path:
    """Locate ``<subset>`` (e.g. ``UCSDped2``) under ``data_dir`` (the folder itself, a child, or under ``UCSD_Anomaly_Dataset.v1p2``)."""
    data_dir = Path(data_dir)
    for cand in (data_dir, data_dir / subset, data_dir / TOP_DIR / subset):
        if cand.name == subset and (cand / "Train").is_dir() and (cand / "Test").is_dir():
            return cand
    raise FileNotFoundError(f"no {subset}/Train and {subset}/Test folders under {data_dir} (looked in {data_dir / TOP_DIR / subset})")


def list_clips(split_dir: str | os.PathLike[str], prefix: str) -> list[Path]:
    """Clip folders ``<prefix>NNN`` (``Train001``, ``Test001``...) in order; ``*_gt`` mask folders are skipped."""
    split_dir = Path(split_dir)
    pattern = re.compile(rf"^{prefix}(\d+)$")
    found = [(int(m[1]), p) for p in split_dir.iterdir() if p.is_dir() and (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]


def frame_files(clip_dir: str | os.PathLike[str]) -> list[Path]:
    """The clip's ``NNN.tif`` frames in numeric order (hidden and other files are ignored)."""
    clip_dir = Path(clip_dir)
    found = [(int(m[1]), p) for p in clip_dir.iterdir() if p.is_file() and (m := _FRAME.match(p.name))]
    if not found:
        raise FileNotFoundError(f"no NNN.tif frames in {clip_dir}")
    return [p for _, p in sorted(found)]


def _to_gray_uint8(img: np.ndarray, path: Path) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 3:
        if img.shape[-1] in (3, 4):
            img = img[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        elif img.shape[0] == 1:
            img = img[0]
        else:
            raise ValueError(f"unexpected frame shape {img.shape} in {path}")
    if img.ndim != 2:
        raise ValueError(f"unexpected frame shape {img.shape} in {path}")
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.integer) and img.max(initial=0) > 255:
        return (img.astype(np.float64) / np.iinfo(img.dtype).max * 255).round().astype(np.uint8)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def read_frame(path: str | os.PathLike[str]) -> np.ndarray:
    """One TIFF frame as a uint8 (H, W) grey image."""
    path = Path(path)
    try:
        import tifffile

        img = tifffile.imread(path)
    except Exception:  # not a TIFF tifffile understands: fall back to Pillow
        try:
            from PIL import Image

            with Image.open(path) as im:
                img = np.asarray(im.convert("L"))
        except Exception as err:
            raise ValueError(f"cannot read frame {path}: {err}") from err
    return _to_gray_uint8(img, path)


def read_clip(clip_dir: str | os.PathLike[str]) -> np.ndarray:
    """A clip folder of TIFF frames as a uint8 array (T, H, W)."""
    files = frame_files(clip_dir)
    frames = [read_frame(f) for f in files]
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames of different sizes {sorted(shapes)} in {clip_dir}")
    return np.stack(frames)
