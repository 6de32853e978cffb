"""Kill the workflow (SIGKILL) in the middle of a training job, rerun the same command: the grid
finishes without redoing completed jobs, the killed job resumes from its checkpoint, and the summary
equals an uninterrupted run's."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

TIMING_METRICS = {"fit_seconds", "fps", "train_seconds"}


def workflow_command(results: Path, data: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "workflow/presets/quick.yaml", str(config),
            "--config", f"results_dir={results}", f"data_dir={data}"]


def deterministic(summary: Path) -> pd.DataFrame:
    frame = pd.read_csv(summary)
    frame = frame[~frame.metric.isin(TIMING_METRICS)]
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.mark.slow
def test_killed_run_resumes_and_matches_an_uninterrupted_run(repo, tmp_path):
    config = tmp_path / "subset.yaml"
    config.write_text(
        "clustering: {enabled: true, datasets: [digits], models: [kmeans], seeds: [0]}\n"
        "synthetic:\n  enabled: true\n  seeds: [0]\n  models: [ista, lista]\n"
        "  problem: {log_every: 50}\n  train: {schedule: joint, n_steps: 1500}\n"
        "images: {enabled: false}\nanomaly: {enabled: false}\n"
    )
    env = {**os.environ, "DPBENCH_CHECKPOINT_SECONDS": "0"}

    reference = workflow_command(tmp_path / "ref", tmp_path / "data", config)
    subprocess.run(reference, cwd=repo, env=env, check=True, capture_output=True, timeout=900)

    results = tmp_path / "run"
    command = workflow_command(results, tmp_path / "data", config)
    checkpoint = results / "synthetic" / "synthetic_noiseless" / "lista" / "seed0.json.ckpt"
    proc = subprocess.Popen(command, cwd=repo, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not checkpoint.exists():
        assert proc.poll() is None, "the workflow ended before the training job checkpointed"
        assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the workflow and its running jobs, as a power loss would
    proc.wait()
    assert not (results / "summary.csv").exists()
    finished = {p: p.stat().st_mtime_ns for p in results.rglob("*.json")}
    assert not any(p.name == "seed0.json" and p.parent.name == "lista" for p in finished)

    rerun = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was redone"
    log = (results / "logs" / "synthetic" / "synthetic_noiseless" / "lista" / "seed0.log").read_text()
    assert "resumed from checkpoint" in log
    assert not checkpoint.exists()
    pd.testing.assert_frame_equal(deterministic(results / "summary.csv"), deterministic(tmp_path / "ref" / "summary.csv"))
