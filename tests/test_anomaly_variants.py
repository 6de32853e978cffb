"""Anomaly variants in the config: their parameters, models and seeds, and the jobs the workflow makes of
them (features and dictionary once per variant and seed, the floor with neither)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from dpbench.params import UserError
from dpbench.tasks import jobs


def _config(**anomaly: object) -> dict:
    base = {"seeds": [0, 1], "anomaly": {"models": ["ista", "motion_energy"], "params": {"lam": 0.3, "smooth": 5}, **anomaly}}
    return base


def test_variants_layer_on_params_and_keep_their_own_models_and_seeds():
    config = _config(variants={
        "a": {},
        "b": {"params": {"pipeline": "anomalynet", "anomalynet": {"backbone": "conv_ae"}}, "models": ["sc2net"], "seeds": [3]},
    })
    variants = jobs.anomaly_variants(config)
    assert list(variants) == ["a", "b"]
    assert variants["a"] == {"params": {"lam": 0.3, "smooth": 5}, "models": ["ista", "motion_energy"], "seeds": [0, 1]}
    assert variants["b"]["params"] == {"lam": 0.3, "smooth": 5, "pipeline": "anomalynet", "anomalynet": {"backbone": "conv_ae"}}
    assert variants["b"]["models"] == ["sc2net"] and variants["b"]["seeds"] == [3]
    assert jobs.anomaly_pipeline(config, "b") == "anomalynet" and jobs.anomaly_pipeline(config, "a") == "cuboids"
    assert jobs.anomaly_params(config, "ista", "b")["anomalynet"] == {"backbone": "conv_ae"}
    with pytest.raises(UserError, match="unknown anomaly variant 'c'"):
        jobs.anomaly_params(config, "ista", "c")
    # without variants: one, named after the pipeline
    assert list(jobs.anomaly_variants(_config())) == ["cuboids"]


def test_the_workflow_runs_features_once_per_variant_and_seed_and_the_floor_alone(repo, tmp_path):
    config = {
        "seeds": [0, 1], "results_dir": str(tmp_path / "results"), "data_dir": str(tmp_path / "data"),
        "clustering": {"enabled": False}, "synthetic": {"enabled": False}, "images": {"enabled": False},
        "anomaly": {"enabled": True, "datasets": ["synthetic"], "models": ["ista", "lista", "motion_energy"],
                    "variants": {"cuboids": {}, "anet": {"params": {"pipeline": "anomalynet"}, "seeds": [0]}}},
    }
    path = tmp_path / "variants.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "-n", "-p", "--cores", "1",
                           "--configfile", str(repo / "config.yaml"), str(path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    stats = dict(line.split()[:2] for line in out[out.index("Job stats"):].splitlines()[3:] if len(line.split()) == 2)
    # features: the anomalynet variant's one seed; dictionaries: 2 cuboids seeds + 1; runs: 3 models x (2 + 1)
    assert stats["anomaly_features"] == "1" and stats["anomaly_dictionary"] == "3" and stats["anomaly_run"] == "9"
    assert "results/anomaly/synthetic/anet/features/seed0.pt" in out and "anet/features/seed1.pt" not in out
    commands = [line for line in out.splitlines() if "anomaly-run" in line]
    floor = [c for c in commands if "--model motion_energy" in c]
    coders = [c for c in commands if "--model lista" in c and "--variant anet" in c]
    assert len(floor) == 3 and not any("--dictionary" in c or "--features" in c for c in floor)
    assert len(coders) == 1 and "--features" in coders[0] and "anet/dictionary/seed0.pt" in coders[0]
