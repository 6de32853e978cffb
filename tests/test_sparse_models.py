"""The sparse-coding model zoo: classical solvers against scikit-learn, ISTA equivalences, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from dpbench.sparse import MODELS, build_model, lasso_objective, soft_threshold
from dpbench.sparse.alista import analytic_weight
from dpbench.sparse.base import support_selected_soft_threshold

LEARNED = ["lista", "lista_ss", "lista_cp", "lista_cpss", "tilista", "alista", "sc2net", "slstm_output_gate"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _problem(m: int = 15, n: int = 30, batch: int = 4, dtype: torch.dtype = torch.float64, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    D = torch.randn(m, n, generator=gen, dtype=dtype)
    D = D / D.norm(dim=0)
    x = torch.randn(batch, m, generator=gen, dtype=dtype)
    return D, x


def test_soft_threshold_and_objective():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    assert torch.equal(soft_threshold(x, 1.0), torch.tensor([-1.0, 0.0, 0.0, 0.0, 0.5]))
    D = torch.eye(2)
    z = torch.tensor([[1.0, -1.0]])
    xx = torch.tensor([[2.0, 0.0]])
    assert float(lasso_objective(xx, z, D, 0.5)) == pytest.approx(0.5 * (1 + 1) + 0.5 * 2)


def test_support_selection_keeps_top_entries():
    v = torch.tensor([[3.0, -2.0, 0.5, 0.1]])
    out = support_selected_soft_threshold(v, 0.2, percent=50.0)  # top 2 kept as is
    assert torch.allclose(out, torch.tensor([[3.0, -2.0, 0.3, 0.0]]))


@pytest.mark.parametrize("name", ["ista", "fista"])
def test_classical_solvers_match_sklearn_lasso(name):
    D, x = _problem()
    lam = 0.1
    model = build_model(name, D, lam, n_layers=5000)
    assert not model.trainable and not list(model.parameters())
    z = model(x)
    m = D.shape[0]
    for i in range(x.shape[0]):
        lasso = Lasso(alpha=lam / m, fit_intercept=False, tol=1e-12, max_iter=100_000)
        lasso.fit(D.numpy(), x[i].numpy())
        np.testing.assert_allclose(z[i].numpy(), lasso.coef_, atol=1e-4)


@pytest.mark.parametrize("tied", [True, False])
def test_lista_at_init_equals_ista(tied):
    D, x = _problem()
    ista = build_model("ista", D, 0.2, 7)(x, return_all=True)
    lista = build_model("lista", D, 0.2, 7, tied=tied)(x, return_all=True)
    assert len(lista) == 7
    for a, b in zip(ista, lista):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["sc2net", "lista_cp"])
def test_gated_and_coupled_models_reduce_to_ista(name):
    D, x = _problem()
    options = {"fixed_gates": True, "init": "ista", "activation": "soft"} if name == "sc2net" else {}
    ista = build_model("ista", D, 0.2, 6)(x, return_all=True)
    model = build_model(name, D, 0.2, 6, **options)
    for a, b in zip(ista, model(x, return_all=True)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_sc2net_ista_init_close_to_ista():
    D, x = _problem()
    ista = build_model("ista", D, 0.2, 6)(x)
    with torch.no_grad():
        sc2 = build_model("sc2net", D, 0.2, 6, init="ista", activation="soft")(x)
    assert float((sc2 - ista).norm() / ista.norm()) < 0.1


def test_sc2net_authors_init_statistics():
    """Sparse_LSTM_wo_O_Gate_v2's initialisers: glorot-uniform W, orthogonal x 1.1 U, b_f = 1, u ~ N(1, 0.1)."""
    torch.manual_seed(0)
    D, _ = _problem(m=60, n=80)
    model = build_model("sc2net", D, 0.2, 3)
    limit = (6.0 / (60 + 80)) ** 0.5
    for name in ("W_e", "W_i", "W_f"):
        W = getattr(model, name).detach()
        assert W.shape == (80, 60) and float(W.abs().max()) <= limit
        assert float(W.std()) == pytest.approx(limit / 3**0.5, rel=0.05)  # std of U(-a, a)
    for name in ("S", "U_i", "U_f"):
        U = getattr(model, name).detach()
        torch.testing.assert_close(U.T @ U, 1.21 * torch.eye(80, dtype=U.dtype))
    assert torch.equal(model.b_f.detach(), torch.ones(80, dtype=D.dtype))
    assert not model.b_i.detach().any() and not model.b_c.detach().any()
    theta = model.theta.detach()
    assert float(theta.mean()) == pytest.approx(1.0, abs=0.03)
    assert float(theta.std()) == pytest.approx(0.1, rel=0.25)


@pytest.mark.parametrize("gate", ["sigmoid", "hard_sigmoid"])
def test_sc2net_gates_and_candidate_follow_the_equations(gate):
    """One layer by hand: i, f = g(W x + b) (z_0 = 0), c_1 = i * (W_e x + b_c), z_1 = tanh(c + u) + tanh(c - u)."""
    torch.manual_seed(1)
    D, x = _problem()
    model = build_model("sc2net", D, 0.2, 2, gate=gate)
    g = torch.sigmoid if gate == "sigmoid" else (lambda a: (0.2 * a + 0.5).clamp(0, 1))
    with torch.no_grad():
        i1 = g(x @ model.W_i.T + model.b_i)
        c1 = i1 * (x @ model.W_e.T + model.b_c)
        z1 = torch.tanh(c1 + model.theta) + torch.tanh(c1 - model.theta)
        i2, f2 = (g(x @ W.T + z1 @ U.T + b) for W, U, b in ((model.W_i, model.U_i, model.b_i), (model.W_f, model.U_f, model.b_f)))
        c2 = f2 * c1 + i2 * (x @ model.W_e.T + z1 @ model.S.T + model.b_c)
        z2 = torch.tanh(c2 + model.theta) + torch.tanh(c2 - model.theta)
        out = model(x, return_all=True)
        means = model.gate_means(x)
    torch.testing.assert_close(out[0], z1)
    torch.testing.assert_close(out[1], z2)
    assert means["i"][0] == pytest.approx(float(i1.mean())) and means["f"][1] == pytest.approx(float(f2.mean()))


def test_output_gate_cell_follows_the_authors_equation():
    """Sparse_LSTM: z_t = o_t * (tanh(z_{t-1} - c_t + u) + tanh(z_{t-1} - c_t - u)) W_h."""
    torch.manual_seed(2)
    D, x = _problem()
    model = build_model("slstm_output_gate", D, 0.2, 2)
    with torch.no_grad():
        i1, o1 = (torch.sigmoid(x @ W.T + b) for W, b in ((model.W_i, model.b_i), (model.W_o, model.b_o)))
        c1 = i1 * (x @ model.W_e.T + model.b_c)
        z1 = o1 * ((torch.tanh(-c1 + model.theta) + torch.tanh(-c1 - model.theta)) @ model.W_h.T)
        i2, f2, o2 = (torch.sigmoid(x @ getattr(model, f"W_{g}").T + z1 @ getattr(model, f"U_{g}").T + getattr(model, f"b_{g}"))
                      for g in "ifo")
        c2 = f2 * c1 + i2 * (x @ model.W_e.T + z1 @ model.S.T + model.b_c)
        z2 = o2 * ((torch.tanh(z1 - c2 + model.theta) + torch.tanh(z1 - c2 - model.theta)) @ model.W_h.T)
        out = model(x, return_all=True)
    torch.testing.assert_close(out[0], z1)
    torch.testing.assert_close(out[1], z2)


def test_double_tanh_starts_sane():
    """u ~ N(1, 0.1): the ISTA-initialised double-tanh cell starts near the codes' scale (it used to start at
    theta ~ lam / L, i.e. h(c) ~ 2 tanh(c), +15 dB NMSE)."""
    torch.manual_seed(3)
    D, x = _problem(m=40, n=60, batch=64)
    fista = build_model("fista", D, 0.2, 500)(x)
    with torch.no_grad():
        z = build_model("sc2net", D, 0.2, 10, init="ista", activation="double_tanh")(x)
    assert 10 * float(torch.log10((z - fista).pow(2).sum() / fista.pow(2).sum())) < 0.0


def test_gate_records_per_layer():
    from dpbench.sparse.sc2net import gate_records

    D, x = _problem()
    model = build_model("sc2net", D, 0.2, 3)
    recs = gate_records(model, x)
    assert [(r["metric"], r["layers"]) for r in recs] == [
        ("input_gate_mean", 1), ("input_gate_mean", 2), ("input_gate_mean", 3),
        ("forget_gate_mean", 1), ("forget_gate_mean", 2), ("forget_gate_mean", 3)]
    assert all(0 < r["value"] < 1 for r in recs)
    assert gate_records(build_model("sc2net", D, 0.2, 3, fixed_gates=True), x) == []
    assert gate_records(build_model("lista", D, 0.2, 3), x) == []


@pytest.mark.parametrize("activation", ["soft", "double_tanh"])
def test_sc2net_activations_run(activation):
    D, x = _problem()
    z = build_model("sc2net", D, 0.2, 4, activation=activation)(x)
    assert z.shape == (4, 30) and torch.isfinite(z).all()


def test_alista_analytic_weight():
    D, _ = _problem()
    W = analytic_weight(D)
    torch.testing.assert_close(torch.diag(W.T @ D), torch.ones(D.shape[1], dtype=D.dtype))
    # optimality: a feasible perturbation (keeping d_i^T w_i = 1) cannot lower ||W^T D||_F
    gen = torch.Generator().manual_seed(1)
    E = torch.randn(W.shape, generator=gen, dtype=D.dtype) * 1e-3
    E = E - D * (D * E).sum(0, keepdim=True)  # columns orthogonal to the atoms
    assert (W + E).T.matmul(D).norm() >= W.T.matmul(D).norm()


def test_alista_learns_only_steps_and_thresholds():
    D, x = _problem()
    model = build_model("alista", D, 0.1, 5, support_selection=True)
    assert {n for n, _ in model.named_parameters()} == {"gamma", "theta"}
    assert model(x).shape == (4, 30)


@pytest.mark.parametrize("name", LEARNED)
def test_gradients_reach_every_parameter(name):
    D, x = _problem(dtype=torch.float32)
    model = build_model(name, D, 0.1, 4)
    assert model.trainable
    loss = lasso_objective(x, model(x), D, 0.1)
    loss.backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, f"{name}.{pname} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{name}.{pname} has a non-finite gradient"
        assert param.grad.abs().sum() > 0, f"{name}.{pname} has a zero gradient"


def test_build_model_unknown_name():
    D, _ = _problem()
    with pytest.raises(ValueError, match="nosuchnet"):
        build_model("nosuchnet", D, 0.1, 3)


def test_bad_options_and_depth_are_reported():
    D, x = _problem()
    with pytest.raises(ValueError, match="lista"):
        build_model("lista", D, 0.1, 3, nonsense=1)
    with pytest.raises(ValueError, match="3 layers"):
        build_model("lista_cp", D, 0.1, 3)(x, n_layers=5)
    assert build_model("ista", D, 0.1, 3)(x, n_layers=5).shape == (4, 30)


def _run_all_on(device: torch.device) -> None:
    D, x = _problem(dtype=torch.float32)
    for name in MODELS:
        model = build_model(name, D, 0.1, 3).to(device)
        zs = model(x.to(device), return_all=True)
        assert len(zs) == 3 and zs[-1].device.type == device.type and torch.isfinite(zs[-1]).all()


def test_models_run_on_cpu():
    _run_all_on(torch.device("cpu"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)")
def test_models_run_on_cuda():
    _run_all_on(torch.device("cuda"))
    D, x = _problem(dtype=torch.float32)
    cpu = build_model("fista", D, 0.1, 50)(x)
    gpu = build_model("fista", D, 0.1, 50).cuda()(x.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=1e-4)


def test_reference_parametrisations():
    """LISTA as VITA-Group's code (shared W_e, scalar theta per layer), ALISTA's step 1, SS defaults."""
    D, _ = _problem()
    shapes = {n: tuple(p.shape) for n, p in build_model("lista", D, 0.4, 5).named_parameters()}
    assert shapes == {"W_e": (30, 15), "S": (5, 30, 30), "theta": (5,)}
    old = {n: tuple(p.shape) for n, p in build_model("lista", D, 0.4, 5, per_layer=True).named_parameters()}
    assert old == {"W_e": (5, 30, 15), "S": (5, 30, 30), "theta": (5, 30)}
    alista = build_model("alista", D, 0.4, 5)
    L = float(torch.linalg.matrix_norm(D, ord=2) ** 2)
    torch.testing.assert_close(alista.gamma.detach(), torch.ones(5, dtype=D.dtype))
    torch.testing.assert_close(alista.theta.detach(), torch.full((5,), 0.4 / L, dtype=D.dtype))
    for name in ("alista", "lista_cpss", "lista_ss", "tilista"):
        model = build_model(name, D, 0.4, 16)
        assert model.support_selection and model.schedule[0] == pytest.approx(1.2) and model.schedule[-1] == 13.0, name
    assert not build_model("lista_cp", D, 0.4, 4).support_selection
    assert build_model("tilista", D, 0.4, 4).shared_parameters() == {"W"}
    with pytest.raises(ValueError, match="tied"):
        build_model("lista", D, 0.4, 4, tied=True, support_selection=True)


@pytest.mark.parametrize("name", ["lista_ss", "lista_cpss", "tilista", "alista"])
def test_support_selection_off_equals_ista_family_at_init(name):
    """With support selection off, the new variants start as ISTA (ALISTA: its own analytic step)."""
    D, x = _problem()
    model = build_model(name, D, 0.2, 6, support_selection=False)
    if name != "alista":
        ista = build_model("ista", D, 0.2, 6)(x)
        torch.testing.assert_close(model(x), ista)
    else:
        assert torch.isfinite(model(x)).all()


@pytest.mark.parametrize("name", ["lista_ss", "lista_cpss", "tilista", "alista"])
def test_new_variants_train_unsupervised_as_the_image_and_anomaly_tasks_do(name):
    """The image and anomaly tasks build every model with build_model and train it with train_encoder."""
    from dpbench.sparse.train import train_encoder

    D, _ = _problem(dtype=torch.float32)
    x = torch.randn(64, 15, generator=torch.Generator().manual_seed(3))
    model = build_model(name, D, 0.1, 3)
    result = train_encoder(model, x, D, 0.1, epochs=2, batch_size=32, lr=1e-2, layer_loss="mean",
                           generator=torch.Generator().manual_seed(0), log_every=0)
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
