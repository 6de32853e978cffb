"""``dpbench run TASK --model M``: one cell of the grid, trained and evaluated without Snakemake.

The cell gets exactly the parameters the workflow would give it (:mod:`dpbench.tasks.jobs`, from
``config.yaml`` and an optional preset), runs the same commands as the workflow's rules, in this
process, and prints the cell's metrics as a table. Data are read from (and prepared into) the
config's ``data_dir``, as the workflow does; the cell's result files go to ``--output-dir`` (default:
a temporary folder, removed afterwards).

    dpbench run synthetic --model alista --preset quick
    dpbench run clustering --model "kmeansnet[n_init=1]" --dataset digits --preset quick --seed 3
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from dpbench.params import UserError
from dpbench.registry import check_model
from dpbench.tasks import jobs
from dpbench.tasks.synthetic_grid import dataset_name

log = logging.getLogger(__name__)

def _call(argv: list[str]) -> None:
    """Run one dpbench command in this process; a failing step stops the cell, naming it."""
    from dpbench.cli import main

    if main(argv) != 0:
        raise UserError(f"step '{argv[0]}' of the cell failed (its error is printed above)")


def _ensure(path: Path, argv: list[str]) -> None:
    """Run a data-preparation step unless its output is already there (shared with the workflow)."""
    if not path.exists():
        _call(argv)


def _synthetic(config: dict[str, Any], model: str, dataset: str, seed: int, device: str, out: Path) -> list[Path]:
    result = out / "result.json"
    params = jobs.synthetic_params(config, dataset, model)
    _call(["synthetic", "--model", model, "--seed", str(seed), "--dataset", dataset,
           "--params", jobs.dumps(params), "--device", device, "--output", str(result)])
    return [result]


def _prepared(config: dict[str, Any], dataset: str) -> Path:
    """The prepared tensor file of an image dataset, downloaded and prepared first if need be."""
    raw, prepared = jobs.raw_dir(config, dataset), Path(f"{config['data_dir']}/prepared/{dataset}.pt")
    local = ["--local-dir", config["mnist_dir"]] if dataset == "mnist" and config.get("mnist_dir") else []
    _ensure(Path(raw), ["download", "--dataset", dataset, "--raw-dir", raw, *local])
    _ensure(prepared, ["prepare", "--dataset", dataset, "--raw-dir", raw, "--output", str(prepared)])
    return prepared


def _clustering(config: dict[str, Any], model: str, dataset: str, seed: int, device: str, out: Path) -> list[Path]:
    prepared = _prepared(config, dataset)
    features = Path(f"{config['data_dir']}/features/{dataset}/pixels.pt")
    _ensure(features, ["features", "--input", str(prepared), "--kind", "pixels", "--device", "cpu", "--output", str(features)])
    pred, result = out / "pred.pt", out / "metrics.json"
    n_init = jobs.cluster_starts(config, model)[0]
    _call(["cluster-fit", "--features", str(features), "--model", model, "--seed", str(seed),
           "--params", jobs.dumps(jobs.cluster_params(config, model, n_init)), "--device", device, "--output", str(pred)])
    _call(["cluster-evaluate", "--pred", str(pred), "--features", str(features), "--dataset", dataset,
           "--feature-kind", "pixels", "--model", model, "--seed", str(seed), "--output", str(result)])
    return [result]


def _images(config: dict[str, Any], model: str, dataset: str, seed: int, device: str, out: Path) -> list[Path]:
    from dpbench.registry import DATASETS

    labelled = DATASETS[dataset].labelled
    prepared_args = ["--prepared", str(_prepared(config, dataset))] if labelled else []
    common = ["--dataset", dataset, *prepared_args, "--data-params", jobs.dumps(jobs.images_data_params(config, dataset)), "--seed", str(seed)]
    dictionary = out / "dictionary.pt"
    _call(["images-dictionary", *common, "--dict-params", jobs.dumps(jobs.images_dict_params(config)), "--output", str(dictionary)])
    tasks = config["images"].get("tasks", ["classification_unsupervised", "classification_supervised", "reconstruction"])
    outputs = {"reconstruction": ("--reconstruction-output", out / "reconstruction.json")}
    if labelled:
        outputs["classification_unsupervised"] = ("--classification-output", out / "classification_unsupervised.json")
        outputs["classification_supervised"] = ("--supervised-output", out / "classification_supervised.json")
    chosen = {task: flag_path for task, flag_path in outputs.items() if task in tasks}
    if not chosen:
        raise UserError(f"no image task of {tasks} applies to dataset {dataset!r}")
    flags = [arg for flag, path in chosen.values() for arg in (flag, str(path))]
    if "reconstruction" in chosen:
        flags += ["--samples-output", str(out / "samples.pt")]
    _call(["images-run", *common, "--dictionary", str(dictionary), "--model", model, "--layers", jobs.images_layers(config),
           "--params", jobs.dumps(jobs.images_train_params(config, model)), "--device", device, *flags])
    return [path for _, path in chosen.values()]


def _anomaly(config: dict[str, Any], model: str, dataset: str, seed: int, device: str, out: Path) -> list[Path]:
    data = config["data_dir"]
    prepared = Path(f"{data}/prepared/anomaly/{dataset}")
    raw = jobs.anomaly_raw_dir(config, dataset)
    if dataset == "synthetic":
        _ensure(Path(raw), ["anomaly-synth", "--root", raw, *jobs.anomaly_synth_args(config)])
    elif dataset not in jobs.ANOMALY_FRAMES_DIR:  # frames folders are read in place
        _ensure(Path(raw), ["anomaly-download", "--dataset", jobs.ANOMALY_SOURCE[dataset], "--data-dir", raw])
    _ensure(prepared / "manifest.json", ["anomaly-prepare", "--dataset", dataset, "--data-dir", raw, "--output", str(prepared)])
    dictionary, result = out / "dictionary.pt", out / "result.json"
    _call(["anomaly-dictionary", "--dataset", dataset, "--prepared", str(prepared), "--seed", str(seed),
           "--params", jobs.dumps(jobs.anomaly_dictionary_params(config)), "--output", str(dictionary)])
    _call(["anomaly-run", "--dataset", dataset, "--prepared", str(prepared), "--model", model, "--seed", str(seed),
           "--params", jobs.dumps(jobs.anomaly_params(config, model)), "--dictionary", str(dictionary), "--device", device,
           "--output", str(result), "--scores-output", str(out / "scores.csv")])
    return [result]


RUNNERS = {"synthetic": _synthetic, "clustering": _clustering, "images": _images, "anomaly": _anomaly}


def default_dataset(config: dict[str, Any], task: str) -> str:
    """The first dataset of the task in the config."""
    if task == "synthetic":
        return dataset_name(config["synthetic"]["snr_db"][0])
    datasets = config[task].get("datasets", [])
    if not datasets:
        raise UserError(f"the config lists no {task} dataset: pass --dataset")
    return datasets[0]


def metrics_table(results: list[Path]) -> str:
    """The cell's metrics as a Markdown table: one row per sweep value (layers, ...), one column per metric."""
    import pandas as pd

    from dpbench.results import load_results

    frame = load_results(results)
    if frame.empty or (frame["status"] != "ok").all():
        messages = {json.loads(p.read_text()).get("message") for p in results}
        return f"no metrics: the run {', '.join(sorted(set(frame['status'])))} ({'; '.join(m for m in messages if m)})"
    frame = frame[frame["status"] == "ok"]
    # metrics recorded at every sweep value (NMSE per layer, ACC per logged epoch) in one table, the others
    # (the steps trained, the final scores, recorded once) in a second
    counts = frame.groupby("metric")["value"].count()
    swept = counts[counts == counts.max()].index
    parts = []
    for rows in (frame[frame["metric"].isin(swept)], frame[~frame["metric"].isin(swept)]):
        if rows.empty:
            continue
        keys = ["task", *[c for c in ("layers", "epoch", "features") if c in rows and rows[c].notna().all()]]
        table = rows.pivot_table(index=keys, columns="metric", values="value", aggfunc="first").reset_index()
        table.columns.name = None
        parts.append(pd.DataFrame(table).to_markdown(index=False, floatfmt=".4g"))
    return "\n\n".join(parts)


def run_cell(task: str, model: str, *, dataset: str | None = None, configfiles: list[str], seed: int | None = None,
             device: str | None = None, output_dir: str | None = None, schema: str | None = None) -> str:
    """Run one cell; return its metrics table."""
    if task not in RUNNERS:
        raise UserError(f"unknown task {task!r}: expected one of {sorted(RUNNERS)}")
    spec = check_model(model, task=task)
    config = jobs.load_config(configfiles, schema)
    dataset = dataset or default_dataset(config, task)
    seed = jobs.task_seeds(config, task)[0] if seed is None else seed
    device = device or (config["device"] if spec.needs_gpu else "cpu")
    with tempfile.TemporaryDirectory(prefix="dpbench-run-") as tmp:
        out = Path(output_dir or tmp)
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        results = RUNNERS[task](config, model, dataset, seed, device, out)
        wall = time.perf_counter() - start
        table = metrics_table(results)
    return f"{task} | {dataset} | {model} | seed {seed} | {device} | {wall:.1f} s\n\n{table}"


def _command(args: argparse.Namespace) -> None:
    root = Path(args.root)
    presets = [] if args.preset is None else [args.preset if args.preset.endswith(".yaml") else root / "workflow/presets" / f"{args.preset}.yaml"]
    print(run_cell(args.task, args.model, dataset=args.dataset, configfiles=[root / "config.yaml", *presets], seed=args.seed,
                   device=args.device, output_dir=args.output_dir, schema=root / "workflow/schemas/config.schema.yaml"))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` command."""
    p = sub.add_parser("run", help="train and evaluate one cell (task, model, dataset, seed) without Snakemake")
    p.add_argument("task", choices=sorted(RUNNERS))
    p.add_argument("--model", required=True, help="a registered model or a variant, e.g. lista[tied=true]")
    p.add_argument("--dataset", help="default: the task's first dataset in the config")
    p.add_argument("--preset", help="a preset name (quick, mnist_test) or a config file layered on config.yaml")
    p.add_argument("--seed", type=int, help="default: the task's first seed")
    p.add_argument("--device", help="default: the config's device for models that take a GPU, else cpu")
    p.add_argument("--root", default=".", help="the checkout holding config.yaml and workflow/ (default: here)")
    p.add_argument("--output-dir", help="keep the cell's result files here (default: a temporary folder)")
    p.set_defaults(func=_command)
