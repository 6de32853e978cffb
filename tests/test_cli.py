import argparse
import importlib

import pytest
import torch

from dpbench.cli import COMMANDS, UserError, build_parser, main, parse_params


def test_every_command_is_registered_by_its_module():
    for command, module in COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert command in sub.choices, f"{module} does not register {command!r}"
    full = build_parser()
    registered = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(registered) == set(COMMANDS)


def test_user_errors_are_one_line(capsys, tmp_path):
    assert main(["table", "--summary", str(tmp_path / "none.csv"), "--task", "clustering", "--output", str(tmp_path / "t.tex")]) == 1
    err = capsys.readouterr().err
    assert "error: missing summary file" in err and "none.csv" in err and "Traceback" not in err


def test_parse_params():
    assert parse_params('{"lr": 0.1}') == {"lr": 0.1}
    with pytest.raises(UserError, match="JSON object"):
        parse_params("[1]")
    with pytest.raises(UserError, match="not valid JSON"):
        parse_params("{lr")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_a_one_line_error(capsys, tmp_path):
    assert main(["synthetic", "--model", "ista", "--seed", "0", "--device", "cuda", "--output", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "device 'cuda' requested but no CUDA device is available" in err and "Traceback" not in err


def test_tf32_follows_the_workflow_flag_on_cuda_only(monkeypatch):
    from dpbench.runtime import TF32_ENV, run_metadata, seed_everything, set_tf32

    try:
        monkeypatch.setenv(TF32_ENV, "1")
        seed_everything(0, "cuda")  # sets the flags; needs no GPU
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        monkeypatch.setenv(TF32_ENV, "0")
        seed_everything(0, "cuda")
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
        assert run_metadata(torch.device("cpu"), 0)["tf32"] is False
    finally:
        set_tf32(False)
        torch.use_deterministic_algorithms(False)
