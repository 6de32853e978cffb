"""The synthetic surveillance video: deterministic, UCSD layout, labels that match the content."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dpbench.anomaly import synthetic_video as sv
from dpbench.anomaly import ucsd
from dpbench.anomaly.datasets import load_prepared, prepare

SMALL = dict(n_train=2, n_test=4, n_frames=24, size=32)


def _tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_for_a_seed(tmp_path):
    a = sv.generate(tmp_path / "a", seed=3, **SMALL)
    b = sv.generate(tmp_path / "b", seed=3, **SMALL)
    c = sv.generate(tmp_path / "c", seed=4, **SMALL)
    assert _tree_bytes(a) == _tree_bytes(b)
    assert _tree_bytes(a) != _tree_bytes(c)


def test_layout_and_labels(tmp_path):
    out = sv.generate(tmp_path, seed=0, **SMALL)
    assert out == tmp_path / "UCSDsynth"
    assert [p.name for p in ucsd.list_clips(out / "Train", "Train")] == ["Train001", "Train002"]
    assert [p.name for p in ucsd.list_clips(out / "Test", "Test")] == [f"Test{i:03d}" for i in range(1, 5)]
    clip = ucsd.read_clip(out / "Test" / "Test001")
    assert clip.shape == (24, 32, 32) and clip.dtype == np.uint8
    gt = ucsd.parse_gt_file(out / "Test" / "UCSDsynth.m")
    assert len(gt) == 4
    for ranges in gt:
        labels = ucsd.frame_labels(ranges, 24)
        assert 0 < labels.sum() < 24, "each test clip has normal and abnormal frames"
    data = load_prepared(prepare("synthetic", tmp_path, tmp_path / "prep"))
    assert [lab.sum() > 0 for lab in data.labels] == [True] * 4
    events = json.loads((out / "Test" / "events.json").read_text())
    assert events["Test001"] == [{"kind": "bike", "grade": "easy"}]
    assert events["Test003"] == [{"kind": "cart", "grade": "subtle"}]


def test_every_kind_and_grade_in_the_cycle_and_grades_order_the_events():
    assert sorted(e for clip in sv.EVENT_CYCLE for e in clip) == sorted((k, g) for k in ("bike", "wrong_way", "cart") for g in sv.GRADES)
    rng = np.random.default_rng(0)
    speed = {g: abs(sv._anomaly("bike", rng, 64, g).vy) for g in sv.GRADES}
    assert speed["easy"] > speed["medium"] > speed["subtle"] > max(sv.WALK_SPEED)
    carts = {g: sv._anomaly("cart", rng, 64, g) for g in sv.GRADES}
    area = {g: o.w * o.h for g, o in carts.items()}
    assert area["easy"] > area["medium"] > area["subtle"] > 3 * 6
    walkers = {g: sv._anomaly("wrong_way", rng, 64, g) for g in sv.GRADES}
    sideways = {g: abs(o.vx) / np.hypot(o.vx, o.vy) for g, o in walkers.items()}
    assert sideways["easy"] > sideways["medium"] > sideways["subtle"] > 0.5
    with pytest.raises(ValueError, match="grade"):
        sv._anomaly("bike", rng, 64, "hard")


# a fast bike adds much motion; a sideways walker or a cart only a little (by design: motion
# energy alone should not give the events away)
@pytest.mark.parametrize(("event", "ratio"), [("bike", 1.5), ("wrong_way", 1.1), ("cart", 1.05)])
def test_abnormal_frames_have_more_motion(event, ratio):
    rng = np.random.default_rng(0)
    bg = sv._background(rng, 64)
    frames, labels = sv.render_clip(rng, bg, 40, events=((event, "easy"),), noise=0.0)
    motion = np.abs(np.diff(frames.astype(float), axis=0)).sum(axis=(1, 2))
    assert 0 < labels.sum() < 40
    assert motion[labels[1:] == 1].mean() > ratio * motion[labels[1:] == 0].mean()


def test_label_ranges():
    assert sv.label_ranges(np.array([0, 1, 1, 0, 1])) == [(2, 3), (5, 5)]
    assert sv.label_ranges(np.zeros(3)) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        sv.generate(tmp_path, n_frames=2)
