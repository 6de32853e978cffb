"""TELL's autoencoders pretrained by reconstruction alone (TELL Table 4's fixed features): training,
continuation, the feature kinds ae_mlp / ae_conv, and their place in the clustering grid."""

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from dpbench.cluster.pretrain import encode_all, pretrain_autoencoder
from dpbench.data.datasets import PreparedDataset
from dpbench.data.features import extract_features
from dpbench.tasks import jobs


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return torch.tensor(x[:240] / 16.0, dtype=torch.float32), y[:240]


def _codes(net, x):
    return encode_all(net, x)


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
def test_pretraining_lowers_the_reconstruction_loss_and_gives_unit_codes(digits, encoder):
    x, _ = digits
    net, history = pretrain_autoencoder(x, encoder, {"epochs": 4, "batch_size": 40})
    assert len(history) == 4 and history[-1] < history[0]
    z = _codes(net, x)
    assert z.shape == (240, 10) and torch.allclose(z.norm(dim=1), torch.ones(240), atol=1e-5)
    # the clustering layer is not trained (lambda = 0): it keeps its initial weights
    fresh, _ = pretrain_autoencoder(x, encoder, {"epochs": 1, "batch_size": 40})
    assert torch.equal(net.cluster_layer.weight, fresh.cluster_layer.weight)


def test_a_longer_pretraining_continues_a_shorter_one(digits, tmp_path, monkeypatch):
    x, _ = digits
    ckpt = tmp_path / "ae_mlp.pt.ae.ckpt"
    pretrain_autoencoder(x, "mlp", {"epochs": 2, "batch_size": 40}, ckpt)
    assert ckpt.exists()
    batches = []
    real = torch.Tensor.backward
    monkeypatch.setattr(torch.Tensor, "backward", lambda self, *a, **k: batches.append(1) or real(self, *a, **k))
    longer, history = pretrain_autoencoder(x, "mlp", {"epochs": 3, "batch_size": 40, "checkpoint_every": 1}, ckpt)
    assert len(batches) == 6  # one epoch of 240 / 40 batches: only the third epoch ran
    monkeypatch.setattr(torch.Tensor, "backward", real)
    direct, direct_history = pretrain_autoencoder(x, "mlp", {"epochs": 3, "batch_size": 40})
    assert history == direct_history
    assert torch.equal(_codes(longer, x), _codes(direct, x))
    with pytest.raises(ValueError, match="holds 3 epochs, more than the 2 asked for"):
        pretrain_autoencoder(x, "mlp", {"epochs": 2, "batch_size": 40}, ckpt)


def test_feature_kinds_ae_take_pretraining_parameters_and_others_none(digits):
    x, y = digits
    images = (x * 16).round().to(torch.uint8).reshape(-1, 1, 8, 8)
    data = PreparedDataset(images, torch.as_tensor(y), torch.zeros(len(y), dtype=torch.int8), 16.0)
    feats, meta = extract_features(data, "ae_conv", torch.device("cpu"), params={"epochs": 2, "batch_size": 60})
    assert feats.shape == (240, 10) and len(meta["reconstruction_loss"]) == 2
    assert meta["params"] == {"epochs": 2, "batch_size": 60, "seed": 0, "checkpoint_every": 5}
    json.dumps(meta)  # stored in the feature file as JSON
    with pytest.raises(ValueError, match="'pixels' takes no parameters"):
        extract_features(data, "pixels", torch.device("cpu"), params={"epochs": 2})
    with pytest.raises(ValueError, match="unknown autoencoder parameter.*'lr'"):
        extract_features(data, "ae_mlp", torch.device("cpu"), params={"lr": 1.0})
    colour = PreparedDataset(torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8), torch.arange(8), torch.zeros(8, dtype=torch.int8), 255.0)
    feats, _ = extract_features(colour, "ae_conv", torch.device("cpu"), params={"epochs": 1, "batch_size": 4})
    assert feats.shape == (8, 10)  # TELL's NetConv(channel=3) for colour images


def test_the_grid_clusters_autoencoder_codes_with_every_model_but_end_to_end_tell():
    config = {"clustering": {
        "datasets": ["mnist"], "cnn_features": [],
        "models": ["kmeans", "kmeansnet_tell", "kmeansnet_tell[encoder=mlp]", "kmeansnet_tell[encoder=none]"],
        "autoencoders": {"datasets": ["mnist"], "kinds": ["ae_mlp", "ae_conv"], "params": {"epochs": 50, "seed": 0},
                         "ae_conv": {"epochs": 20}},
        "params": {"kmeansnet_tell": {"epochs": 3001}},
    }}
    runs = jobs.cluster_runs(config)
    on_pixels = [m for d, f, m in runs if f == "pixels"]
    assert on_pixels == config["clustering"]["models"]
    for kind in ("ae_mlp", "ae_conv"):
        assert [m for d, f, m in runs if f == kind] == ["kmeans", "kmeansnet_tell[encoder=none]"]
    assert jobs.autoencoder_params(config, "ae_mlp") == {"epochs": 50, "seed": 0}
    assert jobs.autoencoder_params(config, "ae_conv") == {"epochs": 20, "seed": 0}
    # an encoder set in the config, not in the name, counts too
    config["clustering"]["params"]["kmeansnet_tell"]["encoder"] = "none"
    assert ("mnist", "ae_mlp", "kmeansnet_tell") in jobs.cluster_runs(config)
    assert np.array_equal(sorted({f for _, f, _ in runs}), ["ae_conv", "ae_mlp", "pixels"])


def test_a_model_may_run_its_own_seeds():
    config = {"seeds": [0, 1], "clustering": {"seeds": [0, 1, 2], "model_seeds": {"kmeansnet_tell[encoder=conv]": [0]}}}
    assert jobs.cluster_seeds(config, "kmeansnet_tell[encoder=conv]") == [0]
    assert jobs.cluster_seeds(config, "kmeansnet_tell") == [0, 1, 2]


def test_a_job_on_autoencoder_codes_names_the_pretraining_in_its_parameters(digits, tmp_path):
    from dpbench.io import read_json, save_tensors
    from dpbench.tasks import clustering

    x, y = digits
    features = tmp_path / "ae_mlp.pt"
    meta = {"params": {"epochs": 7, "batch_size": 256, "seed": 0, "checkpoint_every": 5}, "reconstruction_loss": [0.1, 0.05]}
    save_tensors(features, {"features": x[:, :10].contiguous(), "labels": torch.as_tensor(y), "meta_json": json.dumps(meta)})
    pred, out = tmp_path / "pred.pt", tmp_path / "metrics.json"
    clustering.fit(str(features), "kmeans", 0, {"n_init": 1}, "cpu", str(pred))
    clustering.evaluate(str(pred), str(features), "digits", "ae_mlp", "kmeans", 0, str(out))
    doc = read_json(out)
    assert doc["params"]["pretrain"]["epochs"] == 7 and doc["meta"]["pretrain_final_loss"] == 0.05
