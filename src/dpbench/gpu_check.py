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
layer it reached and its step time, read from its log. Reading what a check wrote is
:mod:`dpbench.report.gpu_results` (``render`` redraws the summary of a kept check, ``docs/gpu/<name>/``,
rendered into ``docs/gpu.md`` by ``dpbench results-doc``).

Writes ``gpu_check.json`` (every measurement) and ``gpu_check.md`` (the summary, also printed) to
``--out`` (default ``$OUT``, else ``results/gpu_check``). ``--toy`` shrinks every size so that the
whole check runs on a CPU in about a minute (what the tests run), where TF32 and graphs are reported
as not applicable.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dpbench.report.gpu_results import best_level, concurrency_gains, progress, summary, synthetic_grid

REPO = Path(__file__).resolve().parents[2]
PROTOCOL_TF32_MODELS = ("alista", "lista_cpss")
PARTS = ("speed", "concurrency", "protocol", "mnist")
SHARES = {"speed": 0.35, "concurrency": 0.3, "protocol": 0.3}  # of the budget, for the timed parts (the rest: mnist)


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
    windows = part_windows(args.parts)

    def until(fraction: float) -> float:  # a deadline: a fraction of the whole budget from the start
        return start + args.budget_s * fraction

    if "speed" in args.parts:
        print(f"[1/4] speed: {len(models)} models x {modes}", flush=True)
        rows += _run_processes(_speed_worker, len(models), (models, modes, sizes, args.device), until(windows["speed"][1]))
    if "concurrency" in args.parts:
        begin, end = windows["concurrency"]
        for k, level in enumerate(sizes.levels, start=1):
            print(f"[2/4] concurrency: {level} job(s) at once", flush=True)
            rows += _run_processes(_concurrency_worker, level, (models, sizes, args.device, level),
                                   until(begin + (end - begin) * k / len(sizes.levels)))
    best = best_level(concurrency_gains(rows))
    slots = args.slots or (best[0] if best else 1)
    if "protocol" in args.parts:
        print(f"[3/4] protocol: one seed of the synthetic grid, patience {sizes.patience}, {slots} at once"
              + (", CUDA graphs" if args.graphs else ""), flush=True)
        rows += _protocol_jobs(models, sizes, args.device, out, slots, until(windows["protocol"][1]), graphs=args.graphs)
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
    report = summary(rows, sizes.levels, models, grid, slots) + f"\n\nWhole check: {elapsed:.0f} s on {_device_line(args.device)}.\n"
    (out / "gpu_check.json").write_text(json.dumps({"device": _device_line(args.device), "sizes": asdict(sizes), "elapsed_s": elapsed,
                                                    "models": models, "slots": slots, "parts": args.parts, "graphs": args.graphs,
                                                    "rows": rows}, indent=1))
    (out / "gpu_check.md").write_text(report)
    print(report)
    return 0


def part_windows(parts: list[str]) -> dict[str, tuple[float, float]]:
    """Each timed part's window, as fractions of the budget: the parts run in order, their shares scaled
    so that the last ends at 0.95 (the rest is left to the mnist part and the summary)."""
    timed = [p for p in PARTS if p in SHARES and p in parts]
    scale = 0.95 / sum(SHARES[p] for p in timed) if timed else 1.0
    windows, begin = {}, 0.0
    for part in timed:
        windows[part] = (begin, begin + SHARES[part] * scale)
        begin = windows[part][1]
    return windows


def _device_line(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    return f"CPU ({os.cpu_count()} cores), torch {torch.__version__}"


if __name__ == "__main__":
    raise SystemExit(main())
