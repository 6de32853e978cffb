"""Command-line interface: ``python -m dpbench <command> ...``.

The Snakemake rules call these commands; each command lives in the module that owns the logic
and registers itself through that module's ``register(subparsers)`` function. ``COMMANDS`` maps
each command to its module, so a job imports only the module it runs (a training job need not
import the plotting stack, nor a plotting job PyTorch): start-up time counts, once per job.
``SUMMARIES`` holds each command's one-line help, so that ``python -m dpbench --help`` lists them
all without importing any of their modules (tests/test_cli.py checks them against the modules').
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from dpbench.params import COMPILE_ENV, GRAPHS_ENV, TF32_ENV

_DATA, _REPORT = "dpbench.data.commands", "dpbench.report.commands"
_ANOMALY, _IMAGES = "dpbench.tasks.anomaly", "dpbench.tasks.images"
COMMANDS: dict[str, str] = {
    "download": _DATA,
    "prepare": _DATA,
    "features": _DATA,
    "cluster-fit": "dpbench.tasks.clustering",
    "cluster-evaluate": "dpbench.tasks.clustering",
    "synthetic": "dpbench.tasks.synthetic",
    "images-dictionary": _IMAGES,
    "images-run": _IMAGES,
    "images-cnn-features": _IMAGES,
    "images-error-figure": "dpbench.report.image_figures",
    "anomaly-synth": _ANOMALY,
    "anomaly-download": _ANOMALY,
    "anomaly-prepare": _ANOMALY,
    "anomaly-features": _ANOMALY,
    "anomaly-dictionary": _ANOMALY,
    "anomaly-run": _ANOMALY,
    "aggregate": _REPORT,
    "table": _REPORT,
    "paper-table": _REPORT,
    "figure": _REPORT,
    "anomaly-figures": _REPORT,
    "claims": "dpbench.report.scorecard",
    "record": "dpbench.report.records",
    "results-doc": "dpbench.report.results_doc",
    "config-doc": "dpbench.report.config_doc",
    "estimate": "dpbench.estimate",
    "run": "dpbench.run_cell",
    "check-model": "dpbench.contract",
}

DESCRIPTION = (
    "The benchmark's commands: the workflow's rules call them; 'dpbench run' runs one cell of the grid by hand, "
    "'dpbench check-model' checks a model class of your own against the contract. 'dpbench COMMAND --help' gives "
    "a command's options."
)

# the one-line help of each command, as its module registers it (shown by ``dpbench --help``)
SUMMARIES: dict[str, str] = {
    "download": "download a dataset's raw files (checksummed)",
    "prepare": "cache a downloaded dataset as one tensor file",
    "features": "extract features (pixels or CNN) from a prepared dataset",
    "cluster-fit": "fit a clustering model and save its labels",
    "cluster-evaluate": "score saved cluster labels (ACC, NMI, ARI)",
    "synthetic": "synthetic sparse-recovery benchmark (LISTA-CP/ALISTA protocol)",
    "images-dictionary": "learn the dictionary of an image dataset for one seed",
    "images-run": "one (dataset, model, seed) job of the image tasks over the depth sweep",
    "images-cnn-features": "SC2Net's CIFAR-10: train the Keras cifar10_cnn.py network, save its features",
    "images-error-figure": "grid of originals, reconstructions and error maps from saved samples",
    "anomaly-synth": "write the synthetic surveillance video set (UCSD layout)",
    "anomaly-download": "download and extract UCSD Ped1/Ped2 or CUHK Avenue",
    "anomaly-prepare": "cache a dataset's clips as arrays with frame labels",
    "anomaly-features": "motion fusion, backbone and patch vectors (anomalynet) or Lu et al.'s cuboids (lu2013) of every clip, once per dataset and seed",
    "anomaly-dictionary": "learn the dictionary every model of a seed shares (normal training clips)",
    "anomaly-run": "train a sparse coder on normal clips and score the test frames",
    "aggregate": "collect per-job result files into summary.csv/.parquet",
    "table": "write a task's LaTeX table (and its HTML twin) from the summary",
    "paper-table": "write the table of published numbers next to ours",
    "figure": "draw one figure (PDF + PNG) from the summary",
    "anomaly-figures": "ROC curves and a score trace from per-frame anomaly scores",
    "claims": "check the papers' claims against the summary and print the scorecard",
    "record": "keep a finished run's summary and provenance as docs/runs/NAME (run in the checkout)",
    "results-doc": "write docs/results.md (and the README's generated tables) from the run records",
    "config-doc": "write docs/configuration.md from the config schema",
    "estimate": "estimate the grid's run time from measured per-job times (benchmark files)",
    "run": "train and evaluate one cell (task, model, dataset, seed) without Snakemake",
    "check-model": "check a model (yours: package.module:Class) against the contract the tasks rely on",
}



def build_parser(command: str | None = None, *, every_module: bool = False) -> argparse.ArgumentParser:
    """The parser of ``command``, which imports that command's module only. Without a known command
    (``dpbench --help``, a typo) every command is listed by its summary and no module is imported;
    ``every_module=True`` registers every command through its module (slow: for tests and docs)."""
    parser = argparse.ArgumentParser(prog="dpbench", description=DESCRIPTION)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--tf32", action="store_true", help="TF32 matmuls and convolutions on CUDA (config: tf32)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the training steps (config: compile)")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="replay the training steps as CUDA graphs on a GPU; eager on the CPU (config: cuda_graphs)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if every_module or command in COMMANDS:
        for module in dict.fromkeys(COMMANDS.values()) if every_module else [COMMANDS[command]]:
            importlib.import_module(module).register(sub)
    else:
        for name in COMMANDS:
            sub.add_parser(name, help=SUMMARIES.get(name, ""), add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    # the command line decides, never a variable left in the caller's environment
    os.environ[TF32_ENV] = "1" if args.tf32 else "0"
    os.environ[COMPILE_ENV] = "1" if args.compile else "0"
    os.environ[GRAPHS_ENV] = "1" if args.cuda_graphs else "0"
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from dpbench.gpu_slots import slot_for_args

    try:
        with slot_for_args(args):  # several GPUs, no SLURM: this job takes one (dpbench/gpu_slots.py)
            args.func(args)
    except (FileNotFoundError, ValueError) as err:  # UserError is a ValueError
        print(f"dpbench {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0
