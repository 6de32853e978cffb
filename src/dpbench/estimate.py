"""Run-time estimate of a whole grid from the per-job times Snakemake measured.

``python -m dpbench estimate [--configfile F ...] [--config KEY=VALUE ...]`` (or ``make estimate``)
lists every job of the configured grid and its ``benchmark:`` file with a forced dry run of the
workflow, and adds up: a measured job at its measured wall time, an unmeasured one at the median
of its cell (the same job with another seed). Cells with no measured seed are counted and named,
never guessed. To estimate the full reproduction on a machine, run one seed of it there first
(``snakemake --cores all --configfile one_seed.yaml``, a file holding ``seeds: [0]``), then
``python -m dpbench estimate``: the other seeds are estimated from the measured one.

The sum is the serial time. With one GPU (``--resources gpu=1``) the GPU jobs run one after
another and the jobs that need none (ISTA, FISTA, scikit-learn's k-means) run beside them, so it
bounds the wall time from above; downloads, feature extraction and plots are not counted.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dpbench.params import UserError

_SEED = re.compile(r"seed\d+")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_BENCHMARK = re.compile(r"^\s+benchmark: (\S+)$")


@dataclass(frozen=True)
class Job:
    """One job of the grid: its rule and its benchmark file."""

    rule: str
    benchmark: Path

    @property
    def cell(self) -> str:
        """The job's path with its seed removed: jobs of one cell differ only by seed."""
        return _SEED.sub("seed*", str(self.benchmark))


def jobs_from_dry_run(text: str) -> list[Job]:
    """The jobs with a ``benchmark:`` file in the output of ``snakemake --dry-run --forceall``."""
    jobs, rule = {}, None
    for line in text.splitlines():
        if match := _RULE.match(line):
            rule = match.group(1)
        elif (match := _BENCHMARK.match(line)) and rule is not None:
            path = Path(match.group(1))
            jobs[path] = Job(rule, path)
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
    frame = pd.DataFrame(
        {"rule": [j.rule for j in jobs], "cell": [j.cell for j in jobs], "measured_s": [measured_seconds(j.benchmark) for j in jobs]}
    )
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
    unmeasured = sorted(frame.loc[frame["estimated_s"].isna(), "cell"].unique())
    if unmeasured:
        print(f"\n{len(unmeasured)} cell(s) have no measured seed and are left out of the hours, e.g.:")
        for cell in unmeasured[:10]:
            print(f"  {cell}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="estimate the grid's run time from measured per-job times (benchmark files)")
    p.add_argument("--configfile", nargs="+", help="the grid's config file(s), as for snakemake")
    p.add_argument("--config", nargs="+", metavar="KEY=VALUE", help="config overrides, as for snakemake")
    p.set_defaults(func=_estimate)
