"""CUHK Avenue: ``N_label.mat`` (volLabel cell of masks) -> frame labels; layout and reader errors."""

from __future__ import annotations

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


def test_read_video_round_trip(tmp_path):
    import av

    video = tmp_path / "01.avi"
    frames = np.zeros((6, 32, 48, 3), dtype=np.uint8)
    for t in range(6):
        frames[t, :, 8 * t : 8 * t + 8] = 255  # a bright bar moving right
    with av.open(str(video), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    grey = avenue.read_video(video)
    assert grey.shape == (6, 32, 48) and grey.dtype == np.uint8
    assert all(grey[t, :, 8 * t + 2 : 8 * t + 6].mean() > 200 for t in range(6))
    assert grey[0, :, 30:].mean() < 40


def test_corrupt_video_is_named(tmp_path):
    video = tmp_path / "02.avi"
    video.write_bytes(b"RIFF not a video")
    with pytest.raises(ValueError, match="02.avi"):
        avenue.read_video(video)


def _real_label_files():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from anomaly_fixtures import require_shared

    folder = require_shared("avenue_gt", "testing_label_mask")
    return sorted(folder.glob("*_label.mat"), key=lambda p: int(p.name.split("_")[0]))


def test_labels_of_the_real_avenue_ground_truth():
    files = _real_label_files()
    assert [p.name for p in files] == [f"{i}_label.mat" for i in range(1, 22)]
    for path in (files[7], files[20]):  # the two shortest videos (a full read of all 21 takes minutes)
        lab = avenue.labels_from_mat(path)
        assert lab.dtype == np.int8 and set(np.unique(lab)) <= {0, 1} and lab.sum() > 0


@pytest.mark.slow
def test_every_real_avenue_label_file():
    labels = [avenue.labels_from_mat(p) for p in _real_label_files()]
    # ../shared/data/README.md: 21 test videos, 15,324 frames in all
    assert sum(len(lab) for lab in labels) == 15324
    assert all(lab.sum() > 0 for lab in labels), "every test video holds an abnormal event"
    assert 0 < sum(int(lab.sum()) for lab in labels) < 15324
