"""What the prepared GPU check (:mod:`dpbench.gpu_check`) measured, read and summarised: the check's
table (:func:`summary`), the concurrency gain and best level, the lower bound on the synthetic grid's
time, the sub-stages a protocol job finished (from its log: :func:`stage_log`, :func:`progress`), and
the summary of a kept check (:func:`render`, what ``docs/gpu.md`` shows). The check itself runs the
jobs (layer 4); reading what it wrote is the report's (layer 3).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

CONFIG = Path(__file__).resolve().parents[3] / "config.yaml"
# one line of the staged trainer's log per sub-stage (dpbench.sparse.staged, in the CLI's log format)
STAGE_LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO dpbench\.sparse\.staged: \S+ layer (?P<layer>\d+) "
                        r"lr (?P<lr>\S+): (?P<steps>\d+) steps, best validation NMSE (?P<nmse_db>\S+) dB$", re.M)


def stage_log(text: str) -> list[dict[str, Any]]:
    """The sub-stages a staged job finished, from its log: layer, learning rate, steps, best validation
    NMSE (dB) and the time the sub-stage ended (seconds since the epoch, UTC)."""
    from datetime import datetime, timezone

    return [{"layer": int(m["layer"]), "lr": float(m["lr"]), "steps": int(m["steps"]), "nmse_db": float(m["nmse_db"]),
             "time": datetime.strptime(m["time"], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc).timestamp()}
            for m in STAGE_LINE.finditer(text)]


def progress(log: Path) -> dict[str, Any]:
    """How far a protocol job stopped for time got, from its log: the last layer it finished a sub-stage
    of, that sub-stage's validation NMSE, and the steps and seconds of the sub-stages after the first
    (whose time holds the start-up and the compile, and which the log gives no start for)."""
    stages = stage_log(log.read_text()) if log.exists() else []
    if len(stages) < 2:
        return {}
    return {"partial": True, "layers": stages[-1]["layer"], "nmse_db": stages[-1]["nmse_db"],
            "train_steps": sum(s["steps"] for s in stages[1:]), "train_s": stages[-1]["time"] - stages[0]["time"]}


def summary(rows: list[dict[str, Any]], levels: tuple[int, ...], models: list[str], grid: dict[str, Any], slots: int) -> str:
    """The check's one table (a row per model) and its conclusions, as Markdown."""
    speed = {(r["model"], r["mode"]): r for r in rows if r.get("part") == "speed" and "model" in r}
    gains = concurrency_gains(rows)
    head = ["model", "eager steps/s", "TF32 / eager", "graphs / eager (compile s)"]
    head += [f"{n} jobs: sum steps/s (gain)" for n in levels] + ["NMSE@T dB (steps, s)", "with TF32"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in models:
        eager = speed.get((name, "eager"), {}).get("steps_per_s")
        cells = [name, speed.get((name, "eager"), {}).get("error", "–")[:40] if eager is None else _fmt(eager)]
        for mode in ("tf32", "graphs"):
            r = speed.get((name, mode), {})
            ratio = r["steps_per_s"] / eager if eager and r.get("steps_per_s") else None
            cells.append(r.get("error", "n/a")[:40] if ratio is None else f"{ratio:.2f}" + (f" ({r['first_step_s']:.0f})" if mode == "graphs" else ""))
        for n in levels:
            total = gains.get(name, {}).get(n)
            cells.append("–" if total is None else f"{total[0]:.0f} ({total[1]:.2f}x)")
        for tf32 in (False, True):
            r = next((r for r in rows if r.get("part") == "protocol" and r.get("model") == name and r.get("tf32") == tf32), None)
            cells.append("–" if r is None else r.get("error", "")[:40] if "nmse_db" not in r
                         else f"stopped at layer {r['layers']}: {r['nmse_db']:.2f} ({r['train_steps']:.0f}, {r['train_s']:.0f})"
                         if r.get("partial") else f"{r['nmse_db']:.2f} ({r['train_steps']:.0f}, {r['train_s']:.0f})")
        lines.append("| " + " | ".join(cells) + " |")
    best = best_level(gains)
    lines += ["", f"Best concurrency: {best[0]} jobs per GPU (mean gain {best[1]:.2f}x over one job)" if best else "No concurrency measured."]
    hours, missing = synthetic_grid_hours(rows, slots, grid["train"], grid["jobs_per_model"])
    lines.append(f"Synthetic grid of config.yaml ({grid['jobs_per_model']} jobs per learned model, the authors' patience "
                 f"{grid['train']['patience']}), {slots} job(s) at once: at least {hours:.2f} h on this device (goal for the "
                 f"whole grid: under 2 h)" + (f"; no protocol time for {missing}, counted at the others' mean" if missing else "")
                 + ("; step times of jobs stopped for time are those of the sub-stages they finished after the first, at "
                    "lower depth than 16 layers" if any(r.get("partial") for r in rows) else ""))
    lines += [f"- {r['part']}: {r['error']}" for r in rows if "error" in r and "model" not in r]
    lines += [f"- mnist: k-meansNet on the MNIST test set, {r['wall_s']:.1f} s, NMI {r['nmi']:.3f}" for r in rows if r.get("part") == "mnist" and "nmi" in r]
    return "\n".join(lines)


def synthetic_grid(config: dict[str, Any]) -> dict[str, Any]:
    """The synthetic grid's training protocol (with its depth) and its jobs per learned model."""
    synthetic = config["synthetic"]
    return {"train": {**synthetic["train"], "n_layers": synthetic["problem"]["n_layers"]},
            "jobs_per_model": len(synthetic["snr_db"]) * len(synthetic.get("seeds", config["seeds"]))}


def render(folder: Path, extra: dict[str, Any] | None = None) -> str:
    """The summary of a finished check kept in ``folder`` (its ``gpu_check.json`` and ``protocol/*.log``):
    protocol jobs stopped for time get their progress from their logs where the check did not record it.
    ``extra`` gives ``models``/``slots`` for a check that predates their being written to the JSON."""
    from dpbench.registry import model_spec
    from dpbench.tasks.jobs import load_config

    config = load_config([CONFIG])
    data = {**(extra or {}), **json.loads((folder / "gpu_check.json").read_text())}
    rows = [r | progress(folder / "protocol" / f"{r['model']}{'_tf32' if r.get('tf32') else ''}.log")
            if r.get("part") == "protocol" and r.get("error") == "out of time" and not r.get("partial") else r
            for r in data["rows"]]
    models = data.get("models") or [m for m in config["synthetic"]["models"] if model_spec(m).learned]
    best = best_level(concurrency_gains(rows))
    slots = data.get("slots") or (best[0] if best else 1)
    return summary(rows, tuple(data["sizes"]["levels"]), models, synthetic_grid(config), slots)


def synthetic_grid_hours(rows: list[dict[str, Any]], slots: int, train: dict[str, Any], jobs_per_model: int) -> tuple[float, list[str]]:
    """A lower bound on the synthetic grid's hours on one GPU with the authors' protocol: every learned job
    runs at least ``n_layers x (1 + len(lr_decays))`` sub-stages of ``patience`` steps, at the time per
    step its protocol job took here (``slots`` jobs at once: the wall time is the jobs' summed time over
    ``slots``). Models whose protocol job did not finish take the mean of the others; they are returned."""
    per_step = {r["model"]: r["train_s"] / r["train_steps"] for r in rows
                if r.get("part") == "protocol" and not r.get("tf32") and r.get("train_steps")}
    missing = sorted({r["model"] for r in rows if r.get("part") == "protocol" and not r.get("tf32")} - set(per_step))
    if not per_step:
        return math.nan, missing
    mean = math.fsum(per_step.values()) / len(per_step)
    steps = train["n_layers"] * (1 + len(train["lr_decays"])) * train["patience"]
    seconds = sum(per_step.get(m, mean) for m in [*per_step, *missing]) * steps * jobs_per_model / slots
    return seconds / 3600, missing


def concurrency_gains(rows: list[dict[str, Any]]) -> dict[str, dict[int, tuple[float, float]]]:
    """Per model and number of jobs: the summed steps/s of the processes and its ratio to one job's."""
    sums: dict[str, dict[int, float]] = {}
    for r in rows:
        if r.get("part") == "concurrency" and "steps_per_s" in r:
            sums.setdefault(r["model"], {}).setdefault(r["jobs"], 0.0)
            sums[r["model"]][r["jobs"]] += r["steps_per_s"]
    return {m: {n: (s, s / by_n[1]) for n, s in by_n.items()} for m, by_n in sums.items() if by_n.get(1)}


def best_level(gains: dict[str, dict[int, tuple[float, float]]]) -> tuple[int, float] | None:
    """The number of jobs per GPU with the highest mean gain over the models measured at every level."""
    levels = sorted({n for by_n in gains.values() for n in by_n})
    complete = [by_n for by_n in gains.values() if all(n in by_n for n in levels)]
    if not complete:
        return None
    means = {n: math.fsum(by_n[n][1] for by_n in complete) / len(complete) for n in levels}
    return max(means.items(), key=lambda item: item[1])


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.2f}"
