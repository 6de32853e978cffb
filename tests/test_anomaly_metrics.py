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


def test_cuboids_shape_and_alignment_on_the_centre_frame():
    frames = np.zeros((6, 8, 8), dtype=np.uint8)
    frames[4, 0:4, 0:4] = 255  # appears at frame 4, disappears at frame 5
    cub = features.clip_features(frames, scale=1.0, kind="diff", patch=4, depth=2, stride=4)
    assert cub.shape == (4, 4, 32)  # 4 windows of 2 differences (3 frames); 2x2 grid; 2*4*4 values
    energy = cub.pow(2).sum(-1)
    # window n covers frames n..n+2 and is credited to its centre frame n+1: the changes at frames 4
    # and 5 show in windows 2 (frames 2-4) and 3 (frames 3-5), patch 0
    assert features.centre_offset("diff", 2) == 1
    assert energy[:, 0].tolist() == [0.0, 0.0, 16.0, 32.0]
    assert energy[:, 1:].sum() == 0
    # scores of windows 0..3 land on frames 1..4; frame 0 and 5 copy their neighbours
    assert features.pad_frames(np.array([1.0, 2.0, 3.0, 4.0]), 1, 6).tolist() == [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]
    with pytest.raises(ValueError, match="do not fit"):
        features.pad_frames(np.array([1.0, 2.0]), 2, 3)
    assert features.grid_shape(8, 8, 4, 4) == (2, 2)


def test_a_one_frame_event_is_centred_on_its_own_frame():
    frames = np.zeros((15, 16, 16), dtype=np.uint8)
    frames[7, 4:12, 4:12] = 200  # a flash on frame 7 only
    for kind, depth in (("diff", 2), ("gradients3d", 3), ("dynamic_image", 5)):
        cub = features.clip_features(frames, scale=1.0, kind=kind, patch=8, depth=depth, stride=4)
        energy = cub.pow(2).sum(-1).amax(1).numpy()
        scores = features.pad_frames(energy, features.centre_offset(kind, depth), len(frames))
        # the response is centred on the event's frame (a dynamic image weighs a window's centre frame 0,
        # its ends most: it peaks on both sides of the event, symmetrically)
        np.testing.assert_allclose(scores[7 - np.arange(1, 6)], scores[7 + np.arange(1, 6)], rtol=1e-5, err_msg=kind)
        assert scores.max() > 0
        if kind != "dynamic_image":
            assert int(np.argmax(scores)) == 7, kind


def test_gradients3d_and_dynamic_images():
    t = torch.arange(5, dtype=torch.float32)
    # a ramp in time, rows and columns: F(t, y, x) = 2t + 3y + 5x; central differences are exact
    frames = (2 * t[:, None, None] + 3 * torch.arange(4.0)[None, :, None] + 5 * torch.arange(6.0)[None, None, :])
    g = features.gradients3d(frames)
    assert g.shape == (3, 3, 4, 6)
    torch.testing.assert_close(g[0], torch.full((3, 4, 6), 2.0))
    torch.testing.assert_close(g[1], torch.full((3, 4, 6), 3.0))
    torch.testing.assert_close(g[2], torch.full((3, 4, 6), 5.0))
    # approximate rank pooling of 3 frames: weights (2t - N - 1) / N = (-2, 0, 2) / 3
    di = features.dynamic_images(frames, 3)
    assert di.shape == (3, 4, 6)
    torch.testing.assert_close(di, torch.full((3, 4, 6), (2 * 2.0 * 2) / 3))
    cub = features.clip_features(np.zeros((9, 16, 16), np.uint8), scale=1.0, kind="gradients3d", patch=4, depth=5, stride=4,
                                 pyramid=(1.0, 0.5))
    assert cub.shape == (3, 16 + 4, 3 * 5 * 16)  # 9 - 5 - 2 + 1 windows; 4x4 + 2x2 cells; 3 gradients


def test_projection_is_sklearn_pca():
    from sklearn.decomposition import PCA

    x = torch.randn(200, 12, generator=torch.Generator().manual_seed(0))
    proj = features.Projection(4).fit(x)
    ref = PCA(n_components=4, svd_solver="full").fit(x.double().numpy()).transform(x.double().numpy())
    np.testing.assert_allclose(proj(x).numpy(), ref, atol=1e-4)
    assert features.Projection(None).fit(x)(x) is x
    with pytest.raises(ValueError, match="pca_dims 20"):
        features.Projection(20).fit(x)


def test_discarded_energy_completes_the_projection_to_the_cuboid_itself():
    from sklearn.decomposition import PCA

    x = torch.randn(200, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    proj = features.Projection(4).fit(x)
    ref = PCA(n_components=4, svd_solver="full").fit(x.numpy())
    back = ref.inverse_transform(ref.transform(x.numpy()))
    np.testing.assert_allclose(proj.discarded(x).numpy(), 0.5 * ((x.numpy() - back) ** 2).sum(1), rtol=1e-10)
    # the projected energy and the discarded energy add up to the centred cuboid's energy
    total = 0.5 * (x - x.mean(0)).pow(2).sum(1)
    torch.testing.assert_close(0.5 * proj(x).pow(2).sum(1) + proj.discarded(x), total)
    assert (features.Projection(None).fit(x).discarded(x) == 0).all()


def test_both_scoring_conventions_match_sklearn():
    import pandas as pd
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(0)
    parts = []
    for clip, offset in (("01", 0.0), ("02", 5.0)):  # clip 02's scores sit higher: only video-norm undoes it
        labels = (np.arange(50) >= 30).astype(np.int8)
        score = offset + labels + rng.normal(scale=0.6, size=50)
        parts.append(pd.DataFrame({"clip": clip, "label": labels, "score": score, "score_video_norm": scoring.minmax(score)}))
    frames = pd.concat(parts, ignore_index=True)
    got = scoring.frame_metrics(frames)
    assert got["auc"] == pytest.approx(roc_auc_score(frames["label"], frames["score"]))
    assert got["auc_video_norm"] == pytest.approx(roc_auc_score(frames["label"], frames["score_video_norm"]))
    assert got["auc_video_norm"] > got["auc"] + 0.1
    for key, column in (("eer", "score"), ("eer_video_norm", "score_video_norm")):
        fpr, tpr, _ = roc_curve(frames["label"], frames[column])
        i = int(np.argmin(np.abs(fpr - (1 - tpr))))
        assert abs(got[key] - fpr[i]) <= max(abs(fpr[i] - (1 - tpr[i])), 1e-9) + 1e-9


def test_normalizer():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    g = features.Normalizer("global").fit(x)
    assert g.scale == pytest.approx((25 / 2) ** 0.5)
    l2 = features.Normalizer("l2").fit(x)
    assert l2(x)[0].norm() == pytest.approx(1.0)
    assert l2(x)[1].norm() == 0
    with pytest.raises(ValueError, match="normalisation"):
        features.Normalizer("zscore")


def test_score_space_original_needs_a_common_scale():
    assert scoring.resolve_params({})["score_space"] == "projected"
    with pytest.raises(ValueError, match="score_space"):
        scoring.resolve_params({"score_space": "raw"})
    with pytest.raises(ValueError, match="l2"):
        scoring.resolve_params({"score_space": "original", "normalisation": "l2"})


def test_resolve_params_names_unknown_key():
    with pytest.raises(ValueError, match="'epoch'"):
        scoring.resolve_params({"epoch": 3})
    with pytest.raises(ValueError, match="'pool'"):
        scoring.resolve_params({"pool": "median"})
    for key, bad in (("min_delta", -1), ("val_fraction", 1.0), ("pyramid", []), ("n_atoms", 0), ("feature", "optical_flow")):
        with pytest.raises(ValueError, match=f"'{key}'"):
            scoring.resolve_params({key: bad})
    assert scoring.resolve_params({"lam": 0.2})["lam"] == 0.2


@pytest.mark.parametrize("kind, depth", [("diff", 3), ("gradients3d", 4), ("dynamic_image", 5)])
def test_chunked_features_match_whole_clip(kind, depth):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(27, 16, 20), dtype=np.uint8)
    kw = dict(scale=1.0, kind=kind, patch=4, depth=depth, stride=2, pyramid=(1.0, 0.5))
    whole = features.clip_features(frames, **kw)
    parts = list(features.iter_clip_features(frames, chunk=6, **kw))
    assert len(parts) == -(-whole.shape[0] // 6)
    torch.testing.assert_close(torch.cat(parts), whole)
