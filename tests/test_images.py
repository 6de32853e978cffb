"""Image tasks of the sparse coders (dpbench.tasks.images): data, metrics, pipelines, parameter checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from dpbench.cli import main
from dpbench.data.datasets import prepare_dataset
from dpbench.images.data import holdout_mask, load_image_data, resolve_data_params
from dpbench.metrics import reconstruction_metrics
from dpbench.params import UserError
from dpbench.sparse.dictionary import learn_dictionary
from dpbench.tasks.images import (
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


def test_learned_dictionary_moves_with_the_encoder_and_keeps_unit_atoms(digits):
    from dpbench.tasks.images import trained_encoder

    data, D = digits
    params = resolve_train_params({"epochs": 2, "learn_dictionary": True})
    model, losses, decoder = trained_encoder("lista", D, 0.1, 2, data.x_train, params, 0, CPU)
    assert decoder.shape == D.shape and not torch.allclose(decoder, D)
    torch.testing.assert_close(decoder.norm(dim=0), torch.ones(D.shape[1]))
    assert torch.equal(model.D, D)  # the encoder's own copy (its initialisation) is untouched
    with pytest.raises(UserError, match="ista"):
        trained_encoder("ista", D, 0.1, 2, data.x_train, params, 0, CPU)


def test_supervised_loss_weights_and_gate_records(digits):
    from dpbench.tasks.images import loss_weights

    assert loss_weights(resolve_train_params({})) == (1.0, 0.01)
    assert loss_weights(resolve_train_params({"sup_loss": "authors"})) == (0.1, 1.0)  # Lasso + 0.1 x cross-entropy
    with pytest.raises(UserError, match="sup_loss"):
        resolve_train_params({"sup_loss": "theirs"})
    data, D = digits
    params = resolve_train_params({"sup_epochs": 2, "sup_loss": "authors", "learn_dictionary": True})
    out = run_supervised(data, D, 0.1, "sc2net", [1, 3], params, 0, CPU)
    metrics = [(r["metric"], r["layers"]) for r in out["records"]]
    assert metrics[:2] == [("accuracy", 1), ("accuracy", 3)]  # gates of the deepest network only, per layer
    assert metrics[2:] == [("input_gate_mean", t) for t in (1, 2, 3)] + [("forget_gate_mean", t) for t in (1, 2, 3)]
    assert all(0 < r["value"] < 1 for r in out["records"][2:])


def test_gate_figure_draws_every_dataset_or_says_there_is_none(tmp_path):
    from dpbench.report.figures import gate_means_vs_layer
    from dpbench.report.plotting import save_figure

    rows = [{"task": "reconstruction", "dataset": d, "model": "sc2net", "seed": s, "metric": m, "value": 0.5, "layers": t, "status": "ok"}
            for d in ("digits", "sample_patches") for s in (0, 1) for m in ("input_gate_mean", "forget_gate_mean") for t in (1, 2)]
    fig = gate_means_vs_layer(pd.DataFrame(rows))
    assert len(fig.axes) == 2 and fig.axes[0].get_ylim() == (0, 1)
    save_figure(fig, tmp_path / "g.pdf", tmp_path / "g.png")
    empty = gate_means_vs_layer(pd.DataFrame(rows).assign(metric="psnr"))
    assert "no model with learned gates" in empty.axes[0].texts[0].get_text()


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


# ---------------------------------------------------------------------------------------------------
# the images-run job: divergence recorded per part, killed jobs resume per depth


@pytest.fixture(scope="module")
def job_inputs(tmp_path_factory):
    """Prepared digits and a 32-atom dictionary, as the workflow's images-dictionary rule writes them."""
    root = tmp_path_factory.mktemp("images_job")
    prepare_dataset("digits", root / "raw", root / "digits.pt")
    data_params = '{"n_test": 200, "n_train": 400}'
    assert main(["images-dictionary", "--dataset", "digits", "--prepared", str(root / "digits.pt"), "--data-params", data_params,
                 "--seed", "0", "--dict-params", '{"n_atoms": 32, "n_iter": 2}', "--output", str(root / "dict.pt")]) == 0
    return root, data_params


def images_run(job_inputs, out, *, layers="1,2", supervised=False, extra=()):
    root, data_params = job_inputs
    params = '{"epochs": 3, "sup_epochs": 2, "logreg_max_iter": 200}'
    argv = ["images-run", "--dataset", "digits", "--prepared", str(root / "digits.pt"), "--data-params", data_params,
            "--dictionary", str(root / "dict.pt"), "--model", "lista", "--seed", "0", "--layers", layers, "--params", params,
            "--device", "cpu", "--reconstruction-output", str(out / "reconstruction.json"),
            "--samples-output", str(out / "samples.pt"), "--classification-output", str(out / "classification_unsupervised.json")]
    if supervised:
        argv += ["--supervised-output", str(out / "classification_supervised.json")]
    return main(argv + list(extra))


def test_divergence_is_recorded_for_its_part_and_the_other_part_still_runs(job_inputs, tmp_path, monkeypatch, nan_loss):
    import json

    from dpbench.io import load_tensors
    from dpbench.report.image_figures import error_figure
    from dpbench.results import load_results

    nan_loss(only=lambda name: "+" not in name)  # "LISTA+Linear" is the supervised loop
    assert images_run(job_inputs, tmp_path, supervised=True) == 0
    for task in ("reconstruction", "classification_unsupervised"):
        doc = json.loads((tmp_path / f"{task}.json").read_text())
        assert doc["status"] == "diverged" and doc["records"] == []
        # checked once per epoch (no read-back inside a step): the message names the epoch's last step
        assert doc["message"].startswith(f"{task}/digits/lista seed 0: depth t=1: LISTA: training diverged at step ")
        assert doc["message"].endswith("loss = nan")
    assert load_tensors(tmp_path / "samples.pt")["status"] == "diverged"
    supervised = load_results([tmp_path / "classification_supervised.json"])
    assert (supervised["status"] == "ok").all() and len(supervised) == 2
    assert not list(tmp_path.glob("images-run.progress*"))

    # the error-map figure leaves the diverged model out and says so; with no model left it says that
    monkeypatch.undo()
    ok = tmp_path / "ok"
    assert images_run(job_inputs, ok, layers="1") == 0
    error_figure([str(ok / "samples.pt"), str(tmp_path / "samples.pt")], ["lista", "sc2net"], "digits", str(tmp_path / "f.pdf"), str(tmp_path / "f.png"))
    error_figure([str(tmp_path / "samples.pt")], ["sc2net"], "digits", str(tmp_path / "g.pdf"), str(tmp_path / "g.png"))
    assert (tmp_path / "f.png").stat().st_size > 0 and (tmp_path / "g.png").stat().st_size > 0


def test_killed_job_resumes_at_the_depth_it_stopped_and_matches_an_uninterrupted_run(job_inputs, tmp_path, interrupter):
    from dpbench.io import load_tensors
    from dpbench.results import load_results

    assert images_run(job_inputs, tmp_path / "ref") == 0
    steps_per_depth = interrupter.calls // 2  # 3 epochs of 4 batches at each of the depths 1 and 2
    assert steps_per_depth == 12

    interrupter.calls, interrupter.at = 0, steps_per_depth + 7  # depth 2, epoch 2: depth 1 and epoch 1 of depth 2 are saved
    with pytest.raises(interrupter.Interrupt):
        images_run(job_inputs, tmp_path / "run")
    assert (tmp_path / "run" / "images-run.progress").exists()
    assert not (tmp_path / "run" / "reconstruction.json").exists()

    interrupter.calls, interrupter.at = 0, 0
    assert images_run(job_inputs, tmp_path / "run") == 0
    assert interrupter.calls == steps_per_depth - 4  # only epochs 2 and 3 of depth 2 ran again
    for name in ("reconstruction.json", "classification_unsupervised.json"):
        ours, ref = load_results([tmp_path / "run" / name]), load_results([tmp_path / "ref" / name])
        pd.testing.assert_frame_equal(ours, ref)
    assert torch.equal(load_tensors(tmp_path / "run" / "samples.pt")["reconstruction"],
                       load_tensors(tmp_path / "ref" / "samples.pt")["reconstruction"])
    assert not list((tmp_path / "run").glob("images-run.progress*"))


def test_job_writes_its_label_and_learns_the_dictionary(job_inputs, tmp_path):
    """A variant's result name (--label) goes in the results; the decoder learned with the encoder is used."""
    import json

    params = '{"epochs": 1, "logreg_max_iter": 200, "learn_dictionary": true}'
    assert images_run(job_inputs, tmp_path, layers="1", extra=["--label", "lista+learned_D", "--params", params]) == 0
    doc = json.loads((tmp_path / "reconstruction.json").read_text())
    assert doc["model"] == "lista+learned_D" and doc["params"]["encoder"] == "lista"
    assert doc["params"]["model"]["learn_dictionary"] is True
