"""Image tasks of the sparse coders (dpbench.tasks.images): data, metrics, pipelines, parameter checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from dpbench.cli import UserError, main
from dpbench.data.datasets import prepare_dataset
from dpbench.images.data import holdout_mask, load_image_data, resolve_data_params
from dpbench.sparse.dictionary import learn_dictionary
from dpbench.tasks.images import (
    reconstruction_metrics,
    resolve_dict_params,
    resolve_train_params,
    run_supervised,
    run_unsupervised,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A small digits subset (400 train / 200 test) and a 32-atom dictionary learned on it."""
    path = tmp_path_factory.mktemp("prepared") / "digits.pt"
    prepare_dataset("digits", path.parent / "raw", path)
    data = load_image_data("digits", path, resolve_data_params("digits", {"n_train": 400, "n_test": 200}))
    D = learn_dictionary(data.x_train, 32, 0.1, seed=0, n_iter=2)
    return data, D


def test_holdout_is_stratified_and_seed_independent():
    labels = np.repeat(np.arange(4), 9)
    mask = holdout_mask(labels, 3)
    assert mask.sum() == 12 and all(mask[labels == c].sum() == 3 for c in range(4))
    assert np.array_equal(mask, holdout_mask(labels, 3))


def test_digits_split_is_two_thirds_one_third(digits, tmp_path):
    path = tmp_path / "digits.pt"
    prepare_dataset("digits", tmp_path / "raw", path)
    data = load_image_data("digits", path, resolve_data_params("digits", {}))
    assert len(data.x_train) + len(data.x_test) == 1797
    assert abs(len(data.x_test) / 1797 - 1 / 3) < 0.01
    assert data.to_images(data.x_test).shape == (len(data.x_test), 1, 8, 8)


def test_sample_patches_windows_round_trip():
    params = resolve_data_params("sample_patches", {"n_patches": 200, "crop": 32, "center": True, "scale": "std"})
    data = load_image_data("sample_patches", None, params)
    assert not data.labelled and data.x_train.shape == (200, 64) and data.x_test.shape == (2 * 16, 64)
    windows = data.to_images(data.x_test)  # centring and scaling undone, patches reassembled
    assert windows.shape == (2, 1, 32, 32) and windows.min() >= 0 and windows.max() <= 1
    from dpbench.images.data import grey_photographs

    china = grey_photographs()[0]
    from dpbench.images.data import textured_window

    r0, c0 = textured_window(china, 32)
    assert c0 >= china.shape[1] // 2  # held out: the training patches come from the left half
    np.testing.assert_allclose(windows[0, 0], china[r0 : r0 + 32, c0 : c0 + 32], atol=1e-5)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_reconstruction_metrics_equal_scikit_image():
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(0)
    a = rng.random((3, 1, 16, 16))
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    m = reconstruction_metrics(a, b)
    assert m["mse"] == pytest.approx(mean_squared_error(a, b))
    assert m["psnr"] == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0))
    per_image = [structural_similarity(a[i, 0], b[i, 0], data_range=1.0) for i in range(3)]
    assert m["ssim"] == pytest.approx(np.mean(per_image))
    assert reconstruction_metrics(a, a)["ssim"] == pytest.approx(1.0)


def test_code_classification_beats_chance_and_ista_improves_with_iterations(digits):
    data, D = digits
    params = resolve_train_params({"epochs": 2})
    ista = run_unsupervised(data, D, 0.1, "ista", [1, 50], params, 0, CPU, classify=True)
    acc = {r["layers"]: r["value"] for r in ista["classification"]}
    psnr = {r["layers"]: r["value"] for r in ista["reconstruction"] if r["metric"] == "psnr"}
    assert min(acc.values()) > 0.5  # chance: 0.1
    assert psnr[50] > psnr[1] + 1.0
    assert ista["samples"]["reconstruction"].shape == (8, 1, 8, 8) and ista["samples"]["layers"] == 50

    lista = run_unsupervised(data, D, 0.1, "lista", [2], params, 0, CPU, classify=True)
    assert lista["classification"][0]["value"] > 0.5 and lista["train_losses"][2][-1] < lista["train_losses"][2][0]
    metrics = {r["metric"] for r in lista["reconstruction"]}
    assert metrics == {"mse", "psnr", "ssim", "sparsity"}


def test_supervised_head_trains(digits):
    data, D = digits
    out = run_supervised(data, D, 0.1, "lista", [3], resolve_train_params({"sup_epochs": 4, "sup_lr": 3e-3}), 0, CPU)
    losses = out["train_losses"][3]
    assert losses[-1] < losses[0]
    assert out["records"][0]["value"] > 0.5 and out["records"][0]["layers"] == 3


def test_unknown_parameters_are_named():
    with pytest.raises(UserError, match="epochz"):
        resolve_train_params({"epochz": 3})
    with pytest.raises(UserError, match="n_atomz"):
        resolve_dict_params({"n_atomz": 3})
    with pytest.raises(UserError, match="gray"):
        resolve_data_params("digits", {"gray": True})
    with pytest.raises(UserError, match="layer_loss"):
        resolve_train_params({"layer_loss": "last"})


def test_cli_reports_unknown_parameter(tmp_path, capsys):
    code = main(["images-dictionary", "--dataset", "sample_patches", "--seed", "0", "--dict-params", '{"lamda": 1}',
                 "--output", str(tmp_path / "d.pt")])
    assert code == 1 and "lamda" in capsys.readouterr().err


def test_schema_refuses_unknown_image_keys(repo):
    import jsonschema

    schema = yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())
    config = yaml.safe_load((repo / "config.yaml").read_text())
    jsonschema.validate(config, schema)
    for bad in ({"n_atomz": 3}, {"train": {"epochz": 3}}, {"params": {"lista": {"options": {"tide": True}}}},
                {"data": {"digits": {"gray": True}}}):
        broken = {**config, "images": {**config["images"], **bad}}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
