"""SC2Net against its paper (issue 29): LFISTA, LISTA/LFISTA in SC2Net's framework (tied decoder), Adadelta,
the authors' evaluation protocol, SC2Net's CIFAR-10 features, published numbers and claims."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import torch

from dpbench import registry
from dpbench.io import save_tensors
from dpbench.params import UserError
from dpbench.sparse import build_model, lasso_objective

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def _problem(m: int = 12, n: int = 24, batch: int = 6, dtype: torch.dtype = torch.float64):
    gen = torch.Generator().manual_seed(0)
    D = torch.randn(m, n, generator=gen, dtype=dtype)
    return D / D.norm(dim=0), torch.randn(batch, m, generator=gen, dtype=dtype)


# ----------------------------------------------------------------------------- LFISTA


def test_lfista_layers_follow_moreau_and_bruna_with_any_weights():
    """z_1 = eta(W_e^1 x), z_k = eta(W_e^k x + W_g^k z_{k-1} + W_m^k z_{k-2}): checked by hand on perturbed
    weights (a swapped W_g / W_m or a wrong layer index fails)."""
    from dpbench.sparse.base import soft_threshold

    D, x = _problem()
    model = build_model("lfista", D, 0.2, 4)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
        W_e, W_g, W_m, th = model.W_e, model.W_g, model.W_m, model.theta
        z1 = soft_threshold(x @ W_e[0].T, th[0])
        z2 = soft_threshold(x @ W_e[1].T + z1 @ W_g[1].T, th[1])
        z3 = soft_threshold(x @ W_e[2].T + z2 @ W_g[2].T + z1 @ W_m[2].T, th[2])
        z4 = soft_threshold(x @ W_e[3].T + z3 @ W_g[3].T + z2 @ W_m[3].T, th[3])
        for got, want in zip(model(x, return_all=True), (z1, z2, z3, z4)):
            torch.testing.assert_close(got, want)


def test_lfista_initialisation_is_fistas_momentum():
    from dpbench.sparse.lfista import fista_momenta

    D, _ = _problem()
    model = build_model("lfista", D, 0.2, 5)
    L = torch.linalg.matrix_norm(D, ord=2) ** 2
    G = torch.eye(24, dtype=D.dtype) - D.T @ D / L
    m = fista_momenta(5)
    t2 = (1 + 5**0.5) / 2
    t3 = (1 + (1 + 4 * t2 * t2) ** 0.5) / 2
    assert m[0] == 0.0 and m[1] == pytest.approx((t2 - 1) / t3, rel=1e-12)
    for k in range(1, 5):  # layer k (0-based) mixes with FISTA's m_k (1-based)
        torch.testing.assert_close(model.W_g[k].detach(), (1 + m[k - 1]) * G)
        torch.testing.assert_close(model.W_m[k].detach(), -m[k - 1] * G)
    torch.testing.assert_close(model.theta.detach(), torch.full((5, 24), 0.2 / float(L), dtype=D.dtype))


@pytest.mark.parametrize("name", [n for n in registry.model_names("sparse") if registry.MODELS[n].fista_at_init is not None])
def test_models_that_claim_it_are_fista_at_init(name):
    D, x = _problem()
    fista = build_model("fista", D, 0.2, 7)(x, return_all=True)
    model = build_model(name, D, 0.2, 7, **registry.MODELS[name].fista_at_init)
    with torch.no_grad():
        for a, b in zip(fista, model(x, return_all=True)):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
        # and it is not ISTA (the momentum matters from the third layer on)
        ista = build_model("ista", D, 0.2, 7)(x)
        assert float((model(x) - ista).abs().max()) > 1e-6


def test_tied_lfista_is_recurrent_and_learns_its_momentum_from_zero():
    D, x = _problem(dtype=torch.float32)
    model = build_model("lfista", D, 0.1, 3, tied=True)
    assert model.recurrent and not model.W_m.detach().any()
    assert model(x, n_layers=9).shape == (6, 24)  # any depth
    lasso_objective(x, model(x), D, 0.1).backward()
    assert model.W_m.grad.abs().sum() > 0 and model.W_g.grad.abs().sum() > 0
    assert model.shared_parameters() == {"W_e", "W_g", "W_m", "theta"}
    assert build_model("lfista", D, 0.1, 3).shared_parameters() == set()


def test_untied_lfista_trains_with_the_staged_schedule():
    """The synthetic task's staged training masks per-layer parameters: dim 0 must be the layer."""
    from dpbench.sparse.staged import gradient_scales

    D, _ = _problem(dtype=torch.float32)
    model = build_model("lfista", D, 0.1, 4)
    scales = gradient_scales(model, 1, True, 0.3)
    assert set(scales) == {"W_e", "W_g", "W_m", "theta"} and all(s.shape[0] == 4 for s in scales.values())


def test_lfista_runs_in_the_synthetic_task_with_the_staged_schedule():
    from dpbench.tasks.synthetic import run_synthetic

    params = {"m": 16, "n": 32, "n_layers": 4, "lr": 2e-3, "n_val": 200, "val_every": 5, "patience": 10, "max_steps": 40,
              "n_test": 200, "fista_iters": 500}
    info: dict = {}
    records = run_synthetic("lfista", params, seed=0, device="cpu", info=info)
    nmse = {r["layers"]: r["value"] for r in records if r["metric"] == "nmse_db"}
    assert sorted(nmse) == [1, 2, 3, 4] and all(np.isfinite(list(nmse.values())))
    assert info["train_stages"] == 12 and info["train_steps"] > 0


def test_lfista_runs_in_the_anomaly_task(tmp_path):
    from dpbench.cli import main

    root = tmp_path
    assert main(["anomaly-synth", "--root", str(root / "raw"), "--seed", "0", "--train-clips", "2", "--test-clips", "2", "--frames", "20"]) == 0
    assert main(["anomaly-prepare", "--dataset", "synthetic", "--data-dir", str(root / "raw"), "--output", str(root / "prep")]) == 0
    params = {"patch": 6, "max_train_patches": 1000, "dict_iter": 2, "max_steps": 20, "eval_every": 10, "patience": 3, "n_layers": 4}
    out = root / "lfista.json"
    assert main(["anomaly-run", "--dataset", "synthetic", "--prepared", str(root / "prep"), "--model", "lfista", "--seed", "0",
                 "--params", json.dumps(params), "--device", "cpu", "--output", str(out), "--scores-output", str(root / "s.csv")]) == 0
    values = {r["metric"]: r["value"] for r in json.loads(out.read_text())["records"]}
    assert 0.0 <= values["auc"] <= 1.0 and values["steps"] > 0


# ----------------------------------------------------------------------------- SC2Net's framework


def test_tied_decoder_starts_at_the_dictionary_and_moves_with_the_encoder():
    from dpbench.sparse.train import train_encoder

    D, _ = _problem(dtype=torch.float32)
    x = torch.randn(64, 12, generator=torch.Generator().manual_seed(1))
    for name in ("lista_sc2net", "lfista_sc2net", "sc2net[decoder=tied,init=ista,activation=soft]"):
        model = build_model(name, D, 0.1, 3)
        assert model.tied_decoder and model.recurrent
        torch.testing.assert_close(model.decoder_matrix().detach(), D, atol=1e-6, rtol=0)
        before = lasso_objective(x, model(x), model.decoder_matrix(), 0.1).item()
        result = train_encoder(model, x, D, 0.1, epochs=5, batch_size=16, lr=1e-2, generator=torch.Generator().manual_seed(0), log_every=0)
        decoder = model.decoder_matrix().detach()
        torch.testing.assert_close(result.D, decoder)  # the decoder the task reconstructs with
        torch.testing.assert_close(decoder, model.decoder_scale * model.input_matrix().detach().T)
        assert float((decoder - D).abs().max()) > 1e-4, name  # it moved with W_e
        assert lasso_objective(x, model(x), decoder, 0.1).item() < before, name
    assert not build_model("lista", D, 0.1, 3).tied_decoder
    with pytest.raises(ValueError, match="decoder"):
        build_model("lista", D, 0.1, 3, decoder="free")


def test_tied_decoder_refuses_a_second_decoder_and_code_regression():
    from dpbench.sparse.train import train_encoder

    D, _ = _problem(dtype=torch.float32)
    x = torch.randn(32, 12)
    with pytest.raises(ValueError, match="second decoder"):
        train_encoder(build_model("lista_sc2net", D, 0.1, 3), x, D, 0.1, epochs=1, learn_dictionary=True, log_every=0)
    with pytest.raises(ValueError, match="tied decoder"):
        train_encoder(build_model("lista_sc2net", D, 0.1, 3), x, D, 0.1, epochs=1, mode="regress", log_every=0)


@pytest.mark.parametrize("task", ["synthetic", "anomaly"])
def test_sc2net_framework_models_are_refused_where_no_decoder_is_trained_with_the_reason(task):
    from dpbench.sparse import check_model

    for name in ("lista_sc2net", "lfista_sc2net[tied=false]"):
        with pytest.raises(UserError, match=f"does not run in the {task} task: .*tied LISTA / LFISTA"):
            check_model(name, task=task)
    check_model("lista_sc2net", task="images")
    check_model("lfista", task=task)  # LFISTA itself runs everywhere
    assert registry.MODELS["lista_sc2net"].tasks == ("images",)


def test_synthetic_job_refuses_a_framework_model():
    from dpbench.tasks.synthetic import run_synthetic

    with pytest.raises(UserError, match="synthetic task"):
        run_synthetic("lfista_sc2net", {}, 0, CPU)


def test_fista_codes_in_gram_form_equal_fista():
    from dpbench.sparse.train import fista_codes

    D, x = _problem(m=30, n=10)  # more features than atoms: the Gram form
    torch.testing.assert_close(fista_codes(x, D, 0.1, 50), build_model("fista", D, 0.1, 50)(x), atol=1e-10, rtol=0)


def test_the_gated_reading_of_table_2_with_its_gates_fixed_is_lista_and_lfista():
    """sc2net[init=ista,activation=soft] is SC2Net's gates on tied LISTA, with momentum=true on tied LFISTA:
    with the gates fixed (i = 1, f = 0) and LFISTA's weights copied in, the cell is LFISTA exactly."""
    D, x = _problem()
    lfista = build_model("lfista", D, 0.2, 5, tied=True)
    gated = build_model("sc2net", D, 0.2, 5, init="ista", activation="soft", fixed_gates=True, momentum=True)
    with torch.no_grad():
        lfista.W_m.add_(0.05 * torch.randn_like(lfista.W_m))
        gated.W_e.copy_(lfista.W_e[0])
        gated.S.copy_(lfista.W_g[0])
        gated.M.copy_(lfista.W_m[0])
        gated.theta.copy_(lfista.theta[0])
        for a, b in zip(lfista(x, return_all=True), gated(x, return_all=True)):
            torch.testing.assert_close(a, b)
    learned = build_model("sc2net", D, 0.2, 3, init="ista", activation="soft", momentum=True)
    assert not learned.M.detach().any() and {"W_i", "W_f", "M"} <= {n for n, _ in learned.named_parameters()}
    lasso_objective(x, learned(x), D, 0.2).backward()
    assert learned.M.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- Adadelta


def test_adadelta_is_the_papers_optimizer_and_trains():
    from dpbench.sparse.train import make_optimizer, train_encoder

    D, _ = _problem(dtype=torch.float32)
    model = build_model("lfista", D, 0.1, 3)
    opt = make_optimizer("adadelta", list(model.parameters()), 1.0)
    assert isinstance(opt, torch.optim.Adadelta)
    assert opt.defaults["rho"] == 0.95 and opt.defaults["eps"] == 1e-8 and opt.defaults["lr"] == 1.0
    with pytest.raises(ValueError, match="rmsprop"):
        make_optimizer("rmsprop", list(model.parameters()), 1.0)
    x = torch.randn(128, 12, generator=torch.Generator().manual_seed(2))
    result = train_encoder(model, x, D, 0.1, epochs=8, batch_size=32, lr=1.0, optimizer="adadelta",
                           generator=torch.Generator().manual_seed(0), log_every=0)
    assert result.losses[-1] < result.losses[0]


# ----------------------------------------------------------------------------- the authors' protocol


def test_authors_permutation_is_numpys_seeded_shuffle():
    from dpbench.images.protocols import authors_permutation

    rows = np.arange(60).reshape(20, 3).astype(float)
    np.random.seed(10023)
    np.random.shuffle(rows)  # what lista_reg_mnist.py does to the pooled images (a 2-D array)
    np.testing.assert_array_equal(rows[:, 0] / 3, authors_permutation(20))


def _fake_mnist(path, n_train: int = 60, n_test: int = 10, side: int = 4):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_train + n_test, 1, side, side), generator=gen, dtype=torch.uint8)
    images[:, :, 0, 0] = 0  # a pixel constant over the training part ...
    images[n_train, 0, 0, 0] = 200  # ... but not on one test image: the authors' 1e-10 quirk
    labels = torch.arange(n_train + n_test) % 3
    split = torch.cat([torch.zeros(n_train, dtype=torch.int8), torch.ones(n_test, dtype=torch.int8)])
    save_tensors(path, {"images": images, "labels": labels, "split": split, "scale": 255.0})
    return images.reshape(n_train + n_test, -1).double() / 255.0, labels


def test_authors_split_pools_standardises_and_halves(tmp_path, monkeypatch):
    from dpbench.images import protocols
    from dpbench.images.data import load_image_data, resolve_data_params

    monkeypatch.setattr(protocols, "AUTHORS_MNIST_TRAIN", 50)  # 50 of 60 training images, as 50,000 of 60,000
    flat, labels = _fake_mnist(tmp_path / "mnist.pt")
    data = load_image_data("mnist", tmp_path / "mnist.pt", resolve_data_params("mnist", {"protocol": "authors"}))
    assert data.protocol == "authors" and len(data.x_train) == len(data.x_test) == 30  # (50 + 10) / 2
    part = flat[:50]
    mean, std = part.mean(0), part.std(0, unbiased=False) + 1e-10
    pooled = torch.cat([flat[:50], flat[60:]])  # the validation part (rows 50-59) is dropped
    order = np.random.RandomState(10023).permutation(60)
    expected = ((pooled[order] - mean) / std).float()
    torch.testing.assert_close(torch.cat([data.x_train, data.x_test]), expected)
    assert torch.equal(torch.cat([data.y_train, data.y_test]), torch.cat([labels[:50], labels[60:]])[order])
    assert float(torch.cat([data.x_train, data.x_test]).abs().max()) > 1e9  # 200/255 / 1e-10
    pixels = data.to_images(data.x_test)  # the standardisation undone
    np.testing.assert_allclose(pixels.reshape(30, -1), pooled[order][30:].numpy(), atol=1e-5)


def test_authors_protocol_is_refused_where_it_is_not_defined(tmp_path):
    from dpbench.images.data import resolve_data_params

    with pytest.raises(UserError, match="digits"):
        resolve_data_params("digits", {"protocol": "authors"})
    with pytest.raises(UserError, match="standardises"):
        resolve_data_params("mnist", {"protocol": "authors", "scale": "std"})
    with pytest.raises(UserError, match="protocol"):
        resolve_data_params("mnist", {"protocol": "paper"})


def test_authors_protocol_on_the_real_mnist(mnist_dir):
    """The quirks the protocol keeps, on the official files: 67 pixels constant over the first 50,000
    training images, one test image non-zero at one of them (a value near 1e9 after standardisation)."""
    from dpbench.images.protocols import authors_mnist

    def read(name: str, offset: int) -> np.ndarray:
        with gzip.open(mnist_dir / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    images = np.concatenate([read("train-images-idx3-ubyte.gz", 16), read("t10k-images-idx3-ubyte.gz", 16)]).reshape(-1, 784)
    labels = torch.as_tensor(np.concatenate([read("train-labels-idx1-ubyte.gz", 8), read("t10k-labels-idx1-ubyte.gz", 8)]).astype(np.int64))
    split = np.r_[np.zeros(60000, np.int8), np.ones(10000, np.int8)]
    x_tr, x_te, y_tr, y_te, mean, std = authors_mnist(torch.as_tensor(images, dtype=torch.float32) / 255, labels, split)
    assert len(x_tr) == len(x_te) == 30000
    assert int((std == 1e-10).sum()) == 67
    huge = torch.cat([x_tr, x_te]).abs().amax(1) > 1e6
    assert int(huge.sum()) == 1
    assert torch.bincount(torch.cat([y_tr, y_te])).tolist() == np.bincount(np.r_[labels[:50000], labels[60000:]]).tolist()


def test_the_authors_classifier_learns_and_lbfgs_minimises_the_keras_objective():
    from dpbench.images.protocols import softmax_adadelta_accuracy, softmax_lbfgs_accuracy

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 5)) * 3
    y = rng.integers(0, 3, 300)
    z = centres[y] + rng.normal(size=(300, 5))
    # Adadelta (epsilon 1e-8) starts with steps near 1e-4: it needs some 2,500 steps here
    assert softmax_adadelta_accuracy(z[:200], y[:200], z[200:], y[200:], seed=0, epochs=200, batch_size=16) > 0.9
    assert softmax_lbfgs_accuracy(z[:200], y[:200], z[200:], y[200:], seed=0) > 0.9
    # scikit-learn's C = 1 / (2 l2 n) minimises Keras' mean cross-entropy + l2 ||W||^2: zero gradient there
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1 / (2 * 0.01 * 200), tol=1e-10, max_iter=10_000).fit(z[:200], y[:200])
    W = torch.tensor(clf.coef_, requires_grad=True)
    b = torch.tensor(clf.intercept_, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(torch.as_tensor(z[:200]) @ W.T + b, torch.as_tensor(y[:200])) + 0.01 * W.pow(2).sum()
    loss.backward()
    assert float(W.grad.abs().max()) < 1e-5 and float(b.grad.abs().max()) < 1e-5


def test_an_image_job_under_the_authors_protocol_records_it(tmp_path, monkeypatch):
    """images-dictionary + images-run on a small MNIST-shaped file: every record carries protocol
    'authors', the supervised accuracy is the classifier's on the codes and the head's is kept."""
    from dpbench.cli import main
    from dpbench.images import protocols

    monkeypatch.setattr(protocols, "AUTHORS_MNIST_TRAIN", 50)
    _fake_mnist(tmp_path / "mnist.pt")
    data = json.dumps({"protocol": "authors"})
    assert main(["images-dictionary", "--dataset", "mnist", "--prepared", str(tmp_path / "mnist.pt"), "--data-params", data,
                 "--dict-params", '{"n_atoms": 8, "lam": 0.1, "n_iter": 1}', "--seed", "0", "--output", str(tmp_path / "D.pt")]) == 0
    params = {"optimizer": "adadelta", "lr": 1.0, "sup_lr": 1.0, "epochs": 2, "sup_epochs": 2, "batch_size": 16,
              "sup_batch_size": 16, "sup_loss": "authors"}
    out = tmp_path / "lista_sc2net"
    assert main(["images-run", "--dataset", "mnist", "--prepared", str(tmp_path / "mnist.pt"), "--data-params", data,
                 "--dictionary", str(tmp_path / "D.pt"), "--model", "lista_sc2net", "--seed", "0", "--layers", "3",
                 "--params", json.dumps(params), "--classification-output", str(out / "cls.json"),
                 "--supervised-output", str(out / "sup.json"), "--reconstruction-output", str(out / "rec.json"),
                 "--samples-output", str(out / "s.pt")]) == 0
    for name in ("cls", "sup", "rec"):
        doc = json.loads((out / f"{name}.json").read_text())
        assert {r["protocol"] for r in doc["records"]} == {"authors"}
        assert doc["params"]["data"]["protocol"] == "authors" and doc["params"]["model"]["optimizer"] == "adadelta"
    sup = {r["metric"] for r in json.loads((out / "sup.json").read_text())["records"]}
    assert {"accuracy", "head_accuracy"} <= sup


def test_job_parameters_carry_the_protocol_only_when_it_is_not_official():
    from dpbench.tasks.jobs import images_data_params

    config = {"images": {"data": {"mnist": {"n_train": 5}}}}
    assert images_data_params(config, "mnist") == {"n_train": 5}  # official runs keep their parameters
    config["images"]["protocol"] = "authors"
    assert images_data_params(config, "mnist") == {"n_train": 5, "protocol": "authors"}


def test_training_parameters_are_checked():
    from dpbench.tasks.images import resolve_train_params

    assert resolve_train_params({"optimizer": "adadelta", "encoder_loss": "codes"})["fista_iters"] == 1000
    for key, bad in (("optimizer", "sgd"), ("encoder_loss", "mse"), ("logreg_solver", "saga")):
        with pytest.raises(UserError, match=key):
            resolve_train_params({key: bad})


# ----------------------------------------------------------------------------- CIFAR-10 features


def test_the_keras_cifar10_cnn_gives_2304_flatten_and_512_dense_features():
    from dpbench.images.cifar_cnn import KerasCifar10CNN

    net = KerasCifar10CNN().eval()
    x = torch.rand(2, 3, 32, 32)
    assert net.features(x).shape == (2, 2304)  # 64 x 6 x 6: the paper's "2,034"
    assert net.features(x, "dense").shape == (2, 512) and net(x).shape == (2, 10)
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 1_250_858  # the Keras example's model.summary() total


def test_cnn_features_job_and_the_feature_dataset(tmp_path):
    """On 40 generated 32x32 images: the job trains a step, writes the features of every image, and the
    image tasks read them (official split and the authors' rows), refusing the reconstruction task."""
    from dpbench.cli import main
    from dpbench.images.data import load_image_data, resolve_data_params

    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 3, 32, 32), generator=gen, dtype=torch.uint8)
    split = torch.cat([torch.zeros(30, dtype=torch.int8), torch.ones(10, dtype=torch.int8)])
    save_tensors(tmp_path / "cifar10.pt", {"images": images, "labels": torch.arange(40) % 10, "split": split, "scale": 255.0})
    params = json.dumps({"epochs": 1, "steps_per_epoch": 2, "batch_size": 4})
    assert main(["images-cnn-features", "--prepared", str(tmp_path / "cifar10.pt"), "--params", params, "--device", "cpu",
                 "--output", str(tmp_path / "cifar10_cnn.pt")]) == 0
    saved = torch.load(tmp_path / "cifar10_cnn.pt", weights_only=True)
    assert saved["features"].shape == (40, 2304) and saved["layer"] == "flatten" and len(saved["losses"]) == 1
    assert not (tmp_path / "cifar10_cnn.pt.ckpt").exists()
    official = load_image_data("cifar10_cnn", tmp_path / "cifar10_cnn.pt", resolve_data_params("cifar10_cnn", {}))
    assert official.x_train.shape == (30, 2304) and official.x_test.shape == (10, 2304)
    authors = load_image_data("cifar10_cnn", tmp_path / "cifar10_cnn.pt", resolve_data_params("cifar10_cnn", {"protocol": "authors"}))
    assert authors.x_train.shape == (30, 2304)  # the first 10,000 training images' (here all 30)
    with pytest.raises(UserError, match="no reconstruction"):
        official.to_images(official.x_test)


# ----------------------------------------------------------------------------- published numbers and claims


def test_every_cell_of_tables_1_and_2_is_published_with_its_source():
    from dpbench.report.paper_comparison import load_reported

    rows = load_reported()
    sc2 = rows[rows["source"].str.contains("SC2Net: Sparse LSTMs")]
    assert len(sc2) == 36 and set(sc2["checked"]) == {"paper"}
    assert all(r == {"protocol": "authors", "dictionary.n_atoms": 100, "dictionary.lam": 0.1, "model.optimizer": "adadelta"}
               for r in sc2["requires"])
    assert (sc2["source"].str.contains("Table 1").sum(), sc2["source"].str.contains("Table 2").sum()) == (20, 16)
    table1 = sc2[sc2["source"].str.contains("Table 1") & (sc2["dataset"] == "mnist")]
    headline = table1.set_index(["task", "ours_model"])["value"]
    assert headline[("classification_unsupervised", "sc2net")] == pytest.approx(0.8981)
    assert headline[("classification_supervised", "lista")] == pytest.approx(0.8755)
    # Table 2's unsupervised LISTA / LFISTA pair differs from Table 1's, and says so
    t2 = sc2[sc2["source"].str.contains("Table 2") & (sc2["dataset"] == "mnist") & (sc2["task"] == "classification_unsupervised")]
    flagged = t2[t2["setting"].str.contains("differs from Table 1")]
    assert sorted(flagged["ours_model"]) == ["lfista", "lista"]


def _summary(protocol: str, optimizer: str, sc2: float, lista: float) -> pd.DataFrame:
    rows = []
    for model, value in (("sc2net", sc2), ("lista", lista)):
        for seed in (0, 1):
            rows.append({"task": "classification_unsupervised", "dataset": "mnist", "model": model, "seed": seed,
                         "metric": "accuracy", "value": value, "layers": 10, "status": "ok", "protocol": protocol,
                         "param.dictionary.n_atoms": 100, "param.dictionary.lam": 0.1, "param.model.optimizer": optimizer})
    return pd.DataFrame(rows)


def test_the_headline_claim_is_judged_only_under_the_papers_protocol():
    from dpbench.report.claims import evaluate, load_claims

    _, claims = load_claims()
    claim = next(c for c in claims if c.id == "sc2net-beats-lista-by-4-unsupervised")
    assert evaluate(_summary("authors", "adadelta", 0.90, 0.85), [claim])[0].verdict == "holds"
    assert evaluate(_summary("authors", "adadelta", 0.90, 0.88), [claim])[0].verdict == "fails"
    ours = evaluate(_summary("official", "adam", 0.974, 0.968), [claim])[0]
    assert ours.verdict == "not comparable" and "protocol=official (paper: authors)" in ours.note
    assert "model.optimizer=adam" in ours.note


def test_paper_comparison_takes_our_cell_from_the_papers_protocol():
    from dpbench.report.paper_comparison import ours

    summary = pd.concat([_summary("official", "adam", 0.97, 0.96), _summary("authors", "adadelta", 0.91, 0.86)])
    row = pd.Series({"task": "classification_unsupervised", "dataset": "mnist", "metric": "accuracy", "ours_model": "sc2net",
                     "requires": {"protocol": "authors", "model.optimizer": "adadelta"}})
    cell, model = ours(summary, row, "html")
    assert cell.startswith("0.910") and "authors" in model
    cell, _ = ours(summary[summary["protocol"] == "official"], row, "html")
    assert cell.startswith("not comparable") and "protocol=official" in cell
