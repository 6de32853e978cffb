"""Training loops of the learned sparse encoders and the dictionary-learning helper."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import nn

from dpbench.sparse import build_model, lasso_objective
from dpbench.sparse.dictionary import learn_dictionary
from dpbench.sparse.train import DivergenceError, fista_codes, train_encoder, train_regression_stream, train_supervised

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(m: int = 16, n: int = 32, n_samples: int = 256, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    D = torch.randn(m, n, generator=gen)
    D = D / D.norm(dim=0)
    z = torch.randn(n_samples, n, generator=gen) * (torch.rand(n_samples, n, generator=gen) < 0.1)
    return D, z @ D.T, z


@pytest.mark.parametrize("name", ["lista", "sc2net"])
def test_unsupervised_training_lowers_the_lasso_objective(name):
    D, x, _ = _data()
    model = build_model(name, D, 0.1, 3)
    with torch.no_grad():
        before = float(lasso_objective(x, model(x), D, 0.1))
    result = train_encoder(model, x, D, 0.1, epochs=15, batch_size=64, lr=3e-3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        after = float(lasso_objective(x, model(x), D, 0.1))
    assert result.steps == 15 * 4 and len(result.losses) == 15
    assert after < before


def test_regress_training_on_fista_codes_and_layer_losses():
    D, x, _ = _data()
    targets = fista_codes(x, D, 0.1, 300)
    for layer_loss in ("final", "mean", "mean_log"):
        model = build_model("lista_cp", D, 0.1, 4)
        with torch.no_grad():
            before = float((model(x) - targets).pow(2).sum(1).mean())
        train_encoder(model, x, D, 0.1, mode="regress", targets=targets, epochs=10, batch_size=64, lr=1e-3,
                      layer_loss=layer_loss, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            after = float((model(x) - targets).pow(2).sum(1).mean())
        assert after < before, layer_loss


def test_learned_dictionary_keeps_unit_norm_atoms():
    D, x, _ = _data()
    model = build_model("lista", D, 0.1, 2)
    result = train_encoder(model, x, D, 0.1, epochs=2, batch_size=64, learn_dictionary=True,
                           generator=torch.Generator().manual_seed(0))
    assert not torch.equal(result.D, D)
    torch.testing.assert_close(result.D.norm(dim=0), torch.ones(D.shape[1]))


def test_nan_loss_raises_divergence_error():
    D, x, _ = _data()
    x[3, 0] = float("nan")
    model = build_model("lista", D, 0.1, 2)
    with pytest.raises(DivergenceError, match=r"LISTA.*step \d+.*nan"):
        train_encoder(model, x, D, 0.1, epochs=1, batch_size=256, generator=torch.Generator().manual_seed(0))


def _blown_up_lista(D: torch.Tensor) -> torch.nn.Module:
    """A LISTA whose matrices are 10^4 times too large: a finite loss far above the all-zero code's."""
    model = build_model("lista", D, 0.1, 2)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                p.mul_(1e4)
    return model


def test_a_finite_blow_up_is_divergence_too():
    D, x, _ = _data()
    with pytest.raises(DivergenceError, match=r"LISTA: training blew up by step \d+: loss = .*above 1000 x the all-zero code's loss"):
        train_encoder(_blown_up_lista(D), x, D, 0.1, epochs=1, batch_size=256, lr=0.0)
    head = torch.nn.Linear(D.shape[1], 3)
    with pytest.raises(DivergenceError, match="blew up"):
        train_supervised(_blown_up_lista(D), head, x, torch.arange(len(x)) % 3, D, 0.1, epochs=1, batch_size=256, lr=0.0)
    # the same untouched network trains without a flag
    train_encoder(build_model("lista", D, 0.1, 2), x, D, 0.1, epochs=1, batch_size=256, lr=0.0)


def test_bad_arguments_are_reported():
    D, x, _ = _data()
    with pytest.raises(ValueError, match="no parameters to learn"):
        train_encoder(build_model("ista", D, 0.1, 2), x, D, 0.1)
    with pytest.raises(ValueError, match="mode"):
        train_encoder(build_model("lista", D, 0.1, 2), x, D, 0.1, mode="magic")
    with pytest.raises(ValueError, match="layer_loss"):
        train_encoder(build_model("lista", D, 0.1, 2), x, D, 0.1, layer_loss="some")


def test_regression_stream_training():
    D, _, _ = _data()
    gen = torch.Generator().manual_seed(1)

    def batch():
        z = torch.randn(32, 32, generator=gen) * (torch.rand(32, 32, generator=gen) < 0.1)
        return z @ D.T, z

    model = build_model("alista", D, 0.1, 4)
    result = train_regression_stream(model, batch, n_steps=60, lr=1e-2, log_every=20)
    assert len(result.losses) == 3 and result.losses[-1] < result.losses[0]


def test_supervised_training_learns_labels():
    D, x, z = _data(n_samples=256)
    y = (z[:, 0] > 0).long()  # depends on the first atom's coefficient sign
    model = build_model("lista", D, 0.1, 3)
    head = nn.Linear(D.shape[1], 2)
    result = train_supervised(model, head, x, y, D, 0.1, sc_weight=0.1, epochs=20, batch_size=64, lr=1e-2,
                              generator=torch.Generator().manual_seed(0))
    assert result.losses[-1] < result.losses[0]
    with torch.no_grad():
        acc = float((head(model(x)).argmax(1) == y).float().mean())
    assert acc > 0.8


def test_learn_dictionary_shape_and_norms():
    D, x, _ = _data(n_samples=200)
    learned = learn_dictionary(x, 24, 0.1, seed=0, n_iter=2)
    assert learned.shape == (16, 24) and learned.dtype == torch.float32
    torch.testing.assert_close(learned.norm(dim=0), torch.ones(24))


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("g++") is None, reason="torch.compile on the CPU needs a C compiler")
def test_compiled_training_matches_eager_and_keeps_the_models_state(monkeypatch):
    """The workflow's ``compile: true`` (DPBENCH_COMPILE=1): same losses, same state-dict keys."""
    from dpbench.runtime import COMPILE_ENV

    D, x, _ = _data()
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv(COMPILE_ENV, flag)
        torch.manual_seed(0)
        model = build_model("sc2net", D, 0.1, 3)
        result = train_encoder(model, x, D, 0.1, epochs=2, batch_size=100, layer_loss="mean", generator=torch.Generator().manual_seed(0))
        runs[flag] = (result.losses, model.state_dict())
    torch.testing.assert_close(runs["1"][0], runs["0"][0], rtol=1e-4, atol=1e-6)
    assert list(runs["1"][1]) == list(runs["0"][1])  # no "_orig_mod." prefix in checkpoints


def test_cuda_graphs_fall_back_to_eager_on_the_cpu(monkeypatch, caplog):
    """``cuda_graphs: true`` on a CPU job: the model itself runs (no compile, no error), with a warning."""
    from dpbench.runtime import COMPILE_ENV, GRAPHS_ENV, graphs_active, training_forward

    monkeypatch.setenv(GRAPHS_ENV, "1")
    monkeypatch.setenv(COMPILE_ENV, "0")
    model = build_model("lista", _data()[0], 0.1, 2)
    with caplog.at_level("WARNING", logger="dpbench.runtime"):
        assert training_forward(model) is model
    assert not graphs_active(model) and "CUDA graphs asked for" in caplog.text


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("g++") is None, reason="torch.compile on the CPU needs a C compiler")
def test_the_cuda_graph_step_runs_the_staged_trainer(monkeypatch):
    """The wrapper a GPU job trains through (``reduce-overhead``), run here on the CPU, where PyTorch
    compiles it without graphs: every depth the staged trainer asks for gets the model's own output."""
    from dpbench import runtime
    from dpbench.sparse.staged import train_staged

    D, x, z = _data()
    monkeypatch.setenv(runtime.GRAPHS_ENV, "1")
    monkeypatch.setattr(runtime, "graphs_active", lambda model: True)
    model = build_model("lista", D, 0.1, 2)
    step = runtime.training_forward(model)
    assert isinstance(step, runtime._GraphStep)
    for depth in (1, 2):
        torch.testing.assert_close(step(x[:8], n_layers=depth), model(x[:8], n_layers=depth))
    result = train_staged(model, lambda b: (x[:b], z[:b]), x[:50], z[:50], patience=0, max_steps=3, val_every=1)
    assert [entry["layer"] for entry in result.log] == [1, 1, 1, 2, 2, 2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_training_matches_eager_on_the_gpu(monkeypatch):
    """The staged trainer with ``cuda_graphs: true`` on a GPU: a graph is replayed, and the validation
    NMSE of every sub-stage is eager's (to float32 reordering)."""
    from dpbench.runtime import GRAPHS_ENV, graphs_active
    from dpbench.sparse.staged import train_staged

    D, _, _ = _data()
    D = D.cuda()
    logs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv(GRAPHS_ENV, flag)
        gen = torch.Generator(device="cuda").manual_seed(0)

        def batch(b: int, gen: torch.Generator = gen) -> tuple[torch.Tensor, torch.Tensor]:
            z = torch.randn(b, D.shape[1], generator=gen, device="cuda") * (torch.rand(b, D.shape[1], generator=gen, device="cuda") < 0.1)
            return z @ D.T, z

        x_val, z_val = batch(200)
        torch.manual_seed(0)
        model = build_model("lista", D, 0.1, 3).cuda()
        assert graphs_active(model) == (flag == "1")
        result = train_staged(model, batch, x_val, z_val, patience=20, max_steps=60, rng=gen)
        logs[flag] = [entry["best_val_nmse_db"] for entry in result.log]
    assert logs["1"] == pytest.approx(logs["0"], abs=0.05)


def test_thresholds_stay_non_negative():
    """Dense signals and a small lam pull LISTA's thresholds below zero; the projection stops them at 0."""
    gen = torch.Generator().manual_seed(0)
    D = torch.randn(20, 40, generator=gen)
    D /= D.norm(dim=0)
    x = torch.randn(256, 20, generator=gen)
    model = build_model("lista", D, 0.01, 3, per_layer=True)  # a threshold per atom: some reach the bound
    train_encoder(model, x, D, 0.01, epochs=30, batch_size=64, lr=1e-2, generator=torch.Generator().manual_seed(1), log_every=0)
    assert float(model.theta.detach().min()) == 0.0  # the bound was reached, and held
