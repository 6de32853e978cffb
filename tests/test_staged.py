"""The authors' staged (layer-wise) training: its plan, its gradient masks, and a killed run resuming."""

from __future__ import annotations

import pytest
import torch

from dpbench.checkpoint import TrainingCheckpoint
from dpbench.sparse import build_model
from dpbench.sparse.staged import gradient_scales, substages, train_staged
from dpbench.tasks.synthetic import make_dictionary, sample_problem

pytestmark = pytest.mark.usefixtures("one_thread")


def test_plan_is_new_layer_then_decayed_rates():
    plan = substages(2, 1e-3, [0.2, 0.02])
    assert plan == [(0, 1e-3, True), (0, pytest.approx(2e-4), False), (0, pytest.approx(2e-5), False),
                    (1, 1e-3, True), (1, pytest.approx(2e-4), False), (1, pytest.approx(2e-5), False)]


def test_gradient_scales_train_the_new_layer_then_decay_earlier_ones():
    D = make_dictionary(6, 10, torch.Generator().manual_seed(0))
    lista = build_model("lista", D, 0.4, 3)  # W_e shared, S and theta per layer
    new = gradient_scales(lista, 1, True, 0.3)
    assert float(new["W_e"]) == 0.0 and new["theta"].flatten().tolist() == [0.0, 1.0, 0.0]
    assert float(gradient_scales(lista, 0, True, 0.3)["W_e"]) == 1.0
    every = gradient_scales(lista, 2, False, 0.3)
    torch.testing.assert_close(every["theta"].flatten(), torch.tensor([0.09, 0.3, 1.0]))
    assert every["S"].shape == (3, 1, 1) and float(every["W_e"]) == pytest.approx(0.09)


def _setup(seed: int = 0):
    D = make_dictionary(12, 24, torch.Generator().manual_seed(seed))
    x_val, z_val = sample_problem(D, 200, 0.1, None, torch.Generator().manual_seed(1))
    return D, x_val, z_val


def _train(name, D, x_val, z_val, checkpoint=None, **kw):
    model = build_model(name, D, 0.4, 3)
    gen = torch.Generator().manual_seed(2)
    kwargs = {"lr": 5e-3, "val_every": 5, "patience": 20, "max_steps": 60, **kw}
    result = train_staged(model, lambda b: sample_problem(D, b, 0.1, None, gen), x_val, z_val,
                          checkpoint=checkpoint, rng=gen, **kwargs)
    return model, result


def test_staged_training_improves_every_layer_and_records_its_run():
    D, x_val, z_val = _setup()
    before = build_model("lista_cpss", D, 0.4, 3)
    model, result = _train("lista_cpss", D, x_val, z_val)
    assert result.stages == 9 and len(result.log) == 9 and result.steps == sum(e["steps"] for e in result.log)
    assert all(e["steps"] <= 61 for e in result.log)
    with torch.no_grad():
        for t in (1, 2, 3):
            err = lambda m: float((m(x_val, n_layers=t) - z_val).pow(2).sum())  # noqa: E731
            assert err(model) < err(before), t
    # the best validated weights are kept: the last sub-stage's log is the model's validation NMSE
    with torch.no_grad():
        nmse = float((model(x_val) - z_val).pow(2).sum() / z_val.pow(2).sum())
    assert 10 * torch.log10(torch.tensor(nmse)).item() == pytest.approx(result.log[-1]["best_val_nmse_db"], abs=1e-4)


def test_patience_ends_a_stage_before_max_steps():
    D, x_val, z_val = _setup()
    _, result = _train("alista", D, x_val, z_val, lr=0.0, patience=10, max_steps=500)  # nothing improves
    assert [e["steps"] for e in result.log] == [51] * 9  # the patience is checked every 10 validations (50 steps)


def test_killed_staged_run_resumes_bitwise(tmp_path, interrupter):
    D, x_val, z_val = _setup()
    ref, ref_result = _train("lista", D, x_val, z_val)
    ckpt = TrainingCheckpoint(tmp_path / "staged.ckpt", every_seconds=0)
    interrupter.calls, interrupter.at = 0, 150  # inside a later sub-stage
    with pytest.raises(interrupter.Interrupt):
        _train("lista", D, x_val, z_val, checkpoint=ckpt)
    assert ckpt.path.exists()
    interrupter.calls, interrupter.at = 0, 0
    model, result = _train("lista", D, x_val, z_val, checkpoint=ckpt)
    assert interrupter.calls < ref_result.steps  # it did resume, not start over
    assert result.steps == ref_result.steps and result.log == ref_result.log
    for a, b in zip(ref.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
