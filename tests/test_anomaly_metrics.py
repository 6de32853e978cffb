"""Frame-level ROC AUC and EER against hand-computed cases; score post-processing; features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dpbench.anomaly import features, scoring
from dpbench.metrics import equal_error_rate, roc_auc


def test_auc_eer_hand_cases():
    # ROC points (FPR, TPR): (0,0) (0,.5) (.5,.5) (.5,1) (1,1): AUC 3/4; FPR = 1-TPR exactly at (.5,.5)
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert equal_error_rate(y, s) == pytest.approx(0.5)
    # ROC points (0,0) (1/3,0) (1/3,1) (2/3,1) (1,1): FPR - (1 - TPR) goes -2/3 -> 1/3 between the
    # second and third point; interpolated crossing at FPR 1/3 (FNR 1/3). AUC: 2 of 3 pairs ordered.
    y, s = [0, 0, 0, 1], [1, 2, 4, 3]
    assert roc_auc(y, s) == pytest.approx(2 / 3)
    assert equal_error_rate(y, s) == pytest.approx(1 / 3)
    # perfect and inverted detectors
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.9]) == 1.0
    assert equal_error_rate([0, 0, 1], [0.1, 0.2, 0.9]) == 0.0
    assert equal_error_rate([0, 0, 1], [0.9, 0.8, 0.1]) == 1.0
    # ties: all scores equal -> chance
    assert roc_auc([0, 1, 0, 1], [1, 1, 1, 1]) == 0.5
    assert equal_error_rate([0, 1, 0, 1], [1, 1, 1, 1]) == pytest.approx(0.5)


def test_eer_interpolates_between_roc_points():
    # 2 positives, 4 negatives, scores in decreasing order
    y = [1, 0, 0, 1, 0, 0]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    # ROC points: (0,0) (0,.5) (.25,.5) (.5,.5) (.5,1) ...; FPR-(1-TPR): -1, -.5, -.25, 0 -> EER .5
    assert equal_error_rate(y, s) == pytest.approx(0.5)
    # ROC points: (0,0) (0,.5) (.25,.5) (.25,1): FPR-(1-TPR) goes -.25 -> .25 at FPR .25
    y = [1, 0, 1, 0, 0, 0]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    assert equal_error_rate(y, s) == pytest.approx(0.25)


def test_metric_errors():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="differ in length"):
        equal_error_rate([0, 1], [0.2])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0, 1], [0.2, np.nan])


def test_smoothing_and_minmax():
    assert scoring.moving_average(np.array([0, 0, 3, 0, 0.0]), 3).tolist() == [0, 1, 1, 1, 0]
    assert scoring.moving_average(np.array([1.0, 2.0]), 1).tolist() == [1.0, 2.0]
    assert scoring.minmax(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert scoring.minmax(np.array([5.0, 5.0])).tolist() == [0.0, 0.0]


def test_cuboids_shape_and_alignment():
    frames = np.zeros((6, 8, 8), dtype=np.uint8)
    frames[4, 0:4, 0:4] = 255  # appears at frame 4, disappears at frame 5
    vol = features.motion_volume(features.to_float_frames(frames), "diff")
    cub = features.cuboids(vol, patch=4, depth=2, stride=4)
    assert cub.shape == (4, 4, 32)  # frames 2..5 own a cuboid; 2x2 grid; 2*4*4 values
    energy = cub.pow(2).sum(-1)
    # cuboid n ends on frame n + depth: the change at frames 4 and 5 shows in cuboids 2 and 3, patch 0
    assert energy[:, 0].tolist() == [0.0, 0.0, 16.0, 32.0]
    assert energy[:, 1:].sum() == 0
    assert features.pad_frames(np.array([1.0, 2.0]), 2).tolist() == [1.0, 1.0, 1.0, 2.0]
    assert features.grid_shape(8, 8, 4, 4) == (2, 2)


def test_normalizer():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    g = features.Normalizer("global").fit(x)
    assert g.scale == pytest.approx((25 / 2) ** 0.5)
    l2 = features.Normalizer("l2").fit(x)
    assert l2(x)[0].norm() == pytest.approx(1.0)
    assert l2(x)[1].norm() == 0
    with pytest.raises(ValueError, match="normalisation"):
        features.Normalizer("zscore")


def test_resolve_params_names_unknown_key():
    with pytest.raises(ValueError, match="'epoch'"):
        scoring.resolve_params({"epoch": 3})
    with pytest.raises(ValueError, match="'pool'"):
        scoring.resolve_params({"pool": "median"})
    assert scoring.resolve_params({"lam": 0.2})["lam"] == 0.2


def test_chunked_features_match_whole_clip():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(23, 16, 20), dtype=np.uint8)
    kw = dict(scale=0.5, kind="diff", patch=4, depth=3, stride=2)
    whole = features.clip_features(frames, **kw)
    parts = list(features.iter_clip_features(frames, chunk=6, **kw))
    assert len(parts) == 4
    torch.testing.assert_close(torch.cat(parts), whole)
