"""CUHK Avenue: ``N_label.mat`` (volLabel cell of masks) -> frame labels; layout and reader errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy.io import savemat

from dpbench.anomaly import avenue


def _write_label_mat(path, masks):
    cell = np.empty((1, len(masks)), dtype=object)
    for i, m in enumerate(masks):
        cell[0, i] = m
    savemat(path, {"volLabel": cell})


def test_labels_from_mat(tmp_path):
    h, w = 12, 16
    masks = []
    for t in range(6):
        m = np.zeros((h, w), dtype=np.uint8)
        if t in (2, 3, 5):
            m[3:5, 7] = 1
        masks.append(m)
    path = tmp_path / "1_label.mat"
    _write_label_mat(path, masks)
    assert avenue.labels_from_mat(path).tolist() == [0, 0, 1, 1, 0, 1]


def test_labels_from_mat_errors(tmp_path):
    path = tmp_path / "2_label.mat"
    savemat(path, {"other": np.zeros(3)})
    with pytest.raises(ValueError, match="volLabel"):
        avenue.labels_from_mat(path)
    bad = tmp_path / "3_label.mat"
    bad.write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="3_label.mat"):
        avenue.labels_from_mat(bad)


def test_find_layout(tmp_path):
    root = tmp_path / "Avenue Dataset"
    (root / "training_videos").mkdir(parents=True)
    (root / "testing_videos").mkdir()
    for i in (1, 2, 10):
        (root / "training_videos" / f"{i:02d}.avi").write_bytes(b"")
    for i in (1, 2):
        (root / "testing_videos" / f"{i:02d}.avi").write_bytes(b"")
    gt = tmp_path / "ground_truth_demo" / "testing_label_mask"
    gt.mkdir(parents=True)
    _write_label_mat(gt / "1_label.mat", [np.zeros((2, 2))])
    with pytest.raises(FileNotFoundError, match="02.avi"):
        avenue.find_layout(tmp_path)
    _write_label_mat(gt / "2_label.mat", [np.zeros((2, 2))])
    layout = avenue.find_layout(tmp_path)
    assert [p.name for p in layout["train"]] == ["01.avi", "02.avi", "10.avi"]
    assert [p.name for p in layout["labels"]] == ["1_label.mat", "2_label.mat"]


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) for m in ("av", "imageio_ffmpeg", "cv2")), reason="a video reader is installed"
)
def test_missing_video_reader_is_named(tmp_path):
    video = tmp_path / "01.avi"
    video.write_bytes(b"RIFF")
    with pytest.raises(avenue.MissingVideoReaderError, match="PyAV"):
        avenue.read_video(video)
