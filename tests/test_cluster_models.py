import pytest
import torch
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import load_digits, make_blobs

from dpbench.cluster import KMeans, KMeansNet, KMeansNetModule
from dpbench.metrics import clustering_accuracy, clustering_scores


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32), y


def test_kmeans_matches_sklearn_on_digits(digits):
    x, y = digits
    ours = KMeans(10, n_init=10, seed=0).fit(x)
    ref = SklearnKMeans(10, n_init=10, random_state=0).fit(x.numpy())
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=0.01)
    assert clustering_accuracy(y, ours.labels_.numpy()) == pytest.approx(clustering_accuracy(y, ref.labels_), abs=0.03)
    assert torch.equal(ours.predict(x), ours.labels_)


def test_kmeans_is_reproducible(digits):
    x, _ = digits
    a = KMeans(10, n_init=2, seed=3).fit(x)
    b = KMeans(10, n_init=2, seed=3).fit(x)
    assert torch.equal(a.labels_, b.labels_)
    assert torch.equal(a.cluster_centers_, b.cluster_centers_)


def test_kmeansnet_layer_is_the_kmeans_distance():
    torch.manual_seed(0)
    centers, x = torch.randn(4, 6), torch.randn(20, 6)
    net = KMeansNetModule(centers)
    w, b = net.weight_bias()
    assert torch.allclose(w, 2 * centers)
    assert torch.allclose(b, -(centers**2).sum(1))
    dist = torch.cdist(x, centers) ** 2
    assert torch.allclose((x**2).sum(1, keepdim=True) - net(x), dist, atol=1e-4)
    assert torch.equal(net(x).argmax(1), dist.argmin(1))


def test_kmeansnet_recovers_separated_blobs():
    x, y = make_blobs(400, n_features=5, centers=4, cluster_std=0.5, random_state=0)
    model = KMeansNet(4, epochs=20, random_state=0).fit(torch.tensor(x, dtype=torch.float32))
    assert clustering_accuracy(y, model.labels_.numpy()) == 1.0
    assert model.cluster_centers_.shape == (4, 5)
    assert model.loss_history_[-1] < model.loss_history_[0]
    assert torch.equal(model.fit_predict(torch.tensor(x, dtype=torch.float32)), model.labels_)


def test_kmeansnet_on_digits_is_reproducible_and_sensible(digits):
    x, y = digits
    a = KMeansNet(10, epochs=5, random_state=1).fit_predict(x)
    b = KMeansNet(10, epochs=5, random_state=1).fit_predict(x)
    assert torch.equal(a, b)
    assert clustering_scores(y, a.numpy())["nmi"] > 0.5


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_kmeans_on_cuda_matches_cpu(digits):
    x, _ = digits
    cpu = KMeans(10, n_init=3, seed=0).fit(x)
    gpu = KMeans(10, n_init=3, seed=0, device="cuda").fit(x)
    assert gpu.inertia_ == pytest.approx(cpu.inertia_, rel=1e-3)
    KMeansNet(10, epochs=2, random_state=0, device="cuda").fit(x)


def test_kmeansnet_keeps_the_start_with_the_lowest_kmeans_objective(digits):
    x, _ = digits
    one = KMeansNet(10, epochs=3, n_init=1, random_state=1).fit(x)
    best = KMeansNet(10, epochs=3, n_init=3, random_state=1).fit(x)
    assert best.inertia_ <= one.inertia_  # its first start is the single-start run
    objective = float((torch.cdist(x, best.cluster_centers_) ** 2).min(1).values.sum())
    assert best.inertia_ == pytest.approx(objective, rel=1e-4)
    with pytest.raises(ValueError, match="n_init"):
        KMeansNet(10, n_init=0).fit(x)


def test_clustering_task_records_the_starts_setting(tmp_path):
    from dpbench.io import read_json, save_tensors
    from dpbench.params import UserError
    from dpbench.tasks import clustering

    x, y = make_blobs(60, n_features=16, centers=3, random_state=0)
    features = tmp_path / "features.pt"
    save_tensors(features, {"features": torch.tensor(x, dtype=torch.float32), "labels": torch.tensor(y)})
    for n_init, label in ((1, "1 start"), (10, "best of 10")):
        pred, out = tmp_path / f"pred{n_init}.pt", tmp_path / f"metrics{n_init}.json"
        clustering.fit(str(features), "kmeans", 0, {"n_init": n_init}, "cpu", str(pred))
        clustering.evaluate(str(pred), str(features), "blobs", "pixels", "kmeans", 0, str(out))
        assert {r["starts"] for r in read_json(out)["records"]} == {label}
    assert clustering.starts_label({"epochs": 3}) == "1 start"  # kmeansnet_tell: no restarts
    with pytest.raises(UserError, match="n_init.*kmeansnet_tell"):
        clustering.build_model("kmeansnet_tell", 3, 0, torch.device("cpu"), {"n_init": 10})


def test_a_diverged_fit_is_reported_with_its_epoch(monkeypatch):
    """The loss is summed on the device and checked once per epoch (no read-back inside a step)."""
    from dpbench.cluster import KMeansNetTELL, TELLNetwork
    from dpbench.runtime import DivergenceError

    loss, losses = KMeansNetModule.loss, TELLNetwork.losses
    monkeypatch.setattr(KMeansNetModule, "loss", lambda self, *a, **k: loss(self, *a, **k) * float("nan"))
    monkeypatch.setattr(TELLNetwork, "losses", lambda self, *a, **k: tuple(v * float("nan") for v in losses(self, *a, **k)))
    x = torch.rand(64, 16)
    with pytest.raises(DivergenceError, match=r"k-meansNet: training diverged in epoch 1: mean loss = nan"):
        KMeansNet(2, epochs=2, batch_size=16, random_state=0).fit(x)
    with pytest.raises(DivergenceError, match=r"k-meansNet \(TELL\): training diverged in epoch 1"):
        KMeansNetTELL(2, epochs=2, batch_size=16, random_state=0).fit(x)


def test_a_tell_job_logs_its_curve_keeps_its_state_and_continues(tmp_path, monkeypatch):
    """cluster-fit of ``kmeansnet_tell[encoder=mlp]``: the encoder is a job parameter, the history
    reaches the summary as ``epoch_*`` rows with an ``epoch`` column, the state is kept next to the
    predictions, and the same job with more epochs trains only the new ones."""
    from dpbench.cluster import KMeansNetTELL
    from dpbench.io import read_json, save_tensors
    from dpbench.results import load_results
    from dpbench.tasks import clustering

    x, y = load_digits(return_X_y=True)
    features = tmp_path / "features.pt"
    save_tensors(features, {"features": torch.tensor(x[:200] / 16.0, dtype=torch.float32), "labels": torch.tensor(y[:200])})
    model, pred, out = "kmeansnet_tell[encoder=mlp]", tmp_path / "pred.pt", tmp_path / "metrics.json"
    params = {"epochs": 3, "batch_size": 50, "log_every": 2, "checkpoint_every": 1}
    clustering.fit(str(features), model, 0, params, "cpu", str(pred))
    assert (tmp_path / "pred.pt.tell.ckpt").exists()
    clustering.evaluate(str(pred), str(features), "digits", "pixels", model, 0, str(out))
    doc = read_json(out)
    assert doc["params"]["encoder"] == "mlp" and doc["params"]["log_every"] == 2
    rows = load_results([out])
    curve = rows[rows["metric"] == "epoch_acc"]
    assert curve["epoch"].tolist() == [2, 3]
    final = rows[rows["metric"] == "acc"]
    assert len(final) == 1 and final["epoch"].isna().all()
    assert curve["value"].iloc[-1] == pytest.approx(final["value"].iloc[0])
    assert {"loss_clu", "loss_rec", "epoch_loss_clu", "epoch_loss_rec", "epoch_nmi", "epoch_ari"} <= set(rows["metric"])

    ran = []
    real = KMeansNetTELL._epoch
    monkeypatch.setattr(KMeansNetTELL, "_epoch", lambda self, *a: ran.append(a[-1]) or real(self, *a))
    clustering.fit(str(features), model, 0, {**params, "epochs": 5}, "cpu", str(pred))
    assert ran == [3, 4]
    clustering.evaluate(str(pred), str(features), "digits", "pixels", model, 0, str(out))
    rows = load_results([out])
    assert rows[rows["metric"] == "epoch_acc"]["epoch"].tolist() == [2, 3, 4, 5]
