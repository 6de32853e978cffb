"""How long ``make demo`` takes, and where the time goes: a timing record per run, and docs/speed.md's
tables generated from the records (a script, not a test).

``run NAME`` runs ``make demo``'s two commands in this checkout (the workflow on the quick preset, then
its HTML report), from empty results unless ``--keep``, and writes two files that can be committed:

* ``docs/speed/NAME.json``: the commit, the date, the machine (CPU model, cores), the commands, the
  wall time of each, the number of jobs, the load average before and after (the run was not alone on
  the machine when the 1-minute load exceeded the cores), and whether the job server was on;
* ``docs/speed/NAME.csv``: one row per job, from Snakemake's ``benchmark:`` files: its rule, its
  benchmark file (under results/benchmarks/) and its wall seconds ``s``.

``render`` rewrites the part of ``docs/speed.md`` between its two ``<!-- speed:begin -->`` /
``<!-- speed:end -->`` markers from every record in ``docs/speed/``: a table of the runs, and per rule
the jobs and their summed and mean wall time in each run. Nothing in those tables is typed by hand.

    python benchmarks/demo_timing.py run after --note "idle machine"
    python benchmarks/demo_timing.py render
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from dpbench.estimate import jobs_from_dry_run

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "docs" / "speed"
PAGE = REPO / "docs" / "speed.md"
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"
PRESET = "workflow/presets/quick.yaml"
_STEPS = re.compile(r"(\d+) of (\d+) steps \(100%\) done")


def cpu_model() -> str:
    """The CPU's model name (Linux), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def git_commit(repo: Path) -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True, text=True)
    return proc.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if proc.returncode == 0 else "unknown"


def job_times(log: str, results: Path) -> pd.DataFrame:
    """One row per job of a run's Snakemake log that has a benchmark file: rule, file, wall seconds."""
    rows = []
    for job in jobs_from_dry_run(log):
        path = job.benchmark if job.benchmark.is_absolute() else results.parent / job.benchmark
        if not path.exists():
            continue
        seconds = pd.read_csv(path, sep="\t")["s"]
        rows.append({"rule": job.rule, "benchmark": str(job.benchmark).split("benchmarks/", 1)[-1], "s": round(float(seconds.median()), 3)})
    return pd.DataFrame(rows, columns=["rule", "benchmark", "s"])


def run(name: str, checkout: Path, preset: str, cores: str, keep: bool, note: str) -> Path:
    """``make demo``'s commands in ``checkout`` (its own sources first on the path), timed; writes the
    record (see the module docstring)."""
    results = checkout / "results"
    if not keep:
        for folder in (results, checkout / "data"):
            for entry in folder.glob("*") if folder.exists() else []:
                if entry.name != ".gitkeep":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(checkout / "src"), os.environ.get("PYTHONPATH")]))}
    snakemake = [sys.executable, "-m", "snakemake"]
    commands = [[*snakemake, "--cores", cores, "--configfile", preset],
                [*snakemake, "--cores", "1", "--configfile", preset, "--report", "results/report.html"]]
    before = load_average()
    walls, logs, cpu = [], [], 0.0
    for command in commands:
        start, used = time.perf_counter(), _children_cpu()
        proc = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        cpu += _children_cpu() - used
        logs.append(proc.stderr + proc.stdout)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{logs[-1][-3000:]}")
    return write_record(name, checkout, logs[0], walls, before, load_average(), note, cpu)


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished descendant: Snakemake, its jobs, the job server and its forks."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_record(name: str, checkout: Path, log: str, walls: list[float], before: list[float], after: list[float], note: str,
                 cpu_s: float | None = None) -> Path:
    """The record of a finished run of ``checkout`` (its workflow's Snakemake log, the wall seconds of the
    workflow and of the report, the load averages around them, the CPU seconds of the whole run if measured:
    a measure of the work that another load on the machine hardly changes; over the cores, the least
    wall time the run could take there)."""
    steps = _STEPS.findall(log)
    times = job_times(log, checkout / "results")
    record = {
        "name": name,
        "commit": git_commit(checkout),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "commands": ["snakemake --cores all --configfile workflow/presets/quick.yaml",
                     "snakemake --cores 1 --configfile workflow/presets/quick.yaml --report results/report.html"],
        "wall_s": {"workflow": round(walls[0], 1), "report": round(walls[1], 1), "total": round(sum(walls), 1)},
        "cpu_s": None if cpu_s is None else round(cpu_s, 1),
        "jobs": int(steps[-1][1]) if steps else len(times),
        "benchmarked_jobs": len(times),
        "load_average_before": before,
        "load_average_after": after,
        "job_server": "job server on " in _read(checkout / "results" / "logs" / "job_server.log"),
        "note": note,
    }
    RECORDS.mkdir(parents=True, exist_ok=True)
    (RECORDS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    times.to_csv(RECORDS / f"{name}.csv", index=False)
    print(json.dumps(record, indent=2))
    return RECORDS / f"{name}.json"


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def load_records(folder: Path = RECORDS) -> list[tuple[dict, pd.DataFrame]]:
    """Every record of ``folder``, oldest first."""
    records = []
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        csv = path.with_suffix(".csv")
        records.append((record, pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["rule", "benchmark", "s"])))
    return sorted(records, key=lambda r: r[0]["date"])


def runs_table(records: list[tuple[dict, pd.DataFrame]]) -> str:
    rows = [{
        "run": r["name"], "date": r["date"], "commit": r["commit"], "machine": f"{r['machine']['cpu']}, {r['machine']['cores']} cores",
        "jobs": r["jobs"], "workflow (s)": r["wall_s"]["workflow"], "report (s)": r["wall_s"]["report"], "total": _minutes(r["wall_s"]["total"]),
        "CPU (s)": "" if r.get("cpu_s") is None else r["cpu_s"],
        "load before / after": f"{r['load_average_before'][0]:g} / {r['load_average_after'][0]:g}",
        "job server": "on" if r.get("job_server") else "off", "note": r.get("note", ""),
    } for r, _ in records]
    return pd.DataFrame(rows).to_markdown(index=False)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def rules_table(records: list[tuple[dict, pd.DataFrame]]) -> str:
    """Per rule and run: jobs, summed wall seconds and the mean per job (the sums exceed the wall time
    when jobs ran side by side)."""
    parts = []
    for record, times in records:
        per = times.groupby("rule")["s"].agg(["size", "sum", "mean"])
        per.columns = pd.MultiIndex.from_product([[record["name"]], ["jobs", "sum (s)", "mean (s)"]])
        parts.append(per)
    if not parts:
        return ""
    table = pd.concat(parts, axis=1)
    table = table.sort_values(table.columns[1], ascending=False)
    table.loc["all benchmarked jobs"] = table.sum(numeric_only=True)
    for name in [r["name"] for r, _ in records]:
        table[(name, "mean (s)")] = table[(name, "sum (s)")] / table[(name, "jobs")]
    flat = table.copy()
    flat.columns = [f"{run}: {what}" for run, what in table.columns]
    flat = flat.round(1).astype(object)
    for column in flat.columns:
        whole = column.endswith("jobs")
        flat[column] = flat[column].map(lambda v, whole=whole: "" if pd.isna(v) else f"{int(v)}" if whole else f"{v:.1f}")
    return flat.rename_axis("rule").to_markdown(disable_numparse=True, colalign=("left", *["right"] * len(flat.columns)))


def render(page: Path = PAGE, folder: Path = RECORDS) -> str:
    """The generated part of docs/speed.md, written between its markers (the rest of the page is kept)."""
    records = load_records(folder)
    generated = (f"{BEGIN}\n<!-- generated by `python benchmarks/demo_timing.py render` from docs/speed/*.json and *.csv: "
                 f"do not edit by hand -->\n\n### The runs\n\n{runs_table(records)}\n\n### Per rule\n\n{rules_table(records)}\n\n{END}")
    text = page.read_text() if page.exists() else f"# Speed\n\n{BEGIN}\n{END}\n"
    page.write_text(between_markers(text, page, BEGIN, END, generated))
    return generated


def between_markers(text: str, page: Path, begin: str, end: str, generated: str) -> str:
    """``text`` (the content of ``page``) with its part from ``begin`` to ``end`` replaced by ``generated``
    (which carries the markers itself); a page without both markers is an error naming it."""
    if begin not in text or end not in text:
        raise SystemExit(f"{page} lacks the markers {begin} and {end}")
    head, rest = text.split(begin, 1)
    return head + generated + rest.split(end, 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("run", help="run make demo's commands, timed, and write docs/speed/NAME.json and .csv")
    p.add_argument("name")
    p.add_argument("--checkout", type=Path, default=REPO, help="the checkout to run (default: this one), e.g. an older commit's")
    p.add_argument("--preset", default=PRESET)
    p.add_argument("--cores", default="all")
    p.add_argument("--keep", action="store_true", help="keep results/ and data/ (default: start from empty ones, as a fresh clone)")
    p.add_argument("--note", default="", help="what else ran on the machine, etc.")
    p = sub.add_parser("record", help="write the record of a run made by hand (make demo's commands, timed)")
    p.add_argument("name")
    p.add_argument("--checkout", type=Path, required=True)
    p.add_argument("--log", type=Path, required=True, help="the workflow's Snakemake output (stderr)")
    p.add_argument("--wall", type=float, nargs=2, required=True, metavar=("WORKFLOW_S", "REPORT_S"))
    p.add_argument("--load", type=float, nargs=2, required=True, metavar=("BEFORE", "AFTER"), help="1-minute load averages")
    p.add_argument("--note", default="")
    sub.add_parser("render", help="rewrite docs/speed.md's tables from the records")
    args = parser.parse_args()
    if args.action == "run":
        run(args.name, args.checkout.resolve(), args.preset, args.cores, args.keep, args.note)
    elif args.action == "record":
        write_record(args.name, args.checkout.resolve(), args.log.read_text(), args.wall, [args.load[0]], [args.load[1]], args.note)
    else:
        print(render())


if __name__ == "__main__":
    main()
