"""Seconds per epoch of TELL (k-meansNet as its authors train it) on the whole MNIST, per encoder,
thread count and speed setting (a script, not a test; ``make bench`` runs it).

One epoch of the whole MNIST is 273 training steps of batch 256 (``main.py``: 70,000 images,
drop_last) plus, every ``log_every`` epochs, one encoding pass over the 70,000 images. The script
times training steps of :class:`dpbench.cluster.kmeansnet_tell.TELLNetwork` exactly as
:meth:`KMeansNetTELL._epoch` runs them (alternating centre and encoder steps), with the settings
compared *interleaved* in one process (round-robin blocks of steps, median per setting), so that
other load on a shared CPU hits every setting alike; and the encoding pass at several batch sizes.
Settings: ``eager`` (the code before the speed work: contiguous NCHW tensors, no compile),
``tuned`` (what :func:`dpbench.cluster.kmeansnet_tell.speed_setup` picks: channels-last for the
convolutional autoencoder), ``compile`` (tuned + ``torch.compile`` of the loss, what the config's
``compile: true`` asks for). Timing does not depend on pixel values, so inputs are uniform noise of
MNIST's shape unless ``--mnist`` names a prepared feature file.

``--record NAME`` also keeps the measurement as ``docs/speed/tell/NAME.json`` (commit, date, machine,
PyTorch version, options, load average before and after, every row), and ``--render`` rewrites the
part of ``docs/clustering.md`` between ``<!-- tell-speed:begin -->`` and ``<!-- tell-speed:end -->``
from every record there: no number of that table is typed by hand.

    python benchmarks/tell_speed.py --encoders mlp conv --threads 1 2 --record NAME --note "..."
    python benchmarks/tell_speed.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from demo_timing import between_markers, cpu_model, git_commit, load_average

from dpbench.cluster.kmeansnet_tell import TELLNetwork, speed_setup

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "docs" / "speed" / "tell"
PAGE = REPO / "docs" / "clustering.md"
BEGIN, END = "<!-- tell-speed:begin -->", "<!-- tell-speed:end -->"

STEPS_PER_EPOCH = 70_000 // 256
SETTINGS = ("eager", "tuned", "compile")


def make_step(encoder: str, setting: str, x: torch.Tensor) -> Callable[[int], None]:
    """One training step of TELL (``KMeansNetTELL._epoch``'s body) under ``setting``; step i trains
    the centres when i is even, the encoder when odd, on batch i of ``x``."""
    torch.manual_seed(0)
    net = TELLNetwork(x.shape[1], 10, 0.001, encoder)
    losses = net.losses if setting == "eager" else speed_setup(net, torch.device("cpu"), compile=setting == "compile")
    opt = torch.optim.Adadelta(net.parameters())
    weight = net.cluster_layer.weight
    n_batches = len(x) // 256

    def step(i: int) -> None:
        j = i % n_batches
        clu, rec = losses(x[j * 256 : (j + 1) * 256], train_encoder=i % 2 == 1)
        opt.zero_grad()
        (clu + rec).backward()
        if i % 2 == 1:
            weight.grad.zero_()
        else:
            weight.grad = F.normalize(weight.grad, dim=1) * 0.2 * net.alpha
        opt.step()
        net.normalize_centers()

    step.net = net  # type: ignore[attr-defined]
    return step


def time_training(encoder: str, settings: list[str], x: torch.Tensor, steps: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median seconds per step of each setting over ``rounds`` interleaved blocks of ``steps`` steps,
    and the first two steps' time (warm-up; with compile, the compilation)."""
    stepper, warmup, times = {}, {}, {s: [] for s in settings}
    for s in settings:
        stepper[s] = make_step(encoder, s, x)
        start = time.perf_counter()
        stepper[s](0), stepper[s](1)
        warmup[s] = time.perf_counter() - start
    for r in range(rounds):
        for s in settings:
            start = time.perf_counter()
            for i in range(steps):
                stepper[s](2 + r * steps + i)
            times[s].append((time.perf_counter() - start) / steps)
    return {s: (statistics.median(times[s]), warmup[s]) for s in settings}


@torch.no_grad()
def time_encoding(encoder: str, x: torch.Tensor, batches: list[int]) -> dict[int, float]:
    """Seconds of one eval-mode pass (encode, score, argmax) over ``x`` per batch size (tuned)."""
    net = TELLNetwork(x.shape[1], 10, 0.001, encoder)
    speed_setup(net, torch.device("cpu"), compile=False)
    net.eval()
    out = {}
    for b in batches:
        start = time.perf_counter()
        for i in range(0, len(x), b):
            net.cluster_layer(net.encode(x[i : i + b])).argmax(1)
        out[b] = time.perf_counter() - start
    return out


def measure(args: argparse.Namespace) -> pd.DataFrame:
    """Every row of the measurement ``args`` asks for (training steps per setting, eval passes per batch)."""
    if args.mnist:
        from dpbench.io import load_tensors

        x = load_tensors(args.mnist)["features"].float()
    else:
        x = torch.rand(70_000, 784, generator=torch.Generator().manual_seed(0))
    print(f"TELL speed, whole MNIST ({len(x)} x {x.shape[1]}), {STEPS_PER_EPOCH} steps of 256 an epoch; "
          f"median of {args.rounds} interleaved blocks of {args.steps} steps", file=sys.stderr)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for encoder in args.encoders:
            timed = time_training(encoder, args.settings, x[: 256 * 20], args.steps, args.rounds)
            for s, (step_s, warm_s) in timed.items():
                rows.append({"encoder": encoder, "threads": threads, "setting": s, "ms_per_step": 1e3 * step_s,
                             "s_per_epoch": step_s * STEPS_PER_EPOCH, "warmup_s": warm_s})
            for b, seconds in time_encoding(encoder, x, args.eval_batches).items():
                rows.append({"encoder": encoder, "threads": threads, "setting": f"eval pass, batch {b}", "s_per_epoch": seconds})
            print(f"  {encoder}, {threads} thread(s): done", file=sys.stderr)
    return pd.DataFrame(rows)


def training_gains(table: pd.DataFrame) -> pd.DataFrame:
    """The training rows of ``table`` with ``gain``: ``eager``'s seconds per epoch (same encoder and thread
    count) over the row's (NaN where ``eager`` was not timed)."""
    train = table[table["setting"].isin(SETTINGS)].copy()
    eager = train[train["setting"] == "eager"].set_index(["encoder", "threads"])["s_per_epoch"]
    train["gain"] = [eager.get((e, t), float("nan")) / v for e, t, v in zip(train["encoder"], train["threads"], train["s_per_epoch"])]
    return train


def gains(table: pd.DataFrame) -> list[str]:
    """Per encoder and thread count: seconds per epoch before (``eager``) and each setting's gain over it."""
    lines = []
    for (encoder, threads), part in training_gains(table).groupby(["encoder", "threads"]):
        part = part.set_index("setting")
        if "eager" in part.index:
            after = ", ".join(f"{s} {part.loc[s, 'gain']:.2f}x" for s in part.index if s != "eager")
            lines.append(f"{encoder}, {threads} thread(s): before {part.loc['eager', 's_per_epoch']:.1f} s/epoch; after: {after}")
    return lines


def write_record(name: str, table: pd.DataFrame, args: argparse.Namespace, before: list[float], note: str,
                 folder: Path = RECORDS) -> Path:
    """Keep a measurement as ``folder/NAME.json`` (see the module docstring)."""
    record = {
        "name": name, "commit": git_commit(REPO), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "torch": torch.__version__,
        "options": {k: v for k, v in vars(args).items() if k not in ("record", "render", "note")},
        "load_average_before": before, "load_average_after": load_average(), "note": note,
        "rows": json.loads(table.to_json(orient="records")),
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def render(page: Path = PAGE, folder: Path = RECORDS) -> str:
    """The generated part of the page, written between its markers from every record of ``folder``
    (oldest first): per record where and how it ran, then seconds per epoch of each encoder, thread
    count and setting with the gain over ``eager``, and the eval pass per batch size."""
    parts = [f"{BEGIN}\n<!-- generated by `python benchmarks/tell_speed.py --render` from docs/speed/tell/*.json: do not edit by hand -->"]
    records = sorted((json.loads(p.read_text()) for p in folder.glob("*.json")), key=lambda r: r["date"])
    for r in records:
        o = r["options"]
        parts.append(f"#### {r['name']}\n\n{r['date']}, commit {r['commit']}, {r['machine']['cpu']} ({r['machine']['cores']} cores), "
                     f"PyTorch {r['torch']}; 1-minute load {r['load_average_before'][0]:g} before, {r['load_average_after'][0]:g} after; "
                     f"median of {o['rounds']} interleaved blocks of {o['steps']} steps, {STEPS_PER_EPOCH} steps an epoch"
                     + (f". {r['note']}" if r["note"] else ""))
        table = pd.DataFrame(r["rows"])
        train = training_gains(table)[["encoder", "threads", "setting", "ms_per_step", "s_per_epoch", "gain", "warmup_s"]]
        train.columns = ["encoder", "threads", "setting", "ms / step", "s / epoch", "gain over eager", "first 2 steps (s)"]
        parts.append("Training (one epoch of the whole MNIST):\n\n" + train.to_markdown(index=False, floatfmt=".3g"))
        evals = table[~table["setting"].isin(SETTINGS)][["encoder", "threads", "setting", "s_per_epoch"]]
        if len(evals):
            evals = evals.rename(columns={"setting": "pass", "s_per_epoch": "s (70,000 images)"})
            parts.append("Eval-mode pass (tuned):\n\n" + evals.to_markdown(index=False, floatfmt=".3g"))
    if not records:
        parts.append("No record yet.")
    parts.append(END)
    generated = "\n\n".join(parts)
    page.write_text(between_markers(page.read_text(), page, BEGIN, END, generated))
    return generated


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", default=["mlp", "conv"], choices=["mlp", "conv"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved blocks per setting (median)")
    parser.add_argument("--eval-batches", nargs="*", type=int, default=[512, 4096, 16384])
    parser.add_argument("--mnist", help="a feature file of 'dpbench features' (default: noise of MNIST's shape)")
    parser.add_argument("--record", metavar="NAME", help="keep the measurement as docs/speed/tell/NAME.json")
    parser.add_argument("--note", default="", help="what else ran on the machine, etc. (with --record)")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/clustering.md's table from the records")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.render:
        print(render())
        return 0
    before = load_average()
    table = measure(args)
    print(table.to_markdown(index=False, floatfmt=".3g"))
    print("\n".join(gains(table)))
    if args.record:
        print(f"kept: {write_record(args.record, table, args, before, args.note)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
