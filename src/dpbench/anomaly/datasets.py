"""The anomaly-detection datasets: raw folders -> cached per-clip arrays and frame labels.

``prepare(dataset, data_dir, out_dir)`` reads every clip once and writes::

    <out_dir>/manifest.json                  dataset name, source, clip list, frame counts, label ranges
    <out_dir>/train/<clip>.npz               frames: uint8 (T, H, W)
    <out_dir>/test/<clip>.npz                frames: uint8 (T, H, W), labels: int8 (T,)

Each file is written atomically and the manifest last, so the manifest marks a complete cache.
An existing clip file made at the same ``scale`` is reused (per-clip cache).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dpbench.anomaly import avenue, frames, synthetic_video, ucsd
from dpbench.io import atomic_path, read_json, write_json

log = logging.getLogger(__name__)

DATASETS = ("ucsd_ped1", "ucsd_ped2", "avenue", "synthetic", "ucsd_ped2_frames", "avenue_frames")
# datasets in the common frames layout (:mod:`dpbench.anomaly.frames`), read from a folder of the config
FRAMES_DATASETS = ("ucsd_ped2_frames", "avenue_frames")
UCSD_LIKE = {**ucsd.SUBSETS, "synthetic": synthetic_video.SUBSET}


@dataclass
class AnomalyData:
    """Loaded clips: normal training clips, test clips and their per-frame labels."""

    dataset: str
    train: list[np.ndarray]
    test: list[np.ndarray]
    labels: list[np.ndarray]
    train_names: list[str]
    test_names: list[str]


def _resize(frames: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return frames
    from dpbench.anomaly.features import to_float_frames

    return np.clip(np.round(to_float_frames(frames, scale).numpy() * 255), 0, 255).astype(np.uint8)


def _save_clip(path: Path, frames: np.ndarray, scale: float, labels: np.ndarray | None = None) -> None:
    arrays = {"frames": frames, "scale": np.float64(scale)}
    if labels is not None:
        arrays["labels"] = labels.astype(np.int8)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _cached(path: Path, scale: float) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path) as z:
            return float(z["scale"]) == scale and "frames" in z.files
    except Exception:  # a damaged cache file is rebuilt
        return False


def _ucsd_sources(dataset: str, data_dir: Path) -> tuple[list[tuple[str, object]], list[tuple[str, object, np.ndarray | None]]]:
    subset = UCSD_LIKE[dataset]
    root = ucsd.find_subset_dir(data_dir, subset)
    train = [(p.name, p) for p in ucsd.list_clips(root / "Train", "Train")]
    test_dirs = ucsd.list_clips(root / "Test", "Test")
    gt_path = root / "Test" / f"{subset}.m"
    gt = ucsd.parse_gt_file(gt_path)
    if len(gt) != len(test_dirs):
        raise ValueError(f"{gt_path} lists {len(gt)} test clips but {root / 'Test'} holds {len(test_dirs)} TestNNN folders")
    test = [(p.name, p, ranges) for p, ranges in zip(test_dirs, gt)]
    return train, test


def prepare(dataset: str, data_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
    """Cache a dataset's clips as ``.npz`` arrays with frame labels; return the manifest path."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown anomaly dataset {dataset!r}: expected one of {DATASETS}")
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    manifest: dict[str, object] = {"dataset": dataset, "source": str(data_dir), "scale": scale, "train": [], "test": []}
    if dataset in FRAMES_DATASETS:
        layout = frames.find_layout(data_dir)
        train_src = [(p.name, p) for p in layout["train"]]
        test_src = [(p.name, p, ranges) for p, ranges in zip(layout["test"], layout["gt"])]
        read = frames.read_clip
    elif dataset == "avenue":
        layout = avenue.find_layout(data_dir)
        train_src = [(p.stem, p) for p in layout["train"]]
        test_src = [(p.stem, p, lab) for p, lab in zip(layout["test"], layout["labels"])]
        read = avenue.read_video
    else:
        train_src, test_src = _ucsd_sources(dataset, data_dir)
        read = ucsd.read_clip
    for name, src in train_src:
        path = out_dir / "train" / f"{name}.npz"
        if not _cached(path, scale):
            _save_clip(path, _resize(read(src), scale), scale)
        with np.load(path) as z:
            shape = z["frames"].shape
        manifest["train"].append({"name": name, "file": f"train/{name}.npz", "n_frames": int(shape[0]), "size": list(shape[1:])})
        log.info("%s train clip %s: %d frames", dataset, name, shape[0])
    for name, src, gt in test_src:
        path = out_dir / "test" / f"{name}.npz"
        if not _cached(path, scale):
            clip = _resize(read(src), scale)
            if dataset == "avenue":
                labels = avenue.labels_from_mat(gt)
            else:
                labels = ucsd.frame_labels(gt, clip.shape[0])
            if labels.shape[0] != clip.shape[0]:
                raise ValueError(f"test clip {name}: {clip.shape[0]} frames but {labels.shape[0]} labels")
            _save_clip(path, clip, scale, labels)
        with np.load(path) as z:
            shape, labels = z["frames"].shape, z["labels"]
        ranges = synthetic_video.label_ranges(labels)
        manifest["test"].append(
            {"name": name, "file": f"test/{name}.npz", "n_frames": int(shape[0]), "size": list(shape[1:]), "abnormal": [list(r) for r in ranges]}
        )
        log.info("%s test clip %s: %d frames, %d abnormal", dataset, name, shape[0], int(labels.sum()))
    path = out_dir / "manifest.json"
    write_json(path, manifest)
    return path


def load_prepared(prepared: str | os.PathLike[str]) -> AnomalyData:
    """Load a cache written by :func:`prepare` (the folder or its ``manifest.json``)."""
    prepared = Path(prepared)
    if prepared.is_dir():
        prepared = prepared / "manifest.json"
    manifest = read_json(prepared)
    root = prepared.parent

    def load(entry: dict, with_labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
        path = root / entry["file"]
        if not path.is_file():
            raise FileNotFoundError(f"missing cached clip {path} (listed in {prepared})")
        try:
            with np.load(path) as z:
                return z["frames"], (z["labels"] if with_labels else None)
        except Exception as err:
            raise ValueError(f"corrupt cached clip {path}: {err}") from err

    train = [load(e, False)[0] for e in manifest["train"]]
    tests = [load(e, True) for e in manifest["test"]]
    return AnomalyData(
        dataset=manifest["dataset"],
        train=train,
        test=[f for f, _ in tests],
        labels=[lab for _, lab in tests],
        train_names=[e["name"] for e in manifest["train"]],
        test_names=[e["name"] for e in manifest["test"]],
    )
