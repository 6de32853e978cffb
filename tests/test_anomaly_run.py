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


def anomaly_run(prepared, out, model="lista"):
    return main([
        "anomaly-run", "--dataset", "synthetic", "--prepared", str(prepared / "prep"), "--model", model, "--seed", "0",
        "--params", json.dumps(TINY_PARAMS), "--device", "cpu", "--output", str(out / model / "seed0.json"),
        "--scores-output", str(out / model / "seed0.scores.csv"),
    ])


def test_diverged_training_is_recorded_with_empty_scores_and_left_out_of_the_figures(prepared, tmp_path, monkeypatch, nan_loss):
    from dpbench.report.anomaly_figures import write_anomaly_figures

    nan_loss()
    assert anomaly_run(prepared, tmp_path, "sc2net") == 0
    doc = json.loads((tmp_path / "sc2net" / "seed0.json").read_text())
    assert doc["status"] == "diverged" and doc["records"] == []
    assert doc["message"].startswith("anomaly/synthetic/sc2net seed 0: SC2Net: training diverged at step 1")
    empty = pd.read_csv(tmp_path / "sc2net" / "seed0.scores.csv")
    assert empty.empty and list(empty.columns) == ["clip", "frame", "score", "raw_score", "label"]
    assert not (tmp_path / "sc2net" / "seed0.json.ckpt").exists()

    monkeypatch.undo()
    assert anomaly_run(prepared, tmp_path, "ista") == 0
    out = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("roc", "pdf"), ("roc_png", "png"), ("trace", "pdf"), ("trace_png", "png"))}
    paths = [tmp_path / m / "seed0.scores.csv" for m in ("ista", "sc2net")]
    write_anomaly_figures(paths, "synthetic", {"pdf": out["roc"], "png": out["roc_png"]}, {"pdf": out["trace"], "png": out["trace_png"]})
    write_anomaly_figures(paths[1:], "synthetic", {"pdf": out["roc"], "png": out["roc_png"]}, {"pdf": out["trace"], "png": out["trace_png"]})
    assert all(tmp_path.joinpath(p).stat().st_size > 0 for p in out.values())


def test_killed_training_resumes_from_its_checkpoint(prepared, tmp_path, interrupter):
    assert anomaly_run(prepared, tmp_path / "ref") == 0
    per_epoch = interrupter.calls // TINY_PARAMS["epochs"]

    interrupter.calls, interrupter.at = 0, per_epoch + 2  # in the second epoch: the first is checkpointed
    with pytest.raises(interrupter.Interrupt):
        anomaly_run(prepared, tmp_path / "run")
    assert (tmp_path / "run" / "lista" / "seed0.json.ckpt").exists()

    interrupter.calls, interrupter.at = 0, 0
    assert anomaly_run(prepared, tmp_path / "run") == 0
    assert interrupter.calls == 2 * per_epoch
    assert not (tmp_path / "run" / "lista" / "seed0.json.ckpt").exists()
    ours, ref = (pd.read_csv(tmp_path / d / "lista" / "seed0.scores.csv") for d in ("run", "ref"))
    pd.testing.assert_frame_equal(ours, ref)


def test_a_shared_dictionary_gives_the_same_scores_and_a_foreign_one_is_refused(prepared, tmp_path, capsys):
    common = ["--dataset", "synthetic", "--prepared", str(prepared / "prep"), "--seed", "0"]
    params = ["--params", json.dumps(TINY_PARAMS)]
    assert main(["anomaly-dictionary", *common, *params, "--output", str(tmp_path / "dict.pt")]) == 0
    for name, extra in (("own", []), ("shared", ["--dictionary", str(tmp_path / "dict.pt")])):
        assert main(["anomaly-run", *common, *params, "--model", "lista", "--device", "cpu", *extra,
                     "--output", str(tmp_path / f"{name}.json"), "--scores-output", str(tmp_path / f"{name}.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "own.csv"), pd.read_csv(tmp_path / "shared.csv"))

    other = json.dumps({**TINY_PARAMS, "n_atoms": 16})
    assert main(["anomaly-run", *common, "--params", other, "--model", "ista", "--dictionary", str(tmp_path / "dict.pt"),
                 "--output", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err
    assert "dict.pt was learned for synthetic, seed 0" in err and "'n_atoms': 32" in err
    assert not (tmp_path / "x.json").exists()
