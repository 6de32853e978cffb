"""The common frames layout (training/frames/NN/*.jpg, testing/frames/NN/*.jpg, <name>.mat): reader,
ground truth, errors, and the real UCSD Ped2 folder when it is there."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

sys.path.insert(0, str(Path(__file__).parent))
from anomaly_fixtures import require_shared  # noqa: E402

from dpbench.anomaly import frames  # noqa: E402
from dpbench.anomaly.datasets import load_prepared, prepare  # noqa: E402


def _write_layout(root: Path, train=(5, 4), test=(6, 7), gt=None, mat="ped2.mat") -> Path:
    rng = np.random.default_rng(0)
    for split, lengths in (("training", train), ("testing", test)):
        for i, n in enumerate(lengths, 1):
            clip = root / split / "frames" / f"{i:02d}"
            clip.mkdir(parents=True)
            for t in range(n):
                Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(clip / f"{t:03d}.jpg")
    gt = gt or [[(2, 3)], [(1, 2), (6, 7)]]
    cells = np.empty((1, len(gt)), dtype=object)
    for i, ranges in enumerate(gt):
        cells[0, i] = np.array(ranges, dtype=np.uint8).T
    savemat(root / mat, {"gt": cells})
    return root


def test_layout_and_prepare(tmp_path):
    root = _write_layout(tmp_path / "ped2")
    layout = frames.find_layout(root)
    assert [p.name for p in layout["train"]] == ["01", "02"]
    assert layout["gt"] == [[(2, 3)], [(1, 2), (6, 7)]]
    clip = frames.read_clip(layout["test"][1])
    assert clip.shape == (7, 12, 16) and clip.dtype == np.uint8
    data = load_prepared(prepare("ucsd_ped2_frames", root, tmp_path / "prep"))
    assert data.dataset == "ucsd_ped2_frames" and data.train_names == ["01", "02"]
    assert [lab.tolist() for lab in data.labels] == [[0, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1, 1]]


def test_layout_errors_name_the_culprit(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing frames folder"):
        frames.find_layout(tmp_path / "nowhere")
    root = _write_layout(tmp_path / "a", gt=[[(2, 3)]], test=(6, 7))
    with pytest.raises(ValueError, match="lists 1 test clips but .* holds 2"):
        frames.find_layout(root)
    root = _write_layout(tmp_path / "b")
    (root / "avenue.mat").write_bytes((root / "ped2.mat").read_bytes())
    with pytest.raises(ValueError, match="expected one ground-truth .mat file"):
        frames.find_layout(root)
    (root / "avenue.mat").unlink()
    (root / "training" / "frames" / "02" / "001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="001.jpg"):
        frames.read_clip(root / "training" / "frames" / "02")


def test_real_ped2_frames():
    root = require_shared("ucsd_ped2_frames")
    layout = frames.find_layout(root)
    assert len(layout["train"]) == 16 and len(layout["test"]) == 12
    # ped2.mat agrees with the official UCSDped2.m
    from dpbench.anomaly import ucsd

    official = require_shared("ucsd_gt", "UCSDped2.m")
    assert layout["gt"] == ucsd.parse_gt_file(official)
    clip = frames.read_clip(layout["test"][0])
    assert clip.shape == (180, 240, 360) and clip.dtype == np.uint8
