"""End-to-end anomaly job on a tiny synthetic video through the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dpbench.cli import main

TINY_PARAMS = {"patch": 6, "max_train_patches": 2000, "dict_iter": 2, "max_steps": 40, "eval_every": 10, "patience": 3, "n_layers": 6}


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
    assert set(values) == {"auc", "eer", "auc_video_norm", "eer_video_norm", "fps", "steps"}
    # four short clips, one of them a subtle cart (graded events): well above chance, not perfect
    assert values["auc"] >= 0.7 and values["auc_video_norm"] >= 0.7
    assert 0 <= values["eer"] < 0.35
    assert values["fps"] > 0
    assert doc["params"]["n_atoms"] is None and doc["params"]["lam"] == 0.3
    # the default dictionary is overcomplete: twice the 6x6x2 cuboid dimension
    assert doc["meta"]["cuboid_dim"] == 72 and doc["meta"]["n_atoms"] == 144
    assert values["steps"] == doc["meta"]["steps"] > 0 and doc["meta"]["stopped"] in ("patience", "max_steps")
    assert len(doc["meta"]["val_losses"]) == doc["meta"]["steps"] // 10 + 1
    frame = pd.read_csv(scores)
    assert list(frame.columns) == ["clip", "frame", "score", "score_video_norm", "raw_score", "label"]
    assert len(frame) == 4 * 30
    assert frame.groupby("clip")["score_video_norm"].agg(["min", "max"]).values.tolist() == [[0.0, 1.0]] * 4
    # the primary scores are raw: one threshold over every clip
    assert frame["score"].min() > 0 and frame.groupby("clip")["score"].max().nunique() == 4


def test_scoring_in_the_original_space_adds_what_the_pca_drops(prepared):
    from dpbench.anomaly.datasets import load_prepared
    from dpbench.anomaly.scoring import run_anomaly
    from dpbench.runtime import resolve_device

    data, cpu = load_prepared(prepared / "prep"), resolve_device("cpu")
    params = {**TINY_PARAMS, "pca_dims": 8, "max_steps": 0}
    raw = {space: run_anomaly(data, "ista", {**params, "score_space": space}, seed=0, device=cpu).frames["raw_score"]
           for space in ("projected", "original")}
    # the same encoder and dictionary: each cuboid's cost can only grow by the energy outside 8 of 72 dimensions
    assert (raw["original"] >= raw["projected"] - 1e-9).all() and (raw["original"] > raw["projected"]).mean() > 0.9


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
    assert empty.empty and list(empty.columns) == ["clip", "frame", "score", "score_video_norm", "raw_score", "label"]
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
    total = interrupter.calls
    every = TINY_PARAMS["eval_every"]
    assert total > every

    interrupter.calls, interrupter.at = 0, every + 2  # after the first evaluation, which is checkpointed
    with pytest.raises(interrupter.Interrupt):
        anomaly_run(prepared, tmp_path / "run")
    assert (tmp_path / "run" / "lista" / "seed0.json.ckpt").exists()

    interrupter.calls, interrupter.at = 0, 0
    assert anomaly_run(prepared, tmp_path / "run") == 0
    assert interrupter.calls == total - every
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

    other = json.dumps({**TINY_PARAMS, "n_atoms": 16})  # the stored one has n_atoms None
    assert main(["anomaly-run", *common, "--params", other, "--model", "ista", "--dictionary", str(tmp_path / "dict.pt"),
                 "--output", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err
    assert "dict.pt was learned for synthetic, seed 0" in err and "'n_atoms': None" in err
    assert not (tmp_path / "x.json").exists()


def test_a_model_that_cannot_run_in_a_setting_is_refused_saying_why(prepared, tmp_path, capsys):
    params = json.dumps({**TINY_PARAMS, "n_atoms": 64})  # 64 atoms for 72-dimensional cuboids
    rc = main(["anomaly-run", "--dataset", "synthetic", "--prepared", str(prepared / "prep"), "--model", "alista",
               "--seed", "0", "--params", params, "--device", "cpu", "--output", str(tmp_path / "a.json")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "'alista' cannot run with an undercomplete dictionary (64 atoms for 72-dimensional cuboids)" in err
    assert "pseudo-inverse" in err
    assert not (tmp_path / "a.json").exists()


def test_training_stops_when_the_held_out_loss_stops_improving():
    import torch

    from dpbench.anomaly.training import held_out_loss, train_to_convergence
    from dpbench.sparse import build_model

    gen = torch.Generator().manual_seed(0)
    D = torch.nn.functional.normalize(torch.randn(8, 16, generator=gen), dim=0)
    x = (torch.randn(600, 16, generator=gen) * (torch.rand(600, 16, generator=gen) < 0.2)) @ D.T
    model = build_model("lista", D, 0.1, 3)
    res = train_to_convergence(model, x[:500], x[500:], D, 0.1, max_steps=5000, eval_every=10, patience=3, lr=1e-2,
                               batch_size=64, generator=gen)
    assert res.stopped == "patience" and res.steps < 5000
    assert res.steps == 10 * (len(res.val_losses) - 1)
    # the kept state is the best evaluated one, three evaluations before the end
    assert res.best_step == res.steps - 30
    kept = res.val_losses[res.best_step // 10]
    assert kept < res.val_losses[0] and min(res.val_losses) >= kept * (1 - 1e-4)  # later ones improved by < min_delta
    assert held_out_loss(model, x[500:], D, 0.1) == pytest.approx(kept, rel=1e-5)
