"""Lu et al.'s released pipeline (difference volume, motion gate, region grid, smoothing) and the
motion-energy floor, on small generated video; the floor on the real Ped2 frames when they are there."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from anomaly_fixtures import require_shared  # noqa: E402

from dpbench.anomaly import lu2013  # noqa: E402
from dpbench.anomaly.floor import MotionEnergy  # noqa: E402
from dpbench.cli import main  # noqa: E402

LU = {**lu2013.DEFAULTS, "size": [40, 60], "patch": 10, "depth": 3, "train_stride": [5, 1], "motion_threshold": 1.0, "pca_dims": 8}


def _clip(n: int = 20, speed: int = 1, size: tuple[int, int] = (40, 60), box: int = 8, start: int = 2) -> np.ndarray:
    """A grey clip with one bright square moving right by ``speed`` pixels a frame along rows 5-12."""
    frames = np.full((n, *size), 60, dtype=np.uint8)
    for t in range(n):
        c = start + speed * t
        if c < size[1]:
            frames[t, 5 : 5 + box, c : min(c + box, size[1])] = 220
    return frames


def test_difference_volume_is_blurred_absolute_change():
    vol = lu2013.difference_volume(_clip(), [40, 60], blur=False)
    assert vol.shape == (19, 40, 60)
    assert float(vol[:, 20:].max()) == 0.0  # below the square's rows nothing moves
    # a step of one pixel: the column the square leaves and the one it enters change by 160/255
    assert vol[0, 8, 2] == pytest.approx(160 / 255) and vol[0, 8, 10] == pytest.approx(160 / 255)
    blurred = lu2013.difference_volume(_clip(), [40, 60])
    assert float(blurred[:, 25:].max()) == 0.0 and 0 < float(blurred[0, 8, 2]) < 160 / 255  # the 3x3 blur spreads it


def test_the_motion_gate_keeps_moving_regions_only_and_locates_them():
    vol = lu2013.difference_volume(_clip(), [40, 60])
    x, loc = lu2013.test_cuboids(vol, LU)
    assert x.shape[1] == 3 * 10 * 10 and torch.allclose(x.norm(dim=1), torch.ones(len(x)))
    assert set(loc[:, 1].tolist()) <= {0, 1}  # the square's rows 5-12 (blurred: 4-13) lie in region rows 0 and 1
    frames = loc[:, 0]
    assert int(frames.min()) >= 3 and int(frames.max()) <= 19 - 1 - 3  # centres depth .. T-2-depth
    # the square reaches region column c // 10 at frame c - 2: no cuboid far ahead of it
    assert all(int(col) * 10 <= 2 + int(f) + 3 + 10 for f, col in zip(loc[:, 0], loc[:, 2]))
    static = lu2013.difference_volume(np.full((20, 40, 60), 90, dtype=np.uint8), [40, 60])
    assert lu2013.test_cuboids(static, LU)[0].shape[0] == 0
    train = lu2013.training_cuboids(vol, {**LU, "max_per_clip": 5}, torch.Generator().manual_seed(0))
    assert train.shape == (5, 300)


def test_smooth3_is_matlabs_box_with_replicated_borders():
    v = torch.zeros(5, 5, 5, dtype=torch.float64)
    v[2, 2, 2] = 125.0
    s = lu2013.smooth3(v, 5)
    assert float(s[2, 2, 2]) == pytest.approx(1.0) and float(s.sum()) == pytest.approx(125.0)
    edge = torch.zeros(3, 1, 1, dtype=torch.float64)
    edge[0] = 3.0  # the border value is repeated: the first frame's window holds it three times
    assert float(lu2013.smooth3(edge, 3)[0, 0, 0]) == pytest.approx(2.0)
    scores = lu2013.frame_scores(torch.tensor([5.0, 1.0]), torch.tensor([[1, 0, 0], [1, 0, 1]]), 3, [1, 2], {**LU, "smooth": 1})
    assert scores.tolist() == [0.0, 5.0, 0.0]  # no cuboid kept: zero (Lu's AbEvent)
    summed = lu2013.frame_scores(torch.tensor([5.0, 1.0]), torch.tensor([[1, 0, 0], [1, 0, 1]]), 3, [1, 2],
                                 {**LU, "smooth": 1, "region_pool": "sum"})
    assert summed.tolist() == [0.0, 6.0, 0.0]


def test_lu_params_are_checked():
    from dpbench.anomaly.scoring import resolve_params

    with pytest.raises(ValueError, match=r"lu\.depth.*odd"):
        resolve_params({"pipeline": "lu2013", "lu": {"depth": 4}})
    with pytest.raises(ValueError, match=r"lu\.pca_dims"):
        resolve_params({"pipeline": "lu2013", "lu": {"pca_dims": 501}})
    with pytest.raises(ValueError, match=r"floor\.blocks"):
        resolve_params({"floor": {"blocks": 3}})


def test_the_floor_scores_motion_energy():
    detector = MotionEnergy([40, 60], 10, 1)
    slow, fast = detector.score(_clip(speed=1)), detector.score(_clip(speed=3))
    assert slow.shape == (20,) and slow[0] == slow[1]  # the first frame takes the second's difference
    assert fast[1:8].mean() > slow[1:8].mean()  # a faster square changes more pixels per frame
    assert float(detector.score(np.full((6, 40, 60), 90, dtype=np.uint8)).max()) == 0.0
    # one 10 x 10 block fully changing by 100 grey levels: its mean |difference| is 100/255
    frames = np.zeros((2, 40, 60), dtype=np.uint8)
    frames[1, 10:20, 20:30] = 100
    assert detector.score(frames)[1] == pytest.approx(100 / 255)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    root = tmp_path_factory.mktemp("lu")
    assert main(["anomaly-synth", "--root", str(root / "raw"), "--seed", "0", "--train-clips", "3", "--test-clips", "3", "--frames", "30"]) == 0
    assert main(["anomaly-prepare", "--dataset", "synthetic", "--data-dir", str(root / "raw"), "--output", str(root / "prep")]) == 0
    return root


def test_lu_pipeline_and_the_floor_end_to_end(video):
    params = {"pipeline": "lu2013", "val_clips": 1, "lam": 0.1, "n_layers": 5, "max_steps": 20, "eval_every": 10, "smooth": 1,
              "lu": {"size": [64, 64], "patch": 8, "pca_dims": 20, "motion_threshold": 1.0}}
    prep, hp = str(video / "prep"), json.dumps(params)
    common = ["--dataset", "synthetic", "--prepared", prep, "--seed", "0", "--params", hp]
    feat, dic = video / "lu.pt", video / "lu_dict.pt"
    assert main(["anomaly-features", *common, "--output", str(feat)]) == 0
    assert main(["anomaly-dictionary", *common, "--features", str(feat), "--output", str(dic)]) == 0
    out = video / "lista.json"
    assert main(["anomaly-run", *common, "--model", "lista", "--features", str(feat), "--dictionary", str(dic), "--device", "cpu",
                 "--output", str(out), "--scores-output", str(video / "lista.csv")]) == 0
    doc = json.loads(out.read_text())
    assert doc["meta"]["pipeline"] == "lu2013" and doc["meta"]["vector_dim"] == 20 and doc["meta"]["n_atoms"] == 40
    assert {r["variant"] for r in doc["records"]} == {"lu2013"}
    # the floor needs neither features nor a dictionary, learns nothing, and every seed gives the same scores
    floors = []
    for seed in (0, 1):
        out = video / f"floor{seed}.json"
        assert main(["anomaly-run", "--dataset", "synthetic", "--prepared", prep, "--seed", str(seed), "--params", hp,
                     "--model", "motion_energy", "--output", str(out)]) == 0
        floors.append({r["metric"]: r["value"] for r in json.loads(out.read_text())["records"]})
    assert floors[0]["auc"] == floors[1]["auc"] and floors[0]["steps"] == 0 and 0.5 < floors[0]["auc"] <= 1


def test_the_floor_on_real_ped2_frames(tmp_path):
    """The floor as issue 26 describes it, on three Ped2 (JPEG frames) test clips whose anomalies are bikes."""
    from dpbench.anomaly import frames as layout_reader
    from dpbench.anomaly.scoring import minmax, moving_average
    from dpbench.metrics import roc_auc

    root = require_shared("ucsd_ped2_frames")
    layout = layout_reader.find_layout(root)
    detector = MotionEnergy.from_params({})
    scores, labels = [], []
    for i in (0, 1, 2):
        clip = layout_reader.read_clip(layout["test"][i])
        scores.append(minmax(moving_average(detector.score(clip), detector.smooth)))
        y = np.zeros(len(clip), dtype=int)
        for first, last in layout["gt"][i]:
            y[first - 1 : last] = 1
        labels.append(y)
    # motion energy finds the bikes of these clips, far from perfectly (the floor is no oracle)
    assert 0.7 < roc_auc(np.concatenate(labels), np.concatenate(scores)) < 0.99
