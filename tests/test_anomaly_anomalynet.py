"""AnomalyNet's pipeline: motion fusion (dynamic images), grid pooling, frame scores, the backbones
(ResNet-50 with random weights, the missing-weights error, the conv autoencoder) and the whole path
from a generated video to a coder's result."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dpbench.anomaly import motion, pooling
from dpbench.cli import main


def test_rank_pooling_weights_are_eq2_with_and_without_the_time_varying_mean():
    T = 6
    beta = torch.tensor([2.0 * t - T - 1 for t in range(1, T + 1)])
    assert torch.equal(motion.rank_pooling_weights(T, time_varying_mean=False), beta)
    # sum_t beta_t v_t with v_t the mean of the first t frames, computed directly
    frames = torch.rand(T, 3, 4)
    v = torch.stack([frames[:t].mean(0) for t in range(1, T + 1)])
    direct = torch.einsum("thw,t->hw", v, beta)
    via_weights = torch.einsum("thw,t->hw", frames, motion.rank_pooling_weights(T))
    assert torch.allclose(direct, via_weights, atol=1e-5)
    # both weightings sum to zero: a static scene gives an all-zero dynamic image
    assert abs(float(motion.rank_pooling_weights(T).sum())) < 1e-5 and float(beta.sum()) == 0


def test_dynamic_image_orders_time_and_silences_a_static_scene():
    T, size = 10, 12
    frames = torch.full((T, size, size), 0.2)
    for t in range(T):  # a bright dot moving right one pixel a frame along row 5
        frames[t, 5, t + 1] = 1.0
    di = motion.fuse(frames, motion="dynamic_image", n_frames=T, stride=1, normalisation="none")[0]
    # the pixel the dot crosses at frame t holds sqrt(1) - sqrt(0.2) times frame t's weight, over T
    contrast = 1.0 - 0.2**0.5
    assert torch.allclose(di[5, 1 : T + 1], contrast * motion.rank_pooling_weights(T) / T, atol=1e-5)
    assert float(di[:5].abs().max()) < 1e-6 and float(di[6:].abs().max()) < 1e-6  # static pixels: zero (to rounding)
    plain = motion.fuse(frames, motion="dynamic_image", n_frames=T, stride=1, normalisation="none", kernel="none",
                        time_varying_mean=False)[0]
    row = plain[5, 1 : T + 1]
    assert torch.all(row[1:] > row[:-1])  # di_gen.py's weights 2t - T - 1: later positions brighter
    stretched = motion.fuse(frames, motion="dynamic_image", n_frames=T, stride=1)[0]
    assert float(stretched.min()) == 0.0 and float(stretched.max()) == pytest.approx(1.0)
    raw = motion.fuse(frames, motion="frame", n_frames=T, stride=3, normalisation="none")
    assert torch.equal(raw, frames[::3])


def test_fused_chunks_equal_one_pass_and_windows_are_credited_to_their_centres():
    frames = torch.rand(37, 8, 8)
    whole = motion.fuse(frames, motion="dynamic_image", n_frames=5, stride=3)
    chunked = torch.cat(list(motion.iter_fused(frames, motion="dynamic_image", n_frames=5, stride=3, chunk=4)))
    assert torch.allclose(whole, chunked) and whole.shape[0] == 11
    centres = motion.window_centres(37, 5, 3)
    assert centres.tolist() == list(range(2, 33, 3))
    scores = motion.frame_scores(np.arange(11.0), centres, 37)
    assert scores[:3].tolist() == [0.0, 0.0, 0.0] and scores[-5:].tolist() == [10.0] * 5
    assert scores[3] == pytest.approx(1 / 3)  # between the centres 2 and 5
    with pytest.raises(ValueError, match="clip too short"):
        motion.window_centres(4, 5, 1)


def test_grid_pool_gives_21_patches_with_zero_padding():
    maps = torch.zeros(1, 2, 7, 7)
    maps[0, 0, 6, 6] = 5.0  # bottom-right corner
    maps[0, 1] = 1.0
    patches = pooling.grid_pool(maps, (1, 2, 4), "max")
    assert patches.shape == (1, 21, 2)
    assert patches[0, 0, 0] == 5.0 and patches[0, 4, 0] == 5.0 and patches[0, 20, 0] == 5.0
    assert patches[0, 1:4, 0].abs().sum() == 0 and patches[0, 5:20, 0].abs().sum() == 0
    means = pooling.grid_pool(maps, (1, 2, 4), "mean")
    # the 7 x 7 map padded to 8 x 8: a 4 x 4 cell in the padded corner holds 1 real pixel of 4
    assert means[0, 20, 1] == pytest.approx(0.25) and means[0, 5, 1] == pytest.approx(1.0)
    assert means[0, 0, 1] == pytest.approx(1.0)  # the 1 x 1 grid needs no padding
    with pytest.raises(ValueError, match="does not fit"):
        pooling.grid_pool(torch.zeros(1, 2, 3, 3), (4,))


def test_frame_scores_mean_and_srnn():
    errors = torch.zeros(3, 21)
    errors[0, 0] = 3.0  # the global patch
    errors[1, 2] = 6.0  # a cell of the 2 x 2 grid (patches 1-4)
    errors[2, 7], errors[2, 10] = 6.0, 9.0  # two cells of the 4 x 4 grid (patches 5-20): the largest counts
    assert pooling.combine(errors, (1, 2, 4), "mean").tolist() == pytest.approx([3 / 21, 6 / 21, 15 / 21])
    assert pooling.combine(errors, (1, 2, 4), "srnn").tolist() == pytest.approx([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="grids"):
        pooling.combine(errors[:, :5], (1, 2, 4))


def test_resnet50_random_weights_give_the_last_block_map():
    from dpbench.anomaly.backbones import build

    backbone = build("resnet50", {"weights": "random"}, [], [], seed=0, device=torch.device("cpu"))
    maps = backbone.maps(torch.rand(2, 64, 96))
    assert maps.shape == (2, 2048, 2, 3) and bool((maps >= 0).all())  # after layer4's ReLU, stride 32
    assert backbone.info["weights"] == "random"


def test_missing_imagenet_weights_name_the_file_and_folder(tmp_path, monkeypatch):
    from dpbench.anomaly.backbones import resnet50
    from dpbench.params import UserError

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(UserError) as err:
        resnet50.ResNet50Backbone("imagenet")
    message = str(err.value)
    assert "resnet50-0676ba61.pth" in message and str(tmp_path / "hub" / "checkpoints") in message


def _squares(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Images of one bright square each, at random places: something an autoencoder can learn."""
    rng = np.random.default_rng(seed)
    images = torch.zeros(n, size, size)
    for i in range(n):
        r, c = rng.integers(0, size - 8, 2)
        images[i, r : r + 8, c : c + 8] = 1.0
    return images


def test_conv_ae_learns_more_than_a_constant_and_its_codes_are_not_dead():
    from dpbench.anomaly.backbones import build

    backbone = build("conv_ae", {"channels": [8, 16], "max_epochs": 15, "patience": 5, "batch_size": 16},
                     [_squares(96)], [_squares(32, seed=1)], seed=0, device=torch.device("cpu"))
    info = backbone.info
    assert info["beats_mean_image"] and info["val_loss"] < 0.5 * info["val_loss_mean_image"]
    assert info["active_channels"] > 8 and info["epochs"] >= 1 and 0 <= info["best_epoch"] <= info["epochs"]
    maps = backbone.maps(_squares(4, seed=2))
    assert maps.shape == (4, 16, 8, 8) and float(maps.abs().sum()) > 0


def _synthetic(tmp_path_factory, frames: int = 30, train: int = 3, test: int = 3):
    root = tmp_path_factory.mktemp("anet")
    assert main(["anomaly-synth", "--root", str(root / "raw"), "--seed", "0", "--train-clips", str(train), "--test-clips",
                 str(test), "--frames", str(frames)]) == 0
    assert main(["anomaly-prepare", "--dataset", "synthetic", "--data-dir", str(root / "raw"), "--output", str(root / "prep")]) == 0
    return root


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return _synthetic(tmp_path_factory)


AE_PARAMS = {"pipeline": "anomalynet", "val_clips": 1, "lam": 0.1, "n_layers": 5, "max_steps": 30, "eval_every": 10, "patience": 2,
             "smooth": 1, "anomalynet": {"backbone": "conv_ae", "frames": 8, "stride": 2, "input_size": [32, 32],
                                         "ae": {"channels": [8, 16], "max_epochs": 2}}}


def _job(root, params, model, variant=None):
    prep, hp = str(root / "prep"), json.dumps(params)
    tag = variant or params["pipeline"]
    feat, dic = root / f"{tag}.features.pt", root / f"{tag}.dict.pt"
    common = ["--dataset", "synthetic", "--prepared", prep, "--seed", "0", "--params", hp]
    if not feat.exists():
        assert main(["anomaly-features", *common, "--device", "cpu", "--output", str(feat)]) == 0
        assert main(["anomaly-dictionary", *common, "--features", str(feat), "--output", str(dic)]) == 0
    out = root / f"{tag}.{model}.json"
    extra = ["--variant", variant] if variant else []
    assert main(["anomaly-run", *common, "--model", model, "--features", str(feat), "--dictionary", str(dic), *extra,
                 "--device", "cpu", "--output", str(out), "--scores-output", str(out.with_suffix(".csv"))]) == 0
    return json.loads(out.read_text()), feat


def test_anomalynet_path_with_the_conv_ae_end_to_end(video):
    from dpbench.io import load_tensors

    doc, feat = _job(video, AE_PARAMS, "lista", variant="anet_ae")
    saved = load_tensors(feat)
    # 30 frames, windows of 8 every 2 frames: 12 windows per clip, 21 patches of the 16-channel map each
    assert [tuple(x.shape) for x in saved["test"]] == [(12, 21, 16)] * 3
    assert saved["test_centres"][0].tolist() == list(range(4, 27, 2)) and len(saved["val_clips"]) == 1
    values = {r["metric"]: r["value"] for r in doc["records"]}
    assert set(values) == {"auc", "eer", "auc_video_norm", "eer_video_norm", "fps", "steps"}
    assert {r["variant"] for r in doc["records"]} == {"anet_ae"}
    assert 0 <= values["auc"] <= 1 and values["steps"] > 0 and values["fps"] > 0
    meta = doc["meta"]
    assert meta["pipeline"] == "anomalynet" and meta["vector_dim"] == 16 and meta["n_atoms"] == 16  # square, as AnomalyNet
    assert meta["features"]["backbone"] == "conv_ae" and meta["val_clips"] == saved["val_clips"]
    assert doc["params"]["cost"] == "reconstruction" and doc["params"]["anomalynet"]["ae"]["patience"] == 3


def test_anomalynet_path_with_random_resnet50_weights(video):
    params = {**AE_PARAMS, "n_atoms": 64, "max_train_patches": 500,
              "anomalynet": {"backbone": "resnet50", "weights": "random", "frames": 10, "stride": 10, "input_size": [128, 128]}}
    doc, feat = _job(video, params, "ista")
    from dpbench.io import load_tensors

    assert load_tensors(feat)["test"][0].shape == (3, 21, 2048)  # a 4 x 4 map: 1 + 4 + 16 patches of 2048
    assert doc["meta"]["features"]["weights"] == "random" and doc["meta"]["steps"] == 0


def test_a_features_file_of_other_parameters_is_refused(video, capsys):
    _job(video, AE_PARAMS, "ista", variant="anet_ae")
    other = {**AE_PARAMS, "anomalynet": {**AE_PARAMS["anomalynet"], "frames": 6}}
    rc = main(["anomaly-run", "--dataset", "synthetic", "--prepared", str(video / "prep"), "--seed", "0", "--params",
               json.dumps(other), "--model", "ista", "--features", str(video / "anet_ae.features.pt"), "--device", "cpu",
               "--output", str(video / "x.json")])
    assert rc == 1 and "rerun anomaly-features" in capsys.readouterr().err
    rc = main(["anomaly-run", "--dataset", "synthetic", "--prepared", str(video / "prep"), "--seed", "0", "--params",
               json.dumps(AE_PARAMS), "--model", "ista", "--device", "cpu", "--output", str(video / "y.json")])
    assert rc == 1 and "pass --features" in capsys.readouterr().err


def test_anomalynet_params_are_checked_by_name():
    from dpbench.anomaly.scoring import resolve_params

    with pytest.raises(ValueError, match=r"anomalynet\.blocks"):
        resolve_params({"pipeline": "anomalynet", "anomalynet": {"blocks": 3}})
    with pytest.raises(ValueError, match=r"anomalynet\.ae\.depth"):
        resolve_params({"pipeline": "anomalynet", "anomalynet": {"ae": {"depth": 3}}})
    with pytest.raises(ValueError, match="1 x 1 grid first"):
        resolve_params({"pipeline": "anomalynet", "anomalynet": {"score": "srnn", "grids": [2, 4]}})
    with pytest.raises(ValueError, match="'pipeline'"):
        resolve_params({"pipeline": "anomalynet2"})
    p = resolve_params({"pipeline": "anomalynet"})
    assert p["cost"] == "reconstruction" and p["anomalynet"]["frames"] == 20 and p["anomalynet"]["pool"] == "max"
    assert resolve_params({})["cost"] == "lasso"


def test_a_faster_object_leaves_a_longer_fainter_dynamic_image():
    """Why speed anomalies (Ped2's bikes) are hard to see in a dynamic image without a backbone that knows
    shapes: a pixel an object crosses in fewer frames gets fewer frames' weight, so a faster square leaves a
    longer but fainter trail, while the frame difference of the same motion grows with the speed."""
    T, size, box = 20, 160, 6
    peaks, lengths, energies = [], [], []
    for speed in (1, 2, 4):
        frames = torch.zeros(T, 16, size)
        for t in range(T):
            frames[t, 5 : 5 + box, 2 + speed * t : 2 + speed * t + box] = 1.0
        di = motion.fuse(frames, motion="dynamic_image", n_frames=T, stride=1, normalisation="none")[0]
        peaks.append(float(di.abs().max()))
        lengths.append(int((di.abs().amax(dim=0) > 1e-6).sum()))
        energies.append(float((frames[1:] - frames[:-1]).abs().mean()))
    assert peaks[0] > peaks[1] > peaks[2] and lengths[0] < lengths[1] < lengths[2]
    assert energies[0] < energies[1] < energies[2]
