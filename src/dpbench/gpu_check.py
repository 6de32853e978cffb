"""The prepared device check: ``make gpu-check`` (``python -m dpbench.gpu_check``), one run on a lent GPU.

It needs PyTorch and the package's own dependencies only (no Snakemake, no download), and measures
what the full grid's time on one GPU depends on, in four parts that share ``--budget-s`` (a part that
fails or runs out of time is reported in the table, never fatal to the others):

1. **speed**: training steps per second of the synthetic task's step (the staged trainer's
   regression step at full depth: 250 x 500 problem, 16 layers, batch 64, samples drawn on the
   device, no read-back) for every learned model of the config's synthetic grid, eager, with TF32,
   and with CUDA graphs (``dpbench.runtime.training_forward``, as a job with ``cuda_graphs: true``;
   its first step, which compiles, is timed apart). Each model runs in its own process so the
   compiles overlap on the CPU; the timings take turns, one model on the GPU at a time.
2. **concurrency**: the same eager step in 1, 4 and 8 processes sharing the GPU at once (the
   config's ``slots_per_gpu``): steps/s of each process, their sum, and the gain over one process.
3. **protocol**: one seed of the synthetic grid (noiseless) through the jobs' own command
   (``python -m dpbench synthetic``) with the authors' staged protocol, ``patience`` cut to fit
   (``--patience``), as many at once as the best concurrency level of part 2; ALISTA and LISTA-CPSS
   again with TF32, to see whether TF32 moves the NMSE.
4. **mnist**: with ``--mnist-dir`` holding the MNIST test files, one k-meansNet fit on them on the GPU.

``--parts`` runs some parts only (sharing the budget), ``--graphs`` runs the protocol jobs with CUDA
graphs, ``--slots`` sets how many run at once. A protocol job stopped for time is reported with the
layer it reached and its step time, read from its log (:func:`progress`); :func:`render` redraws the
summary of a kept check (``docs/gpu/<name>/``, rendered into ``docs/gpu.md`` by ``dpbench results-doc``).

Writes ``gpu_check.json`` (every measurement) and ``gpu_check.md`` (the summary, also printed) to
``--out`` (default ``$OUT``, else ``results/gpu_check``). ``--toy`` shrinks every size so that the
whole check runs on a CPU in about a minute (what the tests run), where TF32 and graphs are reported
as not applicable.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROTOCOL_TF32_MODELS = ("alista", "lista_cpss")
PARTS = ("speed", "concurrency", "protocol", "mnist")
# one line of the staged trainer's log per sub-stage (dpbench.sparse.staged, in the CLI's log format)
STAGE_LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO dpbench\.sparse\.staged: \S+ layer (?P<layer>\d+) "
                        r"lr (?P<lr>\S+): (?P<steps>\d+) steps, best validation NMSE (?P<nmse_db>\S+) dB$", re.M)


@dataclass
class Sizes:
    """Problem sizes and time slices of one check (``--toy``: small enough for a CPU)."""

    m: int = 250
    n: int = 500
    layers: int = 16
    batch: int = 64
    seconds: float = 2.0  # timed per model and mode
    levels: tuple[int, ...] = (1, 4, 8)
    patience: int = 200
    max_steps: int = 3000
    protocol: dict[str, Any] = field(default_factory=dict)  # extra --params of the protocol jobs

    @classmethod
    def toy(cls) -> Sizes:
        return cls(m=20, n=40, layers=4, batch=16, seconds=0.3, levels=(1, 2), patience=10, max_steps=30,
                   protocol={"n_val": 50, "n_test": 50, "fista_iters": 50})


def _step_runner(name: str, sizes: Sizes, device: str, mode: str) -> tuple[Any, float]:
    """A function running one training step of ``name`` in ``mode`` (eager|tf32|graphs), and the
    seconds its first call took (compiling, with graphs)."""
    import torch

    from dpbench import runtime
    from dpbench.sparse import build_model
    from dpbench.sparse import train as _train
    from dpbench.sparse.staged import gradient_scales, scale_gradients
    from dpbench.tasks.synthetic import _generator, make_dictionary, sample_problem

    os.environ[runtime.GRAPHS_ENV] = "1" if mode == "graphs" else "0"
    os.environ[runtime.COMPILE_ENV] = "0"
    dev = torch.device(device)
    runtime.seed_everything(0, dev)
    if dev.type == "cuda":
        runtime.set_tf32(mode == "tf32")
    D = make_dictionary(sizes.m, sizes.n, _generator(0, 0)).to(dev)
    gen = _generator(0, 2, dev)
    model = build_model(name, D, 0.4, sizes.layers).to(dev)
    forward = runtime.training_forward(model)
    params = dict(model.named_parameters())
    scales = gradient_scales(model, sizes.layers - 1, False, 0.3)  # the last stage's sub-stages 2 and 3
    optimiser = torch.optim.Adam(list(params.values()), lr=5e-4)
    optimiser.register_step_pre_hook(scale_gradients(params, scales))

    def step() -> None:
        xb, zb = sample_problem(D, sizes.batch, 0.1, None, gen)
        _train._optimise(name, lambda: (forward(xb, n_layers=sizes.layers) - zb).pow(2).sum(dim=1).mean(), optimiser, 1, model.project_)

    start = time.perf_counter()
    step()
    runtime.synchronize(dev)
    first = time.perf_counter() - start
    for _ in range(5):
        step()
    runtime.synchronize(dev)
    return step, first


def _time_steps(step: Any, device: str, seconds: float) -> float:
    """Steps per second over about ``seconds``, synchronising every 10 steps (as validation does)."""
    import torch

    from dpbench.runtime import synchronize

    dev, steps, start = torch.device(device), 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or steps == 0:
        for _ in range(10):
            step()
        steps += 10
        synchronize(dev)
    return steps / elapsed


def _speed_worker(index: int, barrier: Any, queue: Any, models: list[str], modes: list[str], sizes: Sizes, device: str) -> None:
    """Part 1, one model per process: prepare each mode in parallel, then time the models in turn."""
    name = models[index]
    for mode in modes:
        row: dict[str, Any] = {"part": "speed", "model": name, "mode": mode}
        try:
            step, row["first_step_s"] = _step_runner(name, sizes, device, mode)
        except Exception as err:  # noqa: BLE001 - a mode that fails is a finding of the check
            step, row["error"] = None, f"{type(err).__name__}: {err}"[:300]
        for turn in range(len(models)):
            barrier.wait()
            if turn == index and step is not None:
                row["steps_per_s"] = _time_steps(step, device, sizes.seconds)
        barrier.wait()
        queue.put(row)


def _concurrency_worker(index: int, barrier: Any, queue: Any, models: list[str], sizes: Sizes, device: str, level: int) -> None:
    """Part 2, ``level`` processes at once, each timing the same model at the same time."""
    for name in models:
        row: dict[str, Any] = {"part": "concurrency", "model": name, "jobs": level, "process": index}
        try:
            step, _ = _step_runner(name, sizes, device, "eager")
        except Exception as err:  # noqa: BLE001
            step, row["error"] = None, f"{type(err).__name__}: {err}"[:300]
        barrier.wait()
        if step is not None:
            row["steps_per_s"] = _time_steps(step, device, sizes.seconds)
        queue.put(row)
        barrier.wait()


def _run_processes(target: Any, n: int, args: tuple, deadline: float) -> list[dict[str, Any]]:
    """Run ``target(index, barrier, queue, *args)`` in ``n`` spawned processes sharing a barrier, until
    they end or ``deadline`` (``time.monotonic()``) passes; return the rows they reported."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=target, args=(i, barrier, queue, *args)) for i in range(n)]
    for proc in procs:
        proc.start()
    rows: list[dict[str, Any]] = []
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        rows += _drain(queue, 0.5)
    timed_out = any(p.is_alive() for p in procs)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
        proc.join()
    rows += _drain(queue, 0.5)
    if timed_out:
        rows.append({"part": target.__name__.strip("_").removesuffix("_worker"), "error": "out of time: processes stopped"})
    return rows


def _drain(queue: Any, wait: float) -> list[dict[str, Any]]:
    import queue as queue_module

    rows = []
    try:
        rows.append(queue.get(timeout=wait))
        while True:
            rows.append(queue.get_nowait())
    except queue_module.Empty:
        pass
    return rows


def _protocol_jobs(models: list[str], sizes: Sizes, device: str, out: Path, slots: int, deadline: float,
                   graphs: bool = False) -> list[dict[str, Any]]:
    """Part 3: the synthetic jobs' own command, ``slots`` at a time, with the reduced patience (``graphs``:
    their training steps replayed as CUDA graphs, the config's ``cuda_graphs: true``)."""
    from dpbench.tasks.jobs import dumps, load_config, synthetic_params

    config = load_config([REPO / "config.yaml"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    runs = [(m, False) for m in models] + [(m, True) for m in PROTOCOL_TF32_MODELS if m in models and device.startswith("cuda")]
    pending, running, rows = list(runs), [], []
    while (pending or running) and time.monotonic() < deadline:
        while pending and len(running) < slots:
            model, tf32 = pending.pop(0)
            params = {**synthetic_params(config, "synthetic_noiseless", model), "patience": sizes.patience, "max_steps": sizes.max_steps,
                      "m": sizes.m, "n": sizes.n, "n_layers": sizes.layers, **sizes.protocol}
            result = out / "protocol" / f"{model}{'_tf32' if tf32 else ''}.json"
            switches = [*(["--tf32"] if tf32 else []), *(["--cuda-graphs"] if graphs else [])]
            cmd = [sys.executable, "-m", "dpbench", *switches, "synthetic", "--model", model, "--seed", "0", "--device", device,
                   "--params", dumps(params), "--output", str(result)]
            log = open(result.with_suffix(".log"), "w")  # noqa: SIM115 - closed when the job ends
            running.append((model, tf32, result, subprocess.Popen(cmd, env=env, stdout=log, stderr=log), log, time.monotonic()))
        time.sleep(0.2)
        for job in [j for j in running if j[3].poll() is not None]:
            running.remove(job)
            rows.append(_protocol_row(*job))
    for model, tf32, result, proc, log, _ in running:
        proc.kill()
        proc.wait()
        log.close()
        rows.append({"part": "protocol", "model": model, "tf32": tf32, "error": "out of time"} | progress(result.with_suffix(".log")))
    rows += [{"part": "protocol", "model": m, "tf32": t, "error": "not started: out of time"} for m, t in pending]
    return rows


def _protocol_row(model: str, tf32: bool, result: Path, proc: subprocess.Popen, log: Any, started: float) -> dict[str, Any]:
    log.close()
    row: dict[str, Any] = {"part": "protocol", "model": model, "tf32": tf32, "wall_s": time.monotonic() - started}
    if proc.returncode != 0 or not result.exists():
        row["error"] = f"exit {proc.returncode}: " + result.with_suffix(".log").read_text()[-300:]
        return row
    data = json.loads(result.read_text())
    last = max(r["layers"] for r in data["records"] if r["metric"] == "nmse_db")
    values = {r["metric"]: r["value"] for r in data["records"] if r["layers"] == last}
    row |= {"nmse_db": values.get("nmse_db"), "layers": last, "train_steps": values.get("train_steps"), "train_s": values.get("train_seconds")}
    return row


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


def _mnist_part(mnist_dir: Path, device: str) -> list[dict[str, Any]]:
    """Part 4: one k-meansNet fit on the 10,000 MNIST test images (pixels in [0, 1]) on the device."""
    import torch
    from sklearn.metrics import normalized_mutual_info_score

    from dpbench.cluster.kmeansnet import KMeansNet
    from dpbench.data.datasets import _mnist_test

    data = _mnist_test(mnist_dir, download=False)
    x = torch.as_tensor(data["images"].reshape(len(data["labels"]), -1), dtype=torch.float32, device=device) / data["scale"]
    start = time.perf_counter()
    labels = KMeansNet(n_clusters=10, random_state=0, device=device).fit_predict(x)
    seconds = time.perf_counter() - start
    return [{"part": "mnist", "model": "kmeansnet", "wall_s": seconds,
             "nmi": float(normalized_mutual_info_score(data["labels"], torch.as_tensor(labels).cpu().numpy()))}]


def summary(rows: list[dict[str, Any]], sizes: Sizes, models: list[str], grid: dict[str, Any], slots: int) -> str:
    """The check's one table (a row per model) and its conclusions, as Markdown."""
    speed = {(r["model"], r["mode"]): r for r in rows if r.get("part") == "speed" and "model" in r}
    gains = concurrency_gains(rows)
    head = ["model", "eager steps/s", "TF32 / eager", "graphs / eager (compile s)"]
    head += [f"{n} jobs: sum steps/s (gain)" for n in sizes.levels] + ["NMSE@T dB (steps, s)", "with TF32"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in models:
        eager = speed.get((name, "eager"), {}).get("steps_per_s")
        cells = [name, speed.get((name, "eager"), {}).get("error", "–")[:40] if eager is None else _fmt(eager)]
        for mode in ("tf32", "graphs"):
            r = speed.get((name, mode), {})
            ratio = r["steps_per_s"] / eager if eager and r.get("steps_per_s") else None
            cells.append(r.get("error", "n/a")[:40] if ratio is None else f"{ratio:.2f}" + (f" ({r['first_step_s']:.0f})" if mode == "graphs" else ""))
        for n in sizes.levels:
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

    config = load_config([REPO / "config.yaml"])
    data = {**(extra or {}), **json.loads((folder / "gpu_check.json").read_text())}
    rows = [r | progress(folder / "protocol" / f"{r['model']}{'_tf32' if r.get('tf32') else ''}.log")
            if r.get("part") == "protocol" and r.get("error") == "out of time" and not r.get("partial") else r
            for r in data["rows"]]
    models = data.get("models") or [m for m in config["synthetic"]["models"] if model_spec(m).learned]
    best = best_level(concurrency_gains(rows))
    slots = data.get("slots") or (best[0] if best else 1)
    sizes = Sizes(**{**data["sizes"], "levels": tuple(data["sizes"]["levels"])})
    return summary(rows, sizes, models, synthetic_grid(config), slots)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dpbench.gpu_check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (to try the check)")
    parser.add_argument("--out", default=os.environ.get("OUT") or "results/gpu_check", help="folder for gpu_check.json/.md (default: $OUT)")
    parser.add_argument("--budget-s", type=float, default=450.0, help="the whole check's time (default 450 s: under 8 minutes)")
    parser.add_argument("--models", nargs="+", help="learned models (default: those of config.yaml's synthetic grid)")
    parser.add_argument("--patience", type=int, help="the protocol part's staged patience (default 200; the authors': 4000)")
    parser.add_argument("--mnist-dir", type=Path, help="a folder with the MNIST files laid out for torchvision (part 4)")
    parser.add_argument("--toy", action="store_true", help="tiny sizes, for a CPU")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="the parts to run (default: all four)")
    parser.add_argument("--graphs", action="store_true", help="the protocol part's jobs with CUDA graphs (cuda_graphs: true)")
    parser.add_argument("--slots", type=int, help="the protocol part's jobs at once (default: the best level of part 2, else 1)")
    args = parser.parse_args(argv)

    from dpbench.registry import model_spec
    from dpbench.tasks.jobs import load_config

    sizes = Sizes.toy() if args.toy else Sizes()
    if args.patience is not None:
        sizes.patience = args.patience
    config = load_config([REPO / "config.yaml"])
    models = args.models or [m for m in config["synthetic"]["models"] if model_spec(m).learned]
    grid = synthetic_grid(config)
    out = Path(args.out)
    (out / "protocol").mkdir(parents=True, exist_ok=True)
    start = time.monotonic()

    print(_device_line(args.device), flush=True)
    modes = ["eager", "tf32", "graphs"] if args.device.startswith("cuda") else ["eager"]
    rows: list[dict[str, Any]] = []
    def until(fraction: float) -> float:  # a part's deadline: a fraction of the budget left to the parts to run
        return start + args.budget_s * fraction

    fractions = {"speed": 0.35, "concurrency": 0.3, "protocol": 0.3}
    scale = 0.95 / sum(fractions[p] for p in args.parts if p in fractions) if set(args.parts) & set(fractions) else 1.0
    done = 0.0
    if "speed" in args.parts:
        print(f"[1/4] speed: {len(models)} models x {modes}", flush=True)
        done += fractions["speed"] * scale
        rows += _run_processes(_speed_worker, len(models), (models, modes, sizes, args.device), until(done))
    if "concurrency" in args.parts:
        for k, level in enumerate(sizes.levels, start=1):
            print(f"[2/4] concurrency: {level} job(s) at once", flush=True)
            rows += _run_processes(_concurrency_worker, level, (models, sizes, args.device, level),
                                   until(done + fractions["concurrency"] * scale * k / len(sizes.levels)))
        done += fractions["concurrency"] * scale
    best = best_level(concurrency_gains(rows))
    slots = args.slots or (best[0] if best else 1)
    if "protocol" in args.parts:
        print(f"[3/4] protocol: one seed of the synthetic grid, patience {sizes.patience}, {slots} at once"
              + (", CUDA graphs" if args.graphs else ""), flush=True)
        rows += _protocol_jobs(models, sizes, args.device, out, slots, until(0.95), graphs=args.graphs)
    if "mnist" in args.parts:
        print("[4/4] mnist", flush=True)
        if args.mnist_dir is None or not args.mnist_dir.exists():
            rows.append({"part": "mnist", "error": "skipped: no --mnist-dir with the MNIST files"})
        else:
            try:
                rows += _mnist_part(args.mnist_dir, args.device)
            except Exception as err:  # noqa: BLE001
                rows.append({"part": "mnist", "error": f"{type(err).__name__}: {err}"[:300]})
    elapsed = time.monotonic() - start
    report = summary(rows, sizes, models, grid, slots) + f"\n\nWhole check: {elapsed:.0f} s on {_device_line(args.device)}.\n"
    (out / "gpu_check.json").write_text(json.dumps({"device": _device_line(args.device), "sizes": asdict(sizes), "elapsed_s": elapsed,
                                                    "models": models, "slots": slots, "parts": args.parts, "graphs": args.graphs,
                                                    "rows": rows}, indent=1))
    (out / "gpu_check.md").write_text(report)
    print(report)
    return 0


def _device_line(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    return f"CPU ({os.cpu_count()} cores), torch {torch.__version__}"


if __name__ == "__main__":
    raise SystemExit(main())
