import argparse
import importlib
import subprocess
import sys

import pytest
import torch

from dpbench.cli import COMMANDS, SUMMARIES, build_parser, main
from dpbench.params import UserError, parse_params


def _help_by_command(parser: argparse.ArgumentParser) -> dict[str, str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {choice.dest: choice.help for choice in action._choices_actions}


def test_every_command_is_registered_by_its_module_with_its_summary():
    for command, module in COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert command in sub.choices, f"{module} does not register {command!r}"
    registered = _help_by_command(build_parser(every_module=True))
    assert set(registered) == set(COMMANDS)
    # dpbench --help lists the commands from SUMMARIES without importing them: the same words as the modules'
    assert _help_by_command(build_parser()) == registered == SUMMARIES


def test_help_imports_no_command_module_and_is_fast(repo):
    """``python -m dpbench --help`` imports no command's module (hence neither PyTorch nor pandas)."""
    code = ("import sys, time, runpy; sys.argv = ['dpbench', '--help']; t = time.perf_counter()\n"
            "try:\n    runpy.run_module('dpbench', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('SECONDS', time.perf_counter() - t); print('MODULES', *sorted(sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "cluster-fit" in proc.stdout and "check-model" in proc.stdout
    modules = set(proc.stdout.split("MODULES", 1)[1].split())
    assert not modules & ({"torch", "pandas", "sklearn", "matplotlib"} | set(COMMANDS.values()))
    seconds = float(proc.stdout.split("SECONDS", 1)[1].split()[0])
    assert seconds < 0.5, f"dpbench --help took {seconds:.2f} s"


def test_a_command_imports_only_its_own_module(repo):
    code = "import sys\nfrom dpbench.cli import build_parser\nbuild_parser('table')\nprint(*sorted(sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    modules = set(proc.stdout.split())
    assert "dpbench.report.commands" in modules and "torch" not in modules
    assert not modules & {"dpbench.tasks.synthetic", "dpbench.tasks.images", "dpbench.tasks.clustering"}


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
