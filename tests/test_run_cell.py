"""``dpbench run``: one cell without Snakemake, with the parameters the workflow would give it."""

from __future__ import annotations

import yaml

from dpbench.cli import main
from dpbench.tasks import jobs


def _tiny(tmp_path, repo):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump({
        "device": "cpu",
        "data_dir": str(tmp_path / "data"),
        "synthetic": {
            "snr_db": [None],
            "problem": {"m": 8, "n": 16, "n_layers": 3, "n_test": 20, "fista_iters": 20},
            "train": {"schedule": "joint", "n_steps": 5},
        },
        "clustering": {"datasets": ["digits"], "params": {"kmeansnet": {"epochs": 2}}},
    }))
    return preset


def test_one_synthetic_cell_prints_its_metrics_per_layer(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    out = tmp_path / "cell"
    assert main(["run", "synthetic", "--model", "lista[tied=true]", "--preset", str(_tiny(tmp_path, repo)), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic_noiseless | lista[tied=true] | seed 0 | cpu" in printed
    assert "nmse_db" in printed and "objective_gap" in printed
    # the parameters are the workflow's (dpbench.tasks.jobs), the variant's options applied
    result = yaml.safe_load((out / "result.json").read_text())
    config = jobs.load_config([repo / "config.yaml", tmp_path / "tiny.yaml"])
    assert result["params"]["n_steps"] == jobs.synthetic_params(config, "synthetic_noiseless", "lista[tied=true]")["n_steps"] == 5
    per_layer, trained = printed.strip().split("\n\n")[-2:]
    assert len([line for line in per_layer.splitlines() if line.startswith("| synthetic ")]) == 3  # one row per layer
    assert "train_steps" in trained and "|             5 |" in trained  # the steps trained, recorded once


def test_one_clustering_cell_and_bad_input(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    preset = str(_tiny(tmp_path, repo))
    assert main(["run", "clustering", "--model", "kmeans[n_init=1]", "--preset", preset, "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "clustering | digits | kmeans[n_init=1] | seed 3 | cpu" in printed and "acc" in printed
    assert main(["run", "clustering", "--model", "lista", "--preset", preset]) == 1
    assert "cannot run here" in capsys.readouterr().err
    assert main(["run", "synthetic", "--model", "alista", "--preset", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml" in capsys.readouterr().err
