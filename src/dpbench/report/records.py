"""Run records: ``dpbench record NAME`` keeps what a finished run produced that is small.

A record is a folder ``docs/runs/<NAME>/`` with two files:

- ``summary.csv``: the run's per-job results aggregated (:func:`dpbench.results.load_results`),
  each row with the job's parameters as ``param.<key>`` columns;
- ``run.json``: where the numbers come from: the commit (and whether the checkout had uncommitted
  changes), the date, the config files with their SHA-256, what the run is for (the leading
  comment of its preset), the command, the jobs expected, run and missing, the wall time (when the
  caller measured it), the caller's note on how the run went (``--note``: resumed, moved between
  checkouts...), the job time per task (Snakemake's ``benchmark:`` files), the machine (CPU model,
  cores, memory, GPU) and the versions of Python, PyTorch, Snakemake and the rest.

The jobs are the workflow's own: the ``aggregate`` job of a dry run lists every per-job result file
the run should have (its inputs), Snakemake's ``--detailed-summary`` gives each its status. A
result that Snakemake would rerun because its parameters or code changed since it was made does not
match the config, and the record is refused, naming the files; missing results are listed in
``run.json`` (a record of a run that did not finish says so), or refused with ``--complete``.
``dpbench results-doc`` renders the records into ``docs/results.md`` (:mod:`dpbench.report.results_doc`).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import platform
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from dpbench.io import atomic_path, write_json
from dpbench.params import UserError

log = logging.getLogger(__name__)

RUNS_DIR = Path("docs/runs")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# statuses of Snakemake's --detailed-summary that mean "this file is there and made under this config"
PRESENT_OK = {"ok"}
MISSING = "missing"
VERSIONS = ("dpbench", "torch", "torchvision", "numpy", "scipy", "scikit-learn", "pandas", "snakemake")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def preset_header(path: Path) -> dict[str, str]:
    """What a config file's leading comment says about it: ``description`` (its first paragraph, up to
    an empty ``#`` line or a command line), ``data`` (a ``# Data: ...`` line: what it needs) and
    ``usage`` (the first indented line that runs snakemake, ``#   snakemake ...``, environment
    variables first if any: the command it gives; ``""`` if none)."""
    lines, data, usage = [], "", ""
    in_description = True
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line[1:].strip()
        if line.startswith("#  ") and "snakemake" in line.split() and not usage:
            usage = text
        if text.lower().startswith("data:"):
            data = text[5:].strip()
            in_description = False
        elif not text or line.startswith("#  ") or text.startswith(("snakemake", "make ", "dpbench")):
            in_description = not lines  # the description ends at its first blank or command line
        elif in_description:
            lines.append(text)
    return {"description": " ".join(lines), "data": data, "usage": usage}


def _snakemake(options: list[str], configfiles: list[Path], snakemake: list[str] | None) -> str:
    """The standard output of ``snakemake OPTIONS --cores 1 --configfile ...`` in the current directory;
    a :class:`UserError` with its command and error output when it fails."""
    # one --configfile with every file: Snakemake keeps only the last of repeated --configfile options
    command = [*(snakemake or [sys.executable, "-m", "snakemake"]), *options, "--cores", "1",
               "--configfile", *map(str, configfiles)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"snakemake {options[0]} failed ({shlex.join(command)}):\n{done.stderr[-2000:]}")
    return done.stdout


def workflow_files(configfiles: list[Path], snakemake: list[str] | None = None) -> list[dict[str, str]]:
    """Snakemake's ``--detailed-summary`` for ``configfiles``, one dict per output file
    (``output_file``, ``rule``, ``input-file(s)``, ``status``, ...), run in the current directory."""
    out = _snakemake(["--detailed-summary"], configfiles, snakemake)
    return list(csv.DictReader(io.StringIO(out[out.find("output_file\t"):]), delimiter="\t"))


def aggregate_inputs(configfiles: list[Path], snakemake: list[str] | None = None) -> list[str]:
    """The inputs of the ``aggregate`` job, as a dry run that forces it prints them (``--detailed-summary``
    knows a job's inputs only from the metadata of outputs already made: none before the run ends)."""
    out = _snakemake(["--dry-run", "--forcerun", "aggregate", "--until", "aggregate"], configfiles, snakemake)
    block = re.search(r"^(?:local)?rule aggregate:\n(?:    .*\n)*?    input: (.*)$", out, flags=re.M)
    if not block:
        raise UserError("the workflow lists no 'aggregate' job for this config: no task is enabled")
    return [p for p in block[1].split(", ") if p]


def expected_results(rows: list[dict[str, str]], results: list[str]) -> dict[str, str]:
    """Per-job result files of the run (the inputs of the ``aggregate`` job) -> their status in ``rows``."""
    status = {row["output_file"]: row["status"] for row in rows}
    return {path: status.get(path, MISSING) for path in results}


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def machine() -> dict[str, Any]:
    """The machine a run ran on: CPU model, cores, memory, GPU (if PyTorch sees one), OS."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = found[1].strip() if found else cpu
    memory = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        memory = round(int(found[1]) / 2**20, 1) if found else None
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory, "gpu": gpu, "os": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict[str, str | None]:
    found = {}
    for name in VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def job_seconds(results_dir: Path) -> dict[str, dict[str, float]]:
    """Per task (the first folder under ``<results>/benchmarks``): jobs, total and longest seconds of
    the jobs' Snakemake ``benchmark:`` files."""
    totals: dict[str, dict[str, float]] = {}
    root = results_dir / "benchmarks"
    for path in sorted(root.rglob("*.tsv")) if root.exists() else []:
        rows = list(csv.DictReader(path.open(), delimiter="\t"))
        if not rows:
            continue
        seconds = float(rows[-1]["s"])
        task = path.relative_to(root).parts[0]
        entry = totals.setdefault(task, {"jobs": 0, "seconds": 0.0, "longest": 0.0})
        entry["jobs"] += 1
        entry["seconds"] = round(entry["seconds"] + seconds, 2)
        entry["longest"] = max(entry["longest"], round(seconds, 2))
    return totals


def make_record(
    name: str,
    configfiles: list[Path],
    *,
    runs_dir: Path = RUNS_DIR,
    command: str | None = None,
    wall_seconds: float | None = None,
    complete: bool = False,
    note: str | None = None,
    snakemake: list[str] | None = None,
) -> Path:
    """Write ``runs_dir/name/{summary.csv,run.json}`` for the run of ``configfiles`` (see the module
    docstring); return the folder. Refuses (UserError) results that do not match the config."""
    from dpbench.results import load_results
    from dpbench.tasks.jobs import load_config

    if not NAME.match(name):
        raise UserError(f"record name {name!r}: use letters, digits, '.', '_' and '-' only")
    config = load_config(configfiles)
    expected = expected_results(workflow_files(configfiles, snakemake), aggregate_inputs(configfiles, snakemake))
    stale = sorted(p for p, status in expected.items() if status not in PRESENT_OK | {MISSING})
    if stale:
        listed = "\n  ".join(f"{p} ({expected[p]})" for p in stale[:20])
        raise UserError(f"{len(stale)} result file(s) do not match the config {[str(c) for c in configfiles]} (Snakemake would "
                        f"rerun them); rerun the workflow first:\n  {listed}")
    present = sorted(p for p, status in expected.items() if status in PRESENT_OK)
    missing = sorted(p for p, status in expected.items() if status == MISSING)
    if not present:
        raise UserError(f"no result of this run is there yet ({len(missing)} expected under {config['results_dir']})")
    if missing and complete:
        raise UserError(f"{len(missing)} of {len(expected)} result files are missing (--complete), e.g. {missing[0]}")
    summary = load_results(present)
    header = preset_header(configfiles[-1])
    results_dir = Path(config["results_dir"])
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    record = {
        "name": name,
        "description": header["description"],
        "data": header["data"],
        "commit": _git("rev-parse", "HEAD") or None,
        "uncommitted_changes": bool(dirty),
        "recorded": _iso(dt.datetime.now(dt.timezone.utc).timestamp()),
        "results_made": _span(present),
        "configfiles": [{"path": str(p), "sha256": sha256(p)} for p in configfiles],
        "command": command or shlex.join(["snakemake", "--cores", "all", *[a for p in configfiles[1:] for a in ("--configfile", str(p))]]),
        "jobs": {"expected": len(expected), "run": len(present), "missing": [_relative(p, results_dir) for p in missing]},
        "wall_seconds": wall_seconds,
        "note": note,
        "job_seconds": job_seconds(results_dir),
        "machine": machine(),
        "versions": versions(),
    }
    folder = runs_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    write_json(folder / "run.json", record)
    log.info("recorded %s: %d of %d jobs, %d rows -> %s", name, len(present), len(expected), len(summary), folder)
    return folder


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _span(paths: list[str]) -> dict[str, str]:
    """The first and last modification time of the result files (UTC, ISO 8601)."""
    times = [Path(p).stat().st_mtime for p in paths]
    return {"first": _iso(min(times)), "last": _iso(max(times))}


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(microsecond=0).isoformat()


def load_record(folder: Path) -> dict[str, Any]:
    """A record's ``run.json``, its name checked against its folder."""
    path = folder / "run.json"
    if not path.exists() or not (folder / "summary.csv").exists():
        raise FileNotFoundError(f"{folder} is not a run record: it needs run.json and summary.csv (dpbench record)")
    record = json.loads(path.read_text())
    if record.get("name") != folder.name:
        raise UserError(f"{path} names the run {record.get('name')!r}, not its folder's name {folder.name!r}")
    return record


def _command(args: argparse.Namespace) -> None:
    configfiles = [Path(p) for p in args.configfile]
    if Path("config.yaml").exists() and Path("config.yaml") not in configfiles:
        configfiles.insert(0, Path("config.yaml"))
    for path in configfiles:
        if not path.is_file():
            raise UserError(f"config file not found: {path}")
        yaml.safe_load(path.read_text())
    folder = make_record(args.name, configfiles, runs_dir=Path(args.runs_dir), command=args.run_command,
                         wall_seconds=args.wall_seconds, complete=args.complete, note=args.note)
    print(folder)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="keep a finished run's summary and provenance as docs/runs/NAME (run in the checkout)")
    p.add_argument("name", help="the record's name, e.g. quick or mnist_official")
    p.add_argument("--configfile", action="extend", nargs="+", default=[], metavar="FILE",
                   help="the run's preset(s), in order (config.yaml is layered first when present), as given to "
                        "snakemake: '--configfile a.yaml b.yaml' or '--configfile a.yaml --configfile b.yaml'")
    p.add_argument("--runs-dir", default=str(RUNS_DIR), help="where records go (default: docs/runs)")
    p.add_argument("--command", dest="run_command", help="the command that ran it (default: snakemake --cores all --configfile ...)")
    p.add_argument("--wall-seconds", type=float, help="the run's wall time, when measured")
    p.add_argument("--complete", action="store_true", help="refuse a run with missing results")
    p.add_argument("--note", help="what the record should say of how the run went (resumed, moved between checkouts, ...)")
    p.set_defaults(func=_command)
