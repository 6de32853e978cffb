"""End-to-end anomaly job on a tiny synthetic video through the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dpbench.cli import main

TINY_PARAMS = {"n_atoms": 32, "max_train_patches": 3000, "dict_iter": 3, "epochs": 3, "n_layers": 8}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("anomaly")
    assert main(["anomaly-synth", "--root", str(root / "raw"), "--seed", "0", "--train-clips", "2", "--test-clips", "4", "--frames", "30"]) == 0
    assert main(["anomaly-prepare", "--dataset", "synthetic", "--data-dir", str(root / "raw"), "--output", str(root / "prep")]) == 0
    assert (root / "prep" / "manifest.json").is_file()
    return root


def test_learned_coder_detects_anomalies(prepared):
    out = prepared / "results" / "anomaly" / "synthetic" / "lista" / "seed0.json"
    scores = prepared / "results" / "anomaly" / "synthetic" / "lista" / "seed0.csv"
    rc = main([
        "anomaly-run", "--dataset", "synthetic", "--prepared", str(prepared / "prep"), "--model", "lista",
        "--seed", "0", "--params", json.dumps(TINY_PARAMS), "--device", "cpu",
        "--output", str(out), "--scores-output", str(scores),
    ])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["task"] == "anomaly" and doc["dataset"] == "synthetic" and doc["model"] == "lista" and doc["seed"] == 0
    values = {r["metric"]: r["value"] for r in doc["records"]}
    assert set(values) == {"auc", "eer", "fps"}
    assert values["auc"] >= 0.9
    assert 0 <= values["eer"] < 0.2
    assert values["fps"] > 0
    assert doc["params"]["n_atoms"] == 32 and doc["params"]["lam"] == 0.3
    frame = pd.read_csv(scores)
    assert list(frame.columns) == ["clip", "frame", "score", "raw_score", "label"]
    assert len(frame) == 4 * 30
    assert frame.groupby("clip")["score"].agg(["min", "max"]).values.tolist() == [[0.0, 1.0]] * 4


def test_unknown_param_is_a_user_error(prepared, capsys):
    rc = main([
        "anomaly-run", "--dataset", "synthetic", "--prepared", str(prepared / "prep"), "--model", "ista",
        "--seed", "0", "--params", '{"epoch": 3}', "--output", str(prepared / "x.json"),
    ])
    assert rc == 1
    assert "'epoch'" in capsys.readouterr().err
    assert not (prepared / "x.json").exists()


def test_dataset_mismatch_and_unknown_model(prepared, capsys):
    common = ["--prepared", str(prepared / "prep"), "--seed", "0", "--output", str(prepared / "y.json")]
    assert main(["anomaly-run", "--dataset", "ucsd_ped2", "--model", "ista", *common]) == 1
    assert "synthetic" in capsys.readouterr().err
    assert main(["anomaly-run", "--dataset", "synthetic", "--model", "nope", *common]) == 1
    assert "nope" in capsys.readouterr().err
