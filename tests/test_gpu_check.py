"""The prepared device check (``make gpu-check``) at toy size on the CPU: every part runs and reports,
so that the one run on a lent GPU cannot fail for a typo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dpbench.report.gpu_results import best_level, concurrency_gains, progress, render, stage_log, synthetic_grid_hours

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def test_the_check_runs_every_part_at_toy_size(repo, tmp_path):
    mnist = ["--mnist-dir", str(MNIST)] if MNIST.exists() else []
    proc = subprocess.run(
        [sys.executable, "-m", "dpbench.gpu_check", "--toy", "--device", "cpu", "--models", "alista",
         "--out", str(tmp_path), "--budget-s", "300", *mnist],
        cwd=repo, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((tmp_path / "gpu_check.json").read_text())["rows"]
    assert not [r for r in rows if "error" in r and r["part"] != "mnist"], rows
    by_part = {part: [r for r in rows if r["part"] == part] for part in ("speed", "concurrency", "protocol")}
    assert [(r["model"], r["mode"]) for r in by_part["speed"]] == [("alista", "eager")]  # no TF32 or graphs on a CPU
    assert all(r["steps_per_s"] > 0 for r in by_part["speed"] + by_part["concurrency"])
    assert sorted(r["jobs"] for r in by_part["concurrency"]) == [1, 2, 2]
    assert [r["model"] for r in by_part["protocol"]] == ["alista"]
    assert all(r["nmse_db"] < 0 and r["train_steps"] > 0 for r in by_part["protocol"])
    if mnist:
        assert next(r for r in rows if r["part"] == "mnist")["nmi"] > 0.3
    table = (tmp_path / "gpu_check.md").read_text()
    assert table in proc.stdout and "| alista |" in table and "Synthetic grid of config.yaml" in table
    # the job's log, as the jobs' own CLI writes it, gives every sub-stage: 4 layers x (1 + 2 decays)
    log = tmp_path / "protocol" / "alista.log"
    stages = stage_log(log.read_text())
    assert [(s["layer"], s["lr"]) for s in stages[:3]] == [(1, 5e-4), (1, 1e-4), (1, 1e-5)] and len(stages) == 12
    assert progress(log) == {"partial": True, "layers": 4, "nmse_db": stages[-1]["nmse_db"],
                             "train_steps": sum(s["steps"] for s in stages[1:]), "train_s": stages[-1]["time"] - stages[0]["time"]}
    assert render(tmp_path) == table.split("\n\nWhole check")[0]  # a kept check renders as it printed


def test_the_concurrency_gain_is_the_summed_throughput_over_one_jobs():
    rows = [{"part": "concurrency", "model": "a", "jobs": 1, "steps_per_s": 100.0}]
    rows += [{"part": "concurrency", "model": "a", "jobs": 4, "steps_per_s": 60.0} for _ in range(4)]
    rows += [{"part": "concurrency", "model": "a", "jobs": 8, "steps_per_s": 20.0} for _ in range(8)]
    rows += [{"part": "concurrency", "model": "b", "jobs": 1, "steps_per_s": 50.0}]  # not measured at 4 and 8: left out of the best
    gains = concurrency_gains(rows)
    assert gains["a"] == {1: (100.0, 1.0), 4: (240.0, 2.4), 8: (160.0, 1.6)}
    assert best_level(gains) == (4, 2.4)


def test_the_synthetic_grid_bound_counts_every_sub_stage_at_the_measured_step_time():
    rows = [{"part": "protocol", "model": "a", "tf32": False, "train_steps": 1000, "train_s": 2.0},
            {"part": "protocol", "model": "a", "tf32": True, "train_steps": 1000, "train_s": 1.0},  # not the eager time
            {"part": "protocol", "model": "b", "tf32": False, "error": "out of time"}]
    train = {"n_layers": 16, "lr_decays": [0.2, 0.02], "patience": 4000}
    hours, missing = synthetic_grid_hours(rows, slots=4, train=train, jobs_per_model=10)
    # 48 sub-stages x 4000 steps x 2 ms, for a and for b (a's time), 10 jobs each, 4 at once
    assert missing == ["b"] and hours == 48 * 4000 * 0.002 * 2 * 10 / 4 / 3600
