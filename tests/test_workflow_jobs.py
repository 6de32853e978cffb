"""What the workflow does to its jobs: lock handling on cluster job steps, the device of each job, the
speed switches as parameters, and what parsing it imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run_snakemake(repo: Path, workdir: Path, configs: list[Path], *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Snakemake on the repository's Snakefile in ``workdir`` with the full config, then ``configs``."""
    files = [str(repo / "config.yaml"), *map(str, configs)]
    cmd = [sys.executable, *prefix, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir), "--configfile", *files, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def tiny_synthetic(tmp_path: Path, **top: object) -> Path:
    """A config with only the synthetic task, two models and a problem that trains in a second."""
    config = {
        "device": "auto",
        "seeds": [0],
        "results_dir": str(tmp_path / "results"),
        "data_dir": str(tmp_path / "data"),
        "clustering": {"enabled": False},
        "images": {"enabled": False},
        "anomaly": {"enabled": False},
        "synthetic": {
            "enabled": True,
            "snr_db": [None],
            "models": ["ista", "lista", "lista[tied=true]"],
            "problem": {"m": 8, "n": 16, "n_layers": 2, "n_test": 20, "fista_iters": 20},
            "train": {"schedule": "joint", "n_steps": 3},
        },
        **top,
    }
    path = tmp_path / f"tiny{len(list(tmp_path.glob('tiny*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _stale_lock(workdir: Path) -> Path:
    lock = workdir / ".snakemake" / "locks" / "0.input.lock"
    lock.parent.mkdir(parents=True)
    lock.touch()
    return lock


def test_a_cluster_job_step_never_releases_the_lock(repo, tmp_path):
    """A SLURM job step parses the Snakefile in a non-main mode: it must leave the lock alone."""
    lock = _stale_lock(tmp_path)
    config = tiny_synthetic(tmp_path)
    proc = run_snakemake(repo, tmp_path, [config], "--mode", "subprocess", "-n", "--cores", "1")
    assert lock.exists(), proc.stderr[-2000:]
    proc = run_snakemake(repo, tmp_path, [config], "-n", "--cores", "1")  # the main process: stale, released
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not lock.exists()


def test_jobs_without_a_gpu_run_on_the_cpu(repo, tmp_path):
    config = tiny_synthetic(tmp_path)
    proc = run_snakemake(repo, tmp_path, [config], "-n", "-p", "--cores", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    commands = [line for line in proc.stdout.splitlines() if " synthetic --model " in line]
    ista = next(c for c in commands if "--model ista " in c)
    lista = next(c for c in commands if "--model lista " in c)
    assert "--device cpu" in ista and "--device auto" in lista


def test_changing_tf32_reruns_the_jobs_it_affects(repo, tmp_path):
    config = tiny_synthetic(tmp_path, slots_per_gpu=3)
    proc = run_snakemake(repo, tmp_path, [config], "--cores", "1", "--until", "synthetic")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # a variant is its own model: its own result file, built with its options
    variant = json.loads((tmp_path / "results/synthetic/synthetic_noiseless/lista[tied=true]/seed0.json").read_text())
    assert variant["model"] == "lista[tied=true]"
    # the jobs learn how many may share a GPU (dpbench.gpu_slots), and record it; a CPU job runs no CUDA graph
    assert variant["meta"]["jobs_per_gpu"] == 3 and variant["meta"]["cuda_graphs"] is False
    # how many jobs share a GPU changes no result: no job reruns for it
    fewer = tiny_synthetic(tmp_path, slots_per_gpu=1)
    assert "seed0.json" not in run_snakemake(repo, tmp_path, [fewer], "-n", "--cores", "1", "--until", "synthetic").stdout

    for switch in ("tf32", "cuda_graphs"):
        switched = tiny_synthetic(tmp_path, **{switch: True})
        proc = run_snakemake(repo, tmp_path, [switched], "-n", "--cores", "1", "--until", "synthetic")
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = proc.stdout
        assert "lista/seed0.json" in out and "ista/seed0.json" not in out.replace("lista/seed0.json", ""), switch
        assert "params" in out.lower()  # the reason Snakemake gives: the job's parameters changed


def test_parsing_the_workflow_imports_neither_torch_nor_seaborn(repo, tmp_path):
    config = tiny_synthetic(tmp_path)
    proc = run_snakemake(repo, tmp_path, [config], "-n", "--cores", "1", prefix=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "dpbench.registry" in imported  # the trace is real
    for heavy in ("torch", "seaborn"):
        assert heavy not in imported, f"parsing the workflow imports {heavy}"


@pytest.mark.parametrize("flag", ["--tf32", "--compile", "--cuda-graphs"])
def test_the_cli_switches_override_the_environment(monkeypatch, tmp_path, flag):
    import os

    from dpbench.cli import main
    from dpbench.params import COMPILE_ENV, GRAPHS_ENV, TF32_ENV

    switches = {"--tf32": TF32_ENV, "--compile": COMPILE_ENV, "--cuda-graphs": GRAPHS_ENV}
    for env in switches.values():
        monkeypatch.setenv(env, "1")
    main([flag, "aggregate", str(tmp_path / "missing.json"), "--csv", str(tmp_path / "s.csv"), "--parquet", str(tmp_path / "s.pq")])
    assert {env: os.environ[env] for env in switches.values()} == {env: "1" if f == flag else "0" for f, env in switches.items()}


def test_a_gpu_shard_request_becomes_sbatch_gres():
    """The SLURM profile's recipe for jobs sharing a GPU (``gpu=0``, ``gres=shard:1``): the plugin
    submits a shard, not a whole GPU."""
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Resources(dict):
        __getattr__ = dict.__getitem__

    profile = (Path(__file__).resolve().parents[1] / "workflow/profiles/slurm/config.yaml").read_text()
    assert "synthetic:gpu=0 synthetic:gres=shard:1" in profile
    assert set_gres_string(SimpleNamespace(resources=Resources(gpu=0, gres="shard:1"))).strip() == "--gres=shard:1"
    assert set_gres_string(SimpleNamespace(resources=Resources(gpu=1))).strip() == "--gpus=1"  # what a rule asks by default


@pytest.mark.parametrize("preset", sorted((Path(__file__).resolve().parents[1] / "workflow/presets").glob("*.yaml")), ids=lambda p: p.name)
def test_every_preset_is_a_valid_config(repo, preset):
    from dpbench.tasks.jobs import load_config

    config = load_config([repo / "config.yaml", preset], schema=repo / "workflow/schemas/config.schema.yaml")
    assert config["slots_per_gpu"] >= 1  # the schema's defaults filled in


def test_the_quick_preset_runs_every_task_and_every_model_of_the_registry(repo):
    """make demo is the first run a newcomer makes: every task, and every registered model in at least one."""
    from dpbench import registry
    from dpbench.tasks.jobs import load_config, model_spec

    config = load_config([repo / "config.yaml", repo / "workflow/presets/quick.yaml"], schema=repo / "workflow/schemas/config.schema.yaml")
    sections = ("clustering", "synthetic", "images", "anomaly")
    assert all(config[section]["enabled"] for section in sections)
    ran = {model_spec(name).name for section in sections for name in config[section]["models"]}
    assert set(registry.MODELS) <= ran, f"not run by the quick preset: {sorted(set(registry.MODELS) - ran)}"
