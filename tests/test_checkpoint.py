"""Interrupted training resumes from its checkpoint and ends exactly where an uninterrupted run does."""

import pytest
import torch

from dpbench.checkpoint import TrainingCheckpoint
from dpbench.sparse import build_model
from dpbench.sparse.train import train_encoder, train_supervised


def problem():
    gen = torch.Generator().manual_seed(0)
    D = torch.randn(12, 20, generator=gen)
    D /= D.norm(dim=0)
    x = torch.randn(64, 20, generator=gen).mul(torch.rand(64, 20, generator=gen) < 0.2) @ D.T
    return D, x


def test_train_encoder_resumes_bitwise(tmp_path, interrupter):
    D, x = problem()
    kwargs = dict(epochs=4, batch_size=16, lr=1e-2, log_every=0)

    ref = build_model("lista", D, 0.1, 3)
    train_encoder(ref, x, D, 0.1, generator=torch.Generator().manual_seed(1), **kwargs)

    ckpt = TrainingCheckpoint(tmp_path / "job.ckpt", every_seconds=0)
    model = build_model("lista", D, 0.1, 3)
    interrupter.calls, interrupter.at = 0, 11  # in the third epoch: epochs 1-2 are checkpointed
    with pytest.raises(interrupter.Interrupt):
        train_encoder(model, x, D, 0.1, generator=torch.Generator().manual_seed(1), checkpoint=ckpt, **kwargs)
    assert ckpt.path.exists()
    interrupter.calls, interrupter.at = 0, 0

    resumed = build_model("lista", D, 0.1, 3)  # a fresh process: new model, generator from the seed
    result = train_encoder(resumed, x, D, 0.1, generator=torch.Generator().manual_seed(1), checkpoint=ckpt, **kwargs)
    assert result.steps == 16 and len(result.losses) == 4
    for a, b in zip(ref.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    ckpt.discard()
    assert not ckpt.path.exists()


def test_train_supervised_resumes_bitwise(tmp_path, interrupter):
    D, x = problem()
    y = (x[:, 0] > 0).long()
    kwargs = dict(epochs=3, batch_size=16, lr=1e-2, log_every=0)

    def run(ckpt=None):
        torch.manual_seed(0)  # SC2Net's gates and weights start random (the authors' initialisation)
        model, head = build_model("sc2net", D, 0.1, 2), torch.nn.Linear(20, 2)
        train_supervised(model, head, x, y, D, 0.1, generator=torch.Generator().manual_seed(2), checkpoint=ckpt, **kwargs)
        return model, head

    ref_model, ref_head = run()
    ckpt = TrainingCheckpoint(tmp_path / "sup.ckpt", every_seconds=0)
    interrupter.calls, interrupter.at = 0, 6
    with pytest.raises(interrupter.Interrupt):
        run(ckpt)
    interrupter.calls, interrupter.at = 0, 0
    model, head = run(ckpt)
    assert torch.equal(head.weight, ref_head.weight)
    for a, b in zip(ref_model.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_missing_state_is_named(tmp_path):
    ckpt = TrainingCheckpoint(tmp_path / "c.ckpt", every_seconds=0)
    model = torch.nn.Linear(2, 2)
    ckpt.maybe_save({"model": model}, [], {"done": 1, "steps": 1, "losses": [0.5]})
    with pytest.raises(ValueError, match="c.ckpt lacks \\['head'\\]"):
        ckpt.restore({"model": model, "head": model})


def test_synthetic_job_resumes_to_identical_records(tmp_path, interrupter):
    from dpbench.tasks.synthetic import run_synthetic

    params = {"m": 16, "n": 32, "n_layers": 3, "schedule": "joint", "n_steps": 40, "log_every": 10, "n_test": 50, "fista_iters": 200}
    ref = run_synthetic("lista_cp", params, 0, "cpu")
    ckpt = TrainingCheckpoint(tmp_path / "s.ckpt", every_seconds=0)
    interrupter.calls, interrupter.at = 0, 25
    with pytest.raises(interrupter.Interrupt):
        run_synthetic("lista_cp", params, 0, "cpu", ckpt)
    interrupter.calls, interrupter.at = 0, 0
    untimed = lambda records: [r for r in records if r["metric"] != "train_seconds"]  # noqa: E731
    assert untimed(run_synthetic("lista_cp", params, 0, "cpu", ckpt)) == untimed(ref)


def test_a_checkpoint_of_other_parameters_is_discarded_not_resumed(tmp_path):
    model = torch.nn.Linear(2, 2)
    TrainingCheckpoint(tmp_path / "c.ckpt", every_seconds=0, fingerprint="lr=0.1").maybe_save(
        {"model": model}, [], {"done": 3, "steps": 3, "losses": [0.5]})
    other = TrainingCheckpoint(tmp_path / "c.ckpt", every_seconds=0, fingerprint="lr=0.2")
    assert other.restore({"model": model}) is None
    assert not other.path.exists()
    same = TrainingCheckpoint(tmp_path / "c.ckpt", every_seconds=0, fingerprint="lr=0.1")
    same.maybe_save({"model": model}, [], {"done": 3, "steps": 3, "losses": [0.5]})
    assert same.restore({"model": model})["done"] == 3


def test_a_checkpoint_that_does_not_fit_the_model_is_discarded_with_a_warning(tmp_path, caplog):
    """Left behind by other code (a parameter added or resized since): the job starts over, it does not crash."""
    ckpt = TrainingCheckpoint(tmp_path / "c.ckpt", every_seconds=0)
    ckpt.maybe_save({"model": torch.nn.Linear(2, 2)}, [], {"done": 3, "steps": 3, "losses": [0.5]})
    for other in (torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Linear(2, 2))):
        ckpt.maybe_save({"model": torch.nn.Linear(2, 2)}, [], {"done": 3, "steps": 3, "losses": [0.5]}, force=True)
        before = [p.clone() for p in other.parameters()]
        with caplog.at_level("WARNING", logger="dpbench.checkpoint"):
            assert ckpt.restore({"model": other}) is None
        assert "does not fit the model" in caplog.text and not ckpt.path.exists()
        assert all(torch.equal(a, b) for a, b in zip(before, other.parameters()))  # nothing half-loaded


def test_step_progress_keeps_finished_steps_of_the_same_parameters_only(tmp_path):
    from dpbench.checkpoint import StepProgress

    progress = StepProgress(tmp_path / "job.progress", "a")
    step_ckpt = progress.checkpoint("t1")
    step_ckpt.maybe_save({"w": torch.zeros(2)}, [], {"done": 1, "steps": 1, "losses": []}, force=True)
    progress.record("t1", {"value": torch.ones(2)})
    assert not step_ckpt.path.exists()  # a finished step needs no training checkpoint
    assert torch.equal(StepProgress(tmp_path / "job.progress", "a").done["t1"]["value"], torch.ones(2))
    assert StepProgress(tmp_path / "job.progress", "b").done == {}
    progress.checkpoint("t2").maybe_save({"w": torch.zeros(2)}, [], {"done": 1, "steps": 1, "losses": []}, force=True)
    progress.discard()
    assert list(tmp_path.iterdir()) == []
