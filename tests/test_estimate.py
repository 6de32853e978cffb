"""The run-time estimate from Snakemake's per-job benchmark files (dpbench.estimate)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from dpbench.estimate import Job, concurrency_gain, estimate, jobs_from_dry_run, per_rule, per_task
from dpbench.params import UserError

DRY_RUN = """\
Building DAG of jobs...
rule synthetic:
    output: r/synthetic/a/lista/seed0.json
    log: r/logs/synthetic/a/lista/seed0.log
    jobid: 3
    benchmark: r/benchmarks/synthetic/a/lista/seed0.tsv
    wildcards: dataset=a, model=lista, seed=0
    resources: tmpdir=/tmp, gpu=1
localrule aggregate:
    output: r/summary.csv
    jobid: 1
rule synthetic:
    benchmark: r/benchmarks/synthetic/a/ista/seed1.tsv
    resources: tmpdir=/tmp, gpu=0
"""


def write_benchmark(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t1.0\n")


def test_dry_run_jobs_keep_only_benchmarked_ones():
    jobs = jobs_from_dry_run(DRY_RUN)
    assert [(j.rule, str(j.benchmark), j.gpu, j.task) for j in jobs] == [
        ("synthetic", "r/benchmarks/synthetic/a/lista/seed0.tsv", True, "synthetic"),
        ("synthetic", "r/benchmarks/synthetic/a/ista/seed1.tsv", False, "synthetic"),
    ]
    assert Job("s", Path("b/lista/seed0.tsv")).cell == Job("s", Path("b/lista/seed1.tsv")).cell


def test_unmeasured_seeds_take_their_cells_median_and_empty_cells_stay_unknown(tmp_path):
    b = tmp_path / "benchmarks"
    for seed, seconds in ((0, 10.0), (1, 20.0)):
        write_benchmark(b / f"fit/lista/seed{seed}.tsv", seconds)
    jobs = [Job("fit", b / f"fit/lista/seed{s}.tsv") for s in range(3)]
    jobs += [Job("fit", b / "fit/alista/seed0.tsv"), Job("plot", b / "plot/seed0.tsv")]
    frame = estimate(jobs)
    assert set(frame["rule"]) == {"fit"}  # a rule with nothing measured drops out
    lista = frame[frame["cell"].str.contains("lista/") & ~frame["cell"].str.contains("alista")]
    assert list(lista["estimated_s"]) == [10.0, 20.0, 15.0]
    assert math.isnan(frame[frame["cell"].str.contains("alista")]["estimated_s"].iloc[0])
    table = per_rule(frame)
    assert table.loc["fit", "jobs"] == 4 and table.loc["fit", "measured"] == 2 and table.loc["fit", "unmeasured"] == 1
    assert math.isclose(table.loc["total", "hours"], round(45 / 3600, 2))


def test_estimate_command_on_the_quick_preset_grid(repo, tmp_path):
    write_benchmark(tmp_path / "benchmarks/synthetic/synthetic_noiseless/lista/seed0.tsv", 1800.0)
    two_seeds = tmp_path / "two_seeds.yaml"  # layered on the preset as a user would: seeds 0 and 1, seven models
    two_seeds.write_text("synthetic: {seeds: [0, 1], models: [ista, fista, lista, lista_cp, lista_cpss, alista, sc2net]}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dpbench", "estimate", "--configfile", "workflow/presets/quick.yaml", str(two_seeds),
         "--config", f"results_dir={tmp_path}", "--gpu-check", str(_gpu_check_file(tmp_path)), "--cpu-jobs", "4"],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| synthetic"))
    # 7 models x 2 seeds; one measured; its other seed estimated at 1,800 s: 1 hour in all
    assert [cell.strip() for cell in row.strip("|").split("|")] == ["synthetic", "14", "1", "12", "1"]
    assert "6 cell(s) have no measured seed" in proc.stdout
    # the two lista jobs take a GPU: 1 hour over the gain of 4 jobs sharing it (3x)
    assert "4 jobs sharing the GPU, 3.00x" in proc.stdout
    task = next(line for line in proc.stdout.splitlines() if line.startswith("| synthetic") and line.count("|") == 8)
    assert [cell.strip() for cell in task.strip("|").split("|")][-1] == "0.33"


def _gpu_check_file(tmp_path: Path) -> Path:
    rows = [{"part": "concurrency", "model": m, "jobs": n, "steps_per_s": per_job}
            for m in ("lista", "alista") for n, per_job in ((1, 100.0), (4, 75.0), (8, 30.0)) for _ in range(n)]
    path = tmp_path / "gpu_check.json"
    path.write_text(json.dumps({"rows": rows + [{"part": "mnist", "error": "skipped"}]}))
    return path


def test_the_concurrency_gain_comes_from_the_gpu_check(tmp_path):
    path = _gpu_check_file(tmp_path)
    assert concurrency_gain(path, None) == (4, 3.0)  # 4 x 75 steps/s against 100: the best level
    assert concurrency_gain(path, 8) == (8, 2.4)
    with pytest.raises(UserError, match=r"--jobs-per-gpu 2: not measured .*\[1, 4, 8\]"):
        concurrency_gain(path, 2)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UserError, match="not a gpu-check result"):
        concurrency_gain(tmp_path / "bad.json", None)


def test_the_wall_time_divides_gpu_hours_by_the_gain_and_runs_cpu_jobs_beside(tmp_path):
    b = tmp_path / "benchmarks"
    jobs = [Job("synthetic", b / f"synthetic/a/lista/seed{s}.tsv", gpu=True) for s in range(2)]
    jobs += [Job("synthetic", b / "synthetic/a/ista/seed0.tsv"), Job("cluster_fit", b / "clustering/d/kmeans/seed0.tsv")]
    for job, hours in zip(jobs, (3.0, 3.0, 1.0, 8.0), strict=True):
        write_benchmark(job.benchmark, hours * 3600)
    table = per_task(estimate(jobs), gain=3.0, cpu_jobs=2)
    assert table.loc["synthetic", ["gpu_hours", "cpu_hours", "wall_hours"]].tolist() == [6.0, 1.0, 2.0]
    assert table.loc["clustering", "wall_hours"] == 4.0  # CPU only: 8 h over 2 at a time
    assert table.loc["total", ["jobs", "gpu_jobs", "wall_hours"]].tolist() == [4, 2, 4.5]  # 9 CPU hours over 2
