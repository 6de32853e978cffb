"""The run-time estimate from Snakemake's per-job benchmark files (dpbench.estimate)."""

import math
import subprocess
import sys
from pathlib import Path

from dpbench.estimate import Job, estimate, jobs_from_dry_run, per_rule

DRY_RUN = """\
Building DAG of jobs...
rule synthetic:
    output: r/synthetic/a/lista/seed0.json
    log: r/logs/synthetic/a/lista/seed0.log
    jobid: 3
    benchmark: r/benchmarks/synthetic/a/lista/seed0.tsv
    wildcards: dataset=a, model=lista, seed=0
localrule aggregate:
    output: r/summary.csv
    jobid: 1
rule synthetic:
    benchmark: r/benchmarks/synthetic/a/lista/seed1.tsv
"""


def write_benchmark(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t1.0\n")


def test_dry_run_jobs_keep_only_benchmarked_ones():
    jobs = jobs_from_dry_run(DRY_RUN)
    assert [(j.rule, str(j.benchmark)) for j in jobs] == [
        ("synthetic", "r/benchmarks/synthetic/a/lista/seed0.tsv"),
        ("synthetic", "r/benchmarks/synthetic/a/lista/seed1.tsv"),
    ]
    assert jobs[0].cell == jobs[1].cell


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
    proc = subprocess.run(
        [sys.executable, "-m", "dpbench", "estimate", "--configfile", "workflow/presets/quick.yaml",
         "--config", f"results_dir={tmp_path}"],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| synthetic"))
    # 7 models x 2 seeds; one measured; its other seed estimated at 1,800 s: 1 hour in all
    assert [cell.strip() for cell in row.strip("|").split("|")] == ["synthetic", "14", "1", "12", "1"]
    assert "6 cell(s) have no measured seed" in proc.stdout
