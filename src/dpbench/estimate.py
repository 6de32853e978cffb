"""Run-time estimate of a whole grid from the per-job times Snakemake measured.

``python -m dpbench estimate [--configfile F ...] [--config KEY=VALUE ...]`` (or ``make estimate``)
lists every job of the configured grid and its ``benchmark:`` file with a forced dry run of the
workflow, and adds up: a measured job at its measured wall time, an unmeasured one at the median
of its cell (the same job with another seed). Cells with no measured seed are counted and named,
never guessed. To estimate the full reproduction on a machine, run one seed of it there first
(``snakemake --cores all --configfile one_seed.yaml``, a file holding ``seeds: [0]``), then
``python -m dpbench estimate``: the other seeds are estimated from the measured one.

The sum is the serial time. The wall time on one GPU comes from it and the concurrency gain that
``make gpu-check`` measured (``--gpu-check results/gpu_check/gpu_check.json``): the GPU jobs' (``gpu=1``)
time divided by the gain of ``--jobs-per-gpu`` jobs sharing the GPU (default: the level with the best
measured gain), while the jobs that need no GPU (ISTA, FISTA, scikit-learn's k-means) run beside them,
``--cpu-jobs`` at a time; per task and for the whole grid, the larger of the two. Without a gpu-check
file the GPU jobs count one at a time (gain 1). The per-job times must have been measured with one
job per GPU (``slots_per_gpu: 1``); downloads, data preparation and the report (benchmark folders
:data:`NOT_ESTIMATED`) are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dpbench.params import UserError

# benchmark folders of jobs left out of the estimate: downloads and data preparation (once per dataset), the report
NOT_ESTIMATED = {"data", "report"}
_SEED = re.compile(r"seed\d+")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_BENCHMARK = re.compile(r"^\s+benchmark: (\S+)$")
_GPU = re.compile(r"^\s+resources: .*\bgpu=(\d+)")


@dataclass(frozen=True)
class Job:
    """One job of the grid: its rule, its benchmark file and whether it takes a GPU."""

    rule: str
    benchmark: Path
    gpu: bool = False

    @property
    def task(self) -> str:
        """The task, from the benchmark file's folder (``<results>/benchmarks/<task>/...``)."""
        parts = self.benchmark.parts
        return parts[parts.index("benchmarks") + 1] if "benchmarks" in parts[:-1] else self.rule

    @property
    def cell(self) -> str:
        """The job's path with its seed removed: jobs of one cell differ only by seed."""
        return _SEED.sub("seed*", str(self.benchmark))


def jobs_from_dry_run(text: str) -> list[Job]:
    """The jobs with a ``benchmark:`` file in the output of ``snakemake --dry-run --forceall``."""
    jobs: dict[Path, Job] = {}
    rule, path, gpu = None, None, False

    def close() -> None:
        if rule is not None and path is not None:
            jobs[path] = Job(rule, path, gpu)

    for line in text.splitlines():
        if match := _RULE.match(line):
            close()
            rule, path, gpu = match.group(1), None, False
        elif match := _BENCHMARK.match(line):
            path = Path(match.group(1))
        elif match := _GPU.match(line):
            gpu = int(match.group(1)) > 0
    close()
    return list(jobs.values())


def measured_seconds(path: Path) -> float | None:
    """Wall seconds recorded in a Snakemake benchmark file (median of its repeats), if any."""
    if not path.exists():
        return None
    try:
        seconds = pd.read_csv(path, sep="\t")["s"]
    except (KeyError, ValueError, pd.errors.ParserError) as err:
        raise ValueError(f"unreadable benchmark file {path}: {err}") from err
    return float(seconds.median())


def estimate(jobs: list[Job]) -> pd.DataFrame:
    """One row per job: rule, cell, measured seconds (or NaN) and the estimated seconds."""
    jobs = [j for j in jobs if j.task not in NOT_ESTIMATED]
    frame = pd.DataFrame({"rule": [j.rule for j in jobs], "task": [j.task for j in jobs], "gpu": [j.gpu for j in jobs],
                          "cell": [j.cell for j in jobs], "measured_s": [measured_seconds(j.benchmark) for j in jobs]})
    # only jobs with a benchmark: directive can be timed; rules without one (downloads, plots) drop out
    benchmarked = frame.groupby("rule")["measured_s"].transform("count") > 0
    frame = frame[benchmarked].copy()
    frame["estimated_s"] = frame["measured_s"].fillna(frame.groupby("cell")["measured_s"].transform("median"))
    return frame.reset_index(drop=True)


def per_rule(frame: pd.DataFrame) -> pd.DataFrame:
    """Jobs, measured jobs, jobs without any measured seed, and estimated hours per rule."""
    table = frame.groupby("rule").agg(
        jobs=("cell", "size"),
        measured=("measured_s", "count"),
        unmeasured=("estimated_s", lambda s: int(s.isna().sum())),
        hours=("estimated_s", lambda s: s.sum() / 3600),
    )
    table.loc["total"] = table.sum()
    return table.astype({"jobs": int, "measured": int, "unmeasured": int}).round({"hours": 2})


def concurrency_gain(gpu_check: Path, jobs_per_gpu: int | None) -> tuple[int, float]:
    """``(jobs per GPU, gain)`` from a gpu-check result: the mean over models of the summed throughput of
    that many jobs sharing the GPU over one job's; by default the level with the best gain."""
    from dpbench.report.gpu_results import best_level, concurrency_gains

    try:
        rows = json.loads(gpu_check.read_text())["rows"]
    except (OSError, ValueError, KeyError) as err:
        raise UserError(f"--gpu-check {gpu_check}: not a gpu-check result ({err})") from err
    gains = concurrency_gains(rows)
    if jobs_per_gpu is None:
        best = best_level(gains)
        if best is None:
            raise UserError(f"--gpu-check {gpu_check}: no concurrency measurement in it")
        return best
    measured = [by_n[jobs_per_gpu][1] for by_n in gains.values() if jobs_per_gpu in by_n]
    if not measured:
        levels = sorted({n for by_n in gains.values() for n in by_n})
        raise UserError(f"--jobs-per-gpu {jobs_per_gpu}: not measured in {gpu_check} (measured: {levels})")
    return jobs_per_gpu, sum(measured) / len(measured)


def per_task(frame: pd.DataFrame, gain: float, cpu_jobs: int) -> pd.DataFrame:
    """Per task and in all: GPU and CPU hours (serial) and the wall hours on one GPU, the GPU jobs'
    hours over ``gain`` or the CPU jobs' over ``cpu_jobs``, whichever is longer."""
    hours = frame.assign(h=frame["estimated_s"] / 3600)
    table = hours.groupby("task").agg(
        jobs=("cell", "size"),
        gpu_jobs=("gpu", "sum"),
        unmeasured=("estimated_s", lambda s: int(s.isna().sum())),
        gpu_hours=("h", lambda h: h[hours.loc[h.index, "gpu"]].sum()),
        cpu_hours=("h", lambda h: h[~hours.loc[h.index, "gpu"]].sum()),
    )
    table.loc["total"] = table.sum()
    table["wall_hours"] = (table["gpu_hours"] / gain).combine(table["cpu_hours"] / cpu_jobs, max)
    return table.astype({"jobs": int, "gpu_jobs": int, "unmeasured": int}).round(2)


def snakemake_dry_run(snakemake_args: list[str]) -> str:
    """Every job of the grid that ``snakemake_args`` select: a forced dry run in the current folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run", "--forceall", "--cores", "1", *snakemake_args],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise UserError(f"snakemake --dry-run failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _estimate(args: argparse.Namespace) -> None:
    options = ["--configfile", *args.configfile] if args.configfile else []
    if args.config:
        options += ["--config", *args.config]
    frame = estimate(jobs_from_dry_run(snakemake_dry_run(options)))
    print(per_rule(frame).to_markdown())
    if args.gpu_check is not None:
        jobs_per_gpu, gain = concurrency_gain(args.gpu_check, args.jobs_per_gpu)
        how = f"{jobs_per_gpu} jobs sharing the GPU, {gain:.2f}x the throughput of one alone ({args.gpu_check})"
    else:
        jobs_per_gpu, gain, how = 1, 1.0, "one job at a time (no --gpu-check: no concurrency measured)"
    table = per_task(frame, gain, args.cpu_jobs)
    print(f"\nOn one GPU: GPU jobs {how}; CPU jobs {args.cpu_jobs} at a time beside them.\n")
    print(table.to_markdown())
    print(f"\nThe grid's wall time on one GPU: {table.loc['total', 'wall_hours']:.2f} h (goal: under 2 h), "
          "counting only the jobs measured or estimated from another seed.")
    unmeasured = sorted(frame.loc[frame["estimated_s"].isna(), "cell"].unique())
    if unmeasured:
        print(f"\n{len(unmeasured)} cell(s) have no measured seed and are left out of the hours, e.g.:")
        for cell in unmeasured[:10]:
            print(f"  {cell}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="estimate the grid's run time from measured per-job times (benchmark files)")
    p.add_argument("--configfile", nargs="+", help="the grid's config file(s), as for snakemake")
    p.add_argument("--config", nargs="+", metavar="KEY=VALUE", help="config overrides, as for snakemake")
    p.add_argument("--gpu-check", type=Path, help="gpu_check.json of `make gpu-check`: the measured concurrency gain")
    p.add_argument("--jobs-per-gpu", type=int, help="jobs sharing the GPU (default: the best level gpu-check measured)")
    p.add_argument("--cpu-jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                   help="jobs without a GPU running at once beside the GPU ones (default: half this machine's cores)")
    p.set_defaults(func=_estimate)
