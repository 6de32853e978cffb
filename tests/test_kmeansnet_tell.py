"""k-meansNet trained as TELL's code does: its equations, its alternation, and scikit-learn's API."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from dpbench.cluster import KMeansNetTELL, TELLNetwork


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x[:600] / 16.0).astype(np.float32), y[:600]


def test_centres_are_unit_length_and_the_layer_is_2_alpha_omega():
    torch.manual_seed(0)
    net = TELLNetwork(64, 5, alpha=0.001, encoder="auto")
    w = net.cluster_layer.weight.detach()
    assert net.cluster_layer.bias is None
    assert torch.allclose(w.norm(dim=1), torch.full((5,), 2 * 0.001))
    assert torch.allclose(net.centers().norm(dim=1), torch.ones(5))
    z = net.encode(torch.rand(30, 64))
    # ||z - omega||^2 = 2 - W^T z / alpha on the unit sphere: the largest score is the nearest centre
    dist = torch.cdist(z, net.centers()) ** 2
    assert torch.allclose(dist, 2 - net.cluster_layer(z) / 0.001, atol=1e-5)
    assert torch.equal(net.cluster_layer(z).argmax(1), dist.argmin(1))


def test_loss_is_tells_hard_assignment_loss_plus_reconstruction():
    torch.manual_seed(0)
    net = TELLNetwork(64, 4, alpha=0.001, encoder="mlp").eval()
    x = torch.rand(16, 64)
    clu, rec = net.losses(x, train_encoder=True)
    z = net.encode(x)
    scores = net.cluster_layer(z)
    delta = torch.zeros(16, 4)
    delta[torch.arange(16), scores.argmax(1)] = 1  # main.py l. 114-116
    assert clu.item() == pytest.approx((0.01 / 0.001 * (2 * 0.001 - delta * scores).mean()).item(), rel=1e-5)
    assert rec.item() == pytest.approx(F.mse_loss(net.decoder(z), x).item(), rel=1e-6)


def test_centre_epochs_keep_the_clustering_loss_off_the_encoder():
    torch.manual_seed(0)
    net = TELLNetwork(64, 4, alpha=0.001, encoder="mlp").eval()
    x = torch.rand(16, 64)
    clu, _ = net.losses(x, train_encoder=False)
    clu.backward()
    assert all(p.grad is None for p in net.encoder.parameters())
    assert net.cluster_layer.weight.grad.abs().sum() > 0


def test_encoder_epochs_leave_the_centres_and_centre_epochs_move_them(digits, monkeypatch):
    x = digits[0][:90]
    seen = []
    real = TELLNetwork.normalize_centers

    def record(self):
        real(self)
        seen.append(self.cluster_layer.weight.detach().clone())

    monkeypatch.setattr(TELLNetwork, "normalize_centers", record)
    KMeansNetTELL(10, epochs=2, batch_size=30, random_state=0).fit(x)  # 3 steps an epoch
    init, centre_epoch, encoder_epoch = seen[0], seen[1:4], seen[4:7]
    assert not torch.allclose(centre_epoch[-1], init)
    for w in encoder_epoch:
        assert torch.allclose(w, centre_epoch[-1])
    # a centre step moves each centre by a normalised gradient (0.2 alpha) scaled by Adadelta
    assert all(torch.allclose(w.norm(dim=1), torch.full((10,), 0.002)) for w in seen)


def test_fit_shapes_determinism_and_predict(digits):
    x, _ = digits
    a = KMeansNetTELL(10, epochs=3, random_state=1).fit(x)
    b = KMeansNetTELL(10, epochs=3, random_state=1).fit(torch.as_tensor(x))
    c = KMeansNetTELL(10, epochs=3, random_state=2).fit(x)
    assert a.labels_.shape == (len(x),) and a.cluster_centers_.shape == (10, 10)
    assert np.array_equal(a.labels_, b.labels_) and np.allclose(a.cluster_centers_, b.cluster_centers_)
    assert not np.array_equal(a.labels_, c.labels_)
    assert np.array_equal(a.predict(x), a.labels_)
    assert len(a.loss_history_) == 3 and a.n_features_in_ == 64


def test_conv_encoder_needs_square_images():
    assert isinstance(TELLNetwork(64, 3, 0.001, "auto").encoder[1], torch.nn.Conv2d)
    assert isinstance(TELLNetwork(60, 3, 0.001, "auto").encoder[1], torch.nn.Linear)
    with pytest.raises(ValueError, match="square images"):
        TELLNetwork(60, 3, 0.001, "conv")
    with pytest.raises(ValueError, match="encoder must be 'auto', 'conv', 'mlp' or 'none', got 'cnn'"):
        TELLNetwork(64, 3, 0.001, "cnn")


def test_colour_images_get_tells_three_channel_conv_autoencoder():
    """NetConv(channel=3) as TELL runs it on CIFAR: 3 x 32 x 32 pixels, channel-major; inner 16 x 8 x 8."""
    torch.manual_seed(0)
    net = TELLNetwork(3 * 32 * 32, 10, 0.001, "auto").eval()
    assert net.kind == "conv" and net.encoder[1].in_channels == 3 and net.encoder[-1].in_features == 256
    assert net.encoder[-3].in_features == 16 * 8 * 8
    x = torch.rand(4, 3 * 32 * 32)
    assert net.decoder(net.encode(x)).shape == x.shape


@parametrize_with_checks(
    [KMeansNetTELL(n_clusters=3, epochs=2, encoder="mlp", random_state=0)],
    # a quality check (ARI > 0.4 on blobs): two epochs of the authors' 3001 do not get there
    expected_failed_checks=lambda _: {"check_clustering": "2 training epochs are too few to separate the blobs"},
)
def test_sklearn_api(estimator, check):
    check(estimator)


# --- long runs: checkpoints, continuation, history -------------------------------------------------


def _fit(x, y=None, checkpoint=None, **kw):
    params = {"n_clusters": 10, "epochs": 6, "batch_size": 100, "encoder": "mlp", "random_state": 3} | kw
    return KMeansNetTELL(**params).fit(x, labels=y, checkpoint=checkpoint)


def _same_run(a, b):
    assert np.array_equal(a.labels_, b.labels_)
    assert a.loss_history_ == b.loss_history_
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a.history_]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b.history_]
    sa, sb = a.network_.state_dict(), b.network_.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(digits, tmp_path, monkeypatch, encoder):
    x, y = digits[0][:300], digits[1][:300]
    whole = _fit(x, y, encoder=encoder, log_every=2)
    ckpt = tmp_path / "pred.pt.tell.ckpt"
    real = KMeansNetTELL._epoch

    def crash_in_epoch_5(self, *args):
        if args[-1] == 4:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(KMeansNetTELL, "_epoch", crash_in_epoch_5)
    with pytest.raises(KeyboardInterrupt):
        _fit(x, y, ckpt, encoder=encoder, log_every=2, checkpoint_every=2)
    monkeypatch.setattr(KMeansNetTELL, "_epoch", real)
    resumed = _fit(x, y, ckpt, encoder=encoder, log_every=2, checkpoint_every=2)
    _same_run(resumed, whole)
    assert [h["epoch"] for h in resumed.history_] == [2, 4, 6]


def test_raising_epochs_continues_from_the_saved_epoch(digits, tmp_path, monkeypatch):
    x, y = digits[0][:300], digits[1][:300]
    ckpt = tmp_path / "pred.pt.tell.ckpt"
    short = _fit(x, y, ckpt, epochs=4, log_every=2, checkpoint_every=3)
    assert ckpt.exists()  # kept after success: it is what a longer run continues from
    ran = []
    real = KMeansNetTELL._epoch
    monkeypatch.setattr(KMeansNetTELL, "_epoch", lambda self, *a: ran.append(a[-1]) or real(self, *a))
    longer = _fit(x, y, ckpt, epochs=6, log_every=2, checkpoint_every=3)
    assert ran == [4, 5]  # only the two new epochs were trained
    monkeypatch.setattr(KMeansNetTELL, "_epoch", real)
    _same_run(longer, _fit(x, y, epochs=6, log_every=2))
    assert longer.history_[:2] == short.history_
    ran.clear()
    monkeypatch.setattr(KMeansNetTELL, "_epoch", lambda self, *a: ran.append(a[-1]) or real(self, *a))
    again = _fit(x, y, ckpt, epochs=6, log_every=2)  # a finished run rerun: nothing to train
    assert ran == [] and np.array_equal(again.labels_, longer.labels_)


def test_a_checkpoint_of_other_settings_is_not_resumed_and_a_longer_one_is_not_cut(digits, tmp_path):
    x = digits[0][:200]
    ckpt = tmp_path / "state.ckpt"
    _fit(x, checkpoint=ckpt, epochs=4)
    other_seed = _fit(x, checkpoint=ckpt, epochs=2, random_state=4)  # another seed: started over
    _same_run(other_seed, _fit(x, epochs=2, random_state=4))
    _fit(x, checkpoint=ckpt, epochs=4, random_state=4)
    with pytest.raises(ValueError, match=r"state.ckpt holds 4 epochs, more than the 3 asked for"):
        _fit(x, checkpoint=ckpt, epochs=3, random_state=4)


def test_history_logs_losses_and_scores_without_changing_the_run(digits):
    from dpbench.metrics import clustering_scores

    x, y = digits[0][:300], digits[1][:300]
    logged = _fit(x, y, epochs=5, log_every=2)
    assert [h["epoch"] for h in logged.history_] == [2, 4, 5]
    last = logged.history_[-1]
    assert (last["loss_clu"], last["loss_rec"]) == logged.loss_history_[-1]
    assert {k: last[k] for k in ("acc", "nmi", "ari")} == clustering_scores(y, logged.labels_)
    # per sample, sum_j (2 alpha - delta_ij s_ij) = 2 alpha k - 2 alpha cos(z, nearest centre): L_clu lies
    # in 0.01 [(2k - 2) / k, (2k + 2) / k] (Table S1's 0.0181-0.0182 on MNIST: cosines near 0.9)
    assert 0.01 * 18 / 10 <= last["loss_clu_eval"] <= 0.01 * 22 / 10
    assert 0 < logged.history_[0]["seconds"] < last["seconds"]
    plain = _fit(x, epochs=5)  # logging (eval-mode passes) changes nothing in the run
    assert plain.loss_history_ == logged.loss_history_ and np.array_equal(plain.labels_, logged.labels_)
    assert "acc" not in _fit(x, epochs=2, log_every=1).history_[0]  # no labels: losses only


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"log_every": -1}, {"checkpoint_every": 1.5}])
def test_bad_settings_are_named(digits, bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        _fit(digits[0][:50], **bad)


def test_fixed_features_train_only_the_centres_every_epoch(digits):
    x, y = digits
    model = _fit(x, y, encoder="none", epochs=3, log_every=1)
    net = model.network_
    assert model.encoder_ == "none" and net.decoder is None and list(net.encoder.parameters()) == []
    assert model.cluster_centers_.shape == (10, 64)
    assert all(rec == 0 for _, rec in model.loss_history_)
    z = F.normalize(torch.as_tensor(x))
    assert np.array_equal(model.labels_, (z @ torch.as_tensor(model.cluster_centers_).T).argmax(1).numpy())
    # every epoch is a centre epoch: the clustering loss falls in epochs 2 and 3 as well
    clu = [h["loss_clu_eval"] for h in model.history_]
    assert clu[2] < clu[1] < clu[0]


def test_fixed_features_take_the_written_out_gradient_of_the_autograd_step(digits, monkeypatch):
    """The fast centre epoch on fixed codes is main.py's autograd step (l. 109-133), up to rounding."""
    x = digits[0]

    def autograd_epoch(self, net, opt, z, generator, epoch):
        weight, batch = net.cluster_layer.weight, min(self.batch_size, len(z))
        perm = torch.randperm(len(z), generator=generator)
        total = 0.0
        for step in range(len(z) // batch):
            clu, rec = net.losses(z[perm[step * batch : (step + 1) * batch]], train_encoder=False)
            opt.zero_grad()
            (clu + rec).backward()
            weight.grad = F.normalize(weight.grad, dim=1) * 0.2 * self.alpha
            opt.step()
            net.normalize_centers()
            total += float(clu.detach())
        return total / (len(z) // batch), 0.0

    fast = _fit(x, encoder="none", epochs=4, batch_size=50)
    monkeypatch.setattr(KMeansNetTELL, "_fixed_epoch", autograd_epoch)
    slow = _fit(x, encoder="none", epochs=4, batch_size=50)
    assert np.allclose(fast.cluster_centers_, slow.cluster_centers_, atol=1e-5)
    assert np.array_equal(fast.labels_, slow.labels_)
    assert np.allclose(fast.loss_history_, slow.loss_history_, rtol=1e-5)


def test_long_epochs_report_progress_between_logged_epochs(digits, monkeypatch, caplog):
    import dpbench.cluster.kmeansnet_tell as tell

    monkeypatch.setattr(tell, "PROGRESS_EVERY_S", 0.0)  # every epoch counts as long
    with caplog.at_level("INFO", logger=tell.__name__):
        _fit(digits[0][:300], epochs=4, log_every=2)
    lines = [r.getMessage() for r in caplog.records if "s an epoch" in r.getMessage()]
    assert [line.split(":")[0] for line in lines] == ["TELL epoch 1/4", "TELL epoch 3/4"]  # 2 and 4 are logged epochs
    assert "min left" in lines[0]
