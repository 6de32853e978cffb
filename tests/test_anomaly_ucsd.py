"""UCSD ground-truth parser, clip reader, and download -> extract -> prepare from a local server."""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from anomaly_fixtures import http_server, require_shared  # noqa: E402

from dpbench.anomaly import ucsd  # noqa: E402
from dpbench.anomaly.datasets import load_prepared, prepare  # noqa: E402


def test_parse_real_ped2_ground_truth():
    path = require_shared("ucsd_gt", "UCSDped2.m")
    clips = ucsd.parse_gt_file(path)
    assert clips == [
        [(61, 180)], [(95, 180)], [(1, 146)], [(31, 180)], [(1, 129)], [(1, 159)],
        [(46, 180)], [(1, 180)], [(1, 120)], [(1, 150)], [(1, 180)], [(88, 180)],
    ]


def test_parse_real_ped1_ground_truth():
    path = require_shared("ucsd_gt", "UCSDped1.m")
    clips = ucsd.parse_gt_file(path)
    assert len(clips) == 36
    assert clips[0] == [(60, 152)]
    assert clips[4] == [(5, 90), (140, 200)]
    assert clips[5] == [(1, 100), (110, 200)]
    assert clips[28] == [(1, 15), (45, 113)]
    assert clips[31] == [(1, 52), (65, 115)]
    assert clips[35] == [(15, 108)]
    assert sum(len(r) > 1 for r in clips) == 4
    # every range lies inside a 200-frame Ped1 clip
    assert all(1 <= a <= b <= 200 for r in clips for a, b in r)
    # the parser agrees with a plain reading of each line
    lines = [ln for ln in path.read_text().splitlines() if "gt_frame" in ln]
    for line, ranges in zip(lines, clips):
        body = line.split("[")[1].split("]")[0]
        assert [tuple(map(int, part.split(":"))) for part in body.split(",")] == ranges


def test_parse_text_variants():
    text = """TestVideoFile = {};
% a comment
TestVideoFile{end+1}.gt_frame = [61:180];
TestVideoFile{end+1}.gt_frame = [1:10, 20:30];
TestVideoFile{end + 1}.gt_frame = [ 5 : 9 ,12:12 ];
TestVideoFile{end+1}.gt_frame = [7];
TestVideoFile{end+1}.gt_frame = [];
"""
    clips = ucsd.parse_gt_text(text)
    assert clips == [[(61, 180)], [(1, 10), (20, 30)], [(5, 9), (12, 12)], [(7, 7)], []]
    assert ucsd.parse_gt_text(ucsd.format_gt(clips)) == clips


@pytest.mark.parametrize("bad", ["TestVideoFile{end+1}.gt_frame = [10:5];", "something else;", "TestVideoFile{end+1}.gt_frame = [a:b];"])
def test_parse_rejects_garbage(bad):
    with pytest.raises(ValueError, match="x.m:1"):
        ucsd.parse_gt_text(bad, source="x.m")


def test_frame_labels():
    labels = ucsd.frame_labels([(2, 3), (6, 6)], 7)
    assert labels.tolist() == [0, 1, 1, 0, 0, 1, 0]
    assert ucsd.frame_labels([(5, 100)], 6).tolist() == [0, 0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="starts after"):
        ucsd.frame_labels([(8, 9)], 7)


def _write_ucsd_tree(root: Path, gt: str, n_test_frames: int = 4) -> Path:
    import tifffile

    rng = np.random.default_rng(0)
    base = root / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2"
    for clip, n in (("Train/Train001", 3), ("Train/Train002", 3), ("Test/Test001", n_test_frames)):
        d = base / clip
        d.mkdir(parents=True)
        for i in range(1, n + 1):
            tifffile.imwrite(d / f"{i:03d}.tif", rng.integers(0, 256, size=(6, 8), dtype=np.uint8))
        (d / "._001.tif").write_bytes(b"resource fork junk")
    gt_dir = base / "Test" / "Test001_gt"
    gt_dir.mkdir()
    (gt_dir / "001.bmp").write_bytes(b"mask")
    (base / "Test" / "UCSDped2.m").write_text(gt)
    return base


def test_list_and_read_clips(tmp_path):
    base = _write_ucsd_tree(tmp_path, "TestVideoFile{end+1}.gt_frame = [2:3];\n")
    assert [p.name for p in ucsd.list_clips(base / "Test", "Test")] == ["Test001"]
    clip = ucsd.read_clip(base / "Test" / "Test001")
    assert clip.shape == (4, 6, 8) and clip.dtype == np.uint8
    assert ucsd.find_subset_dir(tmp_path, "UCSDped2") == base
    with pytest.raises(FileNotFoundError, match="UCSDped1"):
        ucsd.find_subset_dir(tmp_path, "UCSDped1")


def test_gt_count_mismatch_is_an_error(tmp_path):
    _write_ucsd_tree(tmp_path, "TestVideoFile{end+1}.gt_frame = [2:3];\nTestVideoFile{end+1}.gt_frame = [1:2];\n")
    with pytest.raises(ValueError, match="lists 2 test clips"):
        prepare("ucsd_ped2", tmp_path, tmp_path / "prep")


def test_download_extract_prepare_from_local_server(tmp_path):
    from dpbench.tasks.anomaly import download_dataset

    src = tmp_path / "src"
    _write_ucsd_tree(src, "TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [2:3];\n")
    served = tmp_path / "srv"
    served.mkdir()
    archive = served / "UCSD_Anomaly_Dataset.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "UCSD_Anomaly_Dataset.v1p2", arcname="UCSD_Anomaly_Dataset.v1p2")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    data_dir = tmp_path / "data"
    with http_server(served) as base:
        marker = download_dataset("ucsd", str(data_dir), [f"{base}/UCSD_Anomaly_Dataset.tar.gz"], [digest])
    assert marker.is_file()
    assert (data_dir / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2" / "Test" / "UCSDped2.m").is_file()
    manifest = prepare("ucsd_ped2", data_dir, tmp_path / "prep")
    data = load_prepared(manifest)
    assert data.train_names == ["Train001", "Train002"] and data.test_names == ["Test001"]
    assert data.labels[0].tolist() == [0, 1, 1, 0]
    original = ucsd.read_clip(src / "UCSD_Anomaly_Dataset.v1p2" / "UCSDped2" / "Test" / "Test001")
    np.testing.assert_array_equal(data.test[0], original)
    # a second prepare reuses the cached clips
    mtime = (tmp_path / "prep" / "test" / "Test001.npz").stat().st_mtime_ns
    prepare("ucsd_ped2", data_dir, tmp_path / "prep")
    assert (tmp_path / "prep" / "test" / "Test001.npz").stat().st_mtime_ns == mtime
