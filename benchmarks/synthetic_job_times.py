"""Wall time of every synthetic job of a config, run for real one after another (a script, not a test).

Runs ``python -m dpbench synthetic`` for each model and noise level of the config's ``synthetic``
section, for one seed, on the chosen device, exactly as the workflow's rule would (same parameters),
and prints per job its wall time and NMSE at the deepest layer, then the sum and that sum times the
config's number of seeds: the serial time of the task's whole grid. Needs no Snakemake, so it runs
on a machine with PyTorch alone (``PYTHONPATH=src python3 benchmarks/synthetic_job_times.py``).

    python benchmarks/synthetic_job_times.py --device cuda [--tf32] [--compile] [--steps N] [--csv F]

``--steps`` caps the steps of each training stage (``max_steps`` of the staged schedule, ``n_steps``
of the joint one: a quick try); the grid total is then not the config's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from dpbench.tasks.synthetic_grid import dataset_name, job_params


def run_job(model: str, params: dict, seed: int, device: str, speed: list[str], folder: Path) -> tuple[float, float]:
    """Run one job; return its wall time (s) and NMSE (dB) at the deepest layer."""
    output = folder / f"{model}_{dataset_name(params['snr_db'])}.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dpbench", *speed, "synthetic", "--model", model, "--seed", str(seed),
                    "--params", json.dumps(params), "--device", device, "--output", str(output)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    doc = json.loads(output.read_text())
    nmse = [r for r in doc["records"] if r["metric"] == "nmse_db"]
    return wall, max(nmse, key=lambda r: r["layers"])["value"] if nmse else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="cap max_steps (staged) / n_steps (joint) (a quick try)")
    parser.add_argument("--models", nargs="+", help="default: the config's")
    parser.add_argument("--tf32", action="store_true", help="TF32 on CUDA (the config's tf32: true)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the training step (compile: true)")
    parser.add_argument("--csv", help="also write the table as CSV")
    args = parser.parse_args()

    config = yaml.safe_load(Path(args.configfile).read_text())
    cfg = config["synthetic"]
    speed = [flag for flag, on in (("--tf32", args.tf32), ("--compile", args.compile)) if on]
    rows = []
    print(f"synthetic jobs of {args.configfile}, seed {args.seed}, device {args.device}, tf32 {args.tf32}, compile {args.compile}")
    print(f"{'dataset':<22} {'model':<18} {'wall (s)':>9} {'NMSE (dB)':>10}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for snr_db in cfg["snr_db"]:
            for model in args.models or cfg["models"]:
                params = job_params(cfg, snr_db, model) | ({"n_steps": args.steps, "max_steps": args.steps} if args.steps else {})
                wall, nmse = run_job(model, params, args.seed, args.device, speed, Path(tmp))
                rows.append({"dataset": dataset_name(snr_db), "model": model, "wall_s": wall, "nmse_db": nmse})
                print(f"{rows[-1]['dataset']:<22} {model:<18} {wall:>9.1f} {nmse:>10.2f}", flush=True)
    total = sum(r["wall_s"] for r in rows)
    seeds = len(cfg.get("seeds", config["seeds"]))
    print(f"sum over {len(rows)} jobs: {total:.0f} s; times {seeds} seeds: {total * seeds / 60:.1f} min (serial)")
    if args.csv:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
