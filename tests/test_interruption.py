"""Kill the workflow (SIGKILL) in the middle of a training job, rerun the same command: the grid
finishes without redoing completed jobs, the killed job resumes from its checkpoint, and the summary
equals an uninterrupted run's. The rerun also starts when a job had written its output just before
the kill (Snakemake still marks it incomplete): that job is redone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

TIMING_METRICS = {"fit_seconds", "fps", "train_seconds"}


def workflow_command(results: Path, data: Path, config: Path, cores: int = 2) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", "workflow/presets/quick.yaml",
            str(config), "--config", f"results_dir={results}", f"data_dir={data}"]


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
    # one job at a time: the training job is the only one running when the kill comes, so every other
    # output either exists and is complete, or does not exist
    command = workflow_command(results, tmp_path / "data", config, cores=1)
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
    killed = results / "synthetic" / "synthetic_noiseless" / "lista" / "seed0.json"
    assert killed not in finished
    # as if the killed job had written its output in the instant before the kill, before Snakemake could
    # record that it ended: the output exists and Snakemake has it marked incomplete
    killed.write_text("{}")

    rerun = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"removed {killed}: its job was running when the run was killed" in rerun.stderr
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was redone"
    log = (results / "logs" / "synthetic" / "synthetic_noiseless" / "lista" / "seed0.log").read_text()
    assert "resumed from checkpoint" in log
    assert not checkpoint.exists()
    pd.testing.assert_frame_equal(deterministic(results / "summary.csv"), deterministic(tmp_path / "ref" / "summary.csv"))
